// SPDX-License-Identifier: GPL-2.0
/* A process's executable mappings, as an mmap(MAP_FIXED) world sees them. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "sym/sym_int.h"

void maps_free(struct maps *m)
{
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

int maps_add(struct maps *m, const struct mapping *new)
{
	uint64_t start = new->start, end = new->end;
	struct mapping e, *v;
	bool placed = false;
	size_t k = 0;

	/* Rebuilt whole: mappings change rarely, lookups are what count.
	 * One old mapping can be split in two around the new one. */
	v = malloc((m->n + 2) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		e = m->v[i];
		if (e.end <= start || e.start >= end) {
			if (!placed && e.start >= end) {
				v[k++] = *new;
				placed = true;
			}
			v[k++] = e;
			continue;
		}
		if (e.start < start) {
			v[k] = e;
			v[k++].end = start;
		}
		if (!placed) {
			v[k++] = *new;
			placed = true;
		}
		if (e.end > end) {
			v[k] = e;
			v[k].pgoff += end - e.start;
			v[k++].start = end;
		}
	}
	if (!placed)
		v[k++] = *new;
	free(m->v);
	m->v = v;
	m->n = k;
	return 0;
}

const struct mapping *maps_find(const struct maps *m, uint64_t addr)
{
	size_t lo = count_at_or_below(m->v, m->n, sizeof(*m->v), addr);

	if (!lo || addr >= m->v[lo - 1].end)
		return NULL;
	return &m->v[lo - 1];
}
