// SPDX-License-Identifier: GPL-2.0
/*
 * What tracing cost, in one line for people (and the pprof comment), and
 * read back from a DHAT file for the view, which shows the same line.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "out/out.h"
#include "out/out_int.h"

/* Appends to @buf[@len] at *@at, cutting what does not fit. */
static void add(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *at, len - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at += (size_t)n;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

const char *out_overhead_text(const struct out_overhead *o, char *buf,
			      size_t len)
{
	uint64_t hits = o->alloc_hits + o->return_hits + o->release_hits;
	char a[32], b[32], c[32], d[32], e[32], f[32];
	size_t at = 0;

	buf[0] = '\0';
	add(buf, len, &at, OUT_OVERHEAD_LABEL "%s probe hits (%s allocation entries, "
	    "%s returns, %s releases; %s single-stepped) in %.3f s, %s a second",
	    out_thousands(hits, a), out_thousands(o->alloc_hits, b),
	    out_thousands(o->return_hits, c), out_thousands(o->release_hits, d),
	    out_thousands(o->stepped_hits, e), (double)o->wall_ns / 1e9,
	    out_thousands(o->hits_per_sec, f));
	if (o->bpf_known)
		add(buf, len, &at, "; BPF %.3f ms in %s runs", ms(o->bpf_ns),
		    out_thousands(o->bpf_runs, a));
	else
		add(buf, len, &at, "; BPF time unknown (no run-time stats)");
	if (o->calibrated)
		add(buf, len, &at, "; traps %.3f ms (%.2f \xc2\xb5s an emulated "
		    "entry, %.2f \xc2\xb5s a single-stepped one, %.2f \xc2\xb5s "
		    "a return)", ms(o->traps_alloc_ns + o->traps_return_ns +
				    o->traps_release_ns),
		    o->trap_emulated_ns / 1e3, o->trap_stepped_ns / 1e3,
		    o->trap_return_ns / 1e3);
	else
		add(buf, len, &at, "; traps unknown (calibration skipped: %s)",
		    o->why);
	if (o->share >= 0)
		add(buf, len, &at, "; the cost, %.3f ms, is %.1f%% of the "
		    "target's %.3f ms of CPU", ms(o->cost_ns), o->share * 100,
		    ms(o->cpu_ns));
	if (o->slowdown >= 0)
		add(buf, len, &at, ": estimated slowdown %+.1f%%",
		    o->slowdown * 100);
	else
		add(buf, len, &at, "%sestimated slowdown unknown (%s)",
		    o->share >= 0 ? ": " : "; ",
		    !o->calibrated ? "traps not calibrated" :
		    !o->cpu_ns ? "the target's CPU time is unknown" :
		    "the cost is all of it");
	return buf;
}

void out_overhead_ratios(struct out_overhead *o)
{
	/* The target's CPU time includes the cost; untraced it would have
	 * spent the rest. When the cost is most of it, the rest is small
	 * and the slowdown as uncertain as the cost: the share is not. */
	o->share = o->calibrated && o->cpu_ns ?
		   (double)o->cost_ns / (double)o->cpu_ns : -1;
	o->slowdown = o->calibrated && o->cpu_ns > o->cost_ns ?
		      (double)o->cost_ns / (double)(o->cpu_ns - o->cost_ns) : -1;
}

/* The calibrated costs: a trap of each kind, and the traps by hit kind. */
static bool traps_at(struct fields *f, struct out_overhead *o)
{
	struct fields each = { field_member(f->obj, "trapNs"), NULL };
	struct fields sum = { field_member(f->obj, "trapsNs"), NULL };
	bool ok;

	ok = field_double(&each, "emulated", &o->trap_emulated_ns) &&
	     field_double(&each, "stepped", &o->trap_stepped_ns) &&
	     field_double(&each, "return", &o->trap_return_ns) &&
	     field_u64(&sum, "allocEntries", &o->traps_alloc_ns) &&
	     field_u64(&sum, "returns", &o->traps_return_ns) &&
	     field_u64(&sum, "releases", &o->traps_release_ns);
	if (!ok)
		f->bad = each.bad ? "trapNs" : "trapsNs";
	return ok;
}

/* Why the traps are not calibrated. */
static bool why_at(struct fields *f, struct out_overhead *o)
{
	yajl_val x = field_member(f->obj, "calibration");

	if (!YAJL_IS_STRING(x))
		return field_wrong(f, "calibration");
	snprintf(o->why, sizeof(o->why), "%s", YAJL_GET_STRING(x));
	return true;
}

int out_overhead_parse(const char *json, struct out_overhead *o, char *err,
		       size_t len)
{
	struct fields f = { yajl_tree_parse(json, NULL, 0), NULL };
	bool cost_known, cpu_known, ok;

	memset(o, 0, sizeof(*o));
	if (!YAJL_IS_OBJECT(f.obj)) {
		yajl_tree_free(f.obj);
		snprintf(err, len, "not a JSON object");
		return -EINVAL;
	}
	o->calibrated = YAJL_IS_OBJECT(field_member(f.obj, "trapNs"));
	ok = field_u64(&f, "allocEntries", &o->alloc_hits) &&
	     field_u64(&f, "returns", &o->return_hits) &&
	     field_u64(&f, "releases", &o->release_hits) &&
	     field_u64(&f, "stepped", &o->stepped_hits) &&
	     field_u64(&f, "wallNs", &o->wall_ns) &&
	     field_u64(&f, "hitsPerSecond", &o->hits_per_sec) &&
	     field_known_u64(&f, "bpfNs", &o->bpf_known, &o->bpf_ns) &&
	     (o->bpf_known ? field_u64(&f, "bpfRuns", &o->bpf_runs) : true) &&
	     (o->calibrated ? traps_at(&f, o) : why_at(&f, o)) &&
	     field_known_u64(&f, "costNs", &cost_known, &o->cost_ns) &&
	     (cost_known == o->calibrated || field_wrong(&f, "costNs")) &&
	     field_known_u64(&f, "targetCpuNs", &cpu_known, &o->cpu_ns);
	yajl_tree_free(f.obj);
	if (!ok) {
		snprintf(err, len, "%s: missing, or not what dhtrace writes",
			 f.bad);
		return -EINVAL;
	}
	out_overhead_ratios(o);
	return 0;
}
