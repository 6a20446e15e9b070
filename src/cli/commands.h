/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sub-commands that read saved profiles: `dhtrace NAME ARGS...`. None
 * needs root. Each takes its own argv (argv[0] is NAME) and returns the
 * exit status: 0, 1 for a failed command (one "dhtrace: ..." line on
 * stderr) or a failed --fail-if gate, 2 for a usage error.
 */
#ifndef DHTRACE_COMMANDS_H
#define DHTRACE_COMMANDS_H

#include <stdbool.h>
#include <sys/types.h>

#include "analysis/analysis.h"

/* dhtrace convert [--format FMT] [--value STAT] IN OUT */
int cmd_convert(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_view(int argc, char **argv);
/* dhtrace probes [--allocator NAME] PROGRAM (probes.c) */
int cmd_probes(int argc, char **argv);

/* --fail-if on a recording (record_gates.c). */
#define RECORD_GATES_MAX 32

struct record_gates {
	struct an_gate v[RECORD_GATES_MAX];
	size_t n;
	bool failed;		/* some process met a condition */
};

struct heap_totals;

/* Says on stderr what is wrong with @text. Returns 0 or -1. */
int record_gates_add(struct record_gates *rg, const char *text);
/* A record_done_fn: checks each condition on one process's numbers. */
void record_gates_check(void *ctx, pid_t pid, const char *cmd,
			const struct heap_totals *t);

#endif /* DHTRACE_COMMANDS_H */
