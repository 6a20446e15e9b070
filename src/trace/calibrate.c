// SPDX-License-Identifier: GPL-2.0
/*
 * What a trap costs on this kernel: the cost floor's program on functions
 * of dhtrace's own whose first instruction is known, each called in
 * batches with its probe and beside a twin without one. An entry probe
 * on a push (the kernel emulates it), one on a mov (single-stepped), and
 * an entry with a return probe, as dhtrace attaches them to an allocator.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trace/trace.h"

#define BATCH 50	/* calls timed together */
#define ROUNDS 7	/* batches of each, interleaved: the median counts */

enum calib_fn { CALIB_PLAIN, CALIB_ENTRY, CALIB_STEPPED, CALIB_RETURN,
		CALIB_COUNT };

#ifdef __x86_64__
/* Out of the compiler's hands: their first instructions are the point. */
asm(".pushsection .text\n"
    ".p2align 4\n"
    "dh_calib_plain:\n"
    "	push %rbp\n"
    "	pop %rbp\n"
    "	ret\n"
    ".p2align 4\n"
    "dh_calib_entry:\n"
    "	push %rbp\n"
    "	pop %rbp\n"
    "	ret\n"
    ".p2align 4\n"
    "dh_calib_stepped:\n"
    "	mov %rdi, %rax\n"
    "	ret\n"
    ".p2align 4\n"
    "dh_calib_return:\n"
    "	push %rbp\n"
    "	pop %rbp\n"
    "	ret\n"
    ".popsection\n");

void dh_calib_plain(void), dh_calib_entry(void), dh_calib_stepped(void),
	dh_calib_return(void);

static void (*const calib_fns[CALIB_COUNT])(void) = {
	dh_calib_plain, dh_calib_entry, dh_calib_stepped, dh_calib_return,
};
/* What each is to the probes: a release has an entry probe only. */
static const enum dh_fn calib_kind[CALIB_COUNT] = {
	DH_FN_FREE, DH_FN_FREE, DH_FN_FREE, DH_FN_MALLOC,
};

/* The mapping of our own code: its file, and where it is. */
struct own_code {
	char *path;
	uint64_t start, end, pgoff;
};

static int find_code(void *ctx, const struct mapping *m)
{
	uint64_t addr = (uintptr_t)dh_calib_plain;
	struct own_code *c = ctx;

	if (c->path || addr < m->start || addr >= m->end)
		return 0;
	c->path = strdup(m->path);
	c->start = m->start;
	c->end = m->end;
	c->pgoff = m->pgoff;
	return c->path ? 0 : -ENOMEM;
}

/* CPU time, as the target's is counted: a batch preempted by another
 * task is not charged for the other's time. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ns per call of each, the median of its batches. */
static void time_calls(double out[CALIB_COUNT])
{
	double t[CALIB_COUNT][ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		for (int f = 0; f < CALIB_COUNT; f++) {
			uint64_t t0 = cpu_ns();

			for (int i = 0; i < BATCH; i++)
				calib_fns[f]();
			t[f][r] = (double)(cpu_ns() - t0) / BATCH;
		}
	}
	for (int f = 0; f < CALIB_COUNT; f++) {
		qsort(t[f], ROUNDS, sizeof(t[f][0]), by_value);
		out[f] = t[f][ROUNDS / 2];
	}
}

/* The probed functions as allocator sites in our own code, @c. */
static int own_sites(struct alloc_sites *s, struct own_code *c)
{
	int err = proc_maps_read(getpid(), find_code, c);

	if (err)
		return err;
	if (!c->path)
		return -ENOENT;
	s->v = calloc(CALIB_COUNT, sizeof(*s->v));
	if (!s->v)
		return -ENOMEM;
	for (int f = CALIB_ENTRY; f < CALIB_COUNT; f++) {
		uint64_t addr = (uintptr_t)calib_fns[f];
		struct alloc_site *site = &s->v[s->n++];

		if (addr < c->start || addr >= c->end)
			return -ENOENT;
		site->path = c->path;
		site->place.offset = addr - c->start + c->pgoff;
		site->place.stepped = f == CALIB_STEPPED;
		site->func_offset = site->place.offset;
		site->fn = calib_kind[f];
		site->layer = ALLOC_LAYER_C;
	}
	return 0;
}

void trap_calibrate(struct probes *p, struct trap_costs *out)
{
	struct alloc_sites sites = { 0 };
	struct probe_links *links = NULL;
	struct own_code code = { 0 };
	uint64_t ns0, runs0, ns, runs;
	double t[CALIB_COUNT], bpf = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = own_sites(&sites, &code);
	if (!err)
		err = probes_attach_floor(p, getpid(), &sites, &links);
	free(sites.v);
	free(code.path);
	if (err) {
		snprintf(out->why, sizeof(out->why),
			 "cannot probe dhtrace's own code: %s", strerror(-err));
		return;
	}
	probes_bpf_time(p, &ns0, &runs0);
	time_calls(t);
	probes_bpf_time(p, &ns, &runs);
	probes_detach(links);
	/* The program's own run time is counted apart, from the stats. */
	if (runs > runs0)
		bpf = (double)(ns - ns0) / (runs - runs0);
	out->emulated_ns = t[CALIB_ENTRY] - t[CALIB_PLAIN] - bpf;
	out->stepped_ns = t[CALIB_STEPPED] - t[CALIB_PLAIN] - bpf;
	out->return_ns = t[CALIB_RETURN] - t[CALIB_ENTRY] - bpf;
	if (out->emulated_ns <= 0 || out->stepped_ns <= 0 ||
	    out->return_ns <= 0) {
		snprintf(out->why, sizeof(out->why),
			 "the probes cost nothing measurable");
		return;
	}
	out->calibrated = true;
}
#else
void trap_calibrate(struct probes *p, struct trap_costs *out)
{
	(void)p;
	memset(out, 0, sizeof(*out));
	snprintf(out->why, sizeof(out->why), "not on this architecture");
}
#endif
