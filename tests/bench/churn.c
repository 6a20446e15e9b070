// SPDX-License-Identifier: GPL-2.0
/*
 * A service with churn, for `make bench`'s memory figure: LIVE blocks
 * replaced at random, forever (until killed), from SITES call sites of
 * its own, so that a long trace meets ever new events but a bounded heap
 * and a bounded set of program points.
 */
#include <stdlib.h>
#include <unistd.h>

#define LIVE 20000
#define SITES 8

static void *slots[LIVE];

/* Not a tail call, or every site would be main's. */
#define SITE(n) \
	static __attribute__((noinline)) void *site##n(size_t size) \
	{ void *p = malloc(size + n); __asm__ volatile("" ::: "memory"); return p; }
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7)

static void *(*const sites[SITES])(size_t) = {
	site0, site1, site2, site3, site4, site5, site6, site7,
};

int main(void)
{
	unsigned int seed = 1;

	for (unsigned long n = 0;; n++) {
		unsigned int r = rand_r(&seed);
		void **slot = &slots[r % LIVE];

		free(*slot);
		*slot = sites[(r >> 16) % SITES](16 + (r >> 8) % 512);
		if (n % 1024 == 0)
			usleep(1000);	/* about a million events a minute */
	}
}
