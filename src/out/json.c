// SPDX-License-Identifier: GPL-2.0
/*
 * JSON documents through yajl's generator (escaping, UTF-8 checks,
 * indentation), for the outputs that are not DHAT files.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "out/out.h"

static void status(struct json_out *j, yajl_gen_status st)
{
	if (st != yajl_gen_status_ok && !j->err)
		j->err = st == yajl_gen_invalid_string ? -EILSEQ : -EINVAL;
}

int json_begin(struct json_out *j)
{
	j->err = 0;
	j->gen = yajl_gen_alloc(NULL);
	if (!j->gen)
		return -ENOMEM;
	yajl_gen_config(j->gen, yajl_gen_beautify, 1);
	yajl_gen_config(j->gen, yajl_gen_indent_string, "  ");
	yajl_gen_config(j->gen, yajl_gen_validate_utf8, 1);
	return 0;
}

void json_key(struct json_out *j, const char *key)
{
	json_str(j, key);
}

void json_str(struct json_out *j, const char *s)
{
	if (!s)
		status(j, yajl_gen_null(j->gen));
	else
		status(j, yajl_gen_string(j->gen, (const unsigned char *)s,
					  strlen(s)));
}

void json_u64(struct json_out *j, uint64_t v)
{
	char buf[24];

	/* yajl_gen_integer takes a long long: write the digits ourselves. */
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	status(j, yajl_gen_number(j->gen, buf, strlen(buf)));
}

void json_i64(struct json_out *j, int64_t v)
{
	status(j, yajl_gen_integer(j->gen, v));
}

void json_double(struct json_out *j, double v)
{
	char buf[32];

	/* Fixed precision, so that output does not depend on %g's choice. */
	snprintf(buf, sizeof(buf), "%.1f", v);
	status(j, yajl_gen_number(j->gen, buf, strlen(buf)));
}

void json_bool(struct json_out *j, bool v)
{
	status(j, yajl_gen_bool(j->gen, v));
}

void json_open(struct json_out *j, char bracket)
{
	status(j, bracket == '{' ? yajl_gen_map_open(j->gen) :
				   yajl_gen_array_open(j->gen));
}

void json_close(struct json_out *j, char bracket)
{
	status(j, bracket == '}' ? yajl_gen_map_close(j->gen) :
				   yajl_gen_array_close(j->gen));
}

int json_end(struct json_out *j, FILE *f)
{
	const unsigned char *buf;
	size_t len;
	int err = j->err;

	if (!err && yajl_gen_get_buf(j->gen, &buf, &len) == yajl_gen_status_ok &&
	    (fwrite(buf, 1, len, f) != len ||
	     (len && buf[len - 1] != '\n' && fputc('\n', f) == EOF)))
		err = -EIO;
	yajl_gen_free(j->gen);
	j->gen = NULL;
	if (!err && (fflush(f) || ferror(f)))
		err = -EIO;
	return err;
}

void json_metric_fields(struct json_out *j, const uint64_t *m)
{
	for (int k = 0; k < AN_NMETRICS; k++) {
		json_key(j, an_metric_name(k));
		json_u64(j, m[k]);
	}
}
