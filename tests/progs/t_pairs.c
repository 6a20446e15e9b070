// SPDX-License-Identifier: GPL-2.0
/*
 * N malloc/free pairs and N frees of NULL (N: the first argument), and
 * nothing else that allocates: the probe hits a run makes are known.
 * With a second argument "reallocarray", reallocarray(NULL, 1, size)
 * instead of malloc (glibc's calls realloc, which calls malloc: three
 * probed calls).
 */
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int ra = argc > 2 && !strcmp(argv[2], "reallocarray");
	void *volatile null = NULL;	/* a free(NULL) the compiler keeps */

	for (int i = 0; i < n; i++) {
		size_t size = 32 + i % 64;
		void *volatile p = ra ? reallocarray(NULL, 1, size) : malloc(size);

		free(p);
		free(null);
	}
	return 0;
}
