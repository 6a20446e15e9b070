// SPDX-License-Identifier: GPL-2.0
/* dhtrace: command line. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/commands.h"
#include "record/record.h"
#include "trace/trace.h"
#include "dhtrace.h"

#define DEFAULT_FRAMES 12
#define DEFAULT_MAX_PROCS 4096
#define MAX_PIDS 256
#define DEFAULT_RINGBUF (64ULL << 20)

static const char usage[] =
"Usage: dhtrace [OPTIONS] -- COMMAND [ARGS...]   trace a command from its start\n"
"       dhtrace [OPTIONS] -p PID                 trace a running process\n"
"       dhtrace [OPTIONS] -a [FILTERS]           trace every process\n"
"       dhtrace convert|report|diff|baseline|view ...\n"
"                                                read saved profiles (no root;\n"
"                                                see dhtrace COMMAND --help)\n"
"       dhtrace probes PROGRAM                   where its probes would go\n"
"\n"
"Records every heap allocation of the process with its call stack and writes\n"
"the numbers valgrind's DHAT computes to a dhat-heap.json that DHAT's viewer\n"
"(dh_view.html) opens, or to a pprof profile. Needs root.\n"
"\n"
"Options:\n"
"  -p, --pid PID[,PID..]  attach to running processes until they exit or\n"
"                         Ctrl-C (repeatable)\n"
"  -d, --duration TIME    stop after TIME (e.g. 30s, 500ms, 2m)\n"
"      --snapshot-every TIME\n"
"                         write every process's profile so far to its files\n"
"                         every TIME, as the end of the run would (SIGUSR1\n"
"                         to dhtrace writes one at any time)\n"
"      --interval TIME    a status line on stderr every TIME: events/s, live\n"
"                         and peak bytes, events lost (default 1s when stderr\n"
"                         is a terminal; 0 turns it off)\n"
"  -a, --all              every process on the machine that allocates, those\n"
"                         started later too (dhtrace's own excepted), until\n"
"                         Ctrl-C or -d; with filters, those that pass all:\n"
"      --comm NAME          the process's name is NAME (repeatable)\n"
"      --uid UID            its real user id is UID\n"
"      --cgroup DIR         it is in cgroup v2 directory DIR, or below\n"
"      --no-follow        trace only the command or PIDs, not their children\n"
"      --max-procs N      processes traced in all; later ones are counted,\n"
"                         not traced (a fork bomb guard; default %u)\n"
"  -o, --output FILE      where to write the profile; %%p is the pid\n"
"                         (default: dhat-heap.json, or dhat-heap.pb.gz)\n"
"  -f, --format FMT       dhat (DHAT JSON), pprof (gzipped profile.proto), or\n"
"                         dhat,pprof (both, FILE.json and FILE.pb.gz); by\n"
"                         default pprof when FILE ends in .pb.gz, else dhat\n"
"      --all-frames       pprof: keep the allocators and the start-up below\n"
"                         main in the stacks (the JSON has every frame)\n"
"      --max-frames N     frames per call stack, allocator included, as\n"
"                         valgrind's --num-callers (default 12, max %d)\n"
"      --ringbuf-size N   kernel-to-user event buffer, bytes, K/M/G suffixes\n"
"                         (default 64M); raise it if events are reported lost\n"
"      --unwind MODE      how stacks are unwound: auto (the objects' CFI,\n"
"                         frame pointers where there is none; the default),\n"
"                         fp (frame pointers only), dwarf (CFI only)\n"
"      --fail-if EXPR     exit 1 if EXPR holds for a process traced, after\n"
"                         writing its profile: 'peak>50MiB', 'end>0'; the\n"
"                         expressions of report --fail-if (repeatable)\n"
"      --allocator NAME   probe one allocator only: rust (the Rust allocator\n"
"                         shim), malloc (the C and C++ names as the dynamic\n"
"                         linker binds them), jemalloc, tcmalloc, mimalloc, or\n"
"                         a symbol prefix (je_, my_); default: every layer\n"
"      --sample-bytes N   sample a block in every N bytes allocated on\n"
"                         average (K/M/G suffixes; Poisson, as jemalloc's\n"
"                         and Go's heap profiles): the numbers are unbiased\n"
"                         estimates, at a fraction of the cost; default:\n"
"                         every block, exact\n"
"      --empty-probes     attach probes that record nothing: the cost floor\n"
"                         that `make bench` compares with\n"
"  -h, --help             show this help\n"
"\n"
"dhtrace COMMAND --help describes a command.\n";

/* Commands that read saved profiles: `dhtrace NAME ...`. */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "convert", cmd_convert },
	{ "report", cmd_report },
	{ "diff", cmd_diff },
	{ "baseline", cmd_baseline },
	{ "view", cmd_view },
	{ "probes", cmd_probes },
};

/* "30s", "500ms", "2m", "1h", or plain seconds. Returns 0 on error. */
static uint64_t parse_duration(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v <= 0)
		return 0;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		return v * 1e9;
	if (!strcmp(end, "ms"))
		return v * 1e6;
	if (!strcmp(end, "m"))
		return v * 60e9;
	if (!strcmp(end, "h"))
		return v * 3600e9;
	return 0;
}

/* "64M" and the like. Returns 0 on error. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	switch (toupper((unsigned char)*end)) {
	case 'G':
		v <<= 10;
		/* fallthrough */
	case 'M':
		v <<= 10;
		/* fallthrough */
	case 'K':
		v <<= 10;
		end++;
		break;
	}
	return *end ? 0 : v;
}

static int parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

enum {
	FORMAT_DHAT = 1,
	FORMAT_PPROF = 2,
};

#define DEFAULT_STEM "dhat-heap"
#define DHAT_EXT ".json"
#define PPROF_EXT ".pb.gz"

/* "dhat", "pprof", "dhat,pprof": a mask of formats, 0 on error. */
static unsigned int parse_formats(const char *s)
{
	unsigned int mask = 0;
	size_t len;

	for (;; s += len + 1) {
		len = strcspn(s, ",");
		if (len == 4 && !strncmp(s, "dhat", 4))
			mask |= FORMAT_DHAT;
		else if (len == 5 && !strncmp(s, "pprof", 5))
			mask |= FORMAT_PPROF;
		else
			return 0;
		if (!s[len])
			return mask;
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/*
 * The files -o and --format name (README, "Output files"): one format
 * writes -o as given; both write STEM.json and STEM.pb.gz, STEM being -o
 * less either extension. Without --format, -o's extension chooses.
 */
static int output_names(const char *output, unsigned int formats,
			struct record_opts *o)
{
	char *stem;
	size_t len;
	int err = 0;

	if (!formats)
		formats = output && ends_with(output, PPROF_EXT) ?
			  FORMAT_PPROF : FORMAT_DHAT;
	if (formats == FORMAT_DHAT) {
		o->dhat_output = strdup(output ? output : DEFAULT_STEM DHAT_EXT);
		return o->dhat_output ? 0 : -ENOMEM;
	}
	if (formats == FORMAT_PPROF) {
		o->pprof_output = strdup(output ? output : DEFAULT_STEM PPROF_EXT);
		return o->pprof_output ? 0 : -ENOMEM;
	}
	stem = strdup(output ? output : DEFAULT_STEM);
	if (!stem)
		return -ENOMEM;
	len = strlen(stem);
	if (ends_with(stem, DHAT_EXT))
		stem[len - strlen(DHAT_EXT)] = '\0';
	else if (ends_with(stem, PPROF_EXT))
		stem[len - strlen(PPROF_EXT)] = '\0';
	if (asprintf(&o->dhat_output, "%s" DHAT_EXT, stem) < 0 ||
	    asprintf(&o->pprof_output, "%s" PPROF_EXT, stem) < 0)
		err = -ENOMEM;
	free(stem);
	return err;
}

static int bad_arg(const char *opt, const char *value)
{
	fprintf(stderr, "dhtrace: invalid %s '%s' (see dhtrace --help)\n", opt,
		value);
	return 2;
}

/* Following a process takes a perf event per thread and CPU: allow as
 * many open files as the hard limit does. (Not for a command, which
 * would inherit the raised limit.) */
static void raise_file_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "snapshot-every", required_argument, NULL, 'S' },
		{ "interval", required_argument, NULL, 'T' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "max-frames", required_argument, NULL, 'F' },
		{ "ringbuf-size", required_argument, NULL, 'R' },
		{ "empty-probes", no_argument, NULL, 'E' },
		{ "sample-bytes", required_argument, NULL, 'B' },
		{ "unwind", required_argument, NULL, 'U' },
		{ "no-follow", no_argument, NULL, 'N' },
		{ "all", no_argument, NULL, 'a' },
		{ "comm", required_argument, NULL, 'C' },
		{ "uid", required_argument, NULL, 'I' },
		{ "cgroup", required_argument, NULL, 'G' },
		{ "max-procs", required_argument, NULL, 'M' },
		{ "allocator", required_argument, NULL, 'L' },
		{ "fail-if", required_argument, NULL, 'X' },
		{ "all-frames", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct record_opts o = {
		.max_frames = DEFAULT_FRAMES,
		.ringbuf_bytes = DEFAULT_RINGBUF,
		.unwind_cfi = true,
		.unwind_fp = true,
		.follow = true,
		.max_procs = DEFAULT_MAX_PROCS,
		.uid = -1,
		.interval_ns = isatty(STDERR_FILENO) ? 1000000000ULL : 0,
	};
	static struct record_gates gates;
	pid_t pids[MAX_PIDS];
	char *comms[MAX_PIDS];
	const char *output = NULL;
	unsigned int formats = 0;
	size_t i;
	long v;
	int c, status;

	for (i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	}
	while ((c = getopt_long(argc, argv, "+p:d:o:f:ah", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			for (char *tok = strtok(optarg, ","); tok;
			     tok = strtok(NULL, ",")) {
				if (parse_int(tok, 1, 0x7fffffff, &v))
					return bad_arg("PID", tok);
				if (o.npids == MAX_PIDS)
					return bad_arg("-p (too many PIDs)", tok);
				pids[o.npids++] = v;
			}
			o.pids = pids;
			break;
		case 'N':
			o.follow = false;
			break;
		case 'a':
			o.all = true;
			break;
		case 'C':
			if (!*optarg || strlen(optarg) > 15)
				return bad_arg("--comm (a process name, at most 15 bytes)",
					       optarg);
			if (o.ncomms == MAX_PIDS)
				return bad_arg("--comm (too many)", optarg);
			comms[o.ncomms++] = optarg;
			o.comms = comms;
			break;
		case 'I':
			if (parse_int(optarg, 0, 0x7fffffff, &v))
				return bad_arg("--uid", optarg);
			o.uid = v;
			break;
		case 'G':
			o.cgroup = optarg;
			break;
		case 'M':
			if (parse_int(optarg, 1, 0x7fffffff, &v))
				return bad_arg("--max-procs", optarg);
			o.max_procs = v;
			break;
		case 'X':
			if (record_gates_add(&gates, optarg))
				return 2;
			break;
		case 'L':
			if (!alloc_choice_valid(optarg))
				return bad_arg("--allocator", optarg);
			o.allocator = optarg;
			break;
		case 'd':
			o.duration_ns = parse_duration(optarg);
			if (!o.duration_ns)
				return bad_arg("duration", optarg);
			break;
		case 'S':
			o.snapshot_ns = parse_duration(optarg);
			if (!o.snapshot_ns)
				return bad_arg("--snapshot-every", optarg);
			break;
		case 'T':
			o.interval_ns = strcmp(optarg, "0") ? parse_duration(optarg) : 0;
			if (!o.interval_ns && strcmp(optarg, "0"))
				return bad_arg("--interval", optarg);
			break;
		case 'o':
			if (!*optarg)
				return bad_arg("output file", optarg);
			output = optarg;
			break;
		case 'f':
			formats = parse_formats(optarg);
			if (!formats)
				return bad_arg("--format (dhat, pprof or dhat,pprof)",
					       optarg);
			break;
		case 'F':
			if (parse_int(optarg, 2, DH_MAX_FRAMES, &v))
				return bad_arg("--max-frames", optarg);
			o.max_frames = v;
			break;
		case 'R':
			o.ringbuf_bytes = parse_size(optarg);
			/* The kernel wants a power of two, at least a page. */
			if (o.ringbuf_bytes < 4096 ||
			    (o.ringbuf_bytes & (o.ringbuf_bytes - 1)))
				return bad_arg("--ringbuf-size (a power of two, at least 4K)",
					       optarg);
			break;
		case 'E':
			o.empty_probes = true;
			break;
		case 'B':
			o.sample_bytes = parse_size(optarg);
			if (!o.sample_bytes || o.sample_bytes > 1ULL << 40)
				return bad_arg("--sample-bytes (1 to 1T)", optarg);
			break;
		case 'A':
			o.all_frames = true;
			break;
		case 'U':
			if (!strcmp(optarg, "auto"))
				o.unwind_cfi = o.unwind_fp = true;
			else if (!strcmp(optarg, "fp"))
				o.unwind_cfi = false, o.unwind_fp = true;
			else if (!strcmp(optarg, "dwarf"))
				o.unwind_cfi = true, o.unwind_fp = false;
			else
				return bad_arg("--unwind (auto, fp or dwarf)", optarg);
			break;
		case 'h':
			printf(usage, DEFAULT_MAX_PROCS, DH_MAX_FRAMES);
			return 0;
		default:
			fprintf(stderr, "dhtrace: see dhtrace --help\n");
			return 2;
		}
	}
	if (optind < argc)
		o.argv = argv + optind;
	if ((o.argv != NULL) + (o.npids > 0) + o.all != 1) {
		fprintf(stderr, "dhtrace: give one of a command, -p PID or -a (see dhtrace --help)\n");
		return 2;
	}
	if (!o.all && (o.ncomms || o.uid >= 0 || o.cgroup)) {
		fprintf(stderr, "dhtrace: --comm, --uid and --cgroup go with -a\n");
		return 2;
	}
	if (o.snapshot_ns && output && !strcmp(output, "-")) {
		fprintf(stderr, "dhtrace: --snapshot-every writes files, not standard output\n");
		return 2;
	}
	if (output_names(output, formats, &o)) {
		fprintf(stderr, "dhtrace: out of memory\n");
		return 1;
	}
	if (o.npids || o.all)
		raise_file_limit();
	if (gates.n) {
		o.on_done = record_gates_check;
		o.done_ctx = &gates;
	}
	status = record(&o);
	if (gates.failed)
		status = 1;
	free(o.dhat_output);
	free(o.pprof_output);
	return status;
}
