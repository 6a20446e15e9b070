/* SPDX-License-Identifier: GPL-2.0 */
/* Growable arrays, for every stage. */
#ifndef DHTRACE_GROW_H
#define DHTRACE_GROW_H

#include <stddef.h>

/*
 * Room for @need elements of @size bytes in the array at *@v (a pointer to
 * the array's pointer), of *@cap elements now: grown geometrically, from
 * 256. Returns 0, or -ENOMEM (also when the size overflows) with the array
 * unchanged.
 */
int grow(void *v, size_t *cap, size_t need, size_t size);

#endif /* DHTRACE_GROW_H */
