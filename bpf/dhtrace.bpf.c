// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel side of dhtrace: uprobes on the allocator of one process.
 *
 * Entry probes read the arguments and capture the user stack; return probes
 * read the result and emit one event per outermost allocator call into one
 * ring buffer, so user space sees a single order consistent with what
 * happened across threads. Frees are emitted at entry, and a realloc
 * releases its old block at entry, so that a block cannot be seen handed out
 * again before it was released.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "dhtrace.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load. */
const volatile __u32 max_frames = 11;	/* return addresses per stack */
const volatile __u64 wakeup_bytes = 1 << 20;
const volatile bool follow_forks;	/* a traced process's children are */

/* Traced processes (tgid -> 1): user space adds the ones it attaches to,
 * the fork tracepoint their children, synchronously, before they run. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DH_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u32);
} tracked SEC(".maps");

/* How far above the stack pointer a frame may be: the default stack limit. */
#define MAX_STACK_SPAN (8ULL << 20)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);	/* resized by user space */
} events SEC(".maps");

/* Stack id -> return addresses. The value size is set by user space to
 * what max_frames needs; the scratch buffer below is the upper bound. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 18);
	/* Sizes, not BTF types: user space shrinks the value before load. */
	__uint(key_size, sizeof(__u64));
	__uint(value_size, sizeof(struct dh_stack));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dh_stack);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DH_CNT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Per thread: the outermost allocator call in flight. */
struct thread_state {
	__u64 outer_sp;		/* stack pointer at the outermost entry */
	__u64 size;
	__u64 arg_ptr;		/* realloc: old block; posix_memalign: &ptr */
	__u64 stack_id;
	__u64 delete_ptr;	/* an outer release in flight: its own free */
	__u64 delete_sp;	/* and its stack pointer */
	__u32 depth;		/* allocator calls nested on this thread */
	__u32 fn;		/* enum dh_fn of the outermost call */
	__s64 countdown;	/* --sample-bytes: bytes to the next sample */
	bool armed;		/* countdown drawn */
	bool unsampled;		/* the call in flight is not followed */
	bool uncounted;		/* a followed resize no sample fell in */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} threads SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);

	if (c)
		(*c)++;
}

#include "sampling.h"

/* Every probe hit, by kind: what the traps cost is reckoned from these. */
static __always_inline void count_hit(__u64 cookie)
{
	__u32 fn = DH_COOKIE_FN(cookie);
	bool stepped = cookie & DH_COOKIE_STEPPED;

	if (cookie & DH_COOKIE_RETURN)
		count(DH_CNT_HIT_RETURN);
	else if (fn == DH_FN_FREE || fn == DH_FN_DELETE)
		count(stepped ? DH_CNT_HIT_RELEASE_STEPPED : DH_CNT_HIT_RELEASE);
	else
		count(stepped ? DH_CNT_HIT_ALLOC_STEPPED : DH_CNT_HIT_ALLOC);
}

static __always_inline void emit_as(__u64 id, __u32 kind, __u32 ev_flags,
				    __u64 addr, __u64 old_addr, __u64 size,
				    __u64 stack_id)
{
	struct dh_event *e;
	__u64 flags;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(DH_CNT_EVENTS_LOST);
		return;
	}
	e->kind = kind;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->flags = ev_flags;
	e->ts_ns = bpf_ktime_get_ns();
	e->addr = addr;
	e->old_addr = old_addr;
	e->size = size;
	e->stack_id = stack_id;
	/* Waking the reader per event would cost more than the event; it
	 * polls on a timer and is woken only when the buffer fills up. */
	flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

static __always_inline void emit(__u32 kind, __u64 addr, __u64 old_addr,
				 __u64 size, __u64 stack_id)
{
	emit_as(bpf_get_current_pid_tgid(), kind, 0, addr, old_addr, size,
		stack_id);
}

/* Unwinding tables, filled by user space (src/trace/unwind.c). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		/* resized by user space */
	__type(key, __u32);
	__type(value, struct dh_unwind_row);
} unwind_rows SEC(".maps");

/* The executable mappings of each process with a slot, sorted by start:
 * slot s holds entries [s * DH_MAX_MAPPINGS, (s + 1) * DH_MAX_MAPPINGS). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DH_UNWIND_SLOTS * DH_MAX_MAPPINGS);
	__type(key, __u32);
	__type(value, struct dh_unwind_mapping);
} unwind_mappings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DH_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct dh_unwind_proc);
} unwind_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DH_MAX_MAPPINGS);
	__type(key, struct dh_unwind_file);
	__type(value, struct dh_unwind_object);
} unwind_objects SEC(".maps");

const volatile bool fp_fallback = true;	/* frame pointers where no CFI */
const volatile bool cfi = true;		/* user space gives tables (else no
					 * frame has one: do not look) */

/*
 * The rule of each return address, as found in a process's mapping list
 * and its object's rows: a direct-mapped cache per CPU, so that a frame
 * seen before costs one array lookup instead of two binary searches. An
 * entry holds for the list generation it was found in (user space gives
 * every change of a list a new one), so a dlopen, a munmap, an exec or
 * another process in the slot never sees it.
 */
#define ROW_CACHE_BITS 12
#define ROW_CACHE_SIZE (1 << ROW_CACHE_BITS)

struct row_cache_entry {
	__u64 gen, pc;
	struct dh_unwind_row row;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ROW_CACHE_SIZE);
	__type(key, __u32);
	__type(value, struct row_cache_entry);
} row_cache SEC(".maps");

/*
 * The user stack is read a window at a time: a frame's words are mostly
 * in the window of the frame below, so a stack costs a read or two, not
 * one or two a frame. A window starts a little below the word asked for
 * (the walk goes up the stack, and a copy costs by the byte; but a
 * frame's saved rbp lies below its return address) and keeps to the
 * word's page: it can be read whenever the word can.
 */
#define WINDOW 2048	/* a power of two, at most the page size */
#define WINDOW_BELOW 64	/* how far below the word a window starts */
#define PAGE 4096

struct stack_window {
	__u64 w[WINDOW / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_window);
} windows SEC(".maps");

/* Where the unwinder stands: the frame of return address pc. */
struct dh_unwinder {
	__u64 pc, sp, bp;
	__u64 hash;
	struct dh_stack *s;
	struct stack_window *w;
	__u64 w_base;		/* the address w holds */
	__u32 w_len;		/* its bytes; 0: none */
	struct dh_unwind_proc proc;	/* gen 0: user space has no list */
	__u32 n;
	__u32 end;		/* enum dh_counter: how the stack ended */
};

/*
 * The binary searches are global functions: the verifier checks each once,
 * on its own, instead of once per path through the unwinder that calls it.
 */

/* The mapping that holds @addr in the list of @nmappings at @slot: 0 and
 * *@out, or -1 when user space has not told it. */
__noinline int find_mapping(__u32 slot, __u32 nmappings, __u64 addr,
			    struct dh_unwind_mapping *out)
{
	__u32 base = slot * DH_MAX_MAPPINGS, lo = 0, hi, mid, key;
	struct dh_unwind_mapping *m;

	if (!out)
		return -1;
	/* A mask, not a test: a test would give the verifier one path where
	 * hi is a constant, whose every branch it would then walk. User
	 * space keeps nmappings <= DH_MAX_MAPPINGS. */
	hi = nmappings & (2 * DH_MAX_MAPPINGS - 1);
	for (int i = 0; i < 12 && lo < hi; i++) {	/* log2(2 * DH_MAX_MAPPINGS) + 1 */
		mid = lo + (hi - lo) / 2;
		key = base + mid;
		m = bpf_map_lookup_elem(&unwind_mappings, &key);
		if (!m)
			return -1;
		if (m->start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	key = base + lo - 1;
	m = bpf_map_lookup_elem(&unwind_mappings, &key);
	if (!m)
		return -1;
	/* Keeps clang from offsetting m before the NULL test, which the
	 * verifier refuses. */
	barrier_var(m);
	if (addr >= m->end)
		return -1;
	*out = *m;
	return 0;
}

/* The index of the last of rows [first, first + count) at or below @pc,
 * or -1. */
__noinline int find_row(__u32 first, __u32 count, __u32 pc)
{
	__u32 lo = first, hi = first + count, mid;
	struct dh_unwind_row *r;

	for (int i = 0; i < 24 && lo < hi; i++) {	/* 16M rows */
		mid = lo + (hi - lo) / 2;
		r = bpf_map_lookup_elem(&unwind_rows, &mid);
		if (!r)
			return -1;
		if (r->pc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == first ? -1 : (int)(lo - 1);
}

struct vma_lookup {
	__u64 addr;
	struct dh_unwind_mapping m;	/* out: count 0 if not found */
};

static long vma_mapping(struct task_struct *task, struct vm_area_struct *vma,
			void *data)
{
	struct vma_lookup *l = data;
	struct dh_unwind_file key = { 0 };
	struct dh_unwind_object *o;
	struct inode *inode;
	__u64 off;

	inode = BPF_CORE_READ(vma, vm_file, f_inode);
	if (!inode)
		return 0;
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = BPF_CORE_READ(inode, i_ino);
	o = bpf_map_lookup_elem(&unwind_objects, &key);
	if (!o)
		return 0;
	off = BPF_CORE_READ(vma, vm_pgoff) * 4096 - BPF_CORE_READ(vma, vm_start);
	l->m.bias = o->adjust - off;	/* object address = addr - bias */
	l->m.first = o->first;
	l->m.count = o->count;
	return 0;
}

/* The mapping of @addr from the process's own memory map (slower: only
 * for mappings user space has not told). */
static __always_inline bool vma_mapping_of(__u64 addr,
					   struct dh_unwind_mapping *out)
{
	struct vma_lookup l = { .addr = addr };

	if (bpf_find_vma(bpf_get_current_task_btf(), addr, vma_mapping, &l, 0))
		return false;
	*out = l.m;
	return true;
}

/* The rule of @pc in the rows of mapping @m. */
static __always_inline struct dh_unwind_row row_of(const struct dh_unwind_mapping *m,
						   __u64 pc)
{
	struct dh_unwind_row none = { .rule = DH_RULE_NONE }, *r;
	__u64 addr = pc - 1 - m->bias;
	__u32 key;
	int i;

	if (!m->count || addr >> 32)
		return none;
	i = find_row(m->first, m->count, addr);
	if (i < 0)
		return none;
	key = i;
	r = bpf_map_lookup_elem(&unwind_rows, &key);
	return r ? *r : none;
}

static __always_inline struct row_cache_entry *row_cache_slot(__u64 pc)
{
	__u32 key = (pc * 0x9e3779b97f4a7c15ULL) >> (64 - ROW_CACHE_BITS);

	return bpf_map_lookup_elem(&row_cache, &key);
}

/* The rule for the frame of return address @pc (pc - 1: a call that never
 * returns can end its function): cached, else from user space's list of
 * the process's mappings, else from its memory map. */
static __always_inline struct dh_unwind_row rule_at(const struct dh_unwinder *u,
						    __u64 pc)
{
	struct dh_unwind_row none = { .rule = DH_RULE_NONE }, row;
	struct row_cache_entry *c;
	struct dh_unwind_mapping m;

	if (!cfi)
		return none;
	c = row_cache_slot(pc);
	if (c && u->proc.gen && c->gen == u->proc.gen && c->pc == pc)
		return c->row;
	if (find_mapping(u->proc.slot, u->proc.nmappings, pc - 1, &m))
		return vma_mapping_of(pc - 1, &m) ? row_of(&m, pc) : none;
	row = row_of(&m, pc);
	if (c) {
		c->gen = u->proc.gen;
		c->pc = pc;
		c->row = row;
	}
	return row;
}

/* Code built without frame pointers leaves anything in rbp: read only what
 * can be a frame of this stack. A faulting read costs more than the whole
 * rest of the probe. */
static __always_inline bool on_stack(__u64 addr, __u64 sp)
{
	return addr >= sp && addr - sp <= MAX_STACK_SPAN && !(addr & 7);
}

/* The word of the user stack at @addr, from the window that holds it. */
static __always_inline bool read_word(struct dh_unwinder *u, __u64 addr,
				      __u64 *out)
{
	__u64 base = u->w_base;
	__u32 len;

	if (addr & 7)
		return !bpf_probe_read_user(out, sizeof(*out), (void *)addr);
	if (addr < base || addr - base + 8 > u->w_len) {
		base = addr - WINDOW_BELOW;
		if ((base ^ addr) & ~(__u64)(PAGE - 1))
			base = addr & ~(__u64)(PAGE - 1);
		len = PAGE - (base & (PAGE - 1));
		if (len > WINDOW)
			len = WINDOW;
		u->w_len = 0;
		if (bpf_probe_read_user(u->w, len, (void *)base))
			return false;
		u->w_base = base;
		u->w_len = len;
	}
	*out = u->w->w[(addr - base) / 8 & (WINDOW / 8 - 1)];
	return true;
}

/* One frame up. Returns 0 to go on, 1 when the stack ended. */
static long unwind_step(__u32 i, void *ctx)
{
	struct dh_unwinder *u = ctx;
	struct dh_unwind_row row;
	__u64 cfa, ra, bp;

	u->s->ips[i & (DH_MAX_FRAMES - 1)] = u->pc;
	u->hash = (u->hash ^ u->pc) * 0x100000001b3ULL;
	u->n = i + 1;
	if (u->n >= max_frames) {
		u->end = DH_CNT_END_DEPTH;
		return 1;
	}
	row = rule_at(u, u->pc);
	switch (row.rule) {
	case DH_RULE_CFA_RSP:
	case DH_RULE_CFA_RBP:
		cfa = (row.rule == DH_RULE_CFA_RSP ? u->sp : u->bp) + row.cfa_off;
		if (!on_stack(cfa, u->sp + 8) || !read_word(u, cfa - 8, &ra))
			goto fault;
		if (row.rbp_off && !read_word(u, cfa + row.rbp_off, &u->bp))
			goto fault;
		u->sp = cfa;
		break;
	case DH_RULE_NONE:
		if (!fp_fallback) {
			u->end = DH_CNT_END_NO_TABLE;
			return 1;
		}
		/* The chain must climb the stack (the next step checks the
		 * saved rbp, which code with CFI need not have kept). */
		if (!on_stack(u->bp, u->sp) || !read_word(u, u->bp, &bp) ||
		    !read_word(u, u->bp + 8, &ra)) {
			u->end = DH_CNT_END_NO_TABLE;
			return 1;
		}
		u->sp = u->bp + 16;
		u->bp = bp;
		break;
	case DH_RULE_OUTERMOST:
		u->end = DH_CNT_END_COMPLETE;
		return 1;
	default:
		u->end = DH_CNT_END_UNSUPPORTED;
		return 1;
	}
	if (!ra) {
		u->end = DH_CNT_END_COMPLETE;
		return 1;
	}
	u->pc = ra;
	return 0;
fault:
	u->end = DH_CNT_END_FAULT;
	return 1;
}

/*
 * The user stack at an allocator's first instruction: the return address
 * sits at the stack pointer, and the caller's registers are as they were
 * at the call. Unwound with the CFI tables, frame pointers where an
 * object has none. Stored once in the stacks map, keyed by its hash.
 */
static __always_inline __u64 capture_stack(struct pt_regs *ctx, __u64 sp)
{
	__u32 zero = 0, tgid = bpf_get_current_pid_tgid() >> 32;
	struct dh_unwinder u = {
		.sp = sp + 8,
		.bp = PT_REGS_FP(ctx),
		.hash = 0xcbf29ce484222325ULL,
	};
	struct dh_unwind_proc *proc;
	__u64 hash;
	long err;

	u.s = bpf_map_lookup_elem(&scratch, &zero);
	u.w = bpf_map_lookup_elem(&windows, &zero);
	if (!u.s || !u.w)
		return 0;
	proc = bpf_map_lookup_elem(&unwind_procs, &tgid);
	if (proc)
		u.proc = *proc;
	if (!read_word(&u, sp, &u.pc) || !u.pc)
		return 0;
	bpf_loop(DH_MAX_FRAMES - 1, unwind_step, &u, 0);
	if (u.n < DH_MAX_FRAMES)
		u.s->ips[u.n & (DH_MAX_FRAMES - 1)] = 0;
	count(u.end);

	hash = u.hash ^ (u.hash >> 29);
	hash |= 1;	/* 0 means "no stack" */
	/* Most stacks were stored before: a lookup takes no lock, an
	 * update does. Stacks are never deleted. */
	if (bpf_map_lookup_elem(&stacks, &hash))
		return hash;
	err = bpf_map_update_elem(&stacks, &hash, u.s, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST */) {
		count(DH_CNT_STACKS_LOST);
		return 0;
	}
	return hash;
}

static __always_inline struct thread_state *thread_state(bool create)
{
	return bpf_task_storage_get(&threads, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/*
 * A probe's cookie: the process it was attached for above, enum dh_fn
 * below. The kernel runs a pid-bound uprobe_multi program only in its
 * process, but a perf-event uprobe in every task of its mm: a vfork
 * child's calls would count for its parent too.
 */
static __always_inline bool is_target(__u64 cookie)
{
	return bpf_get_current_pid_tgid() >> 32 == cookie >> 32;
}

/* Inside an allocator call of this thread? An outer call that was left by
 * longjmp or a throw has its stack pointer below ours: forget it. */
static __always_inline bool nested(struct thread_state *st, __u64 sp)
{
	if (!st->depth)
		return false;
	if (sp <= st->outer_sp)
		return true;
	st->depth = 0;
	count(DH_CNT_NESTED_RESET);
	return false;
}

static __always_inline __u64 mul_or_max(__u64 a, __u64 b)
{
	__u64 limit;

	if (!a)
		return 0;
	/* Spelled out: clang turns the plain test into a 128-bit multiply
	 * that BPF has no instruction for. */
	limit = ~0ULL / a;
	barrier_var(limit);
	if (b > limit)
		return ~0ULL;	/* overflow: the call fails, nothing counts */
	return a * b;
}

/* The probed function's first DH_ARGS arguments, each from the register
 * the cookie says holds it where the probe is (x86 numbering; never the
 * stack or frame pointer). Loaded into an array first: a switch on the
 * register would compile to a ctx access at a variable offset, which the
 * verifier refuses. */
struct args {
	__u64 v[DH_ARGS];
};

static __always_inline void load_args(struct pt_regs *ctx, __u64 cookie,
				      struct args *a)
{
	__u64 regs[16] = {
		ctx->ax, ctx->cx, ctx->dx, ctx->bx, 0, 0, ctx->si, ctx->di,
		ctx->r8, ctx->r9, ctx->r10, ctx->r11,
		ctx->r12, ctx->r13, ctx->r14, ctx->r15,
	};

	for (int i = 0; i < DH_ARGS; i++)
		a->v[i] = regs[DH_COOKIE_REG(cookie, i)];
}

static __always_inline int release(struct pt_regs *ctx, __u64 ptr,
				   bool outer);

/* Which requests an entry keeps: all, or those sampled. */
enum entry_verdict {
	ENTRY_FOLLOW,	/* its return must run */
	ENTRY_SKIP,	/* nothing to follow: nested, not ours, unsampled */
};

/* An allocation function's entry. @session: the return runs only if
 * asked for (uprobe.session); else it always runs and must find the
 * thread marked. */
static __always_inline int alloc_entry(struct pt_regs *ctx, __u64 cookie,
				       const struct args *a, bool session)
{
	__u32 fn = DH_COOKIE_FN(cookie);
	__u64 sp = PT_REGS_SP(ctx);
	struct thread_state *st;
	__u64 old = 0, size;

	st = thread_state(true);
	if (!st)
		return ENTRY_SKIP;
	if (nested(st, sp)) {
		if (session)	/* the outer call's return settles it */
			return ENTRY_SKIP;
		st->depth++;
		return ENTRY_FOLLOW;
	}

	switch (fn) {
	case DH_FN_CALLOC:
		size = mul_or_max(a->v[0], a->v[1]);
		break;
	case DH_FN_REALLOC:
		old = a->v[0];
		size = a->v[1];
		break;
	case DH_FN_REALLOCARRAY:
		old = a->v[0];
		size = mul_or_max(a->v[1], a->v[2]);
		break;
	case DH_FN_RUST_REALLOC:
		old = a->v[0];
		size = a->v[3];
		break;
	case DH_FN_MEMALIGN:
		size = a->v[1];
		break;
	case DH_FN_POSIX_MEMALIGN:
		size = a->v[2];
		break;
	default:	/* malloc, valloc, operator new */
		size = a->v[0];
		break;
	}

	st->unsampled = false;
	st->uncounted = false;
	if (sample_bytes) {
		/* each request draws once, whatever it turns out to be */
		bool hit = sample(&st->countdown, &st->armed, size);

		/* realloc(p, 0) frees p: no block, as valgrind counts it */
		if (!old || size || fn != DH_FN_REALLOC)
			totals_add(size);
		/* A resize of a sampled block is followed, and counts only
		 * if a sample falls in it, as any request; of another, it is
		 * a request like any, and sampled stands for a new one. */
		if (old && !sampled_take(old)) {
			old = 0;
			if (fn != DH_FN_POSIX_MEMALIGN)
				fn = DH_FN_MALLOC;
		}
		if (old) {
			st->uncounted = !hit;
		} else if (!hit) {
			/* An unsampled call keeps its return only if it may
			 * call another allocation function, which must then
			 * see it. */
			if (session && !(cookie & DH_COOKIE_NESTS))
				return ENTRY_SKIP;
			st->unsampled = true;
		}
	}
	st->depth = 1;
	st->outer_sp = sp;
	st->delete_ptr = 0;	/* see release() */
	st->fn = fn;
	st->size = size;
	st->arg_ptr = fn == DH_FN_POSIX_MEMALIGN ? a->v[0] : 0;
	st->stack_id = 0;
	if (st->unsampled)
		return ENTRY_FOLLOW;
	if (old) {
		/* A resize keeps the block's call site: no stack needed. */
		st->arg_ptr = old;
		emit(DH_EV_REALLOC_BEGIN, 0, old, size, 0);
		return ENTRY_FOLLOW;
	}
	st->stack_id = capture_stack(ctx, sp);
	return ENTRY_FOLLOW;
}

/* The return of an allocation function whose entry was followed. */
static __always_inline int alloc_return(struct pt_regs *ctx)
{
	__u64 ret = PT_REGS_RC(ctx);
	struct thread_state *st;
	__u64 addr = ret;

	st = thread_state(false);
	if (!st || !st->depth)
		return 0;
	if (--st->depth || st->unsampled)
		return 0;

	switch (st->fn) {
	case DH_FN_REALLOC:
	case DH_FN_REALLOCARRAY:
	case DH_FN_RUST_REALLOC:
		if (st->arg_ptr) {
			emit_as(bpf_get_current_pid_tgid(), DH_EV_REALLOC_END,
				st->uncounted ? DH_EV_F_UNCOUNTED : 0, ret,
				st->arg_ptr, st->size, 0);
			/* failed: the block is back; resized: it moved */
			if (sample_bytes && (ret || st->size))
				sampled_add(ret ? ret : st->arg_ptr);
			return 0;
		}
		break;
	case DH_FN_POSIX_MEMALIGN:
		if ((int)ret != 0 ||
		    bpf_probe_read_user(&addr, sizeof(addr), (void *)st->arg_ptr))
			return 0;
		break;
	}
	if (!addr)
		return 0;
	if (sample_bytes)
		sampled_add(addr);
	emit(DH_EV_ALLOC, addr, 0, st->size, st->stack_id);
	return 0;
}

/* Every entry probe without a session: an allocation function's, or a
 * release's. */
SEC("uprobe")
int BPF_KPROBE(dh_entry)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 fn = DH_COOKIE_FN(cookie);
	struct args a;

	count_hit(cookie);
	if (!is_target(cookie))
		return 0;
	load_args(ctx, cookie, &a);
	if (fn == DH_FN_FREE || fn == DH_FN_DELETE)
		return release(ctx, a.v[0], fn == DH_FN_DELETE);
	alloc_entry(ctx, cookie, &a, false);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(dh_alloc_return)
{
	count(DH_CNT_HIT_RETURN);
	if (!is_target(bpf_get_attach_cookie(ctx)))
		return 0;
	return alloc_return(ctx);
}

extern bool bpf_session_is_return(void) __ksym __weak;

/*
 * --sample-bytes, on kernels with uprobe.session (6.10): one program for
 * an allocation function's entry and its return, and the return runs
 * only for the calls the entry follows (it returns 0; 1 skips it). Loaded
 * with that attach type by user space: libbpf 1.1 knows no such section.
 */
SEC("uprobe")
int BPF_KPROBE(dh_alloc_session)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct args a;

	if (bpf_session_is_return()) {
		count(DH_CNT_HIT_RETURN);
		return alloc_return(ctx);
	}
	count_hit(cookie);
	if (!is_target(cookie))
		return 1;
	load_args(ctx, cookie, &a);
	return alloc_entry(ctx, cookie, &a, true);
}

/*
 * A release, counted unless it runs inside an allocator call (realloc(p,
 * 0) frees through free) or is the release an outer layer ends in: sized
 * delete chains into plain delete, which tail-calls free; __rust_dealloc
 * may end in a free. An outer layer remembers its pointer: the next
 * release of this thread, of the same pointer and no higher on the stack,
 * is its own. Any other release or allocation in between forgets it, so
 * an outer layer that ends in no probed release (jemalloc's own operator
 * delete) cannot hide the release of an address handed out again.
 */
static __always_inline int release(struct pt_regs *ctx, __u64 ptr,
				   bool outer)
{
	__u64 sp = PT_REGS_SP(ctx);
	struct thread_state *st;
	bool inner;

	if (!ptr)
		return 0;
	/* sampled: the free of a block never followed costs a miss */
	if (sample_bytes && !sampled_take(ptr))
		return 0;
	st = thread_state(outer);
	if (!st) {
		/* unmarked, an outer layer's free() would count again */
		if (!outer)
			emit(DH_EV_FREE, ptr, 0, 0, 0);
		return 0;
	}
	if (nested(st, sp))
		return 0;
	inner = st->delete_ptr == ptr && sp <= st->delete_sp;
	st->delete_ptr = 0;
	if (inner) {
		if (outer)	/* delete -> delete -> free */
			st->delete_ptr = ptr;
		return 0;
	}
	if (outer) {
		st->delete_ptr = ptr;
		st->delete_sp = sp;
	}
	emit(DH_EV_FREE, ptr, 0, 0, 0);
	return 0;
}

/*
 * A traced process forks: its child is traced from its first instruction
 * (user space holds it until its probes are attached) and starts from a
 * copy of its parent's profile, at this point of the event order.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(dh_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid, one = 1;

	if (!follow_forks || ctgid == ptgid ||
	    !bpf_map_lookup_elem(&tracked, &ptgid))
		return 0;
	bpf_map_update_elem(&tracked, &ctgid, &one, BPF_ANY);
	emit_as((__u64)ptgid << 32 | parent->pid, DH_EV_FORK, 0, ctgid, 0, 0, 0);
	return 0;
}

/*
 * Any process execs (-a): user space decides from its name, user and
 * cgroup whether to trace it, and a traced one starts afresh here, at its
 * place in the event order. (Without -a, ptrace reports execs.)
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(dh_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u64 comm[2] = { 0 };

	bpf_get_current_comm(comm, sizeof(comm));
	emit(DH_EV_EXEC, comm[0], comm[1], 0, 0);
	return 0;
}

/* The floor for `make bench`: a probe that only counts, on the same
 * sites. */
SEC("uprobe")
int dh_empty(struct pt_regs *ctx)
{
	count_hit(bpf_get_attach_cookie(ctx));
	return 0;
}
