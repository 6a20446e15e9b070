/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only contract between the kernel side (bpf/dhtrace.bpf.c) and user
 * space. Both sides include this file; keep it free of kernel or libc
 * headers beyond fixed-width integer types.
 */
#ifndef DHTRACE_H
#define DHTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Upper bound on captured frames; the real depth is a load-time setting. */
#define DH_MAX_FRAMES 128

/*
 * A probe's attach cookie: the process it is bound to (bits 32-63), the
 * register that holds each of the function's first DH_ARGS arguments
 * where the probe is (4 bits each from bit 8, x86 numbering: a probe past
 * a function's first instructions may find one moved), whether the probe
 * is a return probe (DH_COOKIE_RETURN) or an entry probe the kernel
 * single-steps (DH_COOKIE_STEPPED), whether the function may call another
 * probed allocation function (DH_COOKIE_NESTS), and enum dh_fn (bits 0-7).
 */
#define DH_ARGS 4
#define DH_COOKIE(pid, fn, regs) \
	((__u64)(pid) << 32 | (__u64)(regs) << 8 | (fn))
#define DH_COOKIE_STEPPED (1ULL << 24)
#define DH_COOKIE_RETURN (1ULL << 25)
#define DH_COOKIE_NESTS (1ULL << 26)
#define DH_COOKIE_FN(c) ((__u32)(c) & 0xff)
#define DH_COOKIE_REG(c, i) ((__u32)((c) >> (8 + 4 * (i))) & 0xf)

/*
 * What an attached probe stands for, passed as the uprobe's attach cookie.
 * The entry program reads its arguments by this kind; the return program
 * reads the result.
 */
enum dh_fn {
	DH_FN_MALLOC,		/* malloc(size) */
	DH_FN_CALLOC,		/* calloc(nmemb, size) */
	DH_FN_REALLOC,		/* realloc(ptr, size) */
	DH_FN_REALLOCARRAY,	/* reallocarray(ptr, nmemb, size) */
	DH_FN_MEMALIGN,		/* memalign(align, size), aligned_alloc */
	DH_FN_POSIX_MEMALIGN,	/* posix_memalign(&ptr, align, size) */
	DH_FN_VALLOC,		/* valloc(size), pvalloc(size) */
	DH_FN_NEW,		/* operator new(size, ...), all variants */
	DH_FN_RUST_REALLOC,	/* __rust_realloc(ptr, old_size, align, size) */
	DH_FN_FREE,		/* free(ptr, ...), and every sized free */
	DH_FN_DELETE,		/* operator delete(ptr, ...), __rust_dealloc */
	DH_FN_COUNT,
};

/* Event kinds, in the one ring buffer, in the order things happened. */
enum dh_event_kind {
	DH_EV_ALLOC = 1,	/* a new block: addr, size, stack_id */
	DH_EV_FREE,		/* addr released */
	DH_EV_REALLOC_BEGIN,	/* realloc entry: old_addr is released for now */
	DH_EV_REALLOC_END,	/* realloc return: addr (0 = failed or freed), size */
	DH_EV_FORK,		/* pid forked a process: addr is its pid */
	DH_EV_EXEC,		/* pid exec'ed (reported with -a only): comm */
};

struct dh_event {
	__u32 kind;		/* enum dh_event_kind */
	__u32 pid;		/* thread group id */
	__u32 tid;
	__u32 flags;		/* DH_EV_F_* */
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	union {
		struct {
			__u64 addr;
			__u64 old_addr;	/* DH_EV_REALLOC_*: the block being resized */
			__u64 size;	/* requested size (calloc: nmemb * size) */
			__u64 stack_id;	/* key into the stacks map; 0 = no stack */
		};

/* DH_EV_REALLOC_END, --sample-bytes: a resize of a followed block that no
 * sample fell in. It moves and resizes the block, and counts in no total:
 * each resize counts as sampled on its own, as any request does. */
#define DH_EV_F_UNCOUNTED 1u

		/* DH_EV_EXEC: the new image's name, as it was at the exec
		 * (by the time user space reads /proc, it may have exec'ed
		 * again) */
		char comm[16];
	};
};

/* --sample-bytes: a sampled block, by process and address. */
struct dh_sample_key {
	__u32 pid;
	__u32 pad;
	__u64 addr;
};

/* --sample-bytes: every request of a process, sampled or not. */
struct dh_totals {
	__u64 bytes;
	__u64 blocks;
};

#define DH_EXP_TABLE 1024	/* exponential draws: a power of two */

/* Counters of what the kernel side could not deliver (per-CPU array). */
enum dh_counter {
	DH_CNT_EVENTS_LOST,	/* ring buffer full */
	DH_CNT_STACKS_LOST,	/* stacks map full */
	DH_CNT_NESTED_RESET,	/* outer call left without returning (longjmp, throw) */
	/* How captured stacks ended. */
	DH_CNT_END_COMPLETE,	/* reached the outermost frame */
	DH_CNT_END_DEPTH,	/* at the frame limit */
	DH_CNT_END_NO_TABLE,	/* code without CFI nor a frame-pointer chain */
	DH_CNT_END_UNSUPPORTED,	/* CFI the tables cannot express */
	DH_CNT_END_FAULT,	/* a stack read failed or made no sense */
	DH_CNT_SAMPLED_LOST,	/* --sample-bytes: the sampled map full */
	/* Probe hits, each one trap, whatever the program then did. */
	DH_CNT_HIT_ALLOC,	/* entries of allocation functions */
	DH_CNT_HIT_RETURN,	/* returns of allocation functions */
	DH_CNT_HIT_RELEASE,	/* entries of release functions */
	DH_CNT_HIT_ALLOC_STEPPED,	/* of the allocation entries, those
					 * single-stepped */
	DH_CNT_HIT_RELEASE_STEPPED,	/* of the releases */
	DH_CNT_COUNT,
};

/*
 * Unwinding tables (user space fills them, see src/trace/unwind.c). A row
 * holds from its pc (an ELF virtual address of its object, which must fit
 * 32 bits) to the next row's. Rules are enum cfi_rule of src/sym/sym.h.
 */
enum dh_unwind_rule {
	DH_RULE_NONE,		/* no CFI: follow the frame pointer */
	DH_RULE_CFA_RSP,	/* CFA = rsp + cfa_off */
	DH_RULE_CFA_RBP,	/* CFA = rbp + cfa_off */
	DH_RULE_OUTERMOST,	/* the stack ends here */
	DH_RULE_UNKNOWN,	/* cannot unwind through here */
};

struct dh_unwind_row {
	__u32 pc;
	__s32 cfa_off;
	__s16 rbp_off;		/* the caller's rbp at CFA + rbp_off; 0: unchanged */
	__u8 rule;		/* enum dh_unwind_rule */
	__u8 pad;
};

/* One executable mapping of a traced process, sorted by start. */
struct dh_unwind_mapping {
	__u64 start, end;
	__u64 bias;		/* object address = runtime address - bias */
	__u32 first, count;	/* its rows in the rows map; count 0: none */
};

#define DH_MAX_MAPPINGS 1024	/* a power of two */
#define DH_MAX_PROCS 8192	/* processes traced at once */
#define DH_UNWIND_SLOTS 256	/* of them with a mapping list in the kernel;
				 * the others' are looked up in their memory
				 * map */

struct dh_unwind_proc {
	__u32 slot;		/* of its mappings in unwind_mappings */
	__u32 nmappings;
	__u64 gen;		/* new on every change of any process's list
				 * (never 0): the kernel side's cached rows
				 * of an older list are not used */
};

/*
 * The same tables by file, for code in a mapping user space has not heard
 * of yet (a library mapped an instant ago): the kernel side finds the file
 * of the address itself. dev is the kernel's encoding (major << 20 | minor).
 */
struct dh_unwind_file {
	__u64 dev, ino;
};

struct dh_unwind_object {
	__u64 adjust;		/* object address = file offset - adjust */
	__u32 first, count;
};

/* Value of the stacks map: return addresses, innermost first, 0-terminated. */
struct dh_stack {
	__u64 ips[DH_MAX_FRAMES];
};

#endif /* DHTRACE_H */
