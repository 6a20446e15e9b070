// SPDX-License-Identifier: GPL-2.0
/*
 * DHAT accounting on hand-made event streams, with exact expected values.
 * The t1, t3 and t6 numbers are valgrind 3.19's (FORMATS.md section 2.11),
 * except mb/mbk, which dhtrace computes as the true per-PP maximum.
 */
#include <stdint.h>
#include <stdlib.h>

#include "heap/heap.h"
#include "unit.h"

#define T0 1000000u	/* any start time: all checks are relative to it */
#define PID 100u
#define TID 100u

static struct heap *start(void)
{
	struct heap *h = heap_new(T0);

	if (!h) {
		printf("#   heap_new failed\n");
		exit(2);
	}
	return h;
}

static void alloc(struct heap *h, uint64_t addr, uint64_t size, uint32_t pp,
		  uint64_t t)
{
	CHECK(heap_alloc(h, PID, addr, size, pp, T0 + t) == 0);
}

static void release(struct heap *h, uint64_t addr, uint64_t t)
{
	heap_release(h, PID, addr, T0 + t);
}

/* realloc(old, size) returning new_addr, on TID, with nothing in between. */
static void resize(struct heap *h, uint64_t old, uint64_t new_addr,
		   uint64_t size, uint64_t t)
{
	CHECK(heap_realloc_begin(h, PID, TID, old, T0 + t) == 0);
	CHECK(heap_realloc_end(h, PID, TID, new_addr, size, true, T0 + t) == 0);
}

static struct heap_totals finish(struct heap *h, uint64_t t)
{
	struct heap_totals tot;

	heap_finish(h, T0 + t);
	heap_totals(h, &tot);
	return tot;
}

static struct heap_pp_stats pp(const struct heap *h, uint32_t id)
{
	struct heap_pp_stats s;

	heap_pp_stats(h, id, &s);
	return s;
}

/*
 * t1, rebuilt from its description; the order of the first malloc/free
 * against f() and calloc is not given. Total 1,145 bytes in 13 blocks makes
 * the first malloc 100 bytes. t-gmax 885/8 is the leak, calloc, malloc(0),
 * the realloc'd block at 20 and the four aligned blocks, right after
 * valloc. Valgrind's mb 0 for malloc(0), memalign and the realloc chain
 * means the heap was below an earlier peak when they ran; that holds only
 * if the 100-byte block is freed after calloc (peak 100+200+300 = 600).
 */
static void test_t1(void)
{
	struct heap *h = start();
	struct heap_totals tot;
	struct heap_pp_stats s;

	alloc(h, 0x1000, 100, 1, 10);		/* p = malloc(100) */
	alloc(h, 0x2000, 200, 2, 20);		/* f(): leaked */
	alloc(h, 0x3000, 10 * 30, 3, 30);	/* calloc(10, 30) */
	release(h, 0x1000, 40);			/* free(p); free(NULL) */
	alloc(h, 0x4000, 0, 4, 50);		/* malloc(0) */
	alloc(h, 0x5000, 50, 5, 60);		/* r = realloc(NULL, 50) */
	resize(h, 0x5000, 0x6000, 80, 70);
	resize(h, 0x6000, 0x6000, 20, 80);
	resize(h, 0x6000, 0x6000, 20, 90);
	alloc(h, 0x7000, 10, 6, 100);		/* q = malloc(10) */
	resize(h, 0x7000, 0, 0, 110);		/* realloc(q, 0) */
	alloc(h, 0x8000, 33, 7, 120);		/* memalign(64, 33) */
	alloc(h, 0x9000, 65, 8, 130);		/* posix_memalign(64, 65) */
	alloc(h, 0xa000, 256, 9, 140);		/* aligned_alloc(128, 256) */
	alloc(h, 0xb000, 10, 10, 150);		/* valloc(10) */
	release(h, 0x3000, 160);
	release(h, 0x4000, 170);
	release(h, 0x6000, 180);
	release(h, 0x8000, 190);
	release(h, 0x9000, 200);
	release(h, 0xa000, 210);
	release(h, 0xb000, 220);
	tot = finish(h, 300);

	CHECK_U64(tot.total_bytes, 1145);
	CHECK_U64(tot.total_blocks, 13);
	CHECK_U64(tot.gmax_bytes, 885);
	CHECK_U64(tot.gmax_blocks, 8);
	CHECK_U64(tot.end_bytes, 200);
	CHECK_U64(tot.end_blocks, 1);
	CHECK_U64(tot.tgmax_ns, 150);
	CHECK_U64(tot.tend_ns, 300);
	CHECK_U64(tot.unknown_frees, 0);
	CHECK_U64(tot.unknown_reallocs, 0);
	CHECK_U64(tot.failed_reallocs, 0);
	CHECK_U64(heap_pp_count(h), 11);

	s = pp(h, 1);
	CHECK_U64(s.tb, 100);
	CHECK_U64(s.mb, 100);
	CHECK_U64(s.gb, 0);
	CHECK_U64(s.tl_ns, 30);
	s = pp(h, 2);
	CHECK_U64(s.tb, 200);
	CHECK_U64(s.gb, 200);
	CHECK_U64(s.eb, 200);
	CHECK_U64(s.ebk, 1);
	CHECK_U64(s.tl_ns, 280);
	s = pp(h, 3);
	CHECK_U64(s.gb, 300);
	CHECK_U64(s.eb, 0);
	CHECK_U64(s.tl_ns, 130);
	s = pp(h, 4);
	CHECK_U64(s.tb, 1);
	CHECK_U64(s.tbk, 1);
	CHECK_U64(s.mb, 1);	/* valgrind: 0 */
	CHECK_U64(s.gb, 1);
	s = pp(h, 5);		/* the realloc chain */
	CHECK_U64(s.tb, 170);
	CHECK_U64(s.tbk, 4);
	CHECK_U64(s.mb, 80);	/* valgrind: 0 */
	CHECK_U64(s.mbk, 1);
	CHECK_U64(s.gb, 20);
	CHECK_U64(s.gbk, 1);
	CHECK_U64(s.eb, 0);
	CHECK_U64(s.tl_ns, 120);	/* one lifetime from the first malloc */
	s = pp(h, 6);		/* q, freed by realloc(q, 0) */
	CHECK_U64(s.tb, 10);
	CHECK_U64(s.tbk, 1);
	CHECK_U64(s.gb, 0);
	CHECK_U64(s.eb, 0);
	CHECK_U64(s.tl_ns, 10);
	CHECK_U64(pp(h, 7).gb, 33);
	CHECK_U64(pp(h, 8).gb, 65);
	CHECK_U64(pp(h, 9).gb, 256);
	CHECK_U64(pp(h, 10).gb, 10);
	CHECK_U64(pp(h, 10).gbk, 1);
	heap_free(h);
}

/*
 * t3. A's 10-byte block is a global peak and its 5-byte ones are not
 * (valgrind's A mb is 10/1), so each is freed before the next. Valgrind
 * reports A mb 10 mbk 1; the true maximum is the first 100-byte block.
 */
static void test_t3(void)
{
	struct heap *h = start();
	struct heap_totals tot;
	struct heap_pp_stats a, b;

	alloc(h, 0x1000, 100, 1, 10);
	release(h, 0x1000, 20);
	alloc(h, 0x2000, 150, 2, 30);
	alloc(h, 0x3000, 10, 1, 40);
	release(h, 0x3000, 50);
	alloc(h, 0x3000, 5, 1, 60);
	release(h, 0x3000, 70);
	alloc(h, 0x3000, 5, 1, 80);
	release(h, 0x3000, 90);
	tot = finish(h, 100);

	a = pp(h, 1);
	b = pp(h, 2);
	CHECK_U64(a.tb, 120);
	CHECK_U64(a.tbk, 4);
	CHECK_U64(a.mb, 100);
	CHECK_U64(a.mbk, 1);
	CHECK_U64(a.gb, 10);
	CHECK_U64(b.mb, 150);
	CHECK_U64(b.mbk, 1);
	CHECK_U64(b.gb, 150);
	CHECK_U64(tot.gmax_bytes, 160);
	CHECK_U64(tot.gmax_blocks, 2);
	CHECK_U64(tot.tgmax_ns, 40);
	heap_free(h);
}

/* t6: shrink, grow to a new peak, same-size realloc at the peak (tg moves). */
static void test_t6(void)
{
	struct heap *h = start();
	struct heap_totals tot;
	struct heap_pp_stats a, b, c;

	alloc(h, 0x1000, 100, 1, 10);		/* A */
	alloc(h, 0x2000, 50, 2, 20);		/* B: peak 150 */
	resize(h, 0x1000, 0x1000, 10, 30);	/* A shrinks */
	alloc(h, 0x3000, 30, 3, 40);		/* C */
	resize(h, 0x1000, 0x4000, 110, 50);	/* A grows: peak 190 */
	resize(h, 0x2000, 0x2000, 50, 60);	/* B same size: tg moves */
	release(h, 0x3000, 70);
	release(h, 0x4000, 80);
	tot = finish(h, 100);

	CHECK_U64(tot.total_bytes, 350);
	CHECK_U64(tot.total_blocks, 6);
	CHECK_U64(tot.gmax_bytes, 190);
	CHECK_U64(tot.gmax_blocks, 3);
	CHECK_U64(tot.end_bytes, 50);
	CHECK_U64(tot.end_blocks, 1);
	CHECK_U64(tot.tgmax_ns, 60);
	a = pp(h, 1);
	CHECK_U64(a.tb, 220);
	CHECK_U64(a.tbk, 3);
	CHECK_U64(a.mb, 110);
	CHECK_U64(a.mbk, 1);
	CHECK_U64(a.gb, 110);
	CHECK_U64(a.gbk, 1);
	CHECK_U64(a.eb, 0);
	CHECK_U64(a.tl_ns, 70);
	b = pp(h, 2);
	CHECK_U64(b.tb, 100);
	CHECK_U64(b.tbk, 2);
	CHECK_U64(b.mb, 50);
	CHECK_U64(b.gb, 50);
	CHECK_U64(b.eb, 50);
	CHECK_U64(b.ebk, 1);
	CHECK_U64(b.tl_ns, 80);
	c = pp(h, 3);
	CHECK_U64(c.tb, 30);
	CHECK_U64(c.mb, 30);	/* valgrind: 0 */
	CHECK_U64(c.gb, 30);
	CHECK_U64(c.gbk, 1);
	CHECK_U64(c.tl_ns, 30);
	heap_free(h);
}

/* Of equal peaks, the latest counts. */
static void test_tie_moves_peak_later(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	alloc(h, 0x1000, 100, 1, 10);
	release(h, 0x1000, 20);
	alloc(h, 0x2000, 60, 2, 30);
	alloc(h, 0x3000, 40, 3, 40);
	release(h, 0x2000, 50);
	tot = finish(h, 60);

	CHECK_U64(tot.gmax_bytes, 100);
	CHECK_U64(tot.gmax_blocks, 2);
	CHECK_U64(tot.tgmax_ns, 40);
	CHECK_U64(pp(h, 1).gb, 0);
	CHECK_U64(pp(h, 2).gb, 60);
	CHECK_U64(pp(h, 3).gb, 40);
	heap_free(h);
}

static void test_lifetimes(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	alloc(h, 0x1000, 8, 1, 100);
	alloc(h, 0x2000, 8, 1, 200);
	alloc(h, 0x3000, 8, 2, 300);
	release(h, 0x1000, 500);		/* 400 */
	resize(h, 0x2000, 0x4000, 64, 600);	/* lifetime not restarted */
	release(h, 0x4000, 900);		/* 700 */
	tot = finish(h, 1000);			/* PP 2: 700, still live */

	CHECK_U64(pp(h, 1).tl_ns, 1100);
	CHECK_U64(pp(h, 2).tl_ns, 700);
	CHECK_U64(pp(h, 2).eb, 8);
	CHECK_U64(tot.tend_ns, 1000);
	heap_free(h);
}

/* Times from other CPUs may step back; lifetimes never go negative. */
static void test_time_steps_back(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	alloc(h, 0x1000, 8, 1, 100);
	release(h, 0x1000, 90);
	alloc(h, 0x2000, 8, 2, 200);
	tot = finish(h, 150);

	CHECK_U64(pp(h, 1).tl_ns, 0);
	CHECK_U64(pp(h, 2).tl_ns, 0);
	CHECK_U64(tot.tgmax_ns, 200);
	CHECK_U64(tot.tend_ns, 200);
	heap_free(h);
}

static void test_size_zero_counts_one(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	alloc(h, 0x1000, 0, 1, 10);
	alloc(h, 0x2000, 8, 1, 20);
	/* An allocator whose realloc(p, 0) returns a block. */
	resize(h, 0x2000, 0x3000, 0, 30);
	tot = finish(h, 40);

	CHECK_U64(tot.total_bytes, 10);
	CHECK_U64(tot.total_blocks, 3);
	CHECK_U64(tot.end_bytes, 2);
	CHECK_U64(pp(h, 1).mb, 9);
	heap_free(h);
}

/*
 * Sampled with a mean of 1,000 bytes: a block of S bytes weighs
 * 1 / (1 - e^(-S/1000)): 1,000 bytes 1.582 blocks (1,582 bytes); 100
 * bytes 10.508 blocks (1,050.8 bytes); 100,000 bytes 1 block.
 */
static void test_sampled_weights(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	heap_set_sampling(h, 1000);
	alloc(h, 0x1000, 1000, 1, 10);
	alloc(h, 0x2000, 100, 2, 20);
	alloc(h, 0x3000, 100000, 3, 30);
	release(h, 0x3000, 40);
	release(h, 0x1000, 50);
	tot = finish(h, 60);

	/* the program points' as rounded, as a file adds up: 2 + 11 + 1 */
	CHECK_U64(tot.total_blocks, 14);
	CHECK_U64(tot.total_bytes, 1582 + 1051 + 100000);
	CHECK_U64(tot.gmax_bytes, 1582 + 1051 + 100000);
	CHECK_U64(tot.end_blocks, 11);
	CHECK_U64(tot.end_bytes, 1051);
	CHECK_U64(pp(h, 1).tbk, 2);
	CHECK_U64(pp(h, 1).tb, 1582);
	CHECK_U64(pp(h, 2).tbk, 11);
	CHECK_U64(pp(h, 2).tb, 1051);
	/* lifetimes weigh alike: 1.582 blocks of 40 ns */
	CHECK_U64(pp(h, 1).tl_ns, 63);
	CHECK_U64(pp(h, 3).tl_ns, 10);
	heap_free(h);
}

static void test_realloc_failure_restores(void)
{
	struct heap *h = start();
	struct heap_totals tot;
	struct heap_pp_stats s;

	alloc(h, 0x1000, 100, 1, 10);
	CHECK(heap_realloc_begin(h, PID, TID, 0x1000, T0 + 20) == 0);
	CHECK_U64(heap_live_blocks(h), 1);
	CHECK(heap_realloc_end(h, PID, TID, 0, 200, true, T0 + 30) == 0);
	CHECK_U64(heap_live_blocks(h), 1);
	release(h, 0x1000, 40);
	tot = finish(h, 50);

	CHECK_U64(tot.failed_reallocs, 1);
	CHECK_U64(tot.unknown_frees, 0);
	CHECK_U64(tot.total_bytes, 100);
	CHECK_U64(tot.total_blocks, 1);
	CHECK_U64(tot.gmax_bytes, 100);
	CHECK_U64(tot.end_bytes, 0);
	s = pp(h, 1);
	CHECK_U64(s.tb, 100);
	CHECK_U64(s.tbk, 1);
	CHECK_U64(s.mb, 100);
	CHECK_U64(s.tl_ns, 30);
	heap_free(h);
}

static void test_realloc_zero_frees(void)
{
	struct heap *h = start();
	struct heap_totals tot;
	struct heap_pp_stats s;

	alloc(h, 0x1000, 100, 1, 10);
	resize(h, 0x1000, 0, 0, 20);
	CHECK_U64(heap_live_blocks(h), 0);
	release(h, 0x1000, 30);		/* already gone */
	tot = finish(h, 40);

	CHECK_U64(tot.total_bytes, 100);
	CHECK_U64(tot.total_blocks, 1);
	CHECK_U64(tot.end_bytes, 0);
	CHECK_U64(tot.end_blocks, 0);
	CHECK_U64(tot.unknown_frees, 1);
	CHECK_U64(tot.failed_reallocs, 0);
	s = pp(h, 1);
	CHECK_U64(s.gb, 100);
	CHECK_U64(s.eb, 0);
	CHECK_U64(s.tl_ns, 10);
	heap_free(h);
}

/* Thread 2 gets the old address between thread 1's realloc begin and end. */
static void test_realloc_interleaved(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	alloc(h, 0x1000, 100, 1, 10);
	CHECK(heap_realloc_begin(h, PID, 1, 0x1000, T0 + 20) == 0);
	CHECK(heap_alloc(h, PID, 0x1000, 30, 2, T0 + 30) == 0);
	CHECK(heap_realloc_end(h, PID, 1, 0x2000, 200, true, T0 + 40) == 0);
	CHECK_U64(heap_live_blocks(h), 2);
	release(h, 0x1000, 50);		/* thread 2's block */
	CHECK_U64(pp(h, 2).ebk, 0);
	CHECK_U64(pp(h, 1).ebk, 1);
	release(h, 0x2000, 60);
	tot = finish(h, 70);

	CHECK_U64(tot.total_bytes, 330);
	CHECK_U64(tot.total_blocks, 3);
	CHECK_U64(tot.gmax_bytes, 230);
	CHECK_U64(tot.gmax_blocks, 2);
	CHECK_U64(tot.tgmax_ns, 40);
	CHECK_U64(tot.unknown_frees, 0);
	CHECK_U64(pp(h, 1).tb, 300);
	CHECK_U64(pp(h, 1).tl_ns, 50);
	CHECK_U64(pp(h, 2).tl_ns, 20);
	heap_free(h);
}

/* A begin whose thread still has one in flight: the end was lost. */
static void test_realloc_lost_end(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	/* The address was not reused: the block goes back. */
	alloc(h, 0x1000, 100, 1, 10);
	alloc(h, 0x3000, 50, 2, 15);
	CHECK(heap_realloc_begin(h, PID, TID, 0x1000, T0 + 20) == 0);
	resize(h, 0x3000, 0x3000, 60, 30);
	CHECK_U64(heap_live_blocks(h), 2);
	release(h, 0x1000, 50);
	CHECK_U64(pp(h, 1).ebk, 0);

	/* It was: the old block is gone, freed when that shows. */
	alloc(h, 0x5000, 70, 3, 60);
	CHECK(heap_realloc_begin(h, PID, TID, 0x5000, T0 + 70) == 0);
	CHECK(heap_alloc(h, PID, 0x5000, 40, 4, T0 + 80) == 0);
	resize(h, 0x3000, 0x3000, 20, 90);
	CHECK_U64(pp(h, 3).ebk, 0);
	CHECK_U64(pp(h, 4).ebk, 1);
	CHECK_U64(heap_live_blocks(h), 2);

	/* Still in flight at the end: live at t-end. */
	CHECK(heap_realloc_begin(h, PID, 9, 0x5000, T0 + 95) == 0);
	tot = finish(h, 100);

	CHECK_U64(tot.total_bytes, 100 + 50 + 60 + 70 + 40 + 20);
	CHECK_U64(tot.total_blocks, 6);
	CHECK_U64(tot.end_bytes, 60);
	CHECK_U64(tot.end_blocks, 2);
	CHECK_U64(tot.failed_reallocs, 0);
	CHECK_U64(tot.unknown_frees, 0);
	CHECK_U64(tot.unknown_reallocs, 0);
	CHECK_U64(pp(h, 1).tl_ns, 40);
	CHECK_U64(pp(h, 3).tl_ns, 30);
	CHECK_U64(pp(h, 4).tl_ns, 20);
	CHECK_U64(pp(h, 4).eb, 40);
	CHECK_U64(pp(h, 2).tl_ns, 85);
	heap_free(h);
}

static void test_unknown_tallies(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	release(h, 0xdead0, 10);
	release(h, 0, 20);			/* free(NULL) counts nothing */
	resize(h, 0xbeef0, 0xcafe0, 10, 30);	/* allocated before attaching */
	CHECK(heap_realloc_end(h, PID, 7, 0x100, 10, true, T0 + 40) == 0);
	release(h, 0xcafe0, 50);
	CHECK(heap_alloc(h, PID, 0, 10, 1, T0 + 60) == 0);	/* failed */
	CHECK_U64(heap_live_blocks(h), 0);
	tot = finish(h, 70);

	CHECK_U64(tot.unknown_frees, 2);
	CHECK_U64(tot.unknown_reallocs, 2);
	CHECK_U64(tot.failed_reallocs, 0);
	CHECK_U64(tot.total_bytes, 0);
	CHECK_U64(tot.total_blocks, 0);
	CHECK_U64(tot.gmax_bytes, 0);
	CHECK_U64(tot.end_bytes, 0);
	CHECK_U64(heap_pp_count(h), 0);
	heap_free(h);
}

/* A lost free: the old block ends when its address is handed out again. */
static void test_alloc_replaces_live(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	alloc(h, 0x1000, 100, 1, 10);
	alloc(h, 0x1000, 50, 2, 30);
	CHECK_U64(heap_live_blocks(h), 1);
	tot = finish(h, 40);

	CHECK_U64(tot.total_bytes, 150);
	CHECK_U64(tot.total_blocks, 2);
	CHECK_U64(tot.gmax_bytes, 100);
	CHECK_U64(tot.end_bytes, 50);
	CHECK_U64(tot.end_blocks, 1);
	CHECK_U64(pp(h, 1).tl_ns, 20);
	CHECK_U64(pp(h, 1).eb, 0);
	CHECK_U64(pp(h, 2).eb, 50);
	heap_free(h);
}

static void test_pids_do_not_collide(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	CHECK(heap_alloc(h, 1, 0x1000, 100, 1, T0 + 10) == 0);
	CHECK(heap_alloc(h, 2, 0x1000, 50, 2, T0 + 20) == 0);
	CHECK(heap_alloc(h, 1, 0x2000, 10, 1, T0 + 30) == 0);
	CHECK_U64(heap_live_blocks(h), 3);
	heap_release(h, 1, 0x1000, T0 + 40);
	heap_release(h, 3, 0x1000, T0 + 50);
	/* Same tid in two processes: two reallocs in flight. */
	CHECK(heap_realloc_begin(h, 1, 7, 0x2000, T0 + 60) == 0);
	CHECK(heap_realloc_begin(h, 2, 7, 0x1000, T0 + 60) == 0);
	CHECK(heap_realloc_end(h, 1, 7, 0x3000, 20, true, T0 + 70) == 0);
	CHECK(heap_realloc_end(h, 2, 7, 0x1000, 60, true, T0 + 70) == 0);
	tot = finish(h, 80);

	CHECK_U64(tot.unknown_frees, 1);
	CHECK_U64(tot.unknown_reallocs, 0);
	CHECK_U64(tot.end_bytes, 80);
	CHECK_U64(tot.end_blocks, 2);
	CHECK_U64(pp(h, 1).tb, 130);
	CHECK_U64(pp(h, 1).eb, 20);
	CHECK_U64(pp(h, 1).tl_ns, 30 + 50);
	CHECK_U64(pp(h, 2).tb, 110);
	CHECK_U64(pp(h, 2).eb, 60);
	heap_free(h);
}

static void test_pp_after_peak(void)
{
	struct heap *h = start();
	struct heap_totals tot;
	struct heap_pp_stats s;

	alloc(h, 0x1000, 100, 1, 10);
	release(h, 0x1000, 20);
	alloc(h, 0x2000, 10, 5000, 30);
	tot = finish(h, 40);

	CHECK_U64(tot.gmax_bytes, 100);
	CHECK_U64(pp(h, 1).gb, 100);
	s = pp(h, 5000);
	CHECK_U64(s.gb, 0);
	CHECK_U64(s.gbk, 0);
	CHECK_U64(s.eb, 10);
	CHECK_U64(heap_pp_count(h), 5001);
	s = pp(h, 4000);		/* never used */
	CHECK_U64(s.tb + s.tbk + s.tl_ns + s.mb + s.mbk + s.gb + s.gbk +
		  s.eb + s.ebk, 0);
	s = pp(h, 6000);
	CHECK_U64(s.tbk, 0);
	heap_free(h);
}

/* PPs untouched across several snapshots keep the right t-gmax values. */
static void test_snapshot_after_several_peaks(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	alloc(h, 0x100, 7, 4, 10);		/* W, never changes again */
	alloc(h, 0x1000, 100, 1, 20);		/* X */
	release(h, 0x1000, 30);			/* snapshot at 107 */
	alloc(h, 0x2000, 200, 2, 40);		/* Y */
	alloc(h, 0x3000, 50, 3, 50);		/* Z */
	release(h, 0x2000, 60);			/* snapshot at 257 */
	alloc(h, 0x1000, 300, 1, 70);		/* peak 357 */
	resize(h, 0x3000, 0x3000, 40, 80);	/* snapshot at 357 */
	tot = finish(h, 100);

	CHECK_U64(tot.gmax_bytes, 357);
	CHECK_U64(tot.gmax_blocks, 3);
	CHECK_U64(tot.tgmax_ns, 70);
	CHECK_U64(tot.end_bytes, 347);
	CHECK_U64(pp(h, 4).gb, 7);
	CHECK_U64(pp(h, 4).gbk, 1);
	CHECK_U64(pp(h, 1).gb, 300);
	CHECK_U64(pp(h, 1).gbk, 1);
	CHECK_U64(pp(h, 2).gb, 0);
	CHECK_U64(pp(h, 2).gbk, 0);
	CHECK_U64(pp(h, 3).gb, 50);
	CHECK_U64(pp(h, 3).eb, 40);
	CHECK_U64(pp(h, 1).mb, 300);
	heap_free(h);
}

/*
 * Sampled with a mean of 1,000 bytes, a block of 100 bytes resized to 200
 * (a sample fell in it: it counts at its own size's weight), then to 300
 * (none did: it counts nothing). Live, the block weighs by its requests so
 * far: 600 bytes, 1 / (1 - e^(-600/1000)). In 1/1024 blocks: 100 bytes
 * 10,761, 200 bytes 5,649, 600 bytes 2,270.
 */
static void test_sampled_resize_weighs_by_its_chain(void)
{
	struct heap *h = start();
	struct heap_totals tot;

	heap_set_sampling(h, 1000);
	alloc(h, 0x1000, 100, 1, 10);
	resize(h, 0x1000, 0x2000, 200, 20);
	CHECK(heap_realloc_begin(h, PID, TID, 0x2000, T0 + 30) == 0);
	CHECK(heap_realloc_end(h, PID, TID, 0x3000, 300, false, T0 + 30) == 0);
	tot = finish(h, 40);

	/* (100 * 10761 + 200 * 5649) / 1024, (10761 + 5649) / 1024 */
	CHECK_U64(tot.total_bytes, 2154);
	CHECK_U64(tot.total_blocks, 16);
	CHECK_U64(tot.end_bytes, 665);		/* 300 * 2270 / 1024 */
	CHECK_U64(tot.end_blocks, 2);
	heap_free(h);
}

/* Memory per live block, once the table is past its minimum size. */
static void note_memory(const struct heap *h, size_t *worst)
{
	size_t live = heap_live_blocks(h), per;

	if (live < 10000)
		return;
	per = heap_memory_bytes(h) / live;
	if (per > *worst)
		*worst = per;
}

/* 150,000 live blocks: growth, memory per block, then all freed. */
static void test_many_blocks(void)
{
	enum { N = 150000 };
	struct heap *h = start();
	struct heap_totals tot;
	uint64_t *addrs = malloc(N * sizeof(*addrs));
	size_t worst = 0;

	CHECK(addrs != NULL);
	if (!addrs)
		return;
	for (uint64_t i = 0; i < N; i++) {
		/* Half packed like a heap arena, half scattered. */
		if (i % 2)
			addrs[i] = 0x555555550000ull + 48 * i;
		else
			addrs[i] = 0x7f0000000000ull +
				   (i * 2654435761u % (1ull << 32)) * 16;
		alloc(h, addrs[i], i % 1000 + 1, (uint32_t)(i % 100), i);
		note_memory(h, &worst);
	}
	CHECK_U64(heap_live_blocks(h), N);
	CHECK(worst <= 80);
	/* Free in another order than allocated. */
	for (uint64_t i = 0; i < N; i++) {
		uint64_t j = i * 7919 % N;

		release(h, addrs[j], N + i);
		note_memory(h, &worst);
	}
	CHECK(worst <= 80);
	CHECK_U64(heap_live_blocks(h), 0);
	CHECK(heap_memory_bytes(h) < 64 * 1024);
	tot = finish(h, 2 * N);

	CHECK_U64(tot.unknown_frees, 0);
	CHECK_U64(tot.total_blocks, N);
	CHECK_U64(tot.gmax_blocks, N);
	CHECK_U64(tot.end_bytes, 0);
	CHECK_U64(tot.end_blocks, 0);
	free(addrs);
	heap_free(h);
}

int main(void)
{
	RUN(test_t1);
	RUN(test_t3);
	RUN(test_t6);
	RUN(test_tie_moves_peak_later);
	RUN(test_lifetimes);
	RUN(test_time_steps_back);
	RUN(test_size_zero_counts_one);
	RUN(test_sampled_weights);
	RUN(test_sampled_resize_weighs_by_its_chain);
	RUN(test_realloc_failure_restores);
	RUN(test_realloc_zero_frees);
	RUN(test_realloc_interleaved);
	RUN(test_realloc_lost_end);
	RUN(test_unknown_tallies);
	RUN(test_alloc_replaces_live);
	RUN(test_pids_do_not_collide);
	RUN(test_pp_after_peak);
	RUN(test_snapshot_after_several_peaks);
	RUN(test_many_blocks);
	UNIT_EXIT();
}
