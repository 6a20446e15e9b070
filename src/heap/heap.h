/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DHAT accounting: eats allocation events, produces per-program-point and
 * global numbers exactly as valgrind's DHAT (dh_main.c) computes them.
 *
 * Knows nothing of BPF, files or symbols. A program point (PP) is a small
 * integer chosen by the caller (one per distinct printed call stack); the
 * accounting grows its table as new ids appear. Times are nanoseconds on any
 * monotonic clock; the caller sets time zero with heap_new().
 *
 * Rules (see FORMATS.md section 2 and "dhtrace's choices"):
 *  - sizes are requested sizes, size 0 counts as 1 byte;
 *  - a realloc keeps the block's PP and lifetime start and counts one more
 *    block of the new size in the totals;
 *  - the global peak (t-gmax) is the latest time the current bytes reached
 *    their maximum (ties move it later); per-PP values at that time are kept
 *    by a lazy snapshot, O(1) per event;
 *  - mb/mbk is the true per-PP maximum (as dhat-rs);
 *  - frees and reallocs of unknown blocks count nothing and are tallied.
 */
#ifndef DHTRACE_HEAP_H
#define DHTRACE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct heap;

/* Numbers of one program point, as written to dhat-heap.json. */
struct heap_pp_stats {
	uint64_t tb, tbk;	/* total bytes, blocks */
	uint64_t tl_ns;		/* sum of block lifetimes */
	uint64_t mb, mbk;	/* at this PP's own maximum */
	uint64_t gb, gbk;	/* live at t-gmax */
	uint64_t eb, ebk;	/* live at t-end */
};

struct heap_totals {
	uint64_t total_bytes, total_blocks;
	uint64_t gmax_bytes, gmax_blocks;	/* at t-gmax */
	uint64_t end_bytes, end_blocks;		/* at t-end */
	uint64_t tgmax_ns, tend_ns;		/* relative to time zero */
	uint64_t unknown_frees;		/* frees of blocks never seen allocated */
	uint64_t unknown_reallocs;	/* reallocs of blocks never seen allocated */
	uint64_t failed_reallocs;	/* realloc returned NULL, block kept */
};

/* t0_ns: the time of the start of tracing; all event times are >= it. */
struct heap *heap_new(uint64_t t0_ns);
void heap_free(struct heap *h);
/* Sampled by bytes with mean @sample_bytes (--sample-bytes): each block
 * counts for 1 / (1 - e^(-size/N)) blocks, and its bytes as many times,
 * an unbiased estimate (per program point too). Before any event. */
void heap_set_sampling(struct heap *h, uint64_t sample_bytes);
/* A forked child's accounting: a copy of @parent's, as it is now (its
 * totals, peak, program points and live blocks), valgrind's
 * --trace-children=yes. NULL when out of memory. */
struct heap *heap_clone(const struct heap *parent);

/* A new block of @size bytes at @addr in process @pid. Returns 0, or
 * -ENOMEM. An address that is already live (a lost free) is replaced. */
int heap_alloc(struct heap *h, uint32_t pid, uint64_t addr, uint64_t size,
	       uint32_t pp, uint64_t t_ns);

/* Release of @addr. Unknown addresses only count in unknown_frees. */
void heap_release(struct heap *h, uint32_t pid, uint64_t addr, uint64_t t_ns);

/*
 * realloc(old, size) in two halves, so that events of other threads in
 * between stay in order: begin detaches the old block (its address may be
 * handed out again at once), end settles it. On thread @tid at most one
 * realloc is in flight.
 *  end with new_addr != 0: resize (the block moves to new_addr);
 *  end with new_addr == 0 and size == 0: realloc(p, 0) freed the block;
 *  end with new_addr == 0 and size != 0: failure, the block goes back.
 * realloc(NULL, size) is not one: it is a heap_alloc() (it needs a PP).
 * A begin while the thread has one in flight (its end was lost) settles the
 * earlier one as failed. Both return 0, or -ENOMEM (nothing changed).
 */
int heap_realloc_begin(struct heap *h, uint32_t pid, uint32_t tid,
		       uint64_t old_addr, uint64_t t_ns);
/* @counted false: sampled, a resize no sample fell in (it moves the block
 * and counts in no total). */
int heap_realloc_end(struct heap *h, uint32_t pid, uint32_t tid,
		     uint64_t new_addr, uint64_t size, bool counted,
		     uint64_t t_ns);

/* End of the run at @t_end_ns: takes the final peak and retires live
 * blocks. No events may follow. */
void heap_finish(struct heap *h, uint64_t t_end_ns);

/* After heap_finish(); heap_totals() also during the run: its totals,
 * peak and current (end) numbers so far. PP ids never used read as all
 * zero. */
void heap_totals(const struct heap *h, struct heap_totals *out);
size_t heap_pp_count(const struct heap *h);	/* 1 + highest PP id seen */
void heap_pp_stats(const struct heap *h, uint32_t pp,
		   struct heap_pp_stats *out);

/* The heap over time (heap/timeline.h): every bucket from time zero to
 * t-end after heap_finish() (to the last event before), each of the
 * width heap_timeline_width_ns(). */
struct heap_tl_point {
	uint64_t t_ns;			/* the bucket's start */
	uint64_t bytes_min, bytes_max, bytes_last;
	uint64_t blocks_min, blocks_max, blocks_last;
	uint64_t allocs, frees;		/* calls, resizes counted as allocs */
};
size_t heap_timeline_len(const struct heap *h);
uint64_t heap_timeline_width_ns(const struct heap *h);
void heap_timeline_point(const struct heap *h, size_t i,
			 struct heap_tl_point *out);
/* @fn for the address of every live block. */
void heap_each_block(const struct heap *h,
		     void (*fn)(void *ctx, uint64_t addr), void *ctx);
/* Live blocks now, and bytes of dhtrace memory the accounting holds. */
size_t heap_live_blocks(const struct heap *h);
size_t heap_memory_bytes(const struct heap *h);

#endif /* DHTRACE_HEAP_H */
