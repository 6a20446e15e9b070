/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Analysis of saved profiles: what `dhtrace report`, `diff`, `baseline`
 * and the --fail-if gates compute from a loaded DHAT file (src/in). Pure:
 * no printing, no files except the baseline reader; src/out prints what
 * this stage selects.
 */
#ifndef DHTRACE_ANALYSIS_H
#define DHTRACE_ANALYSIS_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "in/in.h"

/* The six numbers gates and baselines work on. */
enum an_metric {
	AN_TOTAL, AN_TOTAL_BLOCKS,	/* tb, tbk summed */
	AN_PEAK, AN_PEAK_BLOCKS,	/* gb, gbk: live at t-gmax */
	AN_END, AN_END_BLOCKS,		/* eb, ebk: live at t-end */
	AN_NMETRICS
};

/* "total", "total_blocks", ...; an_metric_parse() returns -1 if unknown. */
const char *an_metric_name(enum an_metric m);
int an_metric_parse(const char *s, size_t len);

/* A whole profile reduced to its totals: what a baseline file keeps. */
struct an_summary {
	uint64_t m[AN_NMETRICS];
	char *cmd;		/* NULL when not known */
	char *time;		/* baseline: when written (UTC, ISO 8601) */
	char *git_commit;	/* baseline: NULL when not in a repository */
	bool is_baseline;	/* no per-site data */
};

void an_summary_of(const struct dhat_file *df, struct an_summary *s);
void an_summary_free(struct an_summary *s);

/*
 * Either input `diff` accepts: a DHAT file, or a baseline written by
 * `dhtrace baseline` (then df is empty and summary.is_baseline is set).
 * Returns 0, or a negative errno with @err filled ("<path>: ...").
 */
struct an_input {
	struct dhat_file df;
	struct an_summary summary;
};

int an_input_load(const char *path, struct an_input *in, struct dhat_err *err);
void an_input_free(struct an_input *in);

/* ---- plumbing: the frames report, diff, folded stacks and pprof fold ---- */

/*
 * A call site is shown from its first frame of the program's own code
 * (plumbing.c has the rule and its tables): the innermost frames that are
 * allocators or the languages' libraries through which the program
 * allocates (LIB), and the start-up that calls main (START) with all
 * outside it, are folded away. A stack of plumbing only keeps its
 * innermost frame. --all-frames turns this off.
 */
enum an_plumb_kind { AN_PLUMB_OWN, AN_PLUMB_LIB, AN_PLUMB_START };

/* One frame as the rule sees it. */
struct an_plumb {
	uint64_t addr;		/* 0: unknown */
	uint32_t root;		/* its file's first directory, hashed; 0: none */
	uint8_t kind;		/* enum an_plumb_kind, by its own name, file
				 * and object */
	bool bare;		/* a name without a path: an inlined call */
	bool call_once;		/* FnOnce::call_once, which main is called
				 * through */
};

void an_plumb_of(const struct dhat_frame *fr, struct an_plumb *p);

/* Each frame of a frame table, malloc'ed (NULL when out of memory). */
struct an_plumb *an_plumb_table(const char *const *ftbl, size_t n);

/*
 * The rule walked from the outermost frame of a stack inward, as a trie
 * of stacks (root first) is built: the state at frame @p, @outer being
 * the state and @outer_p the frame outside it (both NULL at the outermost
 * frame). @st->cut: the frame is start-up, and the stack shown begins
 * inside it. @st->own: the frame is the program's; the deepest such frame
 * is the innermost one shown (none: the stack's innermost frame alone).
 */
struct an_fold {
	uint32_t top_root;	/* the function this frame's run of inlined */
	uint8_t top_kind;	/* calls is in: its root and kind */
	bool cut, own;
};

void an_fold_step(const struct an_fold *outer, const struct an_plumb *outer_p,
		  const struct an_plumb *p, struct an_fold *st);

/* The frames of stack @ids (@n frame ids, innermost first; @by_id their
 * frames) that are shown: [*first, *end). */
void an_plumb_shown(const struct an_plumb *by_id, const uint32_t *ids,
		    size_t n, size_t *first, size_t *end);

/* ---- report: sorting, filtering, grouping ---- */

enum an_sort {
	AN_SORT_TOTAL,		/* total bytes */
	AN_SORT_BLOCKS,		/* total blocks */
	AN_SORT_PEAK,		/* bytes at t-gmax */
	AN_SORT_END,		/* bytes at t-end */
	AN_SORT_SHORT,		/* short-lived blocks, see struct an_row */
	AN_SORT_LIFETIME,	/* average lifetime tl / tbk, longest first */
};

enum an_group { AN_BY_SITE, AN_BY_FUNCTION, AN_BY_FILE, AN_BY_OBJECT };

int an_sort_parse(const char *s);	/* -1 if unknown */
int an_group_parse(const char *s);	/* -1 if unknown */
const char *an_sort_name(enum an_sort s);
const char *an_group_name(enum an_group g);

struct an_opts {
	enum an_sort sort;
	enum an_group by;
	uint64_t min_blocks;	/* rows with fewer total blocks are left out */
	uint64_t min_bytes;	/* rows with fewer total bytes are left out */
	const regex_t *match;	/* NULL, or: program points with a frame
				 * shown whose function name matches */
	bool leaks;		/* only rows with bytes at t-end; sorts by end */
	bool all_frames;	/* no plumbing folded away */
	size_t limit;		/* rows kept after sorting; 0 = all */
};

/*
 * One row: a program point (by site), or the program points whose first
 * frame shown has the same function, file or object (the others).
 * short_blocks: the total blocks of the program points whose average
 * lifetime tl / tbk is at most the file's tuth, as DHAT's viewer's "short-
 * lived" sort (a program point counts wholly or not at all; 0 when the file
 * has no tuth or the point no tl).
 */
struct an_row {
	uint64_t stat[DHAT_NSTATS];	/* summed; mb/mbk are not summed
					 * (not additive) and stay 0 for groups */
	uint64_t short_blocks;
	size_t npps;		/* program points in the row */
	const struct dhat_pp *pp;	/* by site: the program point */
	const uint32_t *fs;	/* by site: its frames shown (in pp->fs) */
	size_t nfs;
	char *key;		/* groups: function ("??? in OBJECT" for code
				 * without symbols), file or object ("???"
				 * when not known) */
};

struct an_report {
	struct an_summary summary;	/* of the whole file */
	struct an_row *rows;	/* sorted, limited */
	size_t nrows;
	size_t nmatched;	/* rows that passed the filters, before limit */
};

/* Select rows of @df. Returns 0 or -ENOMEM (then nothing to free). */
int an_report_compute(const struct dhat_file *df, const struct an_opts *o,
		      struct an_report *r);
void an_report_free(struct an_report *r);

/* ---- diff ---- */

/*
 * A call site of a diff: program points matched on their frame strings
 * shown, with the "0x...: " address dropped (addresses change between
 * builds and runs); points of one file that are then equal are summed.
 */
struct an_diff_row {
	char *key;		/* frames without addresses, '\n'-separated,
				 * innermost first */
	uint64_t base[AN_NMETRICS], new[AN_NMETRICS];
};

struct an_diff {
	struct an_summary *base, *new;	/* not owned */
	struct an_diff_row *rows;	/* sorted by the largest change */
	size_t nrows;
	size_t nchanged;	/* rows with a change, before the limit */
	enum an_metric sort;	/* the change rows are sorted by first */
};

/* Sites of both inputs (none for a baseline; all their frames with
 * @all_frames), rows whose numbers all stay the same are dropped, sorted
 * by the absolute change of @sort's metric (total, blocks, peak or end),
 * then of the others, then by key; @limit rows kept (0 = all). Returns 0
 * or -ENOMEM. */
int an_diff_compute(struct an_input *base, struct an_input *new,
		    enum an_sort sort, size_t limit, bool all_frames,
		    struct an_diff *d);
void an_diff_free(struct an_diff *d);

/* ---- gates ---- */

enum an_op { AN_GT, AN_GE, AN_LT, AN_LE };

/*
 * "METRIC OP VALUE": metric from an_metric_name(), op > >= < <=, value a
 * number with an optional unit (k M G = 1000^n, Ki Mi Gi = 1024^n, each
 * optionally followed by B; or a lone B): an absolute bound on the (new)
 * profile. A value with a sign (+5%, +1000, -10k) is a change from BASE
 * (diff only); with % it is relative to BASE.
 */
/* What a relative gate is told where there is no BASE. */
#define AN_GATE_NEEDS_BASE "a change (+ or -) needs dhtrace diff BASE NEW"

struct an_gate {
	const char *text;	/* the expression, for messages */
	enum an_metric metric;
	enum an_op op;
	bool relative;		/* signed: a change from BASE */
	bool percent;		/* relative, in percent */
	double value;		/* bytes, blocks, or percent */
};

/* Returns 0, or -EINVAL with @err filled ("bad --fail-if 'x': why"). */
int an_gate_parse(const char *text, struct an_gate *g, struct dhat_err *err);

/* What a gate saw: the metric in BASE (0 for report) and in NEW. */
struct an_gate_result {
	bool failed;
	bool has_base;
	uint64_t base, new;
};

/* Evaluate @g on @new (and @base; NULL for report, where a relative gate
 * is never true). A relative change from a BASE of 0 is infinite when NEW
 * is larger. */
void an_gate_eval(const struct an_gate *g, const struct an_summary *base,
		  const struct an_summary *new, struct an_gate_result *res);

#endif /* DHTRACE_ANALYSIS_H */
