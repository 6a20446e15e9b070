// SPDX-License-Identifier: GPL-2.0
/*
 * Does a wrapper always end up in a function probed anyway? libstdc++'s
 * operator new is a loop around malloc, its operator delete a jump to
 * free, Rust's shim over the System allocator a call of malloc: probing
 * both layers doubles the traps of every call for the same numbers. The
 * walk follows every branch of the function; a way through it that
 * returns, jumps somewhere unknown or leaves the function's bounds
 * without that call makes the answer no.
 *
 * And may a function call another probed one at all? glibc's realloc(NULL,
 * n) calls malloc, reallocarray calls realloc, musl's calloc its malloc:
 * the inner call is the outer one's, which a sampled run that skips the
 * outer call's return can only tell if that return is kept.
 */
#include <string.h>

#include "trace/insn.h"

#define MAX_DEPTH 4		/* tail jumps followed into other functions */
#define MAX_BLOCKS 128		/* branch targets looked at per function */
#define MAX_FUNCTION 65536

struct walk {
	struct decoder *d;
	const struct elf_code *code;
	const char *const *names;
	size_t n;
};

static bool named(const struct walk *w, const char *linked)
{
	size_t len;
	const char *name;

	if (!linked)
		return false;
	name = sym_linked_name(linked, &len);
	for (size_t i = 0; i < w->n; i++)
		if (strlen(w->names[i]) == len && !strncmp(w->names[i], name, len))
			return true;
	return false;
}

/* Whether a call or a jump to @target reaches one of the names: a
 * function of one of them, or a PLT stub whose slot is bound to one. */
static bool reaches_named(const struct walk *w, uint64_t target)
{
	const char *fn;
	uint64_t slot;

	for (size_t k = 0; (fn = elf_code_function(w->code, target, k, NULL));
	     k++)
		if (named(w, fn))
			return true;
	for (int k = 0; k < 2; k++) {	/* [endbr64;] [bnd] jmp *slot(%rip) */
		const cs_insn *i = decode_at(w->d, w->code, target);

		if (!i)
			return false;
		if (insn_slot_target(i, &slot))
			return named(w, elf_code_slot(w->code, slot));
		if (i->id != X86_INS_ENDBR64)
			return false;
		target += i->size;
	}
	return false;
}

/* What one instruction does to the walk. */
enum step {
	STEP_ON,	/* go on with the next instruction */
	STEP_DONE,	/* this way through has made the call */
	STEP_FAIL,	/* it may return without it */
	STEP_BRANCH,	/* a jump within the function: go on there */
};

struct insn_view {
	unsigned int size;
	bool call, jmp, jcc, ret, stops;
	bool direct, via_slot;
	uint64_t target;	/* direct: the address; via_slot: the slot */
};

static void view_of(const cs_insn *i, struct insn_view *v)
{
	memset(v, 0, sizeof(*v));
	v->size = i->size;
	v->call = insn_in_group(i, CS_GRP_CALL);
	v->jmp = i->id == X86_INS_JMP;
	v->jcc = !v->call && !v->jmp && insn_in_group(i, CS_GRP_JUMP);
	v->ret = insn_in_group(i, CS_GRP_RET) || insn_in_group(i, CS_GRP_IRET);
	v->stops = i->id == X86_INS_UD2 || i->id == X86_INS_HLT;
	v->direct = insn_direct_target(i, &v->target);
	v->via_slot = !v->direct && insn_slot_target(i, &v->target);
}

static bool all_ways_call(const struct walk *w, uint64_t start, int depth);

/* Whether a jump out of the function leads to the call: into one of the
 * functions named, or into another function that always makes it. */
static bool leads_to_call(const struct walk *w, uint64_t target, int depth)
{
	if (reaches_named(w, target))
		return true;
	return depth < MAX_DEPTH &&
	       elf_code_function(w->code, target, 0, NULL) &&
	       all_ways_call(w, target, depth + 1);
}

static enum step step(const struct walk *w, const struct insn_view *v,
		      uint64_t start, uint64_t end, int depth)
{
	bool inside = v->target >= start && v->target < end;

	if (v->ret)
		return STEP_FAIL;
	if (v->stops)
		return STEP_DONE;	/* a trap: this way never returns */
	if (v->via_slot) {
		if (named(w, elf_code_slot(w->code, v->target)))
			return v->jcc ? STEP_ON : STEP_DONE;
		return v->jmp ? STEP_FAIL : STEP_ON;
	}
	if (!v->direct)		/* through a register */
		return v->call ? STEP_ON : v->jmp || v->jcc ? STEP_FAIL : STEP_ON;
	if ((v->call || v->jmp) && reaches_named(w, v->target))
		return STEP_DONE;
	if (v->call)
		return STEP_ON;
	if (inside)
		return STEP_BRANCH;
	if (leads_to_call(w, v->target, depth))
		return v->jcc ? STEP_ON : STEP_DONE;
	return STEP_FAIL;
}

static bool all_ways_call(const struct walk *w, uint64_t start, int depth)
{
	uint64_t end = function_end(w->code, start, MAX_FUNCTION);
	uint64_t todo[MAX_BLOCKS], seen[MAX_BLOCKS];
	size_t ntodo = 0, nseen = 0;
	struct insn_view v;

	todo[ntodo++] = start;
	while (ntodo) {
		uint64_t at = todo[--ntodo];
		bool known = false;

		for (size_t s = 0; s < nseen && !known; s++)
			known = seen[s] == at;
		if (known)
			continue;	/* a loop: its ways out are walked */
		if (nseen == MAX_BLOCKS)
			return false;
		seen[nseen++] = at;
		for (bool on = true; on;) {
			const cs_insn *i;

			if (at < start || at >= end)
				return false;
			i = decode_at(w->d, w->code, at);
			if (!i)
				return false;
			view_of(i, &v);
			switch (step(w, &v, start, end, depth)) {
			case STEP_FAIL:
				return false;
			case STEP_DONE:
				on = false;
				break;
			case STEP_BRANCH:
				if (ntodo == MAX_BLOCKS)
					return false;
				todo[ntodo++] = v.target;
				on = v.jcc;	/* a jcc also falls through */
				break;
			case STEP_ON:
				break;
			}
			at += v.size;
		}
	}
	return true;
}

bool fn_always_calls(struct decoder *d, const struct elf_code *code,
		     uint64_t addr, const char *const *names, size_t n)
{
	struct walk w = { d, code, names, n };

	return addr && all_ways_call(&w, addr, 0);
}

/* Whether any instruction of the function at @start calls or jumps to one
 * of the names (one function deep: enough for a direct call). */
static bool some_way_calls(const struct walk *w, uint64_t start)
{
	uint64_t end = function_end(w->code, start, MAX_FUNCTION);
	struct insn_view v;

	for (uint64_t at = start; at < end; at += v.size) {
		const cs_insn *i = decode_at(w->d, w->code, at);

		if (!i)
			return false;
		view_of(i, &v);
		if (v.via_slot && named(w, elf_code_slot(w->code, v.target)))
			return true;
		if (v.direct && (v.call || v.jmp || v.jcc) &&
		    (v.target < start || v.target >= end) &&
		    reaches_named(w, v.target))
			return true;
	}
	return false;
}

bool fn_may_call(struct decoder *d, const struct elf_code *code,
		 uint64_t addr, const char *const *names, size_t n)
{
	struct walk w = { d, code, names, n };

	return addr && some_way_calls(&w, addr);
}
