/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --sample-bytes: Poisson sampling by bytes, as jemalloc's lg_prof_sample,
 * Go's MemProfileRate and tcmalloc do. Each thread counts down the bytes
 * to its next sample, an exponential draw of mean sample_bytes; a request
 * that reaches it is sampled (probability 1 - e^(-size/N)) and followed
 * through its return and its free, the others only add to the process's
 * exact totals. Part of dhtrace.bpf.c.
 */
#ifndef DHTRACE_SAMPLING_H
#define DHTRACE_SAMPLING_H

const volatile __u64 sample_bytes;	/* 0: exact, every call followed */
/* -ln((i + 0.5) / DH_EXP_TABLE) << 16: exponential draws by table, BPF
 * having no floating point. Filled by user space. */
const volatile __u32 neg_log_q16[DH_EXP_TABLE];

/* The sampled blocks still live: a release of any other costs a miss. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);		/* resized by user space */
	__type(key, struct dh_sample_key);
	__type(value, __u8);
} sampled SEC(".maps");

/* Exact totals per process, sampled or not. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DH_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct dh_totals);
} totals SEC(".maps");

static __always_inline __s64 exp_draw(void)
{
	__u32 i = bpf_get_prandom_u32() & (DH_EXP_TABLE - 1);

	return (__s64)((sample_bytes * neg_log_q16[i]) >> 16);
}

/* Every request of the process counts in its exact totals. */
static __always_inline void totals_add(__u64 size)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct dh_totals *t, zero = { 0 };

	t = bpf_map_lookup_elem(&totals, &pid);
	if (!t) {
		bpf_map_update_elem(&totals, &pid, &zero, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&totals, &pid);
	}
	if (t) {
		t->bytes += size ? size : 1;	/* as DHAT counts 0 */
		t->blocks++;
	}
}

/* Whether a new block of @size bytes is sampled. */
static __always_inline bool sample(__s64 *countdown, bool *armed, __u64 size)
{
	if (!*armed) {
		*countdown = exp_draw();
		*armed = true;
	}
	*countdown -= (__s64)(size ? size : 1);
	if (*countdown > 0)
		return false;
	/* Memoryless: the next point after this block is a fresh draw. */
	*countdown = exp_draw();
	return true;
}

static __always_inline struct dh_sample_key sample_key(__u64 addr)
{
	struct dh_sample_key k = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.addr = addr,
	};

	return k;
}

static __always_inline void sampled_add(__u64 addr)
{
	struct dh_sample_key k = sample_key(addr);
	__u8 one = 1;

	if (bpf_map_update_elem(&sampled, &k, &one, BPF_ANY))
		count(DH_CNT_SAMPLED_LOST);
}

/* Whether @addr was a sampled block; it is not any more. */
static __always_inline bool sampled_take(__u64 addr)
{
	struct dh_sample_key k = sample_key(addr);

	return !bpf_map_delete_elem(&sampled, &k);
}

#endif
