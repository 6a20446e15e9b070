// SPDX-License-Identifier: GPL-2.0
/* The recorder of one process: its heap, call sites and address space. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "record/record_int.h"
#include "util/array.h"

/* The command line, space-separated, as valgrind records it. */
static char *process_cmdline(pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strdup("");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return strdup("");
	buf[n] = '\0';
	for (ssize_t i = 0; i < n - 1; i++)
		if (!buf[i])
			buf[i] = ' ';
	return strdup(buf);
}

int proc_add_mapping(const struct shared *sh, struct proc *p,
		     const struct mapping *m)
{
	int err = sym_add_mapping(p->sym, m->start, m->end, m->pgoff, m->path);

	if (!err && p->space)
		err = unwind_space_add_mapping(p->space, m);
	return err ? err : predict_check(sh, p, m);
}

struct maps_reading {
	const struct shared *sh;
	struct proc *p;
};

static int add_mapping(void *ctx, const struct mapping *m)
{
	struct maps_reading *r = ctx;

	return proc_add_mapping(r->sh, r->p, m);
}

/* A fresh image: heap, sites, address space. */
static int image_new(const struct shared *sh, struct proc *p, uint64_t now,
		     bool read_maps)
{
	struct maps_reading r = { sh, p };
	int err = 0;

	p->heap = heap_new(now);
	p->sites = sites_new();
	p->sym = sym_new(p->pid, sh->cache);
	if (!p->heap || !p->sites || !p->sym)
		return -ENOMEM;
	heap_set_sampling(p->heap, sh->sample_bytes);
	if (sh->unwind)
		err = unwind_space_open(&p->space, sh->unwind, p->pid);
	if (!err && read_maps)
		err = proc_maps_read(p->pid, add_mapping, &r);
	return err;
}

static void image_free(struct proc *p)
{
	heap_free(p->heap);
	sites_free(p->sites);
	sym_free(p->sym);
	unwind_space_close(p->space);
	p->heap = NULL;
	p->sites = NULL;
	p->sym = NULL;
	p->space = NULL;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct proc *proc_new(const struct shared *sh, pid_t pid, bool running)
{
	struct proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->pidfd = -1;
	p->alloc_seen = running;	/* its allocator comes from its maps */
	p->cpu_before_ns = running ? proc_cpu_ns(pid) : 0;
	p->cmd = process_cmdline(pid);
	if (!p->cmd || image_new(sh, p, monotonic_ns(), running)) {
		proc_free(p);
		return NULL;
	}
	return p;
}

struct proc *proc_fork(const struct proc *parent, pid_t pid)
{
	struct proc *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return NULL;
	p->pid = pid;
	p->pidfd = -1;
	p->ptraced = parent->ptraced;
	p->cmd = strdup(parent->cmd);
	p->exe = parent->exe ? strdup(parent->exe) : NULL;
	p->heap = heap_clone(parent->heap);
	p->sites = sites_clone(parent->sites);
	p->sym = sym_clone(parent->sym, pid);
	err = !p->cmd || !p->heap || !p->sites || !p->sym ? -ENOMEM : 0;
	if (!err && parent->space)
		err = unwind_space_clone(&p->space, parent->space, pid);
	if (!err)
		err = alloc_sites_copy(&p->alloc, &parent->alloc);
	p->alloc_seen = parent->alloc_seen;
	p->malloc_file = parent->malloc_file;
	if (!err && parent->npredicted) {
		p->predicted = malloc(parent->npredicted * sizeof(*p->predicted));
		err = p->predicted ? 0 : -ENOMEM;
	}
	if (!err && p->predicted) {
		memcpy(p->predicted, parent->predicted,
		       parent->npredicted * sizeof(*p->predicted));
		p->npredicted = parent->npredicted;
	}
	if (err) {
		proc_free(p);
		return NULL;
	}
	return p;
}

/* Whether two paths name one file: /proc/PID/root/usr/lib/x and
 * /usr/lib/x do, seen from the same mount namespace. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!strcmp(a, b))
		return true;
	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

bool proc_same_sites(const struct alloc_sites *a, const struct alloc_sites *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].place.offset != b->v[i].place.offset ||
		    a->v[i].fn != b->v[i].fn ||
		    a->v[i].unprobed != b->v[i].unprobed ||
		    a->v[i].nests != b->v[i].nests ||
		    !same_file(a->v[i].path, b->v[i].path))
			return false;
	return true;
}

int proc_attach(const struct shared *sh, struct proc *p)
{
	int err = probes_attach(sh->probes, p->pid, &p->alloc, &p->links);

	if (err)
		fprintf(stderr, "dhtrace: cannot attach to PID %d: %s\n",
			p->pid, strerror(-err));
	return err;
}

/*
 * The new image's allocator is predicted before its mappings are read:
 * one the process mapped meanwhile (it runs, unless ptrace holds it) that
 * was not predicted rebinds the probes (predict.c).
 */
int proc_exec(const struct shared *sh, struct proc *p, uint64_t now_ns)
{
	struct alloc_sites alloc = { 0 };
	char **objs = NULL;
	size_t nobjs = 0;
	int err;

	image_free(p);
	free(p->cmd);
	free(p->exe);
	p->exe = NULL;
	p->cmd = process_cmdline(p->pid);
	if (!p->cmd)
		return -ENOMEM;
	err = objects_of_exec(p->pid, &objs, &nobjs);
	if (!err && nobjs)
		p->exe = strdup(objs[0]);
	/* Tables ready before the libraries are mapped and run. */
	for (size_t i = 0; !err && sh->unwind && i < nobjs; i++)
		unwind_add_object(sh->unwind, p->pid, objs[i], 0, 0);
	if (!err)
		err = alloc_sites_find(&alloc, objs, nobjs, sh->allocator);
	if (err && err != -ENOENT) {
		objects_free(objs, nobjs);
		return err;
	}
	/* Links bound to the process outlive its exec: the same allocator
	 * keeps them. */
	if (!err && p->links && proc_same_sites(&alloc, &p->alloc)) {
		alloc_sites_free(&alloc);
	} else {
		probes_detach(p->links);
		p->links = NULL;
		alloc_sites_free(&p->alloc);
		p->alloc = alloc;
	}
	err = predict_note(p, objs, nobjs);
	objects_free(objs, nobjs);
	/* No allocator known yet: traced, with nothing to see unless it
	 * maps one. */
	if (!err && !p->links && p->alloc.n)
		err = proc_attach(sh, p);
	return err ? err : image_new(sh, p, now_ns, true);
}

/* The program point of a stack, symbolized the first time it is seen. */
static int site_of_stack(const struct shared *sh, struct proc *p,
			 uint64_t stack_id, uint32_t *pp)
{
	uint64_t ips[DH_MAX_FRAMES + 1];
	uint32_t frames[16 * DH_MAX_FRAMES];	/* inlining adds frames */
	int n = 0, nframes = 0, skip;

	if (sites_lookup(p->sites, stack_id, pp))
		return 0;
	if (sh->catch_up)
		sh->catch_up(sh->catch_up_ctx);
	if (stack_id)
		n = probes_stack(sh->probes, stack_id, ips, sh->max_ips);
	/* A wrapper left unprobed (operator new over malloc, Rust's shim
	 * over the System allocator) is no call site: its caller is. */
	skip = n > 0 ? sym_leading_frames(p->sym, ips, n, alloc_fn_named) : 0;
	if (skip < 0)
		return skip;
	if (n > skip)
		nframes = sym_stack(p->sym, ips + skip, n - skip, frames,
				    ARRAY_SIZE(frames));
	return sites_bind(p->sites, stack_id, frames,
			  nframes > 0 ? nframes : 0, pp);
}

/* Each process has a heap of its own: blocks are keyed by address alone. */
int proc_event(const struct shared *sh, struct proc *p,
	       const struct dh_event *e)
{
	uint64_t t = e->ts_ns;
	uint32_t pp;
	int err = 0;

	switch (e->kind) {
	case DH_EV_ALLOC:
		err = site_of_stack(sh, p, e->stack_id, &pp);
		if (!err)
			err = heap_alloc(p->heap, 0, e->addr, e->size, pp, t);
		break;
	case DH_EV_FREE:
		heap_release(p->heap, 0, e->addr, t);
		break;
	case DH_EV_REALLOC_BEGIN:
		err = heap_realloc_begin(p->heap, 0, e->tid, e->old_addr, t);
		break;
	case DH_EV_REALLOC_END:
		err = heap_realloc_end(p->heap, 0, e->tid, e->addr, e->size,
				       !(e->flags & DH_EV_F_UNCOUNTED), t);
		break;
	}
	return err;
}

void proc_free(struct proc *p)
{
	if (!p)
		return;
	image_free(p);
	probes_detach(p->links);
	alloc_sites_free(&p->alloc);
	free(p->predicted);
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p->cmd);
	free(p->exe);
	free(p);
}
