// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of src/analysis (report selection: sorting, grouping,
 * filters; diff matching; the plumbing folded away; gate parsing and
 * evaluation) and of the number
 * formatting in src/out, with exact expected values.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "analysis/analysis.h"
#include "out/out.h"
#include "unit.h"

/* Four program points: a big short-lived one, a leak, a many-block one
 * and a C++ frame; tuth 10. */
static const char profile[] =
	"{\"dhatFileVersion\":2,\"mode\":\"heap\",\"verb\":\"Allocated\",\"bklt\":true,"
	"\"bkacc\":false,\"tu\":\"us\",\"Mtu\":\"s\",\"tuth\":10,\"cmd\":\"p\",\"pid\":1,"
	"\"te\":1000,\"tg\":500,\"pps\":["
	"{\"tb\":1000,\"tbk\":2,\"tl\":20,\"mb\":1000,\"mbk\":2,\"gb\":1000,\"gbk\":2,\"eb\":0,\"ebk\":0,\"fs\":[1,3]},"
	"{\"tb\":300,\"tbk\":3,\"tl\":3000,\"mb\":300,\"mbk\":3,\"gb\":200,\"gbk\":2,\"eb\":300,\"ebk\":3,\"fs\":[2,3]},"
	"{\"tb\":400,\"tbk\":40,\"tl\":800,\"mb\":40,\"mbk\":4,\"gb\":0,\"gbk\":0,\"eb\":0,\"ebk\":0,\"fs\":[1,4]},"
	"{\"tb\":50,\"tbk\":1,\"tl\":11,\"mb\":50,\"mbk\":1,\"gb\":50,\"gbk\":1,\"eb\":50,\"ebk\":1,\"fs\":[5,4]}],"
	"\"ftbl\":[\"[root]\",\"0x10: alloc_a (a.c:1)\",\"0x20: alloc_b (in /lib/b.so)\","
	"\"0x30: main (m.c:9)\",\"0x40: work (w.c:5)\","
	"\"0x50: f(int) (x.cc:2)\"]}";

/* The same program, rebuilt: other addresses, one site gone, one new. */
static const char profile2[] =
	"{\"dhatFileVersion\":2,\"mode\":\"heap\",\"verb\":\"Allocated\",\"bklt\":true,"
	"\"bkacc\":false,\"tu\":\"us\",\"Mtu\":\"s\",\"tuth\":10,\"cmd\":\"p\",\"pid\":2,"
	"\"te\":1000,\"tg\":500,\"pps\":["
	"{\"tb\":1100,\"tbk\":2,\"tl\":20,\"mb\":1100,\"mbk\":2,\"gb\":1100,\"gbk\":2,\"eb\":0,\"ebk\":0,\"fs\":[1,3]},"
	"{\"tb\":300,\"tbk\":3,\"tl\":3000,\"mb\":300,\"mbk\":3,\"gb\":200,\"gbk\":2,\"eb\":300,\"ebk\":3,\"fs\":[2,3]},"
	"{\"tb\":7,\"tbk\":1,\"tl\":1,\"mb\":7,\"mbk\":1,\"gb\":0,\"gbk\":0,\"eb\":7,\"ebk\":1,\"fs\":[6,3]}],"
	"\"ftbl\":[\"[root]\",\"0x110: alloc_a (a.c:1)\",\"0x120: alloc_b (in /lib/b.so)\","
	"\"0x130: main (m.c:9)\",\"0x140: work (w.c:5)\",\"0x150: f(int) (x.cc:2)\","
	"\"0x160: fresh (n.c:3)\"]}";

static void load(const char *json, struct dhat_file *df)
{
	FILE *f = fmemopen((void *)json, strlen(json), "r");
	struct dhat_err err;

	if (!f || dhat_load(f, "t.json", df, &err)) {
		printf("# cannot load the fixture: %s\n", f ? err.msg : "fmemopen");
		exit(1);
	}
	fclose(f);
}

/* The file indices of the selected program points, as "2,0,1". */
static const char *order(const struct an_report *r,
			 const struct dhat_file *df, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->nrows && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%zu", i ? "," : "",
			      (size_t)(r->rows[i].pp - df->pps));
	return buf;
}

static const char *select_order(const struct dhat_file *df,
				const struct an_opts *o, char *buf)
{
	struct an_report r;

	if (an_report_compute(df, o, &r))
		return "ENOMEM";
	order(&r, df, buf, 64);
	an_report_free(&r);
	return buf;
}

static void test_report_sorts(void)
{
	struct dhat_file df;
	char buf[64];
	struct an_opts o = { 0 };

	load(profile, &df);
	o.sort = AN_SORT_TOTAL;
	CHECK_STR(select_order(&df, &o, buf), "0,2,1,3");
	o.sort = AN_SORT_BLOCKS;
	CHECK_STR(select_order(&df, &o, buf), "2,1,0,3");
	o.sort = AN_SORT_PEAK;
	CHECK_STR(select_order(&df, &o, buf), "0,1,3,2");
	o.sort = AN_SORT_END;
	CHECK_STR(select_order(&df, &o, buf), "1,3,0,2");
	/* Average lifetimes 10, 1000, 20, 11: tuth 10 takes only pp 0. */
	o.sort = AN_SORT_SHORT;
	CHECK_STR(select_order(&df, &o, buf), "0,2,1,3");
	o.sort = AN_SORT_LIFETIME;
	CHECK_STR(select_order(&df, &o, buf), "1,2,3,0");
	o.limit = 2;
	CHECK_STR(select_order(&df, &o, buf), "1,2");
	dhat_file_free(&df);
}

static void test_report_filters(void)
{
	struct dhat_file df;
	struct an_report r;
	regex_t re;
	char buf[64];
	struct an_opts o = { .min_blocks = 3 };

	load(profile, &df);
	CHECK_STR(select_order(&df, &o, buf), "2,1");
	o = (struct an_opts){ .min_bytes = 400 };
	CHECK_STR(select_order(&df, &o, buf), "0,2");
	o = (struct an_opts){ .leaks = true, .sort = AN_SORT_BLOCKS };
	CHECK_STR(select_order(&df, &o, buf), "1,3");
	/* Function names only: "f(int)" is matched without its location,
	 * and "w.c" in a location matches nothing. */
	CHECK(!regcomp(&re, "^(work|f\\(int\\))$", REG_EXTENDED | REG_NOSUB));
	o = (struct an_opts){ .match = &re };
	CHECK_STR(select_order(&df, &o, buf), "2,3");
	regfree(&re);
	CHECK(!regcomp(&re, "w\\.c", REG_EXTENDED | REG_NOSUB));
	CHECK(!an_report_compute(&df, &o, &r));
	CHECK_U64(r.nrows, 0);
	CHECK_U64(r.nmatched, 0);
	CHECK_U64(r.summary.m[AN_TOTAL], 1750);	/* the whole file */
	an_report_free(&r);
	regfree(&re);
	dhat_file_free(&df);
}

static void test_report_groups(void)
{
	struct dhat_file df;
	struct an_report r;
	struct an_opts o = { .by = AN_BY_FUNCTION };

	load(profile, &df);
	CHECK(!an_report_compute(&df, &o, &r));
	CHECK_U64(r.nrows, 3);
	CHECK_STR(r.rows[0].key, "alloc_a");
	CHECK_U64(r.rows[0].stat[DHAT_TB], 1400);
	CHECK_U64(r.rows[0].stat[DHAT_TBK], 42);
	CHECK_U64(r.rows[0].stat[DHAT_TL], 820);
	CHECK_U64(r.rows[0].stat[DHAT_MB], 0);	/* not additive */
	CHECK_U64(r.rows[0].short_blocks, 2);
	CHECK_U64(r.rows[0].npps, 2);
	CHECK_STR(r.rows[1].key, "alloc_b");
	CHECK_STR(r.rows[2].key, "f(int)");
	an_report_free(&r);

	o.by = AN_BY_FILE;
	CHECK(!an_report_compute(&df, &o, &r));
	CHECK_U64(r.nrows, 3);
	CHECK_STR(r.rows[0].key, "a.c");
	CHECK_STR(r.rows[1].key, "???");	/* alloc_b has no file */
	CHECK_STR(r.rows[2].key, "x.cc");
	an_report_free(&r);

	o.by = AN_BY_OBJECT;
	o.sort = AN_SORT_END;
	CHECK(!an_report_compute(&df, &o, &r));
	CHECK_U64(r.nrows, 2);
	CHECK_STR(r.rows[0].key, "/lib/b.so");
	CHECK_U64(r.rows[0].stat[DHAT_EB], 300);
	CHECK_STR(r.rows[1].key, "???");
	CHECK_U64(r.rows[1].stat[DHAT_EB], 50);
	CHECK_U64(r.rows[1].npps, 3);
	an_report_free(&r);
	dhat_file_free(&df);
}

static void test_diff_matches_without_addresses(void)
{
	struct an_input a = { 0 }, b = { 0 };
	struct an_diff d;

	load(profile, &a.df);
	load(profile2, &b.df);
	an_summary_of(&a.df, &a.summary);
	an_summary_of(&b.df, &b.summary);
	CHECK(!an_diff_compute(&a, &b, AN_SORT_TOTAL, 0, false, &d));
	/* alloc_b's site did not change: left out. */
	CHECK_U64(d.nchanged, 4);
	CHECK_U64(d.nrows, 4);
	CHECK_STR(d.rows[0].key, "alloc_a (a.c:1)\nwork (w.c:5)");
	CHECK_U64(d.rows[0].base[AN_TOTAL], 400);
	CHECK_U64(d.rows[0].new[AN_TOTAL], 0);
	CHECK_STR(d.rows[1].key, "alloc_a (a.c:1)\nmain (m.c:9)");
	CHECK_U64(d.rows[1].base[AN_PEAK], 1000);
	CHECK_U64(d.rows[1].new[AN_PEAK], 1100);
	CHECK_STR(d.rows[2].key, "f(int) (x.cc:2)\nwork (w.c:5)");
	CHECK_STR(d.rows[3].key, "fresh (n.c:3)\nmain (m.c:9)");
	CHECK_U64(d.rows[3].new[AN_END], 7);
	an_diff_free(&d);

	CHECK(!an_diff_compute(&a, &b, AN_SORT_END, 1, false, &d));
	CHECK_U64(d.nchanged, 4);
	CHECK_U64(d.nrows, 1);
	CHECK_STR(d.rows[0].key, "f(int) (x.cc:2)\nwork (w.c:5)");
	an_diff_free(&d);

	/* Against a baseline: totals only. */
	a.summary.is_baseline = true;
	CHECK(!an_diff_compute(&a, &b, AN_SORT_TOTAL, 0, false, &d));
	CHECK_U64(d.nchanged, 0);
	a.summary.is_baseline = false;
	an_diff_free(&d);
	an_input_free(&a);
	an_input_free(&b);
}

#define OWN AN_PLUMB_OWN
#define LIB AN_PLUMB_LIB
#define START AN_PLUMB_START

/* Frames the folding rule tells apart, as dhtrace, valgrind and dhat-rs
 * print them. */
static const struct {
	const char *frame;
	enum an_plumb_kind kind;
	bool bare, call_once;
} plumb_kinds[] = {
	{ "0x1: malloc (in /usr/libexec/valgrind/vgpreload_dhat-amd64-linux.so)", LIB, true, false },
	{ "0x1: free@@GLIBC_2.2.5 (malloc.c:3352)", LIB, true, false },
	{ "0x1: _int_free (vg_replace_malloc.c:872)", LIB, true, false },
	{ "0x1: operator new(unsigned long) (in /usr/lib/libstdc++.so.6)", LIB, true, false },
	{ "0x1: operator new[](unsigned long, std::nothrow_t const&) (new_opv.cc:32)", LIB, true, false },
	{ "0x1: je_malloc_default (jemalloc.c:2000)", LIB, true, false },
	{ "0x1: __rust_alloc (in /x/t)", LIB, true, false },
	{ "0x1: __rustc::__rust_alloc (in /x/t)", LIB, false, false },
	{ "0x1: __rdl_alloc (alloc.rs:10)", LIB, true, false },
	{ "0x1: <alloc::alloc::Global as core::alloc::Allocator>::allocate (alloc/src/alloc.rs:241:9)", LIB, false, false },
	{ "0x1: <alloc::raw_vec::RawVecInner>::finish_grow (in /x/t)", LIB, false, false },
	{ "0x1: alloc::raw_vec::RawVecInner<A>::finish_grow (/rustc/59807616/library/alloc/src/raw_vec/mod.rs:123:9)", LIB, false, false },
	{ "0x1: hashbrown::raw::RawTableInner::new_uninitialized (src/raw/mod.rs:1613)", LIB, false, false },
	{ "0x1: alloc (library/alloc/src/alloc.rs:95)", LIB, true, false },
	/* nothing of its own: an inlined call takes its function's kind */
	{ "0x1: alloc (alloc.rs:95)", OWN, true, false },
	{ "0x1: do_alloc<alloc::alloc::Global> (/rust/deps/hashbrown-0.16.1/src/raw/alloc.rs:19)", LIB, true, false },
	{ "0x1: <[u8; 32] as core::clone::Clone>::clone (core/src/array/mod.rs:377:18)", LIB, false, false },
	{ "0x1: call_once<fn(&str) -> alloc::boxed::Box<str, alloc::alloc::Global>, (&str)> (function.rs:250)", OWN, true, true },
	{ "0x1: core::ops::function::FnOnce::call_once (library/core/src/ops/function.rs:250)", LIB, false, true },
	{ "0x1: std::__new_allocator<int>::allocate(unsigned long, void const*) (new_allocator.h:137)", LIB, false, false },
	{ "0x1: void std::vector<long, std::allocator<long> >::_M_realloc_insert<long>(__gnu_cxx::__normal_iterator<long*, std::vector<long, std::allocator<long> > >, long&&) (vector.tcc:453)", LIB, false, false },
	{ "0x1: std::_Rb_tree_node<int>* std::_Rb_tree<int, int>::_M_create_node<int const&>(int const&) (stl_tree.h:633)", LIB, false, false },
	{ "0x1: __gnu_cxx::new_allocator<int>::allocate(unsigned long, void const*) (new_allocator.h:114)", LIB, false, false },
	{ "0x1: push_back (stl_vector.h:1294)", LIB, true, false },
	{ "0x1: push_back (/usr/include/c++/12/bits/stl_vector.h:1294)", LIB, true, false },
	{ "0x1: _M_allocate (stl_vector.h:378)", LIB, true, false },
	/* a header's name only says so for an inlined call */
	{ "0x1: Pool::push_back(int) (stl_vector.h:10)", OWN, false, false },
	{ "0x1: std::rt::lang_start_internal (rt.rs:171)", START, false, false },
	{ "0x1: std::rt::lang_start::{{closure}} (library/std/src/rt.rs:206)", START, false, false },
	{ "0x1: std::sys::backtrace::__rust_begin_short_backtrace (library/std/src/sys/backtrace.rs:166)", START, false, false },
	/* v0 names: generic arguments after the path */
	{ "0x1: std::sys::backtrace::__rust_begin_short_backtrace::<fn(), ()> (/rustc/5980/library/std/src/sys/backtrace.rs:166:18)", START, false, false },
	{ "0x1: std::rt::lang_start::<()>::{closure#0} (/rustc/5980/library/std/src/rt.rs:206:18)", START, false, false },
	{ "0x1: __libc_start_call_main (libc_start_call_main.h:58)", START, true, false },
	{ "0x1: (below main) (libc-start.c:392)", START, true, false },
	{ "0x1: main (t.c:5)", OWN, true, false },
	{ "0x1: freeze (cold.c:2)", OWN, true, false },
	/* C++ namespaces named as Rust's crates */
	{ "0x1: core::Widget::resize(int) (widget.cc:7)", OWN, false, false },
	{ "0x1: alloc::Pool::get() (pool.cc:3)", OWN, false, false },
	{ "0x1: t_rust::words (t_rust.rs:22)", OWN, false, false },
	{ "0x1: t_rust::tree::{{closure}} (tests/progs/t_rust.rs:31:24)", OWN, false, false },
	{ "0x1: <t_rust::Square as t_rust::Shape>::area (t_rust.rs:13)", OWN, false, false },
	{ "0x1: (anonymous namespace)::grow(std::vector<int, std::allocator<int> >&) (x.cc:3)", OWN, false, false },
	{ "0x1: Cache::operator()(int) const (cache.cc:9)", OWN, false, false },
	{ "0x1: ??? (in /usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6)", OWN, true, false },
};

static void test_plumbing_kinds(void)
{
	for (size_t i = 0; i < sizeof(plumb_kinds) / sizeof(plumb_kinds[0]); i++) {
		const char *s = plumb_kinds[i].frame;
		struct dhat_frame fr;
		struct an_plumb p;

		dhat_frame_parse(s, strlen(s), &fr);
		an_plumb_of(&fr, &p);
		if (p.kind != plumb_kinds[i].kind || p.bare != plumb_kinds[i].bare ||
		    p.call_once != plumb_kinds[i].call_once) {
			printf("#   %s: kind %d bare %d call_once %d\n", s, p.kind,
			       p.bare, p.call_once);
			unit_failed++;
		}
	}
}

/* Stacks, innermost first, as ftbl ids of the frames below. */
static const char *const fold_ftbl[] = {
	"[root]",
	/* 1-12: Rust, optimized: format!() in words(), called from main */
	"0xA: alloc (alloc.rs:95)",
	"0xA: with_capacity (string.rs:485)",
	"0xA: alloc::fmt::format::format_inner (fmt.rs:652)",
	"0xB: {closure#0} (library/alloc/src/fmt.rs:659)",
	"0xB: t_rust::words (t_rust.rs:22)",
	"0xC: t_rust::main (t_rust.rs:40)",
	"0xD: call_once<fn(), ()> (library/core/src/ops/function.rs:250)",
	"0xD: std::sys::backtrace::__rust_begin_short_backtrace (library/std/src/sys/backtrace.rs:166)",
	"0xE: std::rt::lang_start::{{closure}} (library/std/src/rt.rs:206)",
	"0xF: {closure#0} (rt.rs:175)",
	"0xF: std::rt::lang_start_internal (rt.rs:171)",
	"0x10: main (in /x/t)",
	/* 13-16: the program's closure inlined into a generic of alloc */
	"0x20: alloc (library/alloc/src/alloc.rs:95)",
	"0x20: {closure#0} (t_rust.rs:36)",
	"0x20: <alloc::vec::Vec<T> as alloc::vec::spec_from_iter_nested::SpecFromIterNested<T,I>>::from_iter (library/alloc/src/vec/spec_from_iter_nested.rs:60)",
	"0x21: t_rust::shapes (t_rust.rs:36)",
	/* 17-20: the start-up's own allocation */
	"0x30: alloc (alloc.rs:95)",
	"0x30: std::sys::pal::unix::stack_overflow::thread_info::set_current_info (thread_info.rs:114)",
	"0x31: init (stack_overflow.rs:179)",
	"0x31: std::rt::lang_start_internal (rt.rs:171)",
	/* 21-24: C++, optimized: push_back() inlined into main */
	"0x40: allocate (new_allocator.h:137)",
	"0x40: void std::vector<long, std::allocator<long> >::_M_realloc_insert<long>(long&&) (vector.tcc:453)",
	"0x41: push_back (stl_vector.h:1294)",
	"0x41: main (t_cxx.cc:27)",
	/* 25-27: valgrind's wrapper */
	"0x50: malloc (in /usr/libexec/valgrind/vgpreload_dhat-amd64-linux.so)",
	"0x51: leak_one (t.c:10)",
	"0x52: main (t.c:20)",
	/* 28-32: Rust frames by their paths: libc called by the start-up,
	 * std's functions inlined into it */
	"0x60: __fopen_internal (iofopen.c:65)",
	"0x61: pthread_getattr_np@@GLIBC_2.32 (pthread_getattr_np.c:85)",
	"0x62: std::sys::pal::unix::stack_overflow::imp::get_stack_start (/rustc/5980/library/std/src/sys/pal/unix/stack_overflow.rs:372:17)",
	"0x62: std::rt::init (/rustc/5980/library/std/src/rt.rs:118:9)",
	"0x62: std::rt::lang_start_internal (/rustc/5980/library/std/src/rt.rs:171:5)",
	/* 33-36: the program's closure inlined into a generic of alloc */
	"0x70: alloc::alloc::alloc (/rustc/5980/library/alloc/src/alloc.rs:95:9)",
	"0x70: t_rust::shapes::{closure#0} (tests/progs/t_rust.rs:36:21)",
	"0x70: <alloc::vec::Vec<T> as alloc::vec::spec_from_iter_nested::SpecFromIterNested<T,I>>::from_iter (/rustc/5980/library/alloc/src/vec/spec_from_iter_nested.rs:60:16)",
	"0x71: t_rust::shapes (tests/progs/t_rust.rs:36:60)",
};

static const char *shown(const uint32_t *ids, size_t n, char *buf)
{
	size_t nftbl = sizeof(fold_ftbl) / sizeof(fold_ftbl[0]), first, end;
	struct an_plumb *t = an_plumb_table(fold_ftbl, nftbl);

	if (!t)
		return "ENOMEM";
	an_plumb_shown(t, ids, n, &first, &end);
	free(t);
	snprintf(buf, 32, "%zu-%zu", first, end);
	return buf;
}

static void test_plumbing_folds(void)
{
	static const uint32_t format[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	static const uint32_t cut_short[] = { 1, 2, 3, 4, 5, 6, 7 };
	static const uint32_t closure[] = { 13, 14, 15, 16, 6, 7, 8 };
	static const uint32_t startup[] = { 17, 18, 19, 20, 12 };
	static const uint32_t cxx[] = { 21, 22, 23, 24 };
	static const uint32_t valgrind[] = { 25, 26, 27 };
	static const uint32_t startup_paths[] = { 28, 29, 30, 31, 32, 12 };
	static const uint32_t closure_paths[] = { 33, 34, 35, 36, 6, 7, 8 };
	char buf[32];

	/* words() and main(): the allocation and the start-up folded */
	CHECK_STR(shown(format, 12, buf), "4-6");
	/* a stack cut short in the wrapper main is called through */
	CHECK_STR(shown(cut_short, 7, buf), "4-6");
	/* the closure's file is the program's, not alloc's */
	CHECK_STR(shown(closure, 7, buf), "1-5");
	/* all plumbing: the innermost frame alone */
	CHECK_STR(shown(startup, 5, buf), "0-1");
	CHECK_STR(shown(cxx, 4, buf), "3-4");
	CHECK_STR(shown(valgrind, 3, buf), "1-3");
	/* a library's frames inlined into the start-up are the start-up */
	CHECK_STR(shown(startup_paths, 6, buf), "0-2");
	CHECK_STR(shown(closure_paths, 7, buf), "1-5");
	CHECK_STR(shown(NULL, 0, buf), "0-0");
}

/* Code without symbols groups by its object. */
static const char profile3[] =
	"{\"dhatFileVersion\":2,\"mode\":\"heap\",\"verb\":\"Allocated\",\"bklt\":true,"
	"\"bkacc\":false,\"tu\":\"us\",\"Mtu\":\"s\",\"tuth\":10,\"cmd\":\"p\",\"pid\":3,"
	"\"te\":1000,\"tg\":500,\"pps\":["
	"{\"tb\":10,\"tbk\":1,\"mb\":10,\"mbk\":1,\"gb\":0,\"gbk\":0,\"eb\":0,\"ebk\":0,\"fs\":[1,3]},"
	"{\"tb\":20,\"tbk\":1,\"mb\":20,\"mbk\":1,\"gb\":0,\"gbk\":0,\"eb\":0,\"ebk\":0,\"fs\":[2,3]},"
	"{\"tb\":40,\"tbk\":1,\"mb\":40,\"mbk\":1,\"gb\":0,\"gbk\":0,\"eb\":0,\"ebk\":0,\"fs\":[4,1,3]}],"
	"\"ftbl\":[\"[root]\",\"0x10: ??? (in /usr/lib/libz.so.1)\",\"0x20: ???\","
	"\"0x30: main (m.c:9)\",\"0x40: malloc (in /usr/libexec/valgrind/vgpreload_dhat-amd64-linux.so)\"]}";

static void test_report_groups_stripped_code(void)
{
	struct dhat_file df;
	struct an_report r;
	struct an_opts o = { .by = AN_BY_FUNCTION };

	load(profile3, &df);
	CHECK(!an_report_compute(&df, &o, &r));
	CHECK_U64(r.nrows, 2);
	CHECK_STR(r.rows[0].key, "??? in libz.so.1");
	CHECK_U64(r.rows[0].stat[DHAT_TB], 50);
	CHECK_STR(r.rows[1].key, "???");
	an_report_free(&r);
	/* all frames: valgrind's wrapper is a group of its own */
	o.all_frames = true;
	CHECK(!an_report_compute(&df, &o, &r));
	CHECK_U64(r.nrows, 3);
	CHECK_STR(r.rows[0].key, "malloc");
	an_report_free(&r);
	dhat_file_free(&df);
}

static const char *gate_error(const char *text)
{
	static struct dhat_err err;
	struct an_gate g;

	return an_gate_parse(text, &g, &err) ? err.msg : "parsed";
}

static void test_gate_parse(void)
{
	struct dhat_err err;
	struct an_gate g;

	CHECK(!an_gate_parse("peak>+5%", &g, &err));
	CHECK_U64(g.metric, AN_PEAK);
	CHECK_U64(g.op, AN_GT);
	CHECK(g.relative && g.percent && g.value == 5);
	CHECK(!an_gate_parse("total_blocks >= +1000", &g, &err));
	CHECK_U64(g.metric, AN_TOTAL_BLOCKS);
	CHECK_U64(g.op, AN_GE);
	CHECK(g.relative && !g.percent && g.value == 1000);
	CHECK(!an_gate_parse("peak>50MiB", &g, &err));
	CHECK(!g.relative && g.value == 50.0 * 1048576);
	CHECK(!an_gate_parse("end_blocks<10k", &g, &err));
	CHECK(g.op == AN_LT && g.value == 10000);
	CHECK(!an_gate_parse("total<=1.5GB", &g, &err));
	CHECK(g.op == AN_LE && g.value == 1.5e9);
	CHECK(!an_gate_parse("end>-2KiB", &g, &err));
	CHECK(g.relative && g.value == -2048);
	CHECK_STR(gate_error("peak=5"),
		  "bad --fail-if 'peak=5': expected >, >=, < or <= after the metric");
	CHECK_STR(gate_error("heap>5"),
		  "bad --fail-if 'heap>5': the metric is total, total_blocks, "
		  "peak, peak_blocks, end or end_blocks");
	CHECK_STR(gate_error("peak>5%"),
		  "bad --fail-if 'peak>5%': a percentage is a change: give it a sign (+5%)");
	CHECK_STR(gate_error("peak>5parsecs"),
		  "bad --fail-if 'peak>5parsecs': unknown unit (k, M, G, Ki, Mi, "
		  "Gi, optionally with B; or %)");
	CHECK_STR(gate_error("peak>"),
		  "bad --fail-if 'peak>': expected a number after the operator");
	CHECK_STR(gate_error("peak>1e999"),
		  "bad --fail-if 'peak>1e999': the number is too big");
}

static bool fails(const char *text, uint64_t base, uint64_t new, bool has_base)
{
	struct an_summary b = { .m[AN_PEAK] = base }, n = { .m[AN_PEAK] = new };
	struct an_gate_result res;
	struct dhat_err err;
	struct an_gate g;

	if (an_gate_parse(text, &g, &err))
		return false;
	an_gate_eval(&g, has_base ? &b : NULL, &n, &res);
	return res.failed;
}

static void test_gate_eval(void)
{
	struct an_summary b = { .m[AN_PEAK] = 1000000 },
			  n = { .m[AN_PEAK] = 1100000 };
	struct an_gate_result res;
	struct dhat_err err;
	struct an_gate g;
	char why[128];

	CHECK(fails("peak>+5%", 1000000, 1100000, true));
	CHECK(!fails("peak>+10%", 1000000, 1100000, true));
	CHECK(fails("peak>=+10%", 1000000, 1100000, true));
	CHECK(fails("peak<-5%", 1000, 900, true));
	CHECK(fails("peak>+1000", 1000, 2001, true));
	CHECK(!fails("peak>+1000", 1000, 2000, true));
	CHECK(fails("peak>+50%", 0, 1, true));	/* from 0: infinite */
	CHECK(!fails("peak>+0%", 0, 0, true));
	CHECK(fails("peak>1k", 0, 1001, false));
	CHECK(!fails("peak>1k", 0, 1000, false));
	CHECK(!fails("peak>+5%", 0, 1000, false));	/* no base */

	CHECK(!an_gate_parse("peak>+5%", &g, &err));
	an_gate_eval(&g, &b, &n, &res);
	CHECK(res.failed);
	CHECK_STR(out_gate_reason(&g, &res, why, sizeof(why)),
		  "peak>+5%: 1,000,000 -> 1,100,000 (+10.0%)");
	CHECK(!an_gate_parse("peak>50MiB", &g, &err));
	n.m[AN_PEAK] = 60000000;
	an_gate_eval(&g, NULL, &n, &res);
	CHECK(res.failed);
	CHECK_STR(out_gate_reason(&g, &res, why, sizeof(why)),
		  "peak>50MiB: 60,000,000");
}

static void test_units(void)
{
	char b64[64], b32[32];

	CHECK_STR(out_bytes(0, b64), "0 B");
	CHECK_STR(out_bytes(1023, b64), "1,023 B");
	CHECK_STR(out_bytes(1024, b64), "1,024 B (1.0 KiB)");
	CHECK_STR(out_bytes(1234567, b64), "1,234,567 B (1.2 MiB)");
	CHECK_STR(out_bytes(UINT64_MAX, b64),
		  "18,446,744,073,709,551,615 B (16.0 EiB)");
	CHECK_STR(out_signed(10, 1010, b32), "+1,000");
	CHECK_STR(out_signed(1010, 10, b32), "-1,000");
	CHECK_STR(out_signed(5, 5, b32), "+0");
	CHECK_STR(out_percent(1000, 1100, b32), "+10.0%");
	CHECK_STR(out_percent(1000, 975, b32), "-2.5%");
	CHECK_STR(out_percent(100000, 99999, b32), "-0.1%");
	CHECK_STR(out_percent(0, 1, b32), "+inf%");
	CHECK_STR(out_percent(0, 0, b32), "+0.0%");
}

static void test_names(void)
{
	CHECK_U64(an_sort_parse("short-lived"), AN_SORT_SHORT);
	CHECK_U64(an_sort_parse("lifetime"), AN_SORT_LIFETIME);
	CHECK(an_sort_parse("size") < 0);
	CHECK_U64(an_group_parse("object"), AN_BY_OBJECT);
	CHECK(an_group_parse("line") < 0);
	CHECK_U64(an_metric_parse("end_blocks", 10), AN_END_BLOCKS);
	CHECK(an_metric_parse("end_block", 9) < 0);
}

int main(void)
{
	RUN(test_report_sorts);
	RUN(test_report_filters);
	RUN(test_report_groups);
	RUN(test_diff_matches_without_addresses);
	RUN(test_plumbing_kinds);
	RUN(test_plumbing_folds);
	RUN(test_report_groups_stripped_code);
	RUN(test_gate_parse);
	RUN(test_gate_eval);
	RUN(test_units);
	RUN(test_names);
	UNIT_EXIT();
}
