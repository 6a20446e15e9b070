// SPDX-License-Identifier: GPL-2.0
/*
 * Baseline summaries for CI: the six totals of a profile and where they
 * came from, small enough to commit next to the code.
 */
#include "out/out.h"

static int baseline_fprint(const void *ctx, FILE *f)
{
	const struct an_summary *s = ctx;
	struct json_out j;
	int ret = json_begin(&j);

	if (ret)
		return ret;
	json_open(&j, '{');
	json_key(&j, "dhtraceBaseline");
	json_u64(&j, 1);
	json_metric_fields(&j, s->m);
	json_key(&j, "cmd");
	json_str(&j, s->cmd);
	json_key(&j, "time");
	json_str(&j, s->time);
	json_key(&j, "git_commit");
	json_str(&j, s->git_commit);
	json_close(&j, '}');
	return json_end(&j, f);
}

int out_baseline_write(const struct an_summary *s, const char *path)
{
	return out_write_atomic(path, baseline_fprint, s);
}
