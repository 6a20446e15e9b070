// SPDX-License-Identifier: GPL-2.0
/*
 * The CFI table builder on functions whose CFI this file writes itself.
 * `test_cfi --dump OBJ` prints an object's table instead (tests/run.py
 * checks it row by row against readelf's); `--stats OBJ` prints its size
 * and build time (for `make bench`).
 */
#include <errno.h>
#include <inttypes.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sym/sym.h"
#include "unit.h"

/* A frame-pointer prologue and epilogue, and a start routine. */
__asm__(".text\n"
	".globl cfi_fp_fn\n"
	".type cfi_fp_fn, @function\n"
	"cfi_fp_fn:\n"
	".cfi_startproc\n"
	"push %rbp\n"			/* +0 */
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbp, -16\n"
	"mov %rsp, %rbp\n"		/* +1 */
	".cfi_def_cfa_register %rbp\n"
	"nop\n"				/* +4 */
	"pop %rbp\n"			/* +5 */
	".cfi_def_cfa %rsp, 8\n"
	".cfi_restore %rbp\n"
	"ret\n"				/* +6 */
	".cfi_endproc\n"
	".size cfi_fp_fn, .-cfi_fp_fn\n"
	".globl cfi_start_fn\n"
	".type cfi_start_fn, @function\n"
	"cfi_start_fn:\n"
	".cfi_startproc\n"
	".cfi_undefined %rip\n"
	"hlt\n"
	".cfi_endproc\n"
	".size cfi_start_fn, .-cfi_start_fn\n"
	".globl cfi_expr_fn\n"
	".type cfi_expr_fn, @function\n"
	"cfi_expr_fn:\n"
	".cfi_startproc\n"
	/* The PLT's DW_CFA_def_cfa_expression: rsp + 8 + ((rip & 15) >= 11
	 * ? 8 : 0) */
	".cfi_escape 0x0f, 0x0b, 0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22\n"
	"ret\n"
	".cfi_endproc\n"
	".size cfi_expr_fn, .-cfi_expr_fn\n");

void cfi_fp_fn(void);
void cfi_start_fn(void);
void cfi_expr_fn(void);

static uint64_t load_bias;

static int first_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	load_bias = info->dlpi_addr;
	return 1;	/* the executable comes first */
}

static struct cfi_table self;

/* The row at @fn + @delta, by the function's address in the file. */
static const struct cfi_row *row_at(void (*fn)(void), uint64_t delta)
{
	return cfi_table_find(&self, (uint64_t)fn - load_bias + delta);
}

static void check_row(const struct cfi_row *r, enum cfi_rule rule,
		      int32_t cfa_off, int16_t rbp_off)
{
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_U64(r->rule, rule);
	if (rule == CFI_CFA_RSP || rule == CFI_CFA_RBP) {
		CHECK_U64((uint64_t)(int64_t)r->cfa_off, (uint64_t)(int64_t)cfa_off);
		CHECK_U64((uint64_t)(int64_t)r->rbp_off, (uint64_t)(int64_t)rbp_off);
	}
}

static void test_frame_pointer_function(void)
{
	check_row(row_at(cfi_fp_fn, 0), CFI_CFA_RSP, 8, 0);
	check_row(row_at(cfi_fp_fn, 1), CFI_CFA_RSP, 16, -16);
	check_row(row_at(cfi_fp_fn, 3), CFI_CFA_RSP, 16, -16);
	check_row(row_at(cfi_fp_fn, 4), CFI_CFA_RBP, 16, -16);
	check_row(row_at(cfi_fp_fn, 5), CFI_CFA_RBP, 16, -16);
	check_row(row_at(cfi_fp_fn, 6), CFI_CFA_RSP, 8, 0);
}

static void test_outermost(void)
{
	check_row(row_at(cfi_start_fn, 0), CFI_OUTERMOST, 0, 0);
}

static void test_expression_is_unknown(void)
{
	check_row(row_at(cfi_expr_fn, 0), CFI_UNKNOWN, 0, 0);
}

static void test_rows_sorted_and_distinct(void)
{
	for (size_t i = 1; i < self.n; i++) {
		const struct cfi_row *a = &self.rows[i - 1], *b = &self.rows[i];

		CHECK(a->pc < b->pc);
		CHECK(a->rule != b->rule || a->cfa_off != b->cfa_off ||
		      a->rbp_off != b->rbp_off);
	}
}

static void test_not_elf(void)
{
	struct cfi_table t;

	CHECK(cfi_table_build("/proc/self/status", &t) < 0);
	CHECK(cfi_table_build("/nonexistent/object", &t) == -ENOENT);
}

static const char *const rule_names[] = {
	[CFI_NONE] = "none", [CFI_CFA_RSP] = "rsp", [CFI_CFA_RBP] = "rbp",
	[CFI_OUTERMOST] = "end", [CFI_UNKNOWN] = "unknown",
};

/* One line a row: "pc rule cfa_off rbp_off", pc in hex. */
static int dump(const char *path)
{
	struct cfi_table t;
	int err = cfi_table_build(path, &t);

	if (err) {
		fprintf(stderr, "test_cfi: %s: %s\n", path, strerror(-err));
		return 1;
	}
	for (size_t i = 0; i < t.n; i++)
		printf("%" PRIx64 " %s %d %d\n", t.rows[i].pc,
		       rule_names[t.rows[i].rule], t.rows[i].cfa_off,
		       t.rows[i].rbp_off);
	cfi_table_free(&t);
	return 0;
}

/* "ROWS MILLISECONDS": the table's size and how long it took to build. */
static int stats(const char *path)
{
	struct timespec a, b;
	struct cfi_table t;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &a);
	err = cfi_table_build(path, &t);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (err) {
		fprintf(stderr, "test_cfi: %s: %s\n", path, strerror(-err));
		return 1;
	}
	printf("%zu %.1f\n", t.n, (b.tv_sec - a.tv_sec) * 1e3 +
	       (b.tv_nsec - a.tv_nsec) / 1e6);
	cfi_table_free(&t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dump"))
		return dump(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "--stats"))
		return stats(argv[2]);
	dl_iterate_phdr(first_object, NULL);
	if (cfi_table_build("/proc/self/exe", &self)) {
		printf("not ok build: cannot read /proc/self/exe\n");
		return 1;
	}
	RUN(test_frame_pointer_function);
	RUN(test_outermost);
	RUN(test_expression_is_unknown);
	RUN(test_rows_sorted_and_distinct);
	RUN(test_not_elf);
	cfi_table_free(&self);
	UNIT_EXIT();
}
