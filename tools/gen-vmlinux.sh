#!/bin/sh
# Regenerate vmlinux/<arch>/vmlinux.h from the running kernel's BTF.
# The header is committed so that a build needs no BTF on the build machine.
set -eu
arch=${1:-x86}
cd "$(dirname "$0")/.."
mkdir -p "vmlinux/$arch"
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "vmlinux/$arch/vmlinux.h.tmp"
mv "vmlinux/$arch/vmlinux.h.tmp" "vmlinux/$arch/vmlinux.h"
echo "wrote vmlinux/$arch/vmlinux.h"
