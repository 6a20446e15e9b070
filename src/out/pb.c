// SPDX-License-Identifier: GPL-2.0
/*
 * Protobuf wire format, written by hand: profile.proto needs only varints
 * and length-delimited fields (FORMATS.md 4.6).
 */
#include <stdlib.h>
#include <string.h>

#include "out/out_int.h"

#define VARINT_MAX 10	/* 64 bits, 7 a byte */

void pb_free(struct pb_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Room for @n more bytes; false (and failed set) when there is none. */
static bool reserve(struct pb_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *data;

	if (b->failed)
		return false;
	if (b->len + n <= b->cap)
		return true;
	while (cap < b->len + n)
		cap *= 2;
	data = realloc(b->data, cap);
	if (!data) {
		b->failed = true;
		return false;
	}
	b->data = data;
	b->cap = cap;
	return true;
}

static size_t varint_encode(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

void pb_varint(struct pb_buf *b, uint64_t v)
{
	if (reserve(b, VARINT_MAX))
		b->len += varint_encode(b->data + b->len, v);
}

void pb_tag(struct pb_buf *b, uint32_t field, enum pb_wire wire)
{
	pb_varint(b, (uint64_t)field << 3 | wire);
}

void pb_uint(struct pb_buf *b, uint32_t field, uint64_t v)
{
	if (!v)
		return;
	pb_tag(b, field, PB_VARINT);
	pb_varint(b, v);
}

void pb_bytes(struct pb_buf *b, uint32_t field, const void *p, size_t n)
{
	pb_tag(b, field, PB_LEN);
	pb_varint(b, n);
	if (n && reserve(b, n)) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
	}
}

void pb_packed(struct pb_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
	size_t start;

	if (!n)
		return;
	start = pb_begin(b, field);
	for (size_t i = 0; i < n; i++)
		pb_varint(b, v[i]);
	pb_end(b, start);
}

/* One byte is kept for the length: most messages here are short. */
size_t pb_begin(struct pb_buf *b, uint32_t field)
{
	pb_tag(b, field, PB_LEN);
	if (reserve(b, 1))
		b->data[b->len++] = 0;
	return b->len;
}

void pb_end(struct pb_buf *b, size_t start)
{
	uint8_t len[VARINT_MAX];
	size_t payload, n;

	if (b->failed)
		return;
	payload = b->len - start;
	n = varint_encode(len, payload);
	if (n > 1) {
		if (!reserve(b, n - 1))
			return;
		memmove(b->data + start + n - 1, b->data + start, payload);
		b->len += n - 1;
	}
	memcpy(b->data + start - 1, len, n);
}
