// SPDX-License-Identifier: GPL-2.0
/*
 * `parse_jansson FILE`: parse FILE once with jansson's json_loadf(), which
 * builds the whole document as a tree, for the JSON parser comparison in
 * tools/bench.py (which times it).
 */
#include <jansson.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	json_error_t err;
	json_t *root;
	FILE *f;

	if (argc != 2 || !(f = fopen(argv[1], "r"))) {
		fprintf(stderr, "usage: parse_jansson FILE\n");
		return 2;
	}
	root = json_loadf(f, 0, &err);
	if (!root) {
		fprintf(stderr, "parse_jansson: %s\n", err.text);
		return 1;
	}
	json_decref(root);
	return 0;
}
