/* SPDX-License-Identifier: GPL-2.0 */
/* Internal interfaces of src/record/: not for other stages. */
#ifndef DHTRACE_RECORD_INT_H
#define DHTRACE_RECORD_INT_H

#include "heap/heap.h"
#include "record/record.h"
#include "record/sites.h"
#include "sym/sym.h"
#include "trace/trace.h"

/* What every process's recorder shares. */
struct shared {
	struct probes *probes;
	struct unwind *unwind;		/* NULL: frame pointers only */
	struct sym_cache *cache;
	unsigned int max_ips;		/* return addresses per stack */
	const char *allocator;		/* --allocator; NULL: every layer */
	uint64_t sample_bytes;		/* --sample-bytes; 0: every call */
	int64_t wall_start_ns;		/* when tracing started */
	/* Takes in the mappings the kernel has told of since the last look:
	 * called before a new stack is symbolized, as it may run in a
	 * library mapped (and even unmapped) since, whose record comes
	 * through another ring than the events. */
	void (*catch_up)(void *ctx);
	void *catch_up_ctx;
};

struct file_id {
	dev_t dev;
	ino_t ino;
};

/* The recorder of one process (one image of it: an exec starts anew). */
struct proc {
	pid_t pid;
	char *cmd;			/* the image's command line */
	char *exe;			/* its executable (pprof's main binary) */
	struct heap *heap;
	struct sites *sites;
	struct sym *sym;
	struct unwind_space *space;	/* NULL: frame pointers only */
	struct alloc_sites alloc;	/* where its probes are */
	struct dh_totals requested;	/* --sample-bytes: its own requests,
					 * counted exactly (at its end) */
	/* What the dynamic linker said the image would load (predict.c),
	 * until the file of its malloc is seen mapped. */
	struct file_id *predicted;
	size_t npredicted;
	struct file_id malloc_file;
	bool alloc_seen;
	struct probe_links *links;
	bool root;			/* the command's, or a -p PID's */
	uint64_t cpu_before_ns;		/* CPU time used before it was traced
					 * (attached to running) */
	bool ptraced;			/* ptrace holds its children and execs */
	int pidfd;			/* -1 unless followed without ptrace */
};

/* A new process: @pid running (@running: read its mappings now) or about
 * to exec. NULL when out of memory. */
struct proc *proc_new(const struct shared *sh, pid_t pid, bool running);
/* A forked child of @parent: a copy of its recorder. */
struct proc *proc_fork(const struct proc *parent, pid_t pid);
/* @p just exec'ed (and is held): start afresh on its new image, probes
 * on its allocator. Returns 0 or a negative errno. */
int proc_exec(const struct shared *sh, struct proc *p, uint64_t now_ns);
/* Probes on @p's allocator (@p->alloc), bound to it. */
int proc_attach(const struct shared *sh, struct proc *p);
/* Whether @a and @b probe the same functions of the same files. */
bool proc_same_sites(const struct alloc_sites *a, const struct alloc_sites *b);
int proc_event(const struct shared *sh, struct proc *p,
	       const struct dh_event *e);
int proc_add_mapping(const struct shared *sh, struct proc *p,
		     const struct mapping *m);
void proc_free(struct proc *p);

/* After an exec: the objects predicted, with @p->alloc found in them. */
int predict_note(struct proc *p, char *const *objs, size_t n);
/* A mapping @p made: rebinds its probes when it maps an allocator that
 * was not predicted. Returns 0 or a negative errno. */
int predict_check(const struct shared *sh, struct proc *p,
		  const struct mapping *m);

/* pprof output (pprof_record.c). */
struct pprof_profile;

/*
 * The recording as a pprof profile at @path: @sites and @sym after the
 * run, @heap after heap_finish(); the mappings told, with their build
 * ids, @exe's first (pprof's main binary); the sites without their
 * plumbing unless @all_frames. @p's names and times are the caller's.
 * Returns 0 or a negative errno.
 */
int pprof_record_write(struct pprof_profile *p, const struct sites *sites,
		       const struct sym *sym, const struct heap *heap,
		       const char *exe, bool all_frames, const char *path);

/* Which processes -a traces (filter.c). */
struct proc_filter {
	const struct record_opts *o;	/* comms, uid */
	char *cgroup;			/* as /proc/PID/cgroup names it */
};

/* Says on stderr what is wrong with the options. */
int filter_init(struct proc_filter *f, const struct record_opts *o);
void filter_free(struct proc_filter *f);
/* @comm: its name at its exec (NULL: now, from /proc). */
bool filter_match(const struct proc_filter *f, pid_t pid, const char *comm);

/* What tracing cost (overhead.c). */
struct out_overhead;

/* The CPU time of process @pid, user and system, with the children it
 * waited for, from /proc (a zombie's too); 0 when it is gone. */
uint64_t proc_cpu_ns(pid_t pid);
/* The run's cost so far, over @cpu_ns of the target's CPU (0: unknown). */
void overhead_measure(const struct shared *sh, uint64_t cpu_ns,
		      struct out_overhead *o);

/* Output files (outputs.c). */
struct outputs {
	char *path[2];			/* [0] DHAT JSON, [1] pprof */
	bool all_frames;		/* pprof: the plumbing kept */
};

/* The files of process @pid: the names given (@root), else each with
 * ".PID" before its extension, "%p" expanded in both cases. */
int outputs_name(const struct record_opts *o, pid_t pid, bool root,
		 struct outputs *out);
/* Fail before tracing, not after, when a file cannot be written where
 * asked. Says why on stderr. */
int outputs_check(const struct record_opts *o);
void outputs_free(struct outputs *out);
/* Write @p's profile (after heap_finish) to each file, with what tracing
 * cost (@cost; NULL: nothing). Returns 0, or the first negative errno
 * (said on stderr). */
int outputs_write(const struct shared *sh, const struct proc *p,
		  const struct outputs *out, const struct out_overhead *cost);

/* Snapshots (snapshot.c): one at a time, written by a forked child. */
struct snapshot {
	int fd;			/* the child's report; -1: none running */
	pid_t pid;
	size_t nprocs;
	bool told;		/* asked for by SIGUSR1: say when written */
};

/* The profile so far of @procs, as of @now (their heaps closed on the
 * child's copy), to their files, with the cost so far @cost. -EBUSY
 * while one is being written. */
int snapshot_start(struct snapshot *sn, const struct shared *sh,
		   const struct record_opts *o, const struct out_overhead *cost,
		   struct proc *const *procs, size_t n, uint64_t now, bool told);
/* Waits for the one being written, if any (@sn->fd readable: at once),
 * and says how it went if told; a file it could not write it names on
 * stderr itself. */
void snapshot_done(struct snapshot *sn);

/* The status line of --interval (status.c). */
struct status {
	bool tty;		/* rewritten in place */
	bool escapes;		/* clear to end of line: not with NO_COLOR */
	size_t shown;		/* its length on the terminal; 0: none */
	uint64_t start_ns, last_ns, last_events;
};

struct status_numbers {
	uint64_t events;		/* read so far */
	uint64_t live_bytes, live_blocks;	/* summed over processes */
	uint64_t peak_bytes;		/* each process's own peak, summed */
	uint64_t lost;			/* events lost in the kernel */
};

void status_init(struct status *st, uint64_t now);
void status_show(struct status *st, const struct status_numbers *n,
		 uint64_t now);
/* Off the terminal, before another line is written. */
void status_clear(struct status *st);

#endif /* DHTRACE_RECORD_INT_H */
