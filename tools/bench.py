#!/usr/bin/env python3
"""`make bench`: what dhtrace costs, as ratios measured in one run.

First what a run costs besides its events (start, attach, detach), and
what an untraced process pays while another is traced. For each workload: native time, time under dhtrace (frame-pointer and DWARF
unwinding), time under empty uprobes on the same functions (the floor this
design cannot go below: the kernel's uprobe trap), and time under valgrind
--tool=dhat; and the slowdown dhtrace estimates at the end of each run
against the slowdown measured. Then the size and build time of the unwinding tables of a few
big objects. The machine is
noisy: every figure is the median of several runs, and only ratios within
this run mean anything.

Last, reading saved profiles: a generated DHAT file of about 200 MB
(tools/gen-dhat.py; BENCH_DHAT_MB to change) read by `cat`, by the JSON
parsers Debian packages (yajl, jansson, json-c), by dhtrace's reader, and
converted by `dhtrace convert` to folded stacks and to pprof, written to
real files: MB/s, peak memory, and time as a multiple of the plain read's.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
DHTRACE = os.path.join(BUILD, "dhtrace")
WORK = tempfile.mkdtemp(prefix="dhtrace-bench-")
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def timed(cmd, stdin=None, env=None, repeat=REPEAT):
    best = []
    for _ in range(repeat):
        f = open(stdin) if stdin else subprocess.DEVNULL
        t = time.monotonic()
        r = subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, **env) if env else None)
        best.append(time.monotonic() - t)
        if stdin:
            f.close()
        if r.returncode != 0:
            sys.exit("bench: %s failed: %s" % (cmd[0], r.stderr[-500:]))
    return statistics.median(best), r.stderr


def dhtrace(extra, cmd):
    return [DHTRACE, "-o", os.path.join(WORK, "bench.json")] + extra + ["--"] + cmd


def events_lost(stderr):
    return "events lost" in stderr or "stacks lost" in stderr


def return_hits(stderr):
    """The return probes run, from the overhead line."""
    m = re.search(r"([\d,]+) returns", stderr)
    return m.group(1) if m else "?"


def workload(name, cmd, pairs, stdin=None):
    native, _ = timed(cmd, stdin)
    floor, floor_err = timed(dhtrace(["--empty-probes"], cmd), stdin)
    fp, _ = timed(dhtrace(["--unwind=fp"], cmd), stdin)
    traced, err = timed(dhtrace([], cmd), stdin)
    sampled, sampled_err = timed(dhtrace(["--sample-bytes", "512K"], cmd),
                                 stdin)
    vg, _ = timed(["valgrind", "--tool=dhat", "--dhat-out-file=" +
                   os.path.join(WORK, "vg.json")] + cmd, stdin)
    print("%s:" % name)
    print("  native %.3fs; x native: empty probes %.2f, dhtrace --unwind=fp %.2f, "
          "dhtrace (DWARF) %.2f, --sample-bytes 512K %.2f (x%.2f exact), "
          "valgrind dhat %.2f"
          % (native, floor / native, fp / native, traced / native,
             sampled / native, sampled / traced, vg / native))
    if pairs:
        print("  per malloc+free pair: empty probes %.2f us, fp %.2f us, DWARF %.2f us"
              % tuple((t - native) / pairs * 1e6 for t in (floor, fp, traced)))
    print("  dhtrace's own work over the floor: fp %+.0f%%, DWARF %+.0f%%"
          % tuple((t - floor) / (floor - native) * 100 for t in (fp, traced)))
    print("  return probes run: exact %s, --sample-bytes 512K %s, empty probes %s"
          % (return_hits(err), return_hits(sampled_err), return_hits(floor_err)))
    print("  events lost: %s" % ("YES" if events_lost(err) else "none"))


def native_usage(cmd, stdin=None):
    """Wall and CPU seconds (user + system) of one untraced run."""
    f = open(stdin) if stdin else subprocess.DEVNULL
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdin=f, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t
    if stdin:
        f.close()
    if status:
        sys.exit("bench: %s failed" % cmd[0])
    return wall, ru.ru_utime + ru.ru_stime


def traced_usage(extra, cmd, stdin=None):
    """One run under dhtrace: its estimate of the cost (traps + BPF
    seconds), the target's CPU seconds as it measured them, and the
    target's lifetime (t-end)."""
    out = os.path.join(WORK, "estimate.json")
    f = open(stdin) if stdin else subprocess.DEVNULL
    r = subprocess.run([DHTRACE, "-o", out] + extra + ["--"] + cmd, stdin=f,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if stdin:
        f.close()
    if r.returncode:
        sys.exit("bench: dhtrace %s failed: %s" % (cmd[0], r.stderr[-500:]))
    with open(out) as j:
        p = json.load(j)
    o = p["dhtraceOverhead"]
    return o["costNs"] / 1e9, o["targetCpuNs"] / 1e9, p["te"] / 1e6


def percent(x):
    return "%+.0f%%" % (x * 100) if x is not None else "unknown"


def estimate_against_measured(name, cmd, stdin=None):
    """dhtrace's own estimate of what it cost the target (its overhead
    line: traps and BPF time) against what it measurably cost: the
    target's CPU time under dhtrace less its native CPU time; that as a
    share of the target's CPU time; and the slowdown each makes
    (dhtrace's: the cost over the target's CPU time less the cost;
    measured: CPU time and lifetime over the native ones). Medians of
    REPEAT runs."""
    native = [native_usage(cmd, stdin) for _ in range(REPEAT)]
    wall = statistics.median(w for w, _ in native)
    cpu = statistics.median(c for _, c in native)
    print("%s (native %.3f s, %.3f s CPU): dhtrace's estimate against "
          "the measured cost" % (name, wall, cpu))
    for what, extra in (("empty probes", ["--empty-probes"]),
                        ("dhtrace", [])):
        runs = [traced_usage(extra, cmd, stdin) for _ in range(REPEAT)]
        cost, tcpu, life = (statistics.median(r[i] for r in runs)
                            for i in range(3))
        est = cost / (tcpu - cost) if tcpu > cost else None
        print("  %-13s added CPU: estimated %.3f s, measured %.3f s (x%.2f), "
              "%.1f%% and %.1f%% of the target's; slowdown: estimated %s, "
              "measured %s in CPU, %s in lifetime (which includes attaching)"
              % (what, cost, tcpu - cpu, cost / (tcpu - cpu),
                 cost / tcpu * 100, (tcpu - cpu) / tcpu * 100, percent(est),
                 percent(tcpu / cpu - 1), percent(life / wall - 1)))


def fixed_cost():
    """What a run costs besides the events: start, attach, detach, exit."""
    true = shutil.which("true")
    native, _ = timed([true], repeat=5)
    multi, _ = timed(dhtrace([], [true]), repeat=5)
    perf, _ = timed(dhtrace([], [true]), env={"DHTRACE_UPROBE_MULTI": "0"},
                    repeat=5)
    print("fixed cost of a run (dhtrace -- true, minus true; median of 5):")
    print("  uprobe_multi links, closed concurrently: %.3f s" % (multi - native))
    print("  one perf uprobe per function (the fallback): %.3f s" % (perf - native))
    target = os.path.join(BUILD, "progs", "t_exec_target")
    n = 100
    storm = ["sh", "-c", "i=0; while [ $i -lt %d ]; do %s; i=$((i+1)); done"
             % (n, target)]
    native, _ = timed(storm)
    traced, err = timed(dhtrace([], storm))
    print("  a shell starting %d short processes: %.1f ms per process traced "
          "(native %.1f ms)" % (n, (traced - native) / n * 1e3, native / n * 1e3))


def untraced_beside_traced(pairs):
    """An untraced malloc loop while another process is traced (-a --comm)."""
    loop = [os.path.join(BUILD, "bench", "mallocfree"), str(pairs)]
    alone, _ = timed(loop)
    spin = subprocess.Popen([os.path.join(BUILD, "progs", "t_spin"), "600"],
                            stdout=subprocess.PIPE)
    spin.stdout.readline()
    t = subprocess.Popen([DHTRACE, "-a", "--comm", "t_spin", "-o",
                          os.path.join(WORK, "all.json")],
                         stderr=subprocess.DEVNULL)
    time.sleep(1)
    beside, _ = timed(loop)
    t.send_signal(2)
    t.wait()
    spin.kill()
    spin.wait()
    print("untraced malloc loop while dhtrace -a --comm traces another process: "
          "x%.2f its time alone" % (beside / alone))


LIBS = "/usr/lib/x86_64-linux-gnu/"


def pair_costs(pairs):
    """The traps alone (--empty-probes) per allocation + release pair,
    under each allocator: the probes' placement decides whether the
    kernel emulates them or single-steps them."""
    bench = os.path.join(BUILD, "bench")
    loop = [os.path.join(bench, "mallocfree"), str(pairs)]
    cases = [("glibc malloc/free", loop, None)]
    for name, lib in (("jemalloc", "libjemalloc.so.2"),
                      ("tcmalloc", "libtcmalloc_minimal.so.4"),
                      ("mimalloc", "libmimalloc.so.2")):
        if os.path.exists(LIBS + lib):
            cases.append(("%s malloc/free (LD_PRELOAD)" % name, loop,
                          {"LD_PRELOAD": LIBS + lib}))
    cases.append(("C++ new[]/delete[] (libstdc++ over glibc)",
                  [os.path.join(bench, "newdelete"), str(pairs)], None))
    cases.append(("Rust Vec on the System allocator",
                  [os.path.join(bench, "rustpairs"), str(pairs)], None))
    cases.append(("Rust Vec on a #[global_allocator] (the shim probed)",
                  [os.path.join(bench, "rustpairs-arena"), str(pairs)], None))
    print("the traps alone per allocation+release pair (--empty-probes; "
          "x glibc's):")
    base = None
    for what, cmd, env in cases:
        native, _ = timed(cmd, env=env)
        floor, _ = timed(dhtrace(["--empty-probes"], cmd), env=env)
        us = (floor - native) / pairs * 1e6
        base = base or us
        print("  %-52s %6.2f us  x%.2f" % (what, us, us / base))


def redis_set_rate():
    """redis-server (Debian links it with jemalloc): SET requests per
    second untraced and with dhtrace attached."""
    server = shutil.which("redis-server")
    client = shutil.which("redis-benchmark")
    if not server or not client:
        return
    port = "6399"
    srv = subprocess.Popen([server, "--port", port, "--save", "",
                            "--appendonly", "no"], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    run = [client, "-p", port, "-t", "set", "-r", "10000", "-n", "50000",
           "-q", "--csv"]

    def rate():
        out = subprocess.run(run, capture_output=True, text=True).stdout
        return float(out.strip().splitlines()[-1].split(",")[1].strip('"'))

    untraced = rate()
    t = subprocess.Popen([DHTRACE, "-p", str(srv.pid), "-o",
                          os.path.join(WORK, "redis.json")],
                         stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    attached = rate()
    t.send_signal(2)
    t.wait()
    srv.terminate()
    srv.wait()
    print("redis-server, redis-benchmark -t set -r 10000: %.0f requests/s "
          "untraced, %.0f attached (x%.2f)" % (untraced, attached,
                                               attached / untraced))


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory_over_time(seconds):
    """dhtrace -p on a service with churn (a bounded heap, ever new
    events) for @seconds: its RSS along the way must not grow with the
    events."""
    churn = subprocess.Popen([os.path.join(BUILD, "bench", "churn")])
    out = os.path.join(WORK, "churn.json")
    t = subprocess.Popen([DHTRACE, "-p", str(churn.pid), "-o", out],
                         stderr=subprocess.PIPE, text=True)
    marks = sorted({max(5, seconds // 10), seconds // 2, seconds})
    rss, start = {}, time.monotonic()
    for m in marks:
        time.sleep(max(0, start + m - time.monotonic()))
        rss[m] = rss_mib(t.pid)
    t.send_signal(2)
    err = t.communicate()[1]
    churn.kill()
    churn.wait()
    hits = re.search(r"overhead: ([\d,]+) probe hits", err)
    with open(out) as f:
        p = json.load(f)
    live = sum(pp["ebk"] for pp in p["pps"])
    print("dhtrace -p on a churning service for %d s (%s probe hits; %d live "
          "blocks, %d program points at the end): RSS %s"
          % (seconds, hits.group(1) if hits else "?", live, len(p["pps"]),
             ", ".join("%.0f MiB at %d s" % (rss[m], m) for m in marks)))


def sqlite_script():
    path = os.path.join(WORK, "bench.sql")
    with open(path, "w") as f:
        f.write("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);\n")
        f.write("BEGIN;\n")
        for i in range(20000):
            f.write("INSERT INTO t(name, v) VALUES('name-%d-%s', %d.5);\n"
                    % (i, "x" * (i % 50), i))
        f.write("COMMIT;\nCREATE INDEX t_name ON t(name);\n")
        f.write("SELECT count(*), sum(v) FROM t WHERE name LIKE 'name-1%';\n")
        f.write("SELECT substr(name, 1, 7) AS k, count(*) FROM t GROUP BY k ORDER BY 2 DESC LIMIT 5;\n")
    return path


def measured(cmd, stdout=subprocess.DEVNULL):
    """Wall seconds and peak RSS (MiB) of one run of cmd."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if status:
        sys.exit("bench: %s failed: %s" % (cmd[0], err[-500:]))
    return wall, ru.ru_maxrss / 1024


def readers():
    mb = int(os.environ.get("BENCH_DHAT_MB", "200"))
    big = os.path.join(WORK, "big.json")
    subprocess.run([os.path.join(ROOT, "tools", "gen-dhat.py"), big, str(mb)],
                   check=True)
    size = os.path.getsize(big) / 1e6
    bench = os.path.join(BUILD, "bench")
    print("reading a %.0f MB DHAT file (MB/s, peak memory):" % size)
    runs = [("cat (the floor)", ["cat", big]),
            ("yajl, callbacks that do nothing", [os.path.join(bench, "parse_yajl"), "yajl", big]),
            ("dhtrace's reader (yajl + DHAT checks)",
             [os.path.join(bench, "parse_yajl"), "dhat_read", big]),
            ("jansson json_loadf (a tree)", [os.path.join(bench, "parse_jansson"), big]),
            ("json-c tokener (a tree)", [os.path.join(bench, "parse_json_c"), big]),
            ("dhtrace convert --format collapsed, to /dev/null",
             [DHTRACE, "convert", big, "-", "--format", "collapsed"])]
    for what, cmd in runs:
        wall, rss = min(measured(cmd) for _ in range(REPEAT))
        print("  %-50s %6.0f MB/s %7.0f MiB" % (what, size / wall, rss))
    base = min(measured([os.path.join(bench, "parse_yajl"), "dhat_read", big])
               for _ in range(REPEAT))[0]
    for name in ("big.folded", "big.pb.gz"):
        out = os.path.join(WORK, name)
        wall, rss = min(measured([DHTRACE, "convert", big, out])
                        for _ in range(REPEAT))
        print("  %-50s %6.0f MB/s %7.0f MiB (%.0f MB written; x%.2f the reader's time)"
              % ("dhtrace convert big.json " + name, size / wall, rss,
                 os.path.getsize(out) / 1e6, wall / base))


def main():
    if os.geteuid() != 0:
        sys.exit("bench: run as root (dhtrace loads BPF programs)")
    pairs = int(os.environ.get("BENCH_PAIRS", "200000"))
    print("dhtrace bench (median of %d runs each)" % REPEAT)
    workload("malloc+free microbenchmark (%d pairs)" % pairs,
             [os.path.join(BUILD, "bench", "mallocfree"), str(pairs)], pairs)
    if shutil.which("sqlite3"):
        workload("sqlite3 running a 20,000-row script",
                 ["sqlite3", ":memory:"], 0, stdin=sqlite_script())
    estimate_against_measured("malloc+free microbenchmark (%d pairs)" % pairs,
                              [os.path.join(BUILD, "bench", "mallocfree"),
                               str(pairs)])
    if shutil.which("sqlite3"):
        estimate_against_measured("sqlite3 running a 20,000-row script",
                                  ["sqlite3", ":memory:"], sqlite_script())
    pair_costs(pairs)
    redis_set_rate()
    fixed_cost()
    untraced_beside_traced(pairs)
    memory_over_time(int(os.environ.get("BENCH_CHURN_SECONDS", "600")))
    r = subprocess.run([os.path.join(BUILD, "bench", "heap_replay")],
                       capture_output=True, text=True)
    print(r.stdout.strip())
    print("unwinding tables (rows of 12 bytes in the kernel):")
    for obj in ("/lib/x86_64-linux-gnu/libc.so.6",
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/bin/python3"):
        real = os.path.realpath(obj)
        r = subprocess.run([os.path.join(BUILD, "tests", "test_cfi"), "--stats",
                            real], capture_output=True, text=True)
        if r.returncode == 0:
            rows, ms = r.stdout.split()
            print("  %s: %s rows, %.2f MiB, built in %s ms"
                  % (os.path.basename(real), rows, int(rows) * 12 / 2**20, ms))
    readers()
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
