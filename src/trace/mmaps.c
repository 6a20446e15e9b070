// SPDX-License-Identifier: GPL-2.0
/*
 * A process's executable mappings: /proc/PID/maps when tracing starts, and
 * perf MMAP2 records for every later mmap (dlopen), so addresses can be
 * symbolized after the process has exited or unloaded a library.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "trace/trace.h"

#define WATCH_PAGES 64	/* data pages of the perf ring (a power of two) */

int proc_maps_read(pid_t pid, mapping_fn fn, void *ctx)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!err && getline(&line, &cap, f) > 0) {
		struct mapping m;
		char perms[5];
		int name_at = 0;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64
			   " %*s %*u %n", &m.start, &m.end, perms, &m.pgoff,
			   &name_at) < 4 || !name_at)
			continue;
		if (perms[2] != 'x' || line[name_at] != '/')
			continue;	/* data, anonymous, [vdso] */
		line[strcspn(line, "\n")] = '\0';
		m.path = line + name_at;
		m.pid = pid;
		err = fn(ctx, &m);
	}
	free(line);
	fclose(f);
	return err;
}

/*
 * The kernel refuses to mmap an inherited per-task event (all threads would
 * write one buffer), so there is one event per CPU for each thread, and one
 * ring per CPU that the other threads' events of that CPU write into.
 */
struct mmap_watch {
	int *fds;		/* ring owners first: fds[cpu] */
	size_t nfds;
	void **rings;		/* per CPU: metadata page, then data pages */
	int ncpus;
	size_t page;
	char *copy;		/* a record that wraps around the ring end */
};

/* @tid -1: every process on @cpu. */
static int perf_open(pid_t tid, int cpu, int ring_fd)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_DUMMY,
		.mmap = 1,
		.mmap2 = 1,
		/* threads and processes created later report here too */
		.inherit = tid >= 0,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};
	int fd = syscall(SYS_perf_event_open, &attr, tid, cpu, -1,
			 PERF_FLAG_FD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ring_fd >= 0 && ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ring_fd)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int watch_add(struct mmap_watch *w, pid_t tid)
{
	int *fds;

	fds = realloc(w->fds, (w->nfds + w->ncpus) * sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	w->fds = fds;
	for (int cpu = 0; cpu < w->ncpus; cpu++) {
		bool owner = w->nfds < (size_t)w->ncpus;
		int fd = perf_open(tid, cpu, owner ? -1 : w->fds[cpu]);

		if (fd < 0)
			return fd;
		fds[w->nfds++] = fd;
	}
	return 0;
}

/* Every thread that exists now; later ones inherit from their creator. */
static int watch_threads(struct mmap_watch *w, pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (!err && (d = readdir(dir))) {
		pid_t tid = atoi(d->d_name);

		/* A thread that exited meanwhile makes no more mappings. */
		if (tid > 0 && tid != pid && (err = watch_add(w, tid)) == -ESRCH)
			err = 0;
	}
	closedir(dir);
	return err;
}

static int map_rings(struct mmap_watch *w)
{
	w->rings = calloc(w->ncpus, sizeof(*w->rings));
	if (!w->rings)
		return -ENOMEM;
	for (int cpu = 0; cpu < w->ncpus; cpu++) {
		void *ring = mmap(NULL, w->page * (WATCH_PAGES + 1),
				  PROT_READ | PROT_WRITE, MAP_SHARED,
				  w->fds[cpu], 0);

		if (ring == MAP_FAILED)
			return -errno;
		w->rings[cpu] = ring;
	}
	return 0;
}

/* @pid -1: the whole machine. */
int mmap_watch_open(struct mmap_watch **out, pid_t pid, bool all_threads)
{
	struct mmap_watch *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->page = sysconf(_SC_PAGESIZE);
	w->ncpus = sysconf(_SC_NPROCESSORS_CONF);
	w->copy = malloc(w->page * WATCH_PAGES);
	err = w->copy ? watch_add(w, pid) : -ENOMEM;
	if (!err)
		err = map_rings(w);
	if (!err && all_threads && pid >= 0)
		err = watch_threads(w, pid);
	if (err) {
		mmap_watch_close(w);
		return err;
	}
	*out = w;
	return 0;
}

struct mmap2_record {
	struct perf_event_header header;
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino, ino_generation;
	uint32_t prot, flags;
	char filename[];
};

static int report(const struct mmap2_record *r, mapping_fn fn, void *ctx)
{
	struct mapping m = {
		.start = r->addr,
		.end = r->addr + r->len,
		.pgoff = r->pgoff,
		.path = r->filename,
		.pid = r->pid,
	};

	/* anonymous code (a JIT's) is "//anon": no file, printed "???" */
	if (r->header.size < sizeof(*r) + 1 || !(r->prot & PROT_EXEC) ||
	    r->filename[0] != '/' || !strcmp(r->filename, "//anon"))
		return 0;
	return fn(ctx, &m);
}

static int drain_ring(struct mmap_watch *w, void *ring, mapping_fn fn,
		      void *ctx)
{
	struct perf_event_mmap_page *meta = ring;
	char *data = (char *)ring + w->page;
	uint64_t size = w->page * WATCH_PAGES;
	uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = meta->data_tail;
	int err = 0;

	while (!err && tail < head) {
		struct perf_event_header *h = (void *)(data + tail % size);
		uint64_t off = tail % size;

		if (!h->size)
			break;
		if (off + h->size > size) {
			/* Wrapped: copy the two halves together. */
			uint64_t first = size - off;

			memcpy(w->copy, data + off, first);
			memcpy(w->copy + first, data, h->size - first);
			h = (void *)w->copy;
		}
		if (h->type == PERF_RECORD_MMAP2)
			err = report((const void *)h, fn, ctx);
		tail += h->size;
	}
	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
	return err;
}

int mmap_watch_drain(struct mmap_watch *w, mapping_fn fn, void *ctx)
{
	int err = 0;

	for (int cpu = 0; !err && cpu < w->ncpus; cpu++)
		err = drain_ring(w, w->rings[cpu], fn, ctx);
	return err;
}

void mmap_watch_close(struct mmap_watch *w)
{
	if (!w)
		return;
	for (int cpu = 0; w->rings && cpu < w->ncpus; cpu++)
		if (w->rings[cpu])
			munmap(w->rings[cpu], w->page * (WATCH_PAGES + 1));
	for (size_t i = 0; i < w->nfds; i++)
		close(w->fds[i]);
	free(w->rings);
	free(w->fds);
	free(w->copy);
	free(w);
}
