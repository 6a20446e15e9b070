// SPDX-License-Identifier: GPL-2.0
/*
 * Four threads; each allocates blocks that the next thread frees, and each
 * leaks one block of a size unique to it.
 */
#include <pthread.h>
#include <stdlib.h>

#define THREADS 4
#define BLOCKS 1000

static void *blocks[THREADS][BLOCKS];
static pthread_barrier_t barrier;

static void *worker(void *arg)
{
	long id = (long)arg;
	long next = (id + 1) % THREADS;

	for (int i = 0; i < BLOCKS; i++)
		blocks[id][i] = malloc(16 + id);
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < BLOCKS; i++)
		free(blocks[next][i]);
	return malloc(1000 + id);	/* leaked */
}

int main(void)
{
	pthread_t t[THREADS];

	pthread_barrier_init(&barrier, NULL, THREADS);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&barrier);
	return 0;
}
