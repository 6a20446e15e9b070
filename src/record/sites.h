/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Call sites: the program points of a profile. Raw stacks (by the kernel
 * side's stack id) map to program points by their printed frame lists, so
 * two stacks that print the same are one program point from the start, as
 * the viewer requires.
 */
#ifndef DHTRACE_SITES_H
#define DHTRACE_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sites;

struct sites *sites_new(void);
void sites_free(struct sites *s);
/* A copy, for a forked child (with its symbols' frame ids). */
struct sites *sites_clone(const struct sites *parent);

/* The program point bound to @stack_id: 0 and true if known. */
bool sites_lookup(const struct sites *s, uint64_t stack_id, uint32_t *pp);
/* Bind @stack_id to the program point of @frames (interned). Returns 0 or
 * -ENOMEM; the program point in *@pp. */
int sites_bind(struct sites *s, uint64_t stack_id, const uint32_t *frames,
	       size_t n, uint32_t *pp);

size_t sites_count(const struct sites *s);
const uint32_t *sites_frames(const struct sites *s, uint32_t pp, size_t *n);

#endif /* DHTRACE_SITES_H */
