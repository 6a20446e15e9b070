/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Outputs: write what the accounting computed. Never computes a metric.
 */
#ifndef DHTRACE_OUT_H
#define DHTRACE_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "heap/heap.h"
#include "in/in.h"

struct profile_pp {
	struct heap_pp_stats stats;
	const uint32_t *frames;	/* ftbl ids, innermost first */
	size_t nframes;
};

/*
 * A finished, symbolized profile. Times are relative to the start of
 * tracing. The writers check none of this (dh_view.html does):
 *  - no two PPs have the same frames array: the viewer rejects the whole
 *    file ("data file contains a repeated location"), so PPs must be merged
 *    on their final printed frame list;
 *  - every frame id is < nftbl and is not 0;
 *  - strings are NUL-terminated; cmd is not NULL.
 */
struct profile {
	const char *cmd;	/* executable and arguments, space-separated */
	int pid;
	struct heap_totals totals;
	const struct profile_pp *pps;
	size_t npps;
	const char *const *ftbl;	/* ftbl[0] is "[root]"; unique strings */
	size_t nftbl;
};

/*
 * An output file: written to a temporary file beside @path (same
 * directory, so the rename is atomic), renamed into place by commit, which
 * also flushes and syncs it; abort removes it. "-" is stdout, flushed by
 * commit. The file gets the mode fopen() would give it. open and commit
 * return 0 or a negative errno; a failed commit leaves nothing behind.
 * open sets the umask for a moment (to read it): call it while no other
 * thread creates files.
 */
struct out_file {
	FILE *f;	/* write here */
	const char *path;
	char *tmp;	/* NULL for stdout */
};

int out_file_open(struct out_file *of, const char *path);
int out_file_commit(struct out_file *of);
void out_file_abort(struct out_file *of);

/*
 * Write @p as DHAT JSON (file format version 2) to @path, through an
 * out_file: no half-written profile is ever left. Returns 0, or a negative
 * errno with nothing left behind.
 */
int out_dhat_json_write(const struct profile *p, const char *path);

/* The same JSON to an open stream (for tests and pipes), flushed.
 * Returns 0, or a negative errno from the first failed write. */
int out_dhat_json_fprint(const struct profile *p, FILE *f);

/*
 * Folded stacks from a DHAT file (any producer's), for flamegraph.pl,
 * speedscope and inferno: "main;f;malloc 1234", one line per distinct
 * stack, frames root first named by function only, so that stacks that
 * differ only in line numbers are summed; the value is the stat @stat of
 * the program points, lines with 0 left out. A function-less frame is
 * "??? (object)", or its address. ';' in a name becomes ':', control
 * characters a space. An empty stack is "[root]". Lines come depth first,
 * each node's children in byte order of their names.
 *
 * read streams @in (named @name in messages) and keeps only distinct
 * frames and stack prefixes; it returns 0, or a negative errno with @err
 * filled (a bad file, or the program points lack @stat). write returns 0
 * or a negative errno from writing @f.
 */
struct collapsed;

int out_collapsed_read(struct collapsed **cs, FILE *in, const char *name,
		       enum dhat_stat stat, struct dhat_err *err);
int out_collapsed_write(const struct collapsed *cs, FILE *f);
void out_collapsed_free(struct collapsed *cs);

/* Summary lines in dhat-rs's form ("dhtrace: Total:     1,256 bytes in 6
 * blocks", "At t-gmax:", "At t-end:"). */
void out_summary_fprint(const struct heap_totals *t, FILE *f);

/* What only a tracer knows, one line each and only when not zero: "dhtrace:
 * frees of blocks allocated before tracing: N" (unknown frees and reallocs,
 * which the accounting ignored). */
void out_summary_fprint_tracer(const struct heap_totals *t, FILE *f);

/* "dhtrace: The data has been saved to PATH, and is viewable with
 * /usr/libexec/valgrind/dh_view.html" */
void out_summary_fprint_saved(const char *path, FILE *f);

/* "%'llu" without depending on the locale: 1234567 -> "1,234,567". */
const char *out_thousands(uint64_t v, char buf[32]);

#endif /* DHTRACE_OUT_H */
