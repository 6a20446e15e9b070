// SPDX-License-Identifier: GPL-2.0
/*
 * Folded stacks ("collapsed" format, as flamegraph.pl, speedscope and
 * inferno read it) from a DHAT file: one line per distinct stack, frames
 * root first, joined by ';', a space and the value.
 *
 * The file is streamed. Its program points usually come before the frame
 * table, so their stacks cannot be named when they are read: they go into
 * a trie keyed by frame-table index (callers share their prefixes), and
 * each frame string is reduced to a label (its function name) as it comes.
 * At the end the index trie is folded into a trie keyed by label, which
 * sums the stacks that differ only in line numbers (and, the plumbing
 * folded away, those that differ only in it), and written out depth first
 * with children in label order. Memory grows with distinct frames and
 * stack prefixes, not with the size of the file.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "out/out.h"
#include "out/out_int.h"

#define NONE UINT32_MAX

/* --- big tables ------------------------------------------------------------ */

/*
 * The tries of a big file have millions of nodes, touched at random.
 * Their tables are anonymous mappings asking for transparent huge pages:
 * one page fault and one TLB entry per 2 MiB instead of per 4 KiB (on
 * a 200 MB file, that took a quarter off reading and folding).
 * Zero-filled, like calloc(); NULL when out of memory.
 */
static void *table_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, size, MADV_HUGEPAGE);	/* only a hint */
	return p;
}

/* @p (@old bytes, may be NULL) grown to @size bytes, possibly moved. */
static void *table_grow(void *p, size_t old, size_t size)
{
	if (!p)
		return table_alloc(size);
	p = mremap(p, old, size, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, size, MADV_HUGEPAGE);
	return p;
}

static void table_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* --- tries of stacks ------------------------------------------------------ */

/*
 * Node 0 is the root (the empty stack); a node's parent is created before
 * it, so node order is a topological order. The index finds a child by
 * (parent, key); its slots hold both, so that a probe reads one slot and
 * nothing else.
 */
struct nodeslot {
	uint32_t parent, key;
	uint32_t node1;		/* node + 1; 0 is empty */
};

struct node {
	uint32_t parent, key;
	uint64_t value;
};

struct trie {
	struct node *node;
	size_t n, cap;
	struct nodeslot *slots;
	size_t mask;		/* slots - 1 (a power of two minus 1) */
};

static size_t node_hash(uint32_t parent, uint32_t key)
{
	return (size_t)mix((uint64_t)parent << 32 | key);
}

/* The index is only needed while nodes are added. */
static void trie_drop_index(struct trie *t)
{
	if (t->slots)
		table_free(t->slots, (t->mask + 1) * sizeof(*t->slots));
	t->slots = NULL;
	t->mask = 0;
}

/* Room in the index for @n nodes, at a load factor of at most 3/4. */
static int trie_reserve(struct trie *t, size_t n)
{
	size_t cap = t->slots ? t->mask + 1 : 1024, i, j;
	struct nodeslot *slots;

	if (t->slots && 4 * n <= 3 * cap)
		return 0;
	while (4 * n > 3 * cap)
		cap *= 2;
	slots = table_alloc(cap * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; t->slots && i <= t->mask; i++) {
		const struct nodeslot *s = &t->slots[i];

		if (!s->node1)
			continue;
		j = node_hash(s->parent, s->key) & (cap - 1);
		while (slots[j].node1)
			j = (j + 1) & (cap - 1);
		slots[j] = *s;
	}
	trie_drop_index(t);
	t->slots = slots;
	t->mask = cap - 1;
	return 0;
}

/* An empty trie with room for @n nodes. */
static int trie_init(struct trie *t, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->cap = n > 1024 ? n : 1024;
	t->node = table_alloc(t->cap * sizeof(*t->node));
	if (!t->node)
		return -ENOMEM;
	t->node[0] = (struct node){ NONE, NONE, 0 };
	t->n = 1;
	return trie_reserve(t, t->cap);
}

static void trie_free(struct trie *t)
{
	table_free(t->node, t->cap * sizeof(*t->node));
	trie_drop_index(t);
	memset(t, 0, sizeof(*t));
}

static int trie_room(struct trie *t)
{
	size_t cap = 2 * t->cap;
	void *p;

	if (t->n < t->cap)
		return 0;
	if (cap > NONE)
		return -ENOMEM;
	p = table_grow(t->node, t->cap * sizeof(*t->node),
		       cap * sizeof(*t->node));
	if (!p)
		return -ENOMEM;
	t->node = p;
	t->cap = cap;
	return 0;
}

/* The child of @parent with @key, created if needed, in @*node. */
static int trie_child(struct trie *t, uint32_t parent, uint32_t key,
		      uint32_t *node)
{
	struct nodeslot *slot;
	size_t i;
	int err;

	err = trie_reserve(t, t->n);
	if (err)
		return err;
	for (i = node_hash(parent, key) & t->mask;; i = (i + 1) & t->mask) {
		slot = &t->slots[i];
		if (!slot->node1)
			break;
		if (slot->parent == parent && slot->key == key) {
			*node = slot->node1 - 1;
			return 0;
		}
	}
	err = trie_room(t);
	if (err)
		return err;
	*node = (uint32_t)t->n++;
	t->node[*node] = (struct node){ parent, key, 0 };
	*slot = (struct nodeslot){ parent, key, *node + 1 };
	return 0;
}

/* --- frame labels ------------------------------------------------------- */

/* Labels are interned (intern.c): label @id of @l is a NUL-terminated
 * function name of *@len bytes. */
static const char *label(const struct intern *l, uint32_t id, size_t *len)
{
	return intern_key(l, id, len);
}

/*
 * The label of frame @s (@fr taken apart): its function name; for an
 * unknown function "??? (obj)" or its address. ';' would split the frame
 * and a line break the line: ';' becomes ':' and control characters a
 * space.
 */
static void frame_label(const char *s, size_t len, const struct dhat_frame *fr,
			char *out, size_t size)
{
	char *p;

	if (fr->func_len && !(fr->func_len == 3 && !memcmp(fr->func, "???", 3)))
		snprintf(out, size, "%.*s", (int)fr->func_len, fr->func);
	else if (fr->obj)
		snprintf(out, size, "??? (%.*s)", (int)fr->obj_len, fr->obj);
	else if (fr->has_addr)	/* "0x...", without ": " */
		snprintf(out, size, "%.*s", (int)(fr->func - s - 2), s);
	else
		snprintf(out, size, "%.*s", (int)len, s);
	for (p = out; *p; p++) {
		if (*p == ';')
			*p = ':';
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
}

/* --- the index trie, grown beside the parser ------------------------------ */

/* The stacks keyed by ftbl index, as the program points come. */
struct builder {
	struct trie by_index;
	/* The last stack, root first: neighbouring PPs often share callers,
	 * whose nodes need no lookup then. */
	uint32_t *last_key, *last_node;
	size_t last_len, last_cap;
};

/* @v more for the stack @fs (@nfs frames, innermost first). */
static int builder_add(struct builder *b, const uint32_t *fs, size_t nfs,
		       uint64_t v)
{
	uint32_t node = 0;
	size_t i;
	int err;

	if (nfs > b->last_cap) {
		size_t cap = nfs > 2 * b->last_cap ? nfs : 2 * b->last_cap;
		uint32_t *k = realloc(b->last_key, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		b->last_key = k;
		k = realloc(b->last_node, cap * sizeof(*k));
		if (!k)
			return -ENOMEM;
		b->last_node = k;
		b->last_cap = cap;
	}
	for (i = 0; i < nfs && i < b->last_len &&
	     b->last_key[i] == fs[nfs - 1 - i]; i++)
		node = b->last_node[i];
	for (; i < nfs; i++) {
		b->last_key[i] = fs[nfs - 1 - i];
		err = trie_child(&b->by_index, node, b->last_key[i], &node);
		if (err) {
			b->last_len = 0;
			return err;
		}
		b->last_node[i] = node;
	}
	b->last_len = nfs;
	b->by_index.node[node].value += v;
	return 0;
}

static void builder_free(struct builder *b)
{
	trie_free(&b->by_index);
	free(b->last_key);
	free(b->last_node);
}

/*
 * Parsing and growing the index trie take about as long as each other:
 * the parser's thread queues the program points and a second thread adds
 * them to the trie. A program point is queued as the words
 * [nfs, value low, value high, fs...], in batches. The batches are a
 * ring: the parser fills batch[head], the builder empties batch[tail],
 * and a batch counts as full until it is emptied, so the parser waits
 * when all are full and the queue stays small.
 */
#define NBATCH 4
#define BATCH_WORDS 65536

struct batch {
	uint32_t *w;
	size_t len, cap;
};

struct pp_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* full went up or down, or done or err set */
	struct batch batch[NBATCH];
	unsigned head, tail, full;
	bool done;		/* the parser queues no more */
	int err;		/* the builder's error; it stopped */
};

/* Under the lock: batch[head] handed to the builder. */
static void queue_push(struct pp_queue *q)
{
	q->head = (q->head + 1) % NBATCH;
	q->full++;
	pthread_cond_signal(&q->cond);
}

/* Room for @words more in batch[head]: when it has none, it goes to the
 * builder and the next one, once empty, is filled. */
static int queue_room(struct pp_queue *q, size_t words)
{
	struct batch *b = &q->batch[q->head];
	int err = 0;

	if (b->len + words <= b->cap)
		return 0;
	if (b->len) {
		pthread_mutex_lock(&q->lock);
		queue_push(q);
		while (q->full == NBATCH && !q->err)
			pthread_cond_wait(&q->cond, &q->lock);
		err = q->err;
		pthread_mutex_unlock(&q->lock);
		if (err)
			return err;
		b = &q->batch[q->head];
	}
	if (words > b->cap) {
		size_t cap = words > BATCH_WORDS ? words : BATCH_WORDS;
		uint32_t *w = realloc(b->w, cap * sizeof(*w));

		if (!w)
			return -ENOMEM;
		b->w = w;
		b->cap = cap;
	}
	return 0;
}

static int queue_put(struct pp_queue *q, const uint32_t *fs, size_t nfs,
		     uint64_t v)
{
	struct batch *b;
	int err;

	if (nfs > UINT32_MAX - 3)
		return -E2BIG;
	err = queue_room(q, 3 + nfs);
	if (err)
		return err;
	b = &q->batch[q->head];
	b->w[b->len] = (uint32_t)nfs;
	b->w[b->len + 1] = (uint32_t)v;
	b->w[b->len + 2] = (uint32_t)(v >> 32);
	if (nfs)	/* fs may be NULL then */
		memcpy(b->w + b->len + 3, fs, nfs * sizeof(*fs));
	b->len += 3 + nfs;
	return 0;
}

/* The last batch handed over, and the builder told that no more come. */
static void queue_finish(struct pp_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->batch[q->head].len)
		queue_push(q);
	q->done = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static void queue_free(struct pp_queue *q)
{
	unsigned i;

	for (i = 0; i < NBATCH; i++)
		free(q->batch[i].w);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
}

static int builder_add_batch(struct builder *bd, const struct batch *b)
{
	size_t i, nfs;
	uint64_t v;
	int err = 0;

	for (i = 0; !err && i < b->len; i += 3 + nfs) {
		nfs = b->w[i];
		v = b->w[i + 1] | (uint64_t)b->w[i + 2] << 32;
		err = builder_add(bd, b->w + i + 3, nfs, v);
	}
	return err;
}

/* --- the conversion ----------------------------------------------------- */

/* The parser's thread owns all but builder, which the builder thread
 * owns while it runs; they share only queue, under its lock. */
struct collapse {
	enum dhat_stat stat;
	bool all_frames;	/* no plumbing folded away */
	struct intern labels;
	uint32_t *label_of;	/* ftbl index -> label id */
	struct an_plumb *plumb;	/* ftbl index -> its frame, for the rule */
	size_t label_of_cap;
	char *buf;		/* for one label */
	size_t buf_size;
	size_t missing_pp;	/* first PP without the stat, or SIZE_MAX */
	struct pp_queue queue;
	struct builder builder;
};

/* The builder thread: batches into the index trie until the parser is
 * done, or until an error, which it leaves in queue.err. */
static void *build(void *arg)
{
	struct collapse *c = arg;
	struct pp_queue *q = &c->queue;
	struct batch *b;
	int err;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->full && !q->done)
			pthread_cond_wait(&q->cond, &q->lock);
		if (!q->full)
			break;
		b = &q->batch[q->tail];
		pthread_mutex_unlock(&q->lock);
		err = builder_add_batch(&c->builder, b);
		pthread_mutex_lock(&q->lock);
		b->len = 0;
		q->tail = (q->tail + 1) % NBATCH;
		q->full--;
		q->err = err;
		pthread_cond_signal(&q->cond);
		if (err)
			break;
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static int add_pp(void *ctx, size_t index, const struct dhat_pp *pp)
{
	struct collapse *c = ctx;
	uint64_t v = pp->stat[c->stat];

	if (!(pp->present & (1u << c->stat))) {
		if (c->missing_pp == SIZE_MAX)
			c->missing_pp = index;
		return 0;
	}
	return v ? queue_put(&c->queue, pp->fs, pp->nfs, v) : 0;
}

static int add_frame(void *ctx, uint32_t index, const char *s, size_t len)
{
	struct collapse *c = ctx;
	struct dhat_frame fr;
	void *p;

	if (index == c->label_of_cap) {
		size_t cap = c->label_of_cap ? 2 * c->label_of_cap : 1024;

		p = realloc(c->label_of, cap * sizeof(*c->label_of));
		if (!p)
			return -ENOMEM;
		c->label_of = p;
		if (!c->all_frames) {
			p = realloc(c->plumb, cap * sizeof(*c->plumb));
			if (!p)
				return -ENOMEM;
			c->plumb = p;
		}
		c->label_of_cap = cap;
	}
	/* "??? (" + obj + ")" is the longest label. */
	if (len + 8 > c->buf_size) {
		size_t size = len + 8 > 2 * c->buf_size ? len + 8 : 2 * c->buf_size;

		p = realloc(c->buf, size);
		if (!p)
			return -ENOMEM;
		c->buf = p;
		c->buf_size = size;
	}
	dhat_frame_parse(s, len, &fr);
	if (!c->all_frames)
		an_plumb_of(&fr, &c->plumb[index]);
	frame_label(s, len, &fr, c->buf, c->buf_size);
	return intern_add(&c->labels, c->buf, strlen(c->buf), &c->label_of[index]);
}

/*
 * @c's by_index folded without the plumbing, in @t, each node's state of
 * the rule (plumbing.c) from its parent's. A node's stack shown starts
 * inside its innermost start-up frame (map: the label node of the frames
 * from there to it) and ends at its deepest own frame (own); a stack of
 * plumbing is its innermost frame alone.
 */
static int fold_shown(struct collapse *c, struct trie *t)
{
	const struct trie *s = &c->builder.by_index;
	uint32_t *map = malloc(s->n * sizeof(*map));
	uint32_t *own = malloc(s->n * sizeof(*own));
	struct an_fold *st = malloc(s->n * sizeof(*st));
	size_t i;
	int err = map && own && st ? 0 : -ENOMEM;

	trie_drop_index(&c->builder.by_index);
	if (!err)
		err = trie_init(t, s->n);
	if (!err) {
		t->node[0].value = s->node[0].value;
		map[0] = 0;
		own[0] = NONE;
	}
	for (i = 1; !err && i < s->n; i++) {
		const struct node *nd = &s->node[i];
		uint32_t up = nd->parent, at;

		an_fold_step(up ? &st[up] : NULL,
			     up ? &c->plumb[s->node[up].key] : NULL,
			     &c->plumb[nd->key], &st[i]);
		map[i] = 0;
		own[i] = NONE;
		if (!st[i].cut) {
			err = trie_child(t, map[up], c->label_of[nd->key], &map[i]);
			own[i] = st[i].own ? map[i] : own[up];
		}
		if (err || !nd->value)
			continue;
		at = own[i];
		if (at == NONE)
			err = trie_child(t, 0, c->label_of[nd->key], &at);
		if (!err)
			t->node[at].value += nd->value;
	}
	free(map);
	free(own);
	free(st);
	trie_drop_index(t);
	return err;
}

/* The stacks keyed by label: @c's by_index folded, in @t. */
static int fold(struct collapse *c, struct trie *t)
{
	const struct trie *s = &c->builder.by_index;
	uint32_t *map = malloc(s->n * sizeof(*map));
	size_t i;
	int err = 0;

	if (!map)
		return -ENOMEM;
	trie_drop_index(&c->builder.by_index);
	err = trie_init(t, s->n);
	if (!err)
		t->node[0].value = s->node[0].value;
	map[0] = 0;
	for (i = 1; !err && i < s->n; i++) {
		err = trie_child(t, map[s->node[i].parent],
				 c->label_of[s->node[i].key], &map[i]);
		if (!err)
			t->node[map[i]].value += s->node[i].value;
	}
	free(map);
	trie_drop_index(t);
	return err;
}

struct collapsed {
	struct trie stacks;	/* keyed by label */
	struct intern labels;
	uint32_t *first, *child;	/* children of node i: child[first[i]..first[i+1]) */
};

struct sort_ctx {
	const struct trie *t;
	const struct intern *l;
};

static int by_label(const void *a, const void *b, void *ctx)
{
	const struct sort_ctx *s = ctx;
	size_t n;

	return strcmp(label(s->l, s->t->node[*(const uint32_t *)a].key, &n),
		      label(s->l, s->t->node[*(const uint32_t *)b].key, &n));
}

/* Each node's children, sorted by label. */
static int sort_children(struct collapsed *cs)
{
	const struct trie *t = &cs->stacks;
	struct sort_ctx ctx = { t, &cs->labels };
	size_t i;

	cs->first = calloc(t->n + 1, sizeof(*cs->first));
	cs->child = malloc(t->n * sizeof(*cs->child));
	if (!cs->first || !cs->child)
		return -ENOMEM;
	for (i = 1; i < t->n; i++)
		cs->first[t->node[i].parent + 1]++;
	for (i = 0; i < t->n; i++)
		cs->first[i + 1] += cs->first[i];
	/* Filling moves each start to its end, the next range's start. */
	for (i = 1; i < t->n; i++)
		cs->child[cs->first[t->node[i].parent]++] = (uint32_t)i;
	memmove(cs->first + 1, cs->first, t->n * sizeof(*cs->first));
	cs->first[0] = 0;
	for (i = 0; i < t->n; i++)
		qsort_r(cs->child + cs->first[i], cs->first[i + 1] - cs->first[i],
			sizeof(*cs->child), by_label, &ctx);
	return 0;
}

/* dhat_read() with the builder thread growing the index trie. */
static int read_stacks(struct collapse *c, FILE *in, const char *name,
		       struct dhat_meta *meta, struct dhat_err *err)
{
	static const struct dhat_read_ops ops = {
		.pp = add_pp, .frame = add_frame,
	};
	pthread_t builder;
	int ret = pthread_create(&builder, NULL, build, c);

	if (ret) {
		snprintf(err->msg, sizeof(err->msg), "cannot start a thread: %s",
			 strerror(ret));
		return -ret;
	}
	ret = dhat_read(in, name, &ops, c, meta, err);
	queue_finish(&c->queue);
	pthread_join(builder, NULL);
	/* An error in the last batches, after the parser's last look. */
	if (!ret && c->queue.err) {
		ret = c->queue.err;
		snprintf(err->msg, sizeof(err->msg), "%s: %s", name,
			 strerror(-ret));
	}
	return ret;
}

int out_collapsed_read(struct collapsed **out, FILE *in, const char *name,
		       enum dhat_stat stat, bool all_frames, struct dhat_err *err)
{
	struct collapse c = {
		.stat = stat, .all_frames = all_frames, .missing_pp = SIZE_MAX,
		.queue = {
			.lock = PTHREAD_MUTEX_INITIALIZER,
			.cond = PTHREAD_COND_INITIALIZER,
		},
	};
	struct collapsed *cs = calloc(1, sizeof(*cs));
	struct dhat_meta meta = { 0 };
	int ret;

	*out = NULL;
	ret = cs ? trie_init(&c.builder.by_index, 0) : -ENOMEM;
	if (!ret)
		ret = read_stacks(&c, in, name, &meta, err);
	else
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	if (ret)
		goto out;
	if (c.missing_pp != SIZE_MAX) {
		snprintf(err->msg, sizeof(err->msg), "%s: pps[%zu] has no '%s'%s",
			 name, c.missing_pp, dhat_stat_name(stat), meta.bklt ?
			 "" : " (bklt is false: the file has tb and tbk only)");
		ret = -EINVAL;
		goto out;
	}
	cs->labels = c.labels;
	memset(&c.labels, 0, sizeof(c.labels));
	ret = all_frames ? fold(&c, &cs->stacks) : fold_shown(&c, &cs->stacks);
	if (!ret)
		ret = sort_children(cs);
	if (ret)
		snprintf(err->msg, sizeof(err->msg), "out of memory");
out:
	dhat_meta_free(&meta);
	builder_free(&c.builder);
	queue_free(&c.queue);
	intern_free(&c.labels);
	free(c.label_of);
	free(c.plumb);
	free(c.buf);
	if (ret)
		out_collapsed_free(cs);
	else
		*out = cs;
	return ret;
}

/* The stack being written: its labels joined, and where each ends. */
struct prefix {
	char *buf;
	size_t len, cap;
};

static int prefix_add(struct prefix *p, const char *s, size_t len)
{
	if (p->len + len + 1 > p->cap) {
		size_t cap = 2 * (p->len + len + 1);
		char *b = realloc(p->buf, cap);

		if (!b)
			return -ENOMEM;
		p->buf = b;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, len);
	p->len += len;
	return 0;
}

/* " <v>\n" into @buf; returns its length. Lines are many, and printf's
 * formatting cost as much as the rest of the writing. */
static size_t u64_text(uint64_t v, char buf[24])
{
	char digits[20];
	size_t n = 0, len = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf[len++] = ' ';
	while (n)
		buf[len++] = digits[--n];
	buf[len++] = '\n';
	return len;
}

/* --- writing beside the formatting ---------------------------------------- */

/*
 * Copying half a gigabyte of text into the page cache costs the kernel
 * about as much as formatting it costs us: a writer thread writes one
 * buffer while the other is filled.
 */
#define WBUF_SIZE (1u << 20)

struct writer {
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* ready went down or up, or done set */
	char *buf[2];
	size_t len[2], cap[2];
	unsigned cur;		/* the buffer being filled */
	bool ready;		/* buf[!cur] waits to be written */
	bool done;		/* no more buffers come */
	int err;		/* the writer's error; it stopped */
};

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The writer thread: each ready buffer written, until done or an error. */
static void *writer_run(void *arg)
{
	struct writer *w = arg;
	unsigned i;
	int err;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->ready && !w->done)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->ready)
			break;
		i = !w->cur;
		pthread_mutex_unlock(&w->lock);
		err = write_all(w->fd, w->buf[i], w->len[i]);
		pthread_mutex_lock(&w->lock);
		w->len[i] = 0;
		w->ready = false;
		w->err = err;
		pthread_cond_signal(&w->cond);
		if (err)
			break;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* buf[cur] handed to the writer once it is done with the other. */
static int writer_flush(struct writer *w)
{
	int err;

	pthread_mutex_lock(&w->lock);
	while (w->ready && !w->err)
		pthread_cond_wait(&w->cond, &w->lock);
	err = w->err;
	if (!err) {
		w->ready = true;
		w->cur = !w->cur;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return err;
}

static int writer_put(struct writer *w, const char *s, size_t len)
{
	unsigned c = w->cur;
	int err;

	if (w->len[c] + len > w->cap[c]) {
		if (w->len[c]) {
			err = writer_flush(w);
			if (err)
				return err;
			c = w->cur;
		}
		if (len > w->cap[c]) {
			size_t cap = len > WBUF_SIZE ? len : WBUF_SIZE;
			char *b = realloc(w->buf[c], cap);

			if (!b)
				return -ENOMEM;
			w->buf[c] = b;
			w->cap[c] = cap;
		}
	}
	memcpy(w->buf[c] + w->len[c], s, len);
	w->len[c] += len;
	return 0;
}

/* The last buffer written and the writer thread joined. */
static int writer_finish(struct writer *w, pthread_t thread)
{
	int err = w->len[w->cur] ? writer_flush(w) : 0;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(thread, NULL);
	return err ? err : w->err;
}

/*
 * Depth first, children in label order (pushed in reverse). The text of
 * the stack is kept as it goes: each node is its parent's text, ';' and
 * its label, so a line costs its own bytes only. The empty stack is the
 * viewer's root node, "[root]".
 */
static int write_stacks(const struct collapsed *cs, struct writer *w)
{
	const struct trie *t = &cs->stacks;
	uint32_t *stack = malloc(t->n * sizeof(*stack));
	size_t *at = malloc(t->n * sizeof(*at));	/* parent's text length */
	struct prefix p = { 0 };
	size_t sp = 0, i, n;
	char num[24];
	int err = stack && at ? 0 : -ENOMEM;

	if (!err && t->node[0].value) {
		n = u64_text(t->node[0].value, num);
		err = writer_put(w, "[root]", 6);
		if (!err)
			err = writer_put(w, num, n);
	}
	for (i = cs->first[1]; !err && i-- > cs->first[0];) {
		stack[sp] = cs->child[i];
		at[sp++] = 0;
	}
	while (sp && !err) {
		uint32_t node = stack[--sp], id = t->node[node].key;

		p.len = at[sp];
		if (p.len)
			err = prefix_add(&p, ";", 1);
		if (!err) {
			const char *name = label(&cs->labels, id, &n);

			err = prefix_add(&p, name, n);
		}
		if (!err && t->node[node].value) {
			n = u64_text(t->node[node].value, num);
			err = writer_put(w, p.buf, p.len);
			if (!err)
				err = writer_put(w, num, n);
		}
		for (i = cs->first[node + 1]; !err && i-- > cs->first[node];) {
			stack[sp] = cs->child[i];
			at[sp++] = p.len;
		}
	}
	free(stack);
	free(at);
	free(p.buf);
	return err;
}

int out_collapsed_write(const struct collapsed *cs, FILE *f)
{
	struct writer w = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	pthread_t thread;
	int err, ret;

	/* Whatever @f holds goes first; then the file descriptor is ours. */
	if (fflush(f) || ferror(f))
		return errno > 0 ? -errno : -EIO;
	w.fd = fileno(f);
	ret = pthread_create(&thread, NULL, writer_run, &w);
	if (ret)
		return -ret;
	err = write_stacks(cs, &w);
	ret = writer_finish(&w, thread);
	free(w.buf[0]);
	free(w.buf[1]);
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.cond);
	return err ? err : ret;
}

void out_collapsed_free(struct collapsed *cs)
{
	if (!cs)
		return;
	trie_free(&cs->stacks);
	intern_free(&cs->labels);
	free(cs->first);
	free(cs->child);
	free(cs);
}
