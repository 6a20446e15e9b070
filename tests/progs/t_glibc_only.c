// SPDX-License-Identifier: GPL-2.0
/*
 * Allocator functions valgrind 3.19 does not intercept (reallocarray,
 * pvalloc): checked against hand-computed numbers instead.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

int main(void)
{
	volatile size_t huge = SIZE_MAX / 2;	/* hidden from the compiler */
	void *p, *q, *v;

	p = reallocarray(NULL, 10, 10);		/* a new block of 100 */
	p = reallocarray(p, 20, 10);		/* resized to 200 */
	q = reallocarray(p, huge, 4);		/* overflows: fails, p kept */
	v = pvalloc(100);			/* 100 requested */
	free(v);
	free(q ? q : p);
	return q != NULL;
}
