// SPDX-License-Identifier: GPL-2.0
/*
 * A small buffer resized many times, as a line reader's: 100 bytes, then
 * 2,000 resizes to between 100 and 299 bytes. Totals: 399,100 bytes in
 * 2,001 blocks; at most 299 bytes live.
 */
#include <stdlib.h>

int main(void)
{
	char *p = malloc(100);

	for (int i = 0; i < 2000 && p; i++)
		p = realloc(p, 100 + (size_t)(i * 37) % 200);
	free(p);
	return 0;
}
