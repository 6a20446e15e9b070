// SPDX-License-Identifier: GPL-2.0
/* Call sites: stack ids -> program points keyed by printed frame lists. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "record/sites.h"

/* Open addressing, linear probing; slot value 0 = empty, else index + 1. */
struct table {
	uint32_t *slot;
	size_t cap;	/* power of two */
	size_t used;
};

struct site {
	size_t first;	/* into frames */
	size_t n;
	uint64_t hash;
};

struct stack_binding {
	uint64_t stack_id;
	uint32_t pp;
};

struct sites {
	struct table by_stack;	/* -> bindings */
	struct stack_binding *bindings;
	size_t nbindings, bindings_cap;
	struct table by_frames;	/* -> sites */
	struct site *v;
	size_t nsites, sites_cap;
	uint32_t *frames;
	size_t nframes, frames_cap;
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static uint64_t frames_hash(const uint32_t *f, size_t n)
{
	uint64_t h = n;

	for (size_t i = 0; i < n; i++)
		h = mix(h ^ f[i]) + i;
	return h;
}

/* Make room for one more entry; rehash with @hash_of(index). */
static int table_reserve(struct table *t, uint64_t (*hash_of)(const void *, uint32_t),
			 const void *owner)
{
	uint32_t *slot;
	size_t cap;

	if ((t->used + 1) * 4 < t->cap * 3)
		return 0;
	cap = t->cap ? t->cap * 2 : 1024;
	slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->slot[i])
			continue;
		j = hash_of(owner, t->slot[i] - 1) & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = slot;
	t->cap = cap;
	return 0;
}

static uint64_t binding_hash(const void *owner, uint32_t i)
{
	const struct sites *s = owner;

	return mix(s->bindings[i].stack_id);
}

static uint64_t site_hash(const void *owner, uint32_t i)
{
	const struct sites *s = owner;

	return s->v[i].hash;
}

struct sites *sites_new(void)
{
	return calloc(1, sizeof(struct sites));
}

static int copy_array(void *dstp, const void *src, size_t n, size_t size)
{
	void **dst = dstp;

	*dst = NULL;
	if (!n)
		return 0;
	*dst = malloc(n * size);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * size);
	return 0;
}

struct sites *sites_clone(const struct sites *parent)
{
	struct sites *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	*s = *parent;
	if (copy_array(&s->by_stack.slot, parent->by_stack.slot,
		       parent->by_stack.cap, sizeof(*s->by_stack.slot)) |
	    copy_array(&s->bindings, parent->bindings, parent->bindings_cap,
		       sizeof(*s->bindings)) |
	    copy_array(&s->by_frames.slot, parent->by_frames.slot,
		       parent->by_frames.cap, sizeof(*s->by_frames.slot)) |
	    copy_array(&s->v, parent->v, parent->sites_cap, sizeof(*s->v)) |
	    copy_array(&s->frames, parent->frames, parent->frames_cap,
		       sizeof(*s->frames))) {
		sites_free(s);
		return NULL;
	}
	return s;
}

void sites_free(struct sites *s)
{
	if (!s)
		return;
	free(s->by_stack.slot);
	free(s->bindings);
	free(s->by_frames.slot);
	free(s->v);
	free(s->frames);
	free(s);
}

bool sites_lookup(const struct sites *s, uint64_t stack_id, uint32_t *pp)
{
	const struct table *t = &s->by_stack;

	if (!t->cap)
		return false;
	for (size_t j = mix(stack_id) & (t->cap - 1); t->slot[j];
	     j = (j + 1) & (t->cap - 1)) {
		const struct stack_binding *b = &s->bindings[t->slot[j] - 1];

		if (b->stack_id == stack_id) {
			*pp = b->pp;
			return true;
		}
	}
	return false;
}

static int site_intern(struct sites *s, const uint32_t *frames, size_t n,
		       uint32_t *pp)
{
	uint64_t h = frames_hash(frames, n);
	struct table *t = &s->by_frames;
	size_t j;
	int err;

	err = table_reserve(t, site_hash, s);
	if (err)
		return err;
	for (j = h & (t->cap - 1); t->slot[j]; j = (j + 1) & (t->cap - 1)) {
		const struct site *si = &s->v[t->slot[j] - 1];

		if (si->hash == h && si->n == n &&
		    !memcmp(s->frames + si->first, frames, n * sizeof(*frames))) {
			*pp = t->slot[j] - 1;
			return 0;
		}
	}
	err = grow(&s->frames, &s->frames_cap, s->nframes + n,
		   sizeof(*s->frames));
	if (!err)
		err = grow(&s->v, &s->sites_cap, s->nsites + 1,
			   sizeof(*s->v));
	if (err)
		return err;
	memcpy(s->frames + s->nframes, frames, n * sizeof(*frames));
	s->v[s->nsites] = (struct site){ .first = s->nframes, .n = n, .hash = h };
	s->nframes += n;
	*pp = s->nsites++;
	t->slot[j] = *pp + 1;
	t->used++;
	return 0;
}

int sites_bind(struct sites *s, uint64_t stack_id, const uint32_t *frames,
	       size_t n, uint32_t *pp)
{
	struct table *t = &s->by_stack;
	size_t j;
	int err;

	err = site_intern(s, frames, n, pp);
	if (!err)
		err = table_reserve(t, binding_hash, s);
	if (!err)
		err = grow(&s->bindings, &s->bindings_cap,
			   s->nbindings + 1, sizeof(*s->bindings));
	if (err)
		return err;
	s->bindings[s->nbindings] = (struct stack_binding){ stack_id, *pp };
	for (j = mix(stack_id) & (t->cap - 1); t->slot[j];
	     j = (j + 1) & (t->cap - 1))
		;
	t->slot[j] = ++s->nbindings;
	t->used++;
	return 0;
}

size_t sites_count(const struct sites *s)
{
	return s->nsites;
}

const uint32_t *sites_frames(const struct sites *s, uint32_t pp, size_t *n)
{
	*n = s->v[pp].n;
	return s->frames + s->v[pp].first;
}
