// SPDX-License-Identifier: GPL-2.0
/*
 * The summary printed at the end of a run, in dhat-rs's form with a
 * "dhtrace: " prefix (FORMATS.md 2.9), and what only a tracer can add.
 */
#include <string.h>

#include "out/out.h"

/* Where Debian's valgrind package installs the viewer. */
#define DH_VIEW_HTML "/usr/libexec/valgrind/dh_view.html"

const char *out_thousands(uint64_t v, char buf[32])
{
	char tmp[32];
	char *p = tmp + sizeof(tmp);
	int digits = 0;

	/* At most 20 digits and 6 commas: 18,446,744,073,709,551,615. */
	*--p = '\0';
	do {
		if (digits && digits % 3 == 0)
			*--p = ',';
		*--p = (char)('0' + v % 10);
		v /= 10;
		digits++;
	} while (v);
	memcpy(buf, p, (size_t)(tmp + sizeof(tmp) - p));
	return buf;
}

static void summary_line(FILE *f, const char *label, uint64_t bytes,
			 uint64_t blocks)
{
	char b1[32], b2[32];

	fprintf(f, "dhtrace: %s%s bytes in %s blocks\n", label,
		out_thousands(bytes, b1), out_thousands(blocks, b2));
}

void out_summary_fprint(const struct heap_totals *t, FILE *f)
{
	summary_line(f, "Total:     ", t->total_bytes, t->total_blocks);
	summary_line(f, "At t-gmax: ", t->gmax_bytes, t->gmax_blocks);
	summary_line(f, "At t-end:  ", t->end_bytes, t->end_blocks);
}

void out_summary_fprint_tracer(const struct heap_totals *t, FILE *f)
{
	uint64_t untracked = t->unknown_frees + t->unknown_reallocs;

	if (untracked) {
		char buf[32];

		fprintf(f, "dhtrace: frees of blocks allocated before tracing: %s\n",
			out_thousands(untracked, buf));
	}
}

void out_summary_fprint_saved(const char *path, FILE *f)
{
	fprintf(f, "dhtrace: The data has been saved to %s, and is viewable with %s\n",
		path, DH_VIEW_HTML);
}

void out_summary_fprint_saved_pprof(const char *path, FILE *f)
{
	fprintf(f, "dhtrace: The pprof profile has been saved to %s, and is viewable with go tool pprof %s\n",
		path, path);
}
