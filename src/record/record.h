/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The recording session: `dhtrace [options] -- CMD` and `dhtrace -p PID`.
 *
 * How events flow: the kernel side writes every traced process's events
 * into one ring buffer, in the order they happened. The session reads it
 * and hands each event to the recorder of its process (by pid): one heap,
 * one set of call sites and one address space each (src/record/proc.c).
 * A fork event, at its place in that order, makes the child's recorder a
 * copy of its parent's (valgrind --trace-children=yes); ptrace holds the
 * child until its probes are attached (src/trace/follow.c). An exec starts
 * the process's recorder afresh on its new image, with the allocator that
 * image uses. When a process exits, its last events are read, its profile
 * written (src/record/outputs.c) and its recorder freed; the summary lists
 * them all. Meanwhile, every --snapshot-every and on SIGUSR1, a forked
 * child writes every live process's profile so far to the same files
 * (src/record/snapshot.c).
 */
#ifndef DHTRACE_RECORD_H
#define DHTRACE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct heap_totals;

/* A traced process's profile is written: its final numbers. */
typedef void (*record_done_fn)(void *ctx, pid_t pid, const char *cmd,
			       const struct heap_totals *t);

struct record_opts {
	char *const *argv;	/* command mode: the command, NULL-ended */
	const pid_t *pids;	/* attach mode: the processes */
	size_t npids;
	/* -a: every process on the machine (those started later too) that
	 * has one of @comms (if any), real uid @uid (if >= 0), and is in
	 * cgroup v2 directory @cgroup or below (if set). */
	bool all;
	char *const *comms;
	size_t ncomms;
	long uid;
	const char *cgroup;
	uint64_t duration_ns;	/* 0 = until they exit or a signal */
	uint64_t snapshot_ns;	/* write the profiles so far this often; 0: no */
	uint64_t interval_ns;	/* a status line on stderr this often; 0: no */
	/* The files to write, NULL for a format not wanted; "%p" expands
	 * to the pid. */
	char *dhat_output;
	char *pprof_output;
	bool all_frames;	/* pprof: keep the plumbing (the JSON always
				 * has every frame) */
	unsigned int max_frames;	/* printed frames, allocator included */
	size_t ringbuf_bytes;
	unsigned int max_procs;	/* traced in all; later ones are counted */
	bool follow;		/* trace children too */
	const char *allocator;	/* alloc_sites_find()'s choice; NULL: all */
	record_done_fn on_done;	/* NULL: not told */
	void *done_ctx;
	bool empty_probes;	/* benchmark floor: probes that do nothing */
	uint64_t sample_bytes;	/* sample one in every N bytes; 0: all */
	bool unwind_cfi;	/* unwind with the objects' CFI */
	bool unwind_fp;		/* follow frame pointers (where no CFI) */
};

/* Returns the exit status for dhtrace: the command's in command mode. */
int record(const struct record_opts *o);

#endif /* DHTRACE_RECORD_H */
