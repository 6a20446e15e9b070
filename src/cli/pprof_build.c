// SPDX-License-Identifier: GPL-2.0
/*
 * From call sites (lists of printed frame ids) to pprof's samples and
 * locations. The frames of one return address are its inlined calls
 * innermost first, then its function, all at the same address: a run of
 * frames at one address is one location, except that a frame seen again
 * starts the next one (a function calling itself from the same place).
 * Locations are shared by their first frame id.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/pprof_build.h"

struct build {
	const struct sym *sym;
	uint32_t *mapping_of;	/* told mapping -> 1 + pprof mapping */
	uint32_t *loc_of_frame;	/* frame id -> 1 + location */
	struct pprof_mapping *mappings;
	struct pprof_location *locations;
	size_t nlocations, caplocations;
	struct pprof_line *lines;	/* of all locations, in order */
	size_t nlines, caplines;
	uint32_t *stacks;	/* location indices of all samples */
	size_t nstacks, capstacks;
	size_t *first_loc;	/* by sample, into stacks */
	struct pprof_sample *samples;
};

/* Room for @need elements of @size in *@v, growing it geometrically. */
static int grow(void *v, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 256;
	void *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	nv = realloc(*(void **)v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*(void **)v = nv;
	*cap = ncap;
	return 0;
}

/* pprof takes the first mapping as the main binary: the executable's
 * go first, the others keep the order they were told in. */
static int build_mappings(struct build *b, const char *exe, size_t n)
{
	struct sym_mapping m;
	size_t k = 0;

	b->mappings = calloc(n ? n : 1, sizeof(*b->mappings));
	b->mapping_of = calloc(n ? n : 1, sizeof(*b->mapping_of));
	if (!b->mappings || !b->mapping_of)
		return -ENOMEM;
	for (int exe_pass = 1; exe_pass >= 0; exe_pass--) {
		for (size_t i = 0; i < n; i++) {
			sym_mapping_at(b->sym, i, &m);
			if ((exe && !strcmp(m.path, exe)) != exe_pass)
				continue;
			b->mappings[k] = (struct pprof_mapping){
				.start = m.start, .limit = m.end,
				.offset = m.pgoff, .path = m.path,
				.build_id = m.build_id,
				/* what pprof would do from the same files */
				.symbolized = true,
			};
			b->mapping_of[i] = ++k;
		}
	}
	return 0;
}

/* A new location for frames @ids[0..n), all at one address. */
static int add_location(struct build *b, const uint32_t *ids, size_t n,
			uint32_t *loc)
{
	struct sym_frame f;
	int err;

	err = grow(&b->locations, &b->caplocations, b->nlocations + 1,
		   sizeof(*b->locations));
	if (!err)
		err = grow(&b->lines, &b->caplines, b->nlines + n,
			   sizeof(*b->lines));
	if (err)
		return err;
	*loc = b->nlocations++;
	b->locations[*loc] = (struct pprof_location){ 0 };
	for (size_t i = 0; i < n; i++) {
		sym_frame_parts(b->sym, ids[i], &f);
		if (!i) {
			b->locations[*loc].address = f.addr;
			if (f.mapping)
				b->locations[*loc].mapping =
					b->mapping_of[f.mapping - 1];
		}
		/* "???" with no file: no line, pprof shows the address */
		if (!f.function && !f.file)
			continue;
		b->lines[b->nlines++] = (struct pprof_line){
			.function = f.function ? f.function : "???",
			.system_name = f.system_name, .file = f.file,
			.line = f.line, .column = f.column,
		};
		b->locations[*loc].nlines++;
	}
	return 0;
}

/* How many frames from @ids[0] (of @n) make one location. */
static size_t run_length(const struct sym *sym, const uint32_t *ids, size_t n)
{
	struct sym_frame first, f;
	size_t len = 1;

	sym_frame_parts(sym, ids[0], &first);
	for (; len < n; len++) {
		sym_frame_parts(sym, ids[len], &f);
		if (f.addr != first.addr)
			break;
		for (size_t j = 0; j < len; j++)
			if (ids[j] == ids[len])
				return len;
	}
	return len;
}

static int add_sample(struct build *b, const uint32_t *ids, size_t n)
{
	size_t len;
	int err;

	for (size_t i = 0; i < n; i += len) {
		uint32_t *loc = &b->loc_of_frame[ids[i]];

		len = run_length(b->sym, ids + i, n - i);
		if (!*loc) {
			err = add_location(b, ids + i, len, loc);
			if (err)
				return err;
			++*loc;
		}
		err = grow(&b->stacks, &b->capstacks, b->nstacks + 1,
			   sizeof(*b->stacks));
		if (err)
			return err;
		b->stacks[b->nstacks++] = *loc - 1;
	}
	return 0;
}

static int build(struct build *b, struct pprof_profile *p,
		 const struct sites *sites, const struct heap *heap,
		 const char *exe)
{
	size_t nsamples = sites_count(sites), n, line = 0;
	const uint32_t *ids;
	int err;

	p->nmappings = sym_mapping_count(b->sym);
	err = build_mappings(b, exe, p->nmappings);
	if (err)
		return err;
	b->loc_of_frame = calloc(sym_frame_count(b->sym) + 1,
				 sizeof(*b->loc_of_frame));
	b->samples = calloc(nsamples ? nsamples : 1, sizeof(*b->samples));
	b->first_loc = calloc(nsamples ? nsamples : 1, sizeof(*b->first_loc));
	if (!b->loc_of_frame || !b->samples || !b->first_loc)
		return -ENOMEM;
	for (size_t i = 0; i < nsamples; i++) {
		ids = sites_frames(sites, i, &n);
		b->first_loc[i] = b->nstacks;
		err = add_sample(b, ids, n);
		if (err)
			return err;
		b->samples[i].nlocations = b->nstacks - b->first_loc[i];
		heap_pp_stats(heap, i, &b->samples[i].stats);
	}
	/* the arrays have stopped moving: point into them */
	for (size_t i = 0; i < nsamples; i++)
		b->samples[i].locations = b->stacks + b->first_loc[i];
	for (size_t i = 0; i < b->nlocations; i++) {
		b->locations[i].lines = b->lines + line;
		line += b->locations[i].nlines;
	}
	p->mappings = b->mappings;
	p->locations = b->locations;
	p->nlocations = b->nlocations;
	p->samples = b->samples;
	p->nsamples = nsamples;
	return 0;
}

int pprof_build_write(struct pprof_profile *p, const struct sites *sites,
		      const struct sym *sym, const struct heap *heap,
		      const char *exe, const char *path)
{
	struct build b = { .sym = sym };
	int err;

	err = build(&b, p, sites, heap, exe);
	if (!err)
		err = out_pprof_write(p, path);
	free(b.mapping_of);
	free(b.loc_of_frame);
	free(b.mappings);
	free(b.locations);
	free(b.lines);
	free(b.stacks);
	free(b.first_loc);
	free(b.samples);
	return err;
}
