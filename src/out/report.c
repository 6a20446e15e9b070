// SPDX-License-Identifier: GPL-2.0
/*
 * `dhtrace report` output: the selection src/analysis made, as text for a
 * person or as JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "out/out.h"

#define BOLD "\033[1m"
#define RESET "\033[0m"

static const char *const sort_titles[] = {
	[AN_SORT_TOTAL] = "total bytes", [AN_SORT_BLOCKS] = "total blocks",
	[AN_SORT_PEAK] = "bytes at t-gmax", [AN_SORT_END] = "bytes at t-end",
	[AN_SORT_SHORT] = "short-lived blocks",
	[AN_SORT_LIFETIME] = "average lifetime",
};

static const char *blocks_word(uint64_t n)
{
	return n == 1 ? "block" : "blocks";
}

static void amount(FILE *f, uint64_t bytes, uint64_t blocks)
{
	char b[64], k[32];

	fprintf(f, "%s in %s %s", out_bytes(bytes, b), out_thousands(blocks, k),
		blocks_word(blocks));
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

/* The file's totals, and how it was recorded as the run said it: the
 * estimates say so first, the cost comes last. */
static void summary(FILE *f, const struct an_report *r,
		    const struct dhat_meta *meta,
		    const struct out_recorded *how)
{
	const uint64_t *m = r->summary.m;
	const char *tu = meta->tu ? meta->tu : "";
	char t1[32], t2[32], text[OUT_RECORDED_TEXT];

	fprintf(f, "Command:    %s\n", meta->cmd ? meta->cmd : "?");
	if (meta->present & (1u << DHAT_M_PID))
		fprintf(f, "PID:        %" PRIu64 "\n", meta->pid);
	if (how->sampled)
		fprintf(f, "Sampled:    %s\n",
			out_sampling_text(&how->sampling, text, sizeof(text)) +
			strlen(OUT_SAMPLING_LABEL));
	fprintf(f, "Total:      ");
	amount(f, m[AN_TOTAL], m[AN_TOTAL_BLOCKS]);
	fprintf(f, "\nAt t-gmax:  ");
	amount(f, m[AN_PEAK], m[AN_PEAK_BLOCKS]);
	if (meta->present & (1u << DHAT_M_TG))
		fprintf(f, ", at %s of %s %s", out_thousands(meta->tg, t1),
			out_thousands(meta->te, t2), tu);
	fprintf(f, "\nAt t-end:   ");
	amount(f, m[AN_END], m[AN_END_BLOCKS]);
	fputc('\n', f);
	if (meta->timeline.n)
		out_sparkline_fprint(&meta->timeline, meta->tg, "            ", f);
	if (how->costed)
		fprintf(f, "Overhead:   %s\n",
			out_overhead_text(&how->overhead, text, sizeof(text)) +
			strlen(OUT_OVERHEAD_LABEL));
}

/* The text after "0x...: ": the same frame reads the same in every run. */
static const char *frame_text(const char *s)
{
	struct dhat_frame fr;

	dhat_frame_parse(s, strlen(s), &fr);
	return fr.has_addr ? fr.func : s;
}

static void frames(FILE *f, const struct dhat_file *df,
		   const struct an_row *w, size_t max)
{
	size_t n = max && max < w->nfs ? max : w->nfs;

	for (size_t i = 0; i < n; i++)
		fprintf(f, "    %s\n", frame_text(df->ftbl[w->fs[i]]));
	if (n < w->nfs)
		fprintf(f, "    ... %zu more frame%s (-v, -vv)\n", w->nfs - n,
			w->nfs - n == 1 ? "" : "s");
}

static void row(FILE *f, size_t i, const struct an_row *w,
		const struct an_report *r, const struct dhat_file *df,
		const struct an_opts *o, const struct out_style *st)
{
	const uint64_t *m = r->summary.m;
	const char *tu = df->meta.tu ? df->meta.tu : "";

	fprintf(f, "\n%s#%zu ", st->colour ? BOLD : "", i + 1);
	if (w->key)
		fprintf(f, "%s %s: ", an_group_name(o->by), w->key);
	amount(f, w->stat[DHAT_TB], w->stat[DHAT_TBK]);
	fprintf(f, " (%.1f%% of bytes)", share(w->stat[DHAT_TB], m[AN_TOTAL]));
	if (w->key)
		fprintf(f, ", %zu program point%s", w->npps,
			w->npps == 1 ? "" : "s");
	fprintf(f, "%s\n    at t-gmax ", st->colour ? RESET : "");
	amount(f, w->stat[DHAT_GB], w->stat[DHAT_GBK]);
	fprintf(f, ", at t-end ");
	amount(f, w->stat[DHAT_EB], w->stat[DHAT_EBK]);
	if (w->stat[DHAT_TBK] && (w->pp ? w->pp->present & (1u << DHAT_TL) :
				  w->stat[DHAT_TL])) {
		/* tl / tbk in tenths, rounded */
		unsigned __int128 t = ((unsigned __int128)w->stat[DHAT_TL] * 20 /
				       w->stat[DHAT_TBK] + 1) / 2;
		char k[32];

		fprintf(f, "\n    avg lifetime %s.%u %s",
			out_thousands((uint64_t)(t / 10), k),
			(unsigned)(t % 10), tu);
	}
	if (o->sort == AN_SORT_SHORT && !o->leaks) {
		char k[32];

		fprintf(f, ", short-lived %s %s",
			out_thousands(w->short_blocks, k),
			blocks_word(w->short_blocks));
	}
	fputc('\n', f);
	if (w->pp)
		frames(f, df, w, o->leaks ? 0 : st->frames);
}

int out_report_fprint(const struct an_report *r, const struct dhat_file *df,
		      const struct out_recorded *how,
		      const struct an_opts *o, const struct out_style *st,
		      FILE *f)
{
	summary(f, r, &df->meta, how);
	fprintf(f, "%s %zu of %zu %s%s, by %s, sorted by %s\n",
		o->leaks ? "Leaks:     " : "Shown:     ", r->nrows, r->nmatched,
		o->by == AN_BY_SITE ? "program point" : an_group_name(o->by),
		r->nmatched == 1 ? "" : "s", an_group_name(o->by),
		sort_titles[o->leaks ? AN_SORT_END : o->sort]);
	for (size_t i = 0; i < r->nrows; i++)
		row(f, i, &r->rows[i], r, df, o, st);
	if (fflush(f) || ferror(f))
		return -EIO;
	return 0;
}

static void json_row(struct json_out *j, const struct an_row *w,
		     const struct dhat_file *df)
{
	const uint64_t m[AN_NMETRICS] = {
		[AN_TOTAL] = w->stat[DHAT_TB],
		[AN_TOTAL_BLOCKS] = w->stat[DHAT_TBK],
		[AN_PEAK] = w->stat[DHAT_GB],
		[AN_PEAK_BLOCKS] = w->stat[DHAT_GBK],
		[AN_END] = w->stat[DHAT_EB],
		[AN_END_BLOCKS] = w->stat[DHAT_EBK],
	};

	json_open(j, '{');
	if (w->key) {
		json_key(j, "group");
		json_str(j, w->key);
	}
	json_metric_fields(j, m);
	json_key(j, "lifetime_sum");
	json_u64(j, w->stat[DHAT_TL]);
	json_key(j, "short_lived_blocks");
	json_u64(j, w->short_blocks);
	json_key(j, "program_points");
	json_u64(j, w->npps);
	if (w->pp) {
		json_key(j, "frames");
		json_open(j, '[');
		for (size_t i = 0; i < w->nfs; i++)
			json_str(j, df->ftbl[w->fs[i]]);
		json_close(j, ']');
	}
	json_close(j, '}');
}

int out_report_json_fprint(const struct an_report *r,
			   const struct dhat_file *df, const struct an_opts *o,
			   FILE *f)
{
	const struct dhat_meta *meta = &df->meta;
	struct json_out j;
	int ret = json_begin(&j);

	if (ret)
		return ret;
	json_open(&j, '{');
	json_key(&j, "cmd");
	json_str(&j, meta->cmd);
	json_key(&j, "pid");
	json_u64(&j, meta->pid);
	json_key(&j, "time_unit");
	json_str(&j, meta->tu);
	json_key(&j, "t_gmax");
	json_u64(&j, meta->tg);
	json_key(&j, "t_end");
	json_u64(&j, meta->te);
	json_metric_fields(&j, r->summary.m);
	json_key(&j, "by");
	json_str(&j, an_group_name(o->by));
	json_key(&j, "sort");
	json_str(&j, an_sort_name(o->leaks ? AN_SORT_END : o->sort));
	json_key(&j, "matched");
	json_u64(&j, r->nmatched);
	json_key(&j, "rows");
	json_open(&j, '[');
	for (size_t i = 0; i < r->nrows; i++)
		json_row(&j, &r->rows[i], df);
	json_close(&j, ']');
	json_close(&j, '}');
	return json_end(&j, f);
}
