// SPDX-License-Identifier: GPL-2.0
/* Every C allocator function, realloc in all its forms, a leak. */
#include <malloc.h>
#include <stdlib.h>

static void *keep[8];

__attribute__((noinline)) static void *leak_one(void)
{
	return malloc(200);	/* never freed */
}

int main(void)
{
	void *p, *q;

	p = malloc(100);
	free(p);
	keep[0] = leak_one();
	p = calloc(10, 30);
	free(p);
	free(NULL);
	p = malloc(0);
	free(p);

	p = realloc(NULL, 50);	/* a malloc */
	p = realloc(p, 80);	/* grow */
	p = realloc(p, 20);	/* shrink */
	p = realloc(p, 20);	/* same size */
	p = realloc(p, 4000);	/* grow, likely moving */
	free(p);
	q = malloc(10);
	q = realloc(q, 0);	/* a free */

	p = memalign(64, 33);
	free(p);
	if (posix_memalign(&p, 64, 65) == 0)
		free(p);
	p = aligned_alloc(128, 256);
	free(p);
	p = valloc(10);
	free(p);
	return keep[0] == q;
}
