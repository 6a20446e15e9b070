// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pprof writer: the protobuf wire pieces byte by byte
 * (FORMATS.md 4.6), a whole small profile byte by byte after gunzip, its
 * failures.
 *
 * "test_pprof --write FILE" writes a richer sample profile to FILE for
 * tests/run.py, which reads it with go tool pprof.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "out/out.h"
#include "out/out_int.h"
#include "pprof_samples.h"
#include "unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* @got (@n bytes) is @want; on a difference, say where. */
static void check_bytes(const uint8_t *got, size_t n, const uint8_t *want,
			size_t wn, int line)
{
	size_t i;

	for (i = 0; i < n && i < wn && got[i] == want[i]; i++)
		;
	if (i == n && n == wn)
		return;
	printf("#   line %d: %zu bytes, want %zu; first difference at %zu:"
	       " %02x, want %02x\n", line, n, wn, i,
	       i < n ? got[i] : 0, i < wn ? want[i] : 0);
	unit_failed++;
}

#define CHECK_BUF(b, ...) do {						\
	static const uint8_t want_[] = { __VA_ARGS__ };			\
	check_bytes((b)->data, (b)->len, want_, sizeof(want_), __LINE__); \
	(b)->len = 0;							\
} while (0)

static void test_varint(void)
{
	struct pb_buf b = { 0 };

	pb_varint(&b, 0);
	CHECK_BUF(&b, 0x00);
	pb_varint(&b, 1);
	CHECK_BUF(&b, 0x01);
	pb_varint(&b, 127);
	CHECK_BUF(&b, 0x7f);
	pb_varint(&b, 128);
	CHECK_BUF(&b, 0x80, 0x01);
	pb_varint(&b, 300);
	CHECK_BUF(&b, 0xac, 0x02);
	pb_varint(&b, 1ULL << 63);
	CHECK_BUF(&b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		  0x01);
	/* int64 -1: its two's complement, 10 bytes, no zigzag */
	pb_varint(&b, (uint64_t)(int64_t)-1);
	CHECK_BUF(&b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0x01);
	CHECK(!pb_failed(&b));
	pb_free(&b);
}

static void test_fields(void)
{
	static const uint64_t ids[] = { 1, 300, 2 };
	struct pb_buf b = { 0 };

	pb_tag(&b, 1, PB_LEN);
	pb_tag(&b, 16, PB_VARINT);
	CHECK_BUF(&b, 0x0a, 0x80, 0x01);
	/* proto3: a zero singular field is not written */
	pb_uint(&b, 9, 0);
	CHECK_BUF(&b);
	pb_uint(&b, 9, 1700000000000000000ULL);
	CHECK_BUF(&b, 0x48, 0x80, 0x80, 0xa8, 0xb1, 0xe3, 0x9f, 0xe7, 0xcb,
		  0x17);
	/* string_table[0]: the empty string is written */
	pb_bytes(&b, 6, "", 0);
	pb_bytes(&b, 6, "µs", 3);
	CHECK_BUF(&b, 0x32, 0x00, 0x32, 0x03, 0xc2, 0xb5, 's');
	pb_packed(&b, 1, ids, 0);
	CHECK_BUF(&b);
	pb_packed(&b, 1, ids, 3);
	CHECK_BUF(&b, 0x0a, 0x04, 0x01, 0xac, 0x02, 0x02);
	pb_free(&b);
}

static void test_nested(void)
{
	struct pb_buf b = { 0 };
	size_t outer, inner;

	outer = pb_begin(&b, 4);
	pb_uint(&b, 1, 7);
	inner = pb_begin(&b, 4);
	pb_uint(&b, 1, 2);
	pb_end(&b, inner);
	pb_end(&b, outer);
	CHECK_BUF(&b, 0x22, 0x06, 0x08, 0x07, 0x22, 0x02, 0x08, 0x02);
	/* an empty message still has its length */
	pb_end(&b, pb_begin(&b, 2));
	CHECK_BUF(&b, 0x12, 0x00);

	/* 200 bytes of payload: a 2-byte length, the payload moved */
	outer = pb_begin(&b, 6);
	for (int i = 0; i < 200; i++)
		pb_varint(&b, i % 100);
	pb_end(&b, outer);
	CHECK_U64(b.len, 203);
	CHECK_U64(b.data[0], 0x32);
	CHECK_U64(b.data[1], 0xc8);
	CHECK_U64(b.data[2], 0x01);
	CHECK_U64(b.data[3], 0);
	CHECK_U64(b.data[202], 99);
	pb_free(&b);
}

/* Gunzip @path into @out (of @cap bytes); the length, or -1. */
static long gunzip_file(const char *path, uint8_t *out, size_t cap)
{
	static uint8_t in[1 << 20];
	FILE *f = fopen(path, "rb");
	z_stream z = { 0 };
	size_t n;
	int ret;

	if (!f)
		return -1;
	n = fread(in, 1, sizeof(in), f);
	fclose(f);
	if (n < 2 || in[0] != 0x1f || in[1] != 0x8b)
		return -1;
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return -1;
	z.next_in = in;
	z.avail_in = (unsigned int)n;
	z.next_out = out;
	z.avail_out = (unsigned int)cap;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	return ret == Z_STREAM_END ? (long)z.total_out : -1;
}

static char *temp_path(void)
{
	char *path = strdup("/tmp/dhtrace-test-pprof-XXXXXX");
	int fd = path ? mkstemp(path) : -1;

	if (fd < 0) {
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* Write @p to a file, read it back gunzipped. */
static long round_trip(const struct pprof_profile *p, uint8_t *out, size_t cap,
		       int *err)
{
	char *path = temp_path();
	long n = -1;

	if (!path) {
		*err = -ENOMEM;
		return -1;
	}
	*err = out_pprof_write(p, path);
	if (!*err)
		n = gunzip_file(path, out, cap);
	unlink(path);
	free(path);
	return n;
}

static const struct pprof_line tiny_line = {
	.function = "f", .file = "f.c", .line = 5, .column = 2,
};
static const struct pprof_location tiny_loc = {
	.address = 1000, .lines = &tiny_line, .nlines = 1,
};
static const uint32_t tiny_stack[] = { 0 };
static const struct pprof_sample tiny_sample = {
	.locations = tiny_stack, .nlocations = 1,
	.stats = { .tb = 100, .tbk = 2, .gb = 9, .gbk = 9, .eb = 9, .ebk = 9 },
};

/* Totals only (a DHAT file without lifetimes), one sample, no mapping. */
static void test_tiny_profile(void)
{
	static const uint8_t want[] = {
		/* sample_type alloc_objects/count, alloc_space/bytes */
		0x0a, 0x04, 0x08, 0x01, 0x10, 0x02,
		0x0a, 0x04, 0x08, 0x03, 0x10, 0x04,
		/* sample: location 1, values 2 100, label bytes=50 */
		0x12, 0x0d, 0x0a, 0x01, 0x01, 0x12, 0x02, 0x02, 0x64,
		0x1a, 0x04, 0x08, 0x04, 0x18, 0x32,
		/* location 1 at 1000, line: function 1, line 5, column 2 */
		0x22, 0x0d, 0x08, 0x01, 0x18, 0xe8, 0x07,
		0x22, 0x06, 0x08, 0x01, 0x10, 0x05, 0x18, 0x02,
		/* function 1: name "f", system name "f", file "f.c" */
		0x2a, 0x08, 0x08, 0x01, 0x10, 0x08, 0x18, 0x08, 0x20, 0x09,
		/* the string table */
		0x32, 0x00,
		0x32, 0x0d, 'a', 'l', 'l', 'o', 'c', '_', 'o', 'b', 'j', 'e',
		'c', 't', 's',
		0x32, 0x05, 'c', 'o', 'u', 'n', 't',
		0x32, 0x0b, 'a', 'l', 'l', 'o', 'c', '_', 's', 'p', 'a', 'c',
		'e',
		0x32, 0x05, 'b', 'y', 't', 'e', 's',
		0x32, 0x05, 's', 'p', 'a', 'c', 'e',
		0x32, 0x06, 'c', 'm', 'd', ':', ' ', 'a',
		0x32, 0x06, 'p', 'i', 'd', ':', ' ', '7',
		0x32, 0x01, 'f',
		0x32, 0x03, 'f', '.', 'c',
		/* duration 1500; period_type space/bytes, period 1 */
		0x50, 0xdc, 0x0b,
		0x5a, 0x04, 0x08, 0x05, 0x10, 0x04, 0x60, 0x01,
		/* comments "cmd: a", "pid: 7"; default_sample_type */
		0x6a, 0x02, 0x06, 0x07, 0x70, 0x03,
	};
	const struct pprof_profile p = {
		.cmd = "a", .pid = 7, .duration_nanos = 1500,
		.totals_only = true,
		.locations = &tiny_loc, .nlocations = 1,
		SAMPLES(&tiny_sample, 1),
	};
	uint8_t got[4096];
	long n;
	int err;

	n = round_trip(&p, got, sizeof(got), &err);
	CHECK_U64(err, 0);
	CHECK(n > 0);
	if (n > 0)
		check_bytes(got, (size_t)n, want, sizeof(want), __LINE__);
}

/* Invalid UTF-8 becomes U+FFFD; duplicate strings and functions once. */
static void test_strings_sanitized_and_shared(void)
{
	static const struct pprof_line lines[] = {
		{ .function = "g\xff", .system_name = "_Z1gv" },
		{ .function = "g\xff", .system_name = "_Z1gv" },
	};
	const struct pprof_location loc = { .lines = lines, .nlines = 2 };
	const struct pprof_profile p = {
		.cmd = "g\xef\xbf\xbd", .totals_only = true,
		.locations = &loc, .nlocations = 1,
	};
	static const uint8_t want_loc[] = {
		0x22, 0x0a, 0x08, 0x01, 0x22, 0x02, 0x08, 0x01, 0x22, 0x02,
		0x08, 0x01,
		0x2a, 0x06, 0x08, 0x01, 0x10, 0x08, 0x18, 0x09,
	};
	uint8_t got[4096];
	const uint8_t *at;
	long n;
	int err;

	n = round_trip(&p, got, sizeof(got), &err);
	CHECK_U64(err, 0);
	CHECK(n > 0);
	if (n <= 0)
		return;
	/* after the two sample types: one location, one function */
	check_bytes(got + 12, sizeof(want_loc), want_loc, sizeof(want_loc),
		    __LINE__);
	/* strings 8 and 9: "g\ufffd" (from "g\xff"), "_Z1gv" */
	at = memmem(got, (size_t)n, "\x32\x04g\xef\xbf\xbd\x32\x05_Z1gv", 13);
	CHECK(at != NULL);
	CHECK(memmem(got, (size_t)n, "\xff", 1) == NULL);
}

/* More than the writer holds before deflating: every piece arrives. */
static void test_big_profile(void)
{
	enum { N = 20000 };
	static struct pprof_line lines[N];
	static struct pprof_location locs[N];
	static struct pprof_sample samples[N];
	static uint32_t stacks[N];
	static char names[N][32];
	static uint8_t got[4 << 20];
	const struct pprof_profile p = {
		.locations = locs, .nlocations = N,
		SAMPLES(samples, N),
	};
	char last[40];
	long n;
	int err;

	for (uint32_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "function_number_%u", i);
		lines[i] = (struct pprof_line){ .function = names[i], .line = i };
		locs[i] = (struct pprof_location){ 0x1000 + i, 0, &lines[i], 1 };
		stacks[i] = i;
		samples[i] = (struct pprof_sample){ &stacks[i], 1,
						    { .tb = i, .tbk = 1 } };
	}
	n = round_trip(&p, got, sizeof(got), &err);
	CHECK_U64(err, 0);
	/* the last string, then the trailer: period_type and the rest */
	snprintf(last, sizeof(last), "\x32\x15" "function_number_%u" "\x5a", N - 1);
	CHECK(n > 0 && memmem(got, (size_t)n, last, strlen(last)));
	/* function 20000: its id takes 3 bytes, its name's index too */
	CHECK(n > 0 && memmem(got, (size_t)n, "\x2a\x0c\x08\xa0\x9c\x01", 6));
}

static void test_bad_references(void)
{
	static const uint32_t bad_stack[] = { 1 };
	const struct pprof_sample s = { .locations = bad_stack,
					.nlocations = 1 };
	const struct pprof_location loc = { .mapping = 1 };
	struct pprof_profile p = {
		.locations = &tiny_loc, .nlocations = 1,
		SAMPLES(&s, 1),
	};
	uint8_t got[4096];
	int err;

	/* location index 1 of 1, mapping 1 of 0: nothing is written */
	CHECK(round_trip(&p, got, sizeof(got), &err) < 0);
	CHECK_U64(err, (uint64_t)-EINVAL);
	p.sample_ctx = &(struct sample_array){ &tiny_sample, 1 };
	p.locations = &loc;
	CHECK(round_trip(&p, got, sizeof(got), &err) < 0);
	CHECK_U64(err, (uint64_t)-EINVAL);
	CHECK_U64(out_pprof_write(&p, "/nonexistent-dir/x.pb.gz"),
		  (uint64_t)-ENOENT);
}

/*
 * For go tool pprof (tests/run.py): the executable first with its build
 * id, a library, an inlined call, the six values of three call sites.
 */
static int write_sample(const char *path)
{
	static const struct pprof_mapping maps[] = {
		{ 0x401000, 0x402000, 0x1000, "/opt/app/bin/app",
		  "0123456789abcdef0123456789abcdef01234567", true },
		{ 0x7f0000001000, 0x7f0000100000, 0x1000, "/lib/libc.so.6",
		  NULL, true },
	};
	static const struct pprof_line l_main = { "main", NULL, "/src/app.c", 20, 0 };
	static const struct pprof_line l_inl[] = {
		{ "grab", NULL, "/src/app.c", 5, 9 },
		{ "leaf(int)", "_Z4leafi", "/src/app.c", 12, 3 },
	};
	static const struct pprof_line l_lib = { "qsort_r", NULL, "msort.c", 297, 0 };
	static const struct pprof_location locs[] = {
		{ 0x401100, 1, &l_main, 1 },
		{ 0x401050, 1, l_inl, 2 },
		{ 0x7f0000001234, 2, &l_lib, 1 },
		{ 0x401200, 1, NULL, 0 },
	};
	static const uint32_t s0[] = { 1, 0 }, s1[] = { 0 }, s2[] = { 3, 2, 0 };
	static const struct pprof_sample samples[] = {
		{ s0, 2, { .tb = 1000, .tbk = 4, .gb = 500, .gbk = 2,
			   .eb = 250, .ebk = 1 } },
		{ s1, 1, { .tb = 64, .tbk = 1, .gb = 64, .gbk = 1 } },
		{ s2, 3, { .tb = 30, .tbk = 3 } },
	};
	const struct pprof_profile p = {
		.cmd = "/opt/app/bin/app --flag", .pid = 4242,
		.time_nanos = 1700000000123456789LL,
		.duration_nanos = 2500000000LL,
		.mappings = maps, .nmappings = ARRAY_SIZE(maps),
		.locations = locs, .nlocations = ARRAY_SIZE(locs),
		SAMPLES(samples, ARRAY_SIZE(samples)),
	};
	int err = out_pprof_write(&p, path);

	if (err)
		fprintf(stderr, "test_pprof: %s: %s\n", path, strerror(-err));
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--write"))
		return write_sample(argv[2]);
	RUN(test_varint);
	RUN(test_fields);
	RUN(test_nested);
	RUN(test_tiny_profile);
	RUN(test_strings_sanitized_and_shared);
	RUN(test_big_profile);
	RUN(test_bad_references);
	UNIT_EXIT();
}
