// SPDX-License-Identifier: GPL-2.0
/* The microbenchmark: N malloc+free pairs from one call site. */
#include <stdlib.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;

	for (long i = 0; i < n; i++) {
		void *volatile p = malloc(64 + (i & 63));

		free(p);
	}
	return 0;
}
