// SPDX-License-Identifier: GPL-2.0
/*
 * A module's functions as valgrind sees them (storage.c, canonicaliseSymtab):
 * sized STT_FUNC/STT_GNU_IFUNC symbols; of the names of one address range,
 * the one prefersym() picks (glibc has malloc, __libc_malloc, __malloc);
 * overlapping ranges truncated so that each address has one function.
 * A sorted table also answers in O(log n), where dwfl_module_addrinfo()
 * scans every symbol.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sym/sym_int.h"

struct func {
	uint64_t addr, size;	/* addr first: count_at_or_below() */
	const char *name;	/* dwfl's, lives as long as the module */
};

/* prefersym(): < 0 when @a is the name to print. */
static int prefer(const char *a, const char *b)
{
	size_t la = unversioned_len(a), lb = unversioned_len(b);
	bool va = a[la], vb = b[lb];

	if (la != lb)
		return la < lb ? -1 : 1;
	if (va != vb)
		return va ? -1 : 1;
	return strcmp(a, b);
}

/* By address, then size; in a run of equal ranges, the preferred first. */
static int cmp_func(const void *pa, const void *pb)
{
	const struct func *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	return prefer(a->name, b->name);
}

static size_t read_symtab(struct func *v, Dwfl_Module *mod, int nsyms)
{
	const char *name;
	GElf_Addr addr;
	GElf_Sym sym;
	size_t n = 0;
	int type;

	for (int i = 0; i < nsyms; i++) {
		name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL,
					       NULL);
		type = GELF_ST_TYPE(sym.st_info);
		/* Sizeless labels (ld.so's _dl_start_user) name nothing. */
		if (!name || !*name || sym.st_shndx == SHN_UNDEF ||
		    !sym.st_size || (type != STT_FUNC && type != STT_GNU_IFUNC))
			continue;
		v[n++] = (struct func){ addr, sym.st_size, name };
	}
	return n;
}

static bool same_range(const struct func *a, const struct func *b)
{
	return a->addr == b->addr && a->size == b->size;
}

/*
 * Sorted input. Of equal ranges, the first (preferred) stays; on overlap
 * the earlier range ends where the next begins, and of two with the same
 * start, the longer one starts after the shorter.
 */
static size_t canonicalize(struct func *v, size_t n)
{
	size_t i = 0, j, k = 0;
	struct func tmp;

	for (i = 0; i < n; i++)
		if (!k || !same_range(&v[k - 1], &v[i]))
			v[k++] = v[i];
	n = k;
	i = 0;
	while (i + 1 < n) {
		if (v[i].addr + v[i].size <= v[i + 1].addr) {
			i++;
		} else if (v[i].addr < v[i + 1].addr) {
			v[i].size = v[i + 1].addr - v[i].addr;
			i++;
		} else if (same_range(&v[i], &v[i + 1])) {
			/* made equal by an earlier shift: rare */
			memmove(&v[i + 1], &v[i + 2],
				(n - i - 2) * sizeof(*v));
			n--;
		} else {
			v[i + 1].addr += v[i].size;
			v[i + 1].size -= v[i].size;
			for (j = i + 1; j + 1 < n && cmp_func(&v[j], &v[j + 1]) > 0;
			     j++) {
				tmp = v[j];
				v[j] = v[j + 1];
				v[j + 1] = tmp;
			}
		}
	}
	return n;
}

int funcs_build(struct funcs *f, Dwfl_Module *mod)
{
	int nsyms = dwfl_module_getsymtab(mod);

	f->v = NULL;
	f->n = 0;
	if (nsyms <= 0)
		return 0;
	f->v = malloc(nsyms * sizeof(*f->v));
	if (!f->v)
		return -ENOMEM;
	f->n = read_symtab(f->v, mod, nsyms);
	qsort(f->v, f->n, sizeof(*f->v), cmp_func);
	f->n = canonicalize(f->v, f->n);
	return 0;
}

void funcs_free(struct funcs *f)
{
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

const char *funcs_find(const struct funcs *f, uint64_t addr)
{
	size_t lo = count_at_or_below(f->v, f->n, sizeof(*f->v), addr);

	if (!lo || addr - f->v[lo - 1].addr >= f->v[lo - 1].size)
		return NULL;
	return f->v[lo - 1].name;
}
