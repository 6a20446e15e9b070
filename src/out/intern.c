// SPDX-License-Identifier: GPL-2.0
/*
 * Interning: each distinct byte string once, under a dense id. The keys
 * live end to end in one growing block, so a profile's strings cost their
 * length and a few words each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "out/out_int.h"
#include "util/array.h"

struct intern_key {
	size_t off;		/* into data */
	uint32_t len;
	uint32_t hash;
};

/* FNV-1a */
static uint32_t hash_bytes(const void *key, size_t n)
{
	const unsigned char *p = key;
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

void intern_free(struct intern *t)
{
	free(t->data);
	free(t->keys);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* Twice the slots, load factor at most 1/2. */
static int rehash(struct intern *t)
{
	size_t nslots = t->nslots ? 2 * t->nslots : 1024, mask = nslots - 1, j;
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (uint32_t id = 0; id < t->n; id++) {
		for (j = t->keys[id].hash & mask; slots[j]; j = (j + 1) & mask)
			;
		slots[j] = id + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

/* Room for one more key of @n bytes. */
static int reserve(struct intern *t, size_t n)
{
	if (n >= UINT32_MAX || t->n >= UINT32_MAX - 1 ||
	    grow(&t->data, &t->cap, t->len + n + 1, 1) ||
	    grow(&t->keys, &t->capkeys, t->n + 1, sizeof(*t->keys)))
		return -ENOMEM;
	return 2 * (t->n + 1) > t->nslots ? rehash(t) : 0;
}

int intern_add(struct intern *t, const void *key, size_t n, uint32_t *id)
{
	uint32_t h = hash_bytes(key, n);
	size_t mask, j;
	int err;

	err = reserve(t, n);
	if (err)
		return err;
	mask = t->nslots - 1;
	for (j = h & mask; t->slots[j]; j = (j + 1) & mask) {
		const struct intern_key *k = &t->keys[t->slots[j] - 1];

		if (k->hash == h && k->len == n &&
		    !memcmp(t->data + k->off, key, n)) {
			*id = t->slots[j] - 1;
			return 0;
		}
	}
	memcpy(t->data + t->len, key, n);
	t->data[t->len + n] = '\0';
	t->keys[t->n] = (struct intern_key){ t->len, (uint32_t)n, h };
	t->len += n + 1;
	*id = (uint32_t)t->n++;
	t->slots[j] = *id + 1;
	return 0;
}

const void *intern_key(const struct intern *t, uint32_t id, size_t *n)
{
	*n = t->keys[id].len;
	return t->data + t->keys[id].off;
}
