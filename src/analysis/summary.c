// SPDX-License-Identifier: GPL-2.0
/*
 * Profiles reduced to their six totals, and the inputs `diff` takes: a DHAT
 * file or a baseline summary written by `dhtrace baseline`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "analysis/analysis.h"

/* A baseline is a few hundred bytes: anything bigger is a DHAT file. */
#define BASELINE_MAX 65536
#define BASELINE_VERSION 1

static const char *const metric_names[AN_NMETRICS] = {
	[AN_TOTAL] = "total", [AN_TOTAL_BLOCKS] = "total_blocks",
	[AN_PEAK] = "peak", [AN_PEAK_BLOCKS] = "peak_blocks",
	[AN_END] = "end", [AN_END_BLOCKS] = "end_blocks",
};

/* The stat of a program point each metric sums. */
static const enum dhat_stat metric_stat[AN_NMETRICS] = {
	[AN_TOTAL] = DHAT_TB, [AN_TOTAL_BLOCKS] = DHAT_TBK,
	[AN_PEAK] = DHAT_GB, [AN_PEAK_BLOCKS] = DHAT_GBK,
	[AN_END] = DHAT_EB, [AN_END_BLOCKS] = DHAT_EBK,
};

const char *an_metric_name(enum an_metric m)
{
	return metric_names[m];
}

int an_metric_parse(const char *s, size_t len)
{
	for (int m = 0; m < AN_NMETRICS; m++)
		if (strlen(metric_names[m]) == len &&
		    !memcmp(metric_names[m], s, len))
			return m;
	return -1;
}

void an_summary_of(const struct dhat_file *df, struct an_summary *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < df->npps; i++)
		for (int m = 0; m < AN_NMETRICS; m++)
			s->m[m] += df->pps[i].stat[metric_stat[m]];
	s->cmd = df->meta.cmd ? strdup(df->meta.cmd) : NULL;
}

void an_summary_free(struct an_summary *s)
{
	free(s->cmd);
	free(s->time);
	free(s->git_commit);
	memset(s, 0, sizeof(*s));
}

static int bad_baseline(struct dhat_err *err, const char *path,
			const char *what)
{
	snprintf(err->msg, sizeof(err->msg), "%s: bad baseline: %s", path,
		 what);
	return -EINVAL;
}

static int baseline_string(yajl_val root, const char *key, char **out)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_any);

	if (!v || YAJL_IS_NULL(v))
		return 0;
	if (!YAJL_IS_STRING(v))
		return -EINVAL;
	*out = strdup(v->u.string);
	return *out ? 0 : -ENOMEM;
}

static int baseline_parse(yajl_val root, const char *path,
			  struct an_summary *s, struct dhat_err *err)
{
	const char *vpath[] = { "dhtraceBaseline", NULL };
	yajl_val v = yajl_tree_get(root, vpath, yajl_t_any);
	char what[96];

	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) != BASELINE_VERSION)
		return bad_baseline(err, path, "dhtraceBaseline is not 1");
	for (int m = 0; m < AN_NMETRICS; m++) {
		const char *mpath[] = { metric_names[m], NULL };

		v = yajl_tree_get(root, mpath, yajl_t_any);
		if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0) {
			snprintf(what, sizeof(what),
				 "%s: expected a non-negative integer",
				 metric_names[m]);
			return bad_baseline(err, path, what);
		}
		s->m[m] = (uint64_t)YAJL_GET_INTEGER(v);
	}
	if (baseline_string(root, "cmd", &s->cmd) ||
	    baseline_string(root, "time", &s->time) ||
	    baseline_string(root, "git_commit", &s->git_commit))
		return bad_baseline(err, path,
				    "cmd, time and git_commit must be strings");
	s->is_baseline = true;
	return 0;
}

/*
 * Reads the file's start; if it is a small JSON object with a
 * "dhtraceBaseline" key, parses it as a baseline and returns 1. Returns 0
 * when it is no baseline (@f rewound), or a negative errno.
 */
static int try_baseline(FILE *f, const char *path, struct an_summary *s,
			struct dhat_err *err)
{
	char *buf = malloc(BASELINE_MAX + 1);
	const char *vpath[] = { "dhtraceBaseline", NULL };
	yajl_val root;
	size_t n;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	n = fread(buf, 1, BASELINE_MAX + 1, f);
	if (n > BASELINE_MAX || ferror(f))
		goto out;
	buf[n] = '\0';
	root = yajl_tree_parse(buf, NULL, 0);
	if (YAJL_IS_OBJECT(root) && yajl_tree_get(root, vpath, yajl_t_any)) {
		ret = baseline_parse(root, path, s, err);
		if (!ret)
			ret = 1;
		else
			an_summary_free(s);
	}
	yajl_tree_free(root);
out:
	free(buf);
	if (!ret)
		rewind(f);
	return ret;
}

int an_input_load(const char *path, struct an_input *in, struct dhat_err *err)
{
	FILE *f = fopen(path, "r");
	int ret;

	memset(in, 0, sizeof(*in));
	if (!f) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "cannot open %s: %s", path,
			 strerror(errno));
		return ret;
	}
	ret = try_baseline(f, path, &in->summary, err);
	if (ret == 0) {
		ret = profile_load(f, path, &in->df, err);
		if (!ret)
			an_summary_of(&in->df, &in->summary);
	} else if (ret == -ENOMEM) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path,
			 strerror(ENOMEM));
	}
	fclose(f);
	return ret < 0 ? ret : 0;
}

void an_input_free(struct an_input *in)
{
	if (!in->summary.is_baseline)
		dhat_file_free(&in->df);
	an_summary_free(&in->summary);
}
