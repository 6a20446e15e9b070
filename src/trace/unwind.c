// SPDX-License-Identifier: GPL-2.0
/*
 * Unwinding tables for the kernel side: each object's CFI rows, built once
 * per object and copied into the rows map (once per build id: two files
 * with the same one share their rows), and the process's executable
 * mappings, sorted, each pointing at its object's rows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sym/sym.h"
#include "trace/trace.h"

_Static_assert((int)DH_RULE_NONE == (int)CFI_NONE &&
	       (int)DH_RULE_CFA_RSP == (int)CFI_CFA_RSP &&
	       (int)DH_RULE_CFA_RBP == (int)CFI_CFA_RBP &&
	       (int)DH_RULE_OUTERMOST == (int)CFI_OUTERMOST &&
	       (int)DH_RULE_UNKNOWN == (int)CFI_UNKNOWN, "rule numbers differ");

struct unwind_obj {
	dev_t dev;		/* the file, whatever path named it */
	ino_t ino;
	struct cfi_table table;	/* its rows are dropped once copied */
	uint32_t first, count;	/* in the rows map; count 0: frame pointers */
};

struct unwind {
	struct probes *probes;
	uint32_t capacity, used, without_room;
	struct unwind_obj *objs;
	size_t nobjs;
};

/* One process's executable mappings, as the kernel side has them. */
struct unwind_space {
	struct unwind *u;
	pid_t pid;
	int slot;		/* of its mappings in the kernel; -1: none */
	struct dh_unwind_mapping maps[DH_MAX_MAPPINGS];
	uint32_t nmaps;
};

struct unwind *unwind_new(void)
{
	return calloc(1, sizeof(struct unwind));
}

void unwind_free(struct unwind *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nobjs; i++)
		cfi_table_free(&u->objs[i].table);
	free(u->objs);
	free(u);
}

uint32_t unwind_objects_without_room(const struct unwind *u)
{
	return u->without_room;
}

/* Let the kernel side find the object's rows by its file too. */
static int publish_object(struct unwind *u, const struct unwind_obj *o)
{
	struct dh_unwind_object obj = { .first = o->first, .count = o->count };
	struct dh_unwind_file file;

	if (!o->table.nsegs)
		return 0;
	file.dev = (uint64_t)major(o->dev) << 20 | minor(o->dev);
	file.ino = o->ino;
	obj.adjust = o->table.segs[0].offset - o->table.segs[0].vaddr;
	return probes_set_object(u->probes, &file, &obj);
}

/* Copy an object's rows into the kernel's table, if they fit and their
 * addresses fit the rows' 32 bits. */
static int load_rows(struct unwind *u, struct unwind_obj *o)
{
	const struct cfi_table *t = &o->table;
	struct dh_unwind_row *rows;
	int err;

	if (!t->n || t->rows[t->n - 1].pc >> 32)
		return 0;
	if (t->n > u->capacity - u->used) {
		u->without_room++;
		return 0;
	}
	rows = calloc(t->n, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		rows[i] = (struct dh_unwind_row){
			.pc = t->rows[i].pc,
			.cfa_off = t->rows[i].cfa_off,
			.rbp_off = t->rows[i].rbp_off,
			.rule = t->rows[i].rule,
		};
	err = probes_set_rows(u->probes, u->used, rows, t->n);
	free(rows);
	if (err)
		return err;
	o->first = u->used;
	o->count = t->n;
	u->used += t->n;
	/* The kernel has them now; the segments stay for the biases. */
	free(o->table.rows);
	o->table.rows = NULL;
	o->table.n = 0;
	return 0;
}

/* Rows loaded for another file with @o's build id serve @o too: its table
 * gives up its rows as load_rows() would. */
static void share_rows(struct unwind *u, struct unwind_obj *o)
{
	const char *id = o->table.build_id;

	for (size_t i = 0; id && &u->objs[i] < o; i++) {
		const struct unwind_obj *other = &u->objs[i];

		if (!other->count || !other->table.build_id ||
		    strcmp(other->table.build_id, id))
			continue;
		o->first = other->first;
		o->count = other->count;
		free(o->table.rows);
		o->table.rows = NULL;
		o->table.n = 0;
		return;
	}
}

/* Give the kernel side @o's rows (or another file's with its build id):
 * an object without them is unwound by frame pointers. */
static void load_object(struct unwind *u, struct unwind_obj *o)
{
	share_rows(u, o);
	if (!o->table.nsegs || load_rows(u, o) || publish_object(u, o)) {
		cfi_table_free(&o->table);
		o->count = 0;
	}
}

/* The object at @path, mapped at [@start, @end) (or not yet: equal), its
 * table built the first time it is seen. NULL when it cannot be found (it
 * is then unwound by frame pointers). */
static struct unwind_obj *object(struct unwind *u, pid_t pid, const char *path,
				 uint64_t start, uint64_t end)
{
	char *name = sym_mapped_file(pid, path, start, end);
	struct unwind_obj *objs, *o = NULL;
	struct stat st;

	if (!name || stat(name, &st))
		goto out;
	for (size_t i = 0; i < u->nobjs; i++)
		if (u->objs[i].dev == st.st_dev && u->objs[i].ino == st.st_ino) {
			o = &u->objs[i];
			goto out;
		}
	objs = realloc(u->objs, (u->nobjs + 1) * sizeof(*objs));
	if (!objs)
		goto out;
	u->objs = objs;
	o = &objs[u->nobjs++];
	memset(o, 0, sizeof(*o));
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	/* An object we cannot read is unwound by frame pointers. */
	cfi_table_build(name, &o->table);
	if (u->probes)
		load_object(u, o);
out:
	free(name);
	return o;
}

/* Put @m in the sorted list, replacing whatever it overlaps. */
static int insert_mapping(struct unwind_space *s,
			  const struct dh_unwind_mapping *m)
{
	struct dh_unwind_mapping *v = s->maps;
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->nmaps; i++)
		if (v[i].end <= m->start || v[i].start >= m->end)
			v[n++] = v[i];
	if (n == DH_MAX_MAPPINGS)
		return -E2BIG;
	s->nmaps = n;
	while (n && v[n - 1].start > m->start) {
		v[n] = v[n - 1];
		n--;
	}
	v[n] = *m;
	s->nmaps++;
	if (s->slot < 0)
		return 0;
	return probes_set_mappings(s->u->probes, s->pid, s->slot, s->maps,
				   s->nmaps);
}

void unwind_add_object(struct unwind *u, pid_t pid, const char *path,
		       uint64_t start, uint64_t end)
{
	object(u, pid, path, start, end);
}

uint32_t unwind_rows_built(const struct unwind *u)
{
	uint64_t n = 0;

	for (size_t i = 0; i < u->nobjs; i++)
		n += u->objs[i].table.n;
	return n > UINT32_MAX ? UINT32_MAX : n;
}

void unwind_start(struct unwind *u, struct probes *p, uint32_t capacity)
{
	u->probes = p;
	u->capacity = capacity;
	for (size_t i = 0; i < u->nobjs; i++)
		load_object(u, &u->objs[i]);
}

int unwind_space_open(struct unwind_space **out, struct unwind *u, pid_t pid)
{
	struct unwind_space *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->u = u;
	s->pid = pid;
	s->slot = probes_space_open(u->probes, pid);
	if (s->slot < 0 && s->slot != -ENOSPC) {
		int err = s->slot;

		free(s);
		return err;
	}
	*out = s;
	return 0;
}

int unwind_space_clone(struct unwind_space **out,
		       const struct unwind_space *parent, pid_t pid)
{
	int err = unwind_space_open(out, parent->u, pid);

	if (err)
		return err;
	memcpy((*out)->maps, parent->maps, parent->nmaps * sizeof(*parent->maps));
	(*out)->nmaps = parent->nmaps;
	if ((*out)->slot < 0)
		return 0;
	return probes_set_mappings(parent->u->probes, pid, (*out)->slot,
				   (*out)->maps, (*out)->nmaps);
}

void unwind_space_close(struct unwind_space *s)
{
	if (!s)
		return;
	probes_space_close(s->u->probes, s->pid, s->slot);
	free(s);
}

int unwind_space_add_mapping(struct unwind_space *s, const struct mapping *m)
{
	struct dh_unwind_mapping dm = { .start = m->start, .end = m->end };
	struct unwind_obj *o = object(s->u, s->pid, m->path, m->start, m->end);
	uint64_t bias;

	if (o && o->count && !cfi_table_bias(&o->table, m->start, m->pgoff, &bias)) {
		dm.bias = bias;
		dm.first = o->first;
		dm.count = o->count;
	}
	return insert_mapping(s, &dm);
}
