#!/usr/bin/env python3
"""dhtrace's test suite: `make test` runs it as root.

Unit tests (tests/unit, exact expected values) first, then end-to-end tests
that load the real BPF programs, trace real processes, and compare what
dhtrace writes with what valgrind's DHAT computes for the same program.
Ends with the line "N passed, N failed".
"""
import ctypes
import glob
import gzip
import json
import math
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
DHTRACE = os.path.join(BUILD, "dhtrace")
PROGS = os.path.join(BUILD, "progs")
VIEWER = os.path.join(ROOT, "tests", "viewer", "dh_view_check.js")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
WORK = tempfile.mkdtemp(prefix="dhtrace-test-")

passed = 0
failed = 0
only = sys.argv[1:]


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def check_eq(got, want, what):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def report(name, ok, why=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok %s" % name)
    else:
        failed += 1
        print("not ok %s%s" % (name, ": " + why if why else ""))
    sys.stdout.flush()


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# --- running things -------------------------------------------------------

def prog(name):
    return os.path.join(PROGS, name)


def dhtrace(args, timeout=120, **kw):
    """Run dhtrace; returns the CompletedProcess."""
    return subprocess.run([DHTRACE] + args, capture_output=True, text=True,
                          timeout=timeout, **kw)


def trace(cmd, name, extra=(), stdin=None):
    """dhtrace a command; returns (profile, completed process)."""
    out = os.path.join(WORK, name + ".dhtrace.json")
    with open(stdin or os.devnull) as f:
        r = dhtrace(["-o", out] + list(extra) + ["--"] + cmd, stdin=f)
    check(r.returncode == 0 or os.path.exists(out),
          "dhtrace failed (%d): %s" % (r.returncode, r.stderr.strip()))
    with open(out) as f:
        return json.load(f), r


def trace_children(cmd, name, extra=(), timeout=120):
    """dhtrace -o DIR/x.json -- cmd, children followed, in a directory of
    its own: (the command's profile or None, {pid: profile} of the other
    processes from their DIR/x.PID.json, completed process). Any other
    file in DIR fails."""
    d = tempfile.mkdtemp(prefix=name + "-", dir=WORK)
    with open(os.devnull) as f:
        r = dhtrace(["-o", os.path.join(d, "x.json")] + list(extra) + ["--"]
                    + cmd, stdin=f, timeout=timeout)
    own, others = None, {}
    for fn in sorted(os.listdir(d)):
        m = re.match(r"^x\.(\d+)\.json$", fn)
        check(fn == "x.json" or m, "unexpected file %s in %s" % (fn, d))
        with open(os.path.join(d, fn)) as f:
            p = json.load(f)
        if m:
            check_eq(p["pid"], int(m.group(1)), "pid in " + fn)
            others[p["pid"]] = p
        else:
            own = p
    check(own is None or own["pid"] not in others,
          "the command's pid %s has two files" % (own and own["pid"]))
    return own, others, r


def by_role(own, others):
    """Profiles keyed by (role, cmd): role "command" for the command's own
    process, "child" for the others. Two processes with one key fail."""
    out = {}
    for role, p in [("command", own)] * (own is not None) + [
            ("child", q) for _, q in sorted(others.items())]:
        key = (role, p["cmd"])
        check(key not in out, "two processes are %s %r" % key)
        out[key] = p
    return out


_valgrind_cache = {}


def valgrind(cmd, name, stdin=None, extra=(), preload=None):
    """valgrind's DHAT on the same command, freeres off as FORMATS.md says;
    `extra` options, `preload` an LD_PRELOAD for the program."""
    key = (tuple(cmd), tuple(extra), preload)
    if key not in _valgrind_cache:
        out = os.path.join(WORK, name + ".valgrind.json")
        env = dict(os.environ, LD_PRELOAD=preload) if preload else None
        with open(stdin or os.devnull) as f:
            r = subprocess.run(["valgrind", "--tool=dhat", "--run-libc-freeres=no",
                                "--run-cxx-freeres=no", "--dhat-out-file=" + out]
                               + list(extra) + cmd, stdin=f, capture_output=True,
                               text=True, timeout=600, env=env)
        check(os.path.exists(out), "valgrind failed: " + r.stderr[-500:])
        with open(out) as f:
            _valgrind_cache[key] = json.load(f)
    return _valgrind_cache[key]


_valgrind_children_cache = {}


def valgrind_children(cmd, name):
    """valgrind --trace-children=yes with --dhat-out-file=DIR/v.%p.json:
    one file per process that wrote one, by_role()'s dict (the command's
    own process is the pid valgrind started as)."""
    key = tuple(cmd)
    if key not in _valgrind_children_cache:
        d = tempfile.mkdtemp(prefix=name + "-valgrind-", dir=WORK)
        with open(os.devnull) as f:
            v = subprocess.Popen(["valgrind", "--tool=dhat", "--trace-children=yes",
                                  "--run-libc-freeres=no", "--run-cxx-freeres=no",
                                  "--dhat-out-file=" + os.path.join(d, "v.%p.json")]
                                 + cmd, stdin=f, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            err = v.communicate(timeout=600)[1]
        own, others = None, {}
        for fn in sorted(os.listdir(d)):
            with open(os.path.join(d, fn)) as f:
                p = json.load(f)
            check_eq(fn, "v.%d.json" % p["pid"], "valgrind's file name")
            if p["pid"] == v.pid:
                own = p
            else:
                others[p["pid"]] = p
        check(own, "valgrind wrote no file for pid %d: %s" % (v.pid, err[-500:]))
        _valgrind_children_cache[key] = by_role(own, others)
    return _valgrind_children_cache[key]


# --- reading profiles -----------------------------------------------------

def totals(p):
    """(Total, At t-gmax, At t-end) as (bytes, blocks) pairs."""
    pps = p["pps"]
    return {
        "total": (sum(x["tb"] for x in pps), sum(x["tbk"] for x in pps)),
        "gmax": (sum(x["gb"] for x in pps), sum(x["gbk"] for x in pps)),
        "end": (sum(x["eb"] for x in pps), sum(x["ebk"] for x in pps)),
    }


FRAME = re.compile(r"^0x[0-9A-Fa-f]+: (.*)$")
ALLOCATOR_FRAME = re.compile(r"vgpreload_|vg_replace_malloc")


def frame_key(text):
    """A frame without its address, comparable across tools: versioned
    symbol names and object directories (/lib vs /usr/lib) normalized."""
    m = FRAME.match(text)
    body = m.group(1) if m else text
    body = re.sub(r"@@?[A-Z_0-9.]+", "", body)
    body = re.sub(r"\(in (?:[^)]*/)?([^/)]+)\)$", r"(in \1)", body)
    return body


def user_frames(p, pp):
    """The printed frames of a program point, allocator frames removed."""
    ftbl = p["ftbl"]
    return [frame_key(ftbl[i]) for i in pp["fs"]
            if not ALLOCATOR_FRAME.search(ftbl[i])]


STATS = ("tb", "tbk", "gb", "gbk", "eb", "ebk")


def by_site(p, depth=1, stats=STATS):
    """Numbers summed per call site, a site being its first `depth` user
    frames (function and file:line)."""
    sites = {}
    for pp in p["pps"]:
        key = tuple(user_frames(p, pp)[:depth])
        acc = sites.setdefault(key, dict.fromkeys(stats, 0))
        for s in stats:
            acc[s] += pp[s]
    return sites


def compare_sites(mine, theirs, what):
    diffs = []
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key), theirs.get(key)
        if a != b:
            diffs.append("%s: dhtrace %s, valgrind %s" % (" <- ".join(key), a, b))
    check(not diffs, what + " differ:\n    " + "\n    ".join(diffs))


def check_like_valgrind(name, cmd, gmax=True, depth=1, valgrind_unknown=None):
    """dhtrace's totals and call sites equal valgrind's. valgrind_unknown
    names the site valgrind prints as "???" (it forgets a library's symbols
    at dlclose; dhtrace keeps them)."""
    mine, r = trace(cmd, name)
    theirs = valgrind(cmd, name)
    t_mine, t_theirs = totals(mine), totals(theirs)
    keys = ("total", "gmax", "end") if gmax else ("total", "end")
    for k in keys:
        check_eq(t_mine[k], t_theirs[k], k + " (bytes, blocks)")
    stats = STATS if gmax else ("tb", "tbk", "eb", "ebk")
    theirs_sites = by_site(theirs, depth, stats)
    if valgrind_unknown and ("???",) in theirs_sites:
        theirs_sites[valgrind_unknown] = theirs_sites.pop(("???",))
    compare_sites(by_site(mine, depth, stats), theirs_sites, "call sites")
    return mine, r


def summary_numbers(stderr):
    """The three summary lines as (bytes, blocks) pairs."""
    out = {}
    for key, label in (("total", "Total:"), ("gmax", "At t-gmax:"),
                       ("end", "At t-end:")):
        m = re.search(r"^dhtrace: %s\s+([\d,]+) bytes in ([\d,]+) blocks$"
                      % re.escape(label), stderr, re.M)
        check(m, "summary has no %r line: %s" % (label, stderr))
        out[key] = (int(m.group(1).replace(",", "")),
                    int(m.group(2).replace(",", "")))
    return out


OVERHEAD_LINE = re.compile(
    r"^overhead: ([\d,]+) probe hits \(([\d,]+) allocation entries, "
    r"([\d,]+) returns, ([\d,]+) releases; ([\d,]+) single-stepped\) in "
    r"([\d.]+) s, ([\d,]+) a second; BPF ([\d.]+) ms in ([\d,]+) runs; "
    r"traps ([\d.]+) ms \(([\d.]+) \u00b5s an emulated entry, ([\d.]+) "
    r"\u00b5s a single-stepped one, ([\d.]+) \u00b5s a return\); the cost, "
    r"([\d.]+) ms, is ([\d.]+)% of the target's ([\d.]+) ms of CPU: "
    r"estimated slowdown (?:([+-][\d.]+)%|unknown \(the cost is all of it\))$")


def overhead_numbers(stderr):
    """The "dhtrace: overhead:" line: (its text after "dhtrace: ", its
    numbers by the JSON field's names, times in ns, slowdown a fraction)."""
    lines = [l[len("dhtrace: "):] for l in stderr.splitlines()
             if l.startswith("dhtrace: overhead: ")]
    check_eq(len(lines), 1, "overhead lines in %r" % stderr)
    m = OVERHEAD_LINE.match(lines[0])
    check(m, "overhead line does not parse: %r" % lines[0])
    g = [x and x.replace(",", "") for x in m.groups()]
    n = {"hits": int(g[0]), "allocEntries": int(g[1]), "returns": int(g[2]),
         "releases": int(g[3]), "stepped": int(g[4]),
         "wallNs": float(g[5]) * 1e9, "hitsPerSecond": int(g[6]),
         "bpfNs": float(g[7]) * 1e6, "bpfRuns": int(g[8]),
         "traps": float(g[9]) * 1e6, "emulated": float(g[10]) * 1e3,
         "steppedNs": float(g[11]) * 1e3, "return": float(g[12]) * 1e3,
         "costNs": float(g[13]) * 1e6, "costShare": float(g[14]) / 100,
         "targetCpuNs": float(g[15]) * 1e6,
         "slowdown": g[16] and float(g[16]) / 100}
    check_eq(n["hits"], n["allocEntries"] + n["returns"] + n["releases"],
             "hits are the sum of their kinds")
    return lines[0], n


def check_overhead_like_json(n, o):
    """The overhead line's numbers are the JSON field's, as rounded."""
    for k in ("allocEntries", "returns", "releases", "stepped",
              "hitsPerSecond", "bpfRuns"):
        check_eq(n[k], o[k], "overhead " + k)
    for k, unit in (("wallNs", 1e6), ("bpfNs", 1e3), ("costNs", 1e3),
                    ("targetCpuNs", 1e3), ("costShare", 1e-3)):
        check(abs(n[k] - o[k]) <= unit / 2 + 1e-4,
              "overhead %s: line %r, JSON %r" % (k, n[k], o[k]))
    check(abs(n["traps"] - sum(o["trapsNs"].values())) <= 501,
          "overhead traps: line %r, JSON %r" % (n["traps"], o["trapsNs"]))
    for k, j in (("emulated", "emulated"), ("steppedNs", "stepped"),
                 ("return", "return")):
        check(abs(n[k] - o["trapNs"][j]) <= 5.1,
              "overhead trap %s: line %r, JSON %r" % (j, n[k], o["trapNs"]))
    check((n["slowdown"] is None) == (o["slowdown"] is None) and (
        n["slowdown"] is None or abs(n["slowdown"] - o["slowdown"]) <= 0.00051),
          "overhead slowdown: line %r, JSON %r" % (n["slowdown"], o["slowdown"]))


# --- unit tests -----------------------------------------------------------

def run_unit_tests():
    for exe in sorted(glob.glob(os.path.join(BUILD, "tests", "test_*"))):
        name = os.path.basename(exe)
        if only and not any(o in name for o in only):
            continue
        r = subprocess.run([exe], capture_output=True, text=True,
                           cwd=WORK, timeout=300)
        lines = [l for l in r.stdout.splitlines()
                 if l.startswith("ok ") or l.startswith("not ok ")]
        for l in r.stdout.splitlines():
            if l.startswith("#"):
                print(l)
        for l in lines:
            ok = l.startswith("ok ")
            report(name + ": " + l.split(" ", 2 if not ok else 1)[-1], ok)
        if r.returncode != 0 and not any(l.startswith("not ok") for l in lines):
            report(name, False, "exited %d: %s" % (r.returncode, r.stderr[-300:]))


# --- unwinding tables -----------------------------------------------------

def readelf_row(cols, line):
    """One row of readelf -wF as (rule, cfa_off, rbp_off)."""
    # A register held in another prints as "r5 (rdi)": one column.
    f = re.findall(r"r\d+ \(\w+\)|\S+", line)
    rule = dict(zip(cols, f))
    cfa = re.match(r"(rsp|rbp)\+(-?\d+)$", rule["CFA"])
    ra, rbp = rule.get("ra", "u"), rule.get("rbp", "u")
    if ra == "u":
        return int(f[0], 16), ("end", 0, 0)
    if not cfa or ra != "c-8" or not re.match(r"^(u|c-\d+)$", rbp):
        return int(f[0], 16), ("unknown", 0, 0)
    return int(f[0], 16), (cfa.group(1), int(cfa.group(2)),
                           0 if rbp == "u" else int(rbp[1:]))


def readelf_rows(obj):
    """(pc, rule, cfa_off, rbp_off) for every row readelf -wF prints, and
    the CIE's initial row for an FDE that prints none."""
    out = subprocess.run(["readelf", "--debug-dump=frames-interp", obj],
                         capture_output=True, text=True).stdout
    rows, cies = [], {}
    entry = None    # [kind, CIE offset or FDE start, CIE of the FDE, rows]
    for line in out.splitlines() + [""]:
        m = re.match(r"([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ (CIE|FDE cie=([0-9a-f]+) pc=([0-9a-f]+))", line)
        if m or not line.strip():
            if entry and entry[0] == "FDE" and not entry[3]:
                rows.append((entry[1],) + cies[entry[2]])
            entry = None
            if m and m.group(2) == "CIE":
                entry = ["CIE", int(m.group(1), 16), None, []]
            elif m:
                entry = ["FDE", int(m.group(4), 16), int(m.group(3), 16), []]
            continue
        if not entry:
            continue
        if line.split()[0] == "LOC":
            cols = line.split()
            continue
        pc, row = readelf_row(cols, line)
        if entry[0] == "CIE":
            cies[entry[1]] = row
        else:
            rows.append((pc,) + row)
        entry[3].append(row)
    return rows


def check_cfi_like_readelf(obj):
    dump = subprocess.run([os.path.join(BUILD, "tests", "test_cfi"), "--dump",
                           obj], capture_output=True, text=True, check=True)
    mine = [(int(pc, 16), rule, int(cfa), int(rbp)) for pc, rule, cfa, rbp
            in (l.split() for l in dump.stdout.splitlines())]
    pcs = [r[0] for r in mine]
    theirs = readelf_rows(obj)
    check(len(theirs) > 100, "readelf printed %d rows" % len(theirs))
    import bisect
    bad = []
    for pc, rule, cfa, rbp in theirs:
        i = bisect.bisect_right(pcs, pc) - 1
        got = mine[i][1:] if i >= 0 else None
        if got and got[0] not in ("rsp", "rbp"):
            got = (got[0], 0, 0)
        want = (rule, cfa, rbp) if rule in ("rsp", "rbp") else (rule, 0, 0)
        if got != want:
            bad.append("%x: dhtrace %s, readelf %s" % (pc, got, want))
    check(not bad, "%d of %d rows differ, e.g.\n    %s"
          % (len(bad), len(theirs), "\n    ".join(bad[:10])))


@test
def cfi_tables_match_readelf():
    for obj in ("/lib/x86_64-linux-gnu/libc.so.6",
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/bin/sqlite3"):
        check_cfi_like_readelf(os.path.realpath(obj))


# --- against valgrind -----------------------------------------------------

@test
def every_c_allocator_function_like_valgrind():
    mine, r = check_like_valgrind("t_alloc", [prog("t_alloc")])
    check_eq(summary_numbers(r.stderr), totals(mine), "summary lines")


@test
def glibc_functions_valgrind_does_not_intercept():
    p, r = trace([prog("t_glibc_only")], "t_glibc_only")
    check_eq(r.returncode, 0, "exit status")
    check_eq(totals(p), {"total": (400, 3), "gmax": (300, 2), "end": (0, 0)},
             "totals")
    sites = by_site(p, stats=("tb", "tbk", "gb", "gbk"))
    check_eq(sites.get(("main (t_glibc_only.c:15)",)),
             {"tb": 300, "tbk": 2, "gb": 200, "gbk": 1}, "reallocarray site")
    check_eq(sites.get(("main (t_glibc_only.c:18)",)),
             {"tb": 100, "tbk": 1, "gb": 100, "gbk": 1}, "pvalloc site")


@test
def peak_in_the_middle_like_valgrind():
    mine, _ = check_like_valgrind("t_peak", [prog("t_peak")])
    check_eq(totals(mine)["gmax"], (15000, 11), "t-gmax")
    check(mine["tg"] <= mine["te"], "tg <= te")


@test
def cxx_new_and_delete_like_valgrind():
    check_like_valgrind("t_cxx", [prog("t_cxx")])


@test
def threads_freeing_each_others_blocks():
    # Valgrind runs one thread at a time, so t-gmax depends on scheduling;
    # totals and what is left at exit do not.
    mine, _ = check_like_valgrind("t_threads", [prog("t_threads")], gmax=False)
    leaks = [s for k, s in by_site(mine).items()
             if k and k[0].startswith("worker (t_threads.c:")
             and s["ebk"] > 0]
    check_eq(sum(s["eb"] for s in leaks), 1000 + 1001 + 1002 + 1003,
             "bytes the workers leaked")
    check_eq(sum(s["ebk"] for s in leaks), 4, "blocks the workers leaked")


@test
def dlopen_dlclose_library_symbolized():
    mine, _ = check_like_valgrind("t_dlopen", [prog("t_dlopen")],
                                  valgrind_unknown=("dl_make (lib_dlalloc.c:8)",))
    sites = by_site(mine)
    lib = [(k, s) for k, s in sites.items() if k and k[0].startswith("dl_make (lib_dlalloc.c:")]
    check(lib, "no call site in the unloaded library: %s" % list(sites))
    check_eq(sum(s["tb"] for _, s in lib), 777 + 333, "bytes from dl_make")
    check_eq(sum(s["eb"] for _, s in lib), 777, "dl_make bytes left at exit")


# --- stacks through code without frame pointers ----------------------------

def nofp(name):
    return os.path.join(BUILD, "progs-nofp", name)


def check_frames_like_valgrind(name, cmd, depth=8, **kw):
    """Totals equal, and every call site with its first `depth` frames."""
    mine, r = check_like_valgrind(name, cmd, depth=depth, **kw)
    check(re.search(r"^dhtrace: stacks: [\d,]+ complete", r.stderr, re.M),
          "no line on how stacks ended: " + r.stderr)
    return mine


@test
def deep_stacks_with_frame_pointers_like_valgrind():
    check_frames_like_valgrind("t_deep", [prog("t_deep")])


@test
def deep_stacks_without_frame_pointers_like_valgrind():
    mine = check_frames_like_valgrind("t_deep-nofp", [nofp("t_deep")])
    deep = max(len(user_frames(mine, pp)) for pp in mine["pps"])
    check(deep >= 8, "deepest stack has %d frames" % deep)


@test
def unwind_modes():
    cmd = [nofp("t_deep")]
    default, _ = trace(cmd, "unwind-auto")
    dwarf, _ = trace(cmd, "unwind-dwarf", ["--unwind=dwarf"])
    fp, _ = trace(cmd, "unwind-fp", ["--unwind=fp"])
    depth = lambda p: max(len(user_frames(p, pp)) for pp in p["pps"])
    check_eq(by_site(dwarf, 8), by_site(default, 8), "dwarf against auto")
    check(depth(fp) < depth(default),
          "frame pointers alone reach %d frames, CFI %d" % (depth(fp), depth(default)))
    check_eq(totals(fp), totals(default), "totals")


@test
def libc_frames_have_lines_from_separate_debug_files():
    # libc6-dbg puts libc's DWARF under /usr/lib/debug/.build-id.
    p, _ = trace([nofp("t_deep")], "libc-lines")
    frames = [f for pp in p["pps"] for f in user_frames(p, pp)]
    check(any(re.match(r"msort_with_tmp \(msort\.c:\d+\)$", f) for f in frames),
          "no qsort frame with a line: %s" % frames[:20])


@test
def optimized_programs_without_frame_pointers_like_valgrind():
    for name in ("t_alloc", "t_peak", "t_cxx", "t_stl"):
        check_frames_like_valgrind(name + "-nofp", [nofp(name)])
    # Frames inside a library dlopen'ed an instant ago unwind only once its
    # table is loaded (README, "What dhtrace cannot see"): one frame here.
    check_like_valgrind("t_dlopen-nofp", [nofp("t_dlopen")],
                        valgrind_unknown=("dl_make (lib_dlalloc.c:8)",))


RUST_LOCATION = re.compile(r"^(.*) \((.*?):(\d+)(?::\d+)?\)$")
IN_OBJECT = re.compile(r"^(.*) \((in .*)\)$")


def rust_frame(frame):
    """A frame as (function, file, line), its :col left out; (function,
    None, "in OBJECT") without a line, (frame, None, None) with neither."""
    m = RUST_LOCATION.match(frame)
    if m:
        return m.group(1), m.group(2), int(m.group(3))
    m = IN_OBJECT.match(frame)
    if m:
        return m.group(1), None, m.group(2)
    return frame, None, None


def rust_place(frame):
    """What a frame of dhtrace's and valgrind's have alike: the file's
    last component and the line, or the object."""
    _, path, line = rust_frame(frame)
    return (os.path.basename(path) if path else None), line


def bare_path(name):
    """A Rust function name without its generic arguments (valgrind's
    DW_AT_name has them on the function, a demangled path on the type or
    after "::"), and closures as legacy mangling names them."""
    out, depth = [], 0
    for i, c in enumerate(name):
        if c == "<":
            depth += 1
        elif c == ">" and depth and name[i - 1] != "-":
            depth -= 1
        elif not depth:
            out.append(c)
    bare = "".join(out).rstrip(":")
    return re.sub(r"\{closure#\d+\}", "{{closure}}", bare)


def rust_frames_alike(mine, theirs):
    """dhtrace's frame prints valgrind's the Rust way: the function's full
    path ending with valgrind's name (or valgrind cannot name it), the
    file's full path ending with valgrind's file, the same line."""
    fa, pa, la = rust_frame(mine)
    fb, pb, lb = rust_frame(theirs)
    name = fb.startswith("UnknownInlinedFun") or \
        ("::" + bare_path(fa)).endswith("::" + bare_path(fb))
    path = pa == pb or (pa and pb and pa.endswith("/" + pb))
    return name and path and la == lb


def rustc_version(path):
    """(major, minor) of the rustc that built `path`, from .comment."""
    out = subprocess.run(["readelf", "-p", ".comment", path],
                         capture_output=True, text=True).stdout
    m = re.search(r"rustc version (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def check_rust_like_valgrind(name, cmd, depth=8):
    """Totals, and the numbers of each call site in the program's own code
    (its innermost frame in t_rust.rs). Then the frames of every call site
    that both print at the same places (file name and line), in sequence:
    each of dhtrace's is valgrind's printed the Rust way (rust_frames_alike:
    valgrind prints DWARF's short names, UnknownInlinedFun for a function
    inlined from another compilation unit, as Rust's generics are, and
    file names without the line table's directory).
    The DWARF that older rustc (Debian's 1.63) writes makes valgrind 3.19
    miss inlined calls that dhtrace shows, so there the numbers alone are
    compared. Returns dhtrace's profile."""
    mine, _ = trace(cmd, name)
    theirs = valgrind(cmd, name)
    check_eq(totals(mine), totals(theirs), "totals")
    own = {}
    by_place = {}
    for label, p in (("dhtrace", mine), ("valgrind", theirs)):
        for pp in p["pps"]:
            frames = user_frames(p, pp)
            site = next((f for f in frames if rust_place(f)[0] == "t_rust.rs"), None)
            key = "-"
            if site:    # the function's last name, the line
                key = "%s (t_rust.rs:%d)" % (
                    bare_path(rust_frame(site)[0]).split("::")[-1],
                    rust_place(site)[1])
            acc = own.setdefault(label, {}).setdefault(
                (key,), dict.fromkeys(STATS, 0))
            for k in STATS:
                acc[k] += pp[k]
            place = tuple(rust_place(f) for f in frames[:depth])
            by_place.setdefault(place, {})[label] = frames[:depth]
    compare_sites(own["dhtrace"], own["valgrind"], "call sites in t_rust.rs")
    if rustc_version(cmd[0]) <= (1, 63):
        return mine
    both = [v for v in by_place.values() if len(v) == 2]
    check(len(both) * 2 >= len(by_place) / 2,
          "only %d of %d call sites alike" % (len(both), len(by_place)))
    for v in both:
        for a, b in zip(v["dhtrace"], v["valgrind"]):
            check(rust_frames_alike(a, b), "frame %r, valgrind %r" % (a, b))
    return mine


@test
def generated_code_prints_like_valgrind():
    # A stub in anonymous executable memory calls malloc: "???", and the
    # stack goes on below it.
    check_frames_like_valgrind("t_jit", [prog("t_jit")])
    check_frames_like_valgrind("t_jit-nofp", [nofp("t_jit")])


def printed_sites(p):
    """Numbers per call site, a site being every frame as printed, without
    its address (valgrind's allocator frames left out)."""
    sites = {}
    for pp in p["pps"]:
        key = tuple(FRAME.match(t).group(1) for t in
                    (p["ftbl"][i] for i in pp["fs"])
                    if not ALLOCATOR_FRAME.search(t))
        acc = sites.setdefault(key, dict.fromkeys(STATS, 0))
        for s in STATS:
            acc[s] += pp[s]
    return sites


@test
def frames_below_main_like_valgrind():
    # A constructor's stack goes through __libc_start_main (printed as
    # linked, versioned) down to _start, "(below main)"; an atexit
    # handler's and a destructor's end at __libc_start_call_main.
    for cmd in ([prog("t_ctor")], [nofp("t_ctor")]):
        mine, _ = trace(cmd, "t_ctor")
        theirs = valgrind(cmd, "t_ctor")
        compare_sites(printed_sites(mine), printed_sites(theirs),
                      "%s: call sites, every frame" % cmd[0])
        ctor = [k for k in printed_sites(mine)
                if any(f.startswith("init (t_ctor.c:") for f in k)]
        check(ctor, "no constructor site: %s" % list(printed_sites(mine)))
        for k in ctor:
            check(k[-2].startswith("__libc_start_main@@GLIBC_") and
                  k[-1] == "(below main) (in %s)" % cmd[0],
                  "constructor's stack ends %s" % (k[-2:],))


# Rust frames as dhat-rs prints them: every function, inlined ones too,
# by its full path; files with the line table's directory, file:line:col.
RUST_OWN_FRAME = re.compile(
    r"^t_rust::\w+(::\{\{closure\}\})? \(tests/progs/t_rust\.rs:\d+:\d+\)$")
RUST_STD_FRAME = re.compile(
    r"^<?alloc::.* \(/rustc/[0-9a-f]+/library/alloc/src/\S+\.rs:\d+:\d+\)$")


def check_rust_frames(p, what):
    """Some call site's frames hold the program's function and, inlined
    or not, alloc's, printed the Rust way."""
    stacks = [user_frames(p, pp) for pp in p["pps"]]
    check(any(any(RUST_OWN_FRAME.match(f) for f in fs) and
              any(RUST_STD_FRAME.match(f) for f in fs) for fs in stacks),
          "%s: no site with t_rust's and alloc's frames, full paths: %s"
          % (what, [fs[:6] for fs in stacks if any("t_rust.rs" in f for f in fs)][:3]))
    check(not any(re.match(r"^\w+(<.*>)? \(", f) for fs in stacks for f in fs
                  if "/rustc/" in f or "t_rust.rs" in f),
          "%s: a Rust frame named without its path" % what)


@test
def rust_program_like_valgrind():
    # Frames of Rust's standard library: inlined generics by their full
    # paths, as valgrind's short names end, at the same file and line.
    check_rust_frames(check_rust_like_valgrind("t_rust", [prog("t_rust")]), "t_rust")
    check_rust_frames(check_rust_like_valgrind("t_rust-nofp", [nofp("t_rust")]),
                      "t_rust-nofp")


def marked_sites(source):
    """{line: (tb, tbk, eb, ebk)} from a test program's "site:" comments."""
    sites = {}
    with open(source) as f:
        for n, line in enumerate(f, 1):
            m = re.search(r"// site: (\d+) (\d+) (\d+) (\d+)", line)
            if m:
                sites[n] = tuple(int(x) for x in m.groups())
    return sites


def sites_by_line(p, filename):
    """(tb, tbk, eb, ebk) summed by the line of each program point's first
    frame in `filename`; program points without one are left out."""
    where = re.compile(r"\((?:[^()]*/)?%s:(\d+)" % re.escape(filename))
    sites = {}
    for pp in p["pps"]:
        line = next((int(m.group(1)) for m in
                     (where.search(p["ftbl"][i]) for i in pp["fs"]) if m), None)
        if line is None:
            continue
        acc = sites.setdefault(line, [0, 0, 0, 0])
        for i, k in enumerate(("tb", "tbk", "eb", "ebk")):
            acc[i] += pp[k]
    return {k: tuple(v) for k, v in sites.items()}


@test
def rust_global_allocator_is_seen_through_its_shim():
    # A bump arena of its own that never calls malloc: valgrind sees
    # none of its blocks; dhtrace sees each through Rust's allocator shim,
    # with the numbers the source marks, line by line. (Optimized, the
    # arena is inlined into its callers: no call is left to probe.)
    want = marked_sites(os.path.join(ROOT, "tests", "progs", "t_rust_bump.rs"))
    mine, r = trace([prog("t_rust_bump")], "t_rust_bump")
    check_eq(sites_by_line(mine, "t_rust_bump.rs"), want, "sites")
    check(re.search(r"^dhtrace: allocator: Rust allocator shim in t_rust_bump, "
                    r"malloc… in libc\.so\.6$", r.stderr, re.M),
          "the layers traced: " + r.stderr)
    # --allocator keeps one layer: malloc alone sees none of them, the
    # shim alone all of them and nothing of libc's.
    only_libc, r = trace([prog("t_rust_bump")], "t_rust_bump-malloc",
                         ["--allocator", "malloc"])
    check_eq(sites_by_line(only_libc, "t_rust_bump.rs"), {}, "sites seen by malloc")
    only_rust, r = trace([prog("t_rust_bump")], "t_rust_bump-rust",
                         ["--allocator", "rust"])
    check_eq(sites_by_line(only_rust, "t_rust_bump.rs"), want, "sites seen by the shim")
    check(re.search(r"^dhtrace: allocator: Rust allocator shim in t_rust_bump$",
                    r.stderr, re.M), "the layer traced: " + r.stderr)
    check_eq(totals(only_rust)["total"][0] + totals(only_libc)["total"][0],
             totals(mine)["total"][0], "the two layers' bytes add up")


LIBS = "/usr/lib/x86_64-linux-gnu/"
ALLOCATORS = {"jemalloc": "libjemalloc.so.2", "tcmalloc": "libtcmalloc_minimal.so.4",
              "mimalloc": "libmimalloc.so.2"}
# realloc(q, 0) of t_alloc.c: glibc's, jemalloc's and tcmalloc's free q;
# musl's and mimalloc's return a new smallest block, which stays live.
REALLOC_ZERO_LINE = 32
REALLOC_ZERO_KEEPS = (11, 2, 1, 1)


def check_allocator_like_valgrind(cmd, name, lib, preload=None):
    """t_alloc on another allocator: totals and every call site equal
    valgrind's, told by --soname-synonyms that the allocator is in lib
    (its replacements then stand in for that allocator's functions)."""
    mine, r = trace(cmd if not preload else ["env", "LD_PRELOAD=" + preload] + cmd,
                    name)
    theirs = valgrind(cmd, name, extra=["--soname-synonyms=somalloc=" + lib],
                      preload=preload)
    ours, vgs = sites_by_line(mine, "t_alloc.c"), sites_by_line(theirs, "t_alloc.c")
    if name.startswith("t_alloc-mimalloc"):
        check_eq(ours.pop(REALLOC_ZERO_LINE), REALLOC_ZERO_KEEPS, "realloc(q, 0)")
        vgs.pop(REALLOC_ZERO_LINE)
    else:
        check_eq(totals(mine), totals(theirs), "totals")
    check_eq(ours, vgs, "t_alloc.c's call sites")
    check(re.search(r"^dhtrace: allocator: .*malloc… in %s" % re.escape(lib),
                    r.stderr, re.M), "the layers traced: " + r.stderr)


@test
def programs_linked_with_other_allocators_like_valgrind():
    for name, lib in ALLOCATORS.items():
        check_allocator_like_valgrind(
            [os.path.join(BUILD, "progs-alloc", "t_alloc-" + name)],
            "t_alloc-" + name, lib)


@test
def preloaded_allocators_like_valgrind():
    for name, lib in ALLOCATORS.items():
        check_allocator_like_valgrind([prog("t_alloc")], "t_alloc-%s-preload" % name,
                                      lib, preload=LIBS + lib)


@test
def static_binaries_have_the_dynamic_ones_numbers():
    # valgrind cannot replace a static binary's malloc: the oracle is the
    # same program linked dynamically, whose sites equal valgrind's.
    dynamic = sites_by_line(trace([prog("t_alloc")], "t_alloc")[0], "t_alloc.c")
    for libc, path in (("glibc", os.path.join(BUILD, "progs-static", "t_alloc")),
                       ("musl", os.path.join(BUILD, "progs-musl", "t_alloc"))):
        mine, r = trace([path], "t_alloc-static-" + libc)
        want = dict(dynamic)
        if libc == "musl":
            want[REALLOC_ZERO_LINE] = REALLOC_ZERO_KEEPS
        check_eq(sites_by_line(mine, "t_alloc.c"), want, "%s's call sites" % libc)
        check(re.search(r"^dhtrace: allocator: malloc… in t_alloc$", r.stderr, re.M),
              "the layer traced: " + r.stderr)
        # A static image's malloc is in the file the exec predicted, under
        # another name (/proc/PID/root/...) when it is seen mapped: the
        # probes must not be bound twice (every call would count twice
        # until the first links close, and the nesting marker be lost).
        hits = re.search(r"overhead: [\d,]+ probe hits \(([\d,]+) allocation "
                         r"entries, ([\d,]+) returns", r.stderr)
        check(hits, "no overhead line: " + r.stderr)
        check_eq(hits.group(1), hits.group(2), "%s: entries and returns" % libc)


@test
def statically_linked_prefixed_allocator():
    # An allocator of the program's own under the je_ prefix, that never
    # calls malloc: each site's numbers as the source marks them.
    want = marked_sites(os.path.join(ROOT, "tests", "progs", "t_prefixed.c"))
    for cmd in ([prog("t_prefixed")], [nofp("t_prefixed")]):
        mine, r = trace(cmd, "t_prefixed")
        check_eq(sites_by_line(mine, "t_prefixed.c"), want, "sites of %s" % cmd[0])
        check(re.search(r"^dhtrace: allocator: je_malloc… in t_prefixed, malloc… in libc",
                        r.stderr, re.M), "the layers traced: " + r.stderr)
    only, r = trace([prog("t_prefixed")], "t_prefixed-je", ["--allocator", "je_"])
    check_eq(totals(only)["total"], (2381, 16), "je_ alone")


def probe_sites(cmd):
    """`dhtrace probes` of a program: (object, function) -> (start,
    bytes in, how, argument registers)."""
    r = subprocess.run([DHTRACE, "probes"] + cmd, capture_output=True,
                       text=True)
    check(r.returncode == 0, "dhtrace probes failed: " + r.stderr)
    sites = {}
    for line in r.stdout.splitlines():
        f = line.split("\t")
        regs = f[5][len("args "):].split(",") if len(f) > 5 else None
        sites[(os.path.basename(f[0]), f[1])] = (
            f[0], int(f[2], 16), int(f[3][1:]), f[4], regs)
    return sites


def vaddr_of(path, offset):
    """The address of file offset @offset, by readelf's PT_LOAD list."""
    out = subprocess.run(["readelf", "-lW", path], capture_output=True,
                         text=True, check=True).stdout
    for m in re.finditer(r"^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+\S+\s+"
                         r"(0x[0-9a-f]+)", out, re.M):
        off, vaddr, size = (int(g, 16) for g in m.groups())
        if off <= offset < off + size:
            return offset - off + vaddr
    raise Fail("%s: offset %#x not loaded" % (path, offset))


def objdump_insns(path, start, length):
    """(file offset, mnemonic, operands) of the instructions objdump
    decodes in [start, start + length) of the file."""
    delta = vaddr_of(path, start) - start
    start += delta
    out = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", "--start-address=%#x" % start,
         "--stop-address=%#x" % (start + length), path],
        capture_output=True, text=True, check=True).stdout
    insns = []
    for m in re.finditer(r"^ +([0-9a-f]+):\t(\S+)[ \t]*(.*)$", out, re.M):
        insns.append((int(m.group(1), 16) - delta, m.group(2),
                      m.group(3).split("#")[0].strip()))
    return insns


EMULATED = re.compile(r"^(push|jmp|j[a-z]+|call|nop[wl]?)$")
READS_ONLY = ("cmp", "test", "lea", "prefetch")


def check_placement(path, name, start, into, how):
    """objdump's view of a placement: at an instruction, one the kernel
    emulates unless single-stepped, past instructions that branch
    nowhere and write neither memory nor the stack or frame pointer."""
    insns = objdump_insns(path, start, into + 16)
    offsets = [o for o, _, _ in insns]
    check(start + into in offsets, "%s+%d is inside an instruction" % (name, into))
    for off, mnem, ops in insns:
        if off == start + into:
            if how == "emulated":
                check(EMULATED.match(mnem) or (mnem, ops) == ("xchg", "%ax,%ax"),
                      "%s+%d: %s is not emulated" % (name, into, mnem))
            break
        dest = ops.split(",")[-1] if ops else ""
        check(not EMULATED.match(mnem) and mnem not in ("ret", "syscall"),
              "%s: skipped a branch %s" % (name, mnem))
        check(not re.search(r"%[re]?(sp|bp)\b", dest) or mnem.startswith(READS_ONLY),
              "%s: skipped a write of %s" % (name, dest))
        check("(" not in dest or mnem.startswith(READS_ONLY) or "," not in ops,
              "%s: skipped a store %s %s" % (name, mnem, ops))


@test
def probes_go_where_the_kernel_emulates():
    # Every allocator function of glibc, jemalloc, tcmalloc, mimalloc,
    # libstdc++ and a Rust shim, checked against objdump; the hot ones
    # are emulated, not single-stepped, and the cases that show why the
    # rules are what they are come out as expected.
    progs = [[prog("t_alloc")], [prog("t_cxx")], [prog("t_rust_bump")]] + \
        [[os.path.join(BUILD, "progs-alloc", "t_alloc-" + a)] for a in ALLOCATORS]
    seen = {}
    for cmd in progs:
        for key, (path, start, into, how, regs) in probe_sites(cmd).items():
            if key not in seen and how != "wrapper":
                check_placement(path, key[1], start, into, how)
            seen[key] = (into, how, regs)
    for lib in list(ALLOCATORS.values()) + ["libc.so.6"]:
        for fn in ("malloc", "free", "calloc", "realloc"):
            got = [v for (o, f), v in seen.items() if o == lib and
                   f.endswith(fn) and f[:len(f) - len(fn)] in ("", "tc_", "mi_")]
            check(got and all(v[1] == "emulated" for v in got),
                  "%s %s: %s" % (lib, fn, got))
    # jemalloc's malloc: past `cmp $0x1000,%rdi` to the `ja`; mimalloc's
    # reads its size from %rsi, where it is moved before %rdi is reused.
    check_eq(seen[("libjemalloc.so.2", "malloc")][:2], (7, "emulated"), "je malloc")
    check_eq(seen[("libmimalloc.so.2", "mi_malloc")], (21, "emulated", ["rsi"]),
             "mi_malloc")
    # libstdc++'s new and delete only wrap malloc and free; jemalloc's
    # own operator new does not.
    for fn in ("_Znwm", "_ZdlPv", "_ZdlPvm", "_Znam"):
        check_eq(seen[("libstdc++.so.6", fn)][1], "wrapper", fn)
    check_eq(seen[("libjemalloc.so.2", "_Znwm")][1], "emulated", "je _Znwm")
    check_eq(seen[("t_rust_bump", "__rust_alloc")][1] != "wrapper", True,
             "a bump arena's shim is probed")


def check_top_sites_like_valgrind(name, cmd, stdin=None):
    """Valgrind's ten call sites with the most bytes, with their first five
    frames, have dhtrace's numbers. Returns both profiles."""
    mine, _ = trace(cmd, name, stdin=stdin)
    theirs = valgrind(cmd, name, stdin=stdin)
    a, b = by_site(mine, 5), by_site(theirs, 5)
    top = sorted(b, key=lambda k: -b[k]["tb"])[:10]
    compare_sites({k: a.get(k) for k in top}, {k: b[k] for k in top},
                  "top ten call sites (5 frames)")
    return mine, theirs


@test
def sqlite3_top_sites_like_valgrind():
    script = os.path.join(WORK, "top.sql")
    with open(script, "w") as f:
        f.write("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);\nBEGIN;\n")
        for i in range(3000):
            f.write("INSERT INTO t(b) VALUES('row %d %s');\n" % (i, "y" * (i % 40)))
        f.write("COMMIT;\nCREATE INDEX t_b ON t(b);\n"
                "SELECT count(*), max(b) FROM t WHERE b LIKE 'row 1%';\n")
    mine, theirs = check_top_sites_like_valgrind(
        "sqlite3", ["sqlite3", ":memory:"], stdin=script)
    check_eq(totals(mine), totals(theirs), "totals")


@test
def python3_top_sites_like_valgrind():
    script = os.path.join(WORK, "alloc.py")
    with open(script, "w") as f:
        f.write("d = {}\nfor i in range(20000):\n"
                "    d['k%d' % i] = [i] * (i % 30) + ['x' * (i % 700)]\n"
                "print(len(sorted(d.items(), key=lambda kv: len(kv[1]))))\n")
    # Totals differ by the environment valgrind adds (LD_PRELOAD), which
    # Python copies; the call sites that matter do not.
    check_top_sites_like_valgrind("python3", ["/usr/bin/python3", "-S", script])


# --- sampling -------------------------------------------------------------

# t_sample.c's call sites: (block size, blocks).
SAMPLE_SITES = {"small": (100, 40000), "medium": (1000, 4000),
                "large": (65536, 500)}


def sample_sites(p):
    """(tb, tbk) per t_sample.c function that called churn()."""
    sites = {}
    for pp in p["pps"]:
        for f in user_frames(p, pp):
            m = re.match(r"^(small|medium|large) \(t_sample\.c:", f)
            if m:
                acc = sites.setdefault(m.group(1), [0, 0])
                acc[0] += pp["tb"]
                acc[1] += pp["tbk"]
                break
    return {k: tuple(v) for k, v in sites.items()}


def summary_number(text, pattern):
    m = re.search(pattern, text, re.M)
    check(m, "no %r in:\n%s" % (pattern, text))
    return tuple(int(g.replace(",", "")) for g in m.groups())


@test
def sampled_estimates_are_within_their_error():
    # Each site's estimate, bytes and blocks, within four standard
    # deviations of the truth (a false alarm once in 16,000 runs): for n
    # blocks of size S sampled with p = 1 - e^(-S/N), each weighted 1/p,
    # the variance is n S^2 (1/p - 1) for the bytes, n (1/p - 1) for the
    # blocks. The totals of requests are exact, and most calls skip
    # their return probe.
    mean = 16384
    exact, r = trace([prog("t_sample")], "t_sample")
    est, rs = trace([prog("t_sample")], "t_sample-sampled",
                    ["--sample-bytes", "16K"])
    got = sample_sites(est)
    for fn, (size, n) in SAMPLE_SITES.items():
        check_eq(sample_sites(exact)[fn], (size * n, n), "exact " + fn)
        p = -math.expm1(-size / mean)
        sd_bytes = math.sqrt(n * size * size * (1 / p - 1))
        sd_blocks = math.sqrt(n * (1 / p - 1))
        tb, tbk = got.get(fn, (0, 0))
        check(abs(tb - size * n) <= 4 * sd_bytes,
              "%s: %d bytes estimated, %d true, sd %.0f" % (fn, tb, size * n, sd_bytes))
        check(abs(tbk - n) <= 4 * sd_blocks + 1,
              "%s: %d blocks estimated, %d true, sd %.1f" % (fn, tbk, n, sd_blocks))
    # the series counts sampled calls by their weight, as the totals
    allocs = sum(est["dhtraceTimeline"]["allocs"])
    est_blocks = sum(pp["tbk"] for pp in est["pps"])
    check(abs(allocs - est_blocks) <= len(est["dhtraceTimeline"]["t"]),
          "the series' %d allocations against %d blocks" % (allocs, est_blocks))
    want = summary_number(r.stderr, r"^dhtrace: Total: +([\d,]+) bytes in ([\d,]+) blocks")
    check_eq(summary_number(rs.stderr, r"requested exactly: ([\d,]+) bytes in ([\d,]+) blocks"),
             want, "requests counted exactly")
    returns, = summary_number(rs.stderr, r"return probes run: ([\d,]+)")
    check(returns * 10 < want[1], "%d return probes for %d calls" % (returns, want[1]))
    check_eq(est["dhtraceSampling"], {"meanBytes": mean, "requestedBytes": want[0],
                                       "requestedBlocks": want[1]}, "the JSON's sampling")
    path = os.path.join(WORK, "t_sample-sampled.dhtrace.json")
    v = subprocess.run(["node", VIEWER, path], capture_output=True, text=True,
                       timeout=60)
    check_eq(v.returncode, 0, "viewer exit status (%s)" % v.stderr.strip())


@test
def sampled_resizes_count_as_requests():
    # A resize of a sampled block is followed, and counts in the totals
    # only if a sample falls in it, weighed by its own size, as any
    # request: t_regrow's 2,001 requests are each sampled with p = 1 -
    # e^(-S/N), so the estimates are within four standard deviations
    # (bytes sqrt(sum S^2 (1/p - 1)), blocks sqrt(sum (1/p - 1))). Counting
    # every followed resize, as once, gave about 2,000 N bytes here.
    mean = 16384
    sizes = [100] + [100 + (i * 37) % 200 for i in range(2000)]
    p = [-math.expm1(-s / mean) for s in sizes]
    sd_bytes = math.sqrt(sum(s * s * (1 / q - 1) for s, q in zip(sizes, p)))
    sd_blocks = math.sqrt(sum(1 / q - 1 for q in p))
    exact, _ = trace([prog("t_regrow")], "t_regrow")
    check_eq(totals(exact)["total"], (sum(sizes), len(sizes)), "exact totals")
    for run in range(3):
        est, r = trace([prog("t_regrow")], "t_regrow-sampled-%d" % run,
                       ["--sample-bytes", "16K"])
        tb, tbk = totals(est)["total"]
        check(abs(tb - sum(sizes)) <= 4 * sd_bytes,
              "%d bytes estimated for %d, sd %.0f" % (tb, sum(sizes), sd_bytes))
        check(abs(tbk - len(sizes)) <= 4 * sd_blocks + 1,
              "%d blocks estimated for %d, sd %.0f" % (tbk, len(sizes), sd_blocks))


@test
def sampled_requests_are_counted_as_dhat_counts():
    # The exact totals a sampled run prints are DHAT's: malloc(0) is a
    # byte, realloc(p, 0) a free, and an allocation function that calls
    # another (glibc's realloc(NULL, n) calls malloc, reallocarray calls
    # realloc) one request; such a function's return is kept, so most
    # unsampled calls still skip theirs. Where realloc(p, 0) returns a
    # block (musl, mimalloc) the exact run counts it and the requests,
    # decided before the call returns, take it for glibc's free.
    alloc = os.path.join(BUILD, "progs-alloc", "t_alloc-")
    cases = [(prog("t_nest"), (600, 3)), (prog("t_alloc"), (5145, 14)),
             (alloc + "jemalloc", None), (alloc + "tcmalloc", None),
             (os.path.join(BUILD, "progs-musl", "t_alloc"), (5145, 14)),
             (alloc + "mimalloc", (5145, 14))]
    for exe, want in cases:
        r = dhtrace(["-o", os.path.join(WORK, "requests.json"), "--", exe])
        exact = summary_number(r.stderr, r"^dhtrace: Total: +([\d,]+) bytes in ([\d,]+) blocks")
        rs = dhtrace(["-o", os.path.join(WORK, "requests.json"),
                      "--sample-bytes", "1M", "--", exe])
        check_eq(rs.returncode, 0, "%s: exit status (%s)" % (exe, rs.stderr.strip()))
        got = summary_number(rs.stderr, r"requested exactly: ([\d,]+) bytes in ([\d,]+) blocks")
        check_eq(got, want or exact, exe + ": requests counted")
        if exe == prog("t_nest"):
            check_eq(exact, want, "t_nest's exact totals")


@test
def sampled_children_follow_their_inherited_blocks():
    # With a mean of 1 byte every block of 8 bytes or more is sampled,
    # at a weight of 1 (t_fork's are): the sampled numbers of each
    # process are the exact ones, a forked child's frees of the blocks
    # it inherited included (the kernel follows the child's copies).
    exe = prog("t_fork")
    own, others, r = trace_children([exe], "sample-fork")
    s_own, s_others, rs = trace_children([exe], "sample-fork-1",
                                         ["--sample-bytes", "1"])
    check_eq(rs.returncode, 0, "exit status (%s)" % rs.stderr.strip())
    exact = {k: totals(p) for k, p in by_role(own, others).items()}
    sampled = {k: totals(p) for k, p in by_role(s_own, s_others).items()}
    check_eq(sampled, exact, "each process's numbers")


@test
def sampled_pprof_says_its_period():
    out = os.path.join(WORK, "t_sample.pb.gz")
    r = dhtrace(["-o", out, "--sample-bytes", "1M", "--", prog("t_sample")])
    check_eq(r.returncode, 0, "dhtrace: " + r.stderr)
    raw = subprocess.run(["go", "tool", "pprof", "-raw", out], capture_output=True,
                         text=True).stdout
    check(re.search(r"^Period: 1048576$", raw, re.M), "no period in:\n" + raw[:400])
    check("Comment: sampled: a block in every 1,048,576 bytes on average" in raw,
          "no comment in:\n" + raw[:400])


@test
def sampled_files_say_so_in_report_and_convert():
    # report, and convert's pprof, say what the run said: sampled with N
    # (pprof's Period too) and the requests counted exactly, and the
    # overhead line; a field that is not what dhtrace writes is refused.
    path = os.path.join(WORK, "said.json")
    r = dhtrace(["-o", path, "--sample-bytes", "64K", "--", prog("t_alloc")])
    check_eq(r.returncode, 0, "dhtrace: " + r.stderr)
    sampled = re.search(r"^dhtrace: sampled: (.*); return probes run: [\d,]+$",
                        r.stderr, re.M).group(1)
    check_eq(sampled, "a block in every 65,536 bytes on average (--sample-bytes), "
             "numbers estimated; requested exactly: 5,145 bytes in 14 blocks",
             "the run's sampling line")
    cost = re.search(r"^dhtrace: overhead: (.*)$", r.stderr, re.M).group(1)
    rep = dhtrace(["report", path]).stdout
    check_eq(report_line(rep, "Sampled:"), sampled, "report's Sampled line")
    check_eq(report_line(rep, "Overhead:"), cost, "report's Overhead line")
    pb = os.path.join(WORK, "said.pb.gz")
    c = dhtrace(["convert", path, pb])
    check_eq((c.returncode, c.stderr), (0, ""), "convert")
    raw = subprocess.run(["go", "tool", "pprof", "-raw", pb], capture_output=True,
                         text=True).stdout
    check(re.search(r"^Period: 65536$", raw, re.M), "no period in:\n" + raw[:400])
    check_eq(re.findall(r"^Comment: (sampled|overhead): (.*)$", raw, re.M)[-2:],
             [("sampled", sampled), ("overhead", cost)], "convert's comments")
    with open(path) as f:
        text = f.read()
    bad = os.path.join(WORK, "said-bad.json")
    with open(bad, "w") as f:
        f.write(text.replace('"meanBytes":65536', '"meanBytes":"65536"'))
    for cmd in (["report", bad], ["convert", bad, pb]):
        e = dhtrace(cmd)
        check_eq((e.returncode, e.stderr.strip()),
                 (1, "dhtrace: %s: dhtraceSampling.meanBytes: missing, or not "
                     "what dhtrace writes" % bad), " ".join(cmd[:1]) + " of a bad field")


@test
def heap_over_time_is_in_the_profile():
    # t_sample allocates and frees without realloc: the series' highest
    # point is At t-gmax, its last At t-end, its allocations the total
    # blocks and its frees the blocks freed; no bucket is wider than the
    # series' width, nor are there more than 2,000.
    p, _ = trace([prog("t_sample")], "t_sample-timeline")
    tl = p["dhtraceTimeline"]
    t = totals(p)
    n = len(tl["t"])
    check(0 < n <= 2000, "%d buckets" % n)
    for k in ("bytesMin", "bytesMax", "bytesLast", "blocksMin", "blocksMax",
              "blocksLast", "allocs", "frees"):
        check_eq(len(tl[k]), n, "length of " + k)
    check_eq(tl["t"], [i * tl["bucketUs"] for i in range(n)], "bucket starts")
    check_eq(max(tl["bytesMax"]), t["gmax"][0], "the highest point")
    check_eq((tl["bytesLast"][-1], tl["blocksLast"][-1]), t["end"], "the last point")
    check_eq(sum(tl["allocs"]), t["total"][1], "allocations")
    check_eq(sum(tl["frees"]), t["total"][1] - t["end"][1], "frees")
    check(all(a <= b for a, b in zip(tl["bytesMin"], tl["bytesMax"])), "min <= max")
    check(tl["t"][-1] <= p["te"], "the series ends by t-end")
    # report draws it: a column per bucket (up to 60), eighths of the
    # highest, a caret under the column of t-gmax
    path = os.path.join(WORK, "t_sample-timeline.dhtrace.json")
    r = subprocess.run([DHTRACE, "report", path, "--top", "1"],
                       capture_output=True, text=True)
    m = re.search(r"^Over time:  (.*)\n {12}( *)\^ t-gmax$", r.stdout, re.M)
    check(m, "no sparkline in:\n" + r.stdout)
    w = min(60, n)
    bars = " " + "".join(chr(0x2581 + i) for i in range(8))
    top = max(tl["bytesMax"])
    part = [0] * w
    for i, v in enumerate(tl["bytesMax"]):
        part[i * w // n] = max(part[i * w // n], v)
    check_eq(m.group(1), "".join(bars[(v * 8 + top - 1) // top] for v in part),
             "the sparkline")
    check_eq(len(m.group(2)), min(p["tg"] // tl["bucketUs"] * w // n, w - 1),
             "the caret's column")
    # a series whose columns differ in length is refused in one line
    with open(path) as f:
        bad = json.load(f)
    bad["dhtraceTimeline"]["frees"].append(1)
    bad_path = os.path.join(WORK, "bad-timeline.json")
    with open(bad_path, "w") as f:
        json.dump(bad, f)
    r = subprocess.run([DHTRACE, "report", bad_path], capture_output=True,
                       text=True)
    check_eq(r.returncode, 1, "exit status of a bad series")
    check(re.match(r"^dhtrace: .*dhtraceTimeline: a column missing, or columns "
                   r"of different lengths\n$", r.stderr), "error: " + r.stderr)
    # and one whose buckets do not start at multiples of its width
    bad["dhtraceTimeline"]["frees"].pop()
    bad["dhtraceTimeline"]["t"][-1] += 1
    with open(bad_path, "w") as f:
        json.dump(bad, f)
    r = subprocess.run([DHTRACE, "report", bad_path], capture_output=True,
                       text=True)
    check(r.returncode == 1 and re.match(
        r"^dhtrace: .*dhtraceTimeline: bucket \d+ does not start at \d+ "
        r"bucketUs\n$", r.stderr), "error: " + r.stderr)


def quiet_levels(tl):
    """The series as levels and moves: the bytes of each run of buckets
    without events (consecutive equal ones as one), and the (allocations,
    frees) of each run of buckets with events between them."""
    levels, moves, inside = [], [], False
    for i in range(len(tl["t"])):
        a, f = tl["allocs"][i], tl["frees"][i]
        if a or f:
            if not inside:
                moves.append((0, 0))
            moves[-1] = (moves[-1][0] + a, moves[-1][1] + f)
            inside = True
            continue
        check_eq((tl["bytesMin"][i], tl["bytesMax"][i]), (tl["bytesLast"][i],) * 2,
                 "bucket %d without events is level" % i)
        if inside or not levels:
            levels.append(tl["bytesLast"][i])
        inside = False
    return levels, moves


@test
def heap_over_time_shows_the_phases():
    # t_phases: 0, then 40 blocks of 1,000 bytes, down to 10,000, up to
    # 70,000 (the peak), down to 0, each level held 20 ms
    p, _ = trace([prog("t_phases")], "t_phases")
    t = totals(p)
    check_eq(t, {"total": (100000, 100), "gmax": (70000, 70), "end": (0, 0)},
             "totals")
    tl = check_series_to_te(p, "t_phases")
    check_eq(max(tl["bytesMax"]), t["gmax"][0], "the highest point: At t-gmax")
    check_eq(max(tl["blocksMax"]), t["gmax"][1], "the most blocks: At t-gmax")
    check_eq(tl["bytesMax"][p["tg"] // tl["bucketUs"]], 70000, "t-gmax's bucket")
    check_eq((tl["bytesLast"][-1], tl["blocksLast"][-1]), t["end"], "the last point: At t-end")
    check_eq(sum(tl["allocs"]), t["total"][1], "allocations: the total blocks")
    check_eq(sum(tl["frees"]), t["total"][1] - t["end"][1], "frees")
    levels, moves = quiet_levels(tl)
    check_eq(levels, [0, 40000, 10000, 70000, 0], "the levels, in order")
    check_eq(moves, [(40, 0), (0, 30), (60, 0), (0, 70)], "the phases' calls")


# --- the file and the viewer ----------------------------------------------

@test
def profile_loads_in_the_real_viewer():
    mine, _ = trace([prog("t_alloc")], "t_alloc")
    path = os.path.join(WORK, "t_alloc.dhtrace.json")
    # with dhtrace's own field, which the viewer must pass over
    check(mine["dhtraceOverhead"]["allocEntries"] > 0,
          "no overhead field: %r" % sorted(mine))
    r = subprocess.run(["node", VIEWER, path], capture_output=True, text=True,
                       timeout=60)
    check_eq(r.returncode, 0, "viewer exit status (%s)" % r.stderr.strip())
    t = totals(mine)["total"]
    want = "Total:     %s bytes" % format(t[0], ",")
    check(want in r.stdout, "viewer text lacks %r:\n%s" % (want, r.stdout[:800]))
    check("leak_one (t_alloc.c:" in r.stdout, "viewer shows no leak_one frame")
    check("dhtraceTimeline" in mine, "the file the viewer loaded has no series")



# --- dhtrace view: the page in a real browser ------------------------------

sys.path.insert(0, os.path.join(ROOT, "tests", "viewer"))


def open_view(html, shot):
    """Opens the page @html in headless Chromium; returns the browser,
    after checking it drew, threw nothing and asked for nothing else, and
    keeping a screenshot of its top (summary, chart, flame graph and the
    table's first rows) as build/@shot."""
    from browser import Browser
    b = Browser()
    try:
        url = "file://" + html
        b.open(url)
        b.wait_js("document.body.dataset.ready")
        check_eq(b.errors(), [], "JavaScript errors")
        check_eq(b.requests(), [url], "requests made by the page")
        b.screenshot(os.path.join(BUILD, shot), most=2000)
    except BaseException:
        b.close()
        raise
    return b


def summary_cells(b):
    return b.js("Object.fromEntries([...document.querySelectorAll("
                "'#summary td[data-key]')].map(td => [td.dataset.key, "
                "td.textContent]))")


SUMMARY_LINES = (("Total", "Total:"), ("At t-gmax", "At t-gmax:"),
                 ("At t-end", "At t-end:"))


def report_line(text, line):
    """What follows LINE ("Total:") in report's text."""
    m = re.search("^%s +(.*)$" % re.escape(line), text, re.M)
    check(m, "no %r in report:\n%s" % (line, text[:500]))
    return m.group(1)


def check_summary_like_report(cells, text):
    """The page's summary (cells by row name) says what report's TEXT says."""
    for key, line in SUMMARY_LINES:
        check_eq(cells[key], report_line(text, line), "summary " + key)


@test
def view_shows_a_profile_in_chromium():
    fixture = os.path.join(FIXTURES, "view.json")
    html = os.path.join(WORK, "view.html")
    r = dhtrace(["view", fixture, "-o", html])
    check_eq((r.returncode, r.stderr), (0, ""), "dhtrace view")
    with open(html, encoding="utf-8") as f:
        page = f.read()
    # one script block of data, whose frame "</script><!--<script>" is
    # escaped; nothing to fetch
    check_eq(page.count("</script>"), 2, "script blocks ended")
    check(not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page),
          "the page refers to another file")
    want = json.loads(dhtrace(["report", fixture, "--json"]).stdout)
    text = dhtrace(["report", fixture]).stdout
    b = open_view(html, "view-profile.png")
    try:
        cells = summary_cells(b)
        check_summary_like_report(cells, text)
        check("%s B" % format(want["total"], ",") in cells["Total"], "total")
        check_eq(cells["Command"], want["cmd"], "command")
        check_eq(cells["PID"], str(want["pid"]), "pid")
        check_eq(cells["Duration"], "2,100,000 µs", "duration")
        check(cells["Sampling"].startswith("a block in every 524,288 bytes"),
              "sampling: " + cells["Sampling"])
        check_eq(cells["Overhead"], "798 probe hits (268 allocation entries, "
                 "268 returns, 262 releases; 0 single-stepped) in 2.100 s, 380 a "
                 "second; BPF 0.180 ms in 800 runs; traps 0.586 ms (0.78 µs an "
                 "emulated entry, 13.13 µs a single-stepped one, 0.63 µs a "
                 "return); the cost, 0.766 ms, is 1.5% of the target's 50.000 ms "
                 "of CPU: estimated slowdown +1.6%", "overhead")
        # the chart: a step per bucket, t-gmax and t-end marked, the
        # values of the bucket under the mouse
        with open(fixture) as f:
            tl = json.load(f)["dhtraceTimeline"]
        n = len(tl["t"])
        check_eq(b.js("document.querySelector('#chart .line').dataset.buckets"),
                 str(n), "buckets drawn")
        check_eq(b.js("document.querySelector('#chart .line').points.length"),
                 2 * n, "points of the line")
        check_eq(b.js("[...document.querySelectorAll('#chart .mark')].map("
                      "m => m.dataset.mark + '@' + m.dataset.t).join()"),
                 "t-gmax@%d,t-end@%d" % (want["t_gmax"], want["t_end"]),
                 "marks")
        box = b.js("(r => [r.left, r.top, r.width, r.height])(document."
                   "querySelector('#chart svg').getBoundingClientRect())")
        # bucket 2 (1,000,000-1,500,000 µs) of a 2,500,000 µs axis, with
        # the plot from x=80 to width-40
        x = box[0] + 80 + (box[2] - 120) * 1250000 / 2500000
        b.mouse("mouseMoved", x, box[1] + box[3] / 2)
        tip = b.js("document.getElementById('chart-tip').textContent")
        check(tip.startswith("1,000,000–1,500,000 µs: 2,200,000 B (2.1 MiB) "
                             "live at its end, highest 2,200,132 B (2.1 MiB)"),
              "chart tip: " + tip)
        # the flame graph: its root is the total; a click on a frame
        # zooms to it
        fl = b.js("Object.assign({}, document.getElementById('flame').dataset)")
        check_eq(fl["rootValue"], str(want["total"]), "flame graph root")
        q = b.js("dhtraceView.flameRect('handle_request (server.c:88)')")
        check(q, "no handle_request frame drawn")
        b.click(q["x"] + 5, q["y"] + q["h"] / 2)
        fl = b.js("Object.assign({}, document.getElementById('flame').dataset)")
        check_eq((fl["zoom"], fl["zoomValue"]),
                 ("handle_request (server.c:88)", "3300000"), "zoomed")
        # leaked bytes: the root is At t-end
        b.js("(s => { s.value = 'eb'; s.dispatchEvent(new Event('change')); })"
             "(document.getElementById('flame-metric'))")
        check_eq(b.js("document.getElementById('flame').dataset.rootValue"),
                 str(want["end"]), "flame graph of t-end")
        b.js("(s => { s.value = 'parse'; s.dispatchEvent(new Event('input')); })"
             "(document.getElementById('flame-search'))")
        check_eq(b.js("document.getElementById('flame-found').textContent"),
                 "1 frames match: 0 B (0.0%)", "search at t-end")
        # the table: every site, by total bytes; a row opens its stack
        rows = b.js("[...document.querySelectorAll('#sites tr.site')].map("
                    "tr => [...tr.cells].map(c => c.textContent))")
        check_eq(len(rows), want["matched"], "rows")
        check_eq([r[1] for r in rows],
                 [format(w["total"], ",") for w in want["rows"]], "totals")
        check_eq(rows[2][0], "render<'</script><!--<script>'> (page.c:7)  "
                 "(+1 frames)", "the frame with markup in it")
        b.js("document.querySelector('#sites tr.site').click()")
        check_eq(b.js("document.querySelector('#sites tr.stack').innerText"),
                 "0x501136: grow_cache (cache.c:42)\n0x501200: handle_request "
                 "(server.c:88)\n0x5012A0: main (server.c:120)", "stack")
        b.js("document.querySelectorAll('#sites th')[5].click()")
        check_eq(b.js("document.querySelector('#sites tr.site').cells[5]"
                      ".textContent"), "2,200,000", "sorted by t-gmax")
        check_eq(b.errors(), [], "JavaScript errors")
        b.screenshot(os.path.join(BUILD, "view-profile-zoomed.png"))
    finally:
        b.close()


@test
def view_shows_the_overhead_line_record_printed():
    # the page's overhead is the line dhtrace printed at the end of the
    # run, read back from the file and formatted by the same C code
    p, r = trace([prog("t_alloc")], "t_alloc-overhead")
    path = os.path.join(WORK, "t_alloc-overhead.dhtrace.json")
    lines = [l for l in r.stderr.splitlines()
             if l.startswith("dhtrace: overhead: ")]
    check_eq(len(lines), 1, "overhead lines in %r" % r.stderr)
    check("dhtraceOverhead" in p, "no dhtraceOverhead in the file")
    html = os.path.join(WORK, "view-overhead.html")
    v = dhtrace(["view", path, "-o", html])
    check_eq((v.returncode, v.stderr), (0, ""), "dhtrace view")
    b = open_view(html, "view-overhead.png")
    try:
        check_eq(summary_cells(b)["Overhead"],
                 lines[0][len("dhtrace: overhead: "):], "the page's overhead")
    finally:
        b.close()
    # a file whose overhead is not what dhtrace writes is refused, naming
    # the field
    p["dhtraceOverhead"]["wallNs"] = -1
    bad = os.path.join(WORK, "bad-overhead.json")
    with open(bad, "w") as f:
        json.dump(p, f)
    v = dhtrace(["view", bad, "-o", html])
    check_eq((v.returncode, v.stderr), (1, "dhtrace: %s: dhtraceOverhead.wallNs: "
                                        "missing, or not what dhtrace writes\n" % bad),
             "dhtrace view of a bad overhead")


def view_stacks(b):
    """Each row of the page's table: its title and its whole stack, as
    (frame, folded) pairs, opened and closed again by a click."""
    return b.js("[...document.querySelectorAll('#sites tr.site')].map(tr => {"
                " tr.click(); const st = tr.nextSibling; const r = ["
                " tr.cells[0].textContent, [...st.querySelectorAll('div')].map("
                " d => [d.textContent, d.classList.contains('folded')])];"
                " tr.click(); return r; })")


@test
def view_all_frames_shows_the_plumbing_in_chromium():
    # t_stl's vector grows through std::__new_allocator, allocator_traits,
    # _M_allocate and _M_realloc_insert from push_back: folded on the
    # page (greyed in the stack, not in the flame graph) unless
    # --all-frames
    path = deep_trace([prog("t_stl")], "view-t_stl")
    with open(path) as f:
        p = json.load(f)
    pp = max(p["pps"], key=lambda x: x["tbk"])   # push_back's 163 blocks
    stack = [p["ftbl"][i] for i in pp["fs"]]
    new_alloc = "std::__new_allocator<int>::allocate(unsigned long, void const*) (new_allocator.h:137)"
    push_back = "std::vector<int, std::allocator<int> >::push_back(int const&) (stl_vector.h:1287)"
    names = [re.sub(r"^0x[0-9A-Fa-f]+: ", "", f) for f in stack]   # as the page
    line = lambda text: source_line("t_stl.cc", text)
    check_eq(names[0], new_alloc, "the site's first frame")
    check_eq(names[4:7], [push_back, "build() (t_stl.cc:%d)" % line("m[key].push_back(j)"),
                          "main (t_stl.cc:%d)" % line("auto m = build()")],
             "the program's frames")
    check_eq(len(stack), 7, "frames of the site")
    for all_frames in (False, True):
        html = os.path.join(WORK, "view-t_stl%s.html" % ("-all" if all_frames else ""))
        r = dhtrace(["view", path, "-o", html] + (["--all-frames"] if all_frames else []))
        check_eq((r.returncode, r.stderr), (0, ""), "dhtrace view")
        b = open_view(html, "view-t_stl%s.png" % ("-all-frames" if all_frames else ""))
        try:
            rows = [r for r in view_stacks(b) if r[1] and r[1][0][0] == stack[0]]
            check_eq(len(rows), 1, "rows of the push_back site")
            title, shown = rows[0]
            want = [(f, not all_frames and not 5 <= i <= 6) for i, f in enumerate(stack)]
            check_eq([tuple(x) for x in shown], want, "the stack, folded frames marked")
            check_eq(title, (new_alloc + "  (+%d frames)" % (len(stack) - 1) if all_frames
                             else names[5] + "  (+1 frames)"), "the row's title")
            for name, drawn in ((new_alloc, all_frames), (push_back, all_frames),
                                (names[5], True), (names[6], True)):
                check_eq(bool(b.js("dhtraceView.flameRect(%s)" % json.dumps(name))),
                         drawn, "flame graph frame %s (--all-frames %s)" % (name, all_frames))
        finally:
            b.close()


def check_profile_page(b, path):
    """The page of the profile at PATH shows what report shows: the
    summary, a chart step per bucket with t-gmax and t-end marked, the
    total at the flame graph's root, every site in the table."""
    text = dhtrace(["report", path]).stdout
    want = json.loads(dhtrace(["report", path, "--json", "-n", "0"]).stdout)
    with open(path) as f:
        tl = json.load(f)["dhtraceTimeline"]
    check_summary_like_report(summary_cells(b), text)
    check_eq(b.js("document.querySelector('#chart .line').dataset.buckets"),
             str(len(tl["t"])), "buckets drawn")
    check_eq(b.js("[...document.querySelectorAll('#chart .mark')].map("
                  "m => m.dataset.mark + '@' + m.dataset.t).join()"),
             "t-gmax@%d,t-end@%d" % (want["t_gmax"], want["t_end"]), "marks")
    check_eq(b.js("document.getElementById('flame').dataset.rootValue"),
             str(want["total"]), "flame graph root")
    check_eq(b.js("document.getElementById('table-title').textContent"),
             "Call sites: %s" % format(want["matched"], ","), "table title")
    rows = b.js("[...document.querySelectorAll('#sites tr.site')].map("
                "tr => tr.cells[1].textContent)")
    check_eq(rows, [format(w["total"], ",") for w in want["rows"][:200]],
             "the table's totals")


def sqlite3_script(name, rows):
    """A SQL script of ROWS inserts, an index and a query."""
    script = os.path.join(WORK, name)
    with open(script, "w") as f:
        f.write("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);\nBEGIN;\n")
        for i in range(rows):
            f.write("INSERT INTO t(b) VALUES('row %d %s');\n" % (i, "y" * (i % 40)))
        f.write("COMMIT;\nCREATE INDEX t_b ON t(b);\n"
                "SELECT count(*), max(b) FROM t WHERE b LIKE 'row 1%';\n")
    return script


@test
def view_screenshots_of_real_runs():
    # build/view-sqlite3.png, view-rust.png and view-diff.png: the pages
    # of Debian's sqlite3 on a SQL script, of the Rust test program, and
    # of sqlite3 on 1,000 rows against 3,000
    runs = {}
    for name, cmd, stdin in (
            ("sqlite3", ["sqlite3", ":memory:"], sqlite3_script("view-1000.sql", 1000)),
            ("sqlite3-3000", ["sqlite3", ":memory:"], sqlite3_script("view-3000.sql", 3000)),
            ("rust", [prog("t_rust")], None)):
        trace(cmd, "view-" + name, stdin=stdin)
        runs[name] = os.path.join(WORK, "view-%s.dhtrace.json" % name)
    for name in ("sqlite3", "rust"):
        html = os.path.join(WORK, "view-%s.html" % name)
        r = dhtrace(["view", runs[name], "-o", html])
        check_eq((r.returncode, r.stderr), (0, ""), "dhtrace view " + name)
        b = open_view(html, "view-%s.png" % name)
        try:
            check_profile_page(b, runs[name])
            if name == "sqlite3":
                # libsqlite3's allocation function is static and stripped:
                # a row names the first frame that has a name too
                title = b.js("document.querySelector('#sites tr.site').cells[0].textContent")
                check(re.match(r"\?\?\? \(in .*libsqlite3[^)]*\) \u2190 sqlite3Malloc \(in "
                               r".*\)  \(\+\d+ frames\)$", title), "the top row: " + title)
        finally:
            b.close()
    base, new = runs["sqlite3"], runs["sqlite3-3000"]
    html = os.path.join(WORK, "view-diff-runs.html")
    r = dhtrace(["view", base, new, "-o", html])
    check_eq((r.returncode, r.stderr), (0, ""), "dhtrace view BASE NEW")
    want = json.loads(dhtrace(["diff", base, new, "-n", "0", "--json"]).stdout)
    b = open_view(html, "view-diff.png")
    try:
        rows = b.js("[...document.querySelectorAll('#summary tr')].map("
                    "tr => [...tr.cells].map(c => c.textContent))")
        total = [row for row in rows if row[0] == "Total"]
        check_eq(total[0][1:3], [report_line(dhtrace(["report", f]).stdout, "Total:")
                                 for f in (base, new)], "BASE's and NEW's totals")
        check_eq(b.js("document.getElementById('flame').dataset.rootValue"),
                 str(want["new"]["total"]), "flame graph of NEW")
        check_eq(b.js("document.getElementById('table-title').textContent"),
                 "What grew and what shrank: %s sites changed" %
                 format(len(want["sites"]), ","), "the diff's table")
        check(want["new"]["total"] > want["base"]["total"], "the runs differ: %r" % want)
    finally:
        b.close()


@test
def view_shows_a_diff_in_chromium():
    html = os.path.join(WORK, "view-diff.html")
    r = dhtrace(["view", os.path.join(FIXTURES, "base.json"),
                 os.path.join(FIXTURES, "new.json"), "-o", html])
    check_eq((r.returncode, r.stderr), (0, ""), "dhtrace view A B")
    want = json.loads(analyze(["diff", "base.json", "new.json", "-n", "0",
                               "--json"]).stdout)
    b = open_view(html, "view-diff-fixtures.png")
    try:
        rows = b.js("[...document.querySelectorAll('#sites tr.site')].map("
                    "tr => tr.cells[1].textContent)")
        check_eq(len(rows), len(want["sites"]), "rows of the diff")
        check_eq(b.js("document.getElementById('flame').dataset.rootValue"),
                 str(want["new"]["total"]), "flame graph of NEW")
    finally:
        b.close()


@test
def view_of_20000_sites_opens():
    big = os.path.join(WORK, "big-20k.json")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen-dhat.py"),
                    big, "5"], check=True)
    with open(big) as f:
        nsites = len(json.load(f)["pps"])
    html = os.path.join(WORK, "view-big.html")
    r = dhtrace(["view", big, "-o", html])
    check_eq((r.returncode, r.stderr), (0, ""), "dhtrace view")
    b = open_view(html, "view-big.png")
    try:
        check_eq(b.js("document.getElementById('table-title').textContent"),
                 "Call sites: %s" % format(nsites, ","), "sites")
        check(nsites >= 20000, "%d sites" % nsites)
    finally:
        b.close()


@test
def real_dh_view_html_shows_our_totals_in_chromium():
    mine, _ = trace([prog("t_alloc")], "t_alloc-chromium")
    path = os.path.join(WORK, "t_alloc-chromium.dhtrace.json")
    from browser import Browser
    b = Browser()
    try:
        b.open("file:///usr/libexec/valgrind/dh_view.html")
        b.set_file("input[type=file]", path)
        t = totals(mine)["total"]
        want = "Total:     %s bytes" % format(t[0], ",")
        b.wait_js("document.body.innerText.includes(%s)" % json.dumps(want))
        check("leak_one (t_alloc.c:" in b.js("document.body.innerText"),
              "no leak_one frame in the tree")
        check_eq(b.errors(), [], "errors in dh_view.html")
        b.screenshot(os.path.join(BUILD, "view-dh_view.png"))
    finally:
        b.close()

# --- what tracing costs --------------------------------------------------

def pairs_hits(n, extra=(), how=()):
    """t_pairs N [HOW] traced: (the JSON's overhead field, the overhead
    line's numbers, the profile, stderr)."""
    p, r = trace([prog("t_pairs"), str(n)] + list(how),
                 "pairs-%d" % n, extra)
    _, line = overhead_numbers(r.stderr)
    check_overhead_like_json(line, p["dhtraceOverhead"])
    return p["dhtraceOverhead"], line, p, r.stderr


@test
def probe_hits_are_counted_exactly():
    runs = {n: pairs_hits(n) for n in (1000, 3000)}
    for n, (o, _, p, _) in runs.items():
        blocks = totals(p)["total"][1]
        what = "t_pairs %d: " % n
        # one entry and one return per malloc, each one block
        check_eq(o["allocEntries"], blocks, what + "allocation entries")
        check_eq(o["returns"], blocks, what + "returns")
        check_eq(o["stepped"], 0, what + "single-stepped (glibc's are emulated)")
        check(o["bpfRuns"] >= o["allocEntries"] + o["returns"] + o["releases"],
              what + "fewer BPF runs than hits: %r" % o)
    a, b = runs[1000][0], runs[3000][0]
    # 2000 more rounds: a malloc, a free and a free(NULL) each
    check_eq(b["allocEntries"] - a["allocEntries"], 2000, "allocation entries")
    check_eq(b["returns"] - a["returns"], 2000, "returns")
    check_eq(b["releases"] - a["releases"], 4000, "releases")
    # the floor's program counts the same hits
    e = pairs_hits(3000, ["--empty-probes"])[0]
    check_eq([e[k] for k in ("allocEntries", "returns", "releases")],
             [b[k] for k in ("allocEntries", "returns", "releases")],
             "hits with --empty-probes")
    # glibc's reallocarray(NULL, ...) calls realloc, which calls malloc:
    # three entries and three returns a block, nested ones too, one of
    # them single-stepped when dhtrace says reallocarray's is
    ra = {n: pairs_hits(n, how=["reallocarray"]) for n in (1000, 3000)}
    a, b = ra[1000][0], ra[3000][0]
    blocks = totals(ra[3000][2])["total"][1] - totals(ra[1000][2])["total"][1]
    check_eq(blocks, 2000, "reallocarray blocks")
    check_eq(b["allocEntries"] - a["allocEntries"], 6000,
             "reallocarray allocation entries")
    check_eq(b["returns"] - a["returns"], 6000, "reallocarray returns")
    m = re.search(r"^dhtrace: probes single-stepped .*: (.*)$", ra[3000][3], re.M)
    stepped = 2000 if m and "reallocarray" in m.group(1) else 0
    check_eq(b["stepped"] - a["stepped"], stepped,
             "single-stepped entries (%s)" % (m and m.group(1)))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@test
def overhead_counts_the_cpu_of_the_traced_time_only():
    # -p on a process that has already run a while: the target's CPU time
    # in the overhead line is what it used while traced, not since it began
    busy = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    try:
        wait_for(lambda: cpu_seconds(busy.pid) >= 1.0, "a second of CPU")
        before = cpu_seconds(busy.pid)
        out = os.path.join(WORK, "busy.json")
        r = dhtrace(["-p", str(busy.pid), "-d", "1s", "-o", out])
        check_eq(r.returncode, 0, "dhtrace -p: " + r.stderr)
        used = cpu_seconds(busy.pid) - before
    finally:
        busy.kill()
        busy.wait()
    with open(out) as f:
        cpu = json.load(f)["dhtraceOverhead"]["targetCpuNs"] / 1e9
    check(0.3 < cpu <= used + 0.05,
          "target CPU %.2f s, %.2f s used while dhtrace ran" % (cpu, used))


@test
def overhead_estimate_is_reckoned_from_its_parts():
    o = pairs_hits(2000)[0]
    t = o["trapNs"]
    check(all(v > 0 for v in t.values()), "trap costs calibrated: %r" % t)
    for kind, cost in (("allocEntries", "emulated"), ("returns", "return"),
                       ("releases", "emulated")):
        # the cost per trap is written to 0.001 ns
        check(abs(o["trapsNs"][kind] - o[kind] * t[cost]) <= o[kind] * 0.0005 + 1,
              "%s traps %r = hits x calibrated cost %r" % (kind, o["trapsNs"], t))
    check_eq(o["costNs"], sum(o["trapsNs"].values()) + o["bpfNs"],
             "cost = traps + BPF")
    check(o["targetCpuNs"] > o["costNs"], "target CPU %r" % o)
    check(abs(o["costShare"] - o["costNs"] / o["targetCpuNs"]) < 0.0001,
          "cost share %r" % o)
    want = o["costNs"] / (o["targetCpuNs"] - o["costNs"])
    check(abs(o["slowdown"] - want) < 0.0001,
          "slowdown %r, want cost / (CPU - cost) = %r" % (o["slowdown"], want))
    check(abs(o["hitsPerSecond"] - (o["allocEntries"] + o["returns"] +
                                    o["releases"]) * 1e9 / o["wallNs"]) <= 1,
          "hits per second %r" % o)


@test
def output_name_takes_the_pid():
    out = os.path.join(WORK, "pid-%p.json")
    r = dhtrace(["-o", out, "--", "/bin/true"])
    check_eq(r.returncode, 0, "exit status")
    files = glob.glob(os.path.join(WORK, "pid-[0-9]*.json"))
    check_eq(len(files), 1, "files written")
    with open(files[0]) as f:
        p = json.load(f)
    check_eq(os.path.basename(files[0]), "pid-%d.json" % p["pid"], "file name")
    check(not glob.glob(os.path.join(WORK, "*.tmp*")) and
          not glob.glob(os.path.join(WORK, ".*")), "temporary files left")


@test
def max_frames_cuts_stacks():
    # The allocator's frame counts towards the limit, as in valgrind.
    p, _ = trace([prog("t_alloc")], "frames2", ["--max-frames", "2"])
    check_eq(sorted({len(pp["fs"]) for pp in p["pps"]}), [1], "frames per site")
    check_eq(totals(p)["total"], (5145, 14), "totals")
    p, _ = trace([prog("t_alloc")], "frames12")
    leak = [user_frames(p, pp) for pp in p["pps"]
            if user_frames(p, pp)[0].startswith("leak_one")]
    check_eq([[f.split(" ")[0] for f in fs] for fs in leak],
             [["leak_one", "main"]], "frames of the leak")


@test
def script_traces_its_interpreter():
    script = os.path.join(WORK, "script.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexec %s\n" % prog("t_peak"))
    os.chmod(script, 0o755)
    p, r = trace([script], "script")
    check_eq(r.returncode, 0, "exit status (%s)" % r.stderr.strip())
    sites = by_site(p)
    check_eq(sites.get(("site_b (t_peak.c:6)",), {}).get("tb"), 5000 + 3000,
             "bytes from t_peak's site_b after the exec")


@test
def command_exit_status_is_passed_on():
    r = dhtrace(["-o", os.path.join(WORK, "st.json"), "--", "sh", "-c", "exit 7"])
    check_eq(r.returncode, 7, "exit status")
    r = dhtrace(["-o", os.path.join(WORK, "st.json"), "--", "sh", "-c", "kill -TERM $$"])
    check_eq(r.returncode, 128 + signal.SIGTERM, "exit status when killed")


# --- pprof ------------------------------------------------------------------

PPROF_TYPES = ("alloc_objects/count alloc_space/bytes[dflt] inuse_objects/count "
               "inuse_space/bytes peak_objects/count peak_space/bytes")
PPROF_COLUMNS = ("tbk", "tb", "ebk", "eb", "gbk", "gb")


def go_pprof(args):
    """go tool pprof's output (Debian's golang-go); it wants a home and a
    build cache it can write."""
    env = dict(os.environ, HOME=WORK, GOCACHE=os.path.join(WORK, "gocache"),
               PPROF_TMPDIR=WORK)
    r = subprocess.run(["go", "tool", "pprof"] + args, capture_output=True,
                       text=True, timeout=120, env=env)
    check_eq(r.returncode, 0, "go tool pprof %s: exit status (%s)"
             % (" ".join(args), r.stderr.strip()))
    return r.stdout


RAW_LINE = re.compile(r"^(.*) (\S*):(-?\d+) s=\d+(?:\((.*)\))?$")


def pprof_raw(path):
    """go tool pprof -raw, unsymbolized and undemangled, parsed: comments,
    the sample types line, samples as (values, location ids, labels),
    locations by id as (address, mapping id, [(function, file, line)]) and
    mappings by id as the text after "ID: "."""
    text = go_pprof(["-raw", "-symbolize=none", path])
    raw = {"comments": [], "samples": [], "locations": {}, "mappings": {}}
    section, loc = None, None
    for line in text.splitlines():
        if line.startswith("Comment: "):
            raw["comments"].append(line[len("Comment: "):])
        elif line in ("Samples:", "Locations", "Mappings"):
            section = line
        elif section == "Samples:" and "types" not in raw:
            raw["types"] = line
        elif section == "Samples:" and line.startswith("                "):
            raw["samples"][-1][2].append(line.strip())
        elif section == "Samples:":
            values, ids = line.split(":")
            raw["samples"].append((tuple(int(v) for v in values.split()),
                                   [int(i) for i in ids.split()], []))
        elif section == "Locations":
            m = re.match(r"^\s*(\d+): (0x[0-9a-f]+) (?:M=(\d+) )?(.*)$", line)
            if m:
                loc = raw["locations"][int(m.group(1))] = (
                    int(m.group(2), 16), int(m.group(3) or 0), [])
                rest = m.group(4)
            else:
                rest = line.strip()
            if rest:
                lm = RAW_LINE.match(rest)
                check(lm, "-raw location line %r" % line)
                loc[2].append((lm.group(1), lm.group(2), int(lm.group(3))))
        elif section == "Mappings" and line:
            mid, rest = line.split(": ", 1)
            raw["mappings"][int(mid)] = rest
    return raw


def frame_parts(text):
    """A DHAT frame string as (address, function, file, line); the location
    is the last parenthesized part ("(in /obj)": no file), file:line or
    Rust's file:line:col."""
    addr, rest = text.split(": ", 1)
    fn, file, line = rest, "", 0
    if rest.endswith(")") and " (" in rest:
        fn, where = rest[:-1].rsplit(" (", 1)
        m = re.match(r"^(.*?):(\d+)(?::\d+)?$", where)
        if m and not where.startswith("in "):
            file, line = m.groups()
    return int(addr, 16), fn, file, int(line)


def json_stack(p, pp):
    """A program point's frames as pprof locations: runs of frames at one
    address (a frame seen again starts the next), each (address, lines),
    lines (function, file base name, line), "???" without a file none."""
    stack = []
    prev_ids = []
    for i in pp["fs"]:
        addr, fn, file, line = frame_parts(p["ftbl"][i])
        if not stack or stack[-1][0] != addr or i in prev_ids:
            stack.append((addr, []))
            prev_ids = []
        prev_ids.append(i)
        if fn != "???" or file:
            stack[-1][1].append((fn, file, line))
    return [(a, tuple(l)) for a, l in stack]


def pprof_stack(raw, ids):
    out = []
    for i in ids:
        addr, _, lines = raw["locations"][i]
        out.append((addr, tuple((fn, os.path.basename(f), ln)
                                for fn, f, ln in lines)))
    return out


def check_pprof_like_json(pb, p):
    """The pprof file holds the JSON's call sites: the same stacks with
    the same numbers, so the same totals per sample type; and what
    tracing cost."""
    raw = pprof_raw(pb)
    check_eq(raw["types"], PPROF_TYPES, "sample types")
    check_eq(raw["comments"][:2], ["cmd: " + p["cmd"], "pid: %d" % p["pid"]],
             "comments")
    check_eq(len(raw["comments"]), 3, "comments: %r" % raw["comments"])
    _, n = overhead_numbers("dhtrace: " + raw["comments"][2])
    check_overhead_like_json(n, p["dhtraceOverhead"])
    mine = sorted((vals, pprof_stack(raw, ids)) for vals, ids, _ in raw["samples"])
    theirs = sorted((tuple(pp[c] for c in PPROF_COLUMNS), json_stack(p, pp))
                    for pp in p["pps"])
    check_eq(mine, theirs, "samples (values, locations)")
    for col, vals in zip(PPROF_COLUMNS, zip(*(s[0] for s in raw["samples"]))):
        check_eq(sum(vals), sum(pp[col] for pp in p["pps"]), "total " + col)
    for vals, _, labels in raw["samples"]:
        want = ["bytes:[%d]" % (vals[1] // vals[0])] if vals[0] else []
        check_eq(labels, want, "labels of a sample with %r" % (vals,))
    for addr, mid, _ in raw["locations"].values():
        check(mid in raw["mappings"], "location 0x%x: mapping %d" % (addr, mid))
    return raw


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    check(m, "readelf -n %s shows no build id" % path)
    return m.group(1)


def trace_both(cmd, name, extra=()):
    """dhtrace --format dhat,pprof: (JSON profile, pprof path, stderr)."""
    base = os.path.join(WORK, name)
    with open(os.devnull) as f:
        r = dhtrace(["--format", "dhat,pprof", "-o", base] + list(extra) + ["--"]
                    + cmd, stdin=f)
    check_eq(r.returncode, 0, "exit status (%s)" % r.stderr.strip())
    check(re.search(r"^dhtrace: The data has been saved to %s\.json," % re.escape(base),
                    r.stderr, re.M), "no line naming the JSON: " + r.stderr)
    check(re.search(r"^dhtrace: The pprof profile has been saved to %s\.pb\.gz,"
                    % re.escape(base), r.stderr, re.M),
          "no line naming the pprof file: " + r.stderr)
    with open(base + ".json") as f:
        return json.load(f), base + ".pb.gz", r.stderr


@test
def pprof_writer_sample_reads_in_go_pprof():
    # The unit test's hand-built profile, every field dumped by pprof.
    path = os.path.join(WORK, "sample.pb.gz")
    subprocess.run([os.path.join(BUILD, "tests", "test_pprof"), "--write", path],
                   check=True)
    check_eq(go_pprof(["-raw", path]), """\
Comment: cmd: /opt/app/bin/app --flag
Comment: pid: 4242
PeriodType: space bytes
Period: 1
Time: 2023-11-14 22:13:20.123456789 +0000 UTC
Duration: 2.5s
Samples:
%s
          4       1000          1        250          2        500: 1 2 
                bytes:[250]
          1         64          0          0          1         64: 2 
                bytes:[64]
          3         30          0          0          0          0: 3 4 2 
                bytes:[10]
Locations
     1: 0x401050 M=1 grab /src/app.c:5 s=0
             leaf(int) /src/app.c:12 s=0(_Z4leafi)
     2: 0x401100 M=1 main /src/app.c:20 s=0
     3: 0x401200 M=1 
     4: 0x7f0000001234 M=2 qsort_r msort.c:297 s=0
Mappings
1: 0x401000/0x402000/0x1000 /opt/app/bin/app 0123456789abcdef0123456789abcdef01234567 [FN][FL][LN][IN]
2: 0x7f0000001000/0x7f0000100000/0x1000 /lib/libc.so.6  [FN][FL][LN][IN]
""" % PPROF_TYPES, "go tool pprof -raw")


@test
def pprof_of_a_run_equals_its_json():
    # --all-frames: every frame of the JSON, the plumbing too
    exe = os.path.realpath(prog("t_alloc"))
    p, pb, _ = trace_both([exe], "both-t_alloc", ["--all-frames"])
    raw = check_pprof_like_json(pb, p)
    check_eq(raw["mappings"][1].split(" ")[1:],
             [exe, build_id(exe), "[FN][FL][LN][IN]"], "first mapping")
    # Callers' addresses are the calls (return address - 1): the JSON's,
    # and main's lines are the lines of the calls.
    lines = {l for _, _, ls in raw["locations"].values() for l in ls}
    check(("leak_one", os.path.join(ROOT, "tests/progs/t_alloc.c"), 10) in lines,
          "no leak_one line with its path: %s" % sorted(lines))


def pprof_top(path, index):
    """-top in bytes: {function: (flat, cum)}."""
    out = go_pprof(["-top", "-unit=B", "-sample_index=" + index, path])
    rows = {}
    for m in re.finditer(r"^\s*(\d+)B?\s+\S+%\s+\S+%\s+(\d+)B?\s+\S+%\s+(.*)$",
                         out, re.M):
        rows[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    return rows, out


@test
def pprof_top_traces_and_sample_index():
    p, pb, _ = trace_both([prog("t_alloc")], "top-t_alloc")
    t = totals(p)
    leak = [pp for pp in p["pps"]
            if frame_parts(p["ftbl"][pp["fs"][0]])[1] == "leak_one"]
    check_eq(len(leak), 1, "leak_one sites")
    leak = leak[0]
    for index, col, total in (("alloc_space", "tb", t["total"][0]),
                              ("peak_space", "gb", t["gmax"][0]),
                              ("inuse_space", "eb", t["end"][0])):
        rows, out = pprof_top(pb, index)
        check("Type: %s\n" % index in out, "-top type line:\n" + out)
        check("Total samples = %dB" % total in out, "-top total:\n" + out)
        want = {"main": (total - leak[col], total), "leak_one": (leak[col], leak[col])}
        want = {k: v for k, v in want.items() if v != (0, 0)}
        check_eq({k: v for k, v in rows.items() if v != (0, 0)}, want,
                 "-top -sample_index=%s rows" % index)
    # the default is alloc_space
    rows, out = pprof_top(pb, "alloc_space")
    check_eq(go_pprof(["-top", "-unit=B", pb]).split("Type:")[1],
             out.split("Type:")[1], "-top without -sample_index")
    traces = go_pprof(["-traces", "-unit=B", "-sample_index=inuse_space", pb])
    check("     bytes:  200B\n      200B   leak_one\n             main\n" in traces,
          "-traces has no leak_one <- main trace of 200 bytes:\n" + traces)


@test
def pprof_inlined_calls_are_one_location():
    # -O2: push_back and vector's internals inlined into main; all frames,
    # for the inlined calls of the standard library are plumbing.
    p, pb, _ = trace_both([nofp("t_cxx")], "inline-t_cxx", ["--all-frames"])
    raw = check_pprof_like_json(pb, p)
    src = os.path.join(ROOT, "tests/progs/t_cxx.cc")
    with open(src) as f:
        line = 1 + [i for i, l in enumerate(f) if "v.push_back(i)" in l][0]
    inl = [ls for _, _, ls in raw["locations"].values()
           if len(ls) > 1 and ls[-1] == ("main", src, line)]
    check_eq(len(inl), 1, "locations ending in main at t_cxx.cc:%d" % line)
    check_eq(inl[0][-2][:2], ("push_back", "/usr/include/c++/12/bits/stl_vector.h"),
             "the call inlined into main")
    top = go_pprof(["-top", pb])
    check(re.search(r"^.* push_back \(inline\)$", top, re.M),
          "-top does not show push_back as inlined:\n" + top)
    exe = os.path.realpath(nofp("t_cxx"))
    check_eq(raw["mappings"][1].split(" ")[1:3], [exe, build_id(exe)], "first mapping")
    libs = [m.split(" ") for m in raw["mappings"].values()]
    libstdcxx = [m for m in libs if "libstdc++" in m[1]]
    check(libstdcxx and libstdcxx[0][2] == build_id(libstdcxx[0][1]),
          "libstdc++'s mapping and build id: %s" % libs)


@test
def output_names_follow_format_and_extension():
    d = os.path.join(WORK, "names")
    os.makedirs(d)

    def run(args):
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        r = dhtrace(args + ["--", "/bin/true"], cwd=d)
        check_eq(r.returncode, 0, "%s: exit status (%s)" % (args, r.stderr.strip()))
        return sorted(os.listdir(d))

    check_eq(run([]), ["dhat-heap.json"], "default")
    check_eq(run(["-o", "x.pb.gz"]), ["x.pb.gz"], "-o x.pb.gz")
    check_eq(run(["-o", "x.out"]), ["x.out"], "-o x.out")
    check_eq(run(["--format", "pprof"]), ["dhat-heap.pb.gz"], "--format pprof")
    check_eq(run(["-f", "pprof", "-o", "p.out"]), ["p.out"], "--format pprof -o p.out")
    check_eq(run(["--format", "dhat,pprof"]), ["dhat-heap.json", "dhat-heap.pb.gz"],
             "--format dhat,pprof")
    for o in ("base", "base.json", "base.pb.gz"):
        check_eq(run(["--format", "pprof,dhat", "-o", o]), ["base.json", "base.pb.gz"],
                 "--format pprof,dhat -o " + o)
    files = run(["--format", "dhat,pprof", "-o", "pid-%p"])
    pids = {f.split(".")[0] for f in files}
    check_eq(len(pids), 1, "files %s" % files)
    with open(os.path.join(d, files[1]), "rb") as f:
        check_eq(f.read(2), b"\x1f\x8b", "gzip magic")
    with open(os.path.join(d, files[0])) as f:
        check_eq("pid-%d" % json.load(f)["pid"], pids.pop(), "file names")


# --- following a live process ---------------------------------------------

def start_loop(iters, *mode):
    p = subprocess.Popen([prog("t_loop"), str(iters)] + list(mode),
                         stdout=subprocess.PIPE, text=True)
    check_eq(p.stdout.readline().strip(), "ready", "target's first line")
    return p


def check_loop_profile(p, stderr):
    """t_loop's rounds allocate 100 (freed) and 16 (leaked) bytes each."""
    sizes = {}
    pps = []
    for x in p["pps"]:
        # A thread's start allocates too (its TLS); count the rounds' sites.
        if not any("round_of (t_loop.c:" in p["ftbl"][f] for f in x["fs"]):
            continue
        pps.append(x)
        for size in (100, 16):
            if x["tbk"] and x["tb"] == size * x["tbk"]:
                sizes[size] = sizes.get(size, 0) + x["tbk"]
    tb, tbk = sum(x["tb"] for x in pps), sum(x["tbk"] for x in pps)
    a, b = sizes.get(100, 0), sizes.get(16, 0)
    check(b > 0 and abs(a - b) <= 1, "rounds seen: %d x 100, %d x 16; stderr %r; frames %r"
          % (a, b, stderr, p["ftbl"][:8]))
    check_eq((tb, tbk), (100 * a + 16 * b, a + b), "totals")
    eb = sum(x["eb"] for x in pps)
    check(eb in (16 * b, 16 * b + 100), "end bytes %d for %d leaks" % (eb, b))
    m = re.search(r"before tracing.*: ([\d,]+)$", stderr, re.M)
    check(m and int(m.group(1).replace(",", "")) > 0,
          "no line for frees of blocks from before the attach: " + stderr)


@test
def attach_for_a_duration_then_detach():
    target = start_loop(300)
    out = os.path.join(WORK, "attach.json")
    r = dhtrace(["-p", str(target.pid), "-d", "1s", "-o", out])
    check_eq(r.returncode, 0, "dhtrace exit status (%s)" % r.stderr.strip())
    rest = target.stdout.read()
    check_eq(target.wait(), 0, "target's exit status after detach")
    check_eq(rest.strip(), "done 300", "target's output")
    with open(out) as f:
        p = json.load(f)
    check_loop_profile(p, r.stderr)


@test
def attach_sees_threads_created_later():
    target = start_loop(200, "threads")
    out = os.path.join(WORK, "attach-threads.json")
    r = dhtrace(["-p", str(target.pid), "-d", "1s", "-o", out])
    check_eq(r.returncode, 0, "dhtrace exit status (%s)" % r.stderr.strip())
    check_eq(target.stdout.read().strip(), "done 200", "target's output")
    check_eq(target.wait(), 0, "target's exit status after detach")
    with open(out) as f:
        p = json.load(f)
    check_loop_profile(p, r.stderr)


@test
def attach_until_the_process_exits():
    target = start_loop(60)
    out = os.path.join(WORK, "attach-exit.json")
    r = dhtrace(["-p", str(target.pid), "-d", "60s", "-o", out])
    check_eq(target.wait(), 0, "target's exit status")
    check_eq(r.returncode, 0, "dhtrace exit status (%s)" % r.stderr.strip())
    with open(out) as f:
        p = json.load(f)
    check(p["te"] < 30 * 1000 * 1000, "trace ended with the process")
    check_loop_profile(p, r.stderr)


def check_attach_to(cmd, name, when_ready=lambda: None):
    """Attach to t_loop (threads mode) started by @cmd, whose binary is
    not where its /proc/PID/maps says in our view of the files. Its
    rounds are found by their symbols, and every stack unwinds to its
    end through the binary's CFI."""
    target = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    check_eq(target.stdout.readline().strip(), "ready", "target's first line")
    when_ready()
    out = os.path.join(WORK, name + ".json")
    r = dhtrace(["-p", str(target.pid), "-d", "1s", "-o", out])
    check_eq(r.returncode, 0, "dhtrace exit status (%s)" % r.stderr.strip())
    target.stdout.read()
    check_eq(target.wait(), 0, "target's exit status")
    with open(out) as f:
        check_loop_profile(json.load(f), r.stderr)
    m = re.search(r"^dhtrace: stacks: ([\d,]+) complete, (.*)$", r.stderr, re.M)
    check(m and not re.search(r"[1-9]", m.group(2)),
          "stacks that did not end cleanly: " + r.stderr)


@test
def attach_to_a_deleted_binary():
    # Read through /proc/PID/map_files while the process maps it.
    exe = os.path.join(WORK, "deleted-t_loop")
    shutil.copy(prog("t_loop"), exe)
    check_attach_to([exe, "300", "threads"], "deleted", lambda: os.unlink(exe))


@test
def attach_into_another_mount_namespace():
    # The binary lives on a tmpfs mounted in the target's namespace only:
    # read through /proc/PID/root.
    hidden = os.path.join(WORK, "ns")
    os.makedirs(hidden, exist_ok=True)
    script = ('mount -t tmpfs tmpfs "$1" && cp "$2" "$1/t_loop" && '
              'exec "$1/t_loop" 300 threads')
    check_attach_to(["unshare", "--mount", "--propagation", "private",
                     "sh", "-c", script, "sh", hidden, prog("t_loop")],
                    "mount-ns")
    check_eq(os.listdir(hidden), [], "the tmpfs seen from outside")


@test
def ctrl_c_while_attached_writes_the_profile():
    target = start_loop(500)
    out = os.path.join(WORK, "attach-int.json")
    d = subprocess.Popen([DHTRACE, "-p", str(target.pid), "-o", out],
                         stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    d.send_signal(signal.SIGINT)
    stderr = d.communicate(timeout=60)[1]
    check_eq(d.returncode, 0, "dhtrace exit status (%s)" % stderr.strip())
    check_eq(target.wait(), 0, "target's exit status")
    with open(out) as f:
        p = json.load(f)
    check_loop_profile(p, stderr)


@test
def ctrl_c_in_command_mode_goes_to_the_command():
    out = os.path.join(WORK, "cmd-int.json")
    # A new session stands in for the terminal: Ctrl-C signals the whole
    # foreground process group, dhtrace and the command alike.
    d = subprocess.Popen([DHTRACE, "-o", out, "--", prog("t_loop"), "100000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    check_eq(d.stdout.readline().strip(), "ready", "command's first line")
    time.sleep(0.5)
    os.killpg(d.pid, signal.SIGINT)
    stderr = d.communicate(timeout=60)[1]
    check_eq(d.returncode, 128 + signal.SIGINT, "dhtrace exit status")
    with open(out) as f:
        p = json.load(f)
    check(totals(p)["total"][1] >= 400, "blocks seen before Ctrl-C")
    check_eq(summary_numbers(stderr), totals(p), "summary lines")


# --- snapshots and the status line ------------------------------------------

def temp_files(d):
    """Outputs being written in d (NAME.XXXXXX until renamed)."""
    return [f for f in os.listdir(d) if re.search(r"\.json\.\w{6}$", f)]


def stderr_until(proc, pred, what, most=500):
    """Lines of proc's stderr up to the first for which pred() holds."""
    lines = []
    while not lines or not pred(lines[-1]):
        check(len(lines) < most, "%s: %r" % (what, lines[-8:]))
        line = proc.stderr.readline()
        check(line, "%s: stderr ended: %r" % (what, lines[-8:]))
        lines.append(line)
    return lines


@test
def kill_9_leaves_the_last_snapshot():
    spin = start_spin("60")
    try:
        d = tempfile.mkdtemp(prefix="snap-kill-", dir=WORK)
        out = os.path.join(d, "x.json")
        t = subprocess.Popen([DHTRACE, "-p", str(spin.pid), "--snapshot-every",
                              "1s", "-o", out], stderr=subprocess.DEVNULL)

        def second_snapshot():
            check(t.poll() is None, "dhtrace ended (%s)" % t.returncode)
            if not os.path.exists(out):
                return False
            with open(out) as f:
                return json.load(f)["te"] > 1500 * 1000
        try:
            wait_for(second_snapshot, "no second snapshot after 20 s")
        finally:
            t.kill()
            t.wait()
        # A snapshot being written still lands; then the probes are gone.
        wait_for(lambda: not temp_files(d), "a snapshot left half written")
        wait_for(lambda: not has_int3(spin.pid), "probes left in malloc")
        check_eq(spin.poll(), None, "t_spin after dhtrace was killed")
        check_eq(os.listdir(d), ["x.json"], "files")
        with open(out) as f:
            p = json.load(f)
        check_eq((p["pid"], p["cmd"]), (spin.pid, prog("t_spin") + " 60"), "pid and cmd")
        seen = totals(p)
        rounds = seen["total"][1]
        # One 64-byte round a millisecond at most, each freed at once.
        check(0 < rounds <= p["te"] // 1000 + 1 and seen["total"][0] == 64 * rounds,
              "t_spin's rounds in %d µs: %s" % (p["te"], seen))
        check_eq(seen["gmax"], (64, 1), "peak")
        check(seen["end"] in ((0, 0), (64, 1)), "live at the snapshot: %s" % (seen["end"],))
        r = analyze(["report", out])
        check_eq(r.returncode, 0, "report's exit status (%s)" % r.stderr.strip())
        check(re.search(r"^Total: .* in %s blocks$" % re.escape("{:,}".format(rounds)),
                        r.stdout, re.M), "report's total: " + r.stdout[:300])
    finally:
        spin.kill()
        spin.wait()


HOLD_HELD = {"total": (5000, 50), "gmax": (5000, 50), "end": (5000, 50)}
HOLD_FINAL = {"total": (5000, 50), "gmax": (5000, 50), "end": (0, 0)}


def start_hold(out, extra=(), **kw):
    """dhtrace -o out -- t_hold 50, once the 50 blocks are held."""
    t = subprocess.Popen([DHTRACE, "-o", out] + list(extra) + ["--", prog("t_hold"), "50"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, **kw)
    check_eq(t.stdout.readline().strip(), "held 50", "t_hold's first line")
    return t


@test
def sigusr1_writes_a_snapshot():
    out = os.path.join(WORK, "usr1.json")
    t = start_hold(out, stderr=subprocess.PIPE)
    t.send_signal(signal.SIGUSR1)
    lines = stderr_until(t, lambda l: l.startswith("dhtrace: snapshot"),
                         "no word of the snapshot")
    check_eq(lines[-1], "dhtrace: snapshot written (SIGUSR1): 1 process\n", "the word")
    with open(out) as f:
        snap = json.load(f)
    stderr = t.communicate("", timeout=60)[1]
    check_eq(t.returncode, 0, "exit status (%s)" % stderr.strip())
    with open(out) as f:
        final = json.load(f)
    check_eq(totals(snap), HOLD_HELD, "the snapshot")
    check_eq(totals(final), HOLD_FINAL, "the final profile")
    check_eq(summary_numbers(stderr), HOLD_FINAL, "the summary")
    check_eq(sorted(snap), sorted(final), "fields")
    check_eq(snap["tg"], final["tg"], "t-gmax: the last malloc, in both")
    check(snap["te"] < final["te"], "t-end: %d, then %d" % (snap["te"], final["te"]))
    check_eq([(x["tb"], x["tbk"], x["fs"]) for x in snap["pps"]],
             [(x["tb"], x["tbk"], x["fs"]) for x in final["pps"]], "program points")
    check_eq(snap["ftbl"], final["ftbl"], "frames")


def check_series_to_te(p, what):
    """p's series runs to t-end: its last bucket is the one t-end is in."""
    tl = p["dhtraceTimeline"]
    check_eq(len(tl["t"]), p["te"] // tl["bucketUs"] + 1,
             "%s: buckets to t-end %d µs of %d µs" % (what, p["te"], tl["bucketUs"]))
    return tl


@test
def snapshot_series_runs_to_the_snapshot():
    # t_hold mallocs its 50 blocks of 100 bytes at once, then waits with
    # no event for 2 s: a snapshot's series still runs to its t-end, the
    # buckets after the last malloc holding those 5,000 bytes
    out = os.path.join(WORK, "snap-series.json")
    t = start_hold(out, ["--snapshot-every", "500ms"], stderr=subprocess.PIPE)
    snaps = []
    try:
        def late_snapshot():
            if not os.path.exists(out):
                return False
            with open(out) as f:
                snaps.append(json.load(f))
            return snaps[-1]["te"] >= snaps[-1]["tg"] + 2000000
        wait_for(late_snapshot, "no snapshot 2 s after the mallocs")
    finally:
        stderr = t.communicate("", timeout=60)[1]
    check_eq(t.returncode, 0, "exit status (%s)" % stderr.strip())
    snap = snaps[-1]
    check_eq(totals(snap), HOLD_HELD, "the snapshot")
    tl = check_series_to_te(snap, "the snapshot")
    last = snap["tg"] // tl["bucketUs"]   # the bucket of the last malloc
    check(len(tl["t"]) - last > 2000000 // tl["bucketUs"] - 1,
          "buckets after the last malloc: %d" % (len(tl["t"]) - last))
    check_eq(max(tl["bytesMax"]), 5000, "the highest bytes")
    check_eq((tl["bytesLast"][-1], tl["blocksLast"][-1]), (5000, 50), "the last point")
    check_eq((sum(tl["allocs"]), sum(tl["frees"])), (50, 0), "allocations and frees")
    held = [(tl[k][i] for k in ("bytesMin", "bytesMax", "bytesLast", "blocksMin",
                                "blocksMax", "blocksLast", "allocs", "frees"))
            for i in range(last + 1, len(tl["t"]))]
    check_eq(set(tuple(h) for h in held), {(5000, 5000, 5000, 50, 50, 50, 0, 0)},
             "the buckets after the last malloc")
    with open(out) as f:
        final = json.load(f)
    check_eq(totals(final), HOLD_FINAL, "the final profile")
    tl = check_series_to_te(final, "the final profile")
    check_eq((tl["bytesLast"][-1], sum(tl["frees"])), (0, 50), "the final series' end")


STATUS = re.compile(r"^dhtrace: (\d+\.\d)s  ([\d,]+) events/s  live (\d+(?:\.\d)? "
                    r"(?:B|[KMGTPE]iB)) in ([\d,]+) blocks  peak (\d+(?:\.\d)? "
                    r"(?:B|[KMGTPE]iB))  lost ([\d,]+)$")


def number(s):
    return int(s.replace(",", ""))


@test
def status_line_every_interval():
    out = os.path.join(WORK, "status.json")
    t = start_hold(out, ["--interval", "100ms"], stderr=subprocess.PIPE)
    lines = stderr_until(t, lambda l: " in 50 blocks " in l,
                         "no status line with the 50 blocks held")
    stderr = "".join(lines) + t.communicate("", timeout=60)[1]
    check_eq(t.returncode, 0, "exit status (%s)" % stderr.strip())
    check("\r" not in stderr and "\x1b" not in stderr, "in place on a pipe: %r" % stderr[:200])
    status = stderr.split("dhtrace: Total:")[0].splitlines()
    parsed = []
    for line in status:
        m = STATUS.match(line)
        check(m, "not a status line: %r" % line)
        parsed.append(m.groups())
    times = [float(g[0]) for g in parsed]
    check(times == sorted(times) and len(set(times)) == len(times),
          "elapsed times: %r" % times)
    held = [g for g in parsed if number(g[3]) == 50]
    check_eq(held[0][2:], ("4.9 KiB", "50", "4.9 KiB", "0"), "while 50 blocks are held")
    check(all(number(g[3]) <= 50 and g[5] == "0" for g in parsed), "blocks and losses: %r" % parsed)
    upto = parsed[:parsed.index(held[0]) + 1]
    check(any(number(g[1]) > 0 for g in upto), "no events/s till the blocks: %r" % upto)


def read_pty(fd, until=None):
    """What the terminal at master fd shows, up to `until` or its end."""
    got = b""
    while until is None or until not in got:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    return got.decode()


def hold_on_a_terminal(env):
    """What t_hold's trace shows on a terminal (its stderr): up to a status
    line with the 50 blocks held, then to the end."""
    import pty
    master, slave = pty.openpty()
    try:
        try:
            t = start_hold(os.path.join(WORK, "status-tty.json"),
                           stderr=slave, env=env)
        finally:
            os.close(slave)
        shown = read_pty(master, b" in 50 blocks ")
        t.stdin.close()
        t.stdout.close()
        shown += read_pty(master)
    finally:
        os.close(master)
    check_eq(t.wait(timeout=60), 0, "exit status")
    return shown


@test
def status_line_in_place_on_a_terminal():
    # On by default on a terminal.
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    for no_color in (False, True):
        if no_color:
            env["NO_COLOR"] = "1"
        shown = hold_on_a_terminal(env)
        draws = re.findall(r"\r(dhtrace: [^\r\n\x1b]*)", shown)
        check(draws, "nothing drawn: %r" % shown[:300])
        held = [d for d in draws if " in 50 blocks " in d]
        check(held and STATUS.match(held[0].rstrip(" ")), "draws: %r" % draws)
        if no_color:
            check("\x1b" not in shown, "escapes with NO_COLOR: %r" % shown[:300])
        else:
            check("\r" + held[0] + "\x1b[K" in shown, "cleared to the end: %r" % shown[:300])
            check("\r\x1b[Kdhtrace: Total:" in shown, "cleared before the summary: %r" % shown[-600:])


# --- following children: fork, vfork, exec ----------------------------------

EXEC_TARGET_TOTALS = {"total": (3000, 3), "gmax": (3000, 3), "end": (2000, 2)}


def check_process_like_valgrind(mine, theirs, what, depth=2):
    """One process: totals and call sites (`depth` frames) equal."""
    t_mine, t_theirs = totals(mine), totals(theirs)
    for k in ("total", "gmax", "end"):
        check_eq(t_mine[k], t_theirs[k], "%s: %s (bytes, blocks)" % (what, k))
    compare_sites(by_site(mine, depth), by_site(theirs, depth), what + ": call sites")


def check_processes_like_valgrind(mine, theirs, what):
    """by_role() dicts: the same processes, each with valgrind's numbers."""
    check_eq(sorted(mine), sorted(theirs), what + ": processes (role, cmd)")
    for key in sorted(theirs):
        try:
            check_process_like_valgrind(mine[key], theirs[key], "%s %r" % key)
        except Fail as e:
            raise Fail("%s: %s" % (what, e))


@test
def fork_exec_children_like_valgrind():
    # t_fork: the parent, a fork()ed child (a copy of the parent's heap at
    # the fork, its peak included), a fork() child's exec'd image (starts
    # from nothing; the 555 bytes of the image before the exec are no one's)
    # and a posix_spawn()ed one (clone(CLONE_VM|CLONE_VFORK) then exec).
    for exe in (prog("t_fork"), nofp("t_fork")):
        target = os.path.join(os.path.dirname(exe), "t_exec_target")
        own, others, r = trace_children([exe], "fork-" + os.path.basename(
            os.path.dirname(exe)))
        check_eq(r.returncode, 0, "%s: exit status (%s)" % (exe, r.stderr.strip()))
        mine = by_role(own, others)
        check_eq(sorted(mine), sorted([("child", exe), ("child", target + " exec"),
                                       ("child", target + " spawn"), ("command", exe)]),
                 exe + ": processes (role, cmd)")
        check_processes_like_valgrind(mine, valgrind_children([exe], "fork"), exe)
        check_eq(totals(mine[("child", target + " exec")]), EXEC_TARGET_TOTALS,
                 "the exec'd image's totals")


@test
def fail_if_on_the_recording_gates_each_process():
    # --fail-if on record: exit 1 once a process's numbers meet the
    # condition, its profile written all the same; each process of a
    # tree is checked on its own (t_fork: the parent and its forked child
    # peak at 5,915 bytes, the exec'd and spawned images at 3,000).
    own, others, r = trace_children([prog("t_fork")], "gate-fork",
                                    ["--fail-if", "peak>4000"])
    check_eq(r.returncode, 1, "exit status (%s)" % r.stderr.strip())
    failed = sorted(int(m) for m in re.findall(
        r"^dhtrace: gate failed: PID (\d+) \(.*\): peak>4000: 5,915$", r.stderr, re.M))
    check_eq(failed, sorted([own["pid"]] + [p["pid"] for p in others.values()
                                            if totals(p)["gmax"][0] == 5915]),
             "the processes that failed: " + r.stderr)
    check_eq(len(others), 3, "profiles of the children")
    own, others, r = trace_children([prog("t_fork")], "gate-fork-pass",
                                    ["--fail-if", "peak>1MiB", "--fail-if", "end_blocks>100"])
    check_eq((r.returncode, "gate failed" in r.stderr), (0, False),
             "a condition no process meets: " + r.stderr)
    r = dhtrace(["--fail-if", "peak>+5%", "--", "true"])
    check_eq((r.returncode, r.stderr.strip()),
             (2, "dhtrace: --fail-if 'peak>+5%': a change (+ or -) needs "
                 "dhtrace diff BASE NEW"), "a relative condition")


def check_solo_totals(p, exe, what):
    """A child's profile has the numbers of `exe` traced alone."""
    alone, _ = trace([exe], "alone-" + os.path.basename(exe))
    check_eq(totals(p), totals(alone), what + ": totals")
    check_eq(by_site(p, 2), by_site(alone, 2), what + ": call sites")


T_ALLOC_TOTALS = {"total": (5145, 14), "gmax": (4200, 2), "end": (200, 1)}
# t_peak.c: 10 x 1000 + 5000 + 300, realloc to 3000 and 600 (one block each)
T_PEAK_TOTALS = {"total": (18900, 14), "gmax": (15000, 11), "end": (3000, 1)}


@test
def shell_runs_two_programs():
    a, b = prog("t_alloc"), prog("t_peak")
    script = "%s; %s; exit 3" % (a, b)
    own, others, r = trace_children(["sh", "-c", script], "sh-two")
    check_eq(r.returncode, 3, "exit status (%s)" % r.stderr.strip())
    check_eq(own["cmd"], "sh -c " + script, "the shell's own profile")
    kids = by_role(None, others)
    check_eq(sorted(kids), [("child", a), ("child", b)], "children (role, cmd)")
    check_eq(totals(kids[("child", a)]), T_ALLOC_TOTALS, "t_alloc's totals")
    check_eq(totals(kids[("child", b)]), T_PEAK_TOTALS, "t_peak's totals")
    check_solo_totals(kids[("child", a)], a, "t_alloc")
    check_solo_totals(kids[("child", b)], b, "t_peak")
    # The shell exec'ing the last one: the command's file is that image's,
    # the shell's own heap before the exec in no file.
    own, others, r = trace_children(["sh", "-c", "%s; exec %s" % (a, b)], "sh-exec")
    check_eq(r.returncode, 0, "exit status (%s)" % r.stderr.strip())
    check_eq(sorted(by_role(own, others)), [("child", a), ("command", b)],
             "processes (role, cmd) with exec")
    check_eq(totals(own), T_PEAK_TOTALS, "t_peak exec'd by the shell: totals")
    check_solo_totals(own, b, "t_peak exec'd by the shell")
    check_eq(totals(list(others.values())[0]), T_ALLOC_TOTALS, "t_alloc's totals")


@test
def make_runs_two_programs():
    # GNU make runs a line without shell syntax itself, through posix_spawn
    # (a vfork-style clone) or fork, then exec: no shell in between.
    check(shutil.which("make"), "make is not installed")
    d = tempfile.mkdtemp(prefix="make-", dir=WORK)
    a, b = prog("t_alloc"), prog("t_exec_target")
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write("all:\n\t%s\n\t%s from-make\n" % (a, b))
    own, others, r = trace_children(["make", "-s", "-C", d], "make")
    check_eq(r.returncode, 0, "exit status (%s)" % r.stderr.strip())
    check_eq(own["cmd"], "make -s -C " + d, "make's own profile")
    kids = by_role(None, others)
    check_eq(sorted(kids), [("child", a), ("child", b + " from-make")],
             "children (role, cmd)")
    check_eq(totals(kids[("child", a)]), T_ALLOC_TOTALS, "t_alloc's totals")
    check_eq(totals(kids[("child", b + " from-make")]), EXEC_TARGET_TOTALS,
             "t_exec_target's totals")
    check_solo_totals(kids[("child", a)], a, "t_alloc")


@test
def no_follow_traces_only_the_command():
    # valgrind without --trace-children: the children run under it too,
    # writing the same file; the parent, waiting for them, writes it last.
    exe = prog("t_fork")
    own, others, r = trace_children([exe], "no-follow", ["--no-follow"])
    check_eq(r.returncode, 0, "exit status (%s)" % r.stderr.strip())
    check_eq((own is not None, sorted(others)), (True, []), "files written")
    check_eq(own["cmd"], exe, "cmd")
    check_process_like_valgrind(own, valgrind([exe], "no-follow-t_fork"), exe)


@test
def exec_storm_is_fully_accounted():
    # No $(seq): a command substitution would be one more process.
    exe = prog("t_exec_target")
    script = 'i=0; while [ $i -lt 500 ]; do %s; i=$((i+1)); done' % exe
    own, others, r = trace_children(["sh", "-c", script], "storm", timeout=900)
    check_eq(r.returncode, 0, "exit status (%s)" % r.stderr.strip())
    check_eq(own["cmd"], "sh -c " + script, "the shell's profile")
    check_eq(len(others), 500, "children's files")
    bad = ["%d: %s %s" % (pid, p["cmd"], totals(p)) for pid, p in sorted(others.items())
           if p["cmd"] != exe or totals(p) != EXEC_TARGET_TOTALS]
    check(not bad, "%d of 500 children differ from %s, e.g.\n    %s"
          % (len(bad), EXEC_TARGET_TOTALS, "\n    ".join(bad[:10])))


@test
def max_procs_counts_the_rest():
    # The shell and its 10 children: 11 processes, 3 traced (the shell and
    # its first two children), 8 counted.
    exe = prog("t_exec_target")
    script = 'i=0; while [ $i -lt 10 ]; do %s; i=$((i+1)); done' % exe
    own, others, r = trace_children(["sh", "-c", script], "max-procs",
                                    ["--max-procs", "3"])
    check_eq(r.returncode, 0, "exit status (%s)" % r.stderr.strip())
    check_eq(own["cmd"], "sh -c " + script, "the shell's profile")
    check_eq(len(others), 2, "children's files")
    for p in others.values():
        check_eq((p["cmd"], totals(p)), (exe, EXEC_TARGET_TOTALS), "a traced child")
    lines = [l for l in r.stderr.splitlines() if "not traced" in l]
    check_eq(len(lines), 1, "lines saying 'not traced' in %r" % r.stderr)
    check_eq([int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", lines[0])
              if int(n.replace(",", "")) != 3], [11 - 1 - len(others)],
             "the count in %r (numbers other than the limit)" % lines[0])


def function_of(frame):
    return frame.split(" (")[0]


@test
def killed_child_still_gets_its_profile():
    exe = prog("t_fork")
    own, others, r = trace_children([exe, "kill"], "kill")
    check_eq(r.returncode, 0, "exit status (t_fork checks its victim died of "
             "SIGKILL) (%s)" % r.stderr.strip())
    victims = [pid for pid, p in others.items()
               if any(f.startswith("victim_malloc ") for pp in p["pps"]
                      for f in user_frames(p, pp)[:1])]
    check_eq(len(victims), 1, "profiles with victim_malloc")
    victim = others.pop(victims[0])
    check_eq(victim["cmd"], exe + " kill", "the victim's cmd")
    # At the fork: 6,218 bytes in 7 blocks so far, 814 in 4 live (a[1],
    # a[2], b, c), the peak 5,915; then 3 x 2,222 (the new peak: 7,480 in
    # 7 blocks), one of them freed, and a[2] (101 bytes) freed.
    check_eq(totals(victim), {"total": (12884, 10), "gmax": (7480, 7),
                              "end": (5157, 5)}, "the victim's totals")
    sites = {}
    for key, s in by_site(victim).items():
        acc = sites.setdefault(function_of(key[0]) if key else "",
                               dict.fromkeys(STATS, 0))
        for k in STATS:
            acc[k] += s[k]
    check_eq(sites, {
        # a[] 3 x 101, c 303 then 404 (the realloc counts at its malloc), 5000
        "parent_malloc": {"tb": 6010, "tbk": 6, "gb": 606, "gbk": 3, "eb": 505, "ebk": 2},
        "parent_calloc": {"tb": 208, "tbk": 1, "gb": 208, "gbk": 1, "eb": 208, "ebk": 1},
        "victim_malloc": {"tb": 6666, "tbk": 3, "gb": 6666, "gbk": 3, "eb": 4444, "ebk": 2},
    }, "the victim's numbers by function")
    # The others are as valgrind has them; valgrind writes nothing for the
    # killed one.
    check_processes_like_valgrind(by_role(own, others),
                                  valgrind_children([exe, "kill"], "kill"), "t_fork kill")


def symbol_address(pid, name):
    """(address of libc's `name` in process pid, libc's file, the file
    offset), from /proc/PID/maps, readelf's symbols and program headers."""
    maps = []
    try:
        f = open("/proc/%d/maps" % pid)
    except FileNotFoundError:
        raise Fail("process %d has exited" % pid)
    with f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and os.path.basename(parts[5]) == "libc.so.6":
                start, end = (int(x, 16) for x in parts[0].split("-"))
                maps.append((start, end, int(parts[2], 16), parts[5]))
    check(maps, "no libc.so.6 in /proc/%d/maps" % pid)
    path = maps[0][3]
    syms = subprocess.run(["readelf", "-Ws", path], capture_output=True,
                          text=True, check=True).stdout
    m = re.search(r"^\s*\d+: ([0-9a-f]+)\s+\d+ FUNC\s+\w+\s+\w+\s+\d+ %s(@@\S+)?$"
                  % re.escape(name), syms, re.M)
    check(m, "no %s in readelf -Ws %s" % (name, path))
    vaddr = int(m.group(1), 16)
    phdrs = subprocess.run(["readelf", "-lW", path], capture_output=True,
                           text=True, check=True).stdout
    off = None
    for lm in re.finditer(r"^\s*LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ "
                          r"0x([0-9a-f]+)", phdrs, re.M):
        seg_off, seg_vaddr, filesz = (int(x, 16) for x in lm.groups())
        if seg_vaddr <= vaddr < seg_vaddr + filesz:
            off = vaddr - seg_vaddr + seg_off
    check(off is not None, "%s at 0x%x is in no PT_LOAD of %s" % (name, vaddr, path))
    for start, end, map_off, _ in maps:
        if map_off <= off < map_off + (end - start):
            return start + off - map_off, path, off
    raise Fail("%s (file offset 0x%x) is not mapped in %d" % (name, off, pid))


def code_bytes(pid, name, n=16):
    """The first n bytes of libc's `name` in process pid's memory, and
    in the file."""
    addr, path, off = symbol_address(pid, name)
    with open("/proc/%d/mem" % pid, "rb") as f:
        f.seek(addr)
        mem = f.read(n)
    with open(path, "rb") as f:
        f.seek(off)
        return mem, f.read(n)


def start_spin(*args):
    """t_spin with stdout a pipe, once it has printed its "ready PID"."""
    p = subprocess.Popen([prog("t_spin")] + list(args), stdout=subprocess.PIPE,
                         text=True)
    check_eq(p.stdout.readline().strip(), "ready %d" % p.pid, "t_spin's first line")
    return p


def wait_for(cond, what, seconds=20):
    """Poll until cond() is true; a bound on the wait, not a timing check."""
    deadline = time.time() + seconds
    while True:
        try:
            if cond():
                return
        except Fail as e:
            raise Fail("%s (%s)" % (what, e))
        check(time.time() < deadline, what)
        time.sleep(0.02)


@test
def untraced_process_pays_nothing():
    # Probes go into the traced process only: another process using the
    # same libc runs its malloc without a breakpoint (int3, 0xcc).
    untraced, traced = start_spin("60"), start_spin("60")
    try:
        for fn in ("malloc", "free"):
            mem, orig = code_bytes(untraced.pid, fn)
            check_eq(mem, orig, "%s of the untraced process before tracing" % fn)
            check(0xcc not in orig, "libc's %s has 0xcc in its first bytes" % fn)
        out = os.path.join(WORK, "pays-nothing.json")
        d = subprocess.Popen([DHTRACE, "-p", str(traced.pid), "-d", "2s", "-o", out],
                             stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: 0xcc in code_bytes(traced.pid, "malloc")[0]
                     or d.poll() is not None,
                     "no int3 in the traced process's malloc after 20 s")
            # The message only on failure: communicate() waits for the end.
            if d.poll() is not None:
                raise Fail("dhtrace ended (%s) before its probes were seen: %s"
                           % (d.returncode, d.communicate()[1].strip()))
            for fn in ("malloc", "free"):
                mem, orig = code_bytes(traced.pid, fn)
                check(0xcc in mem, "%s of the traced process has no int3: %s, file %s"
                      % (fn, mem.hex(), orig.hex()))
                mem, orig = code_bytes(untraced.pid, fn)
                check_eq(mem.hex(), orig.hex(),
                         "%s of the untraced process while the other is traced" % fn)
        finally:
            stderr = d.communicate(timeout=60)[1]
        check_eq(d.returncode, 0, "dhtrace exit status (%s)" % stderr.strip())
        for fn in ("malloc", "free"):
            mem, orig = code_bytes(traced.pid, fn)
            check_eq(mem.hex(), orig.hex(), "%s of the traced process after detach" % fn)
        with open(out) as f:
            p = json.load(f)
        check_eq(p["pid"], traced.pid, "the profile's pid")
        t = totals(p)
        check(t["total"][1] > 0 and t["total"] == (64 * t["total"][1], t["total"][1]),
              "the spin rounds' 64-byte blocks: %s" % t)
    finally:
        for s in (untraced, traced):
            s.kill()
            s.wait()


def check_spin_profiles(d, pids, stderr):
    """DIR/x.PID.json for exactly these pids, each of t_spin's 64-byte rounds."""
    check_eq(sorted(os.listdir(d)), sorted("x.%d.json" % pid for pid in pids),
             "files (%s)" % stderr.strip())
    for pid in pids:
        with open(os.path.join(d, "x.%d.json" % pid)) as f:
            p = json.load(f)
        check_eq((p["pid"], p["cmd"]), (pid, prog("t_spin") + " 60"), "pid and cmd")
        t = totals(p)["total"]
        check(t[1] > 0 and t[0] == 64 * t[1], "%d: the 64-byte rounds: %s" % (pid, t))


@test
def attach_to_several_pids():
    spins = [start_spin("60") for _ in range(3)]
    try:
        d = tempfile.mkdtemp(prefix="several-", dir=WORK)
        out = os.path.join(d, "x.%p.json")
        r = dhtrace(["-p", "%d,%d" % (spins[0].pid, spins[1].pid), "-p",
                     str(spins[2].pid), "-d", "1s", "-o", out])
        check_eq(r.returncode, 0, "exit status (%s)" % r.stderr.strip())
        check_spin_profiles(d, [s.pid for s in spins], r.stderr)
        for s in spins:
            check_eq(s.poll(), None, "t_spin %d after the detach" % s.pid)
    finally:
        for s in spins:
            s.kill()
            s.wait()



def start_ready(argv):
    """A t_spin-like command, once it has printed its "ready PID"."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    check_eq(p.stdout.readline().strip(), "ready %d" % p.pid, argv[0] + "'s first line")
    return p


def has_int3(pid, fn="malloc"):
    return 0xcc in code_bytes(pid, fn)[0]


@test
def all_by_comm_traces_running_and_new_processes():
    # -a --comm: the two running t_spin, and one started after tracing
    # began, are traced; a process of another name pays nothing. Ctrl-C
    # ends the trace with every profile written, and all keep running.
    other_bin = os.path.join(WORK, "t_other")
    shutil.copy(prog("t_spin"), other_bin)
    procs = [start_spin("60"), start_spin("60"), start_ready([other_bin, "60"])]
    try:
        d = tempfile.mkdtemp(prefix="all-comm-", dir=WORK)
        t = subprocess.Popen([DHTRACE, "-a", "--comm", "t_spin", "-o",
                              os.path.join(d, "x.json")],
                             stderr=subprocess.PIPE, text=True)
        try:
            # free has an entry probe only, and the entries' link is made
            # after the returns': its breakpoint means both are there
            wait_for(lambda: all(has_int3(procs[i].pid, "free") for i in (0, 1))
                     or t.poll() is not None,
                     "no int3 in a running t_spin's free")
            if t.poll() is not None:
                raise Fail("dhtrace ended (%s): %s" % (t.returncode,
                                                      t.communicate()[1]))
            procs.append(start_spin("60"))
            wait_for(lambda: has_int3(procs[3].pid, "free") or t.poll() is not None,
                     "no int3 in the free of a t_spin started later")
            check(t.poll() is None, "dhtrace ended before the later t_spin was seen")
            mem, orig = code_bytes(procs[2].pid, "malloc")
            check_eq(mem.hex(), orig.hex(), "malloc of a process of another name")
            t.send_signal(signal.SIGINT)
        finally:
            stderr = t.communicate(timeout=60)[1]
        check_eq(t.returncode, 0, "dhtrace exit status (%s)" % stderr.strip())
        check_spin_profiles(d, [procs[i].pid for i in (0, 1, 3)], stderr)
        for p in procs:
            check_eq(p.poll(), None, "process %d after the trace" % p.pid)
            check(not has_int3(p.pid), "int3 left in %d's malloc" % p.pid)
    finally:
        for p in procs:
            p.kill()
            p.wait()


@test
def concurrent_tracers_on_the_same_libc():
    # Tracers attach and detach uprobes on the same libc at the same moment
    # (the kernel may refuse one for an instant: it is retried): each run
    # still gets its exact numbers, and a process attached to over and
    # over again runs on unharmed.
    theirs = totals(valgrind([prog("t_alloc")], "t_alloc"))
    spin = start_spin("60")
    try:
        churn = [subprocess.Popen([DHTRACE, "-p", str(spin.pid), "-d", "200ms",
                                   "-o", os.path.join(WORK, "churn%d.json" % i)],
                                  stderr=subprocess.PIPE, text=True)
                 for i in range(4)]
        runs = [subprocess.Popen([DHTRACE, "-o", os.path.join(WORK, "conc%d.json" % i),
                                  "--", prog("t_alloc")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True) for i in range(4)]
        for i, r in enumerate(runs + churn):
            err = r.communicate(timeout=120)[1]
            check_eq(r.returncode, 0, "run %d: exit status (%s)" % (i, err.strip()))
        for i in range(4):
            with open(os.path.join(WORK, "conc%d.json" % i)) as f:
                check_eq(totals(json.load(f)), theirs, "run %d's totals" % i)
        check_eq(spin.poll(), None, "the process attached to four times at once")
        check(not has_int3(spin.pid), "int3 left in its malloc")
    finally:
        spin.kill()
        spin.wait()


@test
def attach_follows_future_children():
    # -p on a running shell: the programs it starts after the attach are
    # traced from their first instruction, with their exact numbers.
    target = prog("t_exec_target")
    sh = subprocess.Popen(["sh", "-c", "echo ready; read x; %s one; %s two; read y"
                           % (target, target)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        # Only once the shell runs: before, its libc may not be mapped yet.
        check_eq(sh.stdout.readline().strip(), "ready", "the shell's first line")
        d = tempfile.mkdtemp(prefix="attach-children-", dir=WORK)
        t = subprocess.Popen([DHTRACE, "-p", str(sh.pid), "-o", os.path.join(d, "x.json")],
                             stderr=subprocess.PIPE, text=True)
        # Attached once the shell's read has int3 under its malloc.
        wait_for(lambda: has_int3(sh.pid) or t.poll() is not None,
                 "no int3 in the shell's malloc")
        sh.stdin.write("go\n")
        sh.stdin.flush()
        wait_for(lambda: len(os.listdir(d)) == 2 or t.poll() is not None,
                 "no profiles of the two programs")
        sh.stdin.write("end\n")
        sh.stdin.close()
        err = t.communicate(timeout=60)[1]
        check_eq((sh.wait(timeout=60), t.returncode), (0, 0),
                 "exit statuses (%s)" % err.strip())
        kids = {}
        for name in os.listdir(d):
            with open(os.path.join(d, name)) as f:
                p = json.load(f)
            if name != "x.json":
                kids[p["cmd"]] = totals(p)
        check_eq(kids, {target + " one": EXEC_TARGET_TOTALS,
                        target + " two": EXEC_TARGET_TOTALS}, "the children's totals")
    finally:
        if sh.poll() is None:
            sh.kill()
            sh.wait()


@test
def a_daemon_is_traced_after_the_command_exits():
    # The command starts a background process and exits at once: dhtrace
    # goes on until that one exits too, then exits with the command's status.
    d = tempfile.mkdtemp(prefix="daemon-", dir=WORK)
    r = dhtrace(["-o", os.path.join(d, "x.json"), "--", "sh", "-c",
                 "%s 1 > /dev/null & exit 3" % prog("t_spin")])
    check_eq(r.returncode, 3, "exit status (%s)" % r.stderr.strip())
    kids = [n for n in os.listdir(d) if n != "x.json"]
    check_eq(len(kids), 1, "profiles besides the shell's: %s" % kids)
    with open(os.path.join(d, kids[0])) as f:
        p = json.load(f)
    check_eq(p["cmd"], prog("t_spin") + " 1", "the daemon's command")
    t = totals(p)
    # All its one-second run: 64-byte rounds, each freed, and the 4 KiB
    # stdio buffer of its "ready" line, live at its exit.
    n = t["total"][1] - 1
    check(n > 100 and t["total"][0] == 4096 + 64 * n and t["end"] == (4096, 1),
          "the daemon's rounds: %s" % t)


@test
def all_finds_a_containers_own_libc():
    # A process started during -a in a mount namespace of its own, on a
    # libc file of its own that the host does not see: the dynamic linker
    # asked from outside predicts the host's libc; the file the process
    # really maps is found and probed.
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    mnt = tempfile.mkdtemp(prefix="container-", dir=WORK)
    d = tempfile.mkdtemp(prefix="all-container-", dir=WORK)
    t = subprocess.Popen([DHTRACE, "-a", "--comm", "t_spin", "-o", os.path.join(d, "x.json")],
                         stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)  # not a timing check: a start before the trace is only missed
        check(t.poll() is None, "dhtrace ended: %s" % (t.poll() is not None and t.communicate()[1]))
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs none {m} && cp {p} {l} {m}/ && "
                            "LD_LIBRARY_PATH={m} exec {m}/t_spin 1".format(
                                m=mnt, p=prog("t_spin"), l=libc)],
                           capture_output=True, text=True, timeout=60)
        check_eq(r.returncode, 0, "the contained t_spin (%s)" % r.stderr.strip())
        pid = int(r.stdout.split()[1])
        t.send_signal(signal.SIGINT)
        err = t.communicate(timeout=60)[1]
        check_eq(t.returncode, 0, "dhtrace exit status (%s)" % err.strip())
        with open(os.path.join(d, "x.%d.json" % pid)) as f:
            p = json.load(f)
        check_eq(p["cmd"], mnt + "/t_spin 1", "its command")
        n = totals(p)["total"][1]
        check(n > 100 and totals(p)["total"][0] in (64 * n, 64 * (n - 1) + 4096),
              "its 64-byte rounds: %s" % totals(p))
        top = max(p["pps"], key=lambda x: x["tbk"])
        check(any("spin_round (t_spin.c:" in p["ftbl"][i] for i in top["fs"]),
              "its rounds' frames: %s" % [p["ftbl"][i] for i in top["fs"]])
    finally:
        if t.poll() is None:
            t.kill()
            t.wait()


def own_totals(p, source):
    """(tb, tbk, eb, ebk) of the sites whose stacks pass through @source."""
    mine = [x for x in p["pps"]
            if any("(%s:" % source in p["ftbl"][i] for i in x["fs"])]
    return tuple(sum(x[k] for x in mine) for k in ("tb", "tbk", "eb", "ebk"))


@test
def each_exec_finds_its_images_allocator():
    # A shell's children exec a static binary (its own malloc), a program
    # with jemalloc preloaded, and one on glibc: each image is probed on
    # the allocator it binds to, and the program's own sites are exact.
    static = os.path.join(BUILD, "progs-static", "t_exec_target")
    target = prog("t_exec_target")
    jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
    own, others, r = trace_children(
        ["sh", "-c", "%s static; LD_PRELOAD=%s %s jemalloc; %s glibc"
         % (static, jemalloc, target, target)], "each-exec")
    check_eq(r.returncode, 0, "exit status (%s)" % r.stderr.strip())
    kids = {p["cmd"].split()[-1]: p for p in others.values()}
    check_eq(sorted(kids), ["glibc", "jemalloc", "static"], "the children")
    for name, p in sorted(kids.items()):
        check_eq(own_totals(p, "t_exec_target.c"), (3000, 3, 2000, 2),
                 name + ": the program's own sites (tb, tbk, eb, ebk)")


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if " - cgroup2 " in line:
                return line.split()[4]
    raise Fail("no cgroup2 file system mounted")


@test
def all_filters_by_uid_and_cgroup():
    nobody = start_ready(["setpriv", "--reuid=65534", "--regid=65534",
                          "--clear-groups", prog("t_spin"), "60"])
    procs = [nobody, start_spin("60"), start_spin("60")]
    cg = os.path.join(cgroup2_mount(), "dhtrace-test-%d" % os.getpid())
    os.mkdir(cg)
    try:
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(procs[2].pid))
        for args, want in ((["--comm", "t_spin", "--uid", "65534"], procs[0]),
                           (["--cgroup", cg], procs[2])):
            d = tempfile.mkdtemp(prefix="all-filter-", dir=WORK)
            r = dhtrace(["-a"] + args + ["-d", "1s", "-o", os.path.join(d, "x.json")])
            check_eq(r.returncode, 0, "%s: exit status (%s)" % (args, r.stderr.strip()))
            check_spin_profiles(d, [want.pid], r.stderr)
        r = dhtrace(["-a", "--cgroup", os.path.join(WORK, "no-such-cgroup"), "-d", "1s"])
        check_eq((r.returncode, len(r.stderr.splitlines())), (1, 1),
                 "a cgroup that is not there: %s" % r.stderr)
        check("no-such-cgroup: No such file or directory" in r.stderr, r.stderr)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        os.rmdir(cg)


PR_SET_CHILD_SUBREAPER = 36


def proc_stat(pid):
    """(state, ppid) of a process, None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return rest[0], int(rest[1])


@test
def sigkill_of_dhtrace_leaves_processes_running():
    # The test is the subreaper of what dhtrace leaves behind: t_spin is
    # reparented to it when dhtrace dies, and can be waited for.
    libc = ctypes.CDLL(None, use_errno=True)
    check_eq(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0, "prctl")
    d, pids, err = None, [], None
    try:
        out = os.path.join(WORK, "sigkill.json")
        err = open(os.path.join(WORK, "sigkill.stderr"), "w+")
        d = subprocess.Popen([DHTRACE, "-o", out, "--", prog("t_spin"), "6", "fork"],
                             stdout=subprocess.PIPE, stderr=err,
                             stdin=subprocess.DEVNULL, text=True)
        pids = []
        for _ in range(2):
            line = d.stdout.readline().strip()
            if not re.match(r"^ready \d+$", line):
                err.seek(0)
                raise Fail("t_spin's line %r; dhtrace's stderr: %s"
                           % (line, err.read().strip()))
            pids.append(int(line.split()[1]))
        stats = {pid: proc_stat(pid) for pid in pids}
        spin = [pid for pid in pids if stats[pid][1] != pids[0] + pids[1] - pid]
        check_eq(len(spin), 1, "one t_spin the parent of the other: %s" % stats)
        spin = spin[0]
        child = pids[0] + pids[1] - spin
        check_eq(stats[spin][1], d.pid, "t_spin's parent")
        wait_for(lambda: 0xcc in code_bytes(child, "malloc")[0],
                 "no int3 in the forked t_spin's malloc: not traced")
        time.sleep(1)
        d.kill()
        check_eq(d.wait(), -signal.SIGKILL, "dhtrace's end")
        time.sleep(0.2)
        for pid, what in ((spin, "t_spin"), (child, "its child")):
            st = proc_stat(pid)
            check(st and st[0] in "RSD", "%s after dhtrace's SIGKILL: %s" % (what, st))
        check_eq(proc_stat(spin)[1], os.getpid(), "t_spin's parent after dhtrace died")
        # Its probes go with dhtrace.
        for pid in (spin, child):
            wait_for(lambda: code_bytes(pid, "malloc")[0] == code_bytes(pid, "malloc")[1],
                     "malloc of %d still has dhtrace's int3 20 s after its end" % pid)
        rest = d.stdout.read()
        check_eq(sorted(rest.split("\n")), sorted(["", "done %d" % child, "done %d" % spin]),
                 "t_spin's last lines")
        _, status = os.waitpid(spin, 0)
        pids = []
        check_eq(os.waitstatus_to_exitcode(status), 0, "t_spin's exit status "
                 "(0: its child exited 0 too)")
    finally:
        if d and d.poll() is None:
            d.kill()
            d.wait()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        if err:
            err.close()


# --- convert: DHAT files of every producer to folded stacks -----------------

def folded(path, value=None, all_frames=False):
    """`dhtrace convert PATH - --format collapsed` as {stack: value}."""
    r = dhtrace(["convert", path, "-", "--format", "collapsed"]
                + (["--value", value] if value else [])
                + (["--all-frames"] if all_frames else []))
    check_eq((r.returncode, r.stderr), (0, ""), "convert exit status, stderr")
    stacks = {}
    for line in r.stdout.splitlines():
        stack, _, v = line.rpartition(" ")
        check(stack and stack not in stacks and v.isdigit(),
              "bad or repeated line %r" % line)
        stacks[stack] = int(v)
    return stacks


def check_folded_totals(path, p, stats=STATS, all_frames=False):
    """Every stat sums to the same in the folded stacks as in the file."""
    for s in stats:
        check_eq(sum(folded(path, s, all_frames).values()),
                 sum(pp[s] for pp in p["pps"]), "sum of %s" % s)


def only_stack(stacks, pattern):
    """The value of the one stack matching pattern (the others elsewhere)."""
    hits = [v for k, v in stacks.items() if re.match(pattern + "$", k)]
    check_eq(len(hits), 1, "stacks matching %r in %r" % (pattern, stacks))
    return hits[0]


@test
def convert_valgrind_files_to_folded_stacks():
    for name in ("t_alloc", "t_cxx"):
        p = valgrind([prog(name)], name)
        check_folded_totals(os.path.join(WORK, name + ".valgrind.json"), p)
        check_folded_totals(os.path.join(WORK, name + ".valgrind.json"), p,
                            all_frames=True)
    # Valgrind keeps its allocator frame when its preload object has no
    # debug information (FORMATS.md 2.10): folded away with the plumbing,
    # allowed for with all frames.
    path = os.path.join(WORK, "t_alloc.valgrind.json")
    check_eq(folded(path, "eb"), {"main;leak_one": 200}, "leak")
    check_eq(only_stack(folded(path, "eb", True), r"main;leak_one(;malloc)?"), 200,
             "leak, all frames")
    path = os.path.join(WORK, "t_cxx.valgrind.json")
    check_eq(only_stack(folded(path, "eb"), r"main;leak_ints\(\)"), 12, "C++ leak")
    check_eq(only_stack(folded(path, "eb", True),
                        r"main;leak_ints\(\)(;operator new\[\]\(unsigned long\))?"),
             12, "C++ leak, all frames")
    # C++ names keep their parameter lists; file:line is gone. The
    # vector's growth is main's own, its std:: frames are the plumbing.
    total = folded(path, all_frames=True)
    check_eq(only_stack(total, r"main;std::vector<long, std::allocator<long> >::push_back\(long&&\);.*"),
             2040, "vector growth, all frames")
    check(not any("std::" in k for k in folded(path)),
          "std:: frames in %r" % folded(path))


@test
def convert_dhtrace_file_to_folded_stacks():
    p, _ = trace([prog("t_alloc")], "convert-t_alloc")
    path = os.path.join(WORK, "convert-t_alloc.dhtrace.json")
    check_folded_totals(path, p)
    check_eq(folded(path, "eb"), {"main;leak_one": 200}, "stacks live at exit")
    # 14 blocks (FORMATS.md 2.11, t1), all in main but for leak_one's.
    check_eq(folded(path, "tbk")["main"], 13, "blocks allocated in main")


DHAT_RS = os.path.join(FIXTURES, "dhat-rs-heap.json")
RS_ALLOC = "<alloc::alloc::Global as core::alloc::Allocator>::allocate"


@test
def convert_dhat_rs_file_to_folded_stacks():
    # Stacks that differ in lines (heap.rs:12 and :14) are one, and so are
    # those that differ only in the plumbing (Box::new, the slice's clone:
    # alloc's and core's); a stack of plumbing keeps its innermost frame.
    with open(DHAT_RS) as f:
        p = json.load(f)
    check_folded_totals(DHAT_RS, p, STATS + ("tl", "mb", "mbk"))
    check_folded_totals(DHAT_RS, p, STATS + ("tl", "mb", "mbk"), all_frames=True)
    r = dhtrace(["convert", DHAT_RS, "-", "--format", "collapsed"])
    check_eq(r.stdout,
             "0x7f3e2a0c4d8a 64\n"
             "heap::main 344\n"
             "heap::main;heap::fill 2240\n", "folded stacks, total bytes")
    check_eq(folded(DHAT_RS, "eb"), {"heap::main": 344, "heap::main;heap::fill": 1024},
             "folded stacks at t-end")
    # All frames: ';' in a name ("[u8; 32]") is ':'; an unknown frame is
    # its address.
    r = dhtrace(["convert", DHAT_RS, "-", "--format", "collapsed", "--all-frames"])
    check_eq(r.stdout,
             "0x7f3e2a0c4d8a;%s 64\n"
             "heap::main;<[u8: 32] as core::clone::Clone>::clone;%s 320\n"
             "heap::main;alloc::boxed::Box<T>::new;%s 24\n"
             "heap::main;heap::fill;alloc::vec::Vec<T,A>::push;"
             "alloc::raw_vec::RawVec<T,A>::grow_one;%s 2240\n"
             % ((RS_ALLOC,) * 4), "folded stacks, total bytes, all frames")
    check_eq(folded(DHAT_RS, "eb", True), {
        "heap::main;<[u8: 32] as core::clone::Clone>::clone;" + RS_ALLOC: 320,
        "heap::main;alloc::boxed::Box<T>::new;" + RS_ALLOC: 24,
        "heap::main;heap::fill;alloc::vec::Vec<T,A>::push;"
        "alloc::raw_vec::RawVec<T,A>::grow_one;" + RS_ALLOC: 1024,
    }, "folded stacks at t-end, all frames")


@test
def convert_output_chosen_by_name_and_written_whole():
    d = os.path.join(WORK, "convert-out")
    os.makedirs(d, exist_ok=True)
    want = dhtrace(["convert", DHAT_RS, "-", "-f", "collapsed"]).stdout
    for name in ("x.folded", "x.collapsed"):
        out = os.path.join(d, name)
        r = dhtrace(["convert", DHAT_RS, out])
        check_eq((r.returncode, r.stderr), (0, ""), "exit status, stderr")
        with open(out) as f:
            check_eq(f.read(), want, name)
    with open(DHAT_RS, "rb") as f:
        r = subprocess.run([DHTRACE, "convert", "-", "-", "-f", "collapsed"],
                           stdin=f, capture_output=True, text=True)
    check_eq(r.stdout, want, "stdin to stdout")
    check_one_line_error(dhtrace(["convert", DHAT_RS, os.path.join(d, "x.txt")]),
                         "^dhtrace: cannot tell the format of .*x.txt' from its name: give --format$")
    check_one_line_error(dhtrace(["convert", DHAT_RS, os.path.join(d, "y.folded"),
                                  "--value", "fs"]), "^dhtrace: invalid --value 'fs'")
    check_eq(sorted(os.listdir(d)), ["x.collapsed", "x.folded"], "files left")


def check_converted_pprof(src, name, extra=()):
    """`dhtrace convert SRC NAME.pb.gz`: go tool pprof reads it; one sample
    per program point with its numbers, so the totals per sample type are
    the file's; the command and pid as comments. Returns -raw, parsed."""
    with open(src) as f:
        p = json.load(f)
    out = os.path.join(WORK, name + ".pb.gz")
    r = dhtrace(["convert", src, out] + list(extra))
    check_eq((r.returncode, r.stderr), (0, ""), "convert exit status, stderr")
    raw = pprof_raw(out)
    check_eq(raw["types"], PPROF_TYPES, "sample types")
    want = ["cmd: " + p["cmd"], "pid: %d" % p["pid"]]
    if "dhtraceOverhead" in p:	# the line the run printed, as report has it
        want.append("overhead: " + report_line(dhtrace(["report", src]).stdout,
                                               "Overhead:"))
    check_eq(raw["comments"], want, "comments")
    check_eq(sorted(s[0] for s in raw["samples"]),
             sorted(tuple(pp[c] for c in PPROF_COLUMNS) for pp in p["pps"]),
             "samples' values")
    return raw, out


@test
def convert_files_to_pprof():
    v = valgrind([prog("t_alloc")], "t_alloc")
    src = os.path.join(WORK, "t_alloc.valgrind.json")
    _, pb = check_converted_pprof(src, "conv-valgrind")
    # leaf first, as DHAT's fs: leak_one's 200 bytes live at exit, without
    # valgrind's malloc wrapper but with --all-frames
    traces = go_pprof(["-traces", "-sample_index=inuse_space", pb])
    check(re.search(r"^\s+200B\s+leak_one\n\s+main\n", traces, re.M),
          "leak_one's trace: " + traces)
    _, pb = check_converted_pprof(src, "conv-valgrind-all", ["--all-frames"])
    traces = go_pprof(["-traces", "-sample_index=inuse_space", pb])
    check(re.search(r"^\s+200B\s+malloc\n\s+leak_one\n\s+main\n", traces, re.M),
          "leak_one's trace, all frames: " + traces)
    mine, _ = trace([nofp("t_cxx")], "conv-t_cxx")
    raw, _ = check_converted_pprof(os.path.join(WORK, "conv-t_cxx.dhtrace.json"),
                                   "conv-dhtrace", ["--all-frames"])
    # inlined calls (one address, several frames) are one location
    check(any(len(lines) > 1 for _, _, lines in raw["locations"].values()),
          "no location with inlined lines")
    raw, pb = check_converted_pprof(DHAT_RS, "conv-dhat-rs")
    check(re.search(r"^Duration: 2\.51ms", go_pprof(["-top", pb]), re.M),
          "dhat-rs's te (µs) as the duration")
    # an ad-hoc file has its two totals, named by its bksu and bsu
    out = os.path.join(WORK, "conv-adhoc.pb.gz")
    r = dhtrace(["convert", os.path.join(FIXTURES, "dhat-adhoc.json"), out])
    check_eq((r.returncode, r.stderr), (0, ""), "convert exit status, stderr")
    raw = pprof_raw(out)
    check_eq(raw["types"], "events/count units/count[dflt]", "ad-hoc sample types")
    check_eq([(v, [raw["locations"][i][2][0][0] for i in ids])
              for v, ids, _ in raw["samples"]],
             [((3, 30), ["ad_hoc::tick", "ad_hoc::main"]),
              ((1, 7), ["ad_hoc::tock", "ad_hoc::main"])], "ad-hoc samples")


@test
def outputs_to_devices_are_written_not_replaced():
    # As root, a temporary file renamed over /dev/null would replace the
    # device: devices and FIFOs are written as they are.
    r = dhtrace(["convert", DHAT_RS, "/dev/null", "-f", "collapsed"])
    check_eq((r.returncode, r.stderr), (0, ""), "convert to /dev/null")
    for args in (["convert", DHAT_RS, "/dev/full", "-f", "collapsed"],
                 ["convert", DHAT_RS, "/dev/full", "-f", "pprof"],
                 ["-o", "/dev/full", "--", prog("t_alloc")]):
        r = dhtrace(args)
        check(r.returncode != 0 and
              "dhtrace: cannot write /dev/full: No space left on device\n" in r.stderr,
              "%s: %d %r" % (" ".join(args), r.returncode, r.stderr))
    r = dhtrace(["-o", "/dev/null", "--", prog("t_alloc")])
    check_eq(r.returncode, 0, "record to /dev/null (%s)" % r.stderr)
    for dev in ("/dev/null", "/dev/full"):
        check(stat.S_ISCHR(os.stat(dev).st_mode), dev + " is no longer a device")


def bad_dhat_inputs():
    """(name, bytes, error pattern): files convert must refuse."""
    with open(DHAT_RS, "rb") as f:
        good = f.read()
    hdr = b'{"dhatFileVersion":2,"bklt":true,"pps":[{"tb":'
    pp = b'"tbk":1,"mb":1,"mbk":1,"gb":1,"gbk":1,"eb":1,"ebk":1,"fs":[1]}'
    tail = b'],"ftbl":["[root]","0x1: f (a.c:1)"]}'
    return [
        ("empty", b"", "empty file"),
        ("truncated", good[:len(good) // 2], "truncated"),
        ("huge-double", hdr + b"1e400," + pp + tail,
         r"pps\[0\]\.tb: expected a non-negative integer, got 1e400"),
        ("above-uint64", hdr + b"18446744073709551616," + pp + tail,
         r"pps\[0\]\.tb: 18446744073709551616 does not fit in 64 bits"),
        ("negative", hdr + b"-1," + pp + tail, "expected a non-negative integer, got -1"),
        ("deep", b'{"a":' + b"[" * 100000, "nested more than 8 levels deep"),
        ("bad-utf8", good.replace(b"heap::main", b"heap::\xff\xfe", 1),
         "invalid bytes in UTF8 string"),
        ("wrong-type", hdr + b'"1",' + pp + tail,
         r"pps\[0\]\.tb: expected a non-negative integer, got a string"),
        ("fs-not-array", hdr + b"1," + pp.replace(b"[1]", b"1") + tail,
         r"pps\[0\]\.fs: expected an array, got a number"),
        ("fs-out-of-range", hdr + b"1," + pp.replace(b"[1]", b"[1,2]") + tail,
         r"pps\[0\]\.fs\[1\]: frame 2 is outside ftbl \(2 entries\)"),
        ("no-version", good.replace(b'"dhatFileVersion": 2,', b""),
         "missing field 'dhatFileVersion'"),
        ("not-an-object", b"[1, 2]", "expected a JSON object at the top level"),
        ("not-json", b"dhat", "not valid JSON"),
    ]


@test
def convert_refuses_bad_files_in_one_line():
    d = os.path.join(WORK, "convert-bad")
    os.makedirs(d, exist_ok=True)
    for name, data, pattern in bad_dhat_inputs():
        path = os.path.join(d, name + ".json")
        with open(path, "wb") as f:
            f.write(data)
        out = os.path.join(d, name + ".folded")
        try:
            check_one_line_error(dhtrace(["convert", path, out]),
                                 r"^dhtrace: %s: (byte \d+: )?.*%s"
                                 % (re.escape(path), pattern))
        except Fail as e:
            raise Fail("%s: %s" % (name, e))
        check(not os.path.exists(out), name + ": output written")
    check_eq(sorted(os.listdir(d)), sorted(n + ".json" for n, _, _ in bad_dhat_inputs()),
             "files in the directory")
    check_one_line_error(dhtrace(["convert", os.path.join(d, "none.json"),
                                  os.path.join(d, "none.folded")]),
                         "^dhtrace: cannot open .*none.json: No such file")
    adhoc = os.path.join(d, "ad-hoc.json")
    with open(adhoc, "w") as f:
        f.write('{"dhatFileVersion":2,"bklt":false,"pps":[{"tb":3,"tbk":1,"fs":[]}],'
                '"ftbl":["[root]"]}')
    check_eq(folded(adhoc), {"[root]": 3}, "ad-hoc file")
    check_one_line_error(dhtrace(["convert", adhoc, "-", "-f", "collapsed", "--value", "gb"]),
                         r"^dhtrace: .*ad-hoc.json: pps\[0\] has no 'gb' \(bklt is false: "
                         r"the file has tb and tbk only\)$")
    os.unlink(adhoc)


# --- bad input ------------------------------------------------------------

def check_one_line_error(r, pattern):
    check(r.returncode != 0, "exit status is 0")
    lines = r.stderr.strip().splitlines()
    check_eq(len(lines), 1, "stderr lines (%r)" % r.stderr)
    check(re.search(pattern, lines[0]), "error %r lacks %r" % (lines[0], pattern))


@test
def error_no_such_pid():
    r = dhtrace(["-p", "999999999", "-o", os.path.join(WORK, "x.json")])
    check_one_line_error(r, "no process with PID 999999999")
    check(not os.path.exists(os.path.join(WORK, "x.json")), "file written")


@test
def error_unwritable_pprof_output_runs_nothing():
    marker = os.path.join(WORK, "ran-pprof")
    r = dhtrace(["--format", "dhat,pprof", "-o", "/nonexistent-dir/x", "--",
                 "touch", marker])
    check_one_line_error(r, "cannot write /nonexistent-dir/x.json")
    check(not os.path.exists(marker), "the command ran")
    r = dhtrace(["-o", "/nonexistent-dir/x.pb.gz", "--", "touch", marker])
    check_one_line_error(r, "cannot write /nonexistent-dir/x.pb.gz")
    check(not os.path.exists(marker), "the command ran")


@test
def error_no_such_command():
    r = dhtrace(["-o", os.path.join(WORK, "x.json"), "--", "no-such-command-xyz"])
    check_one_line_error(r, "cannot run 'no-such-command-xyz': No such file")


@test
def error_unwritable_output_runs_nothing():
    marker = os.path.join(WORK, "ran")
    r = dhtrace(["-o", "/nonexistent-dir/x.json", "--", "touch", marker])
    check_one_line_error(r, "cannot write /nonexistent-dir/x.json")
    check(not os.path.exists(marker), "the command ran")


@test
def error_not_root_runs_nothing():
    marker = os.path.join(WORK, "ran-nobody")
    os.chmod(WORK, 0o777)
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                        "--clear-groups", "--inh-caps=-all", DHTRACE, "-o",
                        os.path.join(WORK, "nobody.json"), "--", "touch", marker],
                       capture_output=True, text=True, timeout=60)
    check_one_line_error(r, "run as root")
    check(not os.path.exists(marker), "the command ran")
    check(not os.path.exists(os.path.join(WORK, "nobody.json")), "file written")


@test
def error_bad_arguments():
    for args, pattern in ((["--max-frames", "0", "--", "true"], "--max-frames"),
                          (["-p", "12x"], "PID"),
                          (["--format", "json", "--", "true"], "--format"),
                          (["--format", "dhat,", "--", "true"], "--format"),
                          ([], "one of a command, -p PID or -a"),
                          (["-a", "--", "true"], "one of a command, -p PID or -a"),
                          (["-a", "-p", "1"], "one of a command, -p PID or -a"),
                          (["--comm", "sh", "--", "true"], "go with -a"),
                          (["-a", "--comm", "a-name-over-15-bytes"], "--comm"),
                          (["-a", "--uid", "-1"], "--uid"),
                          (["--max-procs", "0", "--", "true"], "--max-procs"),
                          (["--snapshot-every", "0", "--", "true"], "--snapshot-every"),
                          (["--snapshot-every", "1s", "-o", "-", "--", "true"],
                           "not standard output"),
                          (["--interval", "often", "--", "true"], "--interval")):
        check_one_line_error(dhtrace(args), pattern)


# --- reading profiles: report, diff, gates, baseline ----------------------

FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def analyze(args, **kw):
    """An analysis command on the fixtures, without colour."""
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run([DHTRACE] + args, capture_output=True, text=True,
                          timeout=60, cwd=FIXTURES, env=env, **kw)


def check_output(args, want, rc=0, stderr=""):
    r = analyze(args)
    check_eq(r.stdout, want, "dhtrace " + " ".join(args))
    check_eq(r.stderr, stderr, "stderr of dhtrace " + " ".join(args))
    check_eq(r.returncode, rc, "exit status of dhtrace " + " ".join(args))


BASE_SUMMARY = """\
Command:    ./server --port 8080
PID:        4242
Total:      3,004,220 B (2.9 MiB) in 517 blocks
At t-gmax:  2,000,132 B (1.9 MiB) in 7 blocks, at 1,500,000 of 2,000,000 µs
At t-end:   1,000,100 B (976.7 KiB) in 2 blocks
"""


@test
def report_top_sites():
    check_output(["report", "base.json", "-n", "2", "-s", "peak"], BASE_SUMMARY + """\
Shown:      2 of 4 program points, by site, sorted by bytes at t-gmax

#1 3,000,000 B (2.9 MiB) in 3 blocks (99.9% of bytes)
    at t-gmax 2,000,000 B (1.9 MiB) in 2 blocks, at t-end 1,000,000 B (976.6 KiB) in 1 block
    avg lifetime 100.0 µs
    grow_cache (cache.c:42)
    handle_request (server.c:88)
    main (server.c:120)

#2 100 B in 1 block (0.0% of bytes)
    at t-gmax 100 B in 1 block, at t-end 100 B in 1 block
    avg lifetime 1,999,000.0 µs
    ??? (in /usr/lib/x86_64-linux-gnu/libfoo.so.1)
    foo_init (in /usr/lib/x86_64-linux-gnu/libfoo.so.1)
    setup (server.c:30)
    ... 1 more frame (-v, -vv)
""")
    check_eq(analyze(["report", "base.json", "--top", "2", "-s", "peak"]).stdout,
             analyze(["report", "base.json", "-n", "2", "-s", "peak"]).stdout,
             "--top as -n")


@test
def report_groups_valgrind_files_by_caller():
    # valgrind's allocator wrapper, first in its stacks, is not a function
    # of the program: groups go by the frame below it.
    valgrind([prog("t_alloc")], "t_alloc")
    r = analyze(["report", os.path.join(WORK, "t_alloc.valgrind.json"),
                 "--by", "function", "--json"])
    check_eq(r.returncode, 0, "exit status (%s)" % r.stderr)
    check_eq([(g["group"], g["total"], g["end"]) for g in json.loads(r.stdout)["rows"]],
             [("main", 4945, 0), ("leak_one", 200, 200)], "groups")


@test
def report_filters_and_groups():
    # The vector's push_back is the C++ library's: its site goes by its
    # caller, unless all frames are shown.
    args = ["report", "base.json", "--by", "function", "-s", "short-lived",
            "--min-count", "1", "--min-bytes", "24", "-n", "2"]
    groups = BASE_SUMMARY + """\
Shown:      2 of 4 functions, by function, sorted by short-lived blocks

#1 function parse_header: 4,096 B (4.0 KiB) in 512 blocks (0.1% of bytes), 1 program point
    at t-gmax 32 B in 4 blocks, at t-end 0 B in 0 blocks
    avg lifetime 4.0 µs, short-lived 512 blocks

#2 function GROUP: 24 B in 1 block (0.0% of bytes), 1 program point
    at t-gmax 0 B in 0 blocks, at t-end 0 B in 0 blocks
    avg lifetime 5.0 µs, short-lived 1 block
"""
    check_output(args, groups.replace("GROUP", "read_request"))
    check_output(args + ["--all-frames"], groups.replace(
        "GROUP", "std::vector<int, std::allocator<int> >::push_back(int const&)"))
    check_output(["report", "base.json", "--match", "^read_", "--min-bytes", "1k",
                  "-v"], BASE_SUMMARY + """\
Shown:      1 of 1 program point, by site, sorted by total bytes

#1 4,096 B (4.0 KiB) in 512 blocks (0.1% of bytes)
    at t-gmax 32 B in 4 blocks, at t-end 0 B in 0 blocks
    avg lifetime 4.0 µs
    parse_header (http.c:17)
    read_request (http.c:60)
    main (server.c:120)
""")


@test
def report_leaks_with_whole_stacks():
    check_output(["report", "base.json", "--leaks", "-s", "blocks"], BASE_SUMMARY + """\
Leaks:      2 of 2 program points, by site, sorted by bytes at t-end

#1 3,000,000 B (2.9 MiB) in 3 blocks (99.9% of bytes)
    at t-gmax 2,000,000 B (1.9 MiB) in 2 blocks, at t-end 1,000,000 B (976.6 KiB) in 1 block
    avg lifetime 100.0 µs
    grow_cache (cache.c:42)
    handle_request (server.c:88)
    main (server.c:120)

#2 100 B in 1 block (0.0% of bytes)
    at t-gmax 100 B in 1 block, at t-end 100 B in 1 block
    avg lifetime 1,999,000.0 µs
    ??? (in /usr/lib/x86_64-linux-gnu/libfoo.so.1)
    foo_init (in /usr/lib/x86_64-linux-gnu/libfoo.so.1)
    setup (server.c:30)
    main (server.c:120)
""")


@test
def report_json():
    r = analyze(["report", "new.json", "--by", "object", "--json"])
    check_eq(r.returncode, 0, "exit status")
    check_eq(json.loads(r.stdout), {
        "cmd": "./server --port 8080", "pid": 4343, "time_unit": "µs",
        "t_gmax": 1600000, "t_end": 2100000,
        "total": 3302648, "total_blocks": 261, "peak": 2200132,
        "peak_blocks": 7, "end": 1100600, "end_blocks": 3,
        "by": "object", "sort": "total", "matched": 2,
        "rows": [
            {"group": "???", "total": 3302548, "total_blocks": 260,
             "peak": 2200032, "peak_blocks": 6, "end": 1100500, "end_blocks": 2,
             "lifetime_sum": 1454, "short_lived_blocks": 256,
             "program_points": 3},
            {"group": "/usr/lib/x86_64-linux-gnu/libfoo.so.1", "total": 100,
             "total_blocks": 1, "peak": 100, "peak_blocks": 1, "end": 100,
             "end_blocks": 1, "lifetime_sum": 2099000,
             "short_lived_blocks": 0, "program_points": 1}]}, "report --json")
    r = analyze(["report", "base.json", "-n", "1", "--json"])
    check_eq(json.loads(r.stdout)["rows"][0]["frames"], [
        "0x401136: grow_cache (cache.c:42)",
        "0x401200: handle_request (server.c:88)",
        "0x4012A0: main (server.c:120)"], "frames in report --json")


DIFF_TOTALS = """\
Base: base.json: ./server --port 8080
New:  new.json: ./server --port 8080
total         3,004,220 -> 3,302,648 B  +298,428 B (+9.9%)
total_blocks  517 -> 261  -256 (-49.5%)
peak          2,000,132 -> 2,200,132 B  +200,000 B (+10.0%)
peak_blocks   7 -> 7  +0 (+0.0%)
end           1,000,100 -> 1,100,600 B  +100,500 B (+10.0%)
end_blocks    2 -> 3  +1 (+50.0%)
"""


@test
def diff_matches_sites_across_builds():
    check_output(["diff", "base.json", "new.json", "-s", "blocks", "-n", "3"],
                 DIFF_TOTALS + """\
Sites:        4 changed, 3 shown, by the largest change of total_blocks

#1 total -2,048 B (4,096 -> 2,048), total_blocks -256 (512 -> 256), peak +0 B (32 -> 32), end +0 B (0 -> 0)
    parse_header (http.c:17)
    read_request (http.c:60)
    main (server.c:120)

#2 total +500 B (0 -> 500), total_blocks +1 (0 -> 1), peak +0 B (0 -> 0), end +500 B (0 -> 500)
    load_config (config.c:9)
    main (server.c:120)

#3 total -24 B (24 -> 0), total_blocks -1 (1 -> 0), peak +0 B (0 -> 0), end +0 B (0 -> 0)
    read_request (http.c:60)
    main (server.c:120)
""")
    r = analyze(["diff", "base.json", "new.json", "-s", "blocks", "-n", "3", "--all-frames"])
    check("""
#3 total -24 B (24 -> 0), total_blocks -1 (1 -> 0), peak +0 B (0 -> 0), end +0 B (0 -> 0)
    std::vector<int, std::allocator<int> >::push_back(int const&) (stl_vector.h:1198)
    read_request (http.c:60)
    main (server.c:120)
""" in r.stdout, "diff --all-frames: " + r.stdout)
    r = analyze(["diff", "base.json", "new.json", "--json", "-n", "1"])
    d = json.loads(r.stdout)
    check_eq(d["change"], {"total": 298428, "total_blocks": -256, "peak": 200000,
                           "peak_blocks": 0, "end": 100500, "end_blocks": 1},
             "diff --json change")
    check_eq((d["sites_compared"], d["changed_sites"], len(d["sites"])),
             (True, 4, 1), "diff --json sites")
    check_eq(d["sites"][0]["frames"], ["grow_cache (cache.c:42)",
                                       "handle_request (server.c:88)",
                                       "main (server.c:120)"], "site frames")
    check_eq(d["sites"][0]["change"]["peak"], 200000, "site peak change")


def on_a_terminal(args, env):
    """stdout of dhtrace through a pseudo-terminal."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen([DHTRACE] + args, stdout=slave, stderr=subprocess.DEVNULL,
                         cwd=FIXTURES, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    p.wait(timeout=60)
    return out.decode()


@test
def diff_colours_only_on_a_terminal():
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    out = on_a_terminal(["diff", "base.json", "new.json", "-n", "1"], env)
    check("peak          2,000,132 -> 2,200,132 B  \033[31m+200,000 B\033[0m (+10.0%)"
          in out, "no red growth in %r" % out)
    check("total_blocks  517 -> 261  \033[32m-256\033[0m (-49.5%)" in out,
          "no green drop in %r" % out)
    out = on_a_terminal(["diff", "base.json", "new.json", "-n", "1"],
                        dict(env, NO_COLOR="1"))
    check("\033[" not in out, "colour with NO_COLOR: %r" % out)
    r = subprocess.run([DHTRACE, "diff", "base.json", "new.json"], cwd=FIXTURES,
                       env=env, capture_output=True, text=True, timeout=60)
    check("\033[" not in r.stdout, "colour into a pipe")


@test
def gates_pass_fail_and_bad_expressions():
    gates = ["--fail-if", "peak>+5%", "--fail-if", "total_blocks>+1000",
             "--fail-if", "end>0", "--fail-if", "peak_blocks>=+0"]
    r = analyze(["diff", "base.json", "new.json", "-n", "0"] + gates)
    check_eq(r.stderr,
             "dhtrace: gate failed: peak>+5%: 2,000,132 -> 2,200,132 (+10.0%)\n"
             "dhtrace: gate failed: end>0: 1,000,100 -> 1,100,600 (+10.0%)\n"
             "dhtrace: gate failed: peak_blocks>=+0: 7 -> 7 (+0.0%)\n",
             "failed gates")
    check_eq(r.returncode, 1, "exit status of failed gates")
    r = analyze(["diff", "base.json", "new.json", "--fail-if", "peak>+10%",
                 "--fail-if", "total<-1"])
    check_eq((r.returncode, r.stderr), (0, ""), "passing gates")
    r = analyze(["report", "base.json", "--fail-if", "peak>1.5MiB",
                 "--fail-if", "end_blocks>2"])
    check_eq((r.returncode, r.stderr),
             (1, "dhtrace: gate failed: peak>1.5MiB: 2,000,132\n"), "report gate")
    for args, err in (
            (["diff", "base.json", "new.json", "--fail-if", "peak>>5"],
             "dhtrace: bad --fail-if 'peak>>5': expected a number after the operator\n"),
            (["diff", "base.json", "new.json", "--fail-if", "rss>5"],
             "dhtrace: bad --fail-if 'rss>5': the metric is total, total_blocks, "
             "peak, peak_blocks, end or end_blocks\n"),
            (["report", "base.json", "--fail-if", "peak>+5%"],
             "dhtrace: --fail-if 'peak>+5%': a change (+ or -) needs dhtrace diff "
             "BASE NEW\n"),
            (["report", "base.json", "--sort", "size"],
             "dhtrace: invalid --sort 'size' (see --help)\n"),
            (["diff", "base.json", "-s", "lifetime", "new.json"],
             "dhtrace: invalid -s 'lifetime' (see --help)\n"),
            (["report", "base.json", "--match", "("],
             "dhtrace: invalid --match regular expression '(' (see --help)\n"),
            (["diff", "base.json"],
             "dhtrace: diff takes BASE and NEW (see dhtrace diff --help)\n")):
        r = analyze(args)
        check_eq((r.returncode, r.stdout, r.stderr), (2, "", err), " ".join(args))


@test
def baseline_summary_for_diff_and_gates():
    out = os.path.join(WORK, "base-baseline.json")
    r = analyze(["baseline", "base.json", "-o", out])
    check_eq((r.returncode, r.stdout, r.stderr), (0, "", ""), "baseline")
    with open(out) as f:
        b = json.load(f)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=FIXTURES,
                          capture_output=True, text=True).stdout.strip()
    check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", b.pop("time")),
          "baseline time")
    check_eq(b, {"dhtraceBaseline": 1, "total": 3004220, "total_blocks": 517,
                 "peak": 2000132, "peak_blocks": 7, "end": 1000100,
                 "end_blocks": 2, "cmd": "./server --port 8080",
                 "git_commit": head}, "baseline")
    # Outside a repository there is no commit.
    r = subprocess.run([DHTRACE, "baseline", os.path.join(FIXTURES, "new.json")],
                       cwd=WORK, capture_output=True, text=True, timeout=60)
    check_eq(r.returncode, 0, "baseline outside a repository")
    with open(os.path.join(WORK, "memory-baseline.json")) as f:
        check_eq(json.load(f)["git_commit"], None, "git_commit outside a repository")
    r = analyze(["diff", out, "new.json", "--fail-if", "peak>+5%"])
    check_eq(r.stdout.splitlines()[1:],
             DIFF_TOTALS.splitlines()[1:] +
             ["Sites:        not compared: a baseline has no call sites"],
             "diff against a baseline")
    check(r.stdout.startswith("Base: %s: ./server --port 8080 (baseline of " % out),
          "base line: " + r.stdout.splitlines()[0])
    check_eq((r.returncode, r.stderr),
             (1, "dhtrace: gate failed: peak>+5%: 2,000,132 -> 2,200,132 (+10.0%)\n"),
             "gate against a baseline")


@test
def analysis_needs_no_root_and_reports_bad_files():
    bad = os.path.join(WORK, "truncated.json")
    with open(os.path.join(FIXTURES, "base.json")) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(text[:200])
    os.chmod(WORK, 0o777)
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                        "--clear-groups", "--inh-caps=-all", DHTRACE, "report",
                        os.path.join(FIXTURES, "base.json"), "-n", "0"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, NO_COLOR="1"))
    check_eq((r.returncode, r.stderr), (0, ""), "report as nobody")
    check(r.stdout.startswith(BASE_SUMMARY), "report as nobody: " + r.stdout)
    for args in (["report", bad], ["diff", bad, "new.json"],
                 ["baseline", bad, "-o", os.path.join(WORK, "bl.json")]):
        r = analyze(args)
        check_eq((r.returncode, r.stdout), (1, ""), " ".join(args))
        check(re.match(r"^dhtrace: %s: byte \d+: .*\n$" % re.escape(bad), r.stderr),
              "one-line error: %r" % r.stderr)
    check(not os.path.exists(os.path.join(WORK, "bl.json")), "baseline written")
    r = analyze(["report", "no-such.json"])
    check_eq((r.returncode, r.stderr),
             (1, "dhtrace: cannot open no-such.json: No such file or directory\n"),
             "missing file")
    r = analyze(["diff", "base.json", "no-such.json"])
    check_eq((r.returncode, r.stderr),
             (1, "dhtrace: cannot open no-such.json: No such file or directory\n"),
             "missing file in diff")



# --- report and diff on pprof files ----------------------------------------

def without_json_only(text):
    """A text report without what pprof files cannot carry: lifetimes, the
    time of t-gmax, the heap over time, and the overhead line (a comment
    in pprof, which report does not read back)."""
    text = re.sub(r", at [\d,]+ of [\d,]+ µs\n", "\n", text)
    text = re.sub(r"^Overhead: .*\n", "", text, flags=re.M)
    text = re.sub(r"^Over time: .*\n.*\^ t-gmax\n", "", text, flags=re.M)
    return re.sub(r"^    avg lifetime .*\n", "", text, flags=re.M)


def report_rows(path):
    """report --json -n 0: the summary and rows, frames without addresses,
    no lifetimes."""
    r = analyze(["report", "--json", "-n", "0", path])
    check_eq((r.returncode, r.stderr), (0, ""), "report --json " + path)
    rep = json.loads(r.stdout)
    for k in ("time_unit", "t_gmax", "rows"):
        rep.pop(k)
    rows = json.loads(r.stdout)["rows"]
    for row in rows:
        row.pop("lifetime_sum")
        row.pop("short_lived_blocks")
        row["frames"] = [f.split(": ", 1)[1] for f in row["frames"]]
    return rep, rows


@test
def report_and_diff_read_pprof_like_json():
    for cmd, name in (([prog("t_alloc")], "rp-t_alloc"),
                      ([nofp("t_cxx")], "rp-t_cxx")):
        p, pb, _ = trace_both(cmd, name)
        js = pb[:-len(".pb.gz")] + ".json"
        check_eq(report_rows(pb), report_rows(js), "report --json of %s" % name)
        for args in (["-vv", "-n", "0"], ["--by", "function"], ["--leaks"],
                     ["-s", "peak", "--match", "main"]):
            mine, theirs = analyze(["report", pb] + args), analyze(["report", js] + args)
            check_eq((mine.returncode, mine.stderr), (0, ""), "report %s" % args)
            check_eq(mine.stdout, without_json_only(theirs.stdout),
                     "report %s of %s" % (" ".join(args), name))
        r = analyze(["diff", "--json", js, pb])
        check_eq((r.returncode, r.stderr), (0, ""), "diff JSON pprof")
        d = json.loads(r.stdout)
        check_eq((d["change"], d["changed_sites"], d["sites"]),
                 ({m: 0 for m in d["change"]}, 0, []), "diff of %s" % name)
        check_eq({k: v for k, v in d["new"].items() if k != "file"},
                 {k: v for k, v in d["base"].items() if k != "file"},
                 "both sides of the diff of %s" % name)
    # gates and baselines on the last one
    peak = totals(p)["gmax"][0]
    check_output(["report", pb, "--fail-if", "peak>%d" % peak], analyze(["report", pb]).stdout)
    r = analyze(["report", pb, "--fail-if", "peak>%d" % (peak - 1), "--fail-if", "end>0"])
    check_eq((r.returncode, r.stderr),
             (1, "dhtrace: gate failed: peak>%d: %s\ndhtrace: gate failed: end>0: %s\n"
              % (peak - 1, "{:,}".format(peak), "{:,}".format(totals(p)["end"][0]))),
             "gates on a pprof file")
    r = analyze(["diff", js, pb, "--fail-if", "total>+0", "--fail-if", "peak>+0%"])
    check_eq((r.returncode, r.stderr), (0, ""), "relative gates, no change")
    bl = os.path.join(WORK, "rp-baseline.json")
    r = analyze(["baseline", pb, "-o", bl])
    check_eq((r.returncode, r.stderr), (0, ""), "baseline of a pprof file")
    with open(bl) as f:
        b = json.load(f)
    check_eq([b[m] for m in ("total", "peak", "end", "cmd")],
             [totals(p)["total"][0], peak, totals(p)["end"][0], p["cmd"]],
             "baseline numbers")
    r = analyze(["diff", bl, pb, "--fail-if", "peak>+0"])
    check_eq((r.returncode, r.stderr), (0, ""), "diff baseline pprof")


def varint(v):
    out = b""
    while True:
        out += bytes([(v & 0x7f) | (0x80 if v > 0x7f else 0)])
        v >>= 7
        if not v:
            return out


def field(num, payload):
    """A length-delimited protobuf field."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


@test
def bad_pprof_files_are_one_line_errors():
    _, pb, _ = trace_both([prog("t_alloc")], "bad-t_alloc")
    with open(pb, "rb") as f:
        gz = f.read()
    raw = gzip.decompress(gz)
    # one sample type, one sample at location 7 (no such location)
    no_loc = (field(1, b"\x08\x01") + field(2, b"\x0a\x01\x07\x12\x01\x05")
              + field(6, b"") + field(6, b"alloc_space"))
    cases = {
        "truncated.pb.gz": (gz[:len(gz) // 2], "truncated gzip data"),
        "corrupt.pb.gz": (gz[:20] + bytes(b ^ 0x55 for b in gz[20:40]) + gz[40:],
                          None),
        "cut.pb": (raw[:len(raw) - 3], None),
        "no-location.pb": (no_loc, "pprof: sample 0: no location with id 7"),
        "bad-string.pb": (field(1, b"\x08\x05") + field(6, b""),
                          "pprof: sample type: string index 5 is out of range (1 strings)"),
        "huge-length.pb": (b"\x12" + varint(1 << 62) + b"\x00",
                           "pprof: profile: malformed protobuf at byte 0 of the profile"),
    }
    bl = os.path.join(WORK, "bad-baseline.json")
    for name, (data, msg) in cases.items():
        path = os.path.join(WORK, name)
        with open(path, "wb") as f:
            f.write(data)
        for args in (["report", path], ["diff", path, "new.json"],
                     ["diff", "base.json", path], ["baseline", path, "-o", bl]):
            r = analyze(args)
            check_eq((r.returncode, r.stdout), (1, ""), " ".join(args))
            check(re.match(r"^dhtrace: %s: [^\n]+\n$" % re.escape(path), r.stderr),
                  "one-line error: %r" % r.stderr)
            if msg:
                check_eq(r.stderr, "dhtrace: %s: %s\n" % (path, msg), " ".join(args))
    check(not os.path.exists(bl), "baseline written from a bad file")


# --- the plumbing folded away ----------------------------------------------

def source_line(src, text):
    """The line of tests/progs/SRC that holds text (1 for the first)."""
    with open(os.path.join(ROOT, "tests", "progs", src)) as f:
        return 1 + [i for i, l in enumerate(f) if text in l][0]


def shown_rows(path, *extra):
    """report --json -n 0 (EXTRA options): the rows, each site's frames
    without their addresses."""
    r = analyze(["report", "--json", "-n", "0", path] + list(extra))
    check_eq((r.returncode, r.stderr), (0, ""), "report --json %s %s" % (path, extra))
    rows = json.loads(r.stdout)["rows"]
    for row in rows:
        row["frames"] = [frame_key(f) for f in row["frames"]]
    return rows


SHORT_LOCATION = re.compile(r"\((?:[^()]*/)?([^()/:]*:\d+)(?::\d+)?\)$")


def short_location(frame):
    """A frame with its file's last component and without a column, as
    valgrind prints Rust's (dhtrace prints the path and line:col)."""
    return SHORT_LOCATION.sub(r"(\1)", frame)


START_UP = re.compile(r"lang_start|__rust_begin_short_backtrace|^main \(in |"
                      r"^\(below main\)|__libc_start")


def check_sites_shown(path, src, first=None, outer=None):
    """report of the profile at path shows each site from its first frame of
    the program's own: the innermost frame in SRC of all its frames (when
    it has one), those in the set FIRST (short_location()s); its outermost
    frame shown matches OUTER, nothing below main is shown; --all-frames shows every frame of
    the file, in the same rows: one per program point, also where sites
    show the same frames. Returns the rows shown."""
    with open(path) as f:
        p = json.load(f)
    shown, every = shown_rows(path), shown_rows(path, "--all-frames")
    check_eq(sorted(tuple(r["frames"]) for r in every),
             sorted(tuple(frame_key(p["ftbl"][i]) for i in pp["fs"]) for pp in p["pps"]),
             "--all-frames: the file's frames")
    check_eq(len(shown), len(p["pps"]), "rows: one per program point")
    firsts = set()
    for a, b in zip(shown, every):
        fa, fb = a["frames"], b["frames"]
        check_eq(a["total"], b["total"], "the same rows in both")
        check(any(fb[i:i + len(fa)] == fa for i in range(len(fb))),
              "%r is not a run of %r" % (fa, fb))
        own = [f for f in fb if "(%s:" % src in short_location(f)]
        check(not [f for f in fa if START_UP.search(f)] or len(fa) == 1,
              "start-up shown: %r" % fa)
        if not own:
            continue
        check_eq(fa[0], own[0], "the first frame shown of %r" % fb)
        check(re.match(outer, short_location(fa[-1])),
              "outermost frame shown %r, of %r" % (fa[-1], fb))
        firsts.add(short_location(fa[0]))
    if first is not None:
        check_eq(firsts, first, "first frames shown")
    return shown


def rust_firsts():
    """The first frames of t_rust's call sites (rustc -O0)."""
    src = "t_rust.rs"
    line = lambda text: source_line(src, text)
    return {
        "t_rust::words (t_rust.rs:%d)" % line('format!("key-{}"'),
        "t_rust::words (t_rust.rs:%d)" % line(".push(i as u32)"),
        "t_rust::tree::{{closure}} (t_rust.rs:%d)" % line("into_boxed_slice()"),
        "t_rust::tree (t_rust.rs:%d)" % line("into_boxed_slice()"),
        "t_rust::shapes::{{closure}} (t_rust.rs:%d)" % line("Box::new(Square(i))"),
        "t_rust::shapes (t_rust.rs:%d)" % line("Box::new(Square(i))"),
        "t_rust::main (t_rust.rs:%d)" % line("Rc::new(vec![0u64; 1000])"),
        "t_rust::main (t_rust.rs:%d)" % line("Rc::clone(&shared)"),
        "t_rust::main (t_rust.rs:%d)" % line("std::mem::forget"),
    }


def valgrind_deep(cmd, name):
    """valgrind's DHAT with 40 frames a stack: no stack cut before main."""
    out = os.path.join(WORK, name + ".valgrind-deep.json")
    r = subprocess.run(["valgrind", "--tool=dhat", "--num-callers=40",
                        "--run-libc-freeres=no", "--run-cxx-freeres=no",
                        "--dhat-out-file=" + out] + cmd, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=600)
    check(os.path.exists(out), "valgrind failed: " + r.stderr[-500:])
    return out


def deep_trace(cmd, name):
    """dhtrace with 40 frames a stack: the JSON's path."""
    trace(cmd, name, ["--max-frames", "40"])
    return os.path.join(WORK, name + ".dhtrace.json")


@test
def report_shows_rust_sites_from_the_programs_frames():
    # The allocator, alloc's and std's internals and the start-up below
    # t_rust::main are folded: in dhtrace's file, in valgrind's (which
    # has its malloc wrapper too), and optimized (its inlined calls).
    outer = r"t_rust::main \(t_rust\.rs:\d+\)$"
    mine = deep_trace([prog("t_rust")], "shown-t_rust")
    rows = check_sites_shown(mine, "t_rust.rs", rust_firsts(), outer)
    # (columns tell words()'s two sites of one line apart; of tree()'s
    # several show the same frames)
    tree = [r for r in rows if r["frames"][0].startswith("t_rust::tree (")]
    check(len(tree) > len({tuple(r["frames"]) for r in tree}),
          "no two sites of tree() showing the same frames: %r" % tree)
    check_sites_shown(valgrind_deep([prog("t_rust")], "t_rust"), "t_rust.rs",
                      rust_firsts(), outer)
    check_sites_shown(deep_trace([nofp("t_rust")], "shown-t_rust-nofp"),
                      "t_rust.rs", None, outer)
    # the plumbing is back with --all-frames
    text = analyze(["report", mine, "-n", "1", "--all-frames"]).stdout
    check(re.search(r"^    (alloc|<alloc::raw_vec|__rust_alloc)", text, re.M),
          "report --all-frames: " + text)


def cxx_firsts():
    stl = lambda text: source_line("t_stl.cc", text)
    cxx = lambda text: source_line("t_cxx.cc", text)
    return {
        "t_stl.cc": {
            "build() (t_stl.cc:%d)" % stl("m[key].push_back(j)"),
            "main (t_stl.cc:%d)" % stl("std::make_shared"),
            "main (t_stl.cc:%d)" % stl("new std::string(64"),
        },
        "t_cxx.cc": {"leak_ints() (t_cxx.cc:%d)" % cxx("return new int[3]")} | {
            "main (t_cxx.cc:%d)" % cxx(text) for text in (
                "new int(7)", "new char[100]", "new Wide", "::operator new(1000",
                "new (std::nothrow)", "v.push_back(i)", "std::string s(200")},
    }


@test
def report_shows_cxx_sites_from_the_programs_frames():
    # std::allocator, std::__new_allocator, allocator_traits, _M_allocate,
    # the containers and operator new are folded, with the headers'
    # inlined calls of the optimized builds.
    firsts = cxx_firsts()
    for name in ("t_stl", "t_cxx"):
        src = name + ".cc"
        outer = r"main \(%s:\d+\)$" % re.escape(src)
        mine = deep_trace([prog(name)], "shown-" + name)
        check_sites_shown(mine, src, firsts[src], outer)
        check_sites_shown(valgrind_deep([prog(name)], name), src, firsts[src], outer)
        check_sites_shown(deep_trace([nofp(name)], "shown-%s-nofp" % name), src,
                          None, outer)
    text = analyze(["report", mine, "-n", "0", "--all-frames"]).stdout
    check("    std::__new_allocator<long>::allocate(unsigned long, void const*) (new_allocator.h:"
          in text, "report --all-frames: " + text)


def check_folded_shown(path, p, firsts, root):
    """Folded stacks of the profile at path: the same totals as the file;
    a stack with the program's functions ends in one of FIRSTS (first
    frames shown, names only) and starts at ROOT. Returns them."""
    check_folded_totals(path, p)
    names = {f.rsplit(" (", 1)[0] for f in firsts}
    stacks = folded(path)
    for stack in stacks:
        labels = stack.split(";")
        if not any(l in names for l in labels):
            continue
        check(labels[-1] in names, "leaf of %r" % stack)
        check_eq(labels[0], root, "root of %r" % stack)
    return stacks


@test
def folded_stacks_lack_the_plumbing():
    path = deep_trace([prog("t_rust")], "folded-t_rust")
    with open(path) as f:
        p = json.load(f)
    stacks = check_folded_shown(path, p, rust_firsts(), "t_rust::main")
    # (a stack of plumbing alone keeps its innermost frame)
    check(not [k for k in stacks if re.search(r"lang_start|^main;|__rust_alloc", k) or
               ";" in k and re.search(r"(^|;)<?alloc::alloc::", k)],
          "plumbing in %r" % stacks)
    # sites showing the same frames are summed
    rows = [r for r in shown_rows(path) if len(r["frames"]) == 2 and
            r["frames"][0].startswith("t_rust::words (")]
    check_eq(stacks["t_rust::main;t_rust::words"], sum(r["total"] for r in rows),
             "words()'s bytes")
    every = folded(path, all_frames=True)
    check(any(k.startswith("main;std::rt::lang_start;") for k in every),
          "no start-up with --all-frames: %r" % list(every)[:5])
    for name in ("t_stl", "t_cxx"):
        path = deep_trace([prog(name)], "folded-" + name)
        with open(path) as f:
            p = json.load(f)
        stacks = check_folded_shown(path, p, cxx_firsts()[name + ".cc"], "main")
        check(not [k for k in stacks if "std::" in k or "operator new" in k],
              "plumbing in %r" % stacks)
        check(any("std::" in k for k in folded(path, all_frames=True)),
              "no std:: frames with --all-frames")


def rows_stack(frames):
    """Frame strings as pprof locations (json_stack()), files by base name."""
    p = {"ftbl": frames}
    stack = json_stack(p, {"fs": range(len(frames))})
    return [(a, tuple((fn, os.path.basename(f), ln) for fn, f, ln in lines))
            for a, lines in stack]


def summed(pairs):
    """(values, stack) pairs as {stack: values summed}: pprof merges the
    samples of one stack (and label)."""
    out = {}
    for vals, stack in pairs:
        key = repr(stack)
        out[key] = tuple(a + b for a, b in zip(out.get(key, (0,) * len(vals)), vals))
    return out


def check_pprof_shows(pb, path):
    """The pprof file at pb has the sites of the JSON at path as report
    shows them: the frames shown, with the numbers of the sites that show
    them. Returns -raw, parsed."""
    raw = pprof_raw(pb)
    r = analyze(["report", "--json", "-n", "0", path])
    rows = json.loads(r.stdout)["rows"]
    keys = ("total_blocks", "total", "end_blocks", "end", "peak_blocks", "peak")
    mine = summed((vals, [(a, tuple((fn, os.path.basename(f), ln) for fn, f, ln in ls))
                          for a, ls in pprof_stack(raw, ids)])
                  for vals, ids, _ in raw["samples"])
    theirs = summed((tuple(row[k] for k in keys), rows_stack(row["frames"]))
                    for row in rows)
    check_eq(mine, theirs, "stacks (locations shown) and their numbers")
    return raw


@test
def pprof_shows_the_programs_functions_as_leaves():
    # Written by the recording and converted from its JSON: the plumbing
    # is folded in both, kept with --all-frames.
    p, pb, _ = trace_both([prog("t_rust")], "leaves-t_rust", ["--max-frames", "40"])
    path = pb[:-len(".pb.gz")] + ".json"
    check_pprof_shows(pb, path)
    converted = os.path.join(WORK, "leaves-t_rust-converted.pb.gz")
    r = dhtrace(["convert", path, converted])
    check_eq((r.returncode, r.stderr), (0, ""), "convert")
    check_pprof_shows(converted, path)
    rows, out = pprof_top(pb, "alloc_space")
    leaves = {}
    for row in shown_rows(path):
        fn = row["frames"][0].rsplit(" (", 1)[0]
        leaves[fn] = leaves.get(fn, 0) + row["total"]
    for fn in ("t_rust::words", "t_rust::tree", "t_rust::tree::{{closure}}",
               "t_rust::shapes", "t_rust::shapes::{{closure}}", "t_rust::main"):
        check_eq(rows.get(fn, (0,))[0], leaves[fn], "-top flat of " + fn)
    check(not [fn for fn, (flat, _) in rows.items()
               if flat and re.match(r"<?(alloc|core|std)::|__rust", fn)],
          "plumbing with bytes of its own in -top:\n" + out)
    p, pb, _ = trace_both([prog("t_stl")], "leaves-t_stl", ["--max-frames", "40"])
    raw = check_pprof_shows(pb, pb[:-len(".pb.gz")] + ".json")
    names = {f.rsplit(" (", 1)[0] for f in cxx_firsts()["t_stl.cc"]}
    check_eq({raw["locations"][ids[0]][2][0][0] for _, ids, _ in raw["samples"]
              if any(fn in names for i in ids
                     for fn, _, _ in raw["locations"][i][2])}, names,
             "leaves of the samples in t_stl.cc")
    # all frames: the JSON's stacks exactly
    p, pb, _ = trace_both([prog("t_stl")], "leaves-t_stl-all",
                          ["--max-frames", "40", "--all-frames"])
    check_pprof_like_json(pb, p)


@test
def report_groups_stripped_code_by_object():
    # libsqlite3 is stripped: its functions group as "??? in libsqlite3.so.0"
    script = os.path.join(WORK, "groups.sql")
    with open(script, "w") as f:
        f.write("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);\nBEGIN;\n")
        for i in range(300):
            f.write("INSERT INTO t(b) VALUES('row %d %s');\n" % (i, "y" * (i % 40)))
        f.write("COMMIT;\n")
    trace(["sqlite3", ":memory:"], "groups-sqlite3", stdin=script)
    r = analyze(["report", os.path.join(WORK, "groups-sqlite3.dhtrace.json"),
                 "--by", "function", "--json", "-n", "0"])
    groups = [g["group"] for g in json.loads(r.stdout)["rows"]]
    check([g for g in groups if re.match(r"^\?\?\? in libsqlite3\.so\.0[.\d]*$", g)],
          "no ??? in libsqlite3.so.0 group: %r" % groups)
    check("???" not in groups, "a group of all unknown code: %r" % groups)


def main():
    if os.geteuid() != 0:
        print("tests/run.py: the suite loads BPF programs: run it as root")
        print("0 passed, 1 failed")
        return 1
    run_unit_tests()
    for fn in TESTS:
        if only and not any(o in fn.__name__ for o in only):
            continue
        try:
            fn()
            report(fn.__name__, True)
        except Fail as e:
            report(fn.__name__, False, str(e))
        except Exception as e:  # a crash in a test is a failure, not an abort
            report(fn.__name__, False, "%s: %s" % (type(e).__name__, e))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
