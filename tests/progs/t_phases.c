// SPDX-License-Identifier: GPL-2.0
/*
 * A heap through known phases, each held still for 20 ms so that the
 * heap over time shows it as a level: grows to 40,000 bytes (40 blocks
 * of 1,000), frees down to 10,000, grows to 70,000 (the peak), frees
 * all. 100 mallocs and 100 frees in all; nothing else is allocated.
 */
#include <stdlib.h>
#include <time.h>

#define BLOCK 1000

static void *live[70];

static void hold(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	while (nanosleep(&ts, &ts))
		;
}

/* Blocks [from, to) allocated. */
static int grow(int from, int to)
{
	for (int i = from; i < to; i++)
		if (!(live[i] = malloc(BLOCK)))
			return 1;
	return 0;
}

/* Blocks [from, to) freed. */
static void shrink(int from, int to)
{
	for (int i = from; i < to; i++)
		free(live[i]);
}

int main(void)
{
	hold();
	if (grow(0, 40))		/* 40,000 bytes */
		return 1;
	hold();
	shrink(10, 40);			/* 10,000 */
	hold();
	if (grow(10, 70))		/* 70,000: the peak */
		return 1;
	hold();
	shrink(0, 70);			/* 0 */
	hold();
	return 0;
}
