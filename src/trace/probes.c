// SPDX-License-Identifier: GPL-2.0
/* Load the BPF side, attach it to the allocator sites, read its output. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dhtrace.skel.h"
#include "trace/trace.h"
#include "util/array.h"

/*
 * Attaching: one uprobe_multi link per object and program where the kernel
 * has them (6.6 on; libbpf 1.1 has no wrapper, so the bpf() syscall makes
 * them), else one perf-event uprobe per function. Closing a link waits for
 * a kernel grace period (~100 ms), so links are closed on threads of their
 * own, concurrently, never on the event loop.
 */
#ifndef BPF_TRACE_UPROBE_MULTI
#define BPF_TRACE_UPROBE_MULTI 48
#endif
#ifndef BPF_TRACE_UPROBE_SESSION
#define BPF_TRACE_UPROBE_SESSION 57
#endif
#define UPROBE_MULTI_RETURN 1	/* BPF_F_UPROBE_MULTI_RETURN */
#define ATTACH_TRIES 5		/* another tracer busy on the same file */
#define SAMPLED_MAX (1 << 20)	/* --sample-bytes: sampled blocks live */

struct probes {
	struct dhtrace_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *fork_link;
	struct bpf_link *exec_link;	/* -a: every exec on the machine */
	event_fn on_event;
	void *ctx;
	unsigned int max_frames;
	bool empty;
	bool multi;		/* uprobe_multi links */
	bool session;		/* --sample-bytes: uprobe.session links */
	pthread_mutex_t lock;	/* closers below */
	pthread_cond_t idle;
	unsigned int closing;	/* closer threads running */
	unsigned int retries;	/* attach calls that had to be retried */
	bool slot_used[DH_UNWIND_SLOTS];	/* of unwind_mappings */
	uint64_t gen;		/* of the last mapping list given */
	int stats_fd;		/* keeps BPF run-time stats on; -1: off */
	uint64_t bpf_ns0, bpf_runs0;	/* the calibration's */
	struct trap_costs traps;
};

/* The links of one process: fds of uprobe_multi links, or perf links. */
struct probe_links {
	struct probes *p;
	bool empty;		/* of the cost floor's program */
	int *fds;
	struct bpf_link **perf;
	size_t n;
};

static int handle_event(void *ctx, void *data, size_t size)
{
	struct probes *p = ctx;

	if (size < sizeof(struct dh_event))
		return 0;
	return p->on_event(p->ctx, data);
}

static int silent_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* libbpf's warnings would go to the traced command's terminal;
	 * failures are reported by our callers in one line. Verifier logs
	 * are still wanted when debugging the BPF side. */
	if (level == LIBBPF_WARN && getenv("DHTRACE_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static int load(struct probes *p, const struct probes_opts *o)
{
	struct dhtrace_bpf *skel = dhtrace_bpf__open();
	struct bpf_program *uprobes[] = {
		skel ? skel->progs.dh_entry : NULL,
		skel ? skel->progs.dh_alloc_return : NULL,
		skel ? skel->progs.dh_empty : NULL,
	};
	int err;

	if (!skel)
		return -errno;
	p->skel = skel;
	skel->rodata->max_frames = o->max_frames;
	skel->rodata->wakeup_bytes = o->ringbuf_bytes / 4;
	skel->rodata->fp_fallback = o->fp_fallback;
	skel->rodata->cfi = o->unwind_rows;
	skel->rodata->follow_forks = o->follow;
	skel->rodata->sample_bytes = o->sample_bytes;
	for (unsigned int i = 0; i < DH_EXP_TABLE; i++)
		skel->rodata->neg_log_q16[i] =
			(uint32_t)(-log((i + 0.5) / DH_EXP_TABLE) * 65536);
	/* Room for max_frames return addresses and the 0 that ends them. */
	err = bpf_map__set_value_size(skel->maps.stacks,
				      (o->max_frames + 1) * sizeof(uint64_t));
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.events,
					       o->ringbuf_bytes);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.unwind_rows,
					       o->unwind_rows ? o->unwind_rows : 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.sampled,
					       o->sample_bytes ? SAMPLED_MAX : 1);
	for (size_t i = 0; !err && p->multi && i < ARRAY_SIZE(uprobes); i++)
		err = bpf_program__set_expected_attach_type(uprobes[i],
						BPF_TRACE_UPROBE_MULTI);
	if (!err && p->session)
		err = bpf_program__set_expected_attach_type(
			skel->progs.dh_alloc_session, BPF_TRACE_UPROBE_SESSION);
	if (!err)
		bpf_program__set_autoload(skel->progs.dh_alloc_session,
					  p->session);
	if (!err)
		bpf_program__set_autoload(skel->progs.dh_fork, o->follow);
	if (!err)
		bpf_program__set_autoload(skel->progs.dh_exec, o->all_execs);
	if (!err)
		err = dhtrace_bpf__load(skel);
	if (err) {
		dhtrace_bpf__destroy(skel);
		p->skel = NULL;
	}
	return err;
}

/* Every loaded program's run time and runs, as the kernel counts them. */
void probes_bpf_time(const struct probes *p, uint64_t *ns, uint64_t *runs)
{
	struct bpf_program *prog;

	*ns = *runs = 0;
	bpf_object__for_each_program(prog, p->skel->obj) {
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		*ns += info.run_time_ns;
		*runs += info.run_cnt;
	}
}

static void counters_clear(const struct probes *p)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *zeros = ncpu > 0 ? calloc(ncpu, sizeof(*zeros)) : NULL;

	for (uint32_t k = 0; zeros && k < DH_CNT_COUNT; k++)
		bpf_map_update_elem(bpf_map__fd(p->skel->maps.counters), &k,
				    zeros, BPF_ANY);
	free(zeros);
}

/* Run-time stats on while we are loaded, the traps timed; what the
 * calibration's probes ran is not the run's. */
static void start_costs(struct probes *p)
{
	p->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	trap_calibrate(p, &p->traps);
	counters_clear(p);
	probes_bpf_time(p, &p->bpf_ns0, &p->bpf_runs0);
}

void probes_cost(const struct probes *p, struct probes_cost *out)
{
	probes_counters(p, out->hits);
	out->bpf_stats = p->stats_fd >= 0;
	probes_bpf_time(p, &out->bpf_ns, &out->bpf_runs);
	out->bpf_ns -= p->bpf_ns0;
	out->bpf_runs -= p->bpf_runs0;
	out->traps = p->traps;
}

int probes_open(struct probes **out, const struct probes_opts *o,
		event_fn on_event, void *ctx)
{
	const char *multi = getenv("DHTRACE_UPROBE_MULTI");
	struct probes *p;
	int err;

	libbpf_set_print(silent_print);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->stats_fd = -1;
	p->on_event = on_event;
	p->ctx = ctx;
	p->max_frames = o->max_frames;
	p->empty = o->empty;
	/* A kernel without uprobe_multi (or uprobe.session) refuses the
	 * attach type at load: then without. */
	p->multi = !multi || strcmp(multi, "0");
	p->session = p->multi && o->sample_bytes && !o->empty;
	err = load(p, o);
	if (err && p->session) {
		p->session = false;
		err = load(p, o);
	}
	if (err && p->multi) {
		p->multi = false;
		err = load(p, o);
	}
	if (err)
		goto fail;
	if (o->follow) {
		p->fork_link = bpf_program__attach(p->skel->progs.dh_fork);
		if (!p->fork_link) {
			err = -errno;
			goto fail;
		}
	}
	if (o->all_execs) {
		p->exec_link = bpf_program__attach(p->skel->progs.dh_exec);
		if (!p->exec_link) {
			err = -errno;
			goto fail;
		}
	}
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events),
				 handle_event, p, NULL);
	if (!p->rb) {
		err = -errno;
		goto fail;
	}
	start_costs(p);
	*out = p;
	return 0;
fail:
	probes_close(p);
	return err < 0 ? err : -EINVAL;
}

unsigned int probes_retries(const struct probes *p)
{
	return p->retries;
}

static bool is_release(enum dh_fn fn)
{
	return fn == DH_FN_FREE || fn == DH_FN_DELETE;
}

/* What a link runs at its sites. */
enum link_kind {
	LINK_RETURN,	/* the return of each allocation function */
	LINK_ENTRY,	/* the entry of each (releases: the only probe) */
	LINK_SESSION,	/* --sample-bytes: an allocation's entry and return */
};

static struct bpf_program *program_for(const struct probe_links *l,
				       enum link_kind k)
{
	const struct dhtrace_bpf *skel = l->p->skel;

	if (l->empty)
		return skel->progs.dh_empty;
	if (k == LINK_SESSION)
		return skel->progs.dh_alloc_session;
	return k == LINK_RETURN ? skel->progs.dh_alloc_return :
				  skel->progs.dh_entry;
}

static uint64_t cookie_of(pid_t pid, const struct alloc_site *s, bool ret)
{
	uint32_t regs = 0;

	for (unsigned int a = 0; a < DH_ARGS; a++)
		regs |= (uint32_t)s->place.arg_reg[a] << (4 * a);
	if (ret)
		return DH_COOKIE(pid, s->fn, regs) | DH_COOKIE_RETURN;
	return DH_COOKIE(pid, s->fn, regs) |
	       (s->place.stepped ? DH_COOKIE_STEPPED : 0) |
	       (s->nests ? DH_COOKIE_NESTS : 0);
}

/* The kernel refuses a uprobe at an address another tracer is busy
 * installing or removing one at, for a moment: try again. */
static bool transient(int err)
{
	return err == -EBUSY || err == -EAGAIN || err == -EINVAL ||
	       err == -EINTR;
}

struct uprobe_multi_attr {	/* union bpf_attr's link_create */
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, multi_flags, pid;
};

static int link_multi(struct probes *p, struct probe_links *l, pid_t pid,
		      const char *path, const uint64_t *offsets,
		      const uint64_t *cookies, uint32_t cnt, enum link_kind k)
{
	struct uprobe_multi_attr a = {
		.prog_fd = bpf_program__fd(program_for(l, k)),
		.attach_type = k == LINK_SESSION ? BPF_TRACE_UPROBE_SESSION :
						   BPF_TRACE_UPROBE_MULTI,
		.path = (uintptr_t)path,
		.offsets = (uintptr_t)offsets,
		.cookies = (uintptr_t)cookies,
		.cnt = cnt,
		.multi_flags = k == LINK_RETURN ? UPROBE_MULTI_RETURN : 0,
		.pid = pid,
	};
	int fd = -1;

	for (int try = 0; try < ATTACH_TRIES; try++) {
		fd = syscall(SYS_bpf, BPF_LINK_CREATE, &a, sizeof(a));
		if (fd >= 0 || !transient(-errno))
			break;
		p->retries++;
		usleep(10000 << try);
	}
	if (fd < 0)
		return -errno;
	l->fds[l->n++] = fd;
	return 0;
}

static int link_perf(struct probes *p, struct probe_links *l, pid_t pid,
		     const struct alloc_site *s, enum link_kind k)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = k == LINK_RETURN,
		    .bpf_cookie = cookie_of(pid, s, k == LINK_RETURN));
	struct bpf_link *link = NULL;

	for (int try = 0; try < ATTACH_TRIES && !link; try++) {
		link = bpf_program__attach_uprobe_opts(program_for(l, k), pid,
						       s->path, s->place.offset, &opts);
		if (link || !transient(-errno))
			break;
		p->retries++;
		usleep(10000 << try);
	}
	if (!link)
		return -errno;
	l->perf[l->n++] = link;
	return 0;
}

/* Whether site @s is in a link of kind @k. */
static bool probed(const struct probe_links *l, const struct alloc_site *s,
		   enum link_kind k)
{
	if (s->unprobed)
		return false;
	if (is_release(s->fn))
		return k == LINK_ENTRY;
	/* the floor (calibration's too) never skips a return */
	if (l->p->session && !l->empty)
		return k == LINK_SESSION;
	return k != LINK_SESSION;
}

/* The sites of one object (those from @first on with its path) of link
 * kind @k, as one uprobe_multi link. */
static int attach_object(struct probes *p, struct probe_links *l, pid_t pid,
			 const struct alloc_sites *sites, size_t first,
			 enum link_kind k)
{
	const char *path = sites->v[first].path;
	uint64_t *offsets = calloc(sites->n, sizeof(*offsets));
	uint64_t *cookies = calloc(sites->n, sizeof(*cookies));
	uint32_t cnt = 0;
	int err = -ENOMEM;

	if (!offsets || !cookies)
		goto out;
	for (size_t i = first; i < sites->n; i++) {
		const struct alloc_site *s = &sites->v[i];

		if (strcmp(s->path, path) || !probed(l, s, k))
			continue;
		offsets[cnt] = s->place.offset;
		cookies[cnt++] = cookie_of(pid, s, k == LINK_RETURN);
	}
	err = cnt ? link_multi(p, l, pid, path, offsets, cookies, cnt, k) : 0;
out:
	free(offsets);
	free(cookies);
	return err;
}

/* Whether site @i is the first of its object's. */
static bool first_of_object(const struct alloc_sites *sites, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(sites->v[j].path, sites->v[i].path))
			return false;
	return true;
}

/*
 * Return probes first: an entry seen without its return would leave the
 * thread marked as inside the allocator, and its next calls from the same
 * frame would pass for nested ones and go uncounted. A return without its
 * entry (a call under way at attach time) is ignored.
 */
static int attach(struct probes *p, pid_t pid, const struct alloc_sites *sites,
		  bool empty, struct probe_links **out)
{
	struct probe_links *l = calloc(1, sizeof(*l));
	int err = -ENOMEM;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->p = p;
	l->empty = empty;
	/* At most two links per site, fewer with uprobe_multi. */
	if (p->multi)
		l->fds = calloc(2 * sites->n + 1, sizeof(*l->fds));
	else
		l->perf = calloc(2 * sites->n + 1, sizeof(*l->perf));
	if (!l->fds && !l->perf)
		goto fail;
	err = 0;
	for (int k = LINK_RETURN; k <= LINK_SESSION && !err; k++) {
		for (size_t i = 0; i < sites->n && !err; i++) {
			const struct alloc_site *s = &sites->v[i];

			if (p->multi && first_of_object(sites, i))
				err = attach_object(p, l, pid, sites, i, k);
			else if (!p->multi && probed(l, s, k))
				err = link_perf(p, l, pid, s, k);
		}
	}
	if (err)
		goto fail;
	*out = l;
	return 0;
fail:
	probes_detach(l);
	return err;
}

int probes_attach(struct probes *p, pid_t pid, const struct alloc_sites *sites,
		  struct probe_links **out)
{
	return attach(p, pid, sites, p->empty, out);
}

int probes_attach_floor(struct probes *p, pid_t pid,
			const struct alloc_sites *sites,
			struct probe_links **out)
{
	return attach(p, pid, sites, true, out);
}

/* One link being closed. */
struct closer {
	struct probes *p;
	int fd;			/* a uprobe_multi link, or -1 */
	struct bpf_link *perf;
};

static void close_one(const struct closer *c)
{
	if (c->fd >= 0)
		close(c->fd);
	else
		bpf_link__destroy(c->perf);
}

static void *closer_run(void *arg)
{
	struct closer *c = arg;
	struct probes *p = c->p;

	close_one(c);
	free(c);
	pthread_mutex_lock(&p->lock);
	if (!--p->closing)
		pthread_cond_broadcast(&p->idle);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Each link on a thread of its own: their grace periods overlap. */
void probes_detach(struct probe_links *l)
{
	struct probes *p;
	pthread_attr_t attr;

	if (!l)
		return;
	p = l->p;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 << 10);
	for (size_t i = 0; i < l->n; i++) {
		struct closer *c = malloc(sizeof(*c));
		struct closer here = {
			.p = p,
			.fd = l->fds ? l->fds[i] : -1,
			.perf = l->perf ? l->perf[i] : NULL,
		};
		pthread_t t;

		if (c) {
			*c = here;
			pthread_mutex_lock(&p->lock);
			p->closing++;
			pthread_mutex_unlock(&p->lock);
			if (!pthread_create(&t, &attr, closer_run, c))
				continue;
			free(c);
			pthread_mutex_lock(&p->lock);
			p->closing--;
			pthread_mutex_unlock(&p->lock);
		}
		/* No thread: close it here, slowly but surely. */
		close_one(&here);
	}
	pthread_attr_destroy(&attr);
	free(l->fds);
	free(l->perf);
	free(l);
}

int probes_track(struct probes *p, pid_t pid, bool on)
{
	uint32_t key = pid, one = 1;
	int fd = bpf_map__fd(p->skel->maps.tracked);

	if (on)
		return bpf_map_update_elem(fd, &key, &one, BPF_ANY) ? -errno : 0;
	bpf_map_delete_elem(fd, &key);
	return 0;
}

int probes_consume(struct probes *p)
{
	int n = ring_buffer__consume(p->rb);

	return n < 0 ? n : 0;
}

int probes_fd(const struct probes *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

int probes_stack(const struct probes *p, uint64_t id, uint64_t *ips,
		 unsigned int max)
{
	uint64_t buf[DH_MAX_FRAMES + 1] = { 0 };
	unsigned int n;

	if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.stacks), &id, buf))
		return -errno;
	for (n = 0; n < max && n < p->max_frames && buf[n]; n++)
		ips[n] = buf[n];
	if (n < max)
		ips[n] = 0;
	return n;
}

bool probes_session(const struct probes *p)
{
	return p->session;
}

/*
 * A per-CPU map's value under key, read as nfields u64 and summed over the
 * CPUs into out[0..nfields).
 */
static int percpu_sum_u64(int fd, uint32_t key, uint64_t *out, size_t nfields)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *percpu;
	int err = 0;

	memset(out, 0, nfields * sizeof(*out));
	if (ncpu <= 0)
		return -EINVAL;
	percpu = calloc((size_t)ncpu * nfields, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, percpu))
		err = -ENOENT;
	for (int c = 0; !err && c < ncpu; c++)
		for (size_t f = 0; f < nfields; f++)
			out[f] += percpu[(size_t)c * nfields + f];
	free(percpu);
	return err;
}

int probes_totals(const struct probes *p, pid_t pid, struct dh_totals *out)
{
	uint64_t sum[2];
	int err;

	_Static_assert(sizeof(*out) == sizeof(sum), "dh_totals is two u64");
	err = percpu_sum_u64(bpf_map__fd(p->skel->maps.totals), pid, sum, 2);
	out->bytes = sum[0];
	out->blocks = sum[1];
	return err;
}

int probes_sampled_add(const struct probes *p, pid_t pid, uint64_t addr)
{
	struct dh_sample_key k = { .pid = pid, .addr = addr };
	uint8_t one = 1;

	return bpf_map_update_elem(bpf_map__fd(p->skel->maps.sampled), &k,
				   &one, BPF_ANY) ? -errno : 0;
}

void probes_totals_forget(const struct probes *p, pid_t pid)
{
	uint32_t key = pid;

	bpf_map_delete_elem(bpf_map__fd(p->skel->maps.totals), &key);
}

void probes_counters(const struct probes *p, uint64_t out[DH_CNT_COUNT])
{
	int fd = bpf_map__fd(p->skel->maps.counters);

	for (uint32_t k = 0; k < DH_CNT_COUNT; k++)
		percpu_sum_u64(fd, k, &out[k], 1);
}

/* Array keys first, first + 1, ...: what a batch update takes. */
static int update_range(int fd, uint32_t first, const void *values,
			uint32_t n)
{
	uint32_t *keys = malloc((n ? n : 1) * sizeof(*keys));
	uint32_t count = n;
	int err;

	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		keys[i] = first + i;
	err = n ? bpf_map_update_batch(fd, keys, values, &count, NULL) : 0;
	free(keys);
	return err ? -errno : 0;
}

int probes_set_rows(struct probes *p, uint32_t first,
		    const struct dh_unwind_row *rows, uint32_t n)
{
	return update_range(bpf_map__fd(p->skel->maps.unwind_rows), first,
			    rows, n);
}

int probes_space_open(struct probes *p, pid_t pid)
{
	struct dh_unwind_proc proc = { .gen = ++p->gen };
	uint32_t key = pid;

	while (proc.slot < DH_UNWIND_SLOTS && p->slot_used[proc.slot])
		proc.slot++;
	if (proc.slot == DH_UNWIND_SLOTS)
		return -ENOSPC;
	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.unwind_procs), &key,
				&proc, BPF_ANY))
		return -errno;
	p->slot_used[proc.slot] = true;
	return proc.slot;
}

void probes_space_close(struct probes *p, pid_t pid, int slot)
{
	uint32_t key = pid;

	if (slot < 0)
		return;
	bpf_map_delete_elem(bpf_map__fd(p->skel->maps.unwind_procs), &key);
	p->slot_used[slot] = false;
}

int probes_set_mappings(struct probes *p, pid_t pid, int slot,
			const struct dh_unwind_mapping *m, uint32_t n)
{
	struct dh_unwind_proc proc = {
		.slot = slot, .nmappings = n, .gen = ++p->gen,
	};
	uint32_t key = pid;
	int err;

	if (n > DH_MAX_MAPPINGS)
		return -E2BIG;
	err = update_range(bpf_map__fd(p->skel->maps.unwind_mappings),
			   slot * DH_MAX_MAPPINGS, m, n);
	if (!err && bpf_map_update_elem(bpf_map__fd(p->skel->maps.unwind_procs),
					&key, &proc, BPF_ANY))
		err = -errno;
	return err;
}

int probes_set_object(struct probes *p, const struct dh_unwind_file *f,
		      const struct dh_unwind_object *o)
{
	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.unwind_objects), f, o,
				BPF_ANY))
		return -errno;
	return 0;
}

/* Waits for the links being closed: their programs must outlive them. */
void probes_close(struct probes *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	while (p->closing)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
	bpf_link__destroy(p->fork_link);
	bpf_link__destroy(p->exec_link);
	ring_buffer__free(p->rb);
	if (p->stats_fd >= 0)
		close(p->stats_fd);
	dhtrace_bpf__destroy(p->skel);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->idle);
	free(p);
}
