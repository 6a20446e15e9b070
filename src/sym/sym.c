// SPDX-License-Identifier: GPL-2.0
/* A process's address space, and its stacks as valgrind prints them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sym/sym.h"
#include "sym/sym_int.h"

struct sym {
	pid_t pid;
	struct maps maps;
	struct mapping *told;	/* every mapping told, in order */
	size_t ntold;
	struct obj **objs;	/* one per path, owned */
	size_t nobjs;
	struct memo memo;
	struct ftbl ftbl;
};

struct sym *sym_new(pid_t pid)
{
	struct sym *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pid = pid;
	if (ftbl_init(&s->ftbl)) {
		free(s);
		return NULL;
	}
	return s;
}

void sym_free(struct sym *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nobjs; i++)
		obj_free(s->objs[i]);
	free(s->objs);
	free(s->told);
	maps_free(&s->maps);
	memo_free(&s->memo);
	ftbl_free(&s->ftbl);
	free(s);
}

static struct obj *obj_get(struct sym *s, const char *path, uint64_t start,
			   uint64_t end)
{
	struct obj **v, *o;

	for (size_t i = 0; i < s->nobjs; i++)
		if (!strcmp(obj_path(s->objs[i]), path))
			return s->objs[i];
	v = realloc(s->objs, (s->nobjs + 1) * sizeof(*v));
	if (!v)
		return NULL;
	s->objs = v;
	o = obj_open(path, s->pid, start, end);
	if (o)
		s->objs[s->nobjs++] = o;
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
