// SPDX-License-Identifier: GPL-2.0
/*
 * --fail-if on a recording (`dhtrace --fail-if 'peak>50MiB' -- ./test`):
 * the expressions of `report --fail-if`, checked on each traced process's
 * numbers once its profile is written.
 */
#include <stdio.h>
#include <string.h>

#include "analysis/analysis.h"
#include "cli/commands.h"
#include "heap/heap.h"
#include "out/out.h"

int record_gates_add(struct record_gates *rg, const char *text)
{
	struct dhat_err err;

	if (rg->n == RECORD_GATES_MAX) {
		fprintf(stderr, "dhtrace: too many --fail-if\n");
		return -1;
	}
	if (an_gate_parse(text, &rg->v[rg->n], &err)) {
		fprintf(stderr, "dhtrace: %s\n", err.msg);
		return -1;
	}
	if (rg->v[rg->n].relative) {
		fprintf(stderr, "dhtrace: --fail-if '%s': " AN_GATE_NEEDS_BASE "\n",
			text);
		return -1;
	}
	rg->n++;
	return 0;
}

void record_gates_check(void *ctx, pid_t pid, const char *cmd,
			const struct heap_totals *t)
{
	struct record_gates *rg = ctx;
	struct an_summary s = { .m = {
		[AN_TOTAL] = t->total_bytes, [AN_TOTAL_BLOCKS] = t->total_blocks,
		[AN_PEAK] = t->gmax_bytes, [AN_PEAK_BLOCKS] = t->gmax_blocks,
		[AN_END] = t->end_bytes, [AN_END_BLOCKS] = t->end_blocks,
	} };

	for (size_t i = 0; i < rg->n; i++) {
		struct an_gate_result res;
		char why[256];

		an_gate_eval(&rg->v[i], NULL, &s, &res);
		if (!res.failed)
			continue;
		fprintf(stderr, "dhtrace: gate failed: PID %d (%s): %s\n", pid,
			cmd, out_gate_reason(&rg->v[i], &res, why, sizeof(why)));
		rg->failed = true;
	}
}
