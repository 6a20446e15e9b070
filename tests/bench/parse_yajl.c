// SPDX-License-Identifier: GPL-2.0
/*
 * `parse_yajl yajl|dhat_read FILE`: parse FILE once, for the JSON parser
 * comparison in tools/bench.py (which times it): yajl's SAX parser with
 * callbacks that do nothing, or dhtrace's DHAT reader (yajl plus the DHAT
 * checks) without callbacks. Both read 64 KiB at a time.
 */
#include <string.h>
#include <yajl/yajl_parse.h>

#include "in/in.h"

static int yes(void *ctx)
{
	(void)ctx;
	return 1;
}

static int yes_bool(void *ctx, int b)
{
	(void)ctx;
	(void)b;
	return 1;
}

static int yes_str(void *ctx, const unsigned char *s, size_t len)
{
	(void)ctx;
	(void)s;
	(void)len;
	return 1;
}

static int yes_num(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	(void)s;
	(void)len;
	return 1;
}

static int parse_yajl(FILE *f)
{
	static const yajl_callbacks cb = {
		.yajl_null = yes, .yajl_boolean = yes_bool,
		.yajl_number = yes_num, .yajl_string = yes_str,
		.yajl_start_map = yes, .yajl_map_key = yes_str,
		.yajl_end_map = yes, .yajl_start_array = yes,
		.yajl_end_array = yes,
	};
	static unsigned char buf[64 * 1024];
	yajl_handle h = yajl_alloc(&cb, NULL, NULL);
	size_t n;
	int ok = 1;

	while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ok = yajl_parse(h, buf, n) == yajl_status_ok;
	ok = ok && yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok ? 0 : 1;
}

static int parse_dhat(FILE *f, const char *name)
{
	struct dhat_meta meta;
	struct dhat_err err;

	if (dhat_read(f, name, NULL, NULL, &meta, &err)) {
		fprintf(stderr, "parse_yajl: %s\n", err.msg);
		return 1;
	}
	dhat_meta_free(&meta);
	return 0;
}

int main(int argc, char **argv)
{
	FILE *f;

	if (argc != 3 || !(f = fopen(argv[2], "r"))) {
		fprintf(stderr, "usage: parse_yajl yajl|dhat_read FILE\n");
		return 2;
	}
	return strcmp(argv[1], "yajl") ? parse_dhat(f, argv[2]) : parse_yajl(f);
}
