// SPDX-License-Identifier: GPL-2.0
/*
 * A whole DHAT file in memory: dhat_read() with callbacks that keep every
 * program point and frame string. The fs arrays go into one pool and the
 * strings into another, so a file costs a few allocations, not one per
 * program point.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "in/in.h"
#include "util/array.h"

struct loader {
	struct dhat_pp *pps;
	size_t npps, pps_cap;
	uint32_t *fs;
	size_t nfs, fs_cap;
	size_t *str_off;	/* ftbl[i] starts at str_pool + str_off[i] */
	size_t nftbl, ftbl_cap;
	char *str;
	size_t nstr, str_cap;
};

static int keep_pp(void *ctx, size_t index, const struct dhat_pp *pp)
{
	struct loader *l = ctx;

	(void)index;
	if (grow(&l->pps, &l->pps_cap, l->npps + 1, sizeof(*l->pps)))
		return -ENOMEM;
	if (grow(&l->fs, &l->fs_cap, l->nfs + pp->nfs + 1, sizeof(*l->fs)))
		return -ENOMEM;
	l->pps[l->npps] = *pp;
	l->pps[l->npps++].fs = NULL;	/* set when the pool stops moving */
	if (pp->nfs)
		memcpy(l->fs + l->nfs, pp->fs, pp->nfs * sizeof(*l->fs));
	l->nfs += pp->nfs;
	return 0;
}

static int keep_frame(void *ctx, uint32_t index, const char *s, size_t len)
{
	struct loader *l = ctx;

	(void)index;
	if (grow(&l->str_off, &l->ftbl_cap, l->nftbl + 1, sizeof(*l->str_off)))
		return -ENOMEM;
	if (grow(&l->str, &l->str_cap, l->nstr + len + 1, 1))
		return -ENOMEM;
	l->str_off[l->nftbl++] = l->nstr;
	memcpy(l->str + l->nstr, s, len + 1);
	l->nstr += len + 1;
	return 0;
}

/* Pointers into the pools, now that they are complete. */
static int finish(struct loader *l, struct dhat_file *df)
{
	const char **ftbl = malloc((l->nftbl ? l->nftbl : 1) * sizeof(*ftbl));
	size_t i, off = 0;

	if (!ftbl)
		return -ENOMEM;
	for (i = 0; i < l->nftbl; i++)
		ftbl[i] = l->str + l->str_off[i];
	for (i = 0; i < l->npps; i++) {
		l->pps[i].fs = l->fs + off;	/* the pool exists: see keep_pp */
		off += l->pps[i].nfs;
	}
	df->pps = l->pps;
	df->npps = l->npps;
	df->ftbl = ftbl;
	df->nftbl = l->nftbl;
	df->fs_pool = l->fs;
	df->str_pool = l->str;
	free(l->str_off);
	return 0;
}

int dhat_load(FILE *f, const char *name, struct dhat_file *df,
	      struct dhat_err *err)
{
	static const struct dhat_read_ops ops = {
		.pp = keep_pp, .frame = keep_frame,
	};
	struct loader l = { 0 };
	int ret;

	memset(df, 0, sizeof(*df));
	ret = dhat_read(f, name, &ops, &l, &df->meta, err);
	if (!ret) {
		ret = finish(&l, df);
		if (ret) {
			snprintf(err->msg, sizeof(err->msg), "%s: out of memory",
				 name);
			dhat_meta_free(&df->meta);
		}
	}
	if (ret) {
		free(l.pps);
		free(l.fs);
		free(l.str_off);
		free(l.str);
	}
	return ret;
}

void dhat_file_free(struct dhat_file *df)
{
	dhat_meta_free(&df->meta);
	free(df->pps);
	free((void *)df->ftbl);
	free(df->fs_pool);
	free(df->str_pool);
	memset(df, 0, sizeof(*df));
}
