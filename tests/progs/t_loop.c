// SPDX-License-Identifier: GPL-2.0
/*
 * A long-running target for attaching: prints "ready", then for ITER rounds
 * allocates and frees 100 bytes, leaks 16, and frees one block it allocated
 * before the loop, sleeping between rounds. Prints "done N" at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define EARLY 400

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 300;
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	void *early[EARLY];

	for (int i = 0; i < EARLY; i++)
		early[i] = malloc(64);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < iters; i++) {
		free(malloc(100));
		if (!malloc(16))
			return 1;
		free(early[i % EARLY]);
		early[i % EARLY] = NULL;
		nanosleep(&nap, NULL);
	}
	printf("done %d\n", iters);
	return 0;
}
