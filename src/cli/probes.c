// SPDX-License-Identifier: GPL-2.0
/*
 * dhtrace probes [--allocator NAME] PROGRAM: where a recording of PROGRAM
 * would put its probes, and which the kernel would single-step. Reads the
 * program's objects only; needs no root.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "trace/trace.h"

extern char **environ;

static const char probes_usage[] =
"Usage: dhtrace probes [--allocator NAME] PROGRAM\n"
"\n"
"Lists the allocator functions a recording of PROGRAM (run with this\n"
"environment: LD_PRELOAD counts) would probe, one per line, tab-separated:\n"
"object, function, file offset of its start, bytes into it where the\n"
"probes go, and how the kernel takes them: emulated (cheap), single-\n"
"stepped (about 10 times the cost), or wrapper (not probed: it always\n"
"calls a function probed below it). Then \"nests\" where the function may\n"
"call another probed allocation function (a sampled run keeps its return\n"
"probe), and the registers the first arguments are read from, where a\n"
"probe past the start finds one moved.\n";

static const char *const reg_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static void print_site(const struct alloc_site *s)
{
	static const uint8_t abi[DH_ARGS] = { 7, 6, 2, 1 };
	bool moved = false;

	printf("%s\t%s\t0x%llx\t+%llu\t%s", s->path, s->name,
	       (unsigned long long)s->func_offset,
	       (unsigned long long)(s->place.offset - s->func_offset),
	       s->unprobed ? "wrapper" :
	       s->place.stepped ? "single-stepped" : "emulated");
	if (s->nests)
		fputs("\tnests", stdout);
	for (unsigned int a = 0; a < s->place.nargs; a++)
		moved |= s->place.arg_reg[a] != abi[a];
	for (unsigned int a = 0; moved && a < s->place.nargs; a++)
		printf("%s%s", a ? "," : "\targs ", reg_names[s->place.arg_reg[a]]);
	putchar('\n');
}

int cmd_probes(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "allocator", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *choice = NULL;
	struct alloc_sites sites;
	char **objs = NULL;
	size_t n = 0;
	int c, err;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'A':
			if (!alloc_choice_valid(optarg)) {
				fprintf(stderr, "dhtrace: bad --allocator '%s'\n",
					optarg);
				return 2;
			}
			choice = optarg;
			break;
		case 'h':
			fputs(probes_usage, stdout);
			return 0;
		default:
			fputs(probes_usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(probes_usage, stderr);
		return 2;
	}
	err = objects_of_command(argv[optind], environ, &objs, &n);
	if (err) {
		fprintf(stderr, "dhtrace: cannot read '%s': %s\n", argv[optind],
			strerror(-err));
		return 1;
	}
	err = alloc_sites_find(&sites, objs, n, choice);
	objects_free(objs, n);
	if (err) {
		fprintf(stderr, "dhtrace: no allocator found in '%s'%s\n",
			argv[optind], err == -ENOENT ? "" : ": cannot read it");
		return 1;
	}
	for (size_t i = 0; i < sites.n; i++)
		print_site(&sites.v[i]);
	alloc_sites_free(&sites);
	return fflush(stdout) ? 1 : 0;
}
