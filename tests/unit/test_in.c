// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of src/in: the DHAT JSON reader (each producer's layout, keys
 * in any order, a file bigger than one read chunk, a round trip through
 * our own writer, every error message) and the frame-string parser, row
 * by row.
 */
#include <errno.h>
#include <stdlib.h>

#include "in/in.h"
#include "out/out.h"
#include "unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int load_str(const char *json, size_t len, struct dhat_file *df,
		    struct dhat_err *err)
{
	FILE *f = fmemopen((void *)json, len, "r");
	int ret;

	if (!f)
		return -errno;
	ret = dhat_load(f, "t.json", df, err);
	fclose(f);
	return ret;
}

static int load(const char *json, struct dhat_file *df, struct dhat_err *err)
{
	return load_str(json, strlen(json), df, err);
}

/* FORMATS.md 1.7: the minimal file the 3.19 viewer accepts. */
static const char minimal[] =
	"{\"dhatFileVersion\":2,\"mode\":\"heap\",\"verb\":\"Allocated\",\"bklt\":true,\"bkacc\":false,\n"
	" \"tu\":\"\xc2\xb5s\",\"Mtu\":\"s\",\"tuth\":10,\"cmd\":\"./prog a \\\"b\\\"\",\"pid\":42,\"te\":1000000,\"tg\":500000,\n"
	" \"pps\":[{\"tb\":100,\"tbk\":2,\"tl\":30,\"mb\":100,\"mbk\":2,\"gb\":50,\"gbk\":1,\"eb\":0,\"ebk\":0,\"fs\":[1,2]},\n"
	"        {\"tb\":7,\"tbk\":1,\"tl\":5,\"mb\":7,\"mbk\":1,\"gb\":7,\"gbk\":1,\"eb\":7,\"ebk\":1,\"fs\":[1,3]}],\n"
	" \"ftbl\":[\"[root]\",\"0x1000: malloc (in /lib/libc.so.6)\",\"0x2000: main (a.c:3)\",\"0x2010: main (a.c:4)\"]}";

static void test_minimal(void)
{
	struct dhat_file df;
	struct dhat_err err;
	const struct dhat_meta *m = &df.meta;

	CHECK_U64(load(minimal, &df, &err), 0);
	CHECK_STR(err.msg, "");
	CHECK_U64(m->present, (1u << DHAT_M_NFIELDS) - 1 -
		  (1u << DHAT_M_BU) - (1u << DHAT_M_BSU) - (1u << DHAT_M_BKSU));
	CHECK_U64(m->version, 2);
	CHECK_STR(m->mode, "heap");
	CHECK_STR(m->verb, "Allocated");
	CHECK(m->bklt && !m->bkacc);
	CHECK(!m->bu && !m->bsu && !m->bksu);
	CHECK_STR(m->tu, "\xc2\xb5s");
	CHECK_STR(m->mtu, "s");
	CHECK_U64(m->tuth, 10);
	CHECK_STR(m->cmd, "./prog a \"b\"");
	CHECK_U64(m->pid, 42);
	CHECK_U64(m->te, 1000000);
	CHECK_U64(m->tg, 500000);
	CHECK_U64(df.npps, 2);
	CHECK_U64(df.pps[0].present, (1u << DHAT_NSTATS) - 1);
	CHECK_U64(df.pps[0].stat[DHAT_TB], 100);
	CHECK_U64(df.pps[0].stat[DHAT_TBK], 2);
	CHECK_U64(df.pps[0].stat[DHAT_TL], 30);
	CHECK_U64(df.pps[0].stat[DHAT_GB], 50);
	CHECK_U64(df.pps[1].stat[DHAT_EB], 7);
	CHECK_U64(df.pps[1].stat[DHAT_EBK], 1);
	CHECK_U64(df.pps[0].nfs, 2);
	CHECK_U64(df.pps[0].fs[0], 1);
	CHECK_U64(df.pps[0].fs[1], 2);
	CHECK_U64(df.pps[1].fs[1], 3);
	CHECK_U64(df.nftbl, 4);
	CHECK_STR(df.ftbl[0], "[root]");
	CHECK_STR(df.ftbl[3], "0x2010: main (a.c:4)");
	dhat_file_free(&df);
}

/* Valgrind's layout: comma first, access counts; here with the keys
 * shuffled, ftbl first, and unknown keys holding nested values (one
 * that starts like a known key, up to a NUL). */
static void test_any_key_order(void)
{
	static const char json[] =
		"{\"ftbl\":[\"[root]\",\"0x1: f (in /x)\"]\n"
		",\"extra\":{\"a\":[1,{\"b\":[[]]}],\"c\":null}\n"
		",\"pps\":\n [{\"fs\":[1],\"acc\":[-100,0],\"rb\":0\n"
		"  ,\"ebk\":0,\"eb\":0,\"gbk\":1,\"gb\":3,\"mbk\":1,\"mb\":3\n"
		"  ,\"tl\":9,\"tbk\":1,\"tb\":3,\"wb\":1.5,\"tb\\u0000long\":7}\n ]\n"
		",\"tg\":5,\"te\":6,\"pid\":7,\"cmd\":\"x\",\"tuth\":500\n"
		",\"Mtu\":\"Minstr\",\"tu\":\"instrs\",\"bkacc\":true,\"bklt\":true\n"
		",\"verb\":\"Allocated\",\"mode\":\"heap\",\"dhatFileVersion\":2\n}\n";
	struct dhat_file df;
	struct dhat_err err;

	CHECK_U64(load(json, &df, &err), 0);
	CHECK_STR(err.msg, "");
	CHECK_U64(df.npps, 1);
	CHECK_U64(df.pps[0].stat[DHAT_TB], 3);
	CHECK_U64(df.pps[0].stat[DHAT_GB], 3);
	CHECK_U64(df.pps[0].stat[DHAT_TL], 9);
	CHECK_U64(df.pps[0].nfs, 1);
	CHECK_U64(df.nftbl, 2);
	CHECK(df.meta.bkacc);
	CHECK_U64(df.meta.tuth, 500);
	CHECK_STR(df.meta.tu, "instrs");
	dhat_file_free(&df);
}

/* Ad-hoc and copy mode: no lifetimes, only tb/tbk/fs. */
static void test_ad_hoc(void)
{
	static const char json[] =
		"{\"dhatFileVersion\":2,\"mode\":\"rust-ad-hoc\",\"verb\":\"Allocated\",\n"
		"\"bklt\":false,\"bkacc\":false,\"bu\":\"unit\",\"bsu\":\"units\",\"bksu\":\"events\",\n"
		"\"tu\":\"\xc2\xb5s\",\"Mtu\":\"s\",\"cmd\":\"x\",\"pid\":1,\"te\":2,\n"
		"\"pps\":[{\"tb\":30,\"tbk\":3,\"fs\":[]}],\"ftbl\":[\"[root]\"]}";
	struct dhat_file df;
	struct dhat_err err;

	CHECK_U64(load(json, &df, &err), 0);
	CHECK_STR(err.msg, "");
	CHECK(!df.meta.bklt);
	CHECK(!(df.meta.present & (1u << DHAT_M_TG)));
	CHECK_STR(df.meta.bksu, "events");
	CHECK_U64(df.pps[0].present, (1u << DHAT_TB) | (1u << DHAT_TBK));
	CHECK_U64(df.pps[0].stat[DHAT_TB], 30);
	CHECK_U64(df.pps[0].nfs, 0);
	dhat_file_free(&df);
}

/* Numbers up to UINT64_MAX are read exactly (a double would round). */
static void test_big_numbers(void)
{
	static const char json[] =
		"{\"dhatFileVersion\":2,\"bklt\":false,\"ftbl\":[\"[root]\"],"
		"\"pps\":[{\"tb\":18446744073709551615,\"tbk\":9007199254740993,\"fs\":[0]}]}";
	struct dhat_file df;
	struct dhat_err err;

	CHECK_U64(load(json, &df, &err), 0);
	CHECK_U64(df.pps[0].stat[DHAT_TB], UINT64_MAX);
	CHECK_U64(df.pps[0].stat[DHAT_TBK], 9007199254740993ULL);
	dhat_file_free(&df);
}

/* A file of many read chunks: tokens cross every chunk boundary. */
static void test_many_chunks(void)
{
	size_t n = 4000, i, cap = n * 200 + 1000, len = 0;
	char *json = malloc(cap);
	struct dhat_file df;
	struct dhat_err err;
	uint64_t tb = 0;

	len += sprintf(json + len, "{\"dhatFileVersion\":2,\"bklt\":true,\"pps\":[");
	for (i = 0; i < n; i++)
		len += sprintf(json + len, "%s{\"tb\":%zu,\"tbk\":1,\"mb\":1,"
			       "\"mbk\":1,\"gb\":0,\"gbk\":0,\"eb\":0,\"ebk\":0,"
			       "\"fs\":[%zu,%zu]}", i ? "," : "", i * 1000003,
			       i % 7 + 1, i % 5 + 1);
	len += sprintf(json + len, "],\"ftbl\":[\"[root]\"");
	for (i = 1; i <= 7; i++)
		len += sprintf(json + len, ",\"0x%zX: f%zu (a.c:%zu)\"", i, i, i);
	len += sprintf(json + len, "]}");
	CHECK(len > 4 * 65536);

	CHECK_U64(load_str(json, len, &df, &err), 0);
	CHECK_STR(err.msg, "");
	CHECK_U64(df.npps, n);
	for (i = 0; i < df.npps; i++) {
		tb += df.pps[i].stat[DHAT_TB];
		if (df.pps[i].nfs != 2 || df.pps[i].fs[0] != i % 7 + 1 ||
		    df.pps[i].fs[1] != i % 5 + 1)
			break;
	}
	CHECK_U64(i, n);
	CHECK_U64(tb, 1000003ULL * n * (n - 1) / 2);
	CHECK_STR(df.ftbl[7], "0x7: f7 (a.c:7)");
	dhat_file_free(&df);
	free(json);
}

/* What our own writer writes reads back as it was. */
static void test_round_trip(void)
{
	static const char *const ftbl[] = {
		"[root]", "0x1: malloc (in /lib/libc.so.6)",
		"0x2: say \"hi\" \\ \t (a.c:3)", "0x3: main (\xc2\xb5.c:9)",
	};
	static const uint32_t fs0[] = { 1, 2, 3 }, fs1[] = { 1, 3 };
	static const struct profile_pp pps[] = {
		{ .stats = { .tb = 1000, .tbk = 4, .tl_ns = 2500999, .mb = 600,
			     .mbk = 2, .gb = 600, .gbk = 2, .eb = 100, .ebk = 1 },
		  .frames = fs0, .nframes = 3 },
		{ .stats = { .tb = 256, .tbk = 2, .tl_ns = 999, .mb = 256,
			     .mbk = 2, .gb = 256, .gbk = 2 },
		  .frames = fs1, .nframes = 2 },
	};
	static const struct profile p = {
		.cmd = "./prog \"a b\"", .pid = 4242,
		.totals = { .tgmax_ns = 1500000, .tend_ns = 3000999 },
		.pps = pps, .npps = 2, .ftbl = ftbl, .nftbl = 4,
	};
	char *buf = NULL;
	size_t len = 0, i, j;
	FILE *f = open_memstream(&buf, &len);
	struct dhat_file df;
	struct dhat_err err;

	CHECK_U64(out_dhat_json_fprint(&p, f), 0);
	fclose(f);
	CHECK_U64(load_str(buf, len, &df, &err), 0);
	CHECK_STR(err.msg, "");
	CHECK_STR(df.meta.cmd, p.cmd);
	CHECK_U64(df.meta.pid, 4242);
	CHECK_U64(df.meta.te, 3000);
	CHECK_U64(df.meta.tg, 1500);
	CHECK_U64(df.npps, 2);
	for (i = 0; i < 2 && df.npps == 2; i++) {
		const struct heap_pp_stats *s = &pps[i].stats;
		const uint64_t *v = df.pps[i].stat;

		CHECK(v[DHAT_TB] == s->tb && v[DHAT_TBK] == s->tbk &&
		      v[DHAT_TL] == s->tl_ns / 1000 && v[DHAT_MB] == s->mb &&
		      v[DHAT_MBK] == s->mbk && v[DHAT_GB] == s->gb &&
		      v[DHAT_GBK] == s->gbk && v[DHAT_EB] == s->eb &&
		      v[DHAT_EBK] == s->ebk);
		CHECK_U64(df.pps[i].nfs, pps[i].nframes);
		for (j = 0; j < pps[i].nframes && j < df.pps[i].nfs; j++)
			CHECK_U64(df.pps[i].fs[j], pps[i].frames[j]);
	}
	CHECK_U64(df.nftbl, 4);
	for (i = 0; i < 4 && i < df.nftbl; i++)
		CHECK_STR(df.ftbl[i], ftbl[i]);
	dhat_file_free(&df);
	free(buf);
}

/* The streaming interface: callbacks in document order, with indices;
 * a callback's error stops the read. */
struct seen {
	char log[256];
	int stop_at;	/* frame index to fail at, or -1 */
};

static int seen_pp(void *ctx, size_t index, const struct dhat_pp *pp)
{
	struct seen *s = ctx;
	size_t n = strlen(s->log);

	snprintf(s->log + n, sizeof(s->log) - n, "pp%zu:%" PRIu64 ":%zu ",
		 index, pp->stat[DHAT_TB], pp->nfs);
	return 0;
}

static int seen_frame(void *ctx, uint32_t index, const char *str, size_t len)
{
	struct seen *s = ctx;
	size_t n = strlen(s->log);

	if ((int)index == s->stop_at)
		return -ENOSPC;
	snprintf(s->log + n, sizeof(s->log) - n, "f%u:%s:%zu ", index, str,
		 len);
	return 0;
}

static void test_streaming(void)
{
	static const struct dhat_read_ops ops = {
		.pp = seen_pp, .frame = seen_frame,
	};
	struct seen s = { .stop_at = -1 };
	struct dhat_meta m;
	struct dhat_err err;
	FILE *f = fmemopen((void *)minimal, strlen(minimal), "r");

	CHECK_U64(dhat_read(f, "t.json", &ops, &s, &m, &err), 0);
	CHECK_STR(s.log, "pp0:100:2 pp1:7:2 f0:[root]:6 "
		  "f1:0x1000: malloc (in /lib/libc.so.6):34 "
		  "f2:0x2000: main (a.c:3):20 f3:0x2010: main (a.c:4):20 ");
	CHECK_STR(m.cmd, "./prog a \"b\"");
	dhat_meta_free(&m);
	rewind(f);
	s.log[0] = '\0';
	s.stop_at = 2;
	CHECK_U64(dhat_read(f, "t.json", &ops, &s, &m, &err), -ENOSPC);
	CHECK_STR(err.msg, "t.json: byte 433: No space left on device");
	CHECK(!m.cmd);
	fclose(f);
}

/* A valid header for the error cases below. */
#define HDR "{\"dhatFileVersion\":2,\"bklt\":true,"
#define PP_REST "\"mb\":1,\"mbk\":1,\"gb\":1,\"gbk\":1,\"eb\":1,\"ebk\":1"
#define OK_PP "{\"tb\":1,\"tbk\":1," PP_REST ",\"fs\":[1]}"
#define FTBL "\"ftbl\":[\"[root]\",\"0x1: f (a.c:1)\"]"

static void test_errors(void)
{
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
		{ "", "t.json: byte 0: empty file: not a DHAT file" },
		{ " \n ", "t.json: byte 3: empty file: not a DHAT file" },
		{ "[{}]", "t.json: byte 1: expected a JSON object at the top level, got an array: not a DHAT file" },
		{ "dhat", "t.json: byte 1: not valid JSON: lexical error: invalid char in json text." },
		{ HDR "\"pps\":[" OK_PP ",{\"tb\":1",
		  "t.json: byte 118: truncated: the file ends inside a JSON value" },
		{ HDR "\"pps\":[]," FTBL "} x",
		  "t.json: byte 79: not valid JSON: parse error: trailing garbage" },
		{ HDR "\"pps\":[{\"tb\":1e400", "t.json: byte 51: pps[0].tb: expected a non-negative integer, got 1e400" },
		{ HDR "\"pps\":[{\"tb\":18446744073709551616,",
		  "t.json: byte 66: pps[0].tb: 18446744073709551616 does not fit in 64 bits" },
		{ HDR "\"pps\":[{\"tb\":-5,", "t.json: byte 48: pps[0].tb: expected a non-negative integer, got -5" },
		{ HDR "\"pps\":[{\"tb\":1.0,", "t.json: byte 49: pps[0].tb: expected a non-negative integer, got 1.0" },
		{ HDR "\"pps\":[{\"tb\":\"5\",", "t.json: byte 49: pps[0].tb: expected a non-negative integer, got a string" },
		{ HDR "\"pps\":[{\"tb\":null,", "t.json: byte 50: pps[0].tb: expected a non-negative integer, got null" },
		{ HDR "\"pps\":[" OK_PP ",{\"fs\":{}",
		  "t.json: byte 118: pps[1].fs: expected an array, got an object" },
		{ HDR "\"pps\":[{\"fs\":[1,\"x\"]", "t.json: byte 52: pps[0].fs[1]: expected a non-negative integer, got a string" },
		{ HDR "\"pps\":[{\"fs\":[4294967295]", "t.json: byte 57: pps[0].fs[0]: frame index too big" },
		{ HDR "\"pps\":[[]]", "t.json: byte 41: pps[0]: expected an object, got an array" },
		{ HDR "\"pps\":{}", "t.json: byte 40: pps: expected an array, got an object" },
		{ HDR "\"ftbl\":[\"[root]\",7]", "t.json: byte 51: ftbl[1]: expected a string, got a number" },
		{ HDR "\"ftbl\":[\"a\\u0000b\"]", "t.json: byte 51: ftbl[0]: string contains a NUL character" },
		{ "{\"dhatFileVersion\":\"2\"", "t.json: byte 22: dhatFileVersion: expected a non-negative integer, got a string" },
		{ "{\"dhatFileVersion\":1,", "t.json: byte 20: dhatFileVersion is 1; only version 2 is read (valgrind >= 3.17)" },
		{ "{\"bklt\":1", "t.json: byte 9: bklt: expected true or false, got a number" },
		{ "{\"cmd\":[]", "t.json: byte 8: cmd: expected a string, got an array" },
		{ "{\"cmd\":\"\xff\"}", "t.json: byte 9: not valid JSON: lexical error: invalid bytes in UTF8 string." },
		{ "{\"x\":[[[[[[[[[[[[[[[[[[[", "t.json: byte 13: nested more than 8 levels deep: not a DHAT file" },
		{ HDR "\"pps\":[{\"fs\":[[[[[[", "t.json: byte 48: pps[0].fs[0]: expected a non-negative integer, got an array" },
		{ HDR "\"pps\":[]," FTBL ",\"pps\":[]}", "t.json: byte 84: pps: appears twice" },
		{ "{\"bklt\":true,\"pps\":[]," FTBL "}", "t.json: byte 57: missing field 'dhatFileVersion': not a DHAT file" },
		{ "{\"dhatFileVersion\":2,\"pps\":[]," FTBL "}", "t.json: byte 65: missing field 'bklt': not a DHAT file" },
		{ HDR FTBL "}", "t.json: byte 68: missing field 'pps': not a DHAT file" },
		{ HDR "\"pps\":[]}", "t.json: byte 42: missing field 'ftbl': not a DHAT file" },
		{ HDR "\"pps\":[{\"tbk\":1,\"fs\":[]}]", "t.json: byte 57: pps[0]: missing field 'tb'" },
		{ HDR "\"pps\":[{\"tb\":1,\"tbk\":1}]", "t.json: byte 56: pps[0]: missing field 'fs'" },
		{ HDR "\"pps\":[" OK_PP ",{\"tb\":1,\"tbk\":1,\"fs\":[1],"
		  "\"mb\":1,\"mbk\":1,\"gbk\":1,\"eb\":1,\"ebk\":1}]," FTBL "}",
		  "t.json: byte 174: pps[1]: missing field 'gb' (required when bklt is true)" },
		{ "{\"pps\":[" OK_PP ",{\"tb\":1,\"tbk\":1,\"fs\":[1,2,0]}]," FTBL
		  ",\"bklt\":true,\"dhatFileVersion\":2}",
		  "t.json: byte 108: pps[1]: missing field 'mb' (required when bklt is true)" },
		{ HDR "\"pps\":[" OK_PP ",{\"tb\":1,\"tbk\":1," PP_REST ",\"fs\":[1,2,0]}]," FTBL "}",
		  "t.json: byte 181: pps[1].fs[1]: frame 2 is outside ftbl (2 entries)" },
		/* dhtrace's own fields */
		{ HDR "\"dhtraceSampling\":5", "t.json: byte 52: dhtraceSampling: expected an object, got a number" },
		{ HDR "\"dhtraceOverhead\":[]", "t.json: byte 52: dhtraceOverhead: expected an object, got an array" },
		{ HDR "\"dhtraceOverhead\":{},\"dhtraceOverhead\":{}", "t.json: byte 73: dhtraceOverhead: appears twice" },
		{ HDR "\"dhtraceTimeline\":{\"bucketUs\":-1", "t.json: byte 65: dhtraceTimeline.bucketUs: expected a non-negative integer, got -1" },
		{ HDR "\"dhtraceTimeline\":{\"t\":[0,\"1\"]", "t.json: byte 62: dhtraceTimeline.t[1]: expected a non-negative integer, got a string" },
		{ HDR "\"dhtraceTimeline\":{\"bytesMax\":{}", "t.json: byte 64: dhtraceTimeline.bytesMax: expected an array, got an object" },
		{ HDR "\"dhtraceTimeline\":{\"bucketUs\":1,\"t\":[0]}", "t.json: byte 73: dhtraceTimeline: a column missing, or columns of different lengths" },
	};
	struct dhat_file df;
	struct dhat_err err;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int ret = load(cases[i].json, &df, &err);

		CHECK_U64(ret, (uint64_t)-EINVAL);
		CHECK_STR(err.msg, cases[i].msg);
		if (!ret)
			dhat_file_free(&df);
	}
}

static void test_deep_nesting(void)
{
	size_t n = 100000;
	char *json = malloc(n + 2);
	struct dhat_file df;
	struct dhat_err err;

	json[0] = '{';
	memcpy(json + 1, "\"a\":", 4);
	memset(json + 5, '[', n - 5);
	CHECK_U64(load_str(json, n, &df, &err), (uint64_t)-EINVAL);
	CHECK_STR(err.msg, "t.json: byte 13: nested more than 8 levels deep: not a DHAT file");
	free(json);
}

static void test_load_path(void)
{
	struct dhat_file df;
	struct dhat_err err;

	CHECK_U64(profile_load_path("/nonexistent/x.json", &df, &err),
		  (uint64_t)-ENOENT);
	CHECK_STR(err.msg, "cannot open /nonexistent/x.json: No such file or directory");
}

static void test_stat_names(void)
{
	int i;

	for (i = 0; i < DHAT_NSTATS; i++)
		CHECK_U64(dhat_stat_parse(dhat_stat_name(i)), i);
	CHECK_STR(dhat_stat_name(DHAT_GBK), "gbk");
	CHECK_U64(dhat_stat_parse("fs"), (uint64_t)-1);
}

/* --- dhtrace's own fields --------------------------------------------- */

/* A file of dhtrace's with its sampling, overhead and series, spaced out
 * as a person might write it. */
static const char dhtrace_fields[] =
	"{\"dhatFileVersion\":2, \"bklt\":true,\n"
	" \"dhtraceSampling\": {\"meanBytes\": 524288, \"requestedBytes\": 3303348,"
	" \"requestedBlocks\": 268},\n"
	" \"dhtraceOverhead\": {\"allocEntries\":268, \"returns\":268,"
	" \"releases\":262, \"stepped\":3, \"wallNs\":2100000000,"
	" \"hitsPerSecond\":380, \"bpfNs\":180000, \"bpfRuns\":800,"
	" \"trapNs\":{\"emulated\":783.916, \"stepped\":13133.396,"
	" \"return\":634.476}, \"trapsNs\":{\"allocEntries\":210089,"
	" \"returns\":170039, \"releases\":205386}, \"costNs\":765514,"
	" \"targetCpuNs\":50000000, \"costShare\":0.0153, \"slowdown\":0.0155},\n"
	" \"dhtraceTimeline\": {\"bucketUs\":1000, \"t\":[0,1000,2000],"
	" \"bytesMin\":[0,40,40], \"bytesMax\":[100,300,40],"
	" \"bytesLast\":[100,40,40], \"blocksMin\":[0,1,1],"
	" \"blocksMax\":[1,3,1], \"blocksLast\":[1,1,1],"
	" \"allocs\":[1,2,0], \"frees\":[0,2,0]},\n"
	" \"pps\":[], \"ftbl\":[\"[root]\"]}";

/* The reader keeps dhtraceSampling and dhtraceOverhead whole, as compact
 * JSON with the numbers as written, and the series column by column;
 * the overhead reads back into the numbers and the line of the run. */
static void test_dhtrace_fields(void)
{
	static const uint64_t want[DHAT_TL_NCOLS][3] = {
		[DHAT_TL_T] = { 0, 1000, 2000 },
		[DHAT_TL_BYTES_MIN] = { 0, 40, 40 },
		[DHAT_TL_BYTES_MAX] = { 100, 300, 40 },
		[DHAT_TL_BYTES_LAST] = { 100, 40, 40 },
		[DHAT_TL_BLOCKS_MIN] = { 0, 1, 1 },
		[DHAT_TL_BLOCKS_MAX] = { 1, 3, 1 },
		[DHAT_TL_BLOCKS_LAST] = { 1, 1, 1 },
		[DHAT_TL_ALLOCS] = { 1, 2, 0 },
		[DHAT_TL_FREES] = { 0, 2, 0 },
	};
	const struct dhat_timeline *tl;
	struct out_overhead o;
	struct dhat_file df;
	struct dhat_err err;
	char line[512], why[128];

	CHECK_U64(load(dhtrace_fields, &df, &err), 0);
	CHECK_STR(err.msg, "");
	CHECK_STR(df.meta.sampling, "{\"meanBytes\":524288,\"requestedBytes\":"
		  "3303348,\"requestedBlocks\":268}");
	CHECK_STR(df.meta.overhead, "{\"allocEntries\":268,\"returns\":268,"
		  "\"releases\":262,\"stepped\":3,\"wallNs\":2100000000,"
		  "\"hitsPerSecond\":380,\"bpfNs\":180000,\"bpfRuns\":800,"
		  "\"trapNs\":{\"emulated\":783.916,\"stepped\":13133.396,"
		  "\"return\":634.476},\"trapsNs\":{\"allocEntries\":210089,"
		  "\"returns\":170039,\"releases\":205386},\"costNs\":765514,"
		  "\"targetCpuNs\":50000000,\"costShare\":0.0153,"
		  "\"slowdown\":0.0155}");
	tl = &df.meta.timeline;
	CHECK_U64(tl->bucket, 1000);
	CHECK_U64(tl->n, 3);
	for (int c = 0; c < DHAT_TL_NCOLS && tl->n == 3; c++)
		for (size_t i = 0; i < 3; i++)
			CHECK_U64(tl->col[c][i], want[c][i]);
	CHECK_U64(out_overhead_parse(df.meta.overhead, &o, why, sizeof(why)), 0);
	CHECK(o.alloc_hits == 268 && o.return_hits == 268 &&
	      o.release_hits == 262 && o.stepped_hits == 3 &&
	      o.wall_ns == 2100000000 && o.hits_per_sec == 380);
	CHECK(o.bpf_known && o.bpf_ns == 180000 && o.bpf_runs == 800);
	CHECK(o.calibrated && o.trap_emulated_ns == 783.916 &&
	      o.trap_stepped_ns == 13133.396 && o.trap_return_ns == 634.476);
	CHECK(o.traps_alloc_ns == 210089 && o.traps_return_ns == 170039 &&
	      o.traps_release_ns == 205386);
	CHECK(o.cost_ns == 765514 && o.cpu_ns == 50000000);
	/* share and slowdown from the cost and the CPU time, as recorded */
	CHECK(o.share == 765514.0 / 50000000.0);
	CHECK(o.slowdown == 765514.0 / (50000000.0 - 765514.0));
	CHECK_STR(out_overhead_text(&o, line, sizeof(line)),
		  "overhead: 798 probe hits (268 allocation entries, 268 "
		  "returns, 262 releases; 3 single-stepped) in 2.100 s, 380 a "
		  "second; BPF 0.180 ms in 800 runs; traps 0.586 ms (0.78 \xc2\xb5s "
		  "an emulated entry, 13.13 \xc2\xb5s a single-stepped one, 0.63 "
		  "\xc2\xb5s a return); the cost, 0.766 ms, is 1.5% of the "
		  "target's 50.000 ms of CPU: estimated slowdown +1.6%");
	dhat_file_free(&df);
}

/* An overhead object that is not what dhtrace writes is named by its
 * first wrong field. */
static void test_overhead_errors(void)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "[]", "not a JSON object" },
		{ "{\"allocEntries\"", "not a JSON object" },
		{ "{}", "allocEntries: missing, or not what dhtrace writes" },
		{ "{\"allocEntries\":-1}", "allocEntries: missing, or not what dhtrace writes" },
		{ "{\"allocEntries\":1,\"returns\":1.5}",
		  "returns: missing, or not what dhtrace writes" },
		{ "{\"allocEntries\":1,\"returns\":1,\"releases\":1,"
		  "\"stepped\":0,\"wallNs\":1,\"hitsPerSecond\":1,"
		  "\"bpfNs\":null,\"trapNs\":null,\"calibration\":7}",
		  "calibration: missing, or not what dhtrace writes" },
		{ "{\"allocEntries\":1,\"returns\":1,\"releases\":1,"
		  "\"stepped\":0,\"wallNs\":1,\"hitsPerSecond\":1,"
		  "\"bpfNs\":null,\"trapNs\":{\"emulated\":1,\"stepped\":\"2\","
		  "\"return\":3}}", "trapNs: missing, or not what dhtrace writes" },
		{ "{\"allocEntries\":1,\"returns\":1,\"releases\":1,"
		  "\"stepped\":0,\"wallNs\":1,\"hitsPerSecond\":1,"
		  "\"bpfNs\":null,\"trapNs\":null,\"calibration\":\"no\","
		  "\"costNs\":5}", "costNs: missing, or not what dhtrace writes" },
	};
	struct out_overhead o;
	char why[128];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK_U64(out_overhead_parse(cases[i].json, &o, why, sizeof(why)),
			  (uint64_t)-EINVAL);
		CHECK_STR(why, cases[i].msg);
	}
}

/* What the recorder measured, through the file and back, prints the
 * same line: calibrated or not, the CPU time known or not. */
static void test_overhead_round_trip(void)
{
	static const struct out_overhead runs[] = {
		{ .alloc_hits = 2000, .return_hits = 2000, .release_hits = 4000,
		  .wall_ns = 119999999, .hits_per_sec = 66836, .bpf_known = true,
		  .bpf_ns = 5181234, .bpf_runs = 8003, .calibrated = true,
		  .trap_emulated_ns = 783.916, .trap_stepped_ns = 13133.395,
		  .trap_return_ns = 634.475, .traps_alloc_ns = 1567832,
		  .traps_return_ns = 1268950, .traps_release_ns = 3135664,
		  .cost_ns = 11153680, .cpu_ns = 15028000 },
		{ .alloc_hits = 3, .return_hits = 3, .stepped_hits = 1,
		  .wall_ns = 1000, .hits_per_sec = 6000000,
		  .why = "perf_event_open: Permission denied" },
		{ .alloc_hits = 1, .return_hits = 1, .wall_ns = 1,
		  .bpf_known = true, .bpf_ns = 10, .bpf_runs = 2,
		  .calibrated = true, .trap_emulated_ns = 0.001,
		  .trap_stepped_ns = 0.005, .trap_return_ns = 2.5,
		  .traps_alloc_ns = 1, .traps_return_ns = 3, .cost_ns = 14,
		  .cpu_ns = 14 },
	};
	static const char *const ftbl[] = { "[root]" };

	for (size_t i = 0; i < ARRAY_SIZE(runs); i++) {
		struct out_overhead o = runs[i], back;
		struct profile p = { .cmd = "x", .overhead = &o, .ftbl = ftbl,
				     .nftbl = 1 };
		char *buf = NULL, line[512], again[512], why[128];
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		struct dhat_file df;
		struct dhat_err err;

		out_overhead_ratios(&o);
		CHECK_U64(out_dhat_json_fprint(&p, f), 0);
		fclose(f);
		CHECK_U64(load_str(buf, len, &df, &err), 0);
		CHECK_U64(out_overhead_parse(df.meta.overhead, &back, why,
					     sizeof(why)), 0);
		CHECK_STR(out_overhead_text(&back, again, sizeof(again)),
			  out_overhead_text(&o, line, sizeof(line)));
		dhat_file_free(&df);
		free(buf);
	}
}

/* --- frame strings ------------------------------------------------------ */

struct frame_case {
	const char *s;
	bool has_addr;
	uint64_t addr;
	const char *func, *file;
	uint32_t line, col;
	const char *obj;
};

static void check_frame(const struct frame_case *c)
{
	struct dhat_frame fr;
	char func[512], file[256], obj[256];

	dhat_frame_parse(c->s, strlen(c->s), &fr);
	snprintf(func, sizeof(func), "%.*s", (int)fr.func_len, fr.func);
	snprintf(file, sizeof(file), "%.*s", (int)fr.file_len,
		 fr.file ? fr.file : "");
	snprintf(obj, sizeof(obj), "%.*s", (int)fr.obj_len,
		 fr.obj ? fr.obj : "");
	if (fr.has_addr != c->has_addr || fr.addr != c->addr ||
	    strcmp(func, c->func) || !fr.file != !c->file ||
	    (c->file && strcmp(file, c->file)) || fr.line != c->line ||
	    fr.col != c->col || !fr.obj != !c->obj ||
	    (c->obj && strcmp(obj, c->obj))) {
		printf("#   \"%s\": addr %d %" PRIx64 " func \"%s\" file %s\"%s\" "
		       "line %u col %u obj %s\"%s\"\n", c->s, fr.has_addr,
		       fr.addr, func, fr.file ? "" : "NULL ", file, fr.line,
		       fr.col, fr.obj ? "" : "NULL ", obj);
		unit_failed++;
	}
}

static void test_frames(void)
{
	static const struct frame_case cases[] = {
		{ "[root]", false, 0, "[root]", NULL, 0, 0, NULL },
		{ "0x4011D3: main (t.c:12)", true, 0x4011d3, "main", "t.c", 12, 0, NULL },
		{ "0x4011D3: main (/src/sub/t.c:12)", true, 0x4011d3, "main", "/src/sub/t.c", 12, 0, NULL },
		{ "0x4011D3: main (in /usr/bin/x)", true, 0x4011d3, "main", NULL, 0, 0, "/usr/bin/x" },
		{ "0x49027B9: ??? (in /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30)", true, 0x49027b9,
		  "???", NULL, 0, 0, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30" },
		{ "0x80483BF: really (in ?\?\?)", true, 0x80483bf, "really", NULL, 0, 0, NULL },
		{ "0x80483BF: ???", true, 0x80483bf, "???", NULL, 0, 0, NULL },
		{ "0x48DF477: _IO_file_overflow@@GLIBC_2.2.5 (fileops.c:744)", true, 0x48df477,
		  "_IO_file_overflow@@GLIBC_2.2.5", "fileops.c", 744, 0, NULL },
		{ "0x4841F2F: operator new(unsigned long) (in /usr/lib/libstdc++.so.6)", true, 0x4841f2f,
		  "operator new(unsigned long)", NULL, 0, 0, "/usr/lib/libstdc++.so.6" },
		{ "0x10A3B2: std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
		  "(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&) "
		  "(vector.tcc:440)", true, 0x10a3b2,
		  "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
		  "(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)",
		  "vector.tcc", 440, 0, NULL },
		{ "0x10A3B2: std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
		  "(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)",
		  true, 0x10a3b2,
		  "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
		  "(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)",
		  NULL, 0, 0, NULL },
		{ "0x1: (anonymous namespace)::f() (a.cc:3)", true, 1, "(anonymous namespace)::f()", "a.cc", 3, 0, NULL },
		{ "0x1: (anonymous namespace)::f()", true, 1, "(anonymous namespace)::f()", NULL, 0, 0, NULL },
		{ "0x2: foo()::{lambda(int)#1}::operator()(int) const (l.cc:7)", true, 2,
		  "foo()::{lambda(int)#1}::operator()(int) const", "l.cc", 7, 0, NULL },
		{ "0x2: foo()::{lambda(int)#1}::operator()(int) const", true, 2,
		  "foo()::{lambda(int)#1}::operator()(int) const", NULL, 0, 0, NULL },
		{ "0x3: std::function<void (int)>::operator()(int) const (std_function.h:591)", true, 3,
		  "std::function<void (int)>::operator()(int) const", "std_function.h", 591, 0, NULL },
		{ "0x3: f (int) (in /a (b)/x.so)", true, 3, "f (int)", NULL, 0, 0, "/a (b)/x.so" },
		{ "0x1010cbc0c: alloc::raw_vec::RawVec<T,A>::grow_one (alloc/src/raw_vec.rs:450:9)", true,
		  0x1010cbc0c, "alloc::raw_vec::RawVec<T,A>::grow_one", "alloc/src/raw_vec.rs", 450, 9, NULL },
		{ "0x55d4c0c: <alloc::vec::Vec<T> as core::clone::Clone>::clone (src/vec/mod.rs:2647:9)", true,
		  0x55d4c0c, "<alloc::vec::Vec<T> as core::clone::Clone>::clone", "src/vec/mod.rs", 2647, 9, NULL },
		{ "0x1010cbc0c: <alloc::alloc::Global as core::alloc::Allocator>::allocate (alloc/src/alloc.rs:250:14)",
		  true, 0x1010cbc0c, "<alloc::alloc::Global as core::alloc::Allocator>::allocate",
		  "alloc/src/alloc.rs", 250, 14, NULL },
		{ "0x7f00aa: ??? (?\?\?:0:0)", true, 0x7f00aa, "???", NULL, 0, 0, NULL },
		{ "0xdeadbeef: main (src/main.rs:0:0)", true, 0xdeadbeef, "main", "src/main.rs", 0, 0, NULL },
		/* Not locations: stay in the name. */
		{ "0x5: f (t.c)", true, 5, "f (t.c)", NULL, 0, 0, NULL },
		{ "0x5: f (t.c:)", true, 5, "f (t.c:)", NULL, 0, 0, NULL },
		{ "0x5: f (:12)", true, 5, "f (:12)", NULL, 0, 0, NULL },
		{ "0x5: f (t.c:99999999999)", true, 5, "f (t.c:99999999999)", NULL, 0, 0, NULL },
		{ "0x5: f(t.c:1)", true, 5, "f(t.c:1)", NULL, 0, 0, NULL },
		{ "0x5: f (t.c:1) x", true, 5, "f (t.c:1) x", NULL, 0, 0, NULL },
		/* Addresses: 1 to 16 hex digits and ": ". */
		{ "0xFFFFFFFFFFFFFFFF: f", true, UINT64_MAX, "f", NULL, 0, 0, NULL },
		{ "0x1FFFFFFFFFFFFFFFF: f", false, 0, "0x1FFFFFFFFFFFFFFFF: f", NULL, 0, 0, NULL },
		{ "0x12 f", false, 0, "0x12 f", NULL, 0, 0, NULL },
		{ "0x: f", false, 0, "0x: f", NULL, 0, 0, NULL },
		{ "0x1: ", true, 1, "", NULL, 0, 0, NULL },
		{ "", false, 0, "", NULL, 0, 0, NULL },
		{ "main (t.c:3)", false, 0, "main", "t.c", 3, 0, NULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		check_frame(&cases[i]);
}

int main(void)
{
	RUN(test_minimal);
	RUN(test_any_key_order);
	RUN(test_ad_hoc);
	RUN(test_big_numbers);
	RUN(test_many_chunks);
	RUN(test_round_trip);
	RUN(test_streaming);
	RUN(test_errors);
	RUN(test_deep_nesting);
	RUN(test_load_path);
	RUN(test_stat_names);
	RUN(test_dhtrace_fields);
	RUN(test_overhead_errors);
	RUN(test_overhead_round_trip);
	RUN(test_frames);
	UNIT_EXIT();
}
