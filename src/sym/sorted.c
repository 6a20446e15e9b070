// SPDX-License-Identifier: GPL-2.0
/* Binary search over address-sorted tables (mappings, functions, CUs). */
#include <string.h>

#include "sym/sym_int.h"

size_t count_at_or_below(const void *v, size_t n, size_t size, uint64_t addr)
{
	const char *base = v;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t start;

		memcpy(&start, base + mid * size, sizeof(start));
		if (start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
