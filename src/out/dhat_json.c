// SPDX-License-Identifier: GPL-2.0
/*
 * DHAT JSON writer: file format version 2 in heap mode, as valgrind's and
 * dhat-rs's viewer (dh_view.html) reads it. See FORMATS.md section 1.
 *
 * The text is streamed to the FILE (profiles can have millions of program
 * points), comma-first and one PP or frame per line, without indentation.
 */
#include <inttypes.h>
#include <string.h>

#include "out/out.h"
#include "out/out_int.h"

/*
 * Everything before the command line: heap mode, block lifetimes but no
 * access counts, times in µs ("Mtu" names 10^6 of them; blocks living 10 µs
 * or less are short-lived), as dhat-rs writes.
 */
#define JSON_HEADER							\
	"{\"dhatFileVersion\":2"					\
	"\n,\"mode\":\"heap\",\"verb\":\"Allocated\""			\
	"\n,\"bklt\":true,\"bkacc\":false"				\
	"\n,\"tu\":\"\xc2\xb5" "s\",\"Mtu\":\"s\""			\
	"\n,\"tuth\":10"						\
	"\n,\"cmd\":"

static int put(FILE *f, const void *s, size_t n)
{
	return fwrite(s, 1, n, f) == n ? 0 : neg_errno();
}

static int put_str(FILE *f, const char *s)
{
	return put(f, s, strlen(s));
}

static uint64_t tl_value(const struct heap_tl_point *b, enum dhat_tl_col c)
{
	switch (c) {
	case DHAT_TL_T: return b->t_ns / 1000;	/* µs, as te and tg */
	case DHAT_TL_BYTES_MIN: return b->bytes_min;
	case DHAT_TL_BYTES_MAX: return b->bytes_max;
	case DHAT_TL_BYTES_LAST: return b->bytes_last;
	case DHAT_TL_BLOCKS_MIN: return b->blocks_min;
	case DHAT_TL_BLOCKS_MAX: return b->blocks_max;
	case DHAT_TL_BLOCKS_LAST: return b->blocks_last;
	case DHAT_TL_ALLOCS: return b->allocs;
	default: return b->frees;
	}
}

/* One column of the heap over time: "name":[v,v,...]. */
static int put_column(FILE *f, const struct profile *p, enum dhat_tl_col c)
{
	if (fprintf(f, ",\"%s\":[", dhat_tl_names[c]) < 0)
		return neg_errno();
	for (size_t i = 0; i < p->ntimeline; i++)
		if (fprintf(f, "%s%" PRIu64, i ? "," : "",
			    tl_value(&p->timeline[i], c)) < 0)
			return neg_errno();
	return put_str(f, "]");
}

/*
 * The heap over time, dhtrace's own (the viewer ignores it): bucket
 * starts in µs, the file's unit, then a column per measure.
 */
static int put_timeline(FILE *f, const struct profile *p)
{
	int err = 0;

	if (fprintf(f, "\n,\"dhtraceTimeline\":{\"bucketUs\":%" PRIu64,
		    p->timeline_width_ns / 1000) < 0)
		return neg_errno();
	for (int c = 0; c < DHAT_TL_NCOLS && !err; c++)
		err = put_column(f, p, c);
	return err ? err : put_str(f, "}");
}

/*
 * @s as a JSON string: '"' and '\' escaped, bytes below 0x20 as \u00xx,
 * invalid UTF-8 replaced by U+FFFD. Runs of bytes that need no change are
 * written in one go.
 */
static int put_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;
	char esc[8];
	const char *rep;
	size_t n, skip;
	int err;

	if (putc('"', f) == EOF)
		return neg_errno();
	while (*p) {
		skip = 1;
		if (*p == '"') {
			rep = "\\\"";
		} else if (*p == '\\') {
			rep = "\\\\";
		} else if (*p < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			rep = esc;
		} else {
			n = utf8_seq(p, &skip);
			if (n) {
				p += n;
				continue;
			}
			rep = UTF8_REPLACEMENT;
		}
		err = put(f, run, (size_t)(p - run));
		if (err)
			return err;
		err = put_str(f, rep);
		if (err)
			return err;
		p += skip;
		run = p;
	}
	err = put(f, run, (size_t)(p - run));
	if (err)
		return err;
	return putc('"', f) == EOF ? neg_errno() : 0;
}

static int put_pp(FILE *f, const struct profile_pp *pp)
{
	const struct heap_pp_stats *s = &pp->stats;
	size_t i;

	if (fprintf(f, "{\"tb\":%" PRIu64 ",\"tbk\":%" PRIu64
		    ",\"tl\":%" PRIu64
		    ",\"mb\":%" PRIu64 ",\"mbk\":%" PRIu64
		    ",\"gb\":%" PRIu64 ",\"gbk\":%" PRIu64
		    ",\"eb\":%" PRIu64 ",\"ebk\":%" PRIu64 ",\"fs\":[",
		    s->tb, s->tbk, s->tl_ns / 1000, s->mb, s->mbk,
		    s->gb, s->gbk, s->eb, s->ebk) < 0)
		return neg_errno();
	for (i = 0; i < pp->nframes; i++) {
		if (fprintf(f, "%s%" PRIu32, i ? "," : "", pp->frames[i]) < 0)
			return neg_errno();
	}
	return put_str(f, "]}");
}

/* A number, or null when unknown. */
static int put_known(FILE *f, const char *key, bool known, uint64_t v)
{
	int n = known ? fprintf(f, ",\"%s\":%" PRIu64, key, v) :
			fprintf(f, ",\"%s\":null", key);

	return n < 0 ? neg_errno() : 0;
}

/*
 * What tracing cost (a field of dhtrace's own: the viewer reads only the
 * fields it knows). Times in ns; unknowns are null.
 */
static int put_overhead(FILE *f, const struct out_overhead *o)
{
	int err;

	if (fprintf(f, "\n,\"dhtraceOverhead\":{\"allocEntries\":%" PRIu64
		    ",\"returns\":%" PRIu64 ",\"releases\":%" PRIu64
		    ",\"stepped\":%" PRIu64 ",\"wallNs\":%" PRIu64
		    ",\"hitsPerSecond\":%" PRIu64, o->alloc_hits,
		    o->return_hits, o->release_hits, o->stepped_hits,
		    o->wall_ns, o->hits_per_sec) < 0)
		return neg_errno();
	err = put_known(f, "bpfNs", o->bpf_known, o->bpf_ns);
	if (!err)
		err = put_known(f, "bpfRuns", o->bpf_known, o->bpf_runs);
	if (err)
		return err;
	if (o->calibrated) {
		if (fprintf(f, ",\"trapNs\":{\"emulated\":%.3f,\"stepped\":%.3f"
			    ",\"return\":%.3f},\"trapsNs\":{\"allocEntries\":%"
			    PRIu64 ",\"returns\":%" PRIu64 ",\"releases\":%"
			    PRIu64 "}", o->trap_emulated_ns, o->trap_stepped_ns,
			    o->trap_return_ns, o->traps_alloc_ns,
			    o->traps_return_ns, o->traps_release_ns) < 0)
			return neg_errno();
	} else {
		err = put_str(f, ",\"trapNs\":null,\"trapsNs\":null,"
			      "\"calibration\":");
		if (!err)
			err = put_json_string(f, o->why);
		if (err)
			return err;
	}
	err = put_known(f, "costNs", o->calibrated, o->cost_ns);
	if (!err)
		err = put_known(f, "targetCpuNs", o->cpu_ns, o->cpu_ns);
	if (err)
		return err;
	err = o->share < 0 ? put_str(f, ",\"costShare\":null") :
	      fprintf(f, ",\"costShare\":%.4f", o->share) < 0 ? neg_errno() : 0;
	if (err)
		return err;
	if (o->slowdown < 0)
		return put_str(f, ",\"slowdown\":null}");
	return fprintf(f, ",\"slowdown\":%.4f}", o->slowdown) < 0 ?
	       neg_errno() : 0;
}

int out_dhat_json_fprint(const struct profile *p, FILE *f)
{
	uint64_t te = p->totals.tend_ns / 1000;
	uint64_t tg = p->totals.tgmax_ns / 1000;
	size_t i;
	int err;

	/* The viewer divides by te; t-gmax cannot come after t-end. */
	if (te < 1)
		te = 1;
	if (tg > te)
		tg = te;

	err = put_str(f, JSON_HEADER);
	if (err)
		return err;
	err = put_json_string(f, p->cmd);
	if (err)
		return err;
	if (fprintf(f, "\n,\"pid\":%d\n,\"te\":%" PRIu64 "\n,\"tg\":%" PRIu64,
		    p->pid, te, tg) < 0)
		return neg_errno();
	/* dhtrace's own, which the viewer ignores */
	if (p->sample_bytes &&
	    fprintf(f, "\n,\"dhtraceSampling\":{\"meanBytes\":%" PRIu64
		    ",\"requestedBytes\":%" PRIu64 ",\"requestedBlocks\":%" PRIu64
		    "}", p->sample_bytes, p->requested_bytes,
		    p->requested_blocks) < 0)
		return neg_errno();
	err = p->overhead ? put_overhead(f, p->overhead) : 0;
	if (!err && p->ntimeline)
		err = put_timeline(f, p);
	if (err)
		return err;
	err = put_str(f, "\n,\"pps\":\n[");
	if (err)
		return err;
	for (i = 0; i < p->npps; i++) {
		err = put_str(f, i ? "\n," : "");
		if (err)
			return err;
		err = put_pp(f, &p->pps[i]);
		if (err)
			return err;
	}
	err = put_str(f, p->npps ? "\n]\n,\"ftbl\":\n[" : "]\n,\"ftbl\":\n[");
	if (err)
		return err;
	for (i = 0; i < p->nftbl; i++) {
		err = put_str(f, i ? "\n," : "");
		if (err)
			return err;
		err = put_json_string(f, p->ftbl[i]);
		if (err)
			return err;
	}
	err = put_str(f, p->nftbl ? "\n]\n}\n" : "]\n}\n");
	if (err)
		return err;
	return fflush(f) ? neg_errno() : 0;
}

static int fprint(const void *p, FILE *f)
{
	return out_dhat_json_fprint(p, f);
}

int out_dhat_json_write(const struct profile *p, const char *path)
{
	return out_write_atomic(path, fprint, p);
}
