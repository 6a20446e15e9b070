// SPDX-License-Identifier: GPL-2.0
/*
 * Replays a synthetic allocation stream through the DHAT accounting and
 * prints its speed and its memory per live block. The stream is built in
 * memory first, so only the accounting is timed: 20M events from 1000 call
 * sites, about 100k live blocks, a LIFO allocator that hands freed addresses
 * out again, reallocs in place and moving (some with another thread's
 * malloc receiving the old address before the realloc returns).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "heap/heap.h"

enum {
	EVENTS = 20000000,
	PPS = 1000,
	WORKING_SET = 100000,
	THREADS = 8,
	PID = 4242,
	T_STEP_NS = 100,
};

enum ev_kind { EV_ALLOC, EV_FREE, EV_BEGIN, EV_END };

struct ev {
	uint64_t addr;
	uint32_t size;
	uint16_t pp;
	uint8_t kind;
	uint8_t tid;
};

struct live {
	uint64_t addr;
	uint32_t size;
};

struct gen {
	uint64_t rng;
	struct ev *evs;
	size_t nevs;
	struct live *live;	/* WORKING_SET * 2 */
	size_t nlive;
	uint64_t *freed;	/* addresses to hand out again, LIFO */
	size_t nfreed;
	uint64_t brk;
};

static uint64_t rnd(struct gen *g)
{
	/* xorshift64* */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 0x2545f4914f6cdd1dULL;
}

static uint32_t below(struct gen *g, uint32_t n)
{
	return (uint32_t)((rnd(g) >> 32) * n >> 32);
}

/* Mostly small blocks, some medium, a few large. */
static uint32_t rnd_size(struct gen *g)
{
	uint32_t r = below(g, 100);

	if (r < 70)
		return 8 + below(g, 120);
	if (r < 95)
		return 128 + below(g, 4000);
	return 4096 + below(g, 1 << 20);
}

/* A few call sites allocate most blocks. */
static uint16_t rnd_pp(struct gen *g)
{
	uint64_t a = below(g, PPS), b = below(g, PPS);

	return (uint16_t)(a * b / PPS);
}

static uint64_t get_addr(struct gen *g, uint32_t size)
{
	uint64_t a;

	if (g->nfreed && below(g, 10))
		return g->freed[--g->nfreed];
	a = g->brk;
	g->brk += (size + 31) & ~15u;
	return a;
}

static void put_addr(struct gen *g, uint64_t addr)
{
	g->freed[g->nfreed++] = addr;
}

static void emit(struct gen *g, enum ev_kind kind, uint64_t addr,
		 uint32_t size, uint16_t pp, uint8_t tid)
{
	struct ev *e = &g->evs[g->nevs++];

	e->kind = kind;
	e->addr = addr;
	e->size = size;
	e->pp = pp;
	e->tid = tid;
}

static void gen_alloc(struct gen *g)
{
	uint32_t size = rnd_size(g);
	struct live *l = &g->live[g->nlive++];

	l->size = size;
	l->addr = get_addr(g, size);
	emit(g, EV_ALLOC, l->addr, size, rnd_pp(g), (uint8_t)below(g, THREADS));
}

static void gen_free(struct gen *g)
{
	uint32_t i = below(g, (uint32_t)g->nlive);

	emit(g, EV_FREE, g->live[i].addr, 0, 0, (uint8_t)below(g, THREADS));
	put_addr(g, g->live[i].addr);
	g->live[i] = g->live[--g->nlive];
}

static void gen_realloc(struct gen *g)
{
	struct live *l = &g->live[below(g, (uint32_t)g->nlive)];
	uint8_t tid = (uint8_t)below(g, THREADS);
	uint32_t size = below(g, 2) && l->size < 1u << 24 ? l->size * 2
							: l->size / 2 + 1;
	uint64_t addr = l->addr;

	emit(g, EV_BEGIN, l->addr, 0, 0, tid);
	if (!below(g, 1000)) {
		emit(g, EV_END, 0, size, 0, tid);	/* failed */
		return;
	}
	if (below(g, 2)) {
		addr = get_addr(g, size);
		put_addr(g, l->addr);
		/* Another thread gets the old address before the return. */
		if (!below(g, 20) && g->nlive < WORKING_SET * 2)
			gen_alloc(g);
	}
	emit(g, EV_END, addr, size, 0, tid);
	l->addr = addr;
	l->size = size;
}

static int generate(struct gen *g)
{
	g->rng = 0x9e3779b97f4a7c15ULL;
	g->brk = 0x555555560000ULL;
	g->evs = malloc((size_t)EVENTS * sizeof(*g->evs));
	g->live = malloc(WORKING_SET * 2 * sizeof(*g->live));
	g->freed = malloc((size_t)EVENTS * sizeof(*g->freed));
	if (!g->evs || !g->live || !g->freed)
		return -1;
	/* Each step adds at most 3 events. */
	while (g->nevs + 3 <= EVENTS) {
		uint32_t r = below(g, 100);
		/* Climb to the working set, then hover around it. */
		uint32_t p_alloc = g->nlive < WORKING_SET ? 55 : 40;

		if (!g->nlive || (r < p_alloc && g->nlive < WORKING_SET * 2))
			gen_alloc(g);
		else if (r < p_alloc + 10)
			gen_realloc(g);
		else
			gen_free(g);
	}
	return 0;
}

static int replay(const struct gen *g, struct heap *h)
{
	for (size_t i = 0; i < g->nevs; i++) {
		const struct ev *e = &g->evs[i];
		uint64_t t = 1000 + i * T_STEP_NS;
		int err = 0;

		switch (e->kind) {
		case EV_ALLOC:
			err = heap_alloc(h, PID, e->addr, e->size, e->pp, t);
			break;
		case EV_FREE:
			heap_release(h, PID, e->addr, t);
			break;
		case EV_BEGIN:
			err = heap_realloc_begin(h, PID, e->tid, e->addr, t);
			break;
		case EV_END:
			err = heap_realloc_end(h, PID, e->tid, e->addr, e->size, true,
					       t);
			break;
		}
		if (err)
			return err;
	}
	return 0;
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	struct gen g = { 0 };
	struct heap_totals tot;
	size_t mem, live;
	struct heap *h;
	double t;

	if (generate(&g)) {
		fprintf(stderr, "heap_replay: out of memory\n");
		return 1;
	}
	t = seconds();
	h = heap_new(1000);
	if (!h || replay(&g, h)) {
		fprintf(stderr, "heap_replay: out of memory\n");
		return 1;
	}
	mem = heap_memory_bytes(h);
	live = heap_live_blocks(h);
	heap_finish(h, 1000 + g.nevs * T_STEP_NS);
	t = seconds() - t;

	heap_totals(h, &tot);
	if (tot.unknown_frees || tot.unknown_reallocs || live != g.nlive) {
		fprintf(stderr, "heap_replay: accounting lost track of blocks\n");
		return 1;
	}
	printf("heap replay: %.1f million events/s\n", (double)g.nevs / t / 1e6);
	printf("heap memory: %zu bytes per live block\n", (mem + live / 2) / live);
	heap_free(h);
	free(g.evs);
	free(g.live);
	free(g.freed);
	return 0;
}
