// SPDX-License-Identifier: GPL-2.0
/*
 * From call sites (lists of frame ids) to pprof's samples and
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
	const struct pprof_source *src;
	uint32_t *loc_of_frame;	/* frame id -> 1 + location */
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
		b->src->frame(b->src->ctx, ids[i], &f);
		if (!i) {
			b->locations[*loc].address = f.addr;
			b->locations[*loc].mapping = f.mapping;
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
static size_t run_length(const struct pprof_source *src, const uint32_t *ids,
			 size_t n)
{
	struct sym_frame first, f;
	size_t len = 1;

	src->frame(src->ctx, ids[0], &first);
	for (; len < n; len++) {
		src->frame(src->ctx, ids[len], &f);
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

		len = run_length(b->src, ids + i, n - i);
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

static int build(struct build *b, struct pprof_profile *p)
{
	const struct pprof_source *src = b->src;
	size_t nsamples = src->nsites, n, line = 0;
	const uint32_t *ids;
	int err;

	b->loc_of_frame = calloc(src->nframes + 1, sizeof(*b->loc_of_frame));
	b->samples = calloc(nsamples ? nsamples : 1, sizeof(*b->samples));
	b->first_loc = calloc(nsamples ? nsamples : 1, sizeof(*b->first_loc));
	if (!b->loc_of_frame || !b->samples || !b->first_loc)
		return -ENOMEM;
	for (size_t i = 0; i < nsamples; i++) {
		ids = src->site(src->ctx, i, &n, &b->samples[i].stats);
		b->first_loc[i] = b->nstacks;
		err = add_sample(b, ids, n);
		if (err)
			return err;
		b->samples[i].nlocations = b->nstacks - b->first_loc[i];
	}
	/* the arrays have stopped moving: point into them */
	for (size_t i = 0; i < nsamples; i++)
		b->samples[i].locations = b->stacks + b->first_loc[i];
	for (size_t i = 0; i < b->nlocations; i++) {
		b->locations[i].lines = b->lines + line;
		line += b->locations[i].nlines;
	}
	p->locations = b->locations;
	p->nlocations = b->nlocations;
	p->samples = b->samples;
	p->nsamples = nsamples;
	return 0;
}

int pprof_build_write(struct pprof_profile *p, const struct pprof_source *src,
		      const char *path)
{
	struct build b = { .src = src };
	int err;

	err = build(&b, p);
	if (!err)
		err = out_pprof_write(p, path);
	free(b.loc_of_frame);
	free(b.locations);
	free(b.lines);
	free(b.stacks);
	free(b.first_loc);
	free(b.samples);
	return err;
}
