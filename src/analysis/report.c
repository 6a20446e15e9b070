// SPDX-License-Identifier: GPL-2.0
/*
 * `dhtrace report`'s selection: program points filtered, grouped by site,
 * function, file or object, sorted and cut to a limit; each shown without
 * its plumbing (plumbing.c) unless all frames are asked for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "util/array.h"

static const char *const sort_names[] = {
	[AN_SORT_TOTAL] = "total", [AN_SORT_BLOCKS] = "blocks",
	[AN_SORT_PEAK] = "peak", [AN_SORT_END] = "end",
	[AN_SORT_SHORT] = "short-lived", [AN_SORT_LIFETIME] = "lifetime",
};

static const char *const group_names[] = {
	[AN_BY_SITE] = "site", [AN_BY_FUNCTION] = "function",
	[AN_BY_FILE] = "file", [AN_BY_OBJECT] = "object",
};

static int parse_name(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return (int)i;
	return -1;
}

int an_sort_parse(const char *s)
{
	return parse_name(sort_names, ARRAY_SIZE(sort_names), s);
}

int an_group_parse(const char *s)
{
	return parse_name(group_names, ARRAY_SIZE(group_names), s);
}

const char *an_sort_name(enum an_sort s)
{
	return sort_names[s];
}

const char *an_group_name(enum an_group g)
{
	return group_names[g];
}

/* DHAT's viewer: a program point is short-lived when its average lifetime
 * is at most tuth (compared without dividing). */
static bool short_lived(const struct dhat_meta *meta, const struct dhat_pp *pp)
{
	return (meta->present & (1u << DHAT_M_TUTH)) &&
	       (pp->present & (1u << DHAT_TL)) && pp->stat[DHAT_TBK] &&
	       (unsigned __int128)pp->stat[DHAT_TL] <=
	       (unsigned __int128)meta->tuth * pp->stat[DHAT_TBK];
}

/* One flag per frame-table entry: does its function name match? */
static bool *match_frames(const struct dhat_file *df, const regex_t *re)
{
	bool *hit = calloc(df->nftbl ? df->nftbl : 1, sizeof(*hit));
	char *name = NULL;
	size_t cap = 0;

	if (!hit)
		return NULL;
	for (size_t i = 0; i < df->nftbl; i++) {
		struct dhat_frame fr;

		dhat_frame_parse(df->ftbl[i], strlen(df->ftbl[i]), &fr);
		if (fr.func_len + 1 > cap) {
			char *p = realloc(name, fr.func_len + 1);

			if (!p) {
				free(hit);
				free(name);
				return NULL;
			}
			name = p;
			cap = fr.func_len + 1;
		}
		memcpy(name, fr.func, fr.func_len);
		name[fr.func_len] = '\0';
		hit[i] = !regexec(re, name, 0, NULL, 0);
	}
	free(name);
	return hit;
}

static bool row_matches(const struct an_row *row, const bool *hit)
{
	for (size_t i = 0; i < row->nfs; i++)
		if (hit[row->fs[i]])
			return true;
	return false;
}

/* Code without symbols: "??? in libsqlite3.so.0", by its object's name,
 * so that each library's stripped code is a group of its own. */
static char *unknown_function(const struct dhat_frame *fr)
{
	const char *base;
	char *key;

	if (!fr->obj)
		return strdup("???");
	base = memrchr(fr->obj, '/', fr->obj_len);
	base = base ? base + 1 : fr->obj;
	if (asprintf(&key, "??? in %.*s",
		     (int)(fr->obj_len - (size_t)(base - fr->obj)), base) < 0)
		return NULL;
	return key;
}

/* The group key of a row: its first frame's function, file or object,
 * "???" when not known. */
static char *group_key(const struct dhat_file *df, const struct an_row *row,
		       enum an_group by)
{
	struct dhat_frame fr;
	const char *s = NULL;
	size_t len = 0;

	if (row->nfs) {
		const char *f = df->ftbl[row->fs[0]];

		dhat_frame_parse(f, strlen(f), &fr);
		if (by == AN_BY_FUNCTION && (!fr.func_len ||
		    (fr.func_len == 3 && !memcmp(fr.func, "???", 3))))
			return unknown_function(&fr);
		if (by == AN_BY_FUNCTION)
			s = fr.func, len = fr.func_len;
		else if (by == AN_BY_FILE)
			s = fr.file, len = fr.file_len;
		else
			s = fr.obj, len = fr.obj_len;
	}
	if (!s)
		s = "???", len = 3;
	return strndup(s, len);
}

/* The frames of @pp that @row shows: all, or without the plumbing. */
static void shown_frames(const struct dhat_pp *pp, const struct an_plumb *plumb,
			 struct an_row *row)
{
	size_t first = 0, end = pp->nfs;

	if (plumb)
		an_plumb_shown(plumb, pp->fs, pp->nfs, &first, &end);
	row->fs = pp->fs + first;
	row->nfs = end - first;
}

static int cmp_key(const void *a, const void *b)
{
	const struct an_row *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* Sums rows with equal keys (sorted by key) into the first of them. */
static size_t merge_groups(struct an_row *rows, size_t n)
{
	size_t out = 0;

	qsort(rows, n, sizeof(*rows), cmp_key);
	for (size_t i = 0; i < n; i++) {
		struct an_row *r = out ? &rows[out - 1] : NULL;

		if (r && !strcmp(r->key, rows[i].key)) {
			for (int s = 0; s < DHAT_NSTATS; s++)
				r->stat[s] += rows[i].stat[s];
			r->short_blocks += rows[i].short_blocks;
			r->npps++;
			free(rows[i].key);
			continue;
		}
		rows[out++] = rows[i];
	}
	for (size_t i = 0; i < out; i++)
		rows[i].stat[DHAT_MB] = rows[i].stat[DHAT_MBK] = 0;
	return out;
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static int cmp_rows(const void *a, const void *b, void *arg)
{
	const struct an_row *x = a, *y = b;
	enum an_sort sort_by = *(const enum an_sort *)arg;
	unsigned __int128 lx, ly;
	int c = 0;

	switch (sort_by) {
	case AN_SORT_TOTAL:
		c = cmp_u64_desc(x->stat[DHAT_TB], y->stat[DHAT_TB]);
		break;
	case AN_SORT_BLOCKS:
		c = cmp_u64_desc(x->stat[DHAT_TBK], y->stat[DHAT_TBK]);
		break;
	case AN_SORT_PEAK:
		c = cmp_u64_desc(x->stat[DHAT_GB], y->stat[DHAT_GB]);
		break;
	case AN_SORT_END:
		c = cmp_u64_desc(x->stat[DHAT_EB], y->stat[DHAT_EB]);
		break;
	case AN_SORT_SHORT:
		c = cmp_u64_desc(x->short_blocks, y->short_blocks);
		break;
	case AN_SORT_LIFETIME:
		/* tl/tbk compared as tl_x * tbk_y against tl_y * tbk_x; a row
		 * without blocks has no lifetime and goes last. */
		lx = (unsigned __int128)x->stat[DHAT_TL] * y->stat[DHAT_TBK];
		ly = (unsigned __int128)y->stat[DHAT_TL] * x->stat[DHAT_TBK];
		c = !x->stat[DHAT_TBK] - !y->stat[DHAT_TBK];
		if (!c)
			c = lx < ly ? 1 : lx > ly ? -1 : 0;
		break;
	}
	if (c)
		return c;
	c = cmp_u64_desc(x->stat[DHAT_TB], y->stat[DHAT_TB]);
	if (c)
		return c;
	/* Ties keep file order (sites) or key order (groups). */
	if (x->key)
		return strcmp(x->key, y->key);
	return x->pp < y->pp ? -1 : x->pp > y->pp;
}

static bool row_kept(const struct an_row *r, const struct an_opts *o)
{
	return r->stat[DHAT_TBK] >= o->min_blocks &&
	       r->stat[DHAT_TB] >= o->min_bytes &&
	       (!o->leaks || r->stat[DHAT_EB] > 0);
}

static void free_rows(struct an_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].key);
	free(rows);
}

int an_report_compute(const struct dhat_file *df, const struct an_opts *o,
		      struct an_report *r)
{
	struct an_row *rows = calloc(df->npps ? df->npps : 1, sizeof(*rows));
	struct an_plumb *plumb = NULL;
	bool *hit = NULL;
	size_t n = 0, kept = 0;
	enum an_sort sort;

	memset(r, 0, sizeof(*r));
	if (!rows)
		return -ENOMEM;
	if (o->match && !(hit = match_frames(df, o->match)))
		goto nomem;
	if (!o->all_frames && !(plumb = an_plumb_table(df->ftbl, df->nftbl)))
		goto nomem;
	for (size_t i = 0; i < df->npps; i++) {
		const struct dhat_pp *pp = &df->pps[i];
		struct an_row *row = &rows[n];

		shown_frames(pp, plumb, row);
		if (hit && !row_matches(row, hit))
			continue;
		memcpy(row->stat, pp->stat, sizeof(row->stat));
		row->short_blocks = short_lived(&df->meta, pp) ?
				    pp->stat[DHAT_TBK] : 0;
		row->npps = 1;
		if (o->by == AN_BY_SITE) {
			row->pp = pp;
		} else if (!(row->key = group_key(df, row, o->by))) {
			goto nomem;
		}
		n++;
	}
	if (o->by != AN_BY_SITE)
		n = merge_groups(rows, n);
	for (size_t i = 0; i < n; i++) {
		if (row_kept(&rows[i], o))
			rows[kept++] = rows[i];
		else
			free(rows[i].key);
	}
	sort = o->leaks ? AN_SORT_END : o->sort;
	qsort_r(rows, kept, sizeof(*rows), cmp_rows, &sort);
	r->nmatched = kept;
	r->nrows = o->limit && o->limit < kept ? o->limit : kept;
	for (size_t i = r->nrows; i < kept; i++)
		free(rows[i].key);
	free(hit);
	free(plumb);
	r->rows = rows;
	an_summary_of(df, &r->summary);
	return 0;
nomem:
	free(hit);
	free(plumb);
	free_rows(rows, n);
	return -ENOMEM;
}

void an_report_free(struct an_report *r)
{
	free_rows(r->rows, r->nrows);
	an_summary_free(&r->summary);
	memset(r, 0, sizeof(*r));
}
