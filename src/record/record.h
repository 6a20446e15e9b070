/* SPDX-License-Identifier: GPL-2.0 */
/* `dhtrace [options] -- CMD` and `dhtrace -p PID`: trace and write. */
#ifndef DHTRACE_RECORD_H
#define DHTRACE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct record_opts {
	char *const *argv;	/* command mode: the command, NULL-ended */
	pid_t pid;		/* attach mode: the process */
	uint64_t duration_ns;	/* attach mode: 0 = until exit or signal */
	/* The files to write, NULL for a format not wanted; "%p" expands
	 * to the pid. */
	char *dhat_output;
	char *pprof_output;
	unsigned int max_frames;	/* printed frames, allocator included */
	size_t ringbuf_bytes;
	bool empty_probes;	/* benchmark floor: probes that do nothing */
	bool unwind_cfi;	/* unwind with the objects' CFI */
	bool unwind_fp;		/* follow frame pointers (where no CFI) */
};

/* Returns the exit status for dhtrace: the command's in command mode. */
int record(const struct record_opts *o);

#endif /* DHTRACE_RECORD_H */
