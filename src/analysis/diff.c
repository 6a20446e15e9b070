// SPDX-License-Identifier: GPL-2.0
/*
 * `dhtrace diff`: call sites of two profiles matched on their frames
 * shown (without the plumbing, unless all are asked for) without
 * addresses, and the change of each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"

static const enum dhat_stat metric_stat[AN_NMETRICS] = {
	[AN_TOTAL] = DHAT_TB, [AN_TOTAL_BLOCKS] = DHAT_TBK,
	[AN_PEAK] = DHAT_GB, [AN_PEAK_BLOCKS] = DHAT_GBK,
	[AN_END] = DHAT_EB, [AN_END_BLOCKS] = DHAT_EBK,
};

struct site {
	char *key;
	uint64_t m[AN_NMETRICS];
};

/* "0x4011D3: main (t.c:12)" -> "main (t.c:12)". */
static const char *drop_addr(const char *s)
{
	struct dhat_frame fr;

	dhat_frame_parse(s, strlen(s), &fr);
	return fr.has_addr ? fr.func : s;
}

/* The frames shown of @pp (all when @plumb is NULL), '\n'-separated. */
static char *site_key(const struct dhat_file *df, const struct dhat_pp *pp,
		      const struct an_plumb *plumb)
{
	size_t len = 1, first = 0, end = pp->nfs;
	char *key, *p;

	if (plumb)
		an_plumb_shown(plumb, pp->fs, pp->nfs, &first, &end);
	for (size_t i = first; i < end; i++)
		len += strlen(drop_addr(df->ftbl[pp->fs[i]])) + 1;
	key = p = malloc(len);
	if (!key)
		return NULL;
	*p = '\0';
	for (size_t i = first; i < end; i++) {
		const char *f = drop_addr(df->ftbl[pp->fs[i]]);
		size_t n = strlen(f);

		if (i > first)
			*p++ = '\n';
		memcpy(p, f, n + 1);
		p += n;
	}
	return key;
}

static int cmp_site(const void *a, const void *b)
{
	return strcmp(((const struct site *)a)->key,
		      ((const struct site *)b)->key);
}

static void free_sites(struct site *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].key);
	free(s);
}

/* The sites of @in (none unless @want) sorted by key, equal keys summed.
 * Returns the count, or -1 when out of memory. */
static ssize_t sites_of(const struct an_input *in, bool want, bool all_frames,
			struct site **out)
{
	const struct dhat_file *df = &in->df;
	size_t n = want ? df->npps : 0, m = 0;
	struct site *s = calloc(n ? n : 1, sizeof(*s));
	struct an_plumb *plumb = NULL;

	if (!s || (!all_frames && !(plumb = an_plumb_table(df->ftbl, df->nftbl)))) {
		free(s);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(s[i].key = site_key(df, &df->pps[i], plumb))) {
			free_sites(s, i);
			free(plumb);
			return -1;
		}
		for (int k = 0; k < AN_NMETRICS; k++)
			s[i].m[k] = df->pps[i].stat[metric_stat[k]];
	}
	free(plumb);
	qsort(s, n, sizeof(*s), cmp_site);
	for (size_t i = 0; i < n; i++) {
		if (m && !strcmp(s[m - 1].key, s[i].key)) {
			for (int k = 0; k < AN_NMETRICS; k++)
				s[m - 1].m[k] += s[i].m[k];
			free(s[i].key);
		} else {
			s[m++] = s[i];
		}
	}
	*out = s;
	return (ssize_t)m;
}

static uint64_t abs_change(const struct an_diff_row *r, enum an_metric m)
{
	return r->new[m] > r->base[m] ? r->new[m] - r->base[m] :
					r->base[m] - r->new[m];
}

/* The order of metrics a sort compares, the chosen one first. */
static void metric_order(enum an_sort sort, enum an_metric order[AN_NMETRICS])
{
	static const enum an_metric rest[AN_NMETRICS] = {
		AN_TOTAL, AN_PEAK, AN_END, AN_TOTAL_BLOCKS, AN_PEAK_BLOCKS,
		AN_END_BLOCKS,
	};
	enum an_metric first = sort == AN_SORT_BLOCKS ? AN_TOTAL_BLOCKS :
			       sort == AN_SORT_PEAK ? AN_PEAK :
			       sort == AN_SORT_END ? AN_END : AN_TOTAL;
	int n = 0;

	order[n++] = first;
	for (int i = 0; i < AN_NMETRICS; i++)
		if (rest[i] != first)
			order[n++] = rest[i];
}

static int cmp_rows(const void *a, const void *b, void *arg)
{
	const struct an_diff_row *x = a, *y = b;
	const enum an_metric *order = arg;

	for (int i = 0; i < AN_NMETRICS; i++) {
		uint64_t cx = abs_change(x, order[i]), cy = abs_change(y, order[i]);

		if (cx != cy)
			return cx < cy ? 1 : -1;
	}
	return strcmp(x->key, y->key);
}

static bool changed(const struct an_diff_row *r)
{
	return memcmp(r->base, r->new, sizeof(r->base)) != 0;
}

int an_diff_compute(struct an_input *base, struct an_input *new,
		    enum an_sort sort, size_t limit, bool all_frames,
		    struct an_diff *d)
{
	/* A baseline has no sites: comparing with one lists none. */
	bool sites = !base->summary.is_baseline && !new->summary.is_baseline;
	struct site *bs = NULL, *ns = NULL;
	ssize_t nb = sites_of(base, sites, all_frames, &bs);
	ssize_t nn = nb < 0 ? -1 : sites_of(new, sites, all_frames, &ns);
	enum an_metric order[AN_NMETRICS];
	size_t i = 0, j = 0, n = 0;
	struct an_diff_row *rows;

	memset(d, 0, sizeof(*d));
	d->base = &base->summary;
	d->new = &new->summary;
	if (nn < 0) {
		if (nb >= 0)
			free_sites(bs, nb);
		return -ENOMEM;
	}
	rows = calloc(nb + nn ? nb + nn : 1, sizeof(*rows));
	if (!rows) {
		free_sites(bs, nb);
		free_sites(ns, nn);
		return -ENOMEM;
	}
	/* Merge the two sorted lists; each key is moved into its row. */
	while (i < (size_t)nb || j < (size_t)nn) {
		struct an_diff_row *r = &rows[n++];
		int c = i == (size_t)nb ? 1 : j == (size_t)nn ? -1 :
			strcmp(bs[i].key, ns[j].key);

		if (c <= 0) {
			r->key = bs[i].key;
			memcpy(r->base, bs[i].m, sizeof(r->base));
		}
		if (c >= 0) {
			if (c == 0)
				free(ns[j].key);
			else
				r->key = ns[j].key;
			memcpy(r->new, ns[j].m, sizeof(r->new));
		}
		i += c <= 0;
		j += c >= 0;
	}
	free(bs);
	free(ns);
	for (i = j = 0; i < n; i++) {
		if (changed(&rows[i]))
			rows[j++] = rows[i];
		else
			free(rows[i].key);
	}
	metric_order(sort, order);
	d->sort = order[0];
	qsort_r(rows, j, sizeof(*rows), cmp_rows, order);
	d->nchanged = j;
	d->nrows = limit && limit < j ? limit : j;
	for (i = d->nrows; i < j; i++)
		free(rows[i].key);
	d->rows = rows;
	return 0;
}

void an_diff_free(struct an_diff *d)
{
	for (size_t i = 0; i < d->nrows; i++)
		free(d->rows[i].key);
	free(d->rows);
	memset(d, 0, sizeof(*d));
}
