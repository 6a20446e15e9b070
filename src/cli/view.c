// SPDX-License-Identifier: GPL-2.0
/*
 * `dhtrace view FILE` and `dhtrace view BASE NEW`: the profile, or the
 * diff of two, as one HTML page (src/out/view.c) that works offline.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "cli/commands.h"
#include "out/out.h"

static const char view_usage[] =
"Usage: dhtrace view [OPTIONS] FILE\n"
"       dhtrace view [OPTIONS] BASE NEW\n"
"\n"
"Writes one HTML page that works offline (everything inlined): the\n"
"summary, the heap over time (dhtrace's files), a flame graph of total\n"
"bytes, bytes at t-gmax or at t-end, and a sortable table of the call\n"
"sites; with BASE and NEW, what grew and what shrank. FILE, BASE and NEW\n"
"are what `dhtrace report` and `dhtrace diff` read.\n"
"\n"
"Options:\n"
"  -o, --output OUT     default dhtrace-view.html\n"
"      --all-frames     keep the allocators, the libraries' allocation\n"
"                       internals and the start-up below main\n"
"  -h, --help           show this help\n";

enum { OPT_ALL_FRAMES = 256 };

/* What the writer gets: the inputs and, for two, their diff. */
struct view {
	struct out_view_input in[2];
	struct out_recorded how[2];
	size_t n;
	const struct an_diff *diff;
};

/* How input @i was recorded (sampling, cost), for the page to say as
 * record printed it. */
static int read_how(struct view *v, size_t i)
{
	char why[160];

	if (out_recorded_read(&v->in[i].df->meta, &v->how[i], why,
			      sizeof(why))) {
		fprintf(stderr, "dhtrace: %s: %s\n", v->in[i].name, why);
		return -EINVAL;
	}
	v->in[i].how = &v->how[i];
	return 0;
}

static int write_view(const void *ctx, FILE *f)
{
	const struct view *v = ctx;

	return out_view_fprint(v->in, v->n, v->diff, f);
}

int cmd_view(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "all-frames", no_argument, NULL, OPT_ALL_FRAMES },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *output = "dhtrace-view.html";
	struct an_opts o = { .sort = AN_SORT_TOTAL };
	struct an_input inputs[2];
	struct an_report reports[2];
	struct an_diff d;
	struct view v = { 0 };
	struct dhat_err err;
	size_t loaded = 0, computed = 0;
	bool have_diff = false;
	int ch, ret = 1;

	while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (!*optarg) {
				fprintf(stderr, "dhtrace: invalid -o '' (see --help)\n");
				return 2;
			}
			output = optarg;
			break;
		case OPT_ALL_FRAMES:
			o.all_frames = true;
			break;
		case 'h':
			fputs(view_usage, stdout);
			return 0;
		default:
			fprintf(stderr, "dhtrace: see dhtrace view --help\n");
			return 2;
		}
	}
	v.n = (size_t)(argc - optind);
	if (v.n < 1 || v.n > 2) {
		fprintf(stderr, "dhtrace: view takes FILE, or BASE and NEW (see dhtrace view --help)\n");
		return 2;
	}
	for (; loaded < v.n; loaded++) {
		if (an_input_load(argv[optind + loaded], &inputs[loaded], &err)) {
			fprintf(stderr, "dhtrace: %s\n", err.msg);
			goto out;
		}
	}
	for (; computed < v.n; computed++) {
		if (an_report_compute(&inputs[computed].df, &o,
				      &reports[computed]))
			goto nomem;
		v.in[computed] = (struct out_view_input){
			.name = argv[optind + computed],
			.df = &inputs[computed].df,
			.summary = &inputs[computed].summary,
			.r = &reports[computed],
		};
	}
	for (size_t i = 0; i < v.n; i++)
		if (read_how(&v, i))
			goto out;
	if (v.n == 2) {
		if (an_diff_compute(&inputs[0], &inputs[1], AN_SORT_TOTAL, 0,
				    o.all_frames, &d))
			goto nomem;
		have_diff = true;
		v.diff = &d;
	}
	ret = out_write_atomic(output, write_view, &v);
	if (ret) {
		fprintf(stderr, "dhtrace: cannot write %s: %s\n", output,
			strerror(-ret));
		ret = 1;
	}
	goto out;
nomem:
	fprintf(stderr, "dhtrace: out of memory\n");
	ret = 1;
out:
	if (have_diff)
		an_diff_free(&d);
	while (computed)
		an_report_free(&reports[--computed]);
	while (loaded)
		an_input_free(&inputs[--loaded]);
	return ret;
}
