// SPDX-License-Identifier: GPL-2.0
/*
 * What tracing costs the target: each probe hit traps into the kernel and
 * runs a BPF program, on the thread that called the allocator. The hits
 * are counted by kind, the programs' run time by the kernel, and a trap's
 * cost was timed at load (src/trace/calibrate.c). Their sum is CPU time
 * the target's threads spent that they would not have spent untraced:
 * the estimate compares it with the CPU time they spent without it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "out/out.h"
#include "record/record_int.h"

uint64_t proc_cpu_ns(pid_t pid)
{
	unsigned long long utime, stime, cutime, cstime;
	long hz = sysconf(_SC_CLK_TCK);
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold anything: fields 14-17 follow its ')' */
	p = strrchr(buf, ')');
	if (!p || hz <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
		   &utime, &stime, &cutime, &cstime) != 4)
		return 0;
	return (utime + stime + cutime + cstime) * (1000000000ULL / hz);
}

static uint64_t traps_ns(uint64_t hits, double each_ns)
{
	return (uint64_t)((double)hits * each_ns + 0.5);
}

/* The file keeps a trap's cost to 0.001 ns: the line read back from it
 * (dhtrace view) is the line written now. */
static double to_milli(double ns)
{
	return round(ns * 1000) / 1000;
}

/* The traps' time from their calibrated cost, and the whole cost. */
static void add_traps(const struct probes_cost *c, struct out_overhead *o)
{
	o->trap_emulated_ns = to_milli(c->traps.emulated_ns);
	o->trap_stepped_ns = to_milli(c->traps.stepped_ns);
	o->trap_return_ns = to_milli(c->traps.return_ns);
	o->traps_alloc_ns = traps_ns(c->hits[DH_CNT_HIT_ALLOC],
				     c->traps.emulated_ns) +
			    traps_ns(c->hits[DH_CNT_HIT_ALLOC_STEPPED],
				     c->traps.stepped_ns);
	o->traps_release_ns = traps_ns(c->hits[DH_CNT_HIT_RELEASE],
				       c->traps.emulated_ns) +
			      traps_ns(c->hits[DH_CNT_HIT_RELEASE_STEPPED],
				       c->traps.stepped_ns);
	o->traps_return_ns = traps_ns(o->return_hits, c->traps.return_ns);
	o->cost_ns = o->traps_alloc_ns + o->traps_return_ns +
		     o->traps_release_ns + o->bpf_ns;
}

void overhead_measure(const struct shared *sh, uint64_t cpu_ns,
		      struct out_overhead *o)
{
	struct probes_cost c;
	struct timespec ts;
	int64_t now;

	probes_cost(sh->probes, &c);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	memset(o, 0, sizeof(*o));
	o->alloc_hits = c.hits[DH_CNT_HIT_ALLOC] +
			c.hits[DH_CNT_HIT_ALLOC_STEPPED];
	o->return_hits = c.hits[DH_CNT_HIT_RETURN];
	o->release_hits = c.hits[DH_CNT_HIT_RELEASE] +
			  c.hits[DH_CNT_HIT_RELEASE_STEPPED];
	o->stepped_hits = c.hits[DH_CNT_HIT_ALLOC_STEPPED] +
			  c.hits[DH_CNT_HIT_RELEASE_STEPPED];
	o->wall_ns = now > sh->wall_start_ns ? now - sh->wall_start_ns : 1;
	o->hits_per_sec = (uint64_t)((double)(o->alloc_hits + o->return_hits +
					      o->release_hits) * 1e9 /
				     (double)o->wall_ns);
	o->bpf_known = c.bpf_stats;
	o->bpf_ns = c.bpf_ns;
	o->bpf_runs = c.bpf_runs;
	o->calibrated = c.traps.calibrated;
	memcpy(o->why, c.traps.why, sizeof(o->why));
	o->cpu_ns = cpu_ns;
	if (o->calibrated)
		add_traps(&c, o);
	out_overhead_ratios(o);
}
