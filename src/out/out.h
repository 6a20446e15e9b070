/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Outputs: write what the accounting computed. Never computes a metric.
 */
#ifndef DHTRACE_OUT_H
#define DHTRACE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis/analysis.h"
#include "heap/heap.h"

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

/* ---- reading profiles: report, diff, gates, baseline ---- */

/* 1234567 -> "1,234,567 B (1.2 MiB)"; below 1 KiB just "107 B". */
const char *out_bytes(uint64_t v, char buf[64]);
/* @new - @base with a sign: "+1,000", "-5", "+0". */
const char *out_signed(uint64_t base, uint64_t new, char buf[32]);
/* The change from @base in percent: "+10.0%", "-2.5%"; "+inf%" from 0. */
const char *out_percent(uint64_t base, uint64_t new, char buf[32]);

/* How text output looks: colour (ANSI, only for a terminal without
 * NO_COLOR) and how many frames of each site (0: all). */
struct out_style {
	bool colour;
	size_t frames;
};

/* `dhtrace report`: text for a person, or JSON (keys in README.md). Both
 * return 0 or a negative errno from the first failed write. */
int out_report_fprint(const struct an_report *r, const struct dhat_file *df,
		      const struct an_opts *o, const struct out_style *st,
		      FILE *f);
int out_report_json_fprint(const struct an_report *r,
			   const struct dhat_file *df, const struct an_opts *o,
			   FILE *f);

/* `dhtrace diff`, the same two ways; @base_name and @new_name are the
 * files' names. */
int out_diff_fprint(const struct an_diff *d, const char *base_name,
		    const char *new_name, const struct out_style *st, FILE *f);
int out_diff_json_fprint(const struct an_diff *d, const char *base_name,
			 const char *new_name, FILE *f);

/* Why a gate failed: "peak>+5%: 1,000,000 -> 1,100,000 (+10.0%)", or
 * without a base "peak>50MiB: 60,000,000". */
const char *out_gate_reason(const struct an_gate *g,
			    const struct an_gate_result *res, char *buf,
			    size_t len);

/* A baseline summary (README.md "CI gates") to @path through an out_file.
 * Returns 0 or a negative errno with nothing left behind. */
int out_baseline_write(const struct an_summary *s, const char *path);

/* JSON through yajl's generator, into memory, then to a stream: the first
 * error sticks and json_end() returns it. */
struct json_out {
	void *gen;	/* yajl_gen */
	int err;	/* 0 or a negative errno */
};

int json_begin(struct json_out *j);	/* 0 or -ENOMEM */
void json_key(struct json_out *j, const char *key);
void json_str(struct json_out *j, const char *s);	/* NULL: null */
void json_u64(struct json_out *j, uint64_t v);
void json_i64(struct json_out *j, int64_t v);
void json_double(struct json_out *j, double v);
void json_bool(struct json_out *j, bool v);
void json_open(struct json_out *j, char bracket);	/* '{' or '[' */
void json_close(struct json_out *j, char bracket);	/* '}' or ']' */
/* Writes the document and a newline to @f, frees the generator. */
int json_end(struct json_out *j, FILE *f);

#endif /* DHTRACE_OUT_H */
