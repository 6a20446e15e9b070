/* SPDX-License-Identifier: GPL-2.0 */
/* Internal interfaces of src/out/: not for other stages. */
#ifndef DHTRACE_OUT_INT_H
#define DHTRACE_OUT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <yajl/yajl_tree.h>
#include <zlib.h>

#include "in/in.h"	/* enum pb_wire */

/* -errno, or -EIO when a failed call left errno unset. */
int neg_errno(void);

/*
 * Reading dhtrace's own objects back (fields.c): each reader returns true,
 * or false with the first wrong key kept in bad.
 */
struct fields {
	yajl_val obj;
	const char *bad;
};

/* The value of @key in @obj, NULL when absent. */
yajl_val field_member(yajl_val obj, const char *key);
/* Keeps @key as the wrong one (if none was yet); false. */
bool field_wrong(struct fields *f, const char *key);
/* A non-negative integer. */
bool field_u64(struct fields *f, const char *key, uint64_t *v);
/* A non-negative integer, or null (*@known false, *@v 0). */
bool field_known_u64(struct fields *f, const char *key, bool *known,
		    uint64_t *v);
/* A non-negative finite number, read as the writer's %.3f wrote it. */
bool field_double(struct fields *f, const char *key, double *v);

/*
 * Protobuf wire format (pb.c), as FORMATS.md 4.6 gives it: a growable byte
 * buffer with varints, tags and length-delimited fields. An allocation
 * failure is sticky: later calls do nothing and pb_failed() says so, so a
 * writer checks once at the end.
 */
struct pb_buf {
	uint8_t *data;
	size_t len, cap;
	bool failed;		/* out of memory: data is incomplete */
};

void pb_free(struct pb_buf *b);
static inline bool pb_failed(const struct pb_buf *b)
{
	return b->failed;
}

/* Raw pieces: 7 bits a byte, least significant first (int64 values as
 * their two's complement: 10 bytes when negative); (field << 3) | wire. */
void pb_varint(struct pb_buf *b, uint64_t v);
void pb_tag(struct pb_buf *b, uint32_t field, enum pb_wire wire);

/* A singular integer or bool field; nothing for 0, proto3's default. */
void pb_uint(struct pb_buf *b, uint32_t field, uint64_t v);
/* A string or bytes field, always written (an element of a repeated one). */
void pb_bytes(struct pb_buf *b, uint32_t field, const void *p, size_t n);
/* A packed repeated integer field; nothing for an empty list. */
void pb_packed(struct pb_buf *b, uint32_t field, const uint64_t *v, size_t n);

/*
 * A length-delimited field written in place: pb_begin() writes the tag and
 * returns where the payload starts, pb_end() puts the length in front of
 * it (moving the payload when the length needs more than one byte).
 * Nested messages nest begin/end pairs.
 */
size_t pb_begin(struct pb_buf *b, uint32_t field);
void pb_end(struct pb_buf *b, size_t start);

/*
 * Interning (intern.c): byte strings to dense ids 0, 1, ... in order of
 * first appearance, each stored once.
 */
struct intern {
	char *data;		/* every key, each NUL-terminated */
	size_t len, cap;
	struct intern_key *keys;	/* by id */
	size_t n, capkeys;
	uint32_t *slots;	/* open addressing: id + 1, 0 is empty */
	size_t nslots;
};

void intern_free(struct intern *t);
/* The id of @key (@n bytes), added if new. Returns 0 or -ENOMEM. */
int intern_add(struct intern *t, const void *key, size_t n, uint32_t *id);
/* The key of @id and its length (valid until the next intern_add()). */
const void *intern_key(const struct intern *t, uint32_t id, size_t *n);

/* Gzip through zlib (gzip.c): deflate to a FILE as the data comes. */
struct gzip {
	z_stream z;
	FILE *f;
	bool open;
};

int gzip_begin(struct gzip *g, FILE *f);
/* Returns 0 or a negative errno (-EIO for a zlib failure). */
int gzip_write(struct gzip *g, const void *p, size_t n);
/* Finish the stream (when @ok) and free zlib's state, flushing @f. */
int gzip_end(struct gzip *g, bool ok);

#endif /* DHTRACE_OUT_INT_H */
