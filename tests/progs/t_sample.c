// SPDX-License-Identifier: GPL-2.0
/*
 * Call sites of known totals for --sample-bytes: many small blocks, many
 * medium ones, a few large ones, each site in a function of its own.
 * Everything is freed; nothing is printed (stdio would allocate).
 */
#include <stdlib.h>

#define SMALL_N 40000	/* 100 bytes: 4,000,000 */
#define MEDIUM_N 4000	/* 1,000 bytes: 4,000,000 */
#define LARGE_N 500	/* 65,536 bytes: 32,768,000 */

static void *volatile keep[64];

static __attribute__((noinline)) void churn(size_t size, int n)
{
	for (int i = 0; i < n; i++) {
		void *p = malloc(size);

		free(keep[i % 64]);
		keep[i % 64] = p;
	}
}

static __attribute__((noinline)) void small(void)
{
	churn(100, SMALL_N);
}

static __attribute__((noinline)) void medium(void)
{
	churn(1000, MEDIUM_N);
}

static __attribute__((noinline)) void large(void)
{
	churn(65536, LARGE_N);
}

int main(void)
{
	small();
	medium();
	large();
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	return 0;
}
