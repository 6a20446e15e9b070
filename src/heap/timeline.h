/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The heap over time: at most TIMELINE_MAX buckets of equal width, the
 * width doubling (pairs of buckets merged) as the run gets longer. Each
 * bucket keeps the exact minimum, maximum and last value of the live
 * bytes and blocks in it, and the allocations and frees in it, so the
 * peak is never smoothed away. Every bucket from time zero to the end
 * (timeline_end(), else the last event) is kept; one without events
 * holds the state it found.
 */
#ifndef DHTRACE_HEAP_TIMELINE_H
#define DHTRACE_HEAP_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#define TIMELINE_MAX 2000
#define TIMELINE_FIRST_WIDTH_NS 1000000ULL	/* 1 ms, to begin with */

struct timeline_bucket {
	uint64_t bytes_min, bytes_max, bytes_last;
	uint64_t blocks_min, blocks_max, blocks_last;
	uint64_t allocs, frees;
};

struct timeline {
	struct timeline_bucket *v;
	size_t n, cap;
	uint64_t width_ns;
};

enum timeline_event { TIMELINE_ALLOC, TIMELINE_FREE };

void timeline_init(struct timeline *t);
void timeline_destroy(struct timeline *t);
/* @dst (uninitialized) becomes a copy of @src. 0 or -ENOMEM. */
int timeline_copy(struct timeline *dst, const struct timeline *src);
/* At @t_ns from time zero, the heap became @bytes in @blocks through
 * @ev, which counts @n (a sampled block stands for more than one: the
 * accounting's units). 0, or -ENOMEM (nothing recorded). */
int timeline_note(struct timeline *t, uint64_t t_ns, uint64_t bytes,
		  uint64_t blocks, enum timeline_event ev, uint64_t n);
/* The run ends at @t_ns: the series runs to its bucket, the last state
 * carried forward (nothing for a series without events). 0, or -ENOMEM
 * (the series ends where it did). */
int timeline_end(struct timeline *t, uint64_t t_ns);

#endif
