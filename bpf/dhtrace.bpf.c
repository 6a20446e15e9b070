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
#include "dhtrace.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load. */
const volatile __u32 target_tgid;
const volatile __u32 max_frames = 11;	/* return addresses per stack */
const volatile __u64 wakeup_bytes = 1 << 20;

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
	__u64 delete_ptr;	/* operator delete in flight: its own free */
	__u32 depth;		/* allocator calls nested on this thread */
	__u32 fn;		/* enum dh_fn of the outermost call */
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

static __always_inline void emit(__u32 kind, __u64 addr, __u64 old_addr,
				 __u64 size, __u64 stack_id)
{
	struct dh_event *e;
	__u64 id = bpf_get_current_pid_tgid();
	__u64 flags;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(DH_CNT_EVENTS_LOST);
		return;
	}
	e->kind = kind;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->pad = 0;
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

/*
 * The user stack at an allocator's first instruction: the return address
 * sits at the stack pointer, the caller's frame is the head of the
 * frame-pointer chain. Stored once in the stacks map, keyed by its hash.
 */
static __always_inline __u64 capture_stack(struct pt_regs *ctx, __u64 sp)
{
	__u32 zero = 0;
	struct dh_stack *s = bpf_map_lookup_elem(&scratch, &zero);
	__u64 bp = PT_REGS_FP(ctx);
	__u64 hash = 0xcbf29ce484222325ULL;
	__u64 ra, frame[2];
	__u32 n = 0;
	long err;

	if (!s)
		return 0;
	if (bpf_probe_read_user(&ra, sizeof(ra), (void *)sp) || !ra)
		return 0;
	for (__u32 i = 0; i < DH_MAX_FRAMES - 1; i++) {
		s->ips[i] = ra;
		hash = (hash ^ ra) * 0x100000001b3ULL;
		n = i + 1;
		if (n >= max_frames)
			break;
		/* Code built without frame pointers leaves anything in rbp:
		 * read only what can be a frame of this stack. A faulting
		 * read costs more than the whole rest of the probe. */
		if (bp <= sp || bp - sp > MAX_STACK_SPAN || (bp & 7) ||
		    bpf_probe_read_user(frame, sizeof(frame), (void *)bp))
			break;
		ra = frame[1];
		/* The chain must climb the stack; anything else is not a
		 * frame pointer (code built without them). */
		if (!ra || frame[0] <= bp)
			break;
		bp = frame[0];
	}
	if (n < DH_MAX_FRAMES)
		s->ips[n & (DH_MAX_FRAMES - 1)] = 0;

	hash ^= hash >> 29;
	hash |= 1;	/* 0 means "no stack" */
	err = bpf_map_update_elem(&stacks, &hash, s, BPF_NOEXIST);
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

static __always_inline bool is_target(void)
{
	return bpf_get_current_pid_tgid() >> 32 == target_tgid;
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

SEC("uprobe")
int BPF_KPROBE(dh_alloc_entry)
{
	__u64 fn = bpf_get_attach_cookie(ctx);
	__u64 sp = PT_REGS_SP(ctx);
	struct thread_state *st;
	__u64 old = 0;

	if (!is_target())
		return 0;
	st = thread_state(true);
	if (!st)
		return 0;
	if (nested(st, sp)) {
		st->depth++;
		return 0;
	}
	st->depth = 1;
	st->outer_sp = sp;
	st->fn = fn;
	st->arg_ptr = 0;
	st->stack_id = 0;

	switch (fn) {
	case DH_FN_CALLOC:
		st->size = mul_or_max(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx));
		break;
	case DH_FN_REALLOC:
		old = PT_REGS_PARM1(ctx);
		st->size = PT_REGS_PARM2(ctx);
		break;
	case DH_FN_REALLOCARRAY:
		old = PT_REGS_PARM1(ctx);
		st->size = mul_or_max(PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx));
		break;
	case DH_FN_MEMALIGN:
		st->size = PT_REGS_PARM2(ctx);
		break;
	case DH_FN_POSIX_MEMALIGN:
		st->arg_ptr = PT_REGS_PARM1(ctx);
		st->size = PT_REGS_PARM3(ctx);
		break;
	default:	/* malloc, valloc, operator new */
		st->size = PT_REGS_PARM1(ctx);
		break;
	}

	if (old) {
		/* A resize keeps the block's call site: no stack needed. */
		st->arg_ptr = old;
		emit(DH_EV_REALLOC_BEGIN, 0, old, st->size, 0);
		return 0;
	}
	st->stack_id = capture_stack(ctx, sp);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(dh_alloc_return)
{
	__u64 ret = PT_REGS_RC(ctx);
	struct thread_state *st;
	__u64 addr = ret;

	if (!is_target())
		return 0;
	st = thread_state(false);
	if (!st || !st->depth)
		return 0;
	if (--st->depth)
		return 0;

	switch (st->fn) {
	case DH_FN_REALLOC:
	case DH_FN_REALLOCARRAY:
		if (st->arg_ptr) {
			emit(DH_EV_REALLOC_END, ret, st->arg_ptr, st->size, 0);
			return 0;
		}
		break;
	case DH_FN_POSIX_MEMALIGN:
		if ((int)ret != 0 ||
		    bpf_probe_read_user(&addr, sizeof(addr), (void *)st->arg_ptr))
			return 0;
		break;
	}
	if (addr)
		emit(DH_EV_ALLOC, addr, 0, st->size, st->stack_id);
	return 0;
}

/*
 * free() and operator delete: a release, counted unless it runs inside an
 * allocator call (realloc(p, 0) frees through free) or is the free() that
 * operator delete ends in: the sized and array variants chain into the
 * plain delete, which tail-calls free(), so delete remembers the pointer.
 */
SEC("uprobe")
int BPF_KPROBE(dh_release_entry, void *ptr)
{
	bool is_delete = bpf_get_attach_cookie(ctx) == DH_FN_DELETE;
	struct thread_state *st;

	if (!ptr || !is_target())
		return 0;
	st = thread_state(is_delete);
	if (is_delete && !st)
		return 0;	/* unmarked, its free() would count again */
	if (st && nested(st, PT_REGS_SP(ctx)))
		return 0;
	if (st && st->delete_ptr == (__u64)ptr) {
		if (!is_delete)
			st->delete_ptr = 0;
		return 0;
	}
	if (st && is_delete)
		st->delete_ptr = (__u64)ptr;
	emit(DH_EV_FREE, (__u64)ptr, 0, 0, 0);
	return 0;
}

/* The floor for `make bench`: a probe that does nothing, on the same sites. */
SEC("uprobe")
int dh_empty(struct pt_regs *ctx)
{
	return 0;
}
