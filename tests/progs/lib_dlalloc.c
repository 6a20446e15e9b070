// SPDX-License-Identifier: GPL-2.0
/* Loaded by t_dlopen: allocates on its behalf. */
#include <stdlib.h>
#include <string.h>

void *dl_make(size_t n)
{
	void *p = malloc(n);

	if (p)
		memset(p, 1, n);
	return p;
}
