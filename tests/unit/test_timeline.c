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
	CHECK_U64(heap_timeline_len(h), 4);	/* 0 .. 3 ms */
	CHECK_U64(heap_timeline_len(child), 5);
	heap_timeline_point(child, 4, &pt);
	CHECK_U64(pt.bytes_last, 0);
	CHECK_U64(pt.frees, 1);
	heap_free(child);
	heap_free(h);
}

int main(void)
{
	RUN(test_buckets_keep_min_max_last);
	RUN(test_width_doubles_and_peak_stays);
	RUN(test_heap_series);
	return unit_total_failed != 0;
}
