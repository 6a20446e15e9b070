// SPDX-License-Identifier: GPL-2.0
/*
 * The commands that read saved profiles (no root needed): report, diff,
 * baseline, and their --fail-if gates.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <regex.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "cli/commands.h"
#include "out/out.h"

#define DEFAULT_LIMIT 10
/* Frames shown per site: default, -v, -vv (0: all). */
static const size_t verbose_frames[] = { 3, 8, 0 };

extern char **environ;

static const char report_usage[] =
"Usage: dhtrace report [OPTIONS] FILE\n"
"\n"
"Summary and top call sites of a DHAT JSON file (dhtrace's, valgrind's,\n"
"dhat-rs's) or of a pprof profile (dhtrace's --format pprof), each shown\n"
"from its first frame of the program's own code.\n"
"\n"
"Options:\n"
"  -n, --limit N        call sites shown (default 10, 0 = all); --top N too\n"
"  -s, --sort KEY       total (bytes, the default), blocks, peak (bytes at\n"
"                       t-gmax), end (bytes at t-end), short-lived (blocks\n"
"                       of sites whose average lifetime is at most tuth),\n"
"                       lifetime (average lifetime, longest first)\n"
"      --by WHAT        site (default), function, file or object: sum the\n"
"                       sites by their first frame shown\n"
"      --min-count N    only rows with at least N blocks\n"
"      --min-bytes N    only rows with at least N bytes (units as --fail-if)\n"
"      --match REGEX    only sites with a frame shown whose function matches\n"
"                       (POSIX extended regular expression)\n"
"      --leaks          only sites live at t-end, by bytes, whole stacks\n"
"  -v                   more frames per site; -vv all of them\n"
"      --all-frames     keep the allocators, the libraries' allocation\n"
"                       internals and the start-up below main\n"
"      --json           machine-readable output (see README.md)\n"
"      --fail-if EXPR   exit 1 if EXPR holds, e.g. 'peak>50MiB' (repeatable)\n"
"  -h, --help           show this help\n";

static const char diff_usage[] =
"Usage: dhtrace diff [OPTIONS] BASE NEW\n"
"\n"
"Change in total, peak (t-gmax) and end (t-end) bytes and blocks, in all\n"
"and per call site (matched on the frames shown, without addresses, as\n"
"dhtrace report shows them). BASE and NEW are\n"
"DHAT JSON files, pprof profiles or baselines written by `dhtrace baseline`.\n"
"\n"
"Options:\n"
"  -n, --limit N        call sites shown (default 10, 0 = all); --top N too\n"
"  -s, --sort KEY       by the largest change of total (default), blocks,\n"
"                       peak or end\n"
"  -v                   more frames per site; -vv all of them\n"
"      --all-frames     match and show sites on all their frames\n"
"      --json           machine-readable output (see README.md)\n"
"      --fail-if EXPR   exit 1 if EXPR holds, e.g. 'peak>+5%%',\n"
"                       'total_blocks>+1000', 'end>0' (repeatable)\n"
"  -h, --help           show this help\n";

static const char baseline_usage[] =
"Usage: dhtrace baseline [-o OUT] FILE\n"
"\n"
"Writes the totals of a DHAT JSON file or pprof profile (total, peak,\n"
"end; bytes and blocks), its command, the time and the git commit of the\n"
"current directory to a small JSON file that `dhtrace diff` takes as BASE.\n"
"\n"
"  -o, --output OUT     default memory-baseline.json\n"
"  -h, --help           show this help\n";

enum { OPT_BY = 256, OPT_MIN_COUNT, OPT_MIN_BYTES, OPT_MATCH, OPT_LEAKS,
       OPT_JSON, OPT_FAIL_IF, OPT_ALL_FRAMES };

static int usage_error(const char *fmt, const char *arg)
{
	fputs("dhtrace: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 2;
}

static int bad_value(const char *opt, const char *value)
{
	fprintf(stderr, "dhtrace: invalid %s '%s' (see --help)\n", opt, value);
	return 2;
}

/* The bad value of the option getopt_long() just returned, named as it
 * was given: "-s x", "--sort x" or "--sort=x". */
static int bad_option(char **argv)
{
	const char *opt = argv[optind - 1];

	if (opt == optarg)
		opt = argv[optind - 2];
	fprintf(stderr, "dhtrace: invalid %.*s '%s' (see --help)\n",
		(int)strcspn(opt, "="), opt, optarg);
	return 2;
}

/* A count: digits with an optional unit as in --fail-if ("10k", "1MiB"). */
static int parse_count(const char *s, uint64_t *out)
{
	char expr[80];
	struct an_gate g;
	struct dhat_err err = { { 0 } };

	if (strlen(s) > 64 || !(*s >= '0' && *s <= '9'))
		return -EINVAL;
	snprintf(expr, sizeof(expr), "total>%s", s);
	if (an_gate_parse(expr, &g, &err) || g.value >= 18446744073709551616.0)
		return -EINVAL;
	*out = (uint64_t)g.value;
	return 0;
}

static bool use_colour(void)
{
	const char *no = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(no && *no);
}

/* Options common to report and diff. */
struct common {
	struct an_gate *gates;
	size_t ngates;
	int verbose;
	bool json;
	bool all_frames;
};

/* Evaluates the gates; prints one line per failed one. Returns 1 if any
 * failed, else 0. */
static int run_gates(const struct common *c, const struct an_summary *base,
		     const struct an_summary *new)
{
	int ret = 0;

	for (size_t i = 0; i < c->ngates; i++) {
		struct an_gate_result res;
		char why[256];

		an_gate_eval(&c->gates[i], base, new, &res);
		if (res.failed) {
			fprintf(stderr, "dhtrace: gate failed: %s\n",
				out_gate_reason(&c->gates[i], &res, why,
						sizeof(why)));
			ret = 1;
		}
	}
	return ret;
}

static int add_gate(struct common *c, const char *text)
{
	struct dhat_err err;

	if (an_gate_parse(text, &c->gates[c->ngates], &err))
		return usage_error("%s", err.msg);
	c->ngates++;
	return 0;
}

/*
 * The options report and diff share (--json, --fail-if, -v, --all-frames).
 * Returns -1
 * when @ch is not one of them, 0 to go on, or the exit status to stop
 * with.
 */
static int common_option(struct common *c, int ch, const char *arg)
{
	switch (ch) {
	case OPT_JSON:
		c->json = true;
		return 0;
	case OPT_FAIL_IF:
		return add_gate(c, arg);
	case 'v':
		c->verbose++;
		return 0;
	case OPT_ALL_FRAMES:
		c->all_frames = true;
		return 0;
	default:
		return -1;
	}
}

static struct out_style style(const struct common *c)
{
	struct out_style st = {
		.colour = use_colour(),
		.frames = verbose_frames[c->verbose > 2 ? 2 : c->verbose],
	};

	return st;
}

static int write_failed(int err)
{
	fprintf(stderr, "dhtrace: cannot write the output: %s\n",
		strerror(-err));
	return 1;
}

static int report_file(const char *path, const struct an_opts *o,
		       const struct common *c)
{
	struct dhat_file df;
	struct dhat_err err;
	struct an_report r;
	struct out_recorded how;
	struct out_style st = style(c);
	int ret;

	ret = profile_load_path(path, &df, &err);
	if (ret) {
		fprintf(stderr, "dhtrace: %s\n", err.msg);
		return 1;
	}
	if (out_recorded_read(&df.meta, &how, err.msg, sizeof(err.msg))) {
		fprintf(stderr, "dhtrace: %s: %s\n", path, err.msg);
		dhat_file_free(&df);
		return 1;
	}
	ret = an_report_compute(&df, o, &r);
	if (ret) {
		dhat_file_free(&df);
		return write_failed(ret);
	}
	ret = c->json ? out_report_json_fprint(&r, &df, o, stdout) :
			out_report_fprint(&r, &df, &how, o, &st, stdout);
	ret = ret ? write_failed(ret) : run_gates(c, NULL, &r.summary);
	an_report_free(&r);
	dhat_file_free(&df);
	return ret;
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "limit", required_argument, NULL, 'n' },
		{ "top", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "by", required_argument, NULL, OPT_BY },
		{ "min-count", required_argument, NULL, OPT_MIN_COUNT },
		{ "min-bytes", required_argument, NULL, OPT_MIN_BYTES },
		{ "match", required_argument, NULL, OPT_MATCH },
		{ "leaks", no_argument, NULL, OPT_LEAKS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "fail-if", required_argument, NULL, OPT_FAIL_IF },
		{ "all-frames", no_argument, NULL, OPT_ALL_FRAMES },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct an_opts o = { .limit = DEFAULT_LIMIT };
	struct common c = { .gates = calloc(argc, sizeof(*c.gates)) };
	const char *match = NULL;
	regex_t re;
	uint64_t v;
	int ch, ret = 2;

	if (!c.gates)
		return write_failed(-ENOMEM);
	while ((ch = getopt_long(argc, argv, "n:s:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_count(optarg, &v) || v > SIZE_MAX)
				goto bad;
			o.limit = v;
			break;
		case 's':
			if ((ret = an_sort_parse(optarg)) < 0)
				goto bad;
			o.sort = ret;
			break;
		case OPT_BY:
			if ((ret = an_group_parse(optarg)) < 0)
				goto bad;
			o.by = ret;
			break;
		case OPT_MIN_COUNT:
			if (parse_count(optarg, &o.min_blocks))
				goto bad;
			break;
		case OPT_MIN_BYTES:
			if (parse_count(optarg, &o.min_bytes))
				goto bad;
			break;
		case OPT_MATCH:
			match = optarg;
			break;
		case OPT_LEAKS:
			o.leaks = true;
			break;
		case 'h':
			fputs(report_usage, stdout);
			ret = 0;
			goto out;
		default:
			ret = common_option(&c, ch, optarg);
			if (ret < 0)
				ret = usage_error("%s", "see dhtrace report --help");
			if (ret)
				goto out;
		}
	}
	ret = 2;
	for (size_t i = 0; i < c.ngates; i++)
		if (c.gates[i].relative) {
			ret = usage_error("--fail-if '%s': " AN_GATE_NEEDS_BASE,
					  c.gates[i].text);
			goto out;
		}
	if (optind != argc - 1) {
		ret = usage_error("%s", "report takes one FILE (see dhtrace report --help)");
		goto out;
	}
	if (match) {
		if (regcomp(&re, match, REG_EXTENDED | REG_NOSUB)) {
			ret = bad_value("--match regular expression", match);
			goto out;
		}
		o.match = &re;
	}
	o.all_frames = c.all_frames;
	ret = report_file(argv[optind], &o, &c);
	if (match)
		regfree(&re);
	goto out;
bad:
	ret = bad_option(argv);
out:
	free(c.gates);
	return ret;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "limit", required_argument, NULL, 'n' },
		{ "top", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "fail-if", required_argument, NULL, OPT_FAIL_IF },
		{ "all-frames", no_argument, NULL, OPT_ALL_FRAMES },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct common c = { .gates = calloc(argc, sizeof(*c.gates)) };
	struct an_input base, new;
	struct out_style st;
	struct dhat_err err;
	struct an_diff d;
	enum an_sort sort = AN_SORT_TOTAL;
	size_t limit = DEFAULT_LIMIT;
	uint64_t v;
	int ch, ret = 2;

	if (!c.gates)
		return write_failed(-ENOMEM);
	while ((ch = getopt_long(argc, argv, "n:s:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_count(optarg, &v) || v > SIZE_MAX)
				goto bad;
			limit = v;
			break;
		case 's':
			ret = an_sort_parse(optarg);
			if (ret != AN_SORT_TOTAL && ret != AN_SORT_BLOCKS &&
			    ret != AN_SORT_PEAK && ret != AN_SORT_END)
				goto bad;
			sort = ret;
			break;
		case 'h':
			fputs(diff_usage, stdout);
			ret = 0;
			goto out;
		default:
			ret = common_option(&c, ch, optarg);
			if (ret < 0)
				ret = usage_error("%s", "see dhtrace diff --help");
			if (ret)
				goto out;
		}
	}
	if (optind != argc - 2) {
		ret = usage_error("%s", "diff takes BASE and NEW (see dhtrace diff --help)");
		goto out;
	}
	ret = 1;
	if (an_input_load(argv[optind], &base, &err)) {
		fprintf(stderr, "dhtrace: %s\n", err.msg);
		goto out;
	}
	if (an_input_load(argv[optind + 1], &new, &err)) {
		fprintf(stderr, "dhtrace: %s\n", err.msg);
		an_input_free(&base);
		goto out;
	}
	st = style(&c);
	ret = an_diff_compute(&base, &new, sort, limit, c.all_frames, &d);
	if (!ret) {
		ret = c.json ? out_diff_json_fprint(&d, argv[optind],
						    argv[optind + 1], stdout) :
			       out_diff_fprint(&d, argv[optind], argv[optind + 1],
					       &st, stdout);
		ret = ret ? write_failed(ret) :
			    run_gates(&c, &base.summary, &new.summary);
		an_diff_free(&d);
	} else {
		ret = write_failed(ret);
	}
	an_input_free(&new);
	an_input_free(&base);
	goto out;
bad:
	ret = bad_option(argv);
out:
	free(c.gates);
	return ret;
}

/* The commit checked out in the current directory, NULL when it is not in
 * a git repository (or git is missing): `git rev-parse HEAD`, no shell. */
static char *git_commit(void)
{
	char *const args[] = { "git", "rev-parse", "--verify", "-q", "HEAD",
			       NULL };
	posix_spawn_file_actions_t fa;
	char buf[128];
	size_t n = 0;
	ssize_t got;
	int pipefd[2], status;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
					 O_WRONLY, 0);
	if (posix_spawnp(&pid, "git", &fa, NULL, args, environ))
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while (pid > 0 && n < sizeof(buf) - 1 &&
	       ((got = read(pipefd[0], buf + n, sizeof(buf) - 1 - n)) > 0 ||
		(got < 0 && errno == EINTR)))
		n += got > 0 ? (size_t)got : 0;
	close(pipefd[0]);
	if (pid <= 0)
		return NULL;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) || !*buf ||
	    buf[strspn(buf, "0123456789abcdef")])
		return NULL;
	return strdup(buf);
}

static char *utc_now(void)
{
	char buf[32];
	time_t t = time(NULL);
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return NULL;
	return strdup(buf);
}

int cmd_baseline(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *output = "memory-baseline.json";
	struct dhat_file df;
	struct dhat_err err;
	struct an_summary s;
	int ch, ret;

	while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (!*optarg)
				return bad_value("-o", optarg);
			output = optarg;
			break;
		case 'h':
			fputs(baseline_usage, stdout);
			return 0;
		default:
			return usage_error("%s", "see dhtrace baseline --help");
		}
	}
	if (optind != argc - 1)
		return usage_error("%s", "baseline takes one FILE (see dhtrace baseline --help)");
	if (profile_load_path(argv[optind], &df, &err)) {
		fprintf(stderr, "dhtrace: %s\n", err.msg);
		return 1;
	}
	an_summary_of(&df, &s);
	dhat_file_free(&df);
	s.time = utc_now();
	s.git_commit = git_commit();
	ret = out_baseline_write(&s, output);
	an_summary_free(&s);
	if (ret) {
		fprintf(stderr, "dhtrace: cannot write %s: %s\n", output,
			strerror(-ret));
		return 1;
	}
	return 0;
}
