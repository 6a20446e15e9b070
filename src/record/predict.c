// SPDX-License-Identifier: GPL-2.0
/*
 * Whether a process's allocator is where it was predicted to be. At an
 * exec, the dynamic linker is asked what the new image will load, in our
 * mount namespace and with the process's environment; a process in a
 * container, or one whose library path names files we do not see, loads
 * others. So until the predicted malloc's file is mapped, every file the
 * process maps that was not predicted and defines malloc makes its
 * allocator be looked up again, from what it has mapped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "record/record_int.h"

static bool file_of(pid_t pid, const char *path, uint64_t start,
		    uint64_t end, struct file_id *id)
{
	char *name = sym_mapped_file(pid, path, start, end);
	struct stat st;
	bool ok = name && !stat(name, &st);

	free(name);
	if (ok)
		*id = (struct file_id){ st.st_dev, st.st_ino };
	return ok;
}

static bool same_file(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

int predict_note(struct proc *p, char *const *objs, size_t n)
{
	struct file_id *ids = calloc(n ? n : 1, sizeof(*ids));

	if (!ids)
		return -ENOMEM;
	free(p->predicted);
	p->predicted = ids;
	p->npredicted = 0;
	p->alloc_seen = false;
	for (size_t i = 0; i < n; i++)
		if (file_of(0, objs[i], 0, 0, &ids[p->npredicted]))
			p->npredicted++;
	p->malloc_file = (struct file_id){ 0 };
	for (size_t i = 0; i < p->alloc.n; i++)
		if (p->alloc.v[i].fn == DH_FN_MALLOC &&
		    p->alloc.v[i].layer == ALLOC_LAYER_C)
			file_of(0, p->alloc.v[i].path, 0, 0, &p->malloc_file);
	return 0;
}

/* The allocator the process has mapped, bound to it in place of the
 * predicted one. */
static int rebind(const struct shared *sh, struct proc *p)
{
	struct alloc_sites alloc = { 0 };
	char **objs = NULL;
	size_t n = 0;
	int err;

	err = objects_of_process(p->pid, &objs, &n);
	if (!err)
		err = alloc_sites_find(&alloc, objs, n, sh->allocator);
	objects_free(objs, n);
	if (err)
		return 0;	/* gone, or still nothing we know */
	p->alloc_seen = true;
	/* The predicted allocator by another name (a static image, and a
	 * mapping of the image before its exec): links on the same
	 * functions twice would count every call twice while the old ones
	 * close. */
	if (p->links && proc_same_sites(&alloc, &p->alloc)) {
		alloc_sites_free(&alloc);
		return 0;
	}
	probes_detach(p->links);
	p->links = NULL;
	alloc_sites_free(&p->alloc);
	p->alloc = alloc;
	return proc_attach(sh, p);
}

int predict_check(const struct shared *sh, struct proc *p,
		  const struct mapping *m)
{
	static const char *const names[] = { "malloc" };
	struct file_id id;
	uint64_t off;
	char *name;
	int found;

	if (p->alloc_seen || !file_of(p->pid, m->path, m->start, m->end, &id))
		return 0;
	if (same_file(&id, &p->malloc_file)) {
		p->alloc_seen = true;
		return 0;
	}
	for (size_t i = 0; i < p->npredicted; i++)
		if (same_file(&id, &p->predicted[i]))
			return 0;
	name = sym_mapped_file(p->pid, m->path, m->start, m->end);
	found = name ? elf_find_functions(name, names, 1, &off) : 0;
	free(name);
	return found > 0 ? rebind(sh, p) : 0;
}
