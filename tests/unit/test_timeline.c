// SPDX-License-Identifier: GPL-2.0
/*
 * The heap over time (src/heap/timeline.c), alone and as the accounting
 * feeds it, on hand-made event streams with exact expected values.
 */
#include <stdint.h>
#include <stdlib.h>

#include "heap/heap.h"
#include "heap/timeline.h"
#include "unit.h"

#define MS 1000000ull

static void test_buckets_keep_min_max_last(void)
{
	struct timeline t;

	timeline_init(&t);
	CHECK(!timeline_note(&t, 0, 100, 1, TIMELINE_ALLOC, 1));
	CHECK(!timeline_note(&t, MS / 2, 300, 2, TIMELINE_ALLOC, 1));
	CHECK(!timeline_note(&t, MS / 2, 200, 1, TIMELINE_FREE, 1));
	/* bucket 1 has no event; bucket 2 starts from its state */
	CHECK(!timeline_note(&t, 2 * MS + 1, 0, 0, TIMELINE_FREE, 1));
	CHECK_U64(t.n, 3);
	CHECK_U64(t.v[0].bytes_min, 0);	/* the heap was empty at zero */
	CHECK_U64(t.v[0].bytes_max, 300);
	CHECK_U64(t.v[0].bytes_last, 200);
	CHECK_U64(t.v[0].blocks_max, 2);
	CHECK_U64(t.v[0].allocs, 2);
	CHECK_U64(t.v[0].frees, 1);
	CHECK_U64(t.v[1].bytes_min, 200);
	CHECK_U64(t.v[1].bytes_max, 200);
	CHECK_U64(t.v[1].allocs + t.v[1].frees, 0);
	CHECK_U64(t.v[2].bytes_max, 200);
	CHECK_U64(t.v[2].bytes_min, 0);
	CHECK_U64(t.v[2].bytes_last, 0);
	timeline_destroy(&t);
}

static void test_width_doubles_and_peak_stays(void)
{
	struct timeline t;
	uint64_t peak = 0, allocs = 0;

	timeline_init(&t);
	/* 10,000 ms of a heap that rises and falls, one event a ms, its
	 * peak of 7,777 bytes once, at 4,321 ms */
	for (uint64_t ms = 0; ms < 10000; ms++) {
		uint64_t bytes = ms == 4321 ? 7777 : ms % 100;

		CHECK(!timeline_note(&t, ms * MS, bytes, 1, TIMELINE_ALLOC, 1));
		allocs++;
	}
	CHECK(t.n <= TIMELINE_MAX);
	CHECK_U64(t.width_ns, 8 * MS);	/* 1, 2, 4, 8 ms: 10,000 / 8 < 2,000 */
	CHECK_U64(t.n, 1250);
	for (size_t i = 0; i < t.n; i++) {
		if (t.v[i].bytes_max > peak)
			peak = t.v[i].bytes_max;
		allocs -= t.v[i].allocs;
	}
	CHECK_U64(peak, 7777);
	CHECK_U64(t.v[4321 / 8].bytes_max, 7777);
	CHECK_U64(allocs, 0);
	CHECK_U64(t.v[t.n - 1].bytes_last, 9999 % 100);
	timeline_destroy(&t);
}

/* The accounting's series: its maximum is At t-gmax, its last value At
 * t-end, and a forked child's copy goes on from the parent's. */
static void test_heap_series(void)
{
	struct heap *h = heap_new(5 * MS), *child;
	struct heap_tl_point pt;
	struct heap_totals tot;
	uint64_t max = 0;

	CHECK(!heap_alloc(h, 1, 0x1000, 400, 1, 5 * MS));
	CHECK(!heap_alloc(h, 1, 0x2000, 600, 1, 6 * MS));
	heap_release(h, 1, 0x1000, 8 * MS);
	child = heap_clone(h);
	CHECK(child != NULL);
	heap_release(child, 1, 0x2000, 9 * MS);
	heap_finish(h, 10 * MS);
	heap_totals(h, &tot);
	for (size_t i = 0; i < heap_timeline_len(h); i++) {
		heap_timeline_point(h, i, &pt);
		if (pt.bytes_max > max)
			max = pt.bytes_max;
	}
	CHECK_U64(max, tot.gmax_bytes);
	CHECK_U64(pt.bytes_last, tot.end_bytes);
	/* 0 .. 5 ms: to t-end, the last 2 ms holding the 600 bytes left */
	CHECK_U64(heap_timeline_len(h), 6);
	for (size_t i = 4; i < 6; i++) {
		heap_timeline_point(h, i, &pt);
		CHECK_U64(pt.t_ns, i * MS);
		CHECK(pt.bytes_min == 600 && pt.bytes_max == 600 &&
		      pt.bytes_last == 600 && pt.blocks_min == 1 &&
		      pt.blocks_max == 1 && pt.blocks_last == 1);
		CHECK_U64(pt.allocs + pt.frees, 0);
	}
	/* the child, not finished, ends at its last event */
	CHECK_U64(heap_timeline_len(child), 5);
	heap_timeline_point(child, 4, &pt);
	CHECK_U64(pt.bytes_last, 0);
	CHECK_U64(pt.frees, 1);
	heap_free(child);
	heap_free(h);
}

/* The end of a run carries the last state to its bucket, halving the
 * series as an event there would; a series without events stays empty. */
static void test_end_carries_the_last_state(void)
{
	struct timeline t;

	timeline_init(&t);
	CHECK(!timeline_end(&t, 5 * MS));
	CHECK_U64(t.n, 0);
	CHECK(!timeline_note(&t, MS, 100, 1, TIMELINE_ALLOC, 1));
	CHECK(!timeline_note(&t, MS + 1, 300, 2, TIMELINE_ALLOC, 1));
	CHECK(!timeline_end(&t, 4 * MS + 999999));
	CHECK_U64(t.n, 5);
	CHECK_U64(t.v[1].bytes_min, 0);
	CHECK_U64(t.v[1].bytes_max, 300);
	for (size_t i = 2; i < 5; i++)
		CHECK(t.v[i].bytes_min == 300 && t.v[i].bytes_max == 300 &&
		      t.v[i].bytes_last == 300 && t.v[i].blocks_last == 2 &&
		      t.v[i].allocs + t.v[i].frees == 0);
	/* an end past 2,000 buckets of 1 ms: 2 ms buckets, up to 2,500 ms */
	CHECK(!timeline_end(&t, 2500 * MS));
	CHECK_U64(t.width_ns, 2 * MS);
	CHECK_U64(t.n, 1251);
	CHECK_U64(t.v[0].bytes_max, 300);
	CHECK_U64(t.v[0].allocs, 2);
	CHECK_U64(t.v[1250].bytes_last, 300);
	timeline_destroy(&t);
}

int main(void)
{
	RUN(test_buckets_keep_min_max_last);
	RUN(test_width_doubles_and_peak_stays);
	RUN(test_heap_series);
	RUN(test_end_carries_the_last_state);
	return unit_total_failed != 0;
}
