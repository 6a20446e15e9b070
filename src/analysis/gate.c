// SPDX-License-Identifier: GPL-2.0
/*
 * --fail-if gates: "METRIC OP VALUE", parsed and evaluated on totals.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"

static int bad(struct dhat_err *err, const char *text, const char *why)
{
	snprintf(err->msg, sizeof(err->msg), "bad --fail-if '%s': %s", text,
		 why);
	return -EINVAL;
}

/* "", "B", "k", "kB", "Ki", "KiB", ... -> the multiplier, 0 if unknown. */
static double unit_scale(const char *u)
{
	static const struct { const char *name; double scale; } units[] = {
		{ "", 1 }, { "B", 1 },
		{ "k", 1e3 }, { "K", 1e3 }, { "M", 1e6 }, { "G", 1e9 },
		{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
	};
	size_t len = strlen(u);

	/* The B after a prefix is optional: kB, KiB, MiB, ... */
	if (len > 1 && u[len - 1] == 'B')
		len--;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == len &&
		    !strncmp(units[i].name, u, len))
			return units[i].scale;
	return 0;
}

int an_gate_parse(const char *text, struct an_gate *g, struct dhat_err *err)
{
	const char *p = text, *start;
	char *end;
	double scale;
	int m;

	memset(g, 0, sizeof(*g));
	g->text = text;
	while (isspace((unsigned char)*p))
		p++;
	for (start = p; islower((unsigned char)*p) || *p == '_'; p++)
		;
	m = an_metric_parse(start, (size_t)(p - start));
	if (m < 0)
		return bad(err, text, "the metric is total, total_blocks, peak, "
			   "peak_blocks, end or end_blocks");
	g->metric = m;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '>')
		g->op = p[1] == '=' ? AN_GE : AN_GT;
	else if (*p == '<')
		g->op = p[1] == '=' ? AN_LE : AN_LT;
	else
		return bad(err, text, "expected >, >=, < or <= after the metric");
	p += p[1] == '=' ? 2 : 1;
	while (isspace((unsigned char)*p))
		p++;
	g->relative = *p == '+' || *p == '-';
	if (!isdigit((unsigned char)p[g->relative]))
		return bad(err, text, "expected a number after the operator");
	g->value = strtod(p, &end);
	if (!strcmp(end, "%")) {
		if (!g->relative)
			return bad(err, text, "a percentage is a change: give "
				   "it a sign (+5%)");
		g->percent = true;
	} else if ((scale = unit_scale(end)) != 0) {
		g->value *= scale;
	} else {
		return bad(err, text, "unknown unit (k, M, G, Ki, Mi, Gi, "
			   "optionally with B; or %)");
	}
	if (!isfinite(g->value))
		return bad(err, text, "the number is too big");
	return 0;
}

static bool compare(double v, enum an_op op, double bound)
{
	switch (op) {
	case AN_GT:
		return v > bound;
	case AN_GE:
		return v >= bound;
	case AN_LT:
		return v < bound;
	case AN_LE:
		return v <= bound;
	}
	return false;
}

void an_gate_eval(const struct an_gate *g, const struct an_summary *base,
		  const struct an_summary *new, struct an_gate_result *res)
{
	double v;

	memset(res, 0, sizeof(*res));
	res->new = new->m[g->metric];
	if (base) {
		res->has_base = true;
		res->base = base->m[g->metric];
	}
	if (!g->relative) {
		v = (double)res->new;
	} else if (!base) {
		return;
	} else if (!g->percent) {
		v = (double)res->new - (double)res->base;
	} else if (res->base) {
		v = ((double)res->new - (double)res->base) * 100.0 /
		    (double)res->base;
	} else {
		v = res->new ? INFINITY : 0;
	}
	res->failed = compare(v, g->op, g->value);
}
