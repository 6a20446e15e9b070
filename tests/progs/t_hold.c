// SPDX-License-Identifier: GPL-2.0
/*
 * Holds N blocks of 100 bytes (default 50, at most 1000) until its stdin
 * ends: prints "held N" once they are allocated, then frees them and
 * exits 0. Nothing else is allocated (stdout is unbuffered), so exactly
 * N blocks are live while it waits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *held[1000];

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50;
	char c;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (n < 0 || n > 1000)
		return 1;
	for (int i = 0; i < n; i++)
		if (!(held[i] = malloc(100)))
			return 1;
	printf("held %d\n", n);
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	for (int i = 0; i < n; i++)
		free(held[i]);
	return 0;
}
