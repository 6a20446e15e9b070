// SPDX-License-Identifier: GPL-2.0
/*
 * Following a process tree with ptrace: each new process is held in its
 * first stop, and each process right after its exec, until the recorder
 * has put its probes in place; then it runs. Signals pass through as they
 * came. Everything ptrace runs on one thread, the tracer: when it returns,
 * the kernel detaches every tracee and lets the held ones go.
 *
 * The recorder talks to the thread through two pipes: events out (fixed
 * size, written whole), requests in.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include "trace/trace.h"
#include "util/array.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

enum request_op { REQ_ADD, REQ_RESUME, REQ_RELEASE, REQ_STOP };

struct request {
	enum request_op op;
	pid_t pid;
};

enum task_state {
	TASK_UNSEEN,	/* announced by its creator, not stopped yet */
	TASK_EARLY,	/* stopped before its creator's event came */
	TASK_HELD,	/* a process stopped until the recorder resumes it */
	TASK_RUNNING,
};

struct task {
	pid_t tid, tgid;
	enum task_state state;
	bool resume_pending;	/* resumed before its first stop */
};

struct follow {
	pthread_t thread;
	bool started;
	bool children;
	int events[2];		/* tracer -> recorder */
	int requests[2];	/* recorder -> tracer */
	int replies[2];		/* tracer -> recorder, for REQ_ADD */
	/* The tracer thread's own. */
	struct task *tasks;
	size_t ntasks, cap;
};

static struct task *task_find(struct follow *f, pid_t tid)
{
	for (size_t i = 0; i < f->ntasks; i++)
		if (f->tasks[i].tid == tid)
			return &f->tasks[i];
	return NULL;
}

static struct task *task_add(struct follow *f, pid_t tid, pid_t tgid,
			     enum task_state state)
{
	struct task *t = task_find(f, tid);

	if (t)
		return t;
	if (grow(&f->tasks, &f->cap, f->ntasks + 1, sizeof(*f->tasks)))
		return NULL;
	t = &f->tasks[f->ntasks++];
	*t = (struct task){ .tid = tid, .tgid = tgid, .state = state };
	return t;
}

static void task_drop(struct follow *f, struct task *t)
{
	*t = f->tasks[--f->ntasks];
}

/* The thread group of @tid, from /proc (it is stopped, it exists). */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[256];
	pid_t tgid = tid;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	fp = fopen(path, "re");
	if (!fp)
		return tid;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(fp);
	return tgid;
}

static void send_event(struct follow *f, enum follow_kind kind, pid_t pid,
		       pid_t parent, int status, uint64_t cpu_ns)
{
	struct follow_event ev = {
		.kind = kind, .pid = pid, .parent = parent, .status = status,
		.cpu_ns = cpu_ns,
	};

	/* The recorder reads on; a full pipe would mean it is gone. */
	if (write(f->events[1], &ev, sizeof(ev)) != sizeof(ev))
		return;
}

static long options(const struct follow *f)
{
	long o = PTRACE_O_TRACEEXEC | PTRACE_O_TRACECLONE;

	if (f->children)
		o |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	return o;
}

static void resume(struct task *t)
{
	t->state = TASK_RUNNING;
	ptrace(PTRACE_CONT, t->tid, 0, 0);
}

/* Seize @pid and each of its threads; threads born meanwhile are caught
 * by a second look (or by TRACECLONE, once their creator is seized). */
static int seize(struct follow *f, pid_t pid)
{
	char path[64];
	bool more = true;
	int err = 0;

	if (ptrace(PTRACE_SEIZE, pid, 0, options(f)))
		return -errno;
	if (!task_add(f, pid, pid, TASK_RUNNING))
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	for (int round = 0; more && round < 8 && !err; round++) {
		DIR *dir = opendir(path);
		struct dirent *d;

		more = false;
		if (!dir)
			return 0;	/* exited: its exit will tell */
		while ((d = readdir(dir))) {
			pid_t tid = atoi(d->d_name);

			if (tid <= 0 || task_find(f, tid))
				continue;
			if (!ptrace(PTRACE_SEIZE, tid, 0, options(f))) {
				more = true;
				if (!task_add(f, tid, pid, TASK_RUNNING))
					err = -ENOMEM;
			}
		}
		closedir(dir);
	}
	return err;
}

/* A creator reports a new task (fork, vfork, clone). */
static void on_new_task(struct follow *f, pid_t creator)
{
	unsigned long msg = 0;
	struct task *c = task_find(f, creator), *t;
	pid_t tid, tgid;

	ptrace(PTRACE_GETEVENTMSG, creator, 0, &msg);
	tid = (pid_t)msg;
	t = task_find(f, tid);
	tgid = t ? t->tgid : tgid_of(tid);
	if (!t)
		t = task_add(f, tid, tgid, TASK_UNSEEN);
	if (t && tgid == tid && f->children) {
		send_event(f, FOLLOW_FORK, tid, c ? c->tgid : creator, 0, 0);
		if (t->state == TASK_EARLY)
			t->state = TASK_HELD;
	} else if (t && t->state == TASK_EARLY) {
		if (tgid == tid)	/* a process we do not follow */
			ptrace(PTRACE_DETACH, tid, 0, 0);
		else
			resume(t);
	}
	if (c)
		resume(c);
	else
		ptrace(PTRACE_CONT, creator, 0, 0);
}

/* A task in PTRACE_EVENT_STOP: new, or in a group stop. */
static void on_event_stop(struct follow *f, pid_t tid, int sig)
{
	struct task *t = task_find(f, tid);

	if (!t) {
		/* Its first stop came before its creator's event. */
		t = task_add(f, tid, tgid_of(tid), TASK_EARLY);
		return;
	}
	switch (t->state) {
	case TASK_UNSEEN:
		if (t->tgid != t->tid) {
			resume(t);
		} else if (!f->children) {
			ptrace(PTRACE_DETACH, tid, 0, 0);
			task_drop(f, t);
		} else if (t->resume_pending) {
			resume(t);
		} else {
			t->state = TASK_HELD;
		}
		break;
	case TASK_RUNNING:
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
		    sig == SIGTTOU)
			ptrace(PTRACE_LISTEN, tid, 0, 0);	/* stays stopped */
		else
			ptrace(PTRACE_CONT, tid, 0, 0);
		break;
	default:
		break;
	}
}

static void on_exec(struct follow *f, pid_t pid)
{
	unsigned long former = 0;
	struct task *t;

	/* A thread that exec'ed takes over the leader's pid. */
	ptrace(PTRACE_GETEVENTMSG, pid, 0, &former);
	if ((pid_t)former != pid && (t = task_find(f, (pid_t)former)))
		task_drop(f, t);
	t = task_add(f, pid, pid, TASK_HELD);
	if (!t) {
		ptrace(PTRACE_CONT, pid, 0, 0);
		return;
	}
	t->state = TASK_HELD;
	send_event(f, FOLLOW_EXEC, pid, 0, 0, 0);
}

static uint64_t cpu_ns_of(const struct rusage *ru)
{
	return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000000ULL +
	       (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1000ULL;
}

static void on_wait(struct follow *f, pid_t tid, int status,
		    const struct rusage *ru)
{
	struct task *t = task_find(f, tid);
	int sig = WSTOPSIG(status);

	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		/* The leader is reported last: its usage is the process's */
		if (t && t->tid == t->tgid)
			send_event(f, FOLLOW_EXIT, tid, 0, status, cpu_ns_of(ru));
		if (t)
			task_drop(f, t);
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	switch (status >> 16) {
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE:
		on_new_task(f, tid);
		break;
	case PTRACE_EVENT_EXEC:
		on_exec(f, tid);
		break;
	case PTRACE_EVENT_STOP:
		on_event_stop(f, tid, sig);
		break;
	case 0:
		/* A signal on its way in: deliver it as it came. */
		ptrace(PTRACE_CONT, tid, 0, sig);
		break;
	default:
		ptrace(PTRACE_CONT, tid, 0, 0);
		break;
	}
}

static void on_resume(struct follow *f, pid_t pid)
{
	struct task *t = task_find(f, pid);

	if (!t)
		return;
	if (t->state == TASK_HELD)
		resume(t);
	else
		t->resume_pending = true;
}

static void on_release(struct follow *f, pid_t pid)
{
	struct task *t = task_find(f, pid);

	if (t && t->state == TASK_HELD) {
		ptrace(PTRACE_DETACH, pid, 0, 0);
		task_drop(f, t);
	} else if (t) {
		t->resume_pending = true;	/* runs, still followed */
	}
}

/* Returns false when told to stop. */
static bool on_request(struct follow *f)
{
	struct request r;
	int err;

	if (read(f->requests[0], &r, sizeof(r)) != sizeof(r))
		return false;
	switch (r.op) {
	case REQ_ADD:
		err = seize(f, r.pid);
		if (write(f->replies[1], &err, sizeof(err)) != sizeof(err))
			return false;
		return true;
	case REQ_RESUME:
		on_resume(f, r.pid);
		return true;
	case REQ_RELEASE:
		on_release(f, r.pid);
		return true;
	default:
		return false;
	}
}

static void *tracer(void *arg)
{
	struct follow *f = arg;
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t chld;
	int ep, sfd;
	bool run = true;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || ep < 0)
		goto out;
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = f->requests[0];
	epoll_ctl(ep, EPOLL_CTL_ADD, f->requests[0], &ev);
	while (run) {
		struct signalfd_siginfo si;
		struct epoll_event got[2];
		struct rusage ru;
		int status, n = epoll_wait(ep, got, ARRAY_SIZE(got), 1000);
		pid_t tid;

		for (int i = 0; i < n && run; i++)
			if (got[i].data.fd == f->requests[0])
				run = on_request(f);
		while (read(sfd, &si, sizeof(si)) == sizeof(si))
			;
		/* SIGCHLD coalesces: reap until nothing is left. */
		while ((tid = wait4(-1, &status, __WALL | WNOHANG, &ru)) > 0)
			on_wait(f, tid, status, &ru);
	}
out:
	if (sfd >= 0)
		close(sfd);
	if (ep >= 0)
		close(ep);
	return NULL;
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

int follow_start(struct follow **out, bool children)
{
	struct follow *f = calloc(1, sizeof(*f));
	sigset_t chld;
	int err;

	if (!f)
		return -ENOMEM;
	f->children = children;
	f->events[0] = f->events[1] = f->requests[0] = f->requests[1] = -1;
	f->replies[0] = f->replies[1] = -1;
	if (pipe2(f->events, O_CLOEXEC) || pipe2(f->requests, O_CLOEXEC) ||
	    pipe2(f->replies, O_CLOEXEC)) {
		err = -errno;
		goto fail;
	}
	fcntl(f->events[0], F_SETFL, O_NONBLOCK);
	fcntl(f->events[0], F_SETPIPE_SZ, 1 << 20);
	/* SIGCHLD waits for the tracer's signalfd, in every thread. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, NULL);
	err = -pthread_create(&f->thread, NULL, tracer, f);
	if (err)
		goto fail;
	f->started = true;
	*out = f;
	return 0;
fail:
	close_pair(f->events);
	close_pair(f->requests);
	close_pair(f->replies);
	free(f);
	return err;
}

static void request(struct follow *f, enum request_op op, pid_t pid)
{
	struct request r = { .op = op, .pid = pid };

	if (write(f->requests[1], &r, sizeof(r)) != sizeof(r))
		return;
}

int follow_add(struct follow *f, pid_t pid)
{
	int err = -EPIPE;

	request(f, REQ_ADD, pid);
	if (read(f->replies[0], &err, sizeof(err)) != sizeof(err))
		return -EPIPE;
	return err;
}

int follow_fd(const struct follow *f)
{
	return f->events[0];
}

int follow_next(struct follow *f, struct follow_event *ev)
{
	ssize_t n = read(f->events[0], ev, sizeof(*ev));

	return n == sizeof(*ev) ? 1 : 0;
}

void follow_resume(struct follow *f, pid_t pid)
{
	request(f, REQ_RESUME, pid);
}

void follow_release(struct follow *f, pid_t pid)
{
	request(f, REQ_RELEASE, pid);
}

void follow_stop(struct follow *f)
{
	if (!f)
		return;
	if (f->started) {
		request(f, REQ_STOP, 0);
		pthread_join(f->thread, NULL);
	}
	close_pair(f->events);
	close_pair(f->requests);
	close_pair(f->replies);
	free(f->tasks);
	free(f);
}
