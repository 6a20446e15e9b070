// SPDX-License-Identifier: GPL-2.0
/*
 * Stacks that need unwinding: recursion, inlined helpers, and allocations
 * inside a callback called from libc (qsort). Built once with frame
 * pointers and once without (build/progs-nofp).
 */
#include <stdlib.h>
#include <string.h>

static void *kept[64];
static int nkept;
static void *volatile sink;	/* keeps -O2 from dropping malloc+free */

static inline __attribute__((always_inline)) void *grab(size_t n)
{
	return malloc(n);
}

__attribute__((noinline)) static void *leaf(size_t n)
{
	void *p = grab(n);

	memset(p, 0, n);
	return p;
}

__attribute__((noinline)) static void recurse(int depth)
{
	if (depth == 0) {
		kept[nkept++] = leaf(32);
		return;
	}
	free(leaf(depth * 8));
	recurse(depth - 1);
	__asm__ volatile("" ::: "memory");	/* no tail call */
}

static int compare(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	sink = malloc(16 + (x & 7));	/* allocated under qsort */
	free(sink);
	return (x > y) - (x < y);
}

int main(void)
{
	int v[40];

	for (int i = 0; i < 40; i++)
		v[i] = (i * 7919) % 101;
	recurse(12);
	recurse(3);
	qsort(v, 40, sizeof(v[0]), compare);
	return v[0] > v[39];
}
