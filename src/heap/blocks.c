// SPDX-License-Identifier: GPL-2.0
/* The live-block hash table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap/blocks.h"

/*
 * Grow above 3/4 full, shrink below 9/16, and resize to 5/8: 32-byte slots
 * then cost 43 to 57 bytes per live block, and every resize is paid for by
 * at least cap/16 inserts or deletes since the previous one.
 */
#define MIN_CAP 1024

static uint64_t hash(uint32_t pid, uint64_t addr)
{
	/*
	 * Fibonacci hashing: the top bits of the product, used for the
	 * index, depend on every lower key bit and spread nearby addresses.
	 */
	return (addr ^ (uint64_t)pid << 32) * 0x9e3779b97f4a7c15ULL;
}

/* Maps the top 32 bits of the hash onto [0, cap), cap <= 2^32. */
static size_t home(size_t cap, uint32_t pid, uint64_t addr)
{
	return (size_t)(((hash(pid, addr) >> 32) * cap) >> 32);
}

static size_t next(size_t cap, size_t i)
{
	return ++i == cap ? 0 : i;
}

static int resize(struct block_table *t, size_t count)
{
	size_t cap = count * 8 / 5 + 1;
	struct block *slots;

	if (cap < MIN_CAP)
		cap = MIN_CAP;
	if (cap > UINT32_MAX)
		return -ENOMEM;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		const struct block *b = &t->slots[i];
		size_t j;

		if (!b->addr)
			continue;
		for (j = home(cap, b->pid, b->addr); slots[j].addr;
		     j = next(cap, j))
			;
		slots[j] = *b;
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

int block_table_init(struct block_table *t)
{
	t->slots = NULL;
	t->cap = 0;
	t->count = 0;
	return resize(t, 0);
}

int block_table_copy(struct block_table *dst, const struct block_table *src)
{
	*dst = *src;
	dst->slots = malloc(src->cap * sizeof(*src->slots));
	if (!dst->slots)
		return -ENOMEM;
	memcpy(dst->slots, src->slots, src->cap * sizeof(*src->slots));
	return 0;
}

void block_table_destroy(struct block_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = 0;
	t->count = 0;
}

struct block *block_table_find(const struct block_table *t, uint32_t pid,
			       uint64_t addr)
{
	for (size_t i = home(t->cap, pid, addr); t->slots[i].addr;
	     i = next(t->cap, i)) {
		if (t->slots[i].addr == addr && t->slots[i].pid == pid)
			return &t->slots[i];
	}
	return NULL;
}

struct block *block_table_insert(struct block_table *t, uint32_t pid,
				 uint64_t addr, bool *found)
{
	struct block *b;
	size_t i;

	if ((t->count + 1) * 4 > t->cap * 3 && resize(t, t->count + 1))
		return NULL;
	for (i = home(t->cap, pid, addr); t->slots[i].addr;
	     i = next(t->cap, i)) {
		b = &t->slots[i];
		if (b->addr == addr && b->pid == pid) {
			*found = true;
			return b;
		}
	}
	b = &t->slots[i];
	b->addr = addr;
	b->pid = pid;
	t->count++;
	*found = false;
	return b;
}

void block_table_delete(struct block_table *t, const struct block *slot)
{
	size_t hole = (size_t)(slot - t->slots), i = hole;

	/* Move back every later block of the run that may live in the hole. */
	for (;;) {
		const struct block *b;
		size_t k;

		i = next(t->cap, i);
		b = &t->slots[i];
		if (!b->addr)
			break;
		k = home(t->cap, b->pid, b->addr);
		/* It stays if its home lies cyclically in (hole, i]. */
		if (hole <= i ? hole < k && k <= i : hole < k || k <= i)
			continue;
		t->slots[hole] = *b;
		hole = i;
	}
	t->slots[hole].addr = 0;
	t->count--;
	/* Out of memory, a table too big is still correct. */
	if (t->cap > MIN_CAP && t->count * 16 < t->cap * 9)
		(void)resize(t, t->count);
}

size_t block_table_bytes(const struct block_table *t)
{
	return t->cap * sizeof(*t->slots);
}
