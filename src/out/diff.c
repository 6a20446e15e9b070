// SPDX-License-Identifier: GPL-2.0
/*
 * `dhtrace diff` output and the reasons of failed gates.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "out/out.h"

#define RED "\033[31m"
#define GREEN "\033[32m"
#define RESET "\033[0m"

static bool is_bytes(enum an_metric m)
{
	return m == AN_TOTAL || m == AN_PEAK || m == AN_END;
}

/* "+1,000 B" in red for a growth, green for a drop (on a terminal). */
static void change(FILE *f, enum an_metric m, uint64_t base, uint64_t new,
		   const struct out_style *st)
{
	const char *c = new > base ? RED : new < base ? GREEN : NULL;
	char s[32];

	fprintf(f, "%s%s%s%s", st->colour && c ? c : "",
		out_signed(base, new, s), is_bytes(m) ? " B" : "",
		st->colour && c ? RESET : "");
}

static void input_line(FILE *f, const char *label, const char *name,
		       const struct an_summary *s)
{
	fprintf(f, "%s %s", label, name);
	if (s->cmd)
		fprintf(f, ": %s", s->cmd);
	if (s->is_baseline)
		fprintf(f, " (baseline%s%s%s%s)", s->time ? " of " : "",
			s->time ? s->time : "", s->git_commit ? ", commit " : "",
			s->git_commit ? s->git_commit : "");
	fputc('\n', f);
}

int out_diff_fprint(const struct an_diff *d, const char *base_name,
		    const char *new_name, const struct out_style *st, FILE *f)
{
	const uint64_t *b = d->base->m, *n = d->new->m;
	char s1[32], s2[32], pct[32];

	input_line(f, "Base:", base_name, d->base);
	input_line(f, "New: ", new_name, d->new);
	for (int m = 0; m < AN_NMETRICS; m++) {
		fprintf(f, "%-13s %s -> %s%s  ", an_metric_name(m),
			out_thousands(b[m], s1), out_thousands(n[m], s2),
			is_bytes(m) ? " B" : "");
		change(f, m, b[m], n[m], st);
		fprintf(f, " (%s)\n", out_percent(b[m], n[m], pct));
	}
	if (d->base->is_baseline || d->new->is_baseline) {
		fprintf(f, "Sites:        not compared: a baseline has no call sites\n");
	} else {
		fprintf(f, "Sites:        %zu changed, %zu shown, by the "
			"largest change of %s\n", d->nchanged, d->nrows,
			an_metric_name(d->sort));
	}
	for (size_t i = 0; i < d->nrows; i++) {
		const struct an_diff_row *r = &d->rows[i];
		static const enum an_metric shown[] = { AN_TOTAL, AN_TOTAL_BLOCKS,
							AN_PEAK, AN_END };
		const char *p = r->key;
		size_t frames = 0;

		fprintf(f, "\n#%zu", i + 1);
		for (size_t k = 0; k < sizeof(shown) / sizeof(shown[0]); k++) {
			enum an_metric m = shown[k];

			fprintf(f, "%s %s ", k ? "," : "", an_metric_name(m));
			change(f, m, r->base[m], r->new[m], st);
			fprintf(f, " (%s -> %s)", out_thousands(r->base[m], s1),
				out_thousands(r->new[m], s2));
		}
		fputc('\n', f);
		while (*p && (!st->frames || frames < st->frames)) {
			size_t len = strcspn(p, "\n");

			fprintf(f, "    %.*s\n", (int)len, p);
			p += len + (p[len] == '\n');
			frames++;
		}
		if (*p)
			fprintf(f, "    ... more frames (-v, -vv)\n");
	}
	if (fflush(f) || ferror(f))
		return -EIO;
	return 0;
}

static void json_side(struct json_out *j, const char *name,
		      const struct an_summary *s)
{
	json_open(j, '{');
	json_key(j, "file");
	json_str(j, name);
	json_key(j, "cmd");
	json_str(j, s->cmd);
	json_key(j, "baseline");
	json_bool(j, s->is_baseline);
	for (int m = 0; m < AN_NMETRICS; m++) {
		json_key(j, an_metric_name(m));
		json_u64(j, s->m[m]);
	}
	json_close(j, '}');
}

static void json_changes(struct json_out *j, const uint64_t *b,
			 const uint64_t *n)
{
	json_open(j, '{');
	for (int m = 0; m < AN_NMETRICS; m++) {
		json_key(j, an_metric_name(m));
		json_i64(j, (int64_t)(n[m] - b[m]));
	}
	json_close(j, '}');
}

static void json_metrics(struct json_out *j, const uint64_t *v)
{
	json_open(j, '{');
	json_metric_fields(j, v);
	json_close(j, '}');
}

int out_diff_json_fprint(const struct an_diff *d, const char *base_name,
			 const char *new_name, FILE *f)
{
	struct json_out j;
	int ret = json_begin(&j);

	if (ret)
		return ret;
	json_open(&j, '{');
	json_key(&j, "base");
	json_side(&j, base_name, d->base);
	json_key(&j, "new");
	json_side(&j, new_name, d->new);
	json_key(&j, "change");
	json_changes(&j, d->base->m, d->new->m);
	json_key(&j, "sites_compared");
	json_bool(&j, !d->base->is_baseline && !d->new->is_baseline);
	json_key(&j, "changed_sites");
	json_u64(&j, d->nchanged);
	json_key(&j, "sites");
	json_open(&j, '[');
	for (size_t i = 0; i < d->nrows; i++) {
		const struct an_diff_row *r = &d->rows[i];
		const char *p = r->key;

		json_open(&j, '{');
		json_key(&j, "frames");
		json_open(&j, '[');
		while (*p) {
			size_t len = strcspn(p, "\n");
			char *fr = strndup(p, len);

			if (!fr && !j.err)
				j.err = -ENOMEM;
			else
				json_str(&j, fr);
			free(fr);
			p += len + (p[len] == '\n');
		}
		json_close(&j, ']');
		json_key(&j, "base");
		json_metrics(&j, r->base);
		json_key(&j, "new");
		json_metrics(&j, r->new);
		json_key(&j, "change");
		json_changes(&j, r->base, r->new);
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_close(&j, '}');
	return json_end(&j, f);
}

const char *out_gate_reason(const struct an_gate *g,
			    const struct an_gate_result *res, char *buf,
			    size_t len)
{
	char b[32], n[32], pct[32];

	if (res->has_base)
		snprintf(buf, len, "%s: %s -> %s (%s)", g->text,
			 out_thousands(res->base, b), out_thousands(res->new, n),
			 out_percent(res->base, res->new, pct));
	else
		snprintf(buf, len, "%s: %s", g->text,
			 out_thousands(res->new, n));
	return buf;
}
