// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of src/out: the exact DHAT JSON text, the atomic file write
 * and its failures, the summary lines.
 *
 * "test_out --write FILE" also writes the sample profile to FILE, for the
 * viewer check (tests/viewer/dh_view_check.js).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "out/out.h"
#include "unit.h"

/* Child exit status meaning "cannot run this test here". */
#define EXIT_SKIP 200

/* The sample: two PPs, escapes in cmd and frames ("\xff" is not UTF-8). */
static const char *const sample_ftbl[] = {
	"[root]",
	"0x48417B4: malloc (in /lib/libc.so.6)",
	"0x1000: say \"hi\" \\ (a.c:3)",
	"0x2000: ctl\x01\x1f" "\xff" "bad (b.c:4)",
	"0x3000: main (\xc2\xb5s.c:9)",
};
static const uint32_t sample_fs0[] = { 1, 2, 4 };
static const uint32_t sample_fs1[] = { 1, 3, 4 };
static const struct profile_pp sample_pps[] = {
	{
		.stats = { .tb = 1000, .tbk = 4, .tl_ns = 2500999,
			   .mb = 600, .mbk = 2, .gb = 600, .gbk = 2,
			   .eb = 100, .ebk = 1 },
		.frames = sample_fs0, .nframes = 3,
	},
	{
		.stats = { .tb = 256, .tbk = 2, .tl_ns = 999,
			   .mb = 256, .mbk = 2, .gb = 256, .gbk = 2 },
		.frames = sample_fs1, .nframes = 3,
	},
};
static const struct profile sample = {
	.cmd = "./prog \"a b\" c:\\d\t\x01" "\xff" " 10\xc2\xb5s",
	.pid = 4242,
	.totals = {
		.total_bytes = 1256, .total_blocks = 6,
		.gmax_bytes = 856, .gmax_blocks = 4,
		.end_bytes = 100, .end_blocks = 1,
		.tgmax_ns = 1500000, .tend_ns = 3000999,
	},
	.pps = sample_pps, .npps = 2,
	.ftbl = sample_ftbl, .nftbl = 5,
};

static const char sample_json[] =
	"{\"dhatFileVersion\":2\n"
	",\"mode\":\"heap\",\"verb\":\"Allocated\"\n"
	",\"bklt\":true,\"bkacc\":false\n"
	",\"tu\":\"\xc2\xb5" "s\",\"Mtu\":\"s\"\n"
	",\"tuth\":10\n"
	",\"cmd\":\"./prog \\\"a b\\\" c:\\\\d\\u0009\\u0001\xef\xbf\xbd"
	" 10\xc2\xb5s\"\n"
	",\"pid\":4242\n"
	",\"te\":3000\n"
	",\"tg\":1500\n"
	",\"pps\":\n"
	"[{\"tb\":1000,\"tbk\":4,\"tl\":2500,\"mb\":600,\"mbk\":2,"
	"\"gb\":600,\"gbk\":2,\"eb\":100,\"ebk\":1,\"fs\":[1,2,4]}\n"
	",{\"tb\":256,\"tbk\":2,\"tl\":0,\"mb\":256,\"mbk\":2,"
	"\"gb\":256,\"gbk\":2,\"eb\":0,\"ebk\":0,\"fs\":[1,3,4]}\n"
	"]\n"
	",\"ftbl\":\n"
	"[\"[root]\"\n"
	",\"0x48417B4: malloc (in /lib/libc.so.6)\"\n"
	",\"0x1000: say \\\"hi\\\" \\\\ (a.c:3)\"\n"
	",\"0x2000: ctl\\u0001\\u001f\xef\xbf\xbd" "bad (b.c:4)\"\n"
	",\"0x3000: main (\xc2\xb5s.c:9)\"\n"
	"]\n"
	"}\n";

static const char *const root_ftbl[] = { "[root]" };

/* The JSON text of @p, malloc()ed; *@err gets what fprint returned. */
static char *json_of(const struct profile *p, int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		*err = -errno;
		return NULL;
	}
	*err = out_dhat_json_fprint(p, f);
	fclose(f);
	return buf;
}

/* The "cmd" value written for @cmd. */
static char *cmd_json(const char *cmd)
{
	struct profile p = { .cmd = cmd, .ftbl = root_ftbl, .nftbl = 1 };
	char *json, *start, *end;
	int err;

	json = json_of(&p, &err);
	if (!json || err)
		return json;
	start = strstr(json, ",\"cmd\":");
	end = start ? strstr(start, "\n,\"pid\"") : NULL;
	if (!end)
		return json;
	*end = '\0';
	memmove(json, start + 7, end - start - 6);
	return json;
}

static void test_sample_json(void)
{
	int err;
	char *json = json_of(&sample, &err);

	CHECK_U64(err, 0);
	CHECK_STR(json, sample_json);
	free(json);
}

static void test_empty_profile(void)
{
	struct profile p = {
		.cmd = "x", .pid = 1, .ftbl = root_ftbl, .nftbl = 1,
	};
	int err;
	char *json = json_of(&p, &err);

	CHECK_U64(err, 0);
	CHECK_STR(json,
		  "{\"dhatFileVersion\":2\n"
		  ",\"mode\":\"heap\",\"verb\":\"Allocated\"\n"
		  ",\"bklt\":true,\"bkacc\":false\n"
		  ",\"tu\":\"\xc2\xb5" "s\",\"Mtu\":\"s\"\n"
		  ",\"tuth\":10\n"
		  ",\"cmd\":\"x\"\n"
		  ",\"pid\":1\n"
		  ",\"te\":1\n"
		  ",\"tg\":0\n"
		  ",\"pps\":\n"
		  "[]\n"
		  ",\"ftbl\":\n"
		  "[\"[root]\"\n"
		  "]\n"
		  "}\n");
	free(json);
}

/* te >= 1 (the viewer divides by it), tg <= te, both in whole µs. */
static void test_times(void)
{
	static const struct {
		uint64_t tgmax_ns, tend_ns;
		const char *want;
	} cases[] = {
		{ 0, 0, "\n,\"te\":1\n,\"tg\":0\n" },
		{ 999, 999, "\n,\"te\":1\n,\"tg\":0\n" },
		{ 1000, 0, "\n,\"te\":1\n,\"tg\":1\n" },
		{ 5000, 3000, "\n,\"te\":3\n,\"tg\":3\n" },
		{ 1999, 2000, "\n,\"te\":2\n,\"tg\":1\n" },
		{ UINT64_MAX, UINT64_MAX,
		  "\n,\"te\":18446744073709551\n,\"tg\":18446744073709551\n" },
	};
	struct profile p = { .cmd = "", .ftbl = root_ftbl, .nftbl = 1 };
	size_t i;
	int err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *json;

		p.totals.tgmax_ns = cases[i].tgmax_ns;
		p.totals.tend_ns = cases[i].tend_ns;
		json = json_of(&p, &err);
		CHECK_U64(err, 0);
		CHECK(json && strstr(json, cases[i].want));
		free(json);
	}
}

/* Invalid UTF-8 becomes one U+FFFD per maximal ill-formed subpart, as a
 * browser decodes it; valid text and DEL pass unchanged. */
static void test_utf8(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "a\xe2\x82x", "\"a\xef\xbf\xbdx\"" },
		{ "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xed\xa0\x80",
		  "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd"
				      "\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xf0\x9f\x98", "\"\xef\xbf\xbd\"" },
		{ "\xf0\x9f\x98\x80 \xe2\x82\xac \x7f",
		  "\"\xf0\x9f\x98\x80 \xe2\x82\xac \x7f\"" },
		{ "\n\x1f\"\\", "\"\\u000a\\u001f\\\"\\\\\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = cmd_json(cases[i].in);

		CHECK_STR(got, cases[i].want);
		free(got);
	}
}

static void test_thousands(void)
{
	char buf[32];

	CHECK_STR(out_thousands(0, buf), "0");
	CHECK_STR(out_thousands(999, buf), "999");
	CHECK_STR(out_thousands(1000, buf), "1,000");
	CHECK_STR(out_thousands(1234567, buf), "1,234,567");
	CHECK_STR(out_thousands(UINT64_MAX, buf),
		  "18,446,744,073,709,551,615");
	CHECK(out_thousands(42, buf) == buf);
}

/* What @fn printed for @arg, malloc()ed. */
#define CAPTURE(out, fn, arg) do {					\
	size_t len_;							\
	FILE *f_ = open_memstream(&(out), &len_);			\
	if (f_) {							\
		fn(arg, f_);						\
		fclose(f_);						\
	}								\
} while (0)

static void test_summary(void)
{
	struct heap_totals t = sample.totals;
	char *s = NULL;

	CAPTURE(s, out_summary_fprint, &t);
	CHECK_STR(s, "dhtrace: Total:     1,256 bytes in 6 blocks\n"
		     "dhtrace: At t-gmax: 856 bytes in 4 blocks\n"
		     "dhtrace: At t-end:  100 bytes in 1 blocks\n");
	free(s);

	s = NULL;
	t.total_bytes = 1234567;
	t.total_blocks = 1000;
	t.end_bytes = t.end_blocks = 0;
	CAPTURE(s, out_summary_fprint, &t);
	CHECK_STR(s, "dhtrace: Total:     1,234,567 bytes in 1,000 blocks\n"
		     "dhtrace: At t-gmax: 856 bytes in 4 blocks\n"
		     "dhtrace: At t-end:  0 bytes in 0 blocks\n");
	free(s);
}

static void test_summary_tracer(void)
{
	struct heap_totals t = { .failed_reallocs = 3 };
	char *s = NULL;

	CAPTURE(s, out_summary_fprint_tracer, &t);
	CHECK_STR(s, "");
	free(s);

	s = NULL;
	t.unknown_frees = 2;
	t.unknown_reallocs = 1001;
	CAPTURE(s, out_summary_fprint_tracer, &t);
	CHECK_STR(s, "dhtrace: frees of blocks allocated before tracing: "
		     "1,003\n");
	free(s);

	s = NULL;
	CAPTURE(s, out_summary_fprint_saved, "dhat-heap.json");
	CHECK_STR(s, "dhtrace: The data has been saved to dhat-heap.json, "
		     "and is viewable with /usr/libexec/valgrind/dh_view.html\n");
	free(s);
}

/* Entries in @dir other than "." and "..", or -1. */
static int count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static char *read_file(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	FILE *in = fopen(path, "r");

	if (in && out) {
		char chunk[4096];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
			fwrite(chunk, 1, n, out);
	}
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	return buf;
}

static char *make_test_dir(void)
{
	const char *tmpdir = getenv("TMPDIR");
	char *dir;

	if (asprintf(&dir, "%s/test_out.XXXXXX", tmpdir ? tmpdir : "/tmp") < 0)
		return NULL;
	if (!mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	return dir;
}

static char *path_in(const char *dir, const char *name)
{
	char *path;

	return asprintf(&path, "%s/%s", dir, name) < 0 ? NULL : path;
}

static void test_write(void)
{
	char *dir = make_test_dir();
	char *path = dir ? path_in(dir, "dhat-heap.json") : NULL;
	mode_t old_mask = umask(022);
	struct stat st;
	char *got;

	CHECK(path);
	if (!path)
		goto out;
	CHECK_U64(out_dhat_json_write(&sample, path), 0);
	got = read_file(path);
	CHECK_STR(got, sample_json);
	free(got);
	CHECK_U64(count_entries(dir), 1);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644);

	/* Replacing an existing profile. */
	CHECK_U64(out_dhat_json_write(&sample, path), 0);
	CHECK_U64(count_entries(dir), 1);
	unlink(path);
out:
	umask(old_mask);
	if (dir)
		rmdir(dir);
	free(path);
	free(dir);
}

static void test_write_no_dir(void)
{
	char *dir = make_test_dir();
	char *path = dir ? path_in(dir, "missing/dhat-heap.json") : NULL;

	CHECK(path);
	if (path) {
		CHECK_U64(-out_dhat_json_write(&sample, path), ENOENT);
		CHECK_U64(count_entries(dir), 0);
		rmdir(dir);
	}
	free(path);
	free(dir);
}

/*
 * Run @fn(@arg) in a child process and return its exit status: @fn's
 * errno-valued result, or EXIT_SKIP; -1 if the child did not exit.
 */
static int in_child(int (*fn)(const char *), const char *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Writes into the read-only directory @dir, as nobody if root. */
static int write_readonly_child(const char *dir)
{
	char *path = path_in(dir, "dhat-heap.json");
	int err;

	/* Root may write anywhere: become nobody first. */
	if (!path || (geteuid() == 0 && (setgid(65534) || setuid(65534)))) {
		free(path);
		return EXIT_SKIP;
	}
	err = -out_dhat_json_write(&sample, path);
	free(path);
	return err;
}

static void test_write_readonly_dir(void)
{
	char *dir = make_test_dir();
	char *ro = dir ? path_in(dir, "ro") : NULL;

	CHECK(ro);
	if (!ro)
		goto out;
	CHECK(chmod(dir, 0755) == 0);
	CHECK(mkdir(ro, 0555) == 0);
	CHECK_U64(in_child(write_readonly_child, ro), EACCES);
	CHECK_U64(count_entries(ro), 0);
	rmdir(ro);
	rmdir(dir);
out:
	free(ro);
	free(dir);
}

/* A profile of @n PPs, about 100 bytes of JSON each; free pps after. */
static struct profile big_profile(size_t n)
{
	struct profile p = sample;
	struct profile_pp *pps = calloc(n, sizeof(*pps));
	size_t i;

	for (i = 0; pps && i < n; i++)
		pps[i] = sample_pps[i % 2];
	p.pps = pps;
	p.npps = pps ? n : 0;
	return p;
}

/* Writes @path under a file size limit: fails with EFBIG, first at the
 * final flush (100 bytes), then in the middle of the PPs (8 KiB). */
static int write_fsize_child(const char *path)
{
	struct profile big = big_profile(10000);
	struct rlimit lim;
	int err;

	if (!big.npps || signal(SIGXFSZ, SIG_IGN) == SIG_ERR ||
	    getrlimit(RLIMIT_FSIZE, &lim))
		return EXIT_SKIP;
	lim.rlim_cur = 100;
	if (setrlimit(RLIMIT_FSIZE, &lim))
		return EXIT_SKIP;
	err = out_dhat_json_write(&sample, path);
	if (err == -EFBIG) {
		lim.rlim_cur = 8192;
		err = setrlimit(RLIMIT_FSIZE, &lim) ? -errno :
		      out_dhat_json_write(&big, path);
	}
	free((void *)big.pps);
	return -err;
}

static void test_write_too_big(void)
{
	char *dir = make_test_dir();
	char *path = dir ? path_in(dir, "dhat-heap.json") : NULL;

	CHECK(path);
	if (path) {
		CHECK_U64(in_child(write_fsize_child, path), EFBIG);
		CHECK_U64(count_entries(dir), 0);
		rmdir(dir);
	}
	free(path);
	free(dir);
}

/*
 * Fills a 4 KiB tmpfs mounted on @dir in a private mount namespace (root
 * only): ENOSPC must come back, with nothing left in the directory.
 */
static int write_full_child(const char *dir)
{
	struct profile big = big_profile(10000);
	char *path = path_in(dir, "dhat-heap.json");
	int err;

	if (!path || !big.npps || geteuid() != 0 || unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=4k"))
		return EXIT_SKIP;
	err = out_dhat_json_write(&big, path);
	free((void *)big.pps);
	free(path);
	return count_entries(dir) ? EXIT_FAILURE : -err;
}

static void test_write_disk_full(void)
{
	char *dir = make_test_dir();
	int status;

	CHECK(dir);
	if (!dir)
		return;
	status = in_child(write_full_child, dir);
	if (status == EXIT_SKIP)
		printf("# test_write_disk_full: skipped (needs root and mount namespaces)\n");
	else
		CHECK_U64(status, ENOSPC);
	CHECK_U64(count_entries(dir), 0);
	rmdir(dir);
	free(dir);
}

int main(int argc, char **argv)
{
	if (argc != 1 && (argc != 3 || strcmp(argv[1], "--write"))) {
		fprintf(stderr, "usage: %s [--write FILE]\n", argv[0]);
		return 2;
	}

	RUN(test_sample_json);
	RUN(test_empty_profile);
	RUN(test_times);
	RUN(test_utf8);
	RUN(test_thousands);
	RUN(test_summary);
	RUN(test_summary_tracer);
	RUN(test_write);
	RUN(test_write_no_dir);
	RUN(test_write_readonly_dir);
	RUN(test_write_too_big);
	RUN(test_write_disk_full);

	if (argc == 3) {
		int err = out_dhat_json_write(&sample, argv[2]);

		if (err) {
			fprintf(stderr, "test_out: %s: %s\n", argv[2],
				strerror(-err));
			return 1;
		}
	}
	UNIT_EXIT();
}
