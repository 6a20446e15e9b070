// SPDX-License-Identifier: GPL-2.0
/*
 * The recording session: start the command (or find the -p processes),
 * put the probes on their allocators, hand each event to its process's
 * recorder, follow forks, execs and exits, until the processes are gone
 * or the user stops us; write each process's profile and the summary.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "out/out.h"
#include "record/record_int.h"
#include "util/array.h"

#define POLL_MS 100	/* the kernel side wakes us only when busy */
/* Room in the kernel's table for libraries loaded later: as many rows
 * again as the processes have at the start, and at least this many (more
 * when children may exec other programs). */
#define UNWIND_HEADROOM (64 * 1024)
#define UNWIND_HEADROOM_FOLLOW (1024 * 1024)

/* What the summary keeps of a process whose profile is written. */
struct done {
	pid_t pid;
	char *cmd;
	char *allocator;	/* the layers probed (alloc_sites_describe) */
	char *stepped;		/* the functions single-stepped */
	struct heap_totals totals;
	struct dh_totals requested;	/* --sample-bytes: counted exactly */
	struct outputs out;
	bool root;
};

struct session {
	const struct record_opts *o;
	struct shared sh;
	struct follow *follow;		/* NULL: no ptrace */
	struct proc_filter filter;	/* -a */
	int epfd;			/* the event loop's */
	struct mmap_watch **watches;
	size_t nwatches, watches_cap;
	struct proc **procs;		/* live */
	size_t nprocs, procs_cap;
	struct done *done;
	size_t ndone, done_cap;
	uint64_t not_traced;		/* children past --max-procs */
	unsigned int ntraced;		/* processes traced so far */
	pid_t root;			/* the command's process */
	int root_status;
	bool root_exited;
	int err;			/* first failure inside a callback */
	uint64_t nevents;		/* read from the kernel so far */
	struct snapshot snap;
	struct status status;
	/* What tracing cost, as of the last profile written; over the CPU
	 * time of the roots (with the children they waited for), or of
	 * every process when there is no root (-a). */
	struct out_overhead cost;
	uint64_t cpu_roots, cpu_others;
};

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static struct proc *proc_of(struct session *s, pid_t pid)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i]->pid == pid)
			return s->procs[i];
	return NULL;
}

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* A process to trace. Unless ptrace follows it, its exit is seen through
 * a pidfd. */
static int procs_add(struct session *s, struct proc *p)
{
	int err = grow(&s->procs, &s->procs_cap, s->nprocs + 1,
		       sizeof(*s->procs));

	if (!err && !p->ptraced) {
		p->pidfd = pidfd_open(p->pid);
		err = p->pidfd < 0 ? -errno : epoll_add(s->epfd, p->pidfd);
	}
	if (err)
		return err;
	s->procs[s->nprocs++] = p;
	s->ntraced++;
	return probes_track(s->sh.probes, p->pid, true);
}

static void procs_remove(struct session *s, struct proc *p)
{
	probes_track(s->sh.probes, p->pid, false);
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i] == p)
			s->procs[i] = s->procs[--s->nprocs];
	proc_free(p);	/* its pidfd closes, and leaves the epoll set */
}

/* Room for one more? Else it is counted, and runs untraced. */
static bool room_for_one(struct session *s, pid_t pid)
{
	if (s->ntraced < s->o->max_procs)
		return true;
	probes_track(s->sh.probes, pid, false);
	s->not_traced++;
	return false;
}

struct inherit {
	const struct probes *probes;
	pid_t child;
};

static void follow_inherited(void *ctx, uint64_t addr)
{
	const struct inherit *in = ctx;

	probes_sampled_add(in->probes, in->child, addr);
}

/* A traced process forked, at this point of the event order. */
static int on_fork(struct session *s, pid_t parent, pid_t child)
{
	struct proc *pp = proc_of(s, parent), *c;

	/* Without a recorder, its tracer lets it go untraced. */
	if (!pp || proc_of(s, child) || !room_for_one(s, child))
		return 0;
	c = proc_fork(pp, child);
	if (!c)
		return -ENOMEM;
	if (procs_add(s, c)) {
		proc_free(c);
		return 0;	/* gone already */
	}
	/* Sampled, the kernel follows the frees of blocks it sampled: the
	 * child's copies of its parent's are its own. */
	if (s->sh.sample_bytes) {
		struct inherit in = { s->sh.probes, child };

		heap_each_block(c->heap, follow_inherited, &in);
	}
	/* A child ptrace holds gets its probes when its tracer says it is
	 * born; the others now, a moment after their birth. */
	if (!c->ptraced && c->alloc.n && proc_attach(&s->sh, c))
		procs_remove(s, c);
	return 0;
}

/*
 * -a: a process exec'ed. A new one is traced if it passes the filters;
 * a traced one starts afresh, or is let go when it no longer passes. The
 * process runs on meanwhile: what it allocates before its probes are in
 * place is not seen.
 */
static int on_exec(struct session *s, pid_t pid, const char comm[16])
{
	struct proc *p = proc_of(s, pid);
	char name[17];

	memcpy(name, comm, 16);
	name[16] = '\0';
	if (!filter_match(&s->filter, pid, name)) {
		if (p)
			procs_remove(s, p);
		return 0;
	}
	if (!p) {
		if (!room_for_one(s, pid))
			return 0;
		p = proc_new(&s->sh, pid, false);
		if (!p)
			return -ENOMEM;
		if (procs_add(s, p)) {
			proc_free(p);
			return 0;
		}
	}
	/* Gone already, or not to be traced (a program of another arch). */
	if (proc_exec(&s->sh, p, now_ns()))
		procs_remove(s, p);
	return 0;
}

static int on_event(void *ctx, const struct dh_event *e)
{
	struct session *s = ctx;
	struct proc *p;
	int err;

	s->nevents++;
	if (e->kind == DH_EV_FORK)
		err = on_fork(s, e->pid, (pid_t)e->addr);
	else if (e->kind == DH_EV_EXEC)
		err = on_exec(s, e->pid, e->comm);
	else
		err = (p = proc_of(s, e->pid)) ? proc_event(&s->sh, p, e) : 0;
	if (err)
		s->err = err;
	return err;
}

static int on_mapping(void *ctx, const struct mapping *m)
{
	struct session *s = ctx;
	struct proc *p = proc_of(s, m->pid);

	return p ? proc_add_mapping(&s->sh, p, m) : 0;
}

static void drain_mappings(void *ctx)
{
	struct session *s = ctx;

	for (size_t i = 0; i < s->nwatches; i++)
		mmap_watch_drain(s->watches[i], on_mapping, s);
}

/* Everything the kernel has told so far: mappings first, as a new stack
 * may run in a library mapped since we last looked (and again before
 * each new stack: see struct shared). */
static int drain(struct session *s)
{
	int err;

	drain_mappings(s);
	err = probes_consume(s->sh.probes);
	return s->err ? s->err : err;
}

static int watch(struct session *s, pid_t pid, bool all_threads)
{
	int err = grow(&s->watches, &s->watches_cap, s->nwatches + 1,
		       sizeof(*s->watches));

	if (!err)
		err = mmap_watch_open(&s->watches[s->nwatches], pid, all_threads);
	if (!err)
		s->nwatches++;
	return err;
}

/* Waits for the snapshot being written, if any. */
static void snapshot_finished(struct session *s)
{
	if (s->snap.told)
		status_clear(&s->status);
	snapshot_done(&s->snap);
}

/* The run's cost so far, with @p's CPU time, @cpu_ns in all: what it used
 * while traced counts. */
static void measure_cost(struct session *s, const struct proc *p,
			 uint64_t cpu_ns)
{
	uint64_t traced = cpu_ns > p->cpu_before_ns ?
			  cpu_ns - p->cpu_before_ns : 0;

	*(p->root ? &s->cpu_roots : &s->cpu_others) += traced;
	overhead_measure(&s->sh, s->cpu_roots ? s->cpu_roots : s->cpu_others,
			 &s->cost);
}

/* The process is gone (it used @cpu_ns of CPU), or tracing ends: its
 * profile is final. */
static int finish(struct session *s, struct proc *p, uint64_t cpu_ns)
{
	struct done *d;
	int err;

	/* A snapshot being written would land over the final files. */
	snapshot_finished(s);
	heap_finish(p->heap, now_ns());
	if (s->sh.sample_bytes) {
		probes_totals(s->sh.probes, p->pid, &p->requested);
		probes_totals_forget(s->sh.probes, p->pid);
	}
	measure_cost(s, p, cpu_ns);
	err = grow(&s->done, &s->done_cap, s->ndone + 1, sizeof(*s->done));
	if (err)
		return err;
	d = &s->done[s->ndone++];
	memset(d, 0, sizeof(*d));
	d->pid = p->pid;
	d->root = p->root;
	d->cmd = strdup(p->cmd);
	d->allocator = alloc_sites_describe(&p->alloc);
	d->stepped = alloc_sites_stepped(&p->alloc);
	heap_totals(p->heap, &d->totals);
	d->requested = p->requested;
	err = outputs_name(s->o, p->pid, p->root, &d->out);
	if (!err)
		err = outputs_write(&s->sh, p, &d->out, &s->cost) ? -EIO : 0;
	if (!err && s->o->on_done)
		s->o->on_done(s->o->done_ctx, p->pid, p->cmd, &d->totals);
	procs_remove(s, p);
	return err;
}

static int on_follow(struct session *s, const struct follow_event *ev)
{
	struct proc *p;
	int err = drain(s);

	if (err)
		return err;
	p = proc_of(s, ev->pid);
	switch (ev->kind) {
	case FOLLOW_FORK:
		if (p && !p->links && p->alloc.n)
			err = proc_attach(&s->sh, p);
		if (p)
			follow_resume(s->follow, ev->pid);
		else
			follow_release(s->follow, ev->pid);
		break;
	case FOLLOW_EXEC:
		if (p)
			err = proc_exec(&s->sh, p, now_ns());
		follow_resume(s->follow, ev->pid);
		break;
	case FOLLOW_EXIT:
		if (ev->pid == s->root) {
			s->root_exited = true;
			s->root_status = WIFSIGNALED(ev->status) ?
					 128 + WTERMSIG(ev->status) :
					 WEXITSTATUS(ev->status);
		}
		if (p)
			err = finish(s, p, ev->cpu_ns);
		break;
	}
	return err;
}

/* A timer in the event loop at *@fd, once or every @ns. */
static int timer_add(int epfd, uint64_t ns, bool periodic, int *fd)
{
	struct timespec t = { ns / 1000000000ULL, ns % 1000000000ULL };
	struct itimerspec its = { .it_value = t };
	int err;

	*fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (periodic)
		its.it_interval = t;
	err = timerfd_settime(*fd, 0, &its, NULL) ? -errno : epoll_add(epfd, *fd);
	if (err) {
		close(*fd);
		*fd = -1;
	}
	return err;
}

/* A periodic timer is ready: read it, or it stays ready. */
static bool timer_fired(int fd)
{
	uint64_t expirations;

	return read(fd, &expirations, sizeof(expirations)) == sizeof(expirations);
}

static void close_timer(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* The signals the loop takes, blocked from the start. */
static void loop_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGHUP);
	sigaddset(mask, SIGUSR1);
}

static bool to_stdout(const struct record_opts *o)
{
	return (o->dhat_output && !strcmp(o->dhat_output, "-")) ||
	       (o->pprof_output && !strcmp(o->pprof_output, "-"));
}

/* Every live process's profile so far (@told: for SIGUSR1, which is
 * answered on stderr). One being written already makes this one moot. */
static int take_snapshot(struct session *s, bool told)
{
	int err;

	if (told)
		status_clear(&s->status);
	if (told && to_stdout(s->o)) {
		fprintf(stderr, "dhtrace: no snapshot (SIGUSR1): the profile goes to standard output\n");
		return 0;
	}
	err = drain(s);
	if (err)
		return err;
	overhead_measure(&s->sh, s->cpu_roots ? s->cpu_roots : s->cpu_others,
			 &s->cost);
	err = snapshot_start(&s->snap, &s->sh, s->o, &s->cost, s->procs,
			     s->nprocs, now_ns(), told);
	if (!err)
		return epoll_add(s->epfd, s->snap.fd);
	if (told && err == -EBUSY)
		fprintf(stderr, "dhtrace: no snapshot (SIGUSR1): the last one is still being written\n");
	else if (err != -EBUSY)
		fprintf(stderr, "dhtrace: cannot write a snapshot: %s\n",
			strerror(-err));
	return 0;
}

static void show_status(struct session *s)
{
	struct status_numbers n = { .events = s->nevents };
	uint64_t c[DH_CNT_COUNT];

	for (size_t i = 0; i < s->nprocs; i++) {
		struct heap_totals t;

		heap_totals(s->procs[i]->heap, &t);
		n.live_bytes += t.end_bytes;
		n.live_blocks += t.end_blocks;
		n.peak_bytes += t.gmax_bytes;
	}
	probes_counters(s->sh.probes, c);
	n.lost = c[DH_CNT_EVENTS_LOST];
	status_show(&s->status, &n, now_ns());
}

/*
 * A command gets a terminal's Ctrl-C itself, as under a shell, and we wait
 * for it to exit; a signal sent to dhtrace alone is passed on. Once the
 * command is gone (its daemons traced on), or for -p, a signal ends the
 * trace.
 */
static bool handle_signal(struct session *s, int sigfd)
{
	struct signalfd_siginfo si;

	if (read(sigfd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (si.ssi_signo == SIGUSR1) {
		int err = take_snapshot(s, true);

		s->err = s->err ? s->err : err;
		return false;
	}
	if (!s->o->argv || s->root_exited)
		return true;
	if (si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE ||
	    si.ssi_signo != SIGINT)
		kill(s->root, si.ssi_signo);
	return false;
}

/* -a waits for processes to come. */
static bool all_gone(const struct session *s)
{
	return !s->o->all && !s->nprocs && (!s->o->argv || s->root_exited);
}

/* Runs until the processes exit, a signal or the duration ends it. */
static int trace_loop(struct session *s)
{
	int epfd = s->epfd, sigfd, timer = -1, snap_timer = -1;
	int status_timer = -1, err;
	bool done = false;
	sigset_t mask;

	loop_signals(&mask);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sigfd < 0)
		return -errno;
	err = epoll_add(epfd, probes_fd(s->sh.probes));
	if (!err)
		err = epoll_add(epfd, sigfd);
	if (!err && s->follow)
		err = epoll_add(epfd, follow_fd(s->follow));
	if (!err && s->o->duration_ns)
		err = timer_add(epfd, s->o->duration_ns, false, &timer);
	if (!err && s->o->snapshot_ns)
		err = timer_add(epfd, s->o->snapshot_ns, true, &snap_timer);
	if (!err && s->o->interval_ns)
		err = timer_add(epfd, s->o->interval_ns, true, &status_timer);
	status_init(&s->status, now_ns());
	while (!err && !done) {
		struct epoll_event evs[8];
		struct follow_event fev;
		int n = epoll_wait(epfd, evs, ARRAY_SIZE(evs), POLL_MS);

		if (n < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == timer) {
				done = true;
			} else if (fd == sigfd) {
				done |= handle_signal(s, sigfd);
				err = s->err;
			} else if (fd == snap_timer) {
				if (timer_fired(fd))
					err = take_snapshot(s, false);
			} else if (fd == status_timer) {
				if (timer_fired(fd))
					show_status(s);
			} else if (fd == s->snap.fd) {
				snapshot_finished(s);
			}
			for (size_t j = 0; !err && j < s->nprocs; j++) {
				struct proc *p = s->procs[j];

				if (p->pidfd != fd)
					continue;
				err = drain(s);
				if (!err)
					err = finish(s, p, proc_cpu_ns(p->pid));
				break;
			}
		}
		while (!err && s->follow && follow_next(s->follow, &fev) > 0)
			err = on_follow(s, &fev);
		if (!err)
			err = drain(s);
		done |= all_gone(s);
	}
	status_clear(&s->status);
	close_timer(timer);
	close_timer(snap_timer);
	close_timer(status_timer);
	close(sigfd);
	return err;
}

static void print_losses(const struct session *s)
{
	const struct probes *p = s->sh.probes;
	uint64_t c[DH_CNT_COUNT];
	char buf[32];

	probes_counters(p, c);
	if (c[DH_CNT_EVENTS_LOST])
		fprintf(stderr, "dhtrace: events lost (ring buffer full, raise --ringbuf-size): %s\n",
			out_thousands(c[DH_CNT_EVENTS_LOST], buf));
	if (c[DH_CNT_STACKS_LOST])
		fprintf(stderr, "dhtrace: stacks lost (stack table full): %s\n",
			out_thousands(c[DH_CNT_STACKS_LOST], buf));
	fprintf(stderr, "dhtrace: stacks: %s complete", out_thousands(c[DH_CNT_END_COMPLETE], buf));
	fprintf(stderr, ", %s cut at --max-frames", out_thousands(c[DH_CNT_END_DEPTH], buf));
	fprintf(stderr, ", %s ended in code without unwind info", out_thousands(c[DH_CNT_END_NO_TABLE], buf));
	fprintf(stderr, ", %s at CFI we cannot follow", out_thousands(c[DH_CNT_END_UNSUPPORTED], buf));
	fprintf(stderr, ", %s at an unreadable frame\n", out_thousands(c[DH_CNT_END_FAULT], buf));
	if (c[DH_CNT_NESTED_RESET])
		fprintf(stderr, "dhtrace: allocator calls left by longjmp or a throw: %s\n",
			out_thousands(c[DH_CNT_NESTED_RESET], buf));
	if (s->sh.unwind && unwind_objects_without_room(s->sh.unwind))
		fprintf(stderr, "dhtrace: objects whose unwinding tables did not fit (frame pointers used): %u\n",
			unwind_objects_without_room(s->sh.unwind));
	if (probes_retries(p))
		fprintf(stderr, "dhtrace: probes attached after the kernel was busy with another tracer: %u retries\n",
			probes_retries(p));
	if (s->not_traced)
		fprintf(stderr, "dhtrace: processes not traced (over --max-procs %u): %llu\n",
			s->o->max_procs, (unsigned long long)s->not_traced);
}

/* --sample-bytes: what is estimated, what is exact, what it saved. */
static void print_sampling(const struct session *s, const struct done *d)
{
	const struct out_sampling how = {
		.mean_bytes = s->sh.sample_bytes,
		.requested_bytes = d->requested.bytes,
		.requested_blocks = d->requested.blocks,
	};
	uint64_t c[DH_CNT_COUNT];
	char text[OUT_RECORDED_TEXT], r[32];

	probes_counters(s->sh.probes, c);
	fprintf(stderr, "dhtrace: %s; return probes run: %s\n",
		out_sampling_text(&how, text, sizeof(text)),
		out_thousands(c[DH_CNT_HIT_RETURN], r));
	if (c[DH_CNT_SAMPLED_LOST])
		fprintf(stderr, "dhtrace: sampled blocks not followed (table "
			"full): %s\n", out_thousands(c[DH_CNT_SAMPLED_LOST], r));
	if (!probes_session(s->sh.probes))
		fprintf(stderr, "dhtrace: sampled without uprobe.session (kernel "
			"before 6.10): every call still pays its return probe\n");
}

/* The numbers the last profile got: the whole run's by then. */
static void print_cost(struct session *s)
{
	char text[512];

	if (!s->ndone)
		overhead_measure(&s->sh, 0, &s->cost);
	fprintf(stderr, "dhtrace: %s\n", out_overhead_text(&s->cost, text,
							     sizeof(text)));
}

static int by_peak(const void *a, const void *b)
{
	const struct done *x = a, *y = b;

	if (x->totals.gmax_bytes != y->totals.gmax_bytes)
		return x->totals.gmax_bytes < y->totals.gmax_bytes ? 1 : -1;
	return x->pid - y->pid;
}

static void print_saved(const struct done *d)
{
	if (d->out.path[0])
		out_summary_fprint_saved(d->out.path[0], stderr);
	if (d->out.path[1])
		out_summary_fprint_saved_pprof(d->out.path[1], stderr);
}

/* The first root's numbers in dhat-rs's form (the command's, the first
 * -p PID's); then every process. */
static void print_summary(struct session *s)
{
	const struct done *first = NULL;
	char a[32], b[32];

	for (size_t i = 0; i < s->ndone && !first; i++)
		if (s->done[i].root)
			first = &s->done[i];
	/* -a has no first process: each one's numbers are in the list. */
	if (!first && s->ndone == 1)
		first = &s->done[0];
	if (first)
		out_summary_fprint(&first->totals, stderr);
	if (first && s->sh.sample_bytes)
		print_sampling(s, first);
	print_losses(s);
	print_cost(s);
	if (first)
		out_summary_fprint_tracer(&first->totals, stderr);
	if (first && first->allocator)
		fprintf(stderr, "dhtrace: allocator: %s\n",
			*first->allocator ? first->allocator : "none found");
	/* A single step traps twice and runs the instruction out of line:
	 * on the VMs measured, 10 times the cost of an emulated probe. */
	if (first && first->stepped && *first->stepped)
		fprintf(stderr, "dhtrace: probes single-stepped (about 10 times "
			"the cost of the others): %s\n", first->stepped);
	if (!s->ndone)
		fprintf(stderr, "dhtrace: no process was traced\n");
	if (s->ndone == 1)
		print_saved(first);
	if (s->ndone <= 1)
		return;
	qsort(s->done, s->ndone, sizeof(*s->done), by_peak);
	fprintf(stderr, "dhtrace: processes traced: %zu (largest peak first)\n",
		s->ndone);
	for (size_t i = 0; i < s->ndone; i++) {
		const struct done *d = &s->done[i];
		const char *file = d->out.path[0] ? d->out.path[0] : d->out.path[1];

		fprintf(stderr, "dhtrace:   %d  peak %s B  total %s B  %s -> %s  [%s]\n",
			d->pid, out_thousands(d->totals.gmax_bytes, a),
			out_thousands(d->totals.total_bytes, b), d->cmd,
			file ? file : "-", d->allocator && *d->allocator ?
			d->allocator : "no allocator found");
	}
}

/* Objects the processes start with: their tables are built before the
 * kernel's table is sized. */
static int prepare_object(void *ctx, const struct mapping *m)
{
	unwind_add_object(ctx, m->pid, m->path, m->start, m->end);
	return 0;
}

static uint32_t prepare_unwinding(struct session *s, const char *exe)
{
	uint32_t rows, room;
	char **objs = NULL;
	size_t n = 0;

	if (exe && !objects_of_command(exe, environ, &objs, &n))
		for (size_t i = 0; i < n; i++)
			unwind_add_object(s->sh.unwind, 0, objs[i], 0, 0);
	objects_free(objs, n);
	for (size_t i = 0; i < s->o->npids; i++)
		proc_maps_read(s->o->pids[i], prepare_object, s->sh.unwind);
	rows = unwind_rows_built(s->sh.unwind);
	room = s->o->follow || s->o->all ? UNWIND_HEADROOM_FOLLOW :
					   UNWIND_HEADROOM;
	return rows + (rows > room ? rows : room);
}

static int open_probes(struct session *s, const char *exe)
{
	const struct record_opts *o = s->o;
	struct probes_opts po = {
		.max_frames = s->sh.max_ips,
		.ringbuf_bytes = o->ringbuf_bytes,
		.empty = o->empty_probes,
		.fp_fallback = o->unwind_fp,
		.follow = o->follow,
		.all_execs = o->all,
		.sample_bytes = o->sample_bytes,
	};
	int err;

	if (o->unwind_cfi) {
		s->sh.unwind = unwind_new();
		if (!s->sh.unwind)
			return -ENOMEM;
		po.unwind_rows = prepare_unwinding(s, exe);
	}
	err = probes_open(&s->sh.probes, &po, on_event, s);
	if (err) {
		/* EACCES is also the verifier's refusal: blame privileges
		 * only when we lack them. */
		fprintf(stderr, "dhtrace: cannot load the BPF programs: %s%s\n",
			strerror(-err), geteuid() && (err == -EPERM || err == -EACCES) ?
			" (run as root)" : "");
		return err;
	}
	if (s->sh.unwind)
		unwind_start(s->sh.unwind, s->sh.probes, po.unwind_rows);
	s->sh.cache = sym_cache_new();
	if (!s->sh.cache)
		return -ENOMEM;
	s->sh.wall_start_ns = clock_ns(CLOCK_REALTIME);
	return 0;
}

/* A running process, by -p or -a (@quiet: a process that cannot be
 * traced is passed over without a word): probes on its allocator now. */
static int start_process(struct session *s, pid_t pid, bool quiet)
{
	char **objs = NULL;
	size_t n = 0;
	struct proc *p;
	int err;

	err = objects_of_process(pid, &objs, &n);
	if ((err == -ENOENT || err == -ESRCH) && !quiet) {
		fprintf(stderr, "dhtrace: no process with PID %d\n", pid);
		return err;
	}
	p = err ? NULL : proc_new(&s->sh, pid, true);
	if (!err && !p)
		err = -ENOMEM;
	if (!err)
		err = alloc_sites_find(&p->alloc, objs, n, s->sh.allocator);
	if (err && quiet)
		goto fail;
	if (err) {
		fprintf(stderr, "dhtrace: cannot find the allocator of PID %d: %s\n",
			pid, err != -ENOENT ? strerror(-err) :
			s->sh.allocator ? "none of that name in its objects" :
			"no object defines malloc");
		goto fail;
	}
	p->exe = n ? strdup(objs[0]) : NULL;
	p->root = !s->o->all;
	if (s->follow) {
		p->ptraced = !follow_add(s->follow, pid);
		if (!p->ptraced)
			fprintf(stderr, "dhtrace: PID %d: cannot follow its children (another tracer has it?); tracing it alone\n",
				pid);
	}
	err = s->o->all ? 0 : watch(s, pid, true);
	if (!err)
		err = procs_add(s, p);
	if (err && !quiet)
		fprintf(stderr, "dhtrace: cannot follow PID %d: %s\n", pid,
			strerror(-err));
	if (err)
		goto fail;
	objects_free(objs, n);
	err = proc_attach(&s->sh, p);
	if (err && quiet)
		procs_remove(s, p);
	return quiet ? 0 : err;
fail:
	proc_free(p);
	objects_free(objs, n);
	return quiet ? 0 : err;
}

/* -a: every process running now that passes the filters. */
static int start_all(struct session *s)
{
	DIR *dir = opendir("/proc");
	struct dirent *d;
	int err;

	if (!dir)
		return -errno;
	err = watch(s, -1, false);
	while (!err && (d = readdir(dir))) {
		pid_t pid = atoi(d->d_name);

		if (pid > 0 && filter_match(&s->filter, pid, NULL) &&
		    room_for_one(s, pid))
			err = start_process(s, pid, true);
	}
	closedir(dir);
	if (err)
		fprintf(stderr, "dhtrace: cannot trace the machine: %s\n",
			strerror(-err));
	return err;
}

/* The command, started held: it runs once its exec has been seen. */
static int start_command(struct session *s, const char *exe,
			 struct target *t)
{
	struct proc *p;
	int err;

	err = target_spawn(t, exe, s->o->argv);
	if (err) {
		fprintf(stderr, "dhtrace: cannot start the command: %s\n",
			strerror(-err));
		return err;
	}
	s->root = t->pid;
	p = proc_new(&s->sh, t->pid, false);
	if (!p)
		return -ENOMEM;
	p->root = true;
	p->ptraced = true;
	err = procs_add(s, p);
	if (err) {
		proc_free(p);
		return err;
	}
	err = follow_add(s->follow, t->pid);
	if (!err)
		err = watch(s, t->pid, false);
	if (err) {
		fprintf(stderr, "dhtrace: cannot follow the command: %s\n",
			strerror(-err));
		return err;
	}
	/* The exit status comes from the tracer from now on. */
	t->spawned = false;
	err = target_release(t);
	if (err)
		fprintf(stderr, "dhtrace: cannot run '%s': %s\n",
			s->o->argv[0], strerror(-err));
	return err;
}

static void session_close(struct session *s)
{
	/* Held processes go on, untraced, before anything else ends. */
	follow_stop(s->follow);
	snapshot_done(&s->snap);
	while (s->nprocs)
		proc_free(s->procs[--s->nprocs]);
	if (s->epfd >= 0)
		close(s->epfd);
	filter_free(&s->filter);
	free(s->procs);
	for (size_t i = 0; i < s->nwatches; i++)
		mmap_watch_close(s->watches[i]);
	free(s->watches);
	for (size_t i = 0; i < s->ndone; i++) {
		free(s->done[i].cmd);
		free(s->done[i].allocator);
		free(s->done[i].stepped);
		outputs_free(&s->done[i].out);
	}
	free(s->done);
	probes_close(s->sh.probes);
	unwind_free(s->sh.unwind);
	sym_cache_free(s->sh.cache);
}

int record(const struct record_opts *o)
{
	struct session s = { .o = o, .sh.max_ips = o->max_frames - 1,
			     .sh.allocator = o->allocator,
			     .sh.sample_bytes = o->sample_bytes, .epfd = -1,
			     .sh.catch_up = drain_mappings, .snap.fd = -1 };
	struct target t = { .pidfd = -1, .release_fd = -1, .exec_err_fd = -1 };
	char *exe = NULL;
	sigset_t mask;
	int status = 1, err;

	s.sh.catch_up_ctx = &s;
	/* Signals arrive through a signalfd in the loop; the command
	 * unblocks them before exec. */
	loop_signals(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	err = outputs_check(o);
	if (!err)
		err = filter_init(&s.filter, o);
	if (err)
		goto out;
	s.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s.epfd < 0) {
		err = -errno;
		goto out;
	}
	if (o->argv) {
		exe = target_resolve(o->argv[0]);
		if (!exe) {
			err = -errno;
			fprintf(stderr, "dhtrace: cannot run '%s': %s\n",
				o->argv[0], strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; i < o->npids; i++) {
		if (kill(o->pids[i], 0) && errno == ESRCH) {
			fprintf(stderr, "dhtrace: no process with PID %d\n",
				o->pids[i]);
			err = -ESRCH;
			goto out;
		}
	}
	err = open_probes(&s, exe);
	if (!err && (o->argv || (o->npids && o->follow)))
		err = follow_start(&s.follow, o->follow);
	if (!err && o->argv)
		err = start_command(&s, exe, &t);
	for (size_t i = 0; !err && i < o->npids; i++)
		err = start_process(&s, o->pids[i], false);
	if (!err && o->all)
		err = start_all(&s);
	if (err)
		goto out;

	err = trace_loop(&s);
	if (!err)
		err = drain(&s);
	/* Whatever still runs is profiled up to now. */
	follow_stop(s.follow);
	s.follow = NULL;
	while (s.nprocs) {
		struct proc *p = s.procs[s.nprocs - 1];
		int ferr = finish(&s, p, proc_cpu_ns(p->pid));

		err = err ? err : ferr;
	}
	status = o->argv ? (s.root_exited ? s.root_status : 0) : 0;
	if (err && err != -EIO) {
		fprintf(stderr, "dhtrace: tracing failed: %s\n", strerror(-err));
		status = 1;
	}
	print_summary(&s);
	if (err == -EIO && !status)
		status = 1;
out:
	session_close(&s);
	target_close(&t);
	free(exe);
	return status;
}
