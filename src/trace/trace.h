/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracing: find a process's allocator, put the BPF probes on it, start or
 * follow the process, and hand on its allocation events and its executable
 * mappings (what symbolization needs after the process is gone).
 */
#ifndef DHTRACE_TRACE_H
#define DHTRACE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dhtrace.h"

/* --- the allocator: which objects define which functions (alloc_sites.c) */

/* Layers of allocator, in the order a call goes through them. */
enum alloc_layer {
	ALLOC_LAYER_RUST,	/* Rust's allocator shim (__rust_alloc …) */
	ALLOC_LAYER_CXX,	/* C++ operator new / delete */
	ALLOC_LAYER_PREFIXED,	/* je_malloc, _rjem_mallocx, mi_malloc … */
	ALLOC_LAYER_C,		/* malloc …, as the dynamic linker binds it */
};

/* Where a function's probes go (insn.h): a file offset, whether the
 * kernel single-steps the instruction there, and the register holding
 * each of the function's @nargs arguments there (x86 numbering). */
struct probe_place {
	uint64_t offset;
	bool stepped;
	unsigned int nargs;
	uint8_t arg_reg[DH_ARGS];
};

/* One probe site: object, where in it, what it is. */
struct alloc_site {
	char *path;
	struct probe_place place;
	uint64_t func_offset;	/* where the function starts */
	char *name;		/* the function, as looked for */
	bool unprobed;		/* a wrapper that always calls another site */
	bool nests;		/* an allocation that may call another site */
	enum dh_fn fn;
	enum alloc_layer layer;
	const char *prefix;	/* ALLOC_LAYER_PREFIXED: "je_" … */
};

struct alloc_sites {
	struct alloc_site *v;
	size_t n;
};

/*
 * The allocator functions of a process whose objects are @objects, in the
 * dynamic linker's search order (the executable first): the C and C++
 * names as it binds them, the same API under the prefix of a statically
 * linked or prefixed allocator, Rust's allocator shim in each object that
 * has one. @choice (--allocator) keeps one of them: "rust", "malloc" (the
 * plain names), "jemalloc", "tcmalloc", "mimalloc" (their prefixes and
 * their files' plain names), or a symbol prefix; NULL: all. Returns 0, or
 * a negative errno (-ENOENT when no allocation function is found).
 * @choice must outlive @out.
 */
int alloc_sites_find(struct alloc_sites *out, char *const *objects, size_t n,
		     const char *choice);
/* Whether any site allocates (some only release). */
bool alloc_sites_allocate(const struct alloc_sites *s);
/* A deep copy (a forked child's); 0 or -ENOMEM, *@dst to be freed. */
int alloc_sites_copy(struct alloc_sites *dst, const struct alloc_sites *src);
void alloc_sites_free(struct alloc_sites *s);
/* The layers probed, outermost first, and the wrappers left to the layer
 * below them: "Rust allocator shim in prog, malloc… in libc.so.6;
 * wrappers left to the layer below: 16 in libstdc++.so.6". malloc'ed;
 * NULL when out of memory. */
char *alloc_sites_describe(const struct alloc_sites *s);
/* The functions whose probes the kernel single-steps ("" for none). */
char *alloc_sites_stepped(const struct alloc_sites *s);
/* Whether @choice can name an allocator (not empty, no blanks). */
bool alloc_choice_valid(const char *choice);
/* Whether linked symbol @linked is an allocator function of any layer. */
bool alloc_fn_named(const char *linked);

/* The objects a command will load, in search order: the executable (for a
 * "#!" script, its interpreter), then what the dynamic linker lists, run
 * with @envp (its LD_PRELOAD and LD_LIBRARY_PATH count). */
int objects_of_command(const char *path, char *const *envp, char ***out,
		       size_t *n);
/* The same for a process stopped right after its exec: its executable,
 * as the dynamic linker will load it with the process's environment. */
int objects_of_exec(pid_t pid, char ***out, size_t *n);
/* The objects a live process has mapped, the executable first, libc last. */
int objects_of_process(pid_t pid, char ***out, size_t *n);
void objects_free(char **v, size_t n);

/* --- the kernel side (probes.c) */

struct probes;

struct probes_opts {
	unsigned int max_frames;	/* return addresses per stack */
	size_t ringbuf_bytes;		/* power of two */
	bool empty;			/* benchmark floor: probes do nothing */
	unsigned int unwind_rows;	/* capacity of the unwinding tables;
					 * 0: none, frame pointers only */
	bool fp_fallback;		/* frame pointers where no CFI */
	bool follow;			/* trace the children of the traced */
	bool all_execs;			/* report every exec (-a) */
	uint64_t sample_bytes;		/* --sample-bytes; 0: every call */
};

/*
 * What one trap costs on this kernel, the BPF program's run time left
 * out: timed at load on functions of dhtrace's own (calibrate.c).
 */
struct trap_costs {
	bool calibrated;
	char why[80];			/* when not calibrated */
	double emulated_ns;		/* an entry whose instruction is emulated */
	double stepped_ns;		/* an entry single-stepped */
	double return_ns;		/* a return probe, beyond its entry */
};

/* What the programs attached so far have cost, calibration left out. */
struct probes_cost {
	uint64_t hits[DH_CNT_COUNT];	/* the counters */
	bool bpf_stats;			/* BPF run-time stats were on */
	uint64_t bpf_ns, bpf_runs;	/* every program's */
	struct trap_costs traps;
};

typedef int (*event_fn)(void *ctx, const struct dh_event *e);

int probes_open(struct probes **out, const struct probes_opts *o,
		event_fn on_event, void *ctx);
/* Attach calls retried because the kernel was busy with another tracer's
 * uprobes on the same file. */
unsigned int probes_retries(const struct probes *p);

/* The links of one process. */
struct probe_links;

/* Attach every site, bound to process @pid (and only it: not to its
 * children, nor to a vfork child sharing its memory). Returns 0 or a
 * negative errno. */
int probes_attach(struct probes *p, pid_t pid, const struct alloc_sites *sites,
		  struct probe_links **out);
/* Detach, in the background: each link takes a kernel grace period to
 * close, so they close concurrently; probes_close() waits for them. */
void probes_detach(struct probe_links *l);
/* Whether @pid is traced: the kernel side follows its forks. */
int probes_track(struct probes *p, pid_t pid, bool on);
/* Hand on every event waiting in the ring buffer. */
int probes_consume(struct probes *p);
int probes_fd(const struct probes *p);	/* readable when events wait */
/* The return addresses of stack @id, 0-terminated in @ips[max]. */
int probes_stack(const struct probes *p, uint64_t id, uint64_t *ips,
		 unsigned int max);
void probes_counters(const struct probes *p, uint64_t out[DH_CNT_COUNT]);
/* --sample-bytes: whether unsampled calls skip their return probe
 * (uprobe.session links; kernel 6.10 on). */
bool probes_session(const struct probes *p);
/* --sample-bytes: the exact totals of process @pid's requests, sampled
 * or not (0, or -ENOENT if it made none), and forgetting them. */
int probes_totals(const struct probes *p, pid_t pid, struct dh_totals *out);
void probes_totals_forget(const struct probes *p, pid_t pid);
/* --sample-bytes: block @addr of @pid is followed (a forked child's
 * copies of its parent's). */
int probes_sampled_add(const struct probes *p, pid_t pid, uint64_t addr);
void probes_cost(const struct probes *p, struct probes_cost *out);
/* The cost floor's program (it counts hits, nothing else) on @sites of
 * @pid, whatever the mode: for calibration. */
int probes_attach_floor(struct probes *p, pid_t pid,
			const struct alloc_sites *sites,
			struct probe_links **out);
/* Every BPF program's run time and runs so far (0 without stats). */
void probes_bpf_time(const struct probes *p, uint64_t *ns, uint64_t *runs);
/* Time the traps on this kernel (calibrate.c): well under 50 ms. */
void trap_calibrate(struct probes *p, struct trap_costs *out);
/* Unwinding tables: rows at [first, first + n). */
int probes_set_rows(struct probes *p, uint32_t first,
		    const struct dh_unwind_row *rows, uint32_t n);
/* A process's mapping list in the kernel: its slot, or a negative errno
 * (-ENOSPC: all taken; its mappings are then found from its memory map). */
int probes_space_open(struct probes *p, pid_t pid);
void probes_space_close(struct probes *p, pid_t pid, int slot);
/* The whole sorted list, @n of them. */
int probes_set_mappings(struct probes *p, pid_t pid, int slot,
			const struct dh_unwind_mapping *m, uint32_t n);
int probes_set_object(struct probes *p, const struct dh_unwind_file *f,
		      const struct dh_unwind_object *o);
void probes_close(struct probes *p);

/* --- the process (target.c) */

struct target {
	pid_t pid;
	int pidfd;		/* readable when the process has exited */
	int release_fd;		/* spawned child waits on it before exec */
	int exec_err_fd;	/* spawned child reports a failed exec */
	bool spawned;
};

/* PATH lookup as execvp does it. Returns a malloc'ed path, or NULL with
 * errno set. */
char *target_resolve(const char *cmd);
/* Fork a child that waits, then execs @exe with @argv on release. */
int target_spawn(struct target *t, const char *exe, char *const argv[]);
/* Let the child exec. Returns 0, or the child's exec errno negated. */
int target_release(struct target *t);
/* Follow a running process. Returns 0 or -ESRCH. */
int target_follow(struct target *t, pid_t pid);
/* Reap a spawned child: its exit status as a shell reports it. */
int target_reap(struct target *t);
void target_close(struct target *t);

/* --- mappings (mmaps.c) */

struct mapping {
	uint64_t start, end, pgoff;
	const char *path;
	pid_t pid;		/* the process that mapped it */
};

typedef int (*mapping_fn)(void *ctx, const struct mapping *m);

/* Each executable, file-backed mapping in /proc/PID/maps. */
int proc_maps_read(pid_t pid, mapping_fn fn, void *ctx);

/* Executable mappings the process makes from now on (perf MMAP2 records),
 * in every thread, those created later too; @pid -1: every process's. */
struct mmap_watch;
int mmap_watch_open(struct mmap_watch **out, pid_t pid, bool all_threads);
int mmap_watch_drain(struct mmap_watch *w, mapping_fn fn, void *ctx);
void mmap_watch_close(struct mmap_watch *w);

/* --- unwinding tables for the kernel side (unwind.c) */

/* Every object's table, shared by all traced processes. */
struct unwind;

/* Tables are built as objects are told; until unwind_start() they stay in
 * user space, so that the kernel's table can be sized to hold them. */
struct unwind *unwind_new(void);
void unwind_free(struct unwind *u);
/* Build the table of an object process @pid (0: none yet) maps at
 * [@start, @end) (or is about to map: @start == @end), so that its first
 * stacks unwind before user space hears of the mapping. */
void unwind_add_object(struct unwind *u, pid_t pid, const char *path,
		       uint64_t start, uint64_t end);
/* Rows of the tables built and not yet given to the kernel side. */
uint32_t unwind_rows_built(const struct unwind *u);
/* From now on the kernel side's table, of @capacity rows, gets them. */
void unwind_start(struct unwind *u, struct probes *p, uint32_t capacity);
/* Objects left to frame pointers because the tables were full. */
uint32_t unwind_objects_without_room(const struct unwind *u);

/* One process's executable mappings, in the kernel (after unwind_start). */
struct unwind_space;

int unwind_space_open(struct unwind_space **out, struct unwind *u, pid_t pid);
/* A forked child's: @parent's mappings. */
int unwind_space_clone(struct unwind_space **out,
		       const struct unwind_space *parent, pid_t pid);
void unwind_space_close(struct unwind_space *s);
/* An executable mapping: builds its object's table the first time.
 * Returns 0 or a negative errno. */
int unwind_space_add_mapping(struct unwind_space *s, const struct mapping *m);

/* --- following processes with ptrace (follow.c) */

/*
 * The processes of a tree, held at their birth and right after each exec
 * until their probes are in place, so that they are traced from their
 * first instruction. ptrace runs on a thread of its own (the tracer of a
 * process is a thread): when it ends, the kernel lets every process go,
 * as it does when dhtrace is killed.
 */
struct follow;

enum follow_kind {
	FOLLOW_FORK,	/* pid was born of parent, and is held */
	FOLLOW_EXEC,	/* pid exec'ed, and is held */
	FOLLOW_EXIT,	/* pid exited: status as waitpid gives it */
};

struct follow_event {
	enum follow_kind kind;
	pid_t pid, parent;
	int status;
	uint64_t cpu_ns;	/* FOLLOW_EXIT: CPU time, user and system, of
				 * the process and the children it waited for */
};

/* @children: follow forks (else execs only). */
int follow_start(struct follow **out, bool children);
/* Follow @pid from now on: every thread (a running process), or the one
 * thread of a spawned child that has not exec'ed yet. Returns 0 or a
 * negative errno (-EPERM: another tracer has it). */
int follow_add(struct follow *f, pid_t pid);
/* Readable when events wait. */
int follow_fd(const struct follow *f);
/* The next event: 1, or 0 when none waits. */
int follow_next(struct follow *f, struct follow_event *ev);
/* Let a held process run. */
void follow_resume(struct follow *f, pid_t pid);
/* Let a held process run, no longer followed (nor its children). */
void follow_release(struct follow *f, pid_t pid);
/* Stop following: every process goes on untraced. */
void follow_stop(struct follow *f);

#endif /* DHTRACE_TRACE_H */
