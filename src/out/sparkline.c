// SPDX-License-Identifier: GPL-2.0
/*
 * The heap over time in one line of the report: the live bytes' maximum
 * in each of at most SPARK_WIDTH equal parts of the run, in eighths of
 * the highest, and a caret under the part holding t-gmax.
 */
#include <stdio.h>

#include "out/out.h"

#define SPARK_WIDTH 60

static const char *const levels[] = {
	" ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587",
	"\u2588",
};

void out_sparkline_fprint(const struct dhat_timeline *tl, uint64_t tg,
			  const char *indent, FILE *f)
{
	size_t w = tl->n < SPARK_WIDTH ? tl->n : SPARK_WIDTH, peak = 0;
	const uint64_t *bytes = tl->col[DHAT_TL_BYTES_MAX];
	uint64_t part[SPARK_WIDTH] = { 0 }, top = 0;

	if (!w)
		return;
	for (size_t i = 0; i < tl->n; i++) {
		size_t j = i * w / tl->n;

		if (bytes[i] > part[j])
			part[j] = bytes[i];
		if (bytes[i] > top)
			top = bytes[i];
	}
	if (tl->bucket)
		peak = (size_t)(tg / tl->bucket) * w / tl->n;
	if (peak >= w)
		peak = w - 1;
	fputs("Over time:  ", f);
	for (size_t j = 0; j < w; j++)
		fputs(levels[top ? (part[j] * 8 + top - 1) / top : 0], f);
	fprintf(f, "\n%s%*s^ t-gmax\n", indent, (int)peak, "");
}
