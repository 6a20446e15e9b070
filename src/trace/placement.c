// SPDX-License-Identifier: GPL-2.0
/*
 * Where to put a function's probes. The kernel emulates a uprobe'd push,
 * jmp, jcc, call or nop, but single-steps anything else out of line, at
 * several times the cost (25 us a hit on some VMs). An allocator's first
 * instructions are often a compare or a load (jemalloc's malloc starts
 * with `cmp $0x1000,%rdi`), so the probes go further in: to the first
 * emulated instruction straight-line code reaches, past instructions that
 * change nothing the probes read. Those are the stack pointer (the return
 * address at its top; the return probe hijacks it there), the frame
 * pointer, memory, and the arguments: an argument copied to another
 * register before its own is overwritten is read from the copy
 * (mimalloc's malloc moves its size to %rsi first).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "trace/insn.h"

#define MAX_SKIP 64		/* bytes of prologue looked through */
#define MAX_FUNCTION 65536	/* bytes looked at for branches into it */

enum { REG_SP = 4, REG_BP = 5 };

/* The System V argument registers, in x86 numbering. */
static const uint8_t arg_regs[] = { 7, 6, 2, 1, 8, 9 };

/* The 64-bit register (x86 number) that Capstone register @reg is part
 * of, or -1 for anything else (rip, flags, vector registers). */
static int gpr_of(csh cs, unsigned int reg)
{
	static const char *const legacy[] = { "ax", "cx", "dx", "bx",
					      "sp", "bp", "si", "di" };
	static const char *const low8[] = { "al", "cl", "dl", "bl",
					    "spl", "bpl", "sil", "dil" };
	const char *name = cs_reg_name(cs, reg);
	size_t len;

	if (!name)
		return -1;
	if (name[0] == 'r' && isdigit((unsigned char)name[1]))
		return atoi(name + 1);
	len = strlen(name);
	for (int i = 0; i < 8; i++) {
		const char *base = name + (len == 3 && (name[0] == 'r' ||
							 name[0] == 'e'));

		if (!strcmp(base, legacy[i]) || !strcmp(name, low8[i]))
			return i;
		if (i < 4 && len == 2 && name[0] == legacy[i][0] &&
		    name[1] == 'h')
			return i;	/* ah, ch, dh, bh */
	}
	return -1;
}

/* One of the kernel's x86_nops, by length. */
static const uint8_t *const x86_nops[] = {
	NULL,
	(const uint8_t *)"\x90",
	(const uint8_t *)"\x66\x90",
	(const uint8_t *)"\x0f\x1f\x00",
	(const uint8_t *)"\x0f\x1f\x40\x00",
	(const uint8_t *)"\x0f\x1f\x44\x00\x00",
	(const uint8_t *)"\x66\x0f\x1f\x44\x00\x00",
	(const uint8_t *)"\x0f\x1f\x80\x00\x00\x00\x00",
	(const uint8_t *)"\x0f\x1f\x84\x00\x00\x00\x00\x00",
};

static bool is_legacy_prefix(uint8_t b)
{
	return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 ||
	       b == 0xf3 || b == 0x2e || b == 0x36 || b == 0x3e ||
	       b == 0x26 || b == 0x64 || b == 0x65;
}

/* Whether the kernel (arch/x86/kernel/uprobes.c) emulates the
 * instruction @b[@n] rather than single-stepping it. */
static bool kernel_emulates(const uint8_t *b, unsigned int n)
{
	unsigned int i = 0;
	bool opsize = false;

	if (n < sizeof(x86_nops) / sizeof(x86_nops[0]) && x86_nops[n] &&
	    !memcmp(b, x86_nops[n], n))
		return true;
	if (n == 1 && b[0] >= 0x50 && b[0] <= 0x57)
		return true;			/* push %reg */
	if (n == 2 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57)
		return true;			/* push %r8..%r15 */
	for (; i < n && is_legacy_prefix(b[i]); i++)
		opsize |= b[i] == 0x66;
	if (i < n && b[i] >= 0x40 && b[i] <= 0x4f)
		i++;				/* REX */
	if (i >= n)
		return false;
	if (b[i] == 0x90)
		return true;			/* prefixes + nop */
	if (opsize)
		return false;			/* 16-bit branches: no */
	if (b[i] == 0xeb || b[i] == 0xe9 || b[i] == 0xe8 ||
	    (b[i] >= 0x70 && b[i] <= 0x7f))
		return true;			/* jmp, call, jcc rel */
	return i + 1 < n && b[i] == 0x0f && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f;
}

/* The lowest address in (start, end) a direct branch of the function
 * goes to: a probe there or past it would be hit again. */
static uint64_t first_branch_target(struct decoder *d,
				    const struct elf_code *code,
				    uint64_t start, uint64_t end)
{
	uint64_t lowest = end, target;
	const cs_insn *i;

	for (uint64_t at = start; at < end; at += i ? i->size : 1) {
		i = decode_at(d, code, at);
		if (i && insn_direct_target(i, &target) && target > start &&
		    target < lowest)
			lowest = target;
	}
	return lowest;
}

/* The registers holding each argument, after instruction @i; false if
 * @i writes what the probes read. */
static bool still_readable(struct decoder *d, const cs_insn *i,
			   unsigned int nargs, uint32_t *holders)
{
	const cs_x86 *x = &i->detail->x86;
	cs_regs reads, writes;
	uint8_t nreads, nwrites;
	uint32_t written = 0;
	int src = -1, dst = -1;

	if (insn_in_group(i, CS_GRP_JUMP) || insn_in_group(i, CS_GRP_CALL) ||
	    insn_in_group(i, CS_GRP_RET) || insn_in_group(i, CS_GRP_INT) ||
	    insn_in_group(i, CS_GRP_IRET) || insn_in_group(i, CS_GRP_PRIVILEGE))
		return false;
	for (uint8_t o = 0; o < x->op_count; o++)
		if (x->operands[o].type == X86_OP_MEM &&
		    (x->operands[o].access & CS_AC_WRITE))
			return false;
	if (cs_regs_access(d->cs, i, reads, &nreads, writes, &nwrites))
		return false;
	for (uint8_t w = 0; w < nwrites; w++) {
		int g = gpr_of(d->cs, writes[w]);

		if (g == REG_SP || g == REG_BP)
			return false;
		if (g >= 0)
			written |= 1u << g;
	}
	/* mov %reg64, %reg64: the destination holds what the source did */
	if (i->id == X86_INS_MOV && x->op_count == 2 &&
	    x->operands[0].type == X86_OP_REG && x->operands[0].size == 8 &&
	    x->operands[1].type == X86_OP_REG && x->operands[1].size == 8) {
		dst = gpr_of(d->cs, x->operands[0].reg);
		src = gpr_of(d->cs, x->operands[1].reg);
	}
	for (unsigned int a = 0; a < nargs; a++) {
		uint32_t h = holders[a] & ~written;

		if (src >= 0 && dst >= 0 && (holders[a] & 1u << src))
			h |= 1u << dst;
		if (!h)
			return false;
		holders[a] = h;
	}
	return true;
}

/* Argument @a's register: its own if it still holds it, else a copy. */
static uint8_t holder(uint32_t holders, unsigned int a)
{
	if (holders & 1u << arg_regs[a])
		return arg_regs[a];
	return (uint8_t)__builtin_ctz(holders);
}

static void place_at_start(struct decoder *d, const struct elf_code *code,
			   uint64_t start, uint64_t func_offset,
			   struct probe_place *out)
{
	const cs_insn *i = decode_at(d, code, start);

	out->offset = func_offset;
	out->stepped = !i || !kernel_emulates(i->bytes, i->size);
	for (unsigned int a = 0; a < DH_ARGS; a++)
		out->arg_reg[a] = arg_regs[a];
}

void probe_place(struct decoder *d, const struct elf_code *code,
		 uint64_t func_offset, unsigned int nargs,
		 struct probe_place *out)
{
	uint64_t start = elf_code_addr(code, func_offset), limit;
	uint32_t holders[DH_ARGS];
	const cs_insn *i;

	if (nargs > DH_ARGS)
		nargs = DH_ARGS;
	place_at_start(d, code, start, func_offset, out);
	out->nargs = nargs;
	if (!start || !out->stepped)
		return;
	limit = first_branch_target(d, code, start,
				    function_end(code, start, MAX_FUNCTION));
	if (limit > start + MAX_SKIP)
		limit = start + MAX_SKIP;
	for (unsigned int a = 0; a < nargs; a++)
		holders[a] = 1u << arg_regs[a];
	for (uint64_t at = start; at < limit; at += i->size) {
		i = decode_at(d, code, at);
		if (!i)
			return;
		if (kernel_emulates(i->bytes, i->size)) {
			out->offset = func_offset + (at - start);
			out->stepped = false;
			for (unsigned int a = 0; a < nargs; a++)
				out->arg_reg[a] = holder(holders[a], a);
			return;
		}
		if (!still_readable(d, i, nargs, holders))
			return;
	}
}
