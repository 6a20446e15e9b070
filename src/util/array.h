/* SPDX-License-Identifier: GPL-2.0 */
/* Arrays, for every stage. */
#ifndef DHTRACE_ARRAY_H
#define DHTRACE_ARRAY_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Room for @need elements of @size bytes in the array at *@v (a pointer to
 * the array's pointer), of *@cap elements now: grown geometrically, from
 * 256. Returns 0, or -ENOMEM (also when the size overflows) with the array
 * unchanged.
 */
int grow(void *v, size_t *cap, size_t need, size_t size);

#endif /* DHTRACE_ARRAY_H */
