// SPDX-License-Identifier: GPL-2.0
/* The heap over time, in a bounded number of buckets (timeline.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap/timeline.h"

void timeline_init(struct timeline *t)
{
	memset(t, 0, sizeof(*t));
	t->width_ns = TIMELINE_FIRST_WIDTH_NS;
}

void timeline_destroy(struct timeline *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int timeline_copy(struct timeline *dst, const struct timeline *src)
{
	*dst = *src;
	dst->v = NULL;
	if (!src->cap)
		return 0;
	dst->v = malloc(src->cap * sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	return 0;
}

static uint64_t min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Twice as wide: bucket i becomes buckets 2i and 2i + 1 together. */
static void halve(struct timeline *t)
{
	size_t n = (t->n + 1) / 2;

	for (size_t i = 0; i < n; i++) {
		struct timeline_bucket b = t->v[2 * i];
		const struct timeline_bucket *c = &t->v[2 * i + 1];

		if (2 * i + 1 < t->n) {
			b.bytes_min = min(b.bytes_min, c->bytes_min);
			b.bytes_max = max(b.bytes_max, c->bytes_max);
			b.blocks_min = min(b.blocks_min, c->blocks_min);
			b.blocks_max = max(b.blocks_max, c->blocks_max);
			b.bytes_last = c->bytes_last;
			b.blocks_last = c->blocks_last;
			b.allocs += c->allocs;
			b.frees += c->frees;
		}
		t->v[i] = b;
	}
	t->n = n;
	t->width_ns *= 2;
}

/* Buckets up to @k, the new ones holding the state the last one left. */
static int extend(struct timeline *t, size_t k)
{
	struct timeline_bucket state = { 0 };

	if (k >= t->cap) {
		size_t cap = t->cap ? t->cap : 64;
		struct timeline_bucket *v;

		while (cap <= k)
			cap *= 2;
		if (cap > TIMELINE_MAX)
			cap = TIMELINE_MAX;
		v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	if (t->n) {
		const struct timeline_bucket *last = &t->v[t->n - 1];

		state = (struct timeline_bucket){
			.bytes_min = last->bytes_last,
			.bytes_max = last->bytes_last,
			.bytes_last = last->bytes_last,
			.blocks_min = last->blocks_last,
			.blocks_max = last->blocks_last,
			.blocks_last = last->blocks_last,
		};
	}
	while (t->n <= k)
		t->v[t->n++] = state;
	return 0;
}

/* The bucket of @t_ns in *@k, the series halved and extended to reach
 * it. 0 or -ENOMEM. */
static int reach(struct timeline *t, uint64_t t_ns, size_t *k)
{
	while (t_ns / t->width_ns >= TIMELINE_MAX)
		halve(t);
	*k = t_ns / t->width_ns;
	/* events come in time order (the accounting's clock never steps
	 * back); an earlier bucket is the last one */
	if (t->n && *k < t->n - 1)
		*k = t->n - 1;
	return *k >= t->n ? extend(t, *k) : 0;
}

int timeline_note(struct timeline *t, uint64_t t_ns, uint64_t bytes,
		  uint64_t blocks, enum timeline_event ev, uint64_t n)
{
	struct timeline_bucket *b;
	size_t k;

	if (reach(t, t_ns, &k))
		return -ENOMEM;
	b = &t->v[k];
	b->bytes_min = min(b->bytes_min, bytes);
	b->bytes_max = max(b->bytes_max, bytes);
	b->blocks_min = min(b->blocks_min, blocks);
	b->blocks_max = max(b->blocks_max, blocks);
	b->bytes_last = bytes;
	b->blocks_last = blocks;
	if (ev == TIMELINE_ALLOC)
		b->allocs += n;
	else
		b->frees += n;
	return 0;
}

int timeline_end(struct timeline *t, uint64_t t_ns)
{
	size_t k;

	return t->n ? reach(t, t_ns, &k) : 0;
}
