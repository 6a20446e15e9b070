// SPDX-License-Identifier: GPL-2.0
/*
 * Where to put an entry probe. The kernel emulates a uprobe'd push, jmp,
 * jcc, call or nop cheaply, but single-steps anything else out of line,
 * which costs about three times as much (glibc's free() starts with
 * `test %rdi,%rdi`: 19 us per hit against 5.6 us on the `je` after it).
 * So skip leading instructions that change nothing the probe reads (the
 * stack pointer, the frame pointer, the argument registers): endbr64,
 * register tests and compares, and moves into scratch registers. Anything
 * else ends the skip, so the worst case is the function's first byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "trace/trace.h"

#define MAX_SKIP 16	/* bytes of prologue considered */

/* Registers by x86 number: may an instruction write it before the probe?
 * Not rsp (4), rbp (5), nor an argument register: rdi (7), rsi (6),
 * rdx (2), rcx (1), r8 (8), r9 (9). */
static bool scratch_reg(unsigned int reg)
{
	return reg == 0 || reg == 3 || reg >= 10;	/* rax, rbx, r10-r15 */
}

/* Length of a harmless instruction at @c (@n bytes available), or 0. */
static unsigned int harmless_len(const unsigned char *c, unsigned int n)
{
	unsigned int rex = 0, i = 0, reg, rm;

	if (n >= 4 && c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e &&
	    c[3] == 0xfa)
		return 4;	/* endbr64 */
	if (c[0] >= 0x40 && c[0] <= 0x4f)
		rex = c[i++];
	if (i + 2 > n)
		return 0;
	if (c[i] >= 0xb8 && c[i] <= 0xbf && !(rex & 0x8)) {	/* mov $imm32, r32 */
		reg = (c[i] - 0xb8) | (rex & 1) << 3;
		return i + 5 <= n && scratch_reg(reg) ? i + 5 : 0;
	}
	if ((c[i + 1] & 0xc0) != 0xc0)
		return 0;	/* memory operands: not worth decoding */
	reg = ((c[i + 1] >> 3) & 7) | (rex & 4) << 1;
	rm = (c[i + 1] & 7) | (rex & 1) << 3;
	switch (c[i]) {
	case 0x85:		/* test r, r */
	case 0x84:
	case 0x39:		/* cmp r, r */
	case 0x3b:
		return i + 2;
	case 0x89:		/* mov r, r/m: writes rm */
		return scratch_reg(rm) ? i + 2 : 0;
	case 0x8b:		/* mov r/m, r: writes reg */
		return scratch_reg(reg) ? i + 2 : 0;
	}
	return 0;
}

uint64_t probe_offset(const char *path, uint64_t func_offset)
{
	unsigned char code[MAX_SKIP + 8];
	unsigned int at = 0, len;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return func_offset;
	n = pread(fd, code, sizeof(code), func_offset);
	close(fd);
	if (n <= 0)
		return func_offset;
	while (at < MAX_SKIP && (len = harmless_len(code + at, n - at)))
		at += len;
	return func_offset + at;
}
