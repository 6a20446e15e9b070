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
/*
 * What tracing cost, as the recorder reckoned it (README "Overhead"): the
 * probe hits by kind, the BPF programs' run time, the traps' time from
 * their calibrated cost, and the slowdown of the target that makes.
 */
struct out_overhead {
	uint64_t alloc_hits;		/* entries of allocation functions */
	uint64_t return_hits;		/* their returns */
	uint64_t release_hits;		/* entries of release functions */
	uint64_t stepped_hits;		/* entries single-stepped */
	uint64_t wall_ns;		/* since tracing started */
	uint64_t hits_per_sec;
	bool bpf_known;			/* run-time stats were on */
	uint64_t bpf_ns, bpf_runs;
	bool calibrated;		/* else why not: */
	char why[80];
	double trap_emulated_ns, trap_stepped_ns, trap_return_ns;
	/* The traps' time, by hit kind, from their cost. */
	uint64_t traps_alloc_ns, traps_return_ns, traps_release_ns;
	uint64_t cost_ns;		/* traps + BPF */
	uint64_t cpu_ns;		/* the target's CPU time; 0: unknown */
	double share;			/* cost / cpu; < 0: unknown */
	double slowdown;		/* cost / (cpu - cost); < 0: unknown */
};

/* @o in one line, "overhead: 3,000 probe hits (...) ...": the end of run
 * summary, the pprof comment and (after its label) the view's summary. */
#define OUT_OVERHEAD_LABEL "overhead: "
const char *out_overhead_text(const struct out_overhead *o, char *buf,
			      size_t len);
/* Sets @o's share and slowdown from its cost and the target's CPU time
 * (-1 for unknown: not calibrated, CPU time unknown, or all cost). */
void out_overhead_ratios(struct out_overhead *o);
/* @o from @json, a file's "dhtraceOverhead" object as the DHAT writer
 * writes it (the reader keeps it as text), so that it reads as the line
 * of the run that wrote it. 0, or -EINVAL with "<field>: <why>" in
 * @err[@len]. */
int out_overhead_parse(const char *json, struct out_overhead *o, char *err,
		       size_t len);

/* --sample-bytes, as the summary, the files and the views say it. */
struct out_sampling {
	uint64_t mean_bytes;		/* N */
	uint64_t requested_bytes, requested_blocks;	/* counted exactly */
};

#define OUT_SAMPLING_LABEL "sampled: "
/* "sampled: a block in every 524,288 bytes on average (--sample-bytes),
 * numbers estimated; requested exactly: 5,145 bytes in 14 blocks". */
const char *out_sampling_text(const struct out_sampling *s, char *buf,
			      size_t len);
/* @s from a file's "dhtraceSampling" object; as out_overhead_parse(). */
int out_sampling_parse(const char *json, struct out_sampling *s, char *err,
		       size_t len);

/* How a dhtrace file was recorded (recorded.c): what its own fields say. */
struct out_recorded {
	bool sampled, costed;		/* which of the two it has */
	struct out_sampling sampling;
	struct out_overhead overhead;
};

#define OUT_RECORDED_TEXT 512	/* a line of either */
/* @r from @m's dhtraceSampling and dhtraceOverhead: 0, or -EINVAL with
 * "dhtraceOverhead.wallNs: why" (the field wrong) in @err[@len]. */
int out_recorded_read(const struct dhat_meta *m, struct out_recorded *r,
		      char *err, size_t len);
/* @r's lines, as the pprof comments a recording writes: how many, in
 * @comments (their text in @text). */
size_t out_recorded_comments(const struct out_recorded *r,
			     char text[2][OUT_RECORDED_TEXT],
			     const char *comments[2]);

struct profile {
	const char *cmd;	/* executable and arguments, space-separated */
	int pid;
	const struct out_overhead *overhead;	/* NULL: none */
	struct heap_totals totals;
	const struct profile_pp *pps;
	size_t npps;
	const char *const *ftbl;	/* ftbl[0] is "[root]"; unique strings */
	size_t nftbl;
	/* Sampled by bytes (--sample-bytes, 0: exact): the numbers are
	 * estimates; the requests were counted exactly. */
	uint64_t sample_bytes;
	uint64_t requested_bytes, requested_blocks;
	/* The heap over time, @ntimeline buckets of @timeline_width_ns
	 * (none: not written). */
	const struct heap_tl_point *timeline;
	size_t ntimeline;
	uint64_t timeline_width_ns;
};

/*
 * An output file: written to a temporary file beside @path (same
 * directory, so the rename is atomic), renamed into place by commit, which
 * also flushes and syncs it; abort removes it. "-" is stdout, flushed by
 * commit; a path that exists and is not a regular file (/dev/null, a FIFO)
 * is written as it is, never replaced. The file gets the mode fopen() would give it. open and commit
 * return 0 or a negative errno; a failed commit leaves nothing behind.
 * open sets the umask for a moment (to read it): call it while no other
 * thread creates files.
 */
struct out_file {
	FILE *f;	/* write here */
	const char *path;
	char *tmp;	/* NULL: writing to f directly */
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
 * A profile for pprof (profile.proto, FORMATS.md section 4), structured:
 * the recorder fills it from its symbols and mappings, a DHAT file
 * converter from parsed frame strings. Strings are NUL-terminated; the
 * writer deduplicates them (and functions), replaces invalid UTF-8 and
 * numbers mappings, locations and functions from 1.
 */
struct pprof_mapping {
	uint64_t start, limit, offset;	/* runtime range, file offset */
	const char *path;
	const char *build_id;	/* lowercase hex (NT_GNU_BUILD_ID); NULL: none */
	bool symbolized;	/* functions, files, lines and inlines are
				 * given: pprof does not symbolize it again */
};

/* One function at one line: an inlined call, or the real function. */
struct pprof_line {
	const char *function;	/* as shown (demangled) */
	const char *system_name; /* as linked (mangled); NULL: as function */
	const char *file;	/* source file; NULL: unknown */
	int64_t line, column;	/* 0: unknown */
};

/* A code address. Caller addresses are return addresses - 1 (the call). */
struct pprof_location {
	uint64_t address;
	uint32_t mapping;	/* 1 + index in mappings; 0: none */
	/* Innermost first: inlined calls at this address, then the function
	 * that contains it. None: pprof shows the address. */
	const struct pprof_line *lines;
	size_t nlines;
};

/* A call site and its numbers, as the accounting computed them. */
struct pprof_sample {
	const uint32_t *locations;	/* indices in locations, leaf first */
	size_t nlocations;
	struct heap_pp_stats stats;
};

/* A sample type: the name and unit of a value column. */
struct pprof_value_type {
	const char *type, *unit;
};

/*
 * Each sample's values: tbk and tb as alloc_objects/count and
 * alloc_space/bytes; unless totals_only, also ebk and eb (live at t-end) as
 * inuse_objects/count and inuse_space/bytes, gbk and gb (live at t-gmax) as
 * peak_objects/count and peak_space/bytes. The default sample type is
 * alloc_space. With tbk > 0 and a "bytes" unit, a sample has a "bytes"
 * label: tb / tbk, the average block size, as Go's heap profiles have.
 */
struct pprof_profile {
	const char *cmd;	/* a comment "cmd: ..." */
	int pid;		/* a comment "pid: ..." */
	const char *const *comments;	/* more of them */
	size_t ncomments;
	int64_t time_nanos;	/* wall clock at the start (since the epoch);
				 * 0: unknown */
	int64_t duration_nanos;	/* 0: unknown */
	/* Sampled by bytes with this mean (the Period, as Go's heap
	 * profiles); 0: every block counted. */
	uint64_t sample_bytes;
	/* Files without lifetimes (DHAT's bklt false) have totals only. */
	bool totals_only;
	/* Names of the two totals (the tbk and tb columns), e.g.
	 * events/count and units/count for an ad-hoc DHAT file; NULL: the
	 * alloc_objects/count, alloc_space/bytes pair. */
	const struct pprof_value_type *totals;
	/* pprof takes the first as the main binary. A converter with no
	 * address space gives one placeholder: path argv[0], symbolized. */
	const struct pprof_mapping *mappings;
	size_t nmappings;
	/*
	 * The samples, one a call, @i = 0, 1, ...: fills *@s (valid until
	 * the next call) and returns 1; returns 0 after the last, or a
	 * negative errno that stops the write (NULL: no samples). Samples
	 * are written as they come, and the locations are read only after
	 * the last one, so a converter can stream: name its locations as
	 * its samples need them.
	 */
	int (*sample)(void *ctx, size_t i, struct pprof_sample *s);
	void *sample_ctx;
	const struct pprof_location *locations;
	size_t nlocations;
};

/* Write @p gzipped to @path, atomically as out_dhat_json_write() does.
 * Returns 0, or a negative errno with nothing left behind. */
int out_pprof_write(const struct pprof_profile *p, const char *path);
/* The same gzipped profile to an open stream, flushed. */
int out_pprof_fprint(const struct pprof_profile *p, FILE *f);

/*
 * Write a file whole or not at all: @write(@ctx, f) fills a temporary
 * file beside @path, which is then synced and renamed into place.
 * Returns 0, or the first negative errno (@write's, or of the file).
 */
typedef int (*out_writer)(const void *ctx, FILE *f);
int out_write_atomic(const char *path, out_writer write, const void *ctx);

/*
 * Folded stacks from a DHAT file (any producer's), for flamegraph.pl,
 * speedscope and inferno: "main;f;malloc 1234", one line per distinct
 * stack, frames root first named by function only, so that stacks that
 * differ only in line numbers are summed; without the plumbing (the
 * allocators, the start-up below main: analysis.h) unless @all_frames,
 * stacks that differ only in it summed too. The value is the stat @stat
 * of the program points, lines with 0 left out. A function-less frame is
 * "??? (object)", or its address. ';' in a name becomes ':', control
 * characters a space. An empty stack is "[root]". Lines come depth first,
 * each node's children in byte order of their names.
 *
 * read streams @in (named @name in messages) and keeps only distinct
 * frames and stack prefixes; it returns 0, or a negative errno with @err
 * filled (a bad file, or the program points lack @stat). Each runs a
 * second thread beside its own (growing the trie; writing), joined before
 * it returns. write flushes @f, then writes to its file descriptor (so @f
 * must have one) and returns 0 or a negative errno from writing.
 */
struct collapsed;

int out_collapsed_read(struct collapsed **cs, FILE *in, const char *name,
		       enum dhat_stat stat, bool all_frames,
		       struct dhat_err *err);
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

/* "dhtrace: The pprof profile has been saved to PATH, and is viewable with
 * go tool pprof PATH" */
void out_summary_fprint_saved_pprof(const char *path, FILE *f);

/* "%'llu" without depending on the locale: 1234567 -> "1,234,567". */
const char *out_thousands(uint64_t v, char buf[32]);

/* ---- reading profiles: report, diff, gates, baseline ---- */

/* 1234567 -> "1,234,567 B (1.2 MiB)"; below 1 KiB just "107 B". */
const char *out_bytes(uint64_t v, char buf[64]);
/* 1234567 -> "1.2 MiB"; below 1 KiB "107 B". */
const char *out_bytes_short(uint64_t v, char buf[32]);
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
/* "Over time:  ▁▂▅█▃▁" and a caret under t-gmax (@tg, in the file's
 * time unit) on the next line, after @indent (sparkline.c). */
void out_sparkline_fprint(const struct dhat_timeline *tl, uint64_t tg,
			  const char *indent, FILE *f);
int out_report_fprint(const struct an_report *r, const struct dhat_file *df,
		      const struct out_recorded *how,
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

/*
 * `dhtrace view`: one HTML page that needs nothing else (README.md
 * "dhtrace view"): each input's summary, heap over time, call sites
 * (every row of @r, with its frames shown) and frames; with @d (two
 * inputs: base, new) the diff's rows too. Returns 0 or a negative errno.
 */
struct out_view_input {
	const char *name;		/* the file's name, as given */
	const struct dhat_file *df;	/* empty for a baseline */
	const struct an_summary *summary;
	const struct an_report *r;	/* by site, all rows */
	/* how it was recorded (out_recorded_read()); NULL: not said */
	const struct out_recorded *how;
};

int out_view_fprint(const struct out_view_input *in, size_t n,
		    const struct an_diff *d, FILE *f);

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
/* The six metrics (total ... end_blocks) as fields of the open object. */
void json_metric_fields(struct json_out *j, const uint64_t *m);
/* Writes the document and a newline to @f, frees the generator. */
int json_end(struct json_out *j, FILE *f);

#endif /* DHTRACE_OUT_H */
