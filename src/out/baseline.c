// SPDX-License-Identifier: GPL-2.0
/*
 * Baseline summaries for CI: the six totals of a profile and where they
 * came from, small enough to commit next to the code.
 */
#include "out/out.h"

int out_baseline_write(const struct an_summary *s, const char *path)
{
	struct out_file of;
	struct json_out j;
	int ret = out_file_open(&of, path);

	if (ret)
		return ret;
	ret = json_begin(&j);
	if (ret) {
		out_file_abort(&of);
		return ret;
	}
	json_open(&j, '{');
	json_key(&j, "dhtraceBaseline");
	json_u64(&j, 1);
	for (int m = 0; m < AN_NMETRICS; m++) {
		json_key(&j, an_metric_name(m));
		json_u64(&j, s->m[m]);
	}
	json_key(&j, "cmd");
	json_str(&j, s->cmd);
	json_key(&j, "time");
	json_str(&j, s->time);
	json_key(&j, "git_commit");
	json_str(&j, s->git_commit);
	json_close(&j, '}');
	ret = json_end(&j, of.f);
	if (ret) {
		out_file_abort(&of);
		return ret;
	}
	return out_file_commit(&of);
}
