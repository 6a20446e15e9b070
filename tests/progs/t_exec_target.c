// SPDX-License-Identifier: GPL-2.0
/*
 * A tiny program with known numbers, for following children: three blocks
 * of 1,000 bytes, the second one freed. Total 3,000 bytes in 3 blocks, the
 * same at t-gmax, 2,000 bytes in 2 blocks at t-end. Its arguments only
 * label it (t_fork passes "exec" or "spawn"), they change nothing.
 */
#include <stdlib.h>

void *volatile target_blocks[3];

__attribute__((noinline)) static void target_alloc(int i)
{
	target_blocks[i] = malloc(1000);
	if (!target_blocks[i])
		abort();
}

int main(void)
{
	for (int i = 0; i < 3; i++)
		target_alloc(i);
	free(target_blocks[1]);
	return 0;
}
