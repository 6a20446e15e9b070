/* SPDX-License-Identifier: GPL-2.0 */
/* Internal interfaces of src/in/: not for other stages. */
#ifndef DHTRACE_IN_INT_H
#define DHTRACE_IN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "in/in.h"

/*
 * Protobuf wire format, read (pb_read.c; FORMATS.md 4.6). A message is a
 * byte range; pb_next() takes its fields one by one: varints with their
 * value, the others (length-delimited, fixed 64 and 32 bits) as the range
 * of their payload. Callers skip fields they do not know and check the
 * wire type of those they do. Groups (wire types 3, 4), field number 0,
 * varints over 64 bits and anything running past the end are errors.
 */
struct pb_msg {
	const uint8_t *p, *end;
};

struct pb_field {
	uint32_t num;
	enum pb_wire wire;
	uint64_t v;		/* PB_VARINT */
	struct pb_msg data;	/* the others: the payload */
};

/* 1 with @f filled, 0 at the end of @m, -EINVAL for a malformed message
 * (then @m->p is where the bad field starts). */
int pb_next(struct pb_msg *m, struct pb_field *f);

/*
 * The values of one occurrence of a repeated varint field, packed (a
 * PB_LEN run of varints) or not (one PB_VARINT): pb_values() starts, then
 * pb_value() gives 1 and *@v for each, 0 at the end, -EINVAL for a bad or
 * a fixed-width one.
 */
struct pb_values {
	struct pb_msg run;
	uint64_t one;
	int left;	/* unpacked: 1 until taken; packed: -1 */
};

void pb_values(const struct pb_field *f, struct pb_values *it);
int pb_value(struct pb_values *it, uint64_t *v);

/*
 * All of @f (named @name in errors), gunzipped when it starts with the
 * gzip magic (1f 8b; concatenated members too), as one buffer with a NUL
 * after its *@len bytes. Returns 0 with *@buf malloc'ed, or a negative
 * errno with @err filled ("<name>: ...").
 */
int in_read_all(FILE *f, const char *name, uint8_t **buf, size_t *len,
		struct dhat_err *err);

#endif /* DHTRACE_IN_INT_H */
