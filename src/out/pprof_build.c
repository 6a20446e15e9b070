// SPDX-License-Identifier: GPL-2.0
/*
 * From call sites (lists of frame ids) to pprof's samples and
 * locations. The frames of one return address are its inlined calls
 * innermost first, then its function, all at the same address: a run of
 * frames at one address is one location, except that a frame seen again
 * starts the next one (a function calling itself from the same place).
 * Locations are shared by their first frame id.
 *
 * Sites go to the writer one at a time, as it asks for them, without
 * their plumbing unless all frames are asked for; a location is made when
 * a site first needs it, and the writer reads the locations after the
 * last sample. Only the locations and the current sample are held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "out/pprof_build.h"

struct build {
	const struct pprof_source *src;
	struct pprof_profile *p;
	uint32_t *loc_of_frame;	/* frame id -> 1 + location */
	uint64_t *addr;		/* frame id -> its address */
	struct an_plumb *plumb;	/* frame id -> its frame for the rule; NULL:
				 * all frames */
	struct pprof_location *locations;
	size_t nlocations, caplocations;
	struct pprof_line *lines;	/* of all locations, in order */
	size_t nlines, caplines;
	uint32_t *stack;	/* the current sample's location indices */
	size_t capstack;
};

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
static size_t run_length(const struct build *b, const uint32_t *ids, size_t n)
{
	size_t len = 1;

	for (; len < n; len++) {
		if (b->addr[ids[len]] != b->addr[ids[0]])
			break;
		for (size_t j = 0; j < len; j++)
			if (ids[j] == ids[len])
				return len;
	}
	return len;
}

/* The locations of frames @ids[0..n) into b->stack; how many in *@len. */
static int locate(struct build *b, const uint32_t *ids, size_t n, size_t *len)
{
	size_t run;
	int err;

	*len = 0;
	err = grow(&b->stack, &b->capstack, n, sizeof(*b->stack));
	for (size_t i = 0; i < n && !err; i += run) {
		uint32_t *loc = &b->loc_of_frame[ids[i]];

		run = run_length(b, ids + i, n - i);
		if (!*loc) {
			err = add_location(b, ids + i, run, loc);
			if (err)
				break;
			++*loc;
		}
		b->stack[(*len)++] = *loc - 1;
	}
	return err;
}

/* The writer's samples: site @i located; after the last, the locations,
 * whose lines have stopped moving. */
static int sample(void *ctx, size_t i, struct pprof_sample *s)
{
	struct build *b = ctx;
	const struct pprof_source *src = b->src;
	const uint32_t *ids;
	size_t n, line = 0;
	int err;

	if (i < src->nsites) {
		err = src->site(src->ctx, i, &ids, &n, &s->stats);
		if (!err && b->plumb) {
			size_t first, end;

			an_plumb_shown(b->plumb, ids, n, &first, &end);
			ids += first;
			n = end - first;
		}
		if (!err)
			err = locate(b, ids, n, &s->nlocations);
		s->locations = b->stack;
		return err ? err : 1;
	}
	for (size_t j = 0; j < b->nlocations; j++) {
		b->locations[j].lines = b->lines + line;
		line += b->locations[j].nlines;
	}
	b->p->locations = b->locations;
	b->p->nlocations = b->nlocations;
	return 0;
}

/* @f as the folding rule sees it: the object is its mapping's file. */
static void plumb_of(const struct pprof_profile *p, const struct sym_frame *f,
		     struct an_plumb *out)
{
	const char *obj = f->mapping && f->mapping <= p->nmappings ?
			  p->mappings[f->mapping - 1].path : NULL;
	const char *func = f->function ? f->function : "???";
	struct dhat_frame fr = {
		.addr = f->addr, .has_addr = true,
		.func = func, .func_len = strlen(func),
		.file = f->file, .file_len = f->file ? strlen(f->file) : 0,
		.obj = obj, .obj_len = obj ? strlen(obj) : 0,
	};

	an_plumb_of(&fr, out);
}

int pprof_build_write(struct pprof_profile *p, const struct pprof_source *src,
		      const char *path)
{
	struct build b = { .src = src, .p = p };
	int err = 0;

	b.loc_of_frame = calloc(src->nframes + 1, sizeof(*b.loc_of_frame));
	b.addr = malloc((src->nframes + 1) * sizeof(*b.addr));
	if (!src->all_frames)
		b.plumb = malloc((src->nframes + 1) * sizeof(*b.plumb));
	if (!b.loc_of_frame || !b.addr || (!src->all_frames && !b.plumb))
		err = -ENOMEM;
	/* run_length() compares them for every frame of every site */
	for (uint32_t id = 0; !err && id < src->nframes; id++) {
		struct sym_frame f;

		src->frame(src->ctx, id, &f);
		b.addr[id] = f.addr;
		if (b.plumb)
			plumb_of(p, &f, &b.plumb[id]);
	}
	p->sample = sample;
	p->sample_ctx = &b;
	p->locations = NULL;
	p->nlocations = 0;
	if (!err)
		err = out_pprof_write(p, path);
	/* what they point to is gone */
	p->sample_ctx = NULL;
	p->locations = NULL;
	p->nlocations = 0;
	free(b.loc_of_frame);
	free(b.addr);
	free(b.plumb);
	free(b.locations);
	free(b.lines);
	free(b.stack);
	return err;
}
