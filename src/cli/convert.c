// SPDX-License-Identifier: GPL-2.0
/* dhtrace convert: a DHAT file of any producer to another format. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "out/pprof_build.h"
#include "in/in.h"
#include "out/out.h"
#include "util/array.h"

static const char usage[] =
"Usage: dhtrace convert [OPTIONS] IN.json OUT\n"
"\n"
"Converts a DHAT file (valgrind's --tool=dhat, dhat-rs's or dhtrace's) to\n"
"another format, chosen by --format or by the name of OUT:\n"
"  collapsed   folded stacks for flamegraph.pl, speedscope, inferno\n"
"              (OUT ending in .folded or .collapsed)\n"
"  pprof       gzipped profile.proto (OUT ending in .pb.gz or .pb)\n"
"IN or OUT '-' is stdin or stdout. Needs no root.\n"
"\n"
"Options:\n"
"  -f, --format FMT    collapsed or pprof\n"
"      --value STAT    collapsed: what each stack weighs: tb (total bytes,\n"
"                      the default), tbk (total blocks), gb, gbk (at t-gmax),\n"
"                      eb, ebk (at t-end), mb, mbk, tl; files without block\n"
"                      lifetimes (bklt false) have tb and tbk only\n"
"      --all-frames    keep the allocators, the libraries' allocation\n"
"                      internals and the start-up below main in the stacks\n"
"  -h, --help          show this help\n";

enum format { FMT_NONE, FMT_COLLAPSED, FMT_PPROF };

static const struct {
	const char *name;
	enum format fmt;
} format_names[] = {
	{ "collapsed", FMT_COLLAPSED }, { "pprof", FMT_PPROF },
};

static const struct {
	const char *ext;
	enum format fmt;
} format_exts[] = {
	{ ".folded", FMT_COLLAPSED }, { ".collapsed", FMT_COLLAPSED },
	{ ".pb.gz", FMT_PPROF }, { ".pb", FMT_PPROF },
};

static enum format format_of_name(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(format_names); i++) {
		if (!strcmp(name, format_names[i].name))
			return format_names[i].fmt;
	}
	return FMT_NONE;
}

static enum format format_of_path(const char *path)
{
	size_t len = strlen(path), i, n;

	for (i = 0; i < ARRAY_SIZE(format_exts); i++) {
		n = strlen(format_exts[i].ext);
		if (len > n && !strcmp(path + len - n, format_exts[i].ext))
			return format_exts[i].fmt;
	}
	return FMT_NONE;
}

/* The input: a file or stdin ("-"), named in messages. */
static FILE *open_input(const char *in, const char **name)
{
	FILE *f;

	if (!strcmp(in, "-")) {
		*name = "stdin";
		return stdin;
	}
	*name = in;
	f = fopen(in, "r");
	if (!f)
		fprintf(stderr, "dhtrace: cannot open %s: %m\n", in);
	return f;
}

static void close_input(FILE *f)
{
	if (f != stdin)
		fclose(f);
}

static int convert_pprof(const char *in, const char *out, bool all_frames)
{
	const char *name;
	FILE *f = open_input(in, &name);
	struct dhat_err err;
	int ret;

	if (!f)
		return 1;
	ret = pprof_dhat_convert(f, name, out, all_frames, &err);
	if (ret)
		fprintf(stderr, "dhtrace: %s\n", err.msg);
	close_input(f);
	return ret ? 1 : 0;
}

static int convert_collapsed(const char *in, const char *out,
			     enum dhat_stat stat, bool all_frames)
{
	const char *name;
	FILE *f = open_input(in, &name);
	struct collapsed *cs;
	struct out_file of;
	struct dhat_err err;
	int ret;

	if (!f)
		return 1;
	ret = out_file_open(&of, out);
	if (ret) {
		fprintf(stderr, "dhtrace: cannot write %s: %s\n", out,
			strerror(-ret));
		goto out_close;
	}
	ret = out_collapsed_read(&cs, f, name, stat, all_frames, &err);
	if (ret) {
		fprintf(stderr, "dhtrace: %s\n", err.msg);
		out_file_abort(&of);
		goto out_close;
	}
	ret = out_collapsed_write(cs, of.f);
	out_collapsed_free(cs);
	if (ret)
		out_file_abort(&of);
	else
		ret = out_file_commit(&of);
	if (ret)
		fprintf(stderr, "dhtrace: cannot write %s: %s\n", out,
			strerror(-ret));
out_close:
	close_input(f);
	return ret ? 1 : 0;
}

int cmd_convert(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "value", required_argument, NULL, 'V' },
		{ "all-frames", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum format fmt = FMT_NONE;
	const char *value = NULL;
	bool all_frames = false;
	int c, stat = DHAT_TB;

	while ((c = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = format_of_name(optarg);
			if (fmt == FMT_NONE) {
				fprintf(stderr, "dhtrace: invalid --format '%s' (collapsed or pprof)\n",
					optarg);
				return 2;
			}
			break;
		case 'V':
			value = optarg;
			stat = dhat_stat_parse(optarg);
			if (stat < 0) {
				fprintf(stderr, "dhtrace: invalid --value '%s' (tb, tbk, tl, mb, mbk, gb, gbk, eb or ebk)\n",
					optarg);
				return 2;
			}
			break;
		case 'A':
			all_frames = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr, "dhtrace: see dhtrace convert --help\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "dhtrace: convert takes an input and an output file (see dhtrace convert --help)\n");
		return 2;
	}
	if (fmt == FMT_NONE)
		fmt = format_of_path(argv[optind + 1]);

	switch (fmt) {
	case FMT_COLLAPSED:
		return convert_collapsed(argv[optind], argv[optind + 1], stat,
					 all_frames);
	case FMT_PPROF:
		if (value) {
			fprintf(stderr, "dhtrace: --value goes with --format collapsed (pprof has every value)\n");
			return 2;
		}
		return convert_pprof(argv[optind], argv[optind + 1], all_frames);
	case FMT_NONE:
		break;
	}
	fprintf(stderr, "dhtrace: cannot tell the format of '%s' from its name: give --format\n",
		argv[optind + 1]);
	return 2;
}
