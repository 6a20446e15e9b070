// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots: the profile so far of every traced process, written to its
 * files while tracing goes on (--snapshot-every, SIGUSR1).
 *
 * A forked child writes them from its copy-on-write image of the session,
 * as redis writes its BGSAVE: the parent only pays for fork() (about 8 ms
 * for a session holding a million live blocks in half a million call
 * sites, whose files take 0.5 s to write) and goes on reading events. The
 * child closes each process's heap as the end of a run would, on its own
 * copy, so a snapshot is the profile a run stopped at that moment writes.
 *
 * The child reports through a pipe: its result, then end of file when it
 * is gone. Whoever reaps it (ptrace's tracer thread waits for every child)
 * does not matter.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "record/record_int.h"

/* In the child: every process's files. Returns the first error. */
static int write_all(const struct shared *sh, const struct record_opts *o,
		     const struct out_overhead *cost, struct proc *const *procs,
		     size_t n, uint64_t now)
{
	struct outputs out = { 0 };
	int first = 0;

	for (size_t i = 0; i < n; i++) {
		struct proc *p = procs[i];
		int err;

		heap_finish(p->heap, now);
		err = outputs_name(o, p->pid, p->root, &out);
		if (!err)
			err = outputs_write(sh, p, &out, cost);
		first = first ? first : err;
	}
	outputs_free(&out);
	return first;
}

int snapshot_start(struct snapshot *sn, const struct shared *sh,
		   const struct record_opts *o, const struct out_overhead *cost,
		   struct proc *const *procs, size_t n, uint64_t now, bool told)
{
	int fds[2], err;
	pid_t pid;

	if (sn->fd >= 0)
		return -EBUSY;
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (!pid) {
		close(fds[0]);
		err = write_all(sh, o, cost, procs, n, now);
		/* Nothing of the parent's (atexit, stdio buffers) runs here. */
		_exit(write(fds[1], &err, sizeof(err)) != sizeof(err));
	}
	close(fds[1]);
	sn->fd = fds[0];
	sn->pid = pid;
	sn->nprocs = n;
	sn->told = told;
	return 0;
}

void snapshot_done(struct snapshot *sn)
{
	int err = -EIO;

	if (sn->fd < 0)
		return;
	/* Blocks until the child has its files in place (or is gone). */
	if (read(sn->fd, &err, sizeof(err)) != sizeof(err))
		err = -EIO;
	close(sn->fd);
	sn->fd = -1;
	waitpid(sn->pid, NULL, __WALL);
	if (sn->told && !err)
		fprintf(stderr, "dhtrace: snapshot written (SIGUSR1): %zu process%s\n",
			sn->nprocs, sn->nprocs == 1 ? "" : "es");
	else if (sn->told)
		fprintf(stderr, "dhtrace: snapshot (SIGUSR1) not written: %s\n",
			strerror(-err));
}
