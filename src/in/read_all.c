// SPDX-License-Identifier: GPL-2.0
/*
 * A whole input in memory, gunzipped on the way when it is gzip: zlib's
 * inflate as the chunks come, so the compressed file is never held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "in/in_int.h"
#include "util/array.h"

#define CHUNK (64 * 1024)

struct growbuf {
	uint8_t *p;
	size_t len, cap;
};

/* Room for @extra more bytes and a NUL. */
static int reserve(struct growbuf *b, size_t extra)
{
	if (extra >= SIZE_MAX - b->len)
		return -ENOMEM;
	return grow(&b->p, &b->cap, b->len + extra + 1, 1);
}

/* Inflate @n bytes at @in into @b; a member that ends starts the next
 * (gzip allows several in one file). */
static int inflate_chunk(z_stream *z, bool *ended, const uint8_t *in,
			 size_t n, struct growbuf *b, const char **why)
{
	int ret;

	z->next_in = (uint8_t *)in;
	z->avail_in = n;
	while (z->avail_in) {
		if (*ended && inflateReset(z) != Z_OK)
			return -ENOMEM;
		*ended = false;
		if (reserve(b, CHUNK))
			return -ENOMEM;
		z->next_out = b->p + b->len;
		z->avail_out = b->cap - b->len - 1;
		ret = inflate(z, Z_NO_FLUSH);
		b->len = b->cap - 1 - z->avail_out;
		if (ret == Z_STREAM_END) {
			*ended = true;
		} else if (ret == Z_MEM_ERROR) {
			return -ENOMEM;
		} else if (ret != Z_OK) {
			*why = z->msg ? z->msg : "bad gzip data";
			return -EINVAL;
		}
	}
	return 0;
}

int in_read_all(FILE *f, const char *name, uint8_t **buf, size_t *len,
		struct dhat_err *err)
{
	uint8_t *in = malloc(CHUNK);
	struct growbuf b = { 0 };
	z_stream z = { 0 };
	const char *why = NULL;
	bool gz = false, ended = false;
	size_t n;
	int ret = in ? reserve(&b, 0) : -ENOMEM;

	while (!ret && (n = fread(in, 1, CHUNK, f)) > 0) {
		if (!b.len && !gz && n >= 2 && in[0] == 0x1f && in[1] == 0x8b) {
			gz = true;
			/* 16: the gzip wrapper, not zlib's */
			if (inflateInit2(&z, 15 + 16) != Z_OK) {
				gz = false;
				ret = -ENOMEM;
				break;
			}
		}
		if (gz) {
			ret = inflate_chunk(&z, &ended, in, n, &b, &why);
		} else {
			ret = reserve(&b, n);
			if (!ret) {
				memcpy(b.p + b.len, in, n);
				b.len += n;
			}
		}
	}
	if (!ret && ferror(f)) {
		ret = errno ? -errno : -EIO;
		snprintf(err->msg, sizeof(err->msg), "%s: read error: %s", name,
			 strerror(-ret));
	} else if (!ret && gz && !ended) {
		ret = -EINVAL;
		why = "truncated gzip data";
	}
	if (ret == -EINVAL && why)
		snprintf(err->msg, sizeof(err->msg), "%s: %s", name, why);
	else if (ret == -ENOMEM)
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
	if (gz)
		inflateEnd(&z);
	free(in);
	if (ret) {
		free(b.p);
		return ret;
	}
	b.p[b.len] = '\0';
	*buf = b.p;
	*len = b.len;
	return 0;
}
