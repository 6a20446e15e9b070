// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pprof reader (src/in): the wire pieces on hand-built
 * bytes (varints, packed and unpacked repeated fields, fixed-width and
 * unknown fields, each malformation), a profile from our own writer read
 * back frame by frame, other producers' sample types, the format told by
 * content, and every error message.
 */
#include <errno.h>
#include <stdlib.h>

#include "in/in.h"
#include "in/in_int.h"
#include "out/out.h"
#include "out/out_int.h"
#include "pprof_samples.h"
#include "unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MSG(...) ({							\
	static const uint8_t b_[] = { __VA_ARGS__ };			\
	(struct pb_msg){ b_, b_ + sizeof(b_) };				\
})

static void test_wire(void)
{
	struct pb_msg m = MSG(
		0x08, 0x96, 0x01,			/* 1: varint 150 */
		0x12, 0x02, 'h', 'i',			/* 2: LEN "hi" */
		0x19, 1, 2, 3, 4, 5, 6, 7, 8,		/* 3: fixed 64 */
		0x25, 1, 2, 3, 4,			/* 4: fixed 32 */
		0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0x01);			/* 16: 2^64-1 */
	struct pb_field f;

	CHECK_U64(pb_next(&m, &f), 1);
	CHECK(f.num == 1 && f.wire == PB_VARINT && f.v == 150);
	CHECK_U64(pb_next(&m, &f), 1);
	CHECK(f.num == 2 && f.wire == PB_LEN && f.data.end - f.data.p == 2 &&
	      f.data.p[0] == 'h');
	CHECK_U64(pb_next(&m, &f), 1);
	CHECK(f.num == 3 && f.wire == PB_I64 && f.data.end - f.data.p == 8);
	CHECK_U64(pb_next(&m, &f), 1);
	CHECK(f.num == 4 && f.wire == PB_I32 && f.data.p[3] == 4);
	CHECK_U64(pb_next(&m, &f), 1);
	CHECK(f.num == 16 && f.v == UINT64_MAX);
	CHECK_U64(pb_next(&m, &f), 0);
}

/* Each malformed message: pb_next() fails and stays at the bad field. */
static void test_wire_errors(void)
{
	const struct pb_msg bad[] = {
		MSG(0x08),				/* no value */
		MSG(0x08, 0x80),			/* varint cut */
		MSG(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0x02),			/* 65 bits */
		MSG(0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		    0x80, 0x80, 0x01),			/* 11 bytes */
		MSG(0x12, 0x03, 'a', 'b'),		/* past the end */
		MSG(0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0x01),			/* length 2^64-1 */
		MSG(0x19, 1, 2, 3),			/* fixed 64 cut */
		MSG(0x0b, 0x0c),			/* a group */
		MSG(0x02, 0x00),			/* field 0 */
		MSG(0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00), /* field 2^32 */
	};
	struct pb_field f;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct pb_msg m = bad[i];

		if (pb_next(&m, &f) != -EINVAL || m.p != bad[i].p) {
			printf("#   bad message %zu read\n", i);
			unit_failed++;
		}
	}
}

static void test_repeated(void)
{
	struct pb_msg m = MSG(0x08, 0x05,		/* unpacked 5 */
			      0x0a, 0x03, 0x01, 0xac, 0x02, /* packed 1 300 */
			      0x0a, 0x00,			/* packed, empty */
			      0x0a, 0x01, 0x80,		/* packed, cut */
			      0x0d, 1, 2, 3, 4);		/* fixed 32 */
	static const uint64_t want[] = { 5, 1, 300 };
	struct pb_values it;
	struct pb_field f;
	uint64_t v, got[8];
	size_t n = 0;
	int ret;

	for (int i = 0; i < 3; i++) {
		CHECK_U64(pb_next(&m, &f), 1);
		pb_values(&f, &it);
		while ((ret = pb_value(&it, &v)) > 0 && n < ARRAY_SIZE(got))
			got[n++] = v;
		CHECK_U64(ret, 0);
	}
	CHECK_U64(n, 3);
	for (size_t i = 0; i < n; i++)
		CHECK_U64(got[i], want[i]);
	CHECK_U64(pb_next(&m, &f), 1);
	pb_values(&f, &it);
	CHECK_U64(pb_value(&it, &v), -EINVAL);
	CHECK_U64(pb_next(&m, &f), 1);
	pb_values(&f, &it);
	CHECK_U64(pb_value(&it, &v), -EINVAL);
}

static int load_bytes(const void *p, size_t n, struct dhat_file *df,
		      struct dhat_err *err)
{
	FILE *f = fmemopen((void *)p, n, "r");
	int ret;

	if (!f)
		return -errno;
	ret = profile_load(f, "t.pb", df, err);
	fclose(f);
	return ret;
}

/* Our writer's richest profile (test_pprof's sample), gzipped. */
static void test_round_trip(void)
{
	static const struct pprof_mapping maps[] = {
		{ 0x401000, 0x402000, 0x1000, "/opt/app/bin/app", "0123", true },
		{ 0x7f0000001000, 0x7f0000100000, 0x1000, "/lib/libc.so.6",
		  NULL, true },
	};
	static const struct pprof_line l_main = { "main", NULL, "/src/app.c", 20, 0 };
	static const struct pprof_line l_inl[] = {
		{ "grab", NULL, "/src/app.c", 5, 9 },
		{ "leaf(int)", "_Z4leafi", "/src/app.c", 12, 3 },
	};
	static const struct pprof_line l_lib = { "qsort_r", NULL, NULL, 0, 0 };
	static const struct pprof_location locs[] = {
		{ 0x401100, 1, &l_main, 1 },
		{ 0x401050, 1, l_inl, 2 },
		{ 0x7f0000001234, 2, &l_lib, 1 },
		{ 0x7f0000001300, 2, NULL, 0 },
		{ 0x401200, 0, NULL, 0 },
	};
	static const uint32_t s0[] = { 1, 0 }, s1[] = { 4, 3, 2, 0 };
	static const struct pprof_sample samples[] = {
		{ s0, 2, { .tb = 1000, .tbk = 4, .gb = 500, .gbk = 2,
			   .eb = 250, .ebk = 1 } },
		{ s1, 4, { .tb = 30, .tbk = 3 } },
	};
	const struct pprof_profile p = {
		.cmd = "/opt/app/bin/app --flag", .pid = 4242,
		.duration_nanos = 2500000000LL,
		.mappings = maps, .nmappings = ARRAY_SIZE(maps),
		.locations = locs, .nlocations = ARRAY_SIZE(locs),
		SAMPLES(samples, ARRAY_SIZE(samples)),
	};
	static const char *const want_ftbl[] = {
		"[root]",
		"0x401100: main (app.c:20)",
		"0x401050: grab (app.c:5)",
		"0x401050: leaf(int) (app.c:12)",
		"0x7F0000001234: qsort_r (in /lib/libc.so.6)",
		"0x7F0000001300: ??? (in /lib/libc.so.6)",
		"0x401200: ???",
	};
	static const uint32_t want_fs0[] = { 2, 3, 1 }, want_fs1[] = { 6, 5, 4, 1 };
	struct dhat_file df;
	struct dhat_err err;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f && !out_pprof_fprint(&p, f));
	fclose(f);
	CHECK_U64(load_bytes(buf, len, &df, &err), 0);
	free(buf);
	CHECK_U64(df.meta.present, 1u << DHAT_M_VERSION | 1u << DHAT_M_BKLT |
		  1u << DHAT_M_CMD | 1u << DHAT_M_PID | 1u << DHAT_M_TE |
		  1u << DHAT_M_TU | 1u << DHAT_M_MTU);
	CHECK(df.meta.bklt);
	CHECK_STR(df.meta.cmd, "/opt/app/bin/app --flag");
	CHECK_U64(df.meta.pid, 4242);
	CHECK_U64(df.meta.te, 2500000);
	CHECK_STR(df.meta.tu, "\xc2\xb5s");
	CHECK_U64(df.nftbl, ARRAY_SIZE(want_ftbl));
	for (size_t i = 0; i < df.nftbl && i < ARRAY_SIZE(want_ftbl); i++)
		CHECK_STR(df.ftbl[i], want_ftbl[i]);
	CHECK_U64(df.npps, 2);
	if (df.npps == 2) {
		const struct dhat_pp *a = &df.pps[0], *b = &df.pps[1];

		CHECK_U64(a->present, 1u << DHAT_TB | 1u << DHAT_TBK |
			  1u << DHAT_GB | 1u << DHAT_GBK | 1u << DHAT_EB |
			  1u << DHAT_EBK);
		CHECK(a->stat[DHAT_TB] == 1000 && a->stat[DHAT_TBK] == 4 &&
		      a->stat[DHAT_GB] == 500 && a->stat[DHAT_GBK] == 2 &&
		      a->stat[DHAT_EB] == 250 && a->stat[DHAT_EBK] == 1 &&
		      !a->stat[DHAT_TL] && !a->stat[DHAT_MB]);
		CHECK(b->stat[DHAT_TB] == 30 && b->stat[DHAT_TBK] == 3 &&
		      !b->stat[DHAT_GB] && !b->stat[DHAT_EB]);
		CHECK(a->nfs == 3 && !memcmp(a->fs, want_fs0, sizeof(want_fs0)));
		CHECK(b->nfs == 4 && !memcmp(b->fs, want_fs1, sizeof(want_fs1)));
	}
	dhat_file_free(&df);
}

/* Strings of a string table, "" first. */
static void strings(struct pb_buf *b, const char *const *s, size_t n)
{
	pb_bytes(b, 6, "", 0);
	for (size_t i = 0; i < n; i++)
		pb_bytes(b, 6, s[i], strlen(s[i]));
}

static void value_type(struct pb_buf *b, uint64_t type, uint64_t unit)
{
	size_t m = pb_begin(b, 1);

	pb_uint(b, 1, type);
	pb_uint(b, 2, unit);
	pb_end(b, m);
}

/*
 * Go's heap profile layout, by hand: four sample types (no peak), a
 * sample with unpacked location ids and values and a label, unknown and
 * fixed-width fields everywhere, ids not dense, a line without a file, a
 * function name with bad UTF-8 and a NUL, a location whose mapping id
 * names no mapping; then no string table at all for the others.
 */
static void test_go_heap_profile(void)
{
	static const char *const s[] = {
		"alloc_objects", "count", "alloc_space", "bytes",
		"inuse_objects", "inuse_space", "main.grow",
		"/home/u/go/src/app/main.go", "/bin/app",
	};
	struct pb_buf b = { 0 };
	struct dhat_file df;
	struct dhat_err err;
	size_t m, l;

	value_type(&b, 1, 2);
	value_type(&b, 3, 4);
	value_type(&b, 5, 2);
	value_type(&b, 6, 4);
	m = pb_begin(&b, 2);		/* sample */
	pb_tag(&b, 1, PB_VARINT);	/* unpacked ids 20 then 10 */
	pb_varint(&b, 20);
	pb_tag(&b, 1, PB_VARINT);
	pb_varint(&b, 10);
	for (uint64_t v = 1; v <= 4; v++) {	/* unpacked values 1 2 3 4 */
		pb_tag(&b, 2, PB_VARINT);
		pb_varint(&b, v);
	}
	l = pb_begin(&b, 3);		/* label: skipped */
	pb_uint(&b, 1, 4);
	pb_uint(&b, 3, 64);
	pb_end(&b, l);
	pb_tag(&b, 9, PB_I64);		/* unknown */
	for (int i = 0; i < 8; i++)
		pb_varint(&b, 0x7f);
	pb_end(&b, m);
	m = pb_begin(&b, 3);		/* mapping 7 */
	pb_uint(&b, 1, 7);
	pb_uint(&b, 5, 9);
	pb_tag(&b, 99, PB_LEN);		/* unknown */
	pb_varint(&b, 0);
	pb_end(&b, m);
	m = pb_begin(&b, 4);		/* location 10: main.grow, mapping 7 */
	pb_uint(&b, 1, 10);
	pb_uint(&b, 2, 7);
	pb_uint(&b, 3, 0x4a10);
	l = pb_begin(&b, 4);
	pb_uint(&b, 1, 100);
	pb_uint(&b, 2, 33);
	pb_tag(&b, 7, PB_I32);		/* unknown */
	for (int i = 0; i < 4; i++)
		pb_varint(&b, 0x7f);
	pb_end(&b, l);
	pb_end(&b, m);
	m = pb_begin(&b, 4);		/* location 20: mapping 8, none */
	pb_uint(&b, 1, 20);
	pb_uint(&b, 2, 8);
	pb_uint(&b, 3, 0x4b20);
	l = pb_begin(&b, 4);
	pb_uint(&b, 1, 200);
	pb_end(&b, l);
	pb_end(&b, m);
	m = pb_begin(&b, 5);		/* function 100 */
	pb_uint(&b, 1, 100);
	pb_uint(&b, 2, 7);
	pb_uint(&b, 4, 8);
	pb_end(&b, m);
	m = pb_begin(&b, 5);		/* function 200, no file */
	pb_uint(&b, 1, 200);
	pb_uint(&b, 2, 10);
	pb_end(&b, m);
	strings(&b, s, ARRAY_SIZE(s));
	pb_bytes(&b, 6, "runtime.malg\xff\0x", 15);	/* 10 */
	pb_tag(&b, 13, PB_VARINT);	/* a comment, unpacked: no cmd */
	pb_varint(&b, 7);
	pb_uint(&b, 14, 3);		/* default_sample_type: not used */
	CHECK(!pb_failed(&b));
	CHECK_U64(load_bytes(b.data, b.len, &df, &err), 0);
	CHECK_STR(err.msg, "");
	CHECK(df.meta.bklt && !df.meta.cmd && !df.meta.tu);
	CHECK_U64(df.nftbl, 3);
	if (df.nftbl == 3) {
		CHECK_STR(df.ftbl[1], "0x4A10: main.grow (main.go:33)");
		CHECK_STR(df.ftbl[2], "0x4B20: runtime.malg\xef\xbf\xbd\xef\xbf\xbdx");
	}
	CHECK_U64(df.npps, 1);
	if (df.npps == 1) {
		const struct dhat_pp *pp = &df.pps[0];

		CHECK(pp->nfs == 2 && pp->fs[0] == 2 && pp->fs[1] == 1);
		CHECK(pp->stat[DHAT_TBK] == 1 && pp->stat[DHAT_TB] == 2 &&
		      pp->stat[DHAT_EBK] == 3 && pp->stat[DHAT_EB] == 4 &&
		      !pp->stat[DHAT_GB] && !pp->stat[DHAT_GBK]);
	}
	dhat_file_free(&df);
	pb_free(&b);
}

/* Only the alloc pair: no lifetimes. Other types: the first two columns. */
static void test_sample_types(void)
{
	static const char *const alloc[] = {
		"alloc_space", "bytes", "alloc_objects", "count", "x", "y",
	};
	static const char *const cpu[] = {
		"samples", "count", "cpu", "nanoseconds",
	};
	static const uint64_t values[] = { 500, 5, 9 };
	struct pb_buf b = { 0 };
	struct dhat_file df;
	struct dhat_err err;
	size_t m;

	value_type(&b, 1, 2);
	value_type(&b, 3, 4);
	value_type(&b, 5, 6);
	m = pb_begin(&b, 2);
	pb_packed(&b, 2, values, 3);
	pb_end(&b, m);
	strings(&b, alloc, ARRAY_SIZE(alloc));
	CHECK_U64(load_bytes(b.data, b.len, &df, &err), 0);
	CHECK(!df.meta.bklt && df.npps == 1 && df.nftbl == 1);
	if (df.npps == 1) {
		CHECK_U64(df.pps[0].present, 1u << DHAT_TB | 1u << DHAT_TBK);
		CHECK(df.pps[0].stat[DHAT_TB] == 500 &&
		      df.pps[0].stat[DHAT_TBK] == 5 && !df.pps[0].nfs);
	}
	dhat_file_free(&df);

	b.len = 0;
	value_type(&b, 1, 2);
	value_type(&b, 3, 4);
	m = pb_begin(&b, 2);
	pb_packed(&b, 2, values, 2);
	pb_end(&b, m);
	strings(&b, cpu, ARRAY_SIZE(cpu));
	CHECK_U64(load_bytes(b.data, b.len, &df, &err), 0);
	CHECK(!df.meta.bklt && df.npps == 1);
	if (df.npps == 1)
		CHECK(df.pps[0].stat[DHAT_TBK] == 500 &&
		      df.pps[0].stat[DHAT_TB] == 5);
	dhat_file_free(&df);
	pb_free(&b);
}

/* The first byte tells the format: JSON errors for '{' and ' ', pprof
 * ones for a tag or the gzip magic. */
static void test_told_by_content(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *msg;
	} cases[] = {
		{ "{}", 2, "t.pb: byte 2: missing field 'dhatFileVersion': not a "
			   "DHAT file" },
		{ " 1", 2, "t.pb: byte 2: expected a JSON object at the top "
			   "level, got a number: not a DHAT file" },
		{ "\x0a\x01", 2, "t.pb: pprof: profile: malformed protobuf at "
				 "byte 0 of the profile" },
		{ "\x1f\x8b\x08", 3, "t.pb: truncated gzip data" },
		{ "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff", 11,
		  "t.pb: invalid block type" },
	};
	struct dhat_file df;
	struct dhat_err err;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK_U64(load_bytes(cases[i].in, cases[i].len, &df, &err),
			  -EINVAL);
		CHECK_STR(err.msg, cases[i].msg);
	}
	/* an empty protobuf is an empty profile */
	CHECK_U64(load_bytes("\x32\x00", 2, &df, &err), 0);
	CHECK(df.npps == 0 && df.nftbl == 1 && !df.meta.bklt);
	dhat_file_free(&df);
}

/* A bad profile: a sample type, one sample of two values with location 1
 * (line of function 1 "f"), with pieces swapped by each case. */
struct bad_case {
	const char *msg;
	uint8_t bytes[48];
	size_t len;
};

#define BAD(msg, ...) { msg, { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }) }
#define TYPES 0x0a, 0x02, 0x08, 0x01, 0x0a, 0x02, 0x08, 0x01
#define STRS 0x32, 0x00, 0x32, 0x01, 'f'
#define FUNC 0x2a, 0x04, 0x08, 0x01, 0x10, 0x01
#define LOC 0x22, 0x06, 0x08, 0x01, 0x22, 0x02, 0x08, 0x01

static void test_errors(void)
{
	static const struct bad_case cases[] = {
		BAD("t.pb: pprof: sample 0: no location with id 2",
		    TYPES, 0x12, 0x06, 0x0a, 0x01, 0x02, 0x12, 0x01, 0x05,
		    LOC, FUNC, STRS),
		BAD("t.pb: pprof: sample 0 has 1 values for 2 sample types",
		    TYPES, 0x12, 0x03, 0x12, 0x01, 0x05, STRS),
		BAD("t.pb: pprof: sample 0: negative value -1",
		    TYPES, 0x12, 0x0d, 0x12, 0x0b, 0x01, 0xff, 0xff, 0xff,
		    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, STRS),
		BAD("t.pb: pprof: sample type: string index 9 is out of "
		    "range (2 strings)",
		    0x0a, 0x02, 0x08, 0x09, STRS),
		BAD("t.pb: pprof: function: string index 5 is out of range "
		    "(2 strings)",
		    LOC, 0x2a, 0x04, 0x08, 0x01, 0x10, 0x05, STRS),
		BAD("t.pb: pprof: location 1: no function with id 2",
		    0x22, 0x06, 0x08, 0x01, 0x22, 0x02, 0x08, 0x02, FUNC, STRS),
		BAD("t.pb: pprof: a location has id 0",
		    0x22, 0x04, 0x22, 0x02, 0x08, 0x01, FUNC, STRS),
		BAD("t.pb: pprof: two functions have id 1", FUNC, FUNC, STRS),
		BAD("t.pb: pprof: samples but no sample types",
		    0x12, 0x00, STRS),
		BAD("t.pb: pprof: the first string of the table is not empty",
		    0x32, 0x01, 'f'),
		BAD("t.pb: pprof: profile: field 2 has wire type 0",
		    0x10, 0x01),
		BAD("t.pb: pprof: location: field 4 has wire type 0",
		    0x22, 0x04, 0x08, 0x01, 0x20, 0x01),
		BAD("t.pb: pprof: function: field 1 has wire type 2",
		    0x2a, 0x02, 0x0a, 0x00),
		BAD("t.pb: pprof: sample 0: malformed location ids",
		    TYPES, 0x12, 0x05, 0x0d, 0x01, 0x02, 0x03, 0x04, STRS),
		BAD("t.pb: pprof: sample: malformed protobuf at byte 10 of "
		    "the profile",
		    TYPES, 0x12, 0x02, 0x08, 0x80, STRS),
		BAD("t.pb: pprof: profile: malformed comment",
		    0x6a, 0x01, 0x80),
		BAD("t.pb: pprof: profile: malformed protobuf at byte 2 of "
		    "the profile",
		    0x32, 0x00, 0x32, 0x05, 'a'),
	};
	struct dhat_file df;
	struct dhat_err err;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK_U64(load_bytes(cases[i].bytes, cases[i].len, &df, &err),
			  -EINVAL);
		CHECK_STR(err.msg, cases[i].msg);
		CHECK(!df.pps && !df.ftbl && !df.meta.present);
	}
	/* the good profile the cases break */
	{
		static const uint8_t good[] = {
			TYPES, 0x12, 0x07, 0x0a, 0x01, 0x01, 0x12, 0x02, 0x05,
			0x06, LOC, FUNC, STRS,
		};

		CHECK_U64(load_bytes(good, sizeof(good), &df, &err), 0);
		CHECK(df.npps == 1 && df.nftbl == 2);
		if (df.nftbl == 2)
			CHECK_STR(df.ftbl[1], "0x0: f");
		dhat_file_free(&df);
	}
}

int main(void)
{
	RUN(test_wire);
	RUN(test_wire_errors);
	RUN(test_repeated);
	RUN(test_round_trip);
	RUN(test_go_heap_profile);
	RUN(test_sample_types);
	RUN(test_told_by_content);
	RUN(test_errors);
	UNIT_EXIT();
}
