// SPDX-License-Identifier: GPL-2.0
/* The recording's side of pprof output: its mappings, frames and sites. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "out/pprof_build.h"
#include "record/record_int.h"

struct recording {
	const struct sites *sites;
	const struct sym *sym;
	const struct heap *heap;
	uint32_t *mapping_of;	/* told mapping -> 1 + pprof mapping */
};

/* pprof takes the first mapping as the main binary: the executable's
 * go first, the others keep the order they were told in. */
static struct pprof_mapping *build_mappings(struct recording *r,
					    const char *exe, size_t n)
{
	struct pprof_mapping *v = calloc(n ? n : 1, sizeof(*v));
	struct sym_mapping m;
	size_t k = 0;

	r->mapping_of = calloc(n ? n : 1, sizeof(*r->mapping_of));
	if (!v || !r->mapping_of) {
		free(v);
		return NULL;
	}
	for (int exe_pass = 1; exe_pass >= 0; exe_pass--) {
		for (size_t i = 0; i < n; i++) {
			sym_mapping_at(r->sym, i, &m);
			if ((exe && !strcmp(m.path, exe)) != exe_pass)
				continue;
			v[k] = (struct pprof_mapping){
				.start = m.start, .limit = m.end,
				.offset = m.pgoff, .path = m.path,
				.build_id = m.build_id,
				/* what pprof would do from the same files */
				.symbolized = true,
			};
			r->mapping_of[i] = ++k;
		}
	}
	return v;
}

static void frame(void *ctx, uint32_t id, struct sym_frame *out)
{
	const struct recording *r = ctx;

	sym_frame_parts(r->sym, id, out);
	if (out->mapping)
		out->mapping = r->mapping_of[out->mapping - 1];
}

static int site(void *ctx, size_t i, const uint32_t **ids, size_t *n,
		struct heap_pp_stats *stats)
{
	const struct recording *r = ctx;

	heap_pp_stats(r->heap, i, stats);
	*ids = sites_frames(r->sites, i, n);
	return 0;
}

int pprof_record_write(struct pprof_profile *p, const struct sites *sites,
		       const struct sym *sym, const struct heap *heap,
		       const char *exe, bool all_frames, const char *path)
{
	struct recording r = { .sites = sites, .sym = sym, .heap = heap };
	struct pprof_source src = {
		.ctx = &r,
		.nframes = sym_frame_count(sym),
		.nsites = sites_count(sites),
		.all_frames = all_frames,
		.frame = frame,
		.site = site,
	};
	struct pprof_mapping *mappings;
	int err;

	p->nmappings = sym_mapping_count(sym);
	mappings = build_mappings(&r, exe, p->nmappings);
	if (!mappings)
		return -ENOMEM;
	p->mappings = mappings;
	err = pprof_build_write(p, &src, path);
	free(mappings);
	free(r.mapping_of);
	return err;
}
