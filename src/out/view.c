// SPDX-License-Identifier: GPL-2.0
/*
 * `dhtrace view`: one self-contained HTML page. The markup, style and
 * script come from src/view (embedded at build time); the profile goes in
 * as JSON in a <script type="application/json"> block, with every '<'
 * written \u003c so that nothing in it can end or reopen the block.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "out/out.h"

/* build/view_assets.c, from tools/embed.sh */
extern const char view_view_html[], view_view_css[], view_view_js[];

static const char *blocks_word(uint64_t n)
{
	return n == 1 ? "block" : "blocks";
}

/* "17,582,440 B (16.8 MiB) in 92,644 blocks", as report prints it. */
static void amount(struct json_out *j, uint64_t bytes, uint64_t blocks)
{
	char b[64], k[32], s[128];

	snprintf(s, sizeof(s), "%s in %s %s", out_bytes(bytes, b),
		 out_thousands(blocks, k), blocks_word(blocks));
	json_str(j, s);
}

/* The lines record printed of how it sampled and what tracing cost, after
 * their labels: the page has its own. */
static void recorded_lines(struct json_out *j, const struct out_recorded *how)
{
	char text[OUT_RECORDED_TEXT];

	json_key(j, "sampling");
	json_str(j, how && how->sampled ?
		 out_sampling_text(&how->sampling, text, sizeof(text)) +
		 strlen(OUT_SAMPLING_LABEL) : NULL);
	json_key(j, "overhead");
	json_str(j, how && how->costed ?
		 out_overhead_text(&how->overhead, text, sizeof(text)) +
		 strlen(OUT_OVERHEAD_LABEL) : NULL);
}

static void summary(struct json_out *j, const struct out_view_input *in)
{
	const struct dhat_meta *meta = &in->df->meta;
	const uint64_t *m = in->summary->m;
	char t1[32], t2[32], s[128];

	json_key(j, "summary");
	json_open(j, '{');
	json_key(j, "cmd");
	json_str(j, meta->cmd ? meta->cmd : in->summary->cmd);
	json_key(j, "pid");
	if (meta->present & (1u << DHAT_M_PID))
		json_u64(j, meta->pid);
	else
		json_str(j, NULL);
	json_key(j, "tu");
	json_str(j, meta->tu);
	json_key(j, "Mtu");
	json_str(j, meta->mtu);
	json_key(j, "te");
	json_u64(j, meta->te);
	json_key(j, "tg");
	json_u64(j, meta->tg);
	json_key(j, "hasTimes");
	json_bool(j, meta->present & (1u << DHAT_M_TE));
	json_key(j, "metrics");
	json_open(j, '{');
	json_metric_fields(j, m);
	json_close(j, '}');
	json_key(j, "total");
	amount(j, m[AN_TOTAL], m[AN_TOTAL_BLOCKS]);
	json_key(j, "peak");
	amount(j, m[AN_PEAK], m[AN_PEAK_BLOCKS]);
	json_key(j, "end");
	amount(j, m[AN_END], m[AN_END_BLOCKS]);
	json_key(j, "when");	/* of t-gmax, as report prints it */
	if (meta->present & (1u << DHAT_M_TG)) {
		snprintf(s, sizeof(s), "at %s of %s %s",
			 out_thousands(meta->tg, t1), out_thousands(meta->te, t2),
			 meta->tu ? meta->tu : "");
		json_str(j, s);
	} else {
		json_str(j, NULL);
	}
	json_key(j, "duration");
	if (meta->present & (1u << DHAT_M_TE)) {
		snprintf(s, sizeof(s), "%s %s", out_thousands(meta->te, t1),
			 meta->tu ? meta->tu : "");
		json_str(j, s);
	} else {
		json_str(j, NULL);
	}
	recorded_lines(j, in->how);
	json_close(j, '}');
}

static void timeline(struct json_out *j, const struct dhat_timeline *tl)
{
	json_key(j, "timeline");
	if (!tl->n) {
		json_str(j, NULL);
		return;
	}
	json_open(j, '{');
	json_key(j, "bucketUs");
	json_u64(j, tl->bucket);
	for (int c = 0; c < DHAT_TL_NCOLS; c++) {
		json_key(j, dhat_tl_names[c]);
		json_open(j, '[');
		for (size_t i = 0; i < tl->n; i++)
			json_u64(j, tl->col[c][i]);
		json_close(j, ']');
	}
	json_close(j, '}');
}

/*
 * Each site: [tb, tbk, tl, mb, mbk, gb, gbk, eb, ebk, has_tl, first,
 * end, [frames...]]: all its frames, innermost first, the shown ones
 * being [first, end).
 */
static void sites(struct json_out *j, const struct an_report *r)
{
	json_key(j, "sites");
	json_open(j, '[');
	for (size_t i = 0; i < r->nrows; i++) {
		const struct an_row *w = &r->rows[i];
		size_t first = (size_t)(w->fs - w->pp->fs);

		json_open(j, '[');
		for (int s = 0; s < DHAT_NSTATS; s++)
			json_u64(j, w->stat[s]);
		json_u64(j, !!(w->pp->present & (1u << DHAT_TL)));
		json_u64(j, first);
		json_u64(j, first + w->nfs);
		json_open(j, '[');
		for (size_t k = 0; k < w->pp->nfs; k++)
			json_u64(j, w->pp->fs[k]);
		json_close(j, ']');
		json_close(j, ']');
	}
	json_close(j, ']');
}

static void profile(struct json_out *j, const struct out_view_input *in)
{
	json_open(j, '{');
	json_key(j, "name");
	json_str(j, in->name);
	json_key(j, "baseline");
	json_bool(j, in->summary->is_baseline);
	summary(j, in);
	timeline(j, &in->df->meta.timeline);
	json_key(j, "tuth");
	if (in->df->meta.present & (1u << DHAT_M_TUTH))
		json_u64(j, in->df->meta.tuth);
	else
		json_str(j, NULL);
	sites(j, in->r);
	json_key(j, "frames");
	json_open(j, '[');
	for (size_t i = 0; i < in->df->nftbl; i++)
		json_str(j, in->df->ftbl[i]);
	json_close(j, ']');
	json_close(j, '}');
}

/* The diff's rows: [[frames...], [base six], [new six]]. */
static void diff(struct json_out *j, const struct an_diff *d)
{
	json_key(j, "diff");
	json_open(j, '[');
	for (size_t i = 0; i < d->nrows; i++) {
		const char *k = d->rows[i].key;

		json_open(j, '[');
		json_open(j, '[');
		while (*k) {
			size_t n = strcspn(k, "\n");
			char *frame = strndup(k, n);

			if (!frame && !j->err)
				j->err = -ENOMEM;
			if (frame)
				json_str(j, frame);
			free(frame);
			k += n + !!k[n];
		}
		json_close(j, ']');
		for (int side = 0; side < 2; side++) {
			const uint64_t *m = side ? d->rows[i].new : d->rows[i].base;

			json_open(j, '[');
			for (int k2 = 0; k2 < AN_NMETRICS; k2++)
				json_u64(j, m[k2]);
			json_close(j, ']');
		}
		json_close(j, ']');
	}
	json_close(j, ']');
}

/* The document, '<' as \u003c (it can only be inside a string). */
static int put_escaped(const unsigned char *buf, size_t len, FILE *f)
{
	size_t at = 0;

	while (at < len) {
		const unsigned char *lt = memchr(buf + at, '<', len - at);
		size_t n = lt ? (size_t)(lt - buf) - at : len - at;

		if (fwrite(buf + at, 1, n, f) != n ||
		    (lt && fputs("\\u003c", f) == EOF))
			return -EIO;
		at += n + (lt ? 1 : 0);
	}
	return 0;
}

static int put_data(const struct out_view_input *in, size_t n,
		    const struct an_diff *d, FILE *f)
{
	const unsigned char *buf;
	struct json_out j;
	size_t len;
	int err;

	err = json_begin(&j);
	if (err)
		return err;
	yajl_gen_config(j.gen, yajl_gen_beautify, 0);
	json_open(&j, '{');
	json_key(&j, "kind");
	json_str(&j, d ? "diff" : "profile");
	json_key(&j, "files");
	json_open(&j, '[');
	for (size_t i = 0; i < n; i++)
		profile(&j, &in[i]);
	json_close(&j, ']');
	if (d)
		diff(&j, d);
	json_close(&j, '}');
	err = j.err;
	if (!err && yajl_gen_get_buf(j.gen, &buf, &len) != yajl_gen_status_ok)
		err = -ENOMEM;
	if (!err)
		err = put_escaped(buf, len, f);
	yajl_gen_free(j.gen);
	return err;
}

int out_view_fprint(const struct out_view_input *in, size_t n,
		    const struct an_diff *d, FILE *f)
{
	int err;

	if (fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		  "<meta charset=\"utf-8\">\n"
		  "<meta http-equiv=\"Content-Security-Policy\" content=\""
		  "default-src 'none'; style-src 'unsafe-inline'; "
		  "script-src 'unsafe-inline'; img-src data:\">\n"
		  "<title>dhtrace view</title>\n<style>\n", f) == EOF ||
	    fputs(view_view_css, f) == EOF ||
	    fputs("</style>\n</head>\n<body>\n", f) == EOF ||
	    fputs(view_view_html, f) == EOF ||
	    fputs("<script type=\"application/json\" id=\"dhtrace-data\">", f) == EOF)
		return -EIO;
	err = put_data(in, n, d, f);
	if (err)
		return err;
	if (fputs("</script>\n<script>\n", f) == EOF ||
	    fputs(view_view_js, f) == EOF ||
	    fputs("</script>\n</body>\n</html>\n", f) == EOF)
		return -EIO;
	return fflush(f) || ferror(f) ? -EIO : 0;
}
