// SPDX-License-Identifier: GPL-2.0
/*
 * Recording: start or follow the process, put the probes on its allocator,
 * feed the events through the accounting until the process exits (or the
 * user stops us), then write the profile and the summary.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cli/pprof_build.h"
#include "cli/record.h"
#include "cli/sites.h"
#include "heap/heap.h"
#include "out/out.h"
#include "sym/sym.h"
#include "trace/trace.h"
#include "util/array.h"

#define POLL_MS 100	/* the kernel side wakes us only when busy */
/* Room in the kernel's table for libraries loaded later: as many rows
 * again as the process has at the start, and at least this many. */
#define UNWIND_HEADROOM (64 * 1024)

struct recorder {
	struct heap *heap;
	struct sym *sym;
	struct sites *sites;
	struct probes *probes;
	struct mmap_watch *watch;
	struct unwind *unwind;		/* NULL: frame pointers only */
	unsigned int max_ips;	/* return addresses captured per stack */
	int64_t wall_start_ns;	/* when the accounting's time zero was */
	int err;		/* first failure inside the event callback */
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

static int add_mapping(void *ctx, const struct mapping *m)
{
	struct recorder *r = ctx;
	int err;

	err = sym_add_mapping(r->sym, m->start, m->end, m->pgoff, m->path);
	if (!err && r->unwind)
		err = unwind_add_mapping(r->unwind, m);
	return err;
}

/* The program point of a stack, symbolized the first time it is seen. */
static int site_of_stack(struct recorder *r, uint64_t stack_id, uint32_t *pp)
{
	uint64_t ips[DH_MAX_FRAMES + 1];
	uint32_t frames[16 * DH_MAX_FRAMES];	/* inlining adds frames */
	int n = 0, nframes = 0;

	if (sites_lookup(r->sites, stack_id, pp))
		return 0;
	/* A new stack may run in a library mapped since we last looked. */
	if (r->watch)
		mmap_watch_drain(r->watch, add_mapping, r);
	if (stack_id)
		n = probes_stack(r->probes, stack_id, ips, r->max_ips);
	if (n > 0)
		nframes = sym_stack(r->sym, ips, n, frames, ARRAY_SIZE(frames));
	return sites_bind(r->sites, stack_id, frames,
			  nframes > 0 ? nframes : 0, pp);
}

static int on_event(void *ctx, const struct dh_event *e)
{
	struct recorder *r = ctx;
	uint64_t t = e->ts_ns;	/* the accounting's clock never steps back */
	uint32_t pp;
	int err = 0;

	switch (e->kind) {
	case DH_EV_ALLOC:
		err = site_of_stack(r, e->stack_id, &pp);
		if (!err)
			err = heap_alloc(r->heap, e->pid, e->addr, e->size, pp, t);
		break;
	case DH_EV_FREE:
		heap_release(r->heap, e->pid, e->addr, t);
		break;
	case DH_EV_REALLOC_BEGIN:
		err = heap_realloc_begin(r->heap, e->pid, e->tid, e->old_addr,
					 t);
		break;
	case DH_EV_REALLOC_END:
		err = heap_realloc_end(r->heap, e->pid, e->tid, e->addr,
				       e->size, t);
		break;
	}
	if (err)
		r->err = err;
	return err;
}

/* The command line, space-separated, as valgrind records it. */
static char *join_args(char *const *argv)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; argv[i]; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static char *process_cmdline(pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n - 1; i++)
		if (!buf[i])
			buf[i] = ' ';
	return strdup(buf);
}

/* -o FILE with %p replaced by the pid and %% by %. */
static char *output_path(const char *tmpl, pid_t pid)
{
	size_t cap = strlen(tmpl) * 2 + 32, len = 0;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	for (const char *p = tmpl; *p && len + 24 < cap; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			len += sprintf(s + len, "%d", pid);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			s[len++] = '%';
			p++;
		} else {
			s[len++] = *p;
		}
	}
	s[len] = '\0';
	return s;
}

/* Fail before the command runs, not after, when the profile cannot be
 * written where asked. */
static int check_output_dir(const char *path)
{
	char *copy = strdup(path);
	int err = 0;

	if (!copy)
		return -ENOMEM;
	if (access(dirname(copy), W_OK | X_OK))
		err = -errno;
	free(copy);
	return err;
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

struct loop_fds {
	int epoll, signal, timer;
};

static void loop_fds_close(struct loop_fds *l)
{
	if (l->epoll >= 0)
		close(l->epoll);
	if (l->signal >= 0)
		close(l->signal);
	if (l->timer >= 0)
		close(l->timer);
}

static int loop_fds_open(struct loop_fds *l, struct recorder *r,
			 const struct target *t, uint64_t duration_ns)
{
	sigset_t mask;
	int err;

	l->epoll = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	l->signal = signalfd(-1, &mask, SFD_CLOEXEC);
	l->timer = -1;
	if (l->epoll < 0 || l->signal < 0)
		return -errno;
	err = epoll_add(l->epoll, probes_fd(r->probes));
	if (!err)
		err = epoll_add(l->epoll, t->pidfd);
	if (!err)
		err = epoll_add(l->epoll, l->signal);
	if (err || !duration_ns)
		return err;

	struct itimerspec its = {
		.it_value.tv_sec = duration_ns / 1000000000ULL,
		.it_value.tv_nsec = duration_ns % 1000000000ULL,
	};
	l->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (l->timer < 0 || timerfd_settime(l->timer, 0, &its, NULL))
		return -errno;
	return epoll_add(l->epoll, l->timer);
}

/*
 * A command gets a terminal's Ctrl-C itself, as under a shell, and we wait
 * for it to exit; a signal sent to dhtrace alone is passed on. A followed
 * process is left alone: the signal ends the trace.
 */
static bool handle_signal(int sigfd, const struct target *t)
{
	struct signalfd_siginfo si;

	if (read(sigfd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (!t->spawned)
		return true;
	if (si.ssi_code == SI_USER || si.ssi_code == SI_QUEUE ||
	    si.ssi_signo != SIGINT)
		kill(t->pid, si.ssi_signo);
	return false;
}

/* Runs until the process exits, a signal or the duration ends it. */
static int trace_loop(struct recorder *r, struct target *t,
		      uint64_t duration_ns)
{
	struct loop_fds l = { -1, -1, -1 };
	bool done = false;
	int err;

	err = loop_fds_open(&l, r, t, duration_ns);
	while (!err && !done) {
		struct epoll_event evs[4];
		int n = epoll_wait(l.epoll, evs, ARRAY_SIZE(evs), POLL_MS);

		if (n < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == t->pidfd || evs[i].data.fd == l.timer)
				done = true;
			else if (evs[i].data.fd == l.signal)
				done |= handle_signal(l.signal, t);
		}
		mmap_watch_drain(r->watch, add_mapping, r);
		err = probes_consume(r->probes);
		if (r->err)
			err = r->err;
	}
	loop_fds_close(&l);
	return err;
}

static void print_losses(const struct recorder *r, const struct heap_totals *t)
{
	const struct probes *p = r->probes;
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
	if (r->unwind && unwind_objects_without_room(r->unwind))
		fprintf(stderr, "dhtrace: objects whose unwinding tables did not fit (frame pointers used): %u\n",
			unwind_objects_without_room(r->unwind));
	out_summary_fprint_tracer(t, stderr);
}

static int write_dhat(const struct recorder *r, const char *cmd, pid_t pid,
		      const char *path)
{
	size_t npps = sites_count(r->sites), nftbl = sym_frame_count(r->sym);
	struct profile_pp *pps = calloc(npps ? npps : 1, sizeof(*pps));
	const char **ftbl = calloc(nftbl ? nftbl : 1, sizeof(*ftbl));
	struct profile p = {
		.cmd = cmd, .pid = pid, .pps = pps, .npps = npps,
		.ftbl = ftbl, .nftbl = nftbl,
	};
	int err = -ENOMEM;

	if (!pps || !ftbl)
		goto out;
	heap_totals(r->heap, &p.totals);
	for (size_t i = 0; i < npps; i++) {
		heap_pp_stats(r->heap, i, &pps[i].stats);
		pps[i].frames = sites_frames(r->sites, i, &pps[i].nframes);
	}
	for (size_t i = 0; i < nftbl; i++)
		ftbl[i] = sym_frame_text(r->sym, i);
	err = out_dhat_json_write(&p, path);
out:
	free(pps);
	free(ftbl);
	return err;
}

static int write_pprof(const struct recorder *r, const char *cmd, pid_t pid,
		       const char *exe, const char *path)
{
	struct heap_totals t;
	struct pprof_profile p = {
		.cmd = cmd, .pid = pid, .time_nanos = r->wall_start_ns,
	};

	heap_totals(r->heap, &t);
	p.duration_nanos = (int64_t)t.tend_ns;
	return pprof_record_write(&p, r->sites, r->sym, r->heap, exe, path);
}

/* The output files, with %p expanded: [0] DHAT JSON, [1] pprof. */
struct outputs {
	char *path[2];
};

static void outputs_free(struct outputs *out)
{
	free(out->path[0]);
	free(out->path[1]);
	memset(out, 0, sizeof(*out));
}

/* Expand for @pid; unless @check is false, fail when a file cannot be
 * written where asked. */
static int outputs_expand(const struct record_opts *o, pid_t pid, bool check,
			  struct outputs *out)
{
	const char *tmpl[2] = { o->dhat_output, o->pprof_output };
	int err = 0;

	outputs_free(out);
	for (int i = 0; i < 2 && !err; i++) {
		if (!tmpl[i])
			continue;
		out->path[i] = output_path(tmpl[i], pid);
		err = out->path[i] ? 0 : -ENOMEM;
		if (!err && check)
			err = check_output_dir(out->path[i]);
		if (err)
			fprintf(stderr, "dhtrace: cannot write %s: %s\n",
				tmpl[i], strerror(-err));
	}
	return err;
}

static void recorder_close(struct recorder *r)
{
	probes_close(r->probes);
	unwind_free(r->unwind);
	mmap_watch_close(r->watch);
	sites_free(r->sites);
	sym_free(r->sym);
	heap_free(r->heap);
}

/* The objects the process will map (or has), in search order. */
struct objects {
	char **v;
	size_t n;
};

/* Find the allocator and start (or follow) the process, still stopped. */
static int prepare_target(const struct record_opts *o, struct target *t,
			  struct alloc_sites *sites, struct objects *objs)
{
	char *exe = NULL;
	int err;

	if (o->argv) {
		exe = target_resolve(o->argv[0]);
		if (!exe) {
			fprintf(stderr, "dhtrace: cannot run '%s': %s\n",
				o->argv[0], strerror(errno));
			return -errno;
		}
		err = objects_of_command(exe, &objs->v, &objs->n);
	} else {
		err = objects_of_process(o->pid, &objs->v, &objs->n);
		if (err == -ENOENT || err == -ESRCH) {
			fprintf(stderr, "dhtrace: no process with PID %d\n", o->pid);
			return err;
		}
	}
	if (!err)
		err = alloc_sites_find(sites, objs->v, objs->n);
	if (err) {
		fprintf(stderr, "dhtrace: cannot find the allocator of %s: %s\n",
			exe ? exe : "the process",
			err == -ENOENT ? "no object defines malloc" : strerror(-err));
		free(exe);
		return err;
	}
	err = o->argv ? target_spawn(t, exe, o->argv) : target_follow(t, o->pid);
	if (err)
		fprintf(stderr, "dhtrace: cannot %s: %s\n",
			o->argv ? "start the command" : "follow the process",
			strerror(-err));
	free(exe);
	return err;
}

static int prepare_object(void *ctx, const struct mapping *m)
{
	unwind_add_object(ctx, m->path, m->start, m->end);
	return 0;
}

/*
 * The unwinding tables of the objects the process starts with: a command's
 * libraries are mapped and running before we hear of their mappings, so
 * theirs must be ready by then. Returns the rows the kernel's table needs.
 */
static uint32_t prepare_unwinding(struct recorder *r, const struct target *t,
				  const struct objects *objs)
{
	uint32_t rows;

	for (size_t i = 0; t->spawned && i < objs->n; i++)
		unwind_add_object(r->unwind, objs->v[i], 0, 0);
	if (!t->spawned)
		proc_maps_read(t->pid, prepare_object, r->unwind);
	rows = unwind_rows_built(r->unwind);
	return rows + (rows > UNWIND_HEADROOM ? rows : UNWIND_HEADROOM);
}

static int start_tracing(struct recorder *r, const struct record_opts *o,
			 const struct target *t, const struct alloc_sites *sites,
			 const struct objects *objs)
{
	struct probes_opts po = {
		.pid = t->pid,
		.max_frames = r->max_ips,
		.ringbuf_bytes = o->ringbuf_bytes,
		.empty = o->empty_probes,
		.fp_fallback = o->unwind_fp,
	};
	int err;

	if (o->unwind_cfi) {
		r->unwind = unwind_new(t->spawned ? 0 : t->pid);
		if (!r->unwind)
			return -ENOMEM;
		po.unwind_rows = prepare_unwinding(r, t, objs);
	}
	err = probes_open(&r->probes, &po, on_event, r);
	if (err) {
		/* EACCES is also the verifier's refusal: blame privileges
		 * only when we lack them. */
		fprintf(stderr, "dhtrace: cannot load the BPF programs: %s%s\n",
			strerror(-err), geteuid() && (err == -EPERM || err == -EACCES) ?
			" (run as root)" : "");
		return err;
	}
	if (r->unwind)
		unwind_start(r->unwind, r->probes, po.unwind_rows);
	r->sym = sym_new(t->spawned ? 0 : t->pid);
	r->sites = sites_new();
	if (!r->sym || !r->sites)
		return -ENOMEM;
	/* A followed process has its libraries already; a command maps
	 * everything after exec, which the mmap watch sees. */
	if (!t->spawned) {
		err = proc_maps_read(t->pid, add_mapping, r);
		if (err) {
			fprintf(stderr, "dhtrace: cannot read the mappings of PID %d: %s\n",
				t->pid, strerror(-err));
			return err;
		}
	}
	err = mmap_watch_open(&r->watch, t->pid, !t->spawned);
	if (!err)
		err = probes_attach(r->probes, sites);
	if (err) {
		fprintf(stderr, "dhtrace: cannot attach to PID %d: %s\n",
			t->pid, strerror(-err));
		return err;
	}
	r->wall_start_ns = clock_ns(CLOCK_REALTIME);
	r->heap = heap_new(now_ns());
	return r->heap ? 0 : -ENOMEM;
}

int record(const struct record_opts *o)
{
	struct recorder r = { .max_ips = o->max_frames - 1 };
	struct target t = { .pidfd = -1, .release_fd = -1, .exec_err_fd = -1 };
	struct alloc_sites sites = { 0 };
	struct objects objs = { 0 };
	struct outputs out = { 0 };
	char *cmd = NULL;
	sigset_t mask;
	int status = 1, err;

	/* Signals arrive through a signalfd in the loop; the command
	 * unblocks them before exec. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	err = outputs_expand(o, o->argv ? 0 : o->pid, true, &out);
	if (err)
		goto out;
	err = prepare_target(o, &t, &sites, &objs);
	if (err)
		goto out;
	if (o->argv) {
		err = outputs_expand(o, t.pid, false, &out);
		if (err)
			goto out;
		cmd = join_args(o->argv);
	} else {
		cmd = process_cmdline(t.pid);
	}
	err = start_tracing(&r, o, &t, &sites, &objs);
	if (err)
		goto out;
	if (o->argv) {
		err = target_release(&t);
		if (err) {
			fprintf(stderr, "dhtrace: cannot run '%s': %s\n",
				o->argv[0], strerror(-err));
			goto out;
		}
	}

	err = trace_loop(&r, &t, o->duration_ns);
	heap_finish(r.heap, now_ns());
	if (t.spawned)
		status = target_reap(&t);
	else
		status = 0;
	if (err) {
		fprintf(stderr, "dhtrace: tracing failed: %s\n", strerror(-err));
		status = 1;
	}

	struct heap_totals totals;

	heap_totals(r.heap, &totals);
	out_summary_fprint(&totals, stderr);
	print_losses(&r, &totals);
	for (int i = 0; i < 2; i++) {
		const char *path = out.path[i];

		if (!path)
			continue;
		err = i ? write_pprof(&r, cmd ? cmd : "", t.pid,
				      objs.n ? objs.v[0] : NULL, path)
			: write_dhat(&r, cmd ? cmd : "", t.pid, path);
		if (err) {
			fprintf(stderr, "dhtrace: cannot write %s: %s\n", path,
				strerror(-err));
			status = status ? status : 1;
		} else if (i) {
			out_summary_fprint_saved_pprof(path, stderr);
		} else {
			out_summary_fprint_saved(path, stderr);
		}
	}
out:
	recorder_close(&r);
	target_close(&t);
	alloc_sites_free(&sites);
	objects_free(objs.v, objs.n);
	outputs_free(&out);
	free(cmd);
	return status;
}
