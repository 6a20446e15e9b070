#!/bin/sh
# Install the Debian packages dhtrace needs to build, test and benchmark.
# With --if-missing, do nothing when they are all installed already.
set -eu

# Build: compilers, libbpf + bpftool (BPF loading, skeleton), elfutils
# (libelf, libdw: ELF symbols, DWARF lines, inlines), zlib (gzip output),
# libiberty (C++ and Rust demangling), yajl (streaming reader of saved DHAT
# files: SAX callbacks, constant memory), capstone (an x86 decoder: where a
# probe can go without being single-stepped).
BUILD_PKGS="make gcc g++ clang libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev libiberty-dev libyajl-dev libcapstone-dev"
# Tests and benchmarks: valgrind (the DHAT oracle and its viewer), python3
# (test driver), nodejs (runs the real viewer), sqlite3 (a real program),
# binutils (readelf: the oracle for unwinding tables and build ids),
# libc6-dbg (libc frames with file:line, through separate debug files),
# rustc (a Rust test program), golang-go (go tool pprof: the oracle for
# the pprof files), jansson and json-c (the JSON parsers `make bench`
# compares with yajl), jemalloc, tcmalloc and mimalloc (programs linked with
# or preloading another allocator), musl-tools (a static musl binary),
# redis (a real server on jemalloc, for `make bench`), chromium (the
# browser the pages of `dhtrace view` and valgrind's dh_view.html are
# checked in, headless).
TEST_PKGS="valgrind python3 nodejs sqlite3 binutils libc6-dbg rustc golang-go libjansson-dev libjson-c-dev libjemalloc2 libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev musl-tools redis-server redis-tools chromium"

missing=""
for p in $BUILD_PKGS $TEST_PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
# A node from elsewhere on PATH serves as well as Debian's.
case " $missing " in *" nodejs "*) command -v node >/dev/null 2>&1 &&
	missing=$(echo "$missing" | sed 's/ nodejs//') ;; esac

if [ "${1:-}" = "--if-missing" ] && [ -z "$missing" ]; then
	exit 0
fi
[ -n "$missing" ] || missing="$BUILD_PKGS $TEST_PKGS"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
