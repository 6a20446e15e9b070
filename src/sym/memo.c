// SPDX-License-Identifier: GPL-2.0
/* Described addresses: the same return addresses recur across stacks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sym/sym_int.h"

static size_t slot_of(uint64_t addr, size_t mask)
{
	return (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

static void insert(struct memo_ent *slots, size_t nslots,
		   const struct memo_ent *e)
{
	size_t mask = nslots - 1, j;

	for (j = slot_of(e->addr, mask); slots[j].n; j = (j + 1) & mask)
		;
	slots[j] = *e;
}

/* Move the entries outside [@drop_start, @drop_end) into a new table of
 * @nslots. */
static int rebuild(struct memo *m, size_t nslots, uint64_t drop_start,
		   uint64_t drop_end)
{
	struct memo_ent *slots = calloc(nslots, sizeof(*slots));
	size_t used = 0;

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->nslots; i++) {
		const struct memo_ent *e = &m->slots[i];

		if (!e->n || (e->addr >= drop_start && e->addr < drop_end))
			continue;
		insert(slots, nslots, e);
		used++;
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = nslots;
	m->used = used;
	return 0;
}

const struct memo_ent *memo_get(const struct memo *m, uint64_t addr)
{
	size_t mask = m->nslots - 1, j;

	if (!m->nslots)
		return NULL;
	for (j = slot_of(addr, mask); m->slots[j].n; j = (j + 1) & mask)
		if (m->slots[j].addr == addr)
			return &m->slots[j];
	return NULL;
}

int memo_put(struct memo *m, uint64_t addr, const uint32_t *ids, int n,
	     enum fn_kind kind)
{
	struct memo_ent e = { addr, (uint32_t)m->nids, (uint8_t)n, kind };
	uint32_t *v;
	size_t cap;
	int err;

	if (n < 1 || n > UINT8_MAX || m->nids + n > UINT32_MAX)
		return -EINVAL;
	if (2 * (m->used + 1) > m->nslots) {
		err = rebuild(m, m->nslots ? 2 * m->nslots : 1024, 0, 0);
		if (err)
			return err;
	}
	if (m->nids + n > m->capids) {
		cap = m->capids ? 2 * m->capids : 4096;
		while (cap < m->nids + n)
			cap *= 2;
		v = realloc(m->ids, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->ids = v;
		m->capids = cap;
	}
	memcpy(m->ids + m->nids, ids, n * sizeof(*ids));
	m->nids += n;
	insert(m->slots, m->nslots, &e);
	m->used++;
	return 0;
}

int memo_drop(struct memo *m, uint64_t start, uint64_t end)
{
	/* The dropped entries' ids stay in m->ids, unreferenced: mappings
	 * are rarely replaced after their addresses were described. */
	if (!m->used)
		return 0;
	return rebuild(m, m->nslots, start, end);
}

void memo_free(struct memo *m)
{
	free(m->slots);
	free(m->ids);
	memset(m, 0, sizeof(*m));
}

/* A copy of @src in @dst (empty): the arrays hold no pointers. */
int memo_copy(struct memo *dst, const struct memo *src)
{
	*dst = *src;
	dst->slots = NULL;
	dst->ids = NULL;
	if (src->nslots) {
		dst->slots = malloc(src->nslots * sizeof(*src->slots));
		if (!dst->slots)
			goto fail;
		memcpy(dst->slots, src->slots, src->nslots * sizeof(*src->slots));
	}
	if (src->capids) {
		dst->ids = malloc(src->capids * sizeof(*src->ids));
		if (!dst->ids)
			goto fail;
		memcpy(dst->ids, src->ids, src->nids * sizeof(*src->ids));
	}
	return 0;
fail:
	memo_free(dst);
	return -ENOMEM;
}
