// SPDX-License-Identifier: GPL-2.0
/*
 * Fields of dhtrace's own objects in a DHAT file (dhtraceSampling,
 * dhtraceOverhead), read back as exactly what the writer writes: anything
 * else is named as the first wrong field.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "out/out_int.h"

yajl_val field_member(yajl_val obj, const char *key)
{
	const char *path[] = { key, NULL };

	return yajl_tree_get(obj, path, yajl_t_any);
}

bool field_wrong(struct fields *f, const char *key)
{
	if (!f->bad)
		f->bad = key;
	return false;
}

bool field_u64(struct fields *f, const char *key, uint64_t *v)
{
	yajl_val x = field_member(f->obj, key);
	const char *s = YAJL_IS_NUMBER(x) ? YAJL_GET_NUMBER(x) : "";
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return (*s >= '0' && *s <= '9' && !*end && !errno) ||
	       field_wrong(f, key);
}

bool field_known_u64(struct fields *f, const char *key, bool *known,
		    uint64_t *v)
{
	*known = !YAJL_IS_NULL(field_member(f->obj, key));
	*v = 0;
	return !*known || field_u64(f, key, v);
}

bool field_double(struct fields *f, const char *key, double *v)
{
	yajl_val x = field_member(f->obj, key);
	const char *s = YAJL_IS_NUMBER(x) ? YAJL_GET_NUMBER(x) : "";
	char *end;

	*v = strtod(s, &end);
	return (*s && !*end && isfinite(*v) && *v >= 0) || field_wrong(f, key);
}
