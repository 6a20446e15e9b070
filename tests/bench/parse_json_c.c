// SPDX-License-Identifier: GPL-2.0
/*
 * `parse_json_c FILE`: parse FILE once with json-c's incremental tokener,
 * 64 KiB at a time (it still builds the whole document as a tree), for
 * the JSON parser comparison in tools/bench.py (which times it).
 */
#include <json-c/json.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	static char buf[64 * 1024];
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = NULL;
	enum json_tokener_error jerr = json_tokener_continue;
	size_t n;
	FILE *f;

	if (argc != 2 || !(f = fopen(argv[1], "r")) || !tok) {
		fprintf(stderr, "usage: parse_json_c FILE\n");
		return 2;
	}
	while (!root && jerr == json_tokener_continue &&
	       (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		root = json_tokener_parse_ex(tok, buf, (int)n);
		jerr = json_tokener_get_error(tok);
	}
	json_tokener_free(tok);
	if (!root) {
		fprintf(stderr, "parse_json_c: %s\n", json_tokener_error_desc(jerr));
		return 1;
	}
	json_object_put(root);
	return 0;
}
