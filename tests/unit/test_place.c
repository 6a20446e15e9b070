// SPDX-License-Identifier: GPL-2.0
/*
 * Probe placement and the wrapper check (src/trace/placement.c,
 * wrappers.c) on functions of this very binary, written in assembly so
 * that each shows one rule; the expected offsets are counted by hand
 * from the instruction lengths.
 */
#include <errno.h>
#include <unistd.h>

#include "trace/insn.h"
#include "unit.h"

#define FN(name, body) \
	".globl " #name "\n.type " #name ",@function\n" #name ":\n" body \
	"\n.size " #name ", .-" #name "\n"

__asm__(".text\n"
	/* jemalloc's malloc: a compare (7 bytes), then the ja */
	FN(p_cmp_ja, "cmp $0x1000,%rdi\n ja 1f\n nop\n1: ret")
	/* mimalloc's: the size moves to rsi before rdi is reused */
	FN(p_moved, "mov %rdi,%rsi\n mov %fs:0,%rdi\n cmp $0x400,%rsi\n"
		    " ja 1f\n1: ret")
	/* an argument overwritten with no copy left: stop there */
	FN(p_clobber, "xor %edi,%edi\n je 1f\n1: ret")
	/* a store ends the skip */
	FN(p_store, "mov %rdi,(%rax)\n je 1f\n1: ret")
	/* the stack pointer moves: the return address is no longer on top */
	FN(p_stack, "sub $8,%rsp\n add $8,%rsp\n ret")
	/* emulated at once */
	FN(p_push, "push %rbx\n pop %rbx\n ret")
	/* a branch back into the skipped part: the probe would hit twice */
	FN(p_loop, "mov %rdi,%rax\n1: dec %rax\n jne 1b\n ret")
	/* a 16-bit call (0x66 prefix): not emulated, nor skipped */
	FN(p_call16, ".byte 0x66, 0xe8, 0, 0, 0, 0\n ret")

	FN(target_fn, "ret")
	FN(w_calls, "push %rbx\n test %rdi,%rdi\n je 1f\n nop\n"
		    "1: call target_fn\n pop %rbx\n ret")
	FN(w_maybe, "test %rdi,%rdi\n je 1f\n jmp target_fn\n1: ret")
	FN(w_tail, "jmp w_calls")
	FN(w_loop, "1: call other_fn\n test %rax,%rax\n je 1b\n"
		   " jmp target_fn")
	FN(other_fn, "ret"));

static struct elf_code *code;
static struct decoder dec;

static uint64_t offset_of(const char *name)
{
	const char *names[] = { name };
	uint64_t off = 0;

	elf_find_functions("/proc/self/exe", names, 1, &off);
	return off;
}

static void place(const char *name, unsigned int nargs, uint64_t *into,
		  struct probe_place *p)
{
	uint64_t start = offset_of(name);

	probe_place(&dec, code, start, nargs, p);
	*into = p->offset - start;
}

static void test_past_compares_to_a_branch(void)
{
	struct probe_place p;
	uint64_t into;

	place("p_cmp_ja", 1, &into, &p);
	CHECK_U64(into, 7);
	CHECK(!p.stepped);
	CHECK_U64(p.arg_reg[0], 7);	/* rdi */
}

static void test_argument_read_from_its_copy(void)
{
	struct probe_place p;
	uint64_t into;

	place("p_moved", 1, &into, &p);
	CHECK_U64(into, 3 + 9 + 7);
	CHECK(!p.stepped);
	CHECK_U64(p.arg_reg[0], 6);	/* rsi */
}

static void test_stops_at_what_the_probe_reads(void)
{
	struct probe_place p;
	uint64_t into;

	place("p_clobber", 1, &into, &p);
	CHECK_U64(into, 0);
	CHECK(p.stepped);
	/* the same with no argument to keep: past it */
	place("p_clobber", 0, &into, &p);
	CHECK_U64(into, 2);
	CHECK(!p.stepped);
	place("p_store", 1, &into, &p);
	CHECK_U64(into, 0);
	CHECK(p.stepped);
	place("p_stack", 1, &into, &p);
	CHECK_U64(into, 0);
	CHECK(p.stepped);
	place("p_call16", 1, &into, &p);
	CHECK_U64(into, 0);
	CHECK(p.stepped);
}

static void test_emulated_start_and_branches_back(void)
{
	struct probe_place p;
	uint64_t into;

	place("p_push", 1, &into, &p);
	CHECK_U64(into, 0);
	CHECK(!p.stepped);
	/* the jne lands on the dec after the mov: the probe stays before */
	place("p_loop", 1, &into, &p);
	CHECK_U64(into, 0);
	CHECK(p.stepped);
}

static bool always_calls(const char *fn)
{
	static const char *const names[] = { "target_fn" };

	return fn_always_calls(&dec, code,
			       elf_code_addr(code, offset_of(fn)), names, 1);
}

static void test_wrappers(void)
{
	CHECK(always_calls("w_calls"));
	CHECK(!always_calls("w_maybe"));
	CHECK(always_calls("w_tail"));
	CHECK(always_calls("w_loop"));
	CHECK(!always_calls("other_fn"));
}

int main(void)
{
	if (elf_code_open("/proc/self/exe", &code) || decoder_open(&dec)) {
		printf("not ok setup: cannot read /proc/self/exe\n");
		return 1;
	}
	RUN(test_past_compares_to_a_branch);
	RUN(test_argument_read_from_its_copy);
	RUN(test_stops_at_what_the_probe_reads);
	RUN(test_emulated_start_and_branches_back);
	RUN(test_wrappers);
	decoder_close(&dec);
	elf_code_close(code);
	return unit_total_failed != 0;
}
