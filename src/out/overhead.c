// SPDX-License-Identifier: GPL-2.0
/* What tracing cost, in one line for people (and the pprof comment). */
#include <stdarg.h>

#include "out/out.h"

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
	add(buf, len, &at, "overhead: %s probe hits (%s allocation entries, "
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
