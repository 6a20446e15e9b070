// SPDX-License-Identifier: GPL-2.0
/*
 * DHAT accounting, after valgrind's dh_main.c (intro_Block, resize_Block,
 * retire_Block, check_for_peak, dh_fini), with dhat-rs's true per-PP max.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heap/blocks.h"
#include "heap/heap.h"
#include "heap/timeline.h"

/*
 * One program point. s.eb/s.ebk are its current bytes/blocks all along:
 * nothing changes them after heap_finish(), so they are the t-end values.
 */
struct pp_info {
	struct heap_pp_stats s;
	uint64_t epoch;		/* h->epoch at the last change of s.eb/ebk */
};

/* A realloc between its begin and its end: the block, out of the table. */
struct pending {
	uint32_t pid, tid;
	struct block b;
};

struct heap {
	struct block_table blocks;
	struct timeline timeline;	/* the heap over time */
	struct pp_info *pps;
	size_t pp_cap, pp_count;
	/*
	 * At most one per thread, and only for the length of a call: a short
	 * array searched in full beats a table.
	 */
	struct pending *pending;
	size_t pending_cap, pending_count;
	uint64_t t0, now, tgmax;
	uint64_t total_bytes, total_blocks;
	uint64_t curr_bytes, curr_blocks;
	uint64_t max_bytes, max_blocks;
	uint64_t epoch;		/* snapshots of the global peak taken so far */
	uint64_t unknown_frees, unknown_reallocs, failed_reallocs;
	/*
	 * Sampled (heap_set_sampling): a block of size S stands for
	 * 1 / (1 - e^(-S/N)) blocks, its bytes as many times S. A resize of
	 * a sampled block is followed whether a sample falls in it or not,
	 * and counts in the totals only if one does, at its own size's
	 * weight, as any request. Live, the block is there if a sample fell
	 * in any of its requests so far, of C bytes in all (its chain), with
	 * probability 1 - e^(-C/N), and weighs that much less. (Counting
	 * every followed resize at its size's weight counted a small buffer
	 * resized a thousand times a thousand times N.) Block counts are
	 * kept in units of 1/unit block (bytes likewise) and rounded on the
	 * way out; exact, unit is 1 and every block weighs 1.
	 */
	double sample_bytes;	/* N; 0: exact */
	uint64_t unit;
};

/* What a block whose requests came to @chain bytes weighs, in units. */
static uint64_t weight(const struct heap *h, uint64_t chain)
{
	if (!h->sample_bytes)
		return 1;
	return (uint64_t)llround(h->unit / -expm1(-(double)chain / h->sample_bytes));
}

/* A count in units, as a count. */
static uint64_t whole(const struct heap *h, uint64_t units)
{
	return (units + h->unit / 2) / h->unit;
}

/*
 * Event times come from several CPUs and may step back a little; the clock
 * of the accounting only goes forward, as valgrind's instruction count, so
 * lifetimes are never negative and tg <= te.
 */
static void tick(struct heap *h, uint64_t t_ns)
{
	if (t_ns > h->now)
		h->now = t_ns;
}

static struct pp_info *pp_get(struct heap *h, uint32_t id)
{
	struct pp_info *pps;
	size_t cap;

	if (id < h->pp_cap)
		return &h->pps[id];
	for (cap = h->pp_cap ? h->pp_cap : 64; cap <= id; cap *= 2)
		;
	pps = realloc(h->pps, cap * sizeof(*pps));
	if (!pps)
		return NULL;
	memset(pps + h->pp_cap, 0, (cap - h->pp_cap) * sizeof(*pps));
	h->pps = pps;
	h->pp_cap = cap;
	return &pps[id];
}

/*
 * The heap may be about to leave its peak (valgrind's check_for_peak): take
 * a snapshot of every PP's current counts. It is lazy: a new epoch stands
 * for it, and pp_sync() copies a PP's counts the next time they change.
 */
static void check_for_peak(struct heap *h)
{
	if (h->curr_bytes == h->max_bytes)
		h->epoch++;
}

/*
 * Call before changing a PP's current counts. If a snapshot was taken since
 * they last changed, they are what the snapshot saw.
 */
static void pp_sync(const struct heap *h, struct pp_info *pp)
{
	if (pp->epoch == h->epoch)
		return;
	pp->s.gb = pp->s.eb;
	pp->s.gbk = pp->s.ebk;
	pp->epoch = h->epoch;
}

/* After every alloc and resize; a no-op after a shrink. */
static void note_peaks(struct heap *h, struct pp_info *pp)
{
	/* >=: of equal peaks, the latest one counts. */
	if (h->curr_bytes >= h->max_bytes) {
		h->max_bytes = h->curr_bytes;
		h->max_blocks = h->curr_blocks;
		h->tgmax = h->now;
	}
	if (pp->s.eb >= pp->s.mb) {
		pp->s.mb = pp->s.eb;
		pp->s.mbk = pp->s.ebk;
	}
}

/* The heap's size now, in the series. Out of memory, a point is left
 * out: the numbers do not depend on it. */
static void note_time(struct heap *h, enum timeline_event ev, uint64_t w)
{
	timeline_note(&h->timeline, h->now - h->t0, h->curr_bytes,
		      h->curr_blocks, ev, w);
}

static void intro(struct heap *h, struct pp_info *pp, uint64_t size)
{
	uint64_t w = weight(h, size);

	pp_sync(h, pp);
	h->total_bytes += size * w;
	h->total_blocks += w;
	h->curr_bytes += size * w;
	h->curr_blocks += w;
	pp->s.tb += size * w;
	pp->s.tbk += w;
	pp->s.eb += size * w;
	pp->s.ebk += w;
	note_peaks(h, pp);
	note_time(h, TIMELINE_ALLOC, w);
}

/* The lifetime of @b until now, weighted, in units of 1/unit ns. */
static uint64_t lifetime(const struct heap *h, const struct block *b)
{
	uint64_t ns = h->now - b->t_alloc_ns;

	if (!h->sample_bytes)
		return ns;
	return (uint64_t)((double)ns * weight(h, b->chain));
}

/* The block is freed now. It may be in the table or not. */
static void retire(struct heap *h, const struct block *b)
{
	struct pp_info *pp = &h->pps[b->pp];
	uint64_t w = weight(h, b->chain);

	check_for_peak(h);
	pp_sync(h, pp);
	h->curr_bytes -= b->size * w;
	h->curr_blocks -= w;
	pp->s.eb -= b->size * w;
	pp->s.ebk -= w;
	pp->s.tl_ns += lifetime(h, b);
	note_time(h, TIMELINE_FREE, w);
}

/*
 * The block is @size bytes now; PP and allocation time stay. Counted, it
 * is one more block of @size in the totals (sampled, a resize counts as a
 * request of its own does: weighed by its size). Either way it is live at
 * the weight its requests give it (see struct heap).
 */
static void resize(struct heap *h, struct block *b, uint64_t size,
		   bool counted)
{
	struct pp_info *pp = &h->pps[b->pp];
	uint64_t w_was = weight(h, b->chain), was = b->size * w_was;
	uint64_t w = weight(h, b->chain + size);
	uint64_t wc = counted ? weight(h, size) : 0;

	if (size * w < was)
		check_for_peak(h);
	pp_sync(h, pp);
	h->total_bytes += size * wc;
	h->total_blocks += wc;
	h->curr_bytes = h->curr_bytes - was + size * w;
	h->curr_blocks = h->curr_blocks - w_was + w;
	pp->s.tb += size * wc;
	pp->s.tbk += wc;
	pp->s.eb = pp->s.eb - was + size * w;
	pp->s.ebk = pp->s.ebk - w_was + w;
	b->size = size;
	b->chain += size;
	note_peaks(h, pp);
	note_time(h, TIMELINE_ALLOC, wc);
}

/*
 * Put a detached block back at its address. If that address was handed out
 * again meanwhile, the block cannot be there any more: it was freed, now.
 */
static int restore(struct heap *h, const struct block *b)
{
	struct block *slot;
	bool found;

	slot = block_table_insert(&h->blocks, b->pid, b->addr, &found);
	if (!slot)
		return -ENOMEM;
	if (found)
		retire(h, b);
	else
		*slot = *b;
	return 0;
}

/*
 * The table slot for a new block at @addr. A block still there lost its
 * free: the process cannot hold both, so the old one ends now rather than
 * leaking until t-end and inflating the peak.
 */
static struct block *claim_slot(struct heap *h, uint32_t pid, uint64_t addr)
{
	struct block *slot;
	bool found;

	slot = block_table_insert(&h->blocks, pid, addr, &found);
	if (slot && found)
		retire(h, slot);
	return slot;
}

static struct pending *pending_find(struct heap *h, uint32_t pid,
				    uint32_t tid)
{
	for (size_t i = 0; i < h->pending_count; i++) {
		if (h->pending[i].tid == tid && h->pending[i].pid == pid)
			return &h->pending[i];
	}
	return NULL;
}

static void pending_drop(struct heap *h, struct pending *p)
{
	*p = h->pending[--h->pending_count];
}

struct heap *heap_new(uint64_t t0_ns)
{
	struct heap *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (block_table_init(&h->blocks)) {
		free(h);
		return NULL;
	}
	h->t0 = h->now = h->tgmax = t0_ns;
	h->unit = 1;
	timeline_init(&h->timeline);
	return h;
}

/* Units of 1/1024 block: a weight is never below 1 block, so that keeps
 * it to 0.1%, and byte counts to 2^54 bytes. */
#define SAMPLED_UNIT 1024

void heap_set_sampling(struct heap *h, uint64_t sample_bytes)
{
	h->sample_bytes = (double)sample_bytes;
	h->unit = sample_bytes ? SAMPLED_UNIT : 1;
}

struct heap *heap_clone(const struct heap *parent)
{
	struct heap *h = malloc(sizeof(*h));

	if (!h)
		return NULL;
	*h = *parent;
	/* Reallocs in flight belong to the parent's threads. */
	h->pending = NULL;
	h->pending_cap = h->pending_count = 0;
	h->pps = malloc((parent->pp_cap ? parent->pp_cap : 1) * sizeof(*h->pps));
	if (!h->pps || timeline_copy(&h->timeline, &parent->timeline)) {
		free(h->pps);
		free(h);
		return NULL;
	}
	if (block_table_copy(&h->blocks, &parent->blocks)) {
		timeline_destroy(&h->timeline);
		free(h->pps);
		free(h);
		return NULL;
	}
	memcpy(h->pps, parent->pps, parent->pp_cap * sizeof(*h->pps));
	return h;
}

void heap_free(struct heap *h)
{
	if (!h)
		return;
	block_table_destroy(&h->blocks);
	timeline_destroy(&h->timeline);
	free(h->pps);
	free(h->pending);
	free(h);
}

int heap_alloc(struct heap *h, uint32_t pid, uint64_t addr, uint64_t size,
	       uint32_t pp_id, uint64_t t_ns)
{
	struct pp_info *pp;
	struct block *slot;

	/* NULL is a failed allocation, and failures count nothing. */
	if (!addr)
		return 0;
	tick(h, t_ns);
	pp = pp_get(h, pp_id);
	if (!pp)
		return -ENOMEM;
	slot = claim_slot(h, pid, addr);
	if (!slot)
		return -ENOMEM;
	if (!size)
		size = 1;
	slot->size = size;
	slot->chain = size;
	slot->t_alloc_ns = h->now;
	slot->pp = pp_id;
	if (pp_id >= h->pp_count)
		h->pp_count = (size_t)pp_id + 1;
	intro(h, pp, size);
	return 0;
}

void heap_release(struct heap *h, uint32_t pid, uint64_t addr, uint64_t t_ns)
{
	struct block *slot;

	if (!addr)
		return;
	tick(h, t_ns);
	slot = block_table_find(&h->blocks, pid, addr);
	if (!slot) {
		h->unknown_frees++;
		return;
	}
	retire(h, slot);
	block_table_delete(&h->blocks, slot);
}

int heap_realloc_begin(struct heap *h, uint32_t pid, uint32_t tid,
		       uint64_t old_addr, uint64_t t_ns)
{
	struct pending *p;
	struct block *slot;

	tick(h, t_ns);
	/*
	 * The end of this thread's previous realloc was lost: take it as
	 * failed. Settled first, in case it was the same address.
	 */
	p = pending_find(h, pid, tid);
	if (p) {
		if (restore(h, &p->b))
			return -ENOMEM;
		pending_drop(h, p);
	}
	/* An unknown block is counted at the end, which finds no begin. */
	slot = block_table_find(&h->blocks, pid, old_addr);
	if (!slot)
		return 0;
	if (h->pending_count == h->pending_cap) {
		size_t cap = h->pending_cap ? h->pending_cap * 2 : 8;

		p = realloc(h->pending, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		h->pending = p;
		h->pending_cap = cap;
	}
	p = &h->pending[h->pending_count++];
	p->pid = pid;
	p->tid = tid;
	p->b = *slot;
	block_table_delete(&h->blocks, slot);
	return 0;
}

int heap_realloc_end(struct heap *h, uint32_t pid, uint32_t tid,
		     uint64_t new_addr, uint64_t size, bool counted,
		     uint64_t t_ns)
{
	struct pending *p;
	struct block *slot;

	tick(h, t_ns);
	p = pending_find(h, pid, tid);
	if (!p) {
		h->unknown_reallocs++;
		return 0;
	}
	if (!new_addr && !size) {
		/* realloc(p, 0) freed the block. */
		retire(h, &p->b);
	} else if (!new_addr) {
		if (restore(h, &p->b))
			return -ENOMEM;
		h->failed_reallocs++;
	} else {
		slot = claim_slot(h, pid, new_addr);
		if (!slot)
			return -ENOMEM;
		/* An allocator whose realloc(p, 0) returns a block. */
		resize(h, &p->b, size ? size : 1, counted);
		p->b.addr = new_addr;
		*slot = p->b;
	}
	pending_drop(h, p);
	return 0;
}

void heap_finish(struct heap *h, uint64_t t_end_ns)
{
	tick(h, t_end_ns);
	check_for_peak(h);
	/* the series runs to t-end (a snapshot's moment included); out of
	 * memory, it ends at the last event */
	timeline_end(&h->timeline, h->now - h->t0);
	/* Live blocks end now, but stay in the current (t-end) counts. */
	for (size_t i = 0; i < h->blocks.cap; i++) {
		const struct block *b = &h->blocks.slots[i];

		if (b->addr)
			h->pps[b->pp].s.tl_ns += lifetime(h, b);
	}
	/* A realloc without its end: as if it failed, the block is live. */
	for (size_t i = 0; i < h->pending_count; i++) {
		const struct block *b = &h->pending[i].b;

		h->pps[b->pp].s.tl_ns += lifetime(h, b);
	}
	for (size_t i = 0; i < h->pp_count; i++)
		pp_sync(h, &h->pps[i]);
}

/* Sampled, the totals of the program points as each is rounded: what a
 * file has and a reader of it adds up, to the block. */
static void sum_of_pps(const struct heap *h, struct heap_totals *out)
{
	/* at the peak now, before leaving it: the current counts are it */
	bool at_peak = h->curr_bytes == h->max_bytes;
	struct heap_pp_stats s;

	for (uint32_t pp = 0; pp < h->pp_count; pp++) {
		heap_pp_stats(h, pp, &s);
		out->total_bytes += s.tb;
		out->total_blocks += s.tbk;
		out->gmax_bytes += at_peak ? s.eb : s.gb;
		out->gmax_blocks += at_peak ? s.ebk : s.gbk;
		out->end_bytes += s.eb;
		out->end_blocks += s.ebk;
	}
}

void heap_totals(const struct heap *h, struct heap_totals *out)
{
	memset(out, 0, sizeof(*out));
	if (h->unit > 1) {
		sum_of_pps(h, out);
	} else {
		out->total_bytes = h->total_bytes;
		out->total_blocks = h->total_blocks;
		out->gmax_bytes = h->max_bytes;
		out->gmax_blocks = h->max_blocks;
		out->end_bytes = h->curr_bytes;
		out->end_blocks = h->curr_blocks;
	}
	out->tgmax_ns = h->tgmax - h->t0;
	out->tend_ns = h->now - h->t0;
	out->unknown_frees = h->unknown_frees;
	out->unknown_reallocs = h->unknown_reallocs;
	out->failed_reallocs = h->failed_reallocs;
}

size_t heap_pp_count(const struct heap *h)
{
	return h->pp_count;
}

void heap_pp_stats(const struct heap *h, uint32_t pp,
		   struct heap_pp_stats *out)
{
	const struct heap_pp_stats *s;
	bool synced;

	if (pp >= h->pp_count) {
		memset(out, 0, sizeof(*out));
		return;
	}
	s = &h->pps[pp].s;
	/* unchanged since the last peak: the counts it has are the peak's
	 * (see pp_sync) */
	synced = h->pps[pp].epoch == h->epoch;
	*out = (struct heap_pp_stats){
		.tb = whole(h, s->tb), .tbk = whole(h, s->tbk),
		.tl_ns = whole(h, s->tl_ns),
		.mb = whole(h, s->mb), .mbk = whole(h, s->mbk),
		.gb = whole(h, synced ? s->gb : s->eb),
		.gbk = whole(h, synced ? s->gbk : s->ebk),
		.eb = whole(h, s->eb), .ebk = whole(h, s->ebk),
	};
}

void heap_each_block(const struct heap *h,
		     void (*fn)(void *ctx, uint64_t addr), void *ctx)
{
	for (size_t i = 0; i < h->blocks.cap; i++)
		if (h->blocks.slots[i].addr)
			fn(ctx, h->blocks.slots[i].addr);
	for (size_t i = 0; i < h->pending_count; i++)
		fn(ctx, h->pending[i].b.addr);
}

size_t heap_timeline_len(const struct heap *h)
{
	return h->timeline.n;
}

uint64_t heap_timeline_width_ns(const struct heap *h)
{
	return h->timeline.width_ns;
}

void heap_timeline_point(const struct heap *h, size_t i,
			 struct heap_tl_point *out)
{
	const struct timeline_bucket *b = &h->timeline.v[i];

	*out = (struct heap_tl_point){
		.t_ns = i * h->timeline.width_ns,
		.bytes_min = whole(h, b->bytes_min),
		.bytes_max = whole(h, b->bytes_max),
		.bytes_last = whole(h, b->bytes_last),
		.blocks_min = whole(h, b->blocks_min),
		.blocks_max = whole(h, b->blocks_max),
		.blocks_last = whole(h, b->blocks_last),
		.allocs = whole(h, b->allocs),
		.frees = whole(h, b->frees),
	};
}

size_t heap_live_blocks(const struct heap *h)
{
	return h->blocks.count + h->pending_count;
}

size_t heap_memory_bytes(const struct heap *h)
{
	return sizeof(*h) + block_table_bytes(&h->blocks) +
	       h->pp_cap * sizeof(*h->pps) +
	       h->pending_cap * sizeof(*h->pending) +
	       h->timeline.cap * sizeof(*h->timeline.v);
}
