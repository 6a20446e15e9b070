/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live blocks keyed by (pid, addr): open addressing with linear probing and
 * backward-shift deletion (no tombstones). The capacity follows the live
 * count (it is not a power of two), so the table stays between 9/16 and
 * 3/4 full: at most 57 bytes per live block.
 *
 * Pointers into the table are valid until the next insert or delete.
 */
#ifndef DHTRACE_HEAP_BLOCKS_H
#define DHTRACE_HEAP_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct block {
	uint64_t addr;		/* 0: empty slot */
	uint64_t size;
	uint64_t chain;		/* sampled: its requests' bytes (see heap.c) */
	uint64_t t_alloc_ns;
	uint32_t pid;
	uint32_t pp;
};

struct block_table {
	struct block *slots;
	size_t cap;		/* slots */
	size_t count;		/* live blocks */
};

int block_table_init(struct block_table *t);
void block_table_destroy(struct block_table *t);
/* @dst (uninitialized) becomes a copy of @src. Returns 0 or -ENOMEM. */
int block_table_copy(struct block_table *dst, const struct block_table *src);

/* The block at (@pid, @addr), or NULL. */
struct block *block_table_find(const struct block_table *t, uint32_t pid,
			       uint64_t addr);

/*
 * The slot of (@pid, @addr), @addr != 0. If it was live, *found is true and
 * the slot is untouched; otherwise the slot is new, holds only pid and addr,
 * and the caller fills in the rest. NULL when out of memory.
 */
struct block *block_table_insert(struct block_table *t, uint32_t pid,
				 uint64_t addr, bool *found);

void block_table_delete(struct block_table *t, const struct block *slot);

size_t block_table_bytes(const struct block_table *t);

#endif /* DHTRACE_HEAP_BLOCKS_H */
