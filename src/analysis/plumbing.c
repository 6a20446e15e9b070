// SPDX-License-Identifier: GPL-2.0
/*
 * Allocator plumbing: the frames that report, diff, folded stacks and
 * pprof output leave out unless --all-frames, so that each call site is
 * shown from its first frame of the program's own code. The DHAT JSON
 * keeps every frame.
 *
 * Only the two ends of a stack are folded; frames in between stay.
 *  - Inner end: allocators and the libraries through which the program
 *    allocates (LIB): from the innermost frame out to the first frame of
 *    the program's own (OWN).
 *  - Outer end: the start-up that calls main (START) and the
 *    FnOnce::call_once wrappers right inside it: the innermost START
 *    frame and everything outside it. Wrappers at the outer end of a
 *    stack cut short (--max-frames) go too.
 * A stack of plumbing only keeps its innermost frame, never nothing.
 *
 * A frame's kind comes from the first rule of the table below that its
 * name, file or object matches. Inlined calls carry the bare name DWARF
 * gives them ("alloc", "push_back", "{closure#0}"), often with a file
 * without its directory, so that little of their own says whose they
 * are. Such a frame takes the kind of the function it is inlined into
 * (the outermost frame at its address) when that says more (OWN < LIB <
 * START) and its file is of the same source tree (the same first
 * directory, or neither has one): Rust's and libstdc++'s internals
 * inlined into their own functions fold, whether their files come with
 * directories or not; the program's closure inlined into a library's
 * generic function, whose file is the program's, does not. Rust frames
 * are named by their paths ("std::rt::init"), so that a library's frame
 * inlined into the start-up says less than the start-up: it is start-up.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "util/array.h"

/* Which part of a frame a rule looks at. */
enum where {
	NAME,		/* the qualified name (qualified() below) */
	PATH,		/* the file, as the frame gives it */
	BASENAME,	/* the file without its directory */
	HEADER,		/* a file without a directory, of a bare name */
	OBJECT,		/* the object file */
};

enum how {
	EXACT,
	RUST_FN,	/* exact, or with a v0 name's "::<generic arguments>" */
	PREFIX,
	SUFFIX,
	NAMESPACE,	/* a prefix, also after the '<' of "<T as Trait>" */
	RUST_PATH,	/* the same, of a name without a C++ parameter list:
			 * C++ programs have namespaces core and alloc too */
	DIR,		/* at the start of a path or after a '/' */
	CONTAINS,
};

struct rule {
	enum where where;
	enum how how;
	const char *text;
	enum an_plumb_kind kind;
};

#define START AN_PLUMB_START
#define LIB AN_PLUMB_LIB

static const struct rule rules[] = {
	/* Below main: what calls main, and what starts a thread. */
	{ NAME, EXACT, "_start", START },
	{ NAME, PREFIX, "__libc_start_", START },	/* _main, _call_main */
	{ NAME, EXACT, "(below main)", START },		/* valgrind's name */
	{ NAME, EXACT, "start_thread", START },
	{ NAME, EXACT, "clone", START },
	{ NAME, EXACT, "clone3", START },
	{ NAME, PREFIX, "std::rt::lang_start", START },	/* _internal, {{closure}} */
	{ NAME, RUST_FN, "std::sys::backtrace::__rust_begin_short_backtrace", START },
	{ NAME, RUST_FN, "std::sys_common::backtrace::__rust_begin_short_backtrace", START },

	/* The allocators. */
	{ NAME, EXACT, "malloc", LIB },
	{ NAME, EXACT, "calloc", LIB },
	{ NAME, EXACT, "realloc", LIB },
	{ NAME, EXACT, "reallocarray", LIB },
	{ NAME, EXACT, "free", LIB },
	{ NAME, EXACT, "cfree", LIB },
	{ NAME, EXACT, "memalign", LIB },
	{ NAME, EXACT, "posix_memalign", LIB },
	{ NAME, EXACT, "aligned_alloc", LIB },
	{ NAME, EXACT, "valloc", LIB },
	{ NAME, EXACT, "pvalloc", LIB },
	{ NAME, EXACT, "__libc_malloc", LIB },
	{ NAME, EXACT, "__libc_calloc", LIB },
	{ NAME, EXACT, "__libc_realloc", LIB },
	{ NAME, EXACT, "__libc_free", LIB },
	{ NAME, EXACT, "__libc_memalign", LIB },
	{ NAME, PREFIX, "operator new", LIB },		/* new[], nothrow, aligned */
	{ NAME, PREFIX, "operator delete", LIB },
	{ NAME, PREFIX, "__cxa_allocate_", LIB },	/* a C++ throw's exception */
	{ NAME, PREFIX, "je_", LIB },			/* jemalloc, */
	{ NAME, PREFIX, "_rjem_", LIB },		/* as Rust's crate prefixes it */
	{ NAME, PREFIX, "mi_", LIB },			/* mimalloc */
	{ NAME, PREFIX, "tc_", LIB },			/* tcmalloc */
	/* Rust's allocator shims; v0 symbols demangle as __rustc::__rust_alloc. */
	{ NAME, EXACT, "__rust_alloc", LIB },
	{ NAME, EXACT, "__rust_dealloc", LIB },
	{ NAME, EXACT, "__rust_realloc", LIB },
	{ NAME, EXACT, "__rust_alloc_zeroed", LIB },
	{ NAME, PREFIX, "__rg_", LIB },
	{ NAME, PREFIX, "__rdl_", LIB },
	{ NAME, PREFIX, "__rustc::", LIB },
	/* valgrind's replacements, with or without its debug information. */
	{ OBJECT, CONTAINS, "/vgpreload_", LIB },
	{ BASENAME, EXACT, "vg_replace_malloc.c", LIB },

	/*
	 * The languages' libraries by name: Rust's alloc, core and std (and
	 * the hashbrown behind std's HashMap); C++'s std (std::allocator,
	 * std::__new_allocator, std::allocator_traits, the containers) and
	 * __gnu_cxx (new_allocator).
	 */
	{ NAME, RUST_PATH, "alloc::", LIB },
	{ NAME, RUST_PATH, "core::", LIB },
	{ NAME, NAMESPACE, "std::", LIB },
	{ NAME, RUST_PATH, "hashbrown::", LIB },
	{ NAME, NAMESPACE, "__gnu_cxx::", LIB },
	/* By file: Rust's standard library as rustc's line tables give it
	 * (/rustc/HASH/library/alloc/src/..., rustc-VERSION-src/library/...,
	 * library/alloc/src/... in a program's crate) or dhat-rs cuts it. */
	{ PATH, DIR, "library/alloc/", LIB },
	{ PATH, DIR, "library/core/", LIB },
	{ PATH, DIR, "library/std/", LIB },
	{ PATH, PREFIX, "alloc/src/", LIB },
	{ PATH, PREFIX, "core/src/", LIB },
	{ PATH, PREFIX, "std/src/", LIB },
	/* std's own dependencies as rustc is built; a registry's hashbrown */
	{ PATH, DIR, "rust/deps/", LIB },
	{ PATH, DIR, "hashbrown-", LIB },
	/* the C++ standard library's headers (libstdc++, libc++) */
	{ PATH, DIR, "include/c++/", LIB },
	/* their inlined calls where the file comes without its directory */
	{ HEADER, SUFFIX, ".tcc", LIB },
	{ HEADER, PREFIX, "stl_", LIB },
	{ HEADER, EXACT, "new_allocator.h", LIB },
	{ HEADER, EXACT, "alloc_traits.h", LIB },
	{ HEADER, EXACT, "allocator.h", LIB },
	{ HEADER, EXACT, "allocated_ptr.h", LIB },
	{ HEADER, EXACT, "basic_string.h", LIB },
	{ HEADER, EXACT, "cow_string.h", LIB },
	{ HEADER, EXACT, "shared_ptr.h", LIB },
	{ HEADER, EXACT, "shared_ptr_base.h", LIB },
	{ HEADER, EXACT, "unique_ptr.h", LIB },
	{ HEADER, EXACT, "std_function.h", LIB },
	{ HEADER, EXACT, "hashtable.h", LIB },
	{ HEADER, EXACT, "hashtable_policy.h", LIB },
	{ HEADER, EXACT, "unordered_map.h", LIB },
	{ HEADER, EXACT, "unordered_set.h", LIB },
	{ HEADER, EXACT, "forward_list.h", LIB },
	{ HEADER, EXACT, "node_handle.h", LIB },
};

static bool text_matches(enum how how, const char *s, size_t n,
			 const char *text)
{
	size_t tn = strlen(text);
	const char *p;

	switch (how) {
	case EXACT:
		return n == tn && !memcmp(s, text, tn);
	case RUST_FN:
		return n >= tn && !memcmp(s, text, tn) &&
		       (n == tn || (n - tn >= 3 && !memcmp(s + tn, "::<", 3)));
	case PREFIX:
	case NAMESPACE:
	case RUST_PATH:
		return n >= tn && !memcmp(s, text, tn);
	case SUFFIX:
		return n >= tn && !memcmp(s + n - tn, text, tn);
	case DIR:
		for (p = s; (p = memmem(p, n - (size_t)(p - s), text, tn)); p++)
			if (p == s || p[-1] == '/')
				return true;
		return false;
	case CONTAINS:
		return memmem(s, n, text, tn) != NULL;
	}
	return false;
}

/* What the rules look at in a frame. */
struct view {
	const struct dhat_frame *fr;
	const char *name;
	size_t name_len;
	bool params;	/* it had a C++ parameter list */
	bool bare;
};

static bool rule_matches(const struct rule *r, const struct view *v)
{
	const struct dhat_frame *fr = v->fr;
	const char *base;

	switch (r->where) {
	case NAME:
		if (r->how == RUST_PATH && v->params)
			return false;
		return text_matches(r->how, v->name, v->name_len, r->text) ||
		       ((r->how == NAMESPACE || r->how == RUST_PATH) &&
			v->name_len && v->name[0] == '<' &&
			text_matches(r->how, v->name + 1, v->name_len - 1, r->text));
	case PATH:
		return fr->file && text_matches(r->how, fr->file, fr->file_len, r->text);
	case BASENAME:
		if (!fr->file)
			return false;
		base = memrchr(fr->file, '/', fr->file_len);
		base = base ? base + 1 : fr->file;
		return text_matches(r->how, base,
				    fr->file_len - (size_t)(base - fr->file), r->text);
	case HEADER:
		return v->bare && fr->file && !memchr(fr->file, '/', fr->file_len) &&
		       text_matches(r->how, fr->file, fr->file_len, r->text);
	case OBJECT:
		return fr->obj && text_matches(r->how, fr->obj, fr->obj_len, r->text);
	}
	return false;
}

/* Template argument depth after @s[i] ("->" of a Rust fn type closes
 * nothing). */
static int angle_after(const char *s, size_t i, int angle)
{
	if (s[i] == '<')
		return angle + 1;
	if (s[i] == '>' && angle && !(i && s[i - 1] == '-'))
		return angle - 1;
	return angle;
}

/* "operator" ends at @s[i]: what follows is the operator's name. */
static bool after_operator(const char *s, size_t i)
{
	return i >= 8 && !memcmp(s + i - 8, "operator", 8);
}

/*
 * The qualified name in a demangled one: without a C++ return type
 * ("void std::f<int>(int)"), parameter list ("(int) const") or symbol
 * version ("free@@GLIBC_2.2.5"). Template arguments, "(anonymous
 * namespace)" and "operator()" stay in it.
 */
static void qualified(const char *s, size_t len, struct view *v)
{
	size_t start = 0, i;
	int angle = 0, paren = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		angle = angle_after(s, i, angle);
		if (angle)
			continue;
		if (c == '(' && !paren && i > start && !after_operator(s, i))
			break;			/* the parameter list */
		if (c == '(')
			paren++;
		else if (c == ')' && paren)
			paren--;
		else if (paren)
			continue;
		else if (c == '@')
			break;			/* a symbol version */
		else if (c == ' ' && !after_operator(s, i))
			start = i + 1;		/* after a return type */
	}
	v->name = s + start;
	v->name_len = i - start;
	v->params = i < len && s[i] == '(';
}

/* Where the last "::" outside template arguments of @s ends; 0: none. */
static size_t last_segment(const char *s, size_t n)
{
	size_t seg = 0;
	int angle = 0;

	for (size_t i = 0; i + 1 < n; i++) {
		angle = angle_after(s, i, angle);
		if (!angle && s[i] == ':' && s[i + 1] == ':')
			seg = i + 2;
	}
	return seg;
}

/* "call_once", "call_once<fn(), ()>", "call_once{{vtable.shim}}". */
static bool is_call_once(const char *s, size_t n)
{
	return n >= 9 && !memcmp(s, "call_once", 9) &&
	       (n == 9 || s[9] == '<' || s[9] == '{');
}

/* The first directory of @file's path, hashed (FNV-1a); 0 when it has
 * no directory. */
static uint32_t root_of(const char *file, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i = 0;

	if (!file || !memchr(file, '/', len))
		return 0;
	while (i < len && file[i] == '/')
		i++;
	for (; i < len && file[i] != '/'; i++)
		h = (h ^ (unsigned char)file[i]) * 16777619u;
	return h ? h : 1;
}

void an_plumb_of(const struct dhat_frame *fr, struct an_plumb *p)
{
	struct view v = { .fr = fr };
	size_t seg;

	qualified(fr->func, fr->func_len, &v);
	seg = last_segment(v.name, v.name_len);
	v.bare = !seg && !(v.name_len && v.name[0] == '<');
	*p = (struct an_plumb){
		.addr = fr->has_addr ? fr->addr : 0,
		.root = root_of(fr->file, fr->file_len),
		.kind = AN_PLUMB_OWN,
		.bare = v.bare,
		.call_once = is_call_once(v.name + seg, v.name_len - seg),
	};
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		if (rule_matches(&rules[i], &v)) {
			p->kind = rules[i].kind;
			break;
		}
	}
}

struct an_plumb *an_plumb_table(const char *const *ftbl, size_t n)
{
	struct an_plumb *t = calloc(n ? n : 1, sizeof(*t));
	struct dhat_frame fr;

	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		dhat_frame_parse(ftbl[i], strlen(ftbl[i]), &fr);
		an_plumb_of(&fr, &t[i]);
	}
	return t;
}

void an_fold_step(const struct an_fold *outer, const struct an_plumb *outer_p,
		  const struct an_plumb *p, struct an_fold *st)
{
	bool same_run = outer && p->addr && p->addr == outer_p->addr;
	uint8_t kind = p->kind;

	st->top_kind = same_run ? outer->top_kind : p->kind;
	st->top_root = same_run ? outer->top_root : p->root;
	if (same_run && (p->bare || kind == AN_PLUMB_LIB) &&
	    p->root == st->top_root && st->top_kind > kind)
		kind = st->top_kind;
	st->cut = kind == AN_PLUMB_START ||
		  (p->call_once && kind != AN_PLUMB_OWN && (!outer || outer->cut));
	st->own = kind == AN_PLUMB_OWN && !st->cut;
}

void an_plumb_shown(const struct an_plumb *by_id, const uint32_t *ids,
		    size_t n, size_t *first, size_t *end)
{
	struct an_fold st[2];
	const struct an_fold *outer = NULL;
	size_t own = n, cut = n;

	for (size_t i = n; i-- > 0;) {
		struct an_fold *cur = &st[i & 1];

		an_fold_step(outer, outer ? &by_id[ids[i + 1]] : NULL,
			     &by_id[ids[i]], cur);
		if (cur->cut)
			cut = i, own = n;
		else if (cur->own)
			own = i;
		outer = cur;
	}
	if (own < n) {
		*first = own;
		*end = cut;
	} else {	/* all plumbing: the innermost frame alone */
		*first = 0;
		*end = n ? 1 : 0;
	}
}
