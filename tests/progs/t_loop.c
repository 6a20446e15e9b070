// SPDX-License-Identifier: GPL-2.0
/*
 * A long-running target for attaching: prints "ready", then for ITER rounds
 * allocates and frees 100 bytes, leaks 16, and frees one block it allocated
 * before the loop, sleeping between rounds. With a second argument
 * "threads", each round runs in a thread of its own, created then. Prints
 * "done N" at the end.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EARLY 400

static void *early[EARLY];

static void *round_of(void *arg)
{
	long i = (long)arg;

	free(malloc(100));
	if (!malloc(16))
		abort();
	free(early[i % EARLY]);
	early[i % EARLY] = NULL;
	return NULL;
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 300;
	int threads = argc > 2 && !strcmp(argv[2], "threads");
	struct timespec nap = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < EARLY; i++)
		early[i] = malloc(64);
	printf("ready\n");
	fflush(stdout);
	for (long i = 0; i < iters; i++) {
		pthread_t t;

		if (threads) {
			if (pthread_create(&t, NULL, round_of, (void *)i))
				return 1;
			pthread_join(t, NULL);
		} else {
			round_of((void *)i);
		}
		nanosleep(&nap, NULL);
	}
	printf("done %d\n", iters);
	return 0;
}
