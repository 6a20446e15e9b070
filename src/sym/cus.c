// SPDX-License-Identifier: GPL-2.0
/*
 * Which compilation unit holds an address. dwfl_module_addrdie() goes by
 * .debug_aranges, which clang and rustc do not emit (elfutils before 0.191
 * then finds no CU, hence no lines and no inlined calls); the CUs' own
 * DW_AT_low_pc/high_pc/ranges are always there.
 */
#include <errno.h>
#include <stdlib.h>

#include "sym/sym_int.h"

struct cu_range {
	uint64_t start, end;	/* start first: count_at_or_below() */
	Dwarf_Die die;
};

static int cmp_range(const void *pa, const void *pb)
{
	const struct cu_range *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return 0;
}

static int add_range(struct cus *c, size_t *cap, uint64_t start,
		     uint64_t end, const Dwarf_Die *die)
{
	struct cu_range *v;

	if (c->n == *cap) {
		*cap = *cap ? 2 * *cap : 256;
		v = realloc(c->v, *cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
	}
	c->v[c->n++] = (struct cu_range){ start, end, *die };
	return 0;
}

int cus_build(struct cus *c, Dwfl_Module *mod)
{
	Dwarf_Addr bias, base, start, end;
	Dwarf_Die *cu = NULL;
	size_t cap = 0;
	ptrdiff_t off;
	int err;

	c->v = NULL;
	c->n = 0;
	c->bias = 0;
	while ((cu = dwfl_module_nextcu(mod, cu, &bias))) {
		c->bias = bias;
		/* partial and type units hold no code */
		if (dwarf_tag(cu) != DW_TAG_compile_unit)
			continue;
		off = 0;
		while ((off = dwarf_ranges(cu, off, &base, &start, &end)) > 0) {
			if (start >= end)
				continue;
			err = add_range(c, &cap, start, end, cu);
			if (err) {
				cus_free(c);
				return err;
			}
		}
	}
	qsort(c->v, c->n, sizeof(*c->v), cmp_range);
	return 0;
}

void cus_free(struct cus *c)
{
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

Dwarf_Die *cus_find(struct cus *c, uint64_t pc)
{
	size_t lo = count_at_or_below(c->v, c->n, sizeof(*c->v), pc);

	if (!lo || pc >= c->v[lo - 1].end)
		return NULL;
	return &c->v[lo - 1].die;
}
