// SPDX-License-Identifier: GPL-2.0
/*
 * Which functions of a process's objects to probe: every layer of
 * allocator it may call. The C names (and C++'s operators) as the dynamic
 * linker binds them, the first object in search order that defines each;
 * the same API under the prefix of a statically linked or prefixed
 * allocator (je_, _rjem_, mi_, tc_); and Rust's allocator shim, in every
 * object that has one (its symbols are local). Layers nest (Rust's shim
 * over malloc, je_malloc over nothing): the kernel side counts only the
 * outermost call of a thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/insn.h"

struct alloc_fn {
	const char *name;
	enum dh_fn fn;
	unsigned int nargs;	/* what the probe may not see overwritten */
};

/* The C allocation API: plain, and under each prefix. */
static const struct alloc_fn c_api[] = {
	{ "malloc", DH_FN_MALLOC, 1 },
	{ "calloc", DH_FN_CALLOC, 2 },
	{ "realloc", DH_FN_REALLOC, 2 },
	{ "reallocarray", DH_FN_REALLOCARRAY, 3 },
	{ "memalign", DH_FN_MEMALIGN, 2 },
	{ "aligned_alloc", DH_FN_MEMALIGN, 2 },
	{ "posix_memalign", DH_FN_POSIX_MEMALIGN, 3 },
	{ "valloc", DH_FN_VALLOC, 1 },
	{ "pvalloc", DH_FN_VALLOC, 1 },
	{ "free", DH_FN_FREE, 1 },
	{ "cfree", DH_FN_FREE, 1 },
	/* C23's sized frees, and jemalloc's extended API (which libjemalloc
	 * exports unprefixed too) */
	{ "free_sized", DH_FN_FREE, 2 },
	{ "free_aligned_sized", DH_FN_FREE, 3 },
	{ "mallocx", DH_FN_MALLOC, 2 },
	{ "rallocx", DH_FN_REALLOC, 3 },
	{ "dallocx", DH_FN_FREE, 2 },
	{ "sdallocx", DH_FN_FREE, 3 },
};

/* mimalloc's and tcmalloc's own names: only under their prefix, as plain
 * names ("new", "zalloc") they are too common to be an allocator's. */
static const struct alloc_fn prefixed_api[] = {
	{ "zalloc", DH_FN_MALLOC, 1 },
	{ "malloc_aligned", DH_FN_MALLOC, 2 },
	{ "zalloc_aligned", DH_FN_MALLOC, 2 },
	{ "calloc_aligned", DH_FN_CALLOC, 3 },
	{ "mallocn", DH_FN_CALLOC, 2 },
	{ "realloc_aligned", DH_FN_REALLOC, 3 },
	{ "rezalloc", DH_FN_REALLOC, 2 },
	{ "reallocf", DH_FN_REALLOC, 2 },
	{ "reallocn", DH_FN_REALLOCARRAY, 3 },
	{ "recalloc", DH_FN_REALLOCARRAY, 3 },
	{ "free_size", DH_FN_FREE, 2 },
	{ "free_aligned", DH_FN_FREE, 2 },
	{ "free_size_aligned", DH_FN_FREE, 3 },
	{ "new", DH_FN_NEW, 1 },
	{ "new_nothrow", DH_FN_NEW, 1 },
	{ "new_aligned", DH_FN_NEW, 2 },
	{ "new_aligned_nothrow", DH_FN_NEW, 2 },
	{ "new_n", DH_FN_CALLOC, 2 },
	{ "newarray", DH_FN_NEW, 1 },
	{ "newarray_nothrow", DH_FN_NEW, 2 },
	{ "delete", DH_FN_DELETE, 1 },
	{ "delete_sized", DH_FN_DELETE, 2 },
	{ "delete_nothrow", DH_FN_DELETE, 2 },
	{ "deletearray", DH_FN_DELETE, 1 },
	{ "deletearray_sized", DH_FN_DELETE, 2 },
	{ "deletearray_nothrow", DH_FN_DELETE, 2 },
	{ "malloc_skip_new_handler", DH_FN_MALLOC, 1 },
};

/* C++ operator new / delete, every variant libstdc++ exports. */
static const struct alloc_fn cxx_api[] = {
	{ "_Znwm", DH_FN_NEW, 1 },
	{ "_Znam", DH_FN_NEW, 1 },
	{ "_ZnwmRKSt9nothrow_t", DH_FN_NEW, 2 },
	{ "_ZnamRKSt9nothrow_t", DH_FN_NEW, 2 },
	{ "_ZnwmSt11align_val_t", DH_FN_NEW, 2 },
	{ "_ZnamSt11align_val_t", DH_FN_NEW, 2 },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", DH_FN_NEW, 3 },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", DH_FN_NEW, 3 },
	{ "_ZdlPv", DH_FN_DELETE, 1 },
	{ "_ZdaPv", DH_FN_DELETE, 1 },
	{ "_ZdlPvm", DH_FN_DELETE, 2 },
	{ "_ZdaPvm", DH_FN_DELETE, 2 },
	{ "_ZdlPvRKSt9nothrow_t", DH_FN_DELETE, 2 },
	{ "_ZdaPvRKSt9nothrow_t", DH_FN_DELETE, 2 },
	{ "_ZdlPvSt11align_val_t", DH_FN_DELETE, 2 },
	{ "_ZdaPvSt11align_val_t", DH_FN_DELETE, 2 },
	{ "_ZdlPvmSt11align_val_t", DH_FN_DELETE, 3 },
	{ "_ZdaPvmSt11align_val_t", DH_FN_DELETE, 3 },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", DH_FN_DELETE, 3 },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", DH_FN_DELETE, 3 },
};

/* Rust's allocator shim: __rust_X calls __rg_X (a #[global_allocator])
 * or __rdl_X (the default, System); the outermost an object has. */
static const struct alloc_fn rust_api[] = {
	{ "alloc", DH_FN_MALLOC, 2 },			/* (size, align) */
	{ "alloc_zeroed", DH_FN_MALLOC, 2 },
	{ "realloc", DH_FN_RUST_REALLOC, 4 },	/* (ptr, old, align, size) */
	{ "dealloc", DH_FN_DELETE, 3 },		/* (ptr, size, align) */
};

static const char *const rust_layers[] = { "__rust_", "__rg_", "__rdl_" };

/* The prefixed allocators looked for unless --allocator says. */
static const char *const known_prefixes[] = { "je_", "_rjem_", "mi_", "tc_" };

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* One name looked for, and how it binds. */
struct want {
	char *name;
	const struct alloc_fn *fn;
	enum alloc_layer layer;
	const char *prefix;	/* ALLOC_LAYER_PREFIXED */
	bool bound;		/* found in an earlier object */
};

struct wants {
	struct want *v;
	size_t n;
};

static int want_add(struct wants *w, const char *prefix, const char *name,
		    const struct alloc_fn *fn, enum alloc_layer layer)
{
	struct want *v = realloc(w->v, (w->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	w->v = v;
	v[w->n] = (struct want){ .fn = fn, .layer = layer,
				 .prefix = layer == ALLOC_LAYER_PREFIXED ?
					   prefix : NULL };
	if (asprintf(&v[w->n].name, "%s%s", prefix, name) < 0)
		return -ENOMEM;
	w->n++;
	return 0;
}

static int want_api(struct wants *w, const char *prefix,
		    const struct alloc_fn *api, size_t n, enum alloc_layer layer)
{
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		err = want_add(w, prefix, api[i].name, &api[i], layer);
	return err;
}

static int want_prefixed(struct wants *w, const char *prefix)
{
	int err = want_api(w, prefix, c_api, N(c_api), ALLOC_LAYER_PREFIXED);

	return err ? err : want_api(w, prefix, prefixed_api, N(prefixed_api),
				    ALLOC_LAYER_PREFIXED);
}

static int want_plain(struct wants *w)
{
	int err = want_api(w, "", c_api, N(c_api), ALLOC_LAYER_C);

	return err ? err : want_api(w, "", cxx_api, N(cxx_api), ALLOC_LAYER_CXX);
}

static int want_rust(struct wants *w)
{
	int err = 0;

	for (size_t l = 0; l < N(rust_layers) && !err; l++)
		err = want_api(w, rust_layers[l], rust_api, N(rust_api),
			       ALLOC_LAYER_RUST);
	return err;
}

static void wants_free(struct wants *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].name);
	free(w->v);
}

/* An allocator named by --allocator: its prefixes, and the file its
 * unprefixed names must be in. */
static const struct {
	const char *name;
	const char *prefixes[2];
	const char *file;
} named[] = {
	{ "jemalloc", { "je_", "_rjem_" }, "jemalloc" },
	{ "tcmalloc", { "tc_" }, "tcmalloc" },
	{ "mimalloc", { "mi_" }, "mimalloc" },
};

/* What to look for, by @choice (NULL: every layer). Sets *@file to the
 * file name part the plain names must be found in (NULL: any). */
static int wants_of(struct wants *w, const char *choice, const char **file)
{
	int err = 0;

	*file = NULL;
	if (!choice) {
		err = want_rust(w);
		for (size_t i = 0; i < N(known_prefixes) && !err; i++)
			err = want_prefixed(w, known_prefixes[i]);
		return err ? err : want_plain(w);
	}
	if (!strcmp(choice, "rust"))
		return want_rust(w);
	if (!strcmp(choice, "malloc"))
		return want_plain(w);
	for (size_t i = 0; i < N(named); i++) {
		if (strcmp(choice, named[i].name))
			continue;
		for (size_t p = 0; p < 2 && named[i].prefixes[p] && !err; p++)
			err = want_prefixed(w, named[i].prefixes[p]);
		*file = named[i].file;
		return err ? err : want_plain(w);
	}
	return want_prefixed(w, choice);
}

bool alloc_choice_valid(const char *choice)
{
	return choice[0] && !strpbrk(choice, " \t/@");
}

static bool site_known(const struct alloc_sites *s, const char *path,
		       uint64_t offset)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].place.offset == offset &&
		    !strcmp(s->v[i].path, path))
			return true;
	return false;
}

/* A site's own copies of its object's path and its function's name. */
static int site_own_strings(struct alloc_site *v, const char *path,
			    const char *name)
{
	v->path = strdup(path);
	v->name = strdup(name);
	if (v->path && v->name)
		return 0;
	free(v->path);
	free(v->name);
	return -ENOMEM;
}

static int site_add(struct alloc_sites *s, struct decoder *d,
		    const struct elf_code *code, const char *path,
		    uint64_t func_offset, const struct want *w)
{
	struct alloc_site *v;
	struct probe_place place;

	probe_place(d, code, func_offset, w->fn->nargs, &place);
	/* Aliases (memalign = aligned_alloc, cfree = free, mi_malloc =
	 * malloc) share one address: one probe, or a call counts twice. */
	if (site_known(s, path, place.offset))
		return 0;
	v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	v += s->n;
	*v = (struct alloc_site){
		.place = place,
		.func_offset = func_offset,
		.fn = w->fn->fn,
		.layer = w->layer,
		.prefix = w->prefix,
	};
	if (site_own_strings(v, path, w->name))
		return -ENOMEM;
	s->n++;
	return 0;
}

/* Rust's shim: only the outermost of __rust_X, __rg_X, __rdl_X that the
 * object defines. The wants begin with those names, layer by layer. */
static bool shadowed(size_t i, const uint64_t *offsets)
{
	size_t nops = N(rust_api);

	for (size_t j = i % nops; j < i; j += nops)
		if (offsets[j])
			return true;
	return false;
}

static const char *basename_of(const char *path)
{
	const char *base = strrchr(path, '/');

	return base ? base + 1 : path;
}

static bool in_file(const char *path, const char *file)
{
	return !file || strstr(basename_of(path), file);
}

/* The sites of the names found in object @path. */
static int sites_of_object(struct alloc_sites *out, struct wants *w,
			   struct decoder *d, const char *path,
			   const char *file, const char **names,
			   uint64_t *offsets)
{
	bool plain_here = in_file(path, file);
	struct elf_code *code;
	int err;

	if (elf_find_functions(path, names, w->n, offsets) <= 0)
		return 0;
	err = elf_code_open(path, &code);
	for (size_t i = 0; i < w->n && !err; i++) {
		struct want *x = &w->v[i];
		bool plain = x->layer == ALLOC_LAYER_C ||
			     x->layer == ALLOC_LAYER_CXX;

		if (!offsets[i] || x->bound || (plain && !plain_here))
			continue;
		if (x->layer == ALLOC_LAYER_RUST && shadowed(i, offsets))
			continue;
		/* Each object has its own shim; the others bind once. */
		x->bound = x->layer != ALLOC_LAYER_RUST;
		err = site_add(out, d, code, path, offsets[i], x);
	}
	elf_code_close(code);
	return err;
}

static bool releases(enum dh_fn fn)
{
	return fn == DH_FN_FREE || fn == DH_FN_DELETE;
}

/* The names of the sites of @i's kind (allocations or releases) but @i. */
static size_t names_of_kind(const struct alloc_sites *s, size_t i,
			    const char **names)
{
	size_t n = 0;

	for (size_t j = 0; j < s->n; j++)
		if (j != i && releases(s->v[j].fn) == releases(s->v[i].fn))
			names[n++] = s->v[j].name;
	return n;
}

/* Whether wrapper @i always calls another site of its kind: then that
 * site's probes see its calls, and its own would only double the traps. */
static bool seen_inside(const struct alloc_sites *s, size_t i,
			struct decoder *d, const struct elf_code *code,
			const char **names)
{
	size_t n = names_of_kind(s, i, names);

	return fn_always_calls(d, code,
			       elf_code_addr(code, s->v[i].func_offset),
			       names, n);
}

/* Whether allocation @i may call another allocation site (see wrappers.c). */
static bool nests_another(const struct alloc_sites *s, size_t i,
			  struct decoder *d, const struct elf_code *code,
			  const char **names)
{
	size_t n = names_of_kind(s, i, names);

	return fn_may_call(d, code, elf_code_addr(code, s->v[i].func_offset),
			   names, n);
}

/* Rust's shim, and operator new and delete, may be mere wrappers. An
 * aligned new rounds its size up before it calls the C API: not one. */
static bool may_wrap(const struct alloc_site *v)
{
	return v->layer == ALLOC_LAYER_RUST ||
	       (v->layer == ALLOC_LAYER_CXX &&
		(v->fn == DH_FN_DELETE || !strstr(v->name, "align_val_t")));
}

/* Which sites are wrappers left unprobed, and which allocations may call
 * another (both decided by reading their code). */
static int mark_calls(struct alloc_sites *s, struct decoder *d)
{
	const char **names = calloc(s->n, sizeof(*names));
	struct elf_code *code = NULL;
	const char *open_path = NULL;
	int err = names ? 0 : -ENOMEM;

	for (size_t i = 0; i < s->n && !err; i++) {
		struct alloc_site *v = &s->v[i];
		bool wrap = may_wrap(v), alloc = !releases(v->fn);

		if (!wrap && !alloc)
			continue;
		if (!open_path || strcmp(open_path, v->path)) {
			elf_code_close(code);
			err = elf_code_open(v->path, &code);
			open_path = v->path;
		}
		if (err)
			break;
		if (wrap)
			v->unprobed = seen_inside(s, i, d, code, names);
		if (alloc && !v->unprobed)
			v->nests = nests_another(s, i, d, code, names);
	}
	elf_code_close(code);
	free(names);
	return err;
}

int alloc_sites_find(struct alloc_sites *out, char *const *objects, size_t n,
		     const char *choice)
{
	struct wants w = { 0 };
	const char **names = NULL;
	uint64_t *offsets = NULL;
	struct decoder d;
	const char *file;
	int err;

	memset(out, 0, sizeof(*out));
	err = decoder_open(&d);
	if (err)
		return err;
	err = wants_of(&w, choice, &file);
	if (!err && w.n) {
		names = calloc(w.n, sizeof(*names));
		offsets = calloc(w.n, sizeof(*offsets));
		if (!names || !offsets)
			err = -ENOMEM;
	}
	for (size_t i = 0; !err && i < w.n; i++)
		names[i] = w.v[i].name;
	for (size_t o = 0; !err && o < n; o++)
		err = sites_of_object(out, &w, &d, objects[o], file, names,
				      offsets);
	if (!err)
		err = mark_calls(out, &d);
	free(names);
	free(offsets);
	wants_free(&w);
	decoder_close(&d);
	if (!err && !alloc_sites_allocate(out))
		err = -ENOENT;
	if (err)
		alloc_sites_free(out);
	return err;
}

bool alloc_sites_allocate(const struct alloc_sites *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (!releases(s->v[i].fn))
			return true;
	return false;
}

int alloc_sites_copy(struct alloc_sites *dst, const struct alloc_sites *src)
{
	dst->v = calloc(src->n ? src->n : 1, sizeof(*dst->v));
	dst->n = 0;
	if (!dst->v)
		return -ENOMEM;
	for (size_t i = 0; i < src->n; i++) {
		struct alloc_site *v = &dst->v[i];

		*v = src->v[i];
		if (site_own_strings(v, src->v[i].path, src->v[i].name))
			return -ENOMEM;
		dst->n++;
	}
	return 0;
}

void alloc_sites_free(struct alloc_sites *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].name);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Whether @name (@len bytes) is in @api. */
static bool in_api(const struct alloc_fn *api, size_t n, const char *name,
		   size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(api[i].name) == len && !strncmp(api[i].name, name, len))
			return true;
	return false;
}

/* @name without the first of @prefixes it starts with: true if one. */
static bool strip_prefix(const char *const *prefixes, size_t n,
			 const char **name, size_t *len)
{
	for (size_t i = 0; i < n; i++) {
		size_t pl = strlen(prefixes[i]);

		if (*len > pl && !strncmp(*name, prefixes[i], pl)) {
			*name += pl;
			*len -= pl;
			return true;
		}
	}
	return false;
}

bool alloc_fn_named(const char *linked)
{
	size_t len;
	const char *name = sym_linked_name(linked, &len);

	if (strip_prefix(rust_layers, N(rust_layers), &name, &len))
		return in_api(rust_api, N(rust_api), name, len);
	if (strip_prefix(known_prefixes, N(known_prefixes), &name, &len))
		return in_api(c_api, N(c_api), name, len) ||
		       in_api(prefixed_api, N(prefixed_api), name, len);
	return in_api(c_api, N(c_api), name, len) ||
	       in_api(cxx_api, N(cxx_api), name, len);
}

/* The layers in the order a call goes through them. */
static const enum alloc_layer layer_order[] = {
	ALLOC_LAYER_RUST, ALLOC_LAYER_CXX, ALLOC_LAYER_PREFIXED, ALLOC_LAYER_C,
};

static bool same_group(const struct alloc_site *a, const struct alloc_site *b)
{
	return a->layer == b->layer && !strcmp(a->path, b->path) &&
	       (a->prefix == b->prefix ||
		(a->prefix && b->prefix && !strcmp(a->prefix, b->prefix)));
}

static void describe_group(FILE *f, const struct alloc_site *s, bool first)
{
	fputs(first ? "" : ", ", f);
	switch (s->layer) {
	case ALLOC_LAYER_RUST:
		fputs("Rust allocator shim", f);
		break;
	case ALLOC_LAYER_CXX:
		fputs("operator new/delete", f);
		break;
	case ALLOC_LAYER_PREFIXED:
		fprintf(f, "%smalloc…", s->prefix);
		break;
	case ALLOC_LAYER_C:
		fputs("malloc…", f);
		break;
	}
	fprintf(f, " in %s", basename_of(s->path));
}

/* The groups of layers with a probed site, outermost first. */
static void describe_layers(FILE *f, const struct alloc_sites *s)
{
	bool first = true;

	for (size_t l = 0; l < N(layer_order); l++)
		for (size_t i = 0; i < s->n; i++) {
			bool seen = false;

			if (s->v[i].layer != layer_order[l] || s->v[i].unprobed)
				continue;
			for (size_t j = 0; j < i && !seen; j++)
				seen = !s->v[j].unprobed &&
				       same_group(&s->v[j], &s->v[i]);
			if (!seen)
				describe_group(f, &s->v[i], first);
			first &= seen;
		}
}

/* The wrappers left to the layer below them, counted by object. */
static void describe_wrappers(FILE *f, const struct alloc_sites *s)
{
	const char *sep = "; wrappers left to the layer below: ";

	for (size_t i = 0; i < s->n; i++) {
		size_t n = 0;
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = s->v[j].unprobed && !strcmp(s->v[j].path, s->v[i].path);
		if (seen || !s->v[i].unprobed)
			continue;
		for (size_t j = i; j < s->n; j++)
			n += s->v[j].unprobed && !strcmp(s->v[j].path, s->v[i].path);
		fprintf(f, "%s%zu in %s", sep, n, basename_of(s->v[i].path));
		sep = ", ";
	}
}

/* The functions whose probes the kernel single-steps. */
static void describe_stepped(FILE *f, const struct alloc_sites *s)
{
	const char *sep = "";

	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].unprobed || !s->v[i].place.stepped)
			continue;
		fprintf(f, "%s%s in %s", sep, s->v[i].name,
			basename_of(s->v[i].path));
		sep = ", ";
	}
}

static char *describe(const struct alloc_sites *s,
		      void (*fn)(FILE *, const struct alloc_sites *))
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return NULL;
	fn(f, s);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

static void describe_all(FILE *f, const struct alloc_sites *s)
{
	describe_layers(f, s);
	describe_wrappers(f, s);
}

char *alloc_sites_describe(const struct alloc_sites *s)
{
	return describe(s, describe_all);
}

char *alloc_sites_stepped(const struct alloc_sites *s)
{
	return describe(s, describe_stepped);
}
