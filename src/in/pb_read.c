// SPDX-License-Identifier: GPL-2.0
/* Protobuf wire format, read: varints and fields within a byte range. */
#include <errno.h>

#include "in/in_int.h"

/* A varint: at most 10 bytes, the 10th holding only the top bit. */
static int varint(struct pb_msg *m, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; m->p < m->end && shift < 64; shift += 7) {
		uint8_t b = *m->p++;

		if (shift == 63 && b > 1)
			return -EINVAL;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EINVAL;
}

int pb_next(struct pb_msg *m, struct pb_field *f)
{
	const uint8_t *start = m->p;
	uint64_t tag, len = 0;

	if (m->p == m->end)
		return 0;
	if (varint(m, &tag) || tag >> 3 == 0 || tag >> 3 > UINT32_MAX)
		goto bad;
	f->num = tag >> 3;
	f->wire = tag & 7;
	switch (f->wire) {
	case PB_VARINT:
		if (varint(m, &f->v))
			goto bad;
		return 1;
	case PB_LEN:
		if (varint(m, &len))
			goto bad;
		break;
	case PB_I64:
		len = 8;
		break;
	case PB_I32:
		len = 4;
		break;
	default:	/* groups: deprecated, not in profile.proto */
		goto bad;
	}
	if (len > (uint64_t)(m->end - m->p))
		goto bad;
	f->data.p = m->p;
	f->data.end = m->p + len;
	m->p += len;
	return 1;
bad:
	m->p = start;
	return -EINVAL;
}

enum { VALUES_BAD = -2, VALUES_PACKED = -1 };

void pb_values(const struct pb_field *f, struct pb_values *it)
{
	it->run = f->data;
	it->one = f->v;
	it->left = f->wire == PB_VARINT ? 1 :
		   f->wire == PB_LEN ? VALUES_PACKED : VALUES_BAD;
}

int pb_value(struct pb_values *it, uint64_t *v)
{
	switch (it->left) {
	case VALUES_BAD:
		return -EINVAL;
	case VALUES_PACKED:
		if (it->run.p == it->run.end)
			return 0;
		return varint(&it->run, v) ? -EINVAL : 1;
	case 1:
		*v = it->one;
		it->left = 0;
		return 1;
	default:
		return 0;
	}
}
