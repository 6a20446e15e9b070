#!/usr/bin/env python3
"""Write a big, deterministic DHAT JSON file for benchmarks.

    tools/gen-dhat.py OUT [MB]      (default 200 MB)

The shape of a real C++ program's profile, in valgrind's layout (comma
first, access counts and histograms): program points at the leaves of a call tree under
`main`, 5 to 12 frames deep (valgrind's and dhtrace's default depth),
callers shared as in real stacks; a frame
table of C++ names with templates and parameter lists, several lines per
function, so many frames fold into one function. The same arguments
always give the same bytes.
"""
import random
import sys

NAMESPACES = ["app", "net", "db", "util", "io", "core", "gfx", "rpc"]
CLASSES = ["Widget", "Buffer", "Session", "Parser", "Table", "Cache",
           "Node", "Stream", "Handler", "Pool"]
TYPES = ["int", "long", "char", "std::string", "double", "unsigned long",
         "std::vector<int, std::allocator<int> >",
         "std::map<std::string, long, std::less<std::string>, "
         "std::allocator<std::pair<std::string const, long> > >"]
METHODS = ["resize", "insert", "emplace_back", "parse", "flush", "lookup",
           "operator()", "operator=", "reserve", "handle", "visit", "run"]


def function_names(rng, n):
    names = ["main"]
    while len(names) < n:
        ns, cls, m = rng.choice(NAMESPACES), rng.choice(CLASSES), rng.choice(METHODS)
        tmpl = "<%s>" % rng.choice(TYPES) if rng.random() < 0.5 else ""
        args = ", ".join(rng.choice(TYPES) + (" const&" if rng.random() < 0.5 else "")
                         for _ in range(rng.randint(0, 3)))
        names.append("%s::%s%d%s::%s(%s)%s" % (ns, cls, len(names) % 97, tmpl, m, args,
                                              " const" if rng.random() < 0.3 else ""))
    return names


class Frames:
    """The frame table: one string per (function, line), in order of use."""

    def __init__(self, rng, nfuncs):
        self.names = function_names(rng, nfuncs)
        self.base = [0x400000 + 0x1000 * i for i in range(nfuncs)]
        self.index = {}
        self.strings = ["[root]"]

    def get(self, func, line):
        key = (func, line)
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.strings)
            self.strings.append("0x%X: %s (src/m%d/f%d.cc:%d)" % (
                self.base[func] + 4 * line, self.names[func], func % 50,
                func, 10 + 3 * line))
        return i


def pp_text(rng, fs):
    tbk = rng.randint(1, 5000)
    tb = tbk * int(rng.lognormvariate(4, 1.5) + 1)
    gbk, ebk = rng.randint(0, tbk), rng.randint(0, tbk) // 4
    size = tb // tbk
    # Valgrind writes a run-length access histogram for blocks of at most
    # 1024 bytes: "-N,V" is N bytes accessed V times.
    acc = ""
    if size <= 1024:
        runs, left = [], size
        while left:
            n = min(left, rng.randint(1, 64))
            runs += ["-%d" % n, str(rng.choice([0, 1, 2, tbk, 3 * tbk]))]
            left -= n
        acc = '  ,"acc":[%s]\n' % ",".join(runs)
    return ('{"tb":%d,"tbk":%d\n  ,"tl":%d\n  ,"mb":%d,"mbk":%d\n  ,"gb":%d,"gbk":%d\n'
            '  ,"eb":%d,"ebk":%d\n  ,"rb":%d,"wb":%d\n%s  ,"fs":[%s]\n  }'
            % (tb, tbk, rng.randint(0, 10**9), size * max(gbk, 1), max(gbk, 1),
               size * gbk, gbk, size * ebk, ebk, tb // 2, tb, acc,
               ",".join(map(str, fs))))


def main():
    out = sys.argv[1]
    target = int(sys.argv[2] if len(sys.argv) > 2 else 200) * 1000 * 1000
    rng = random.Random(4)
    frames = Frames(rng, 20000)
    alloc = [len(frames.strings), len(frames.strings) + 1]
    frames.strings += [
        "0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_dhat-amd64-linux.so)",
        "0x4842DF3: operator new(unsigned long) "
        "(in /usr/libexec/valgrind/vgpreload_dhat-amd64-linux.so)"]
    size = 0
    first = True
    with open(out, "w") as f:
        head = ('{"dhatFileVersion":2\n,"mode":"heap","verb":"Allocated"\n'
                ',"bklt":true,"bkacc":true\n,"tu":"instrs","Mtu":"Minstr"\n'
                ',"tuth":500\n,"cmd":"./bench-server --threads 8"\n,"pid":4242\n'
                ',"te":987654321012\n,"tg":123456789012\n,"pps":\n [')
        f.write(head)
        size += len(head)
        # Depth first through a random call tree; each leaf is a PP.
        stack = [[frames.get(0, rng.randint(0, 7))]]
        while size < target:
            path = stack.pop() if stack else [frames.get(0, rng.randint(0, 7))]
            depth = len(path)
            if depth >= 4 and (depth >= 11 or rng.random() < 0.3):
                fs = [rng.choice(alloc)] + path[::-1]
                text = ("" if first else "\n ,") + pp_text(rng, fs)
                first = False
                f.write(text)
                size += len(text)
                continue
            for _ in range(rng.randint(1, 4)):
                # Some functions are everywhere, most are rare.
                if rng.random() < 0.5:
                    func = int(rng.paretovariate(0.6)) % len(frames.names)
                else:
                    func = rng.randrange(len(frames.names))
                stack.append(path + [frames.get(func, rng.randint(0, 7))])
        f.write("\n ]\n,\"ftbl\":\n  [" + "\n  ,".join(
            '"%s"' % s for s in frames.strings) + "\n  ]\n}\n")


if __name__ == "__main__":
    main()
