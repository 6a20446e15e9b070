// SPDX-License-Identifier: GPL-2.0
/* A process's address space, and its stacks as valgrind prints them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sym/sym.h"
#include "sym/sym_int.h"

/* Objects by file: described once for every process that maps them. */
struct sym_cache {
	struct obj **objs;	/* owned */
	size_t nobjs;
};

struct sym {
	pid_t pid;
	struct sym_cache *cache;
	bool own_cache;
	struct maps maps;
	struct mapping *told;	/* every mapping told, in order */
	size_t ntold;
	struct memo memo;
	struct ftbl ftbl;
};

struct sym_cache *sym_cache_new(void)
{
	return calloc(1, sizeof(struct sym_cache));
}

void sym_cache_free(struct sym_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nobjs; i++)
		obj_free(c->objs[i]);
	free(c->objs);
	free(c);
}

struct sym *sym_new(pid_t pid, struct sym_cache *cache)
{
	struct sym *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pid = pid;
	s->cache = cache;
	if (!cache) {
		s->cache = sym_cache_new();
		s->own_cache = true;
	}
	if (!s->cache || ftbl_init(&s->ftbl)) {
		sym_free(s);
		return NULL;
	}
	return s;
}

struct sym *sym_clone(const struct sym *parent, pid_t pid)
{
	struct sym *s = sym_new(pid, parent->cache);
	size_t n = parent->ntold;

	if (!s)
		return NULL;
	s->told = malloc((n ? n : 1) * sizeof(*s->told));
	s->maps.v = malloc((parent->maps.n ? parent->maps.n : 1) *
			   sizeof(*s->maps.v));
	if (!s->told || !s->maps.v || ftbl_copy(&s->ftbl, &parent->ftbl) ||
	    memo_copy(&s->memo, &parent->memo)) {
		sym_free(s);
		return NULL;
	}
	memcpy(s->told, parent->told, n * sizeof(*s->told));
	s->ntold = n;
	memcpy(s->maps.v, parent->maps.v, parent->maps.n * sizeof(*s->maps.v));
	s->maps.n = parent->maps.n;
	return s;
}

void sym_free(struct sym *s)
{
	if (!s)
		return;
	if (s->own_cache)
		sym_cache_free(s->cache);
	free(s->told);
	maps_free(&s->maps);
	memo_free(&s->memo);
	ftbl_free(&s->ftbl);
	free(s);
}

/* The object of a mapping, opened the first time any process maps it. */
static struct obj *obj_get(struct sym *s, const char *path, uint64_t start,
			   uint64_t end)
{
	struct sym_cache *c = s->cache;
	char *name = sym_mapped_file(s->pid, path, start, end);
	struct obj **v, *o;
	struct stat st;

	/* As obj_open() opens it: the plain path once the process is
	 * gone (a short-lived one's mappings are read after its exit). */
	if ((name && !stat(name, &st)) || !stat(path, &st)) {
		for (size_t i = 0; i < c->nobjs; i++) {
			if (obj_is(c->objs[i], path, st.st_dev, st.st_ino)) {
				free(name);
				return c->objs[i];
			}
		}
	}
	free(name);
	v = realloc(c->objs, (c->nobjs + 1) * sizeof(*v));
	if (!v)
		return NULL;
	c->objs = v;
	o = obj_open(path, s->pid, start, end);
	if (o)
		c->objs[c->nobjs++] = o;
	return o;
}

int sym_add_mapping(struct sym *s, uint64_t start, uint64_t end,
		    uint64_t pgoff, const char *path)
{
	const struct mapping *m = maps_find(&s->maps, start);
	struct mapping *told;
	struct obj *o;
	int err;

	if (!path || start >= end)
		return -EINVAL;
	o = obj_get(s, path, start, end);
	if (!o)
		return -ENOMEM;
	/* /proc/PID/maps and mmap records may tell the same mapping twice:
	 * keep what was described of it. */
	if (m && m->start == start && m->end == end && m->pgoff == pgoff &&
	    m->obj == o)
		return 0;
	err = memo_drop(&s->memo, start, end);
	if (err)
		return err;
	told = realloc(s->told, (s->ntold + 1) * sizeof(*told));
	if (!told)
		return -ENOMEM;
	s->told = told;
	told[s->ntold] = (struct mapping){ start, end, pgoff, o, s->ntold + 1 };
	err = maps_add(&s->maps, &told[s->ntold]);
	if (!err)
		s->ntold++;
	return err;
}

static int unknown_frame(struct sym *s, uint64_t addr, uint32_t *id)
{
	struct sym_frame parts = { .addr = addr };
	char *text;

	if (asprintf(&text, "0x%" PRIX64 ": ???", addr) < 0)
		return -ENOMEM;
	return ftbl_intern(&s->ftbl, text, &parts, id);
}

/* The frames of return address @ip: a copy of its memo entry. */
static int describe_ip(struct sym *s, uint64_t ip, struct memo_ent *out)
{
	uint64_t addr = ip - 1;	/* the call instruction, not the RA */
	const struct memo_ent *e = memo_get(&s->memo, addr);
	uint32_t ids[SYM_MAX_INLINE];
	enum fn_kind kind = FN_NORMAL;
	const struct mapping *m;
	int n, err;

	if (!e) {
		m = maps_find(&s->maps, addr);
		if (m)
			n = obj_frames(m->obj, addr, addr - m->start + m->pgoff,
				       m->told, &s->ftbl, ids, &kind);
		else
			n = unknown_frame(s, addr, ids) ? -ENOMEM : 1;
		if (n < 0)
			return n;
		err = memo_put(&s->memo, addr, ids, n, kind);
		if (err)
			return err;
		e = memo_get(&s->memo, addr);
	}
	*out = *e;
	return 0;
}

int sym_stack(struct sym *s, const uint64_t *ips, int n, uint32_t *frames,
	      int max)
{
	int keep = n, last_main = -1, first_below = -1, out = 0, err;
	struct memo_ent e;

	for (int i = 0; i < n; i++) {
		err = describe_ip(s, ips[i], &e);
		if (err)
			return err;
		if (e.kind == FN_MAIN)
			last_main = i;
		else if (e.kind == FN_BELOW_MAIN && first_below < 0)
			first_below = i;
	}
	/* VG_(apply_StackTrace): scanning from the outermost frame in, the
	 * trace ends at main; without main, at the innermost below-main. */
	if (last_main >= 0)
		keep = last_main + 1;
	else if (first_below >= 0)
		keep = first_below + 1;
	for (int i = 0; i < keep && out < max; i++) {
		err = describe_ip(s, ips[i], &e);
		if (err)
			return err;
		for (int j = 0; j < e.n && out < max; j++)
			frames[out++] = s->memo.ids[e.first + j];
	}
	return out;
}

size_t sym_frame_count(const struct sym *s)
{
	return s->ftbl.n;
}

const char *sym_frame_text(const struct sym *s, uint32_t id)
{
	return id < s->ftbl.n ? s->ftbl.text[id] : NULL;
}

void sym_frame_parts(const struct sym *s, uint32_t id, struct sym_frame *out)
{
	static const struct sym_frame none;

	*out = id < s->ftbl.n ? s->ftbl.parts[id] : none;
}

size_t sym_mapping_count(const struct sym *s)
{
	return s->ntold;
}

void sym_mapping_at(const struct sym *s, size_t i, struct sym_mapping *out)
{
	const struct mapping *m = &s->told[i];

	*out = (struct sym_mapping){
		.start = m->start, .end = m->end, .pgoff = m->pgoff,
		.path = obj_path(m->obj), .build_id = obj_build_id(m->obj),
	};
}

int sym_leading_frames(struct sym *s, const uint64_t *ips, int n,
		       bool (*match)(const char *symbol))
{
	struct sym_frame f;
	struct memo_ent e;
	int i, err;

	for (i = 0; i < n; i++) {
		err = describe_ip(s, ips[i], &e);
		if (err)
			return err;
		/* the last frame of an address is its symbol's */
		sym_frame_parts(s, s->memo.ids[e.first + e.n - 1], &f);
		if (!f.system_name || !match(f.system_name))
			break;
	}
	return i;
}
