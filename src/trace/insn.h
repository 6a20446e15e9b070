/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading an allocator's machine code (x86-64, decoded by Capstone): where
 * its probes can go without being single-stepped (placement.c), and
 * whether a wrapper always ends in a call to a function probed anyway
 * (wrappers.c).
 */
#ifndef DHTRACE_INSN_H
#define DHTRACE_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <capstone/capstone.h>

#include "sym/sym.h"
#include "trace/trace.h"

struct decoder {
	csh cs;
	cs_insn *insn;
};

int decoder_open(struct decoder *d);
void decoder_close(struct decoder *d);
/* The instruction at @addr of @code, or NULL where the bytes are none. */
const cs_insn *decode_at(struct decoder *d, const struct elf_code *code,
			 uint64_t addr);
/* A jump or call to an address in the instruction: true, and *@target. */
bool insn_direct_target(const cs_insn *i, uint64_t *target);
/* A jump or call through a pointer at a fixed address (`*slot(%rip)`):
 * true, and *@slot. */
bool insn_slot_target(const cs_insn *i, uint64_t *slot);
bool insn_in_group(const cs_insn *i, unsigned int group);
/* The function at @addr ends where its symbol says, or @max bytes on. */
uint64_t function_end(const struct elf_code *code, uint64_t addr,
		      uint64_t max);

/*
 * Where to put the probes of a function taking @nargs arguments that
 * starts at file offset @func_offset: the first instruction the kernel
 * emulates (push, jmp, jcc, call, nop) that straight-line code from the
 * start reaches, past only instructions that write no memory, neither the
 * stack nor the frame pointer, and leave each argument in some register;
 * no branch may land in between. Else the start, single-stepped unless
 * emulated.
 */
void probe_place(struct decoder *d, const struct elf_code *code,
		 uint64_t func_offset, unsigned int nargs,
		 struct probe_place *out);

/*
 * Whether every way through the function at @addr ends in a call or a
 * tail jump to one of @names (as linked, any version), directly, through
 * the PLT or a GOT slot, or through a tail jump to another function of
 * the object that does (a few deep).
 */
bool fn_always_calls(struct decoder *d, const struct elf_code *code,
		     uint64_t addr, const char *const *names, size_t n);
/* Whether some instruction of the function at @addr calls or jumps to one
 * of @names, directly, through the PLT or a GOT slot. */
bool fn_may_call(struct decoder *d, const struct elf_code *code,
		 uint64_t addr, const char *const *names, size_t n);

#endif
