// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation functions that call other allocation functions inside the C
 * library: glibc's realloc(NULL, n) calls malloc, reallocarray calls
 * realloc. Through a volatile pointer, so that the compiler cannot turn
 * realloc(NULL, n) into malloc(n). Totals: 600 bytes in 3 blocks.
 */
#include <stdlib.h>

static void *(*volatile resize)(void *, size_t) = realloc;

int main(void)
{
	void *p = resize(NULL, 100);	/* 100 */
	void *q;

	p = resize(p, 200);		/* 200 */
	q = reallocarray(NULL, 10, 30);	/* 300 */
	q = resize(q, 0);		/* a free */
	free(p);
	return q != NULL;
}
