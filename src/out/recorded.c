// SPDX-License-Identifier: GPL-2.0
/*
 * What a dhtrace file says of how it was recorded, beside the numbers:
 * sampled or not (dhtraceSampling), and what tracing cost
 * (dhtraceOverhead). Read back from the file and said in the words the run
 * itself printed, for report, view and the pprof comments of convert.
 */
#include <errno.h>
#include <string.h>

#include "out/out.h"
#include "out/out_int.h"

const char *out_sampling_text(const struct out_sampling *s, char *buf,
			      size_t len)
{
	char n[32], b[32], k[32];

	snprintf(buf, len, OUT_SAMPLING_LABEL "a block in every %s bytes on "
		 "average (--sample-bytes), numbers estimated; requested "
		 "exactly: %s bytes in %s blocks",
		 out_thousands(s->mean_bytes, n),
		 out_thousands(s->requested_bytes, b),
		 out_thousands(s->requested_blocks, k));
	return buf;
}

int out_sampling_parse(const char *json, struct out_sampling *s, char *err,
		       size_t len)
{
	struct fields f = { yajl_tree_parse(json, NULL, 0), NULL };
	bool ok;

	memset(s, 0, sizeof(*s));
	ok = YAJL_IS_OBJECT(f.obj) &&
	     field_u64(&f, "meanBytes", &s->mean_bytes) &&
	     (s->mean_bytes || field_wrong(&f, "meanBytes")) &&
	     field_u64(&f, "requestedBytes", &s->requested_bytes) &&
	     field_u64(&f, "requestedBlocks", &s->requested_blocks);
	yajl_tree_free(f.obj);
	if (ok)
		return 0;
	if (f.bad)
		snprintf(err, len, "%s: missing, or not what dhtrace writes",
			 f.bad);
	else
		snprintf(err, len, "not a JSON object");
	return -EINVAL;
}

int out_recorded_read(const struct dhat_meta *m, struct out_recorded *r,
		      char *err, size_t len)
{
	char why[128];

	memset(r, 0, sizeof(*r));
	if (m->sampling) {
		if (out_sampling_parse(m->sampling, &r->sampling, why,
				       sizeof(why))) {
			snprintf(err, len, "dhtraceSampling.%s", why);
			return -EINVAL;
		}
		r->sampled = true;
	}
	if (m->overhead) {
		if (out_overhead_parse(m->overhead, &r->overhead, why,
				       sizeof(why))) {
			snprintf(err, len, "dhtraceOverhead.%s", why);
			return -EINVAL;
		}
		r->costed = true;
	}
	return 0;
}

size_t out_recorded_comments(const struct out_recorded *r,
			     char text[2][OUT_RECORDED_TEXT],
			     const char *comments[2])
{
	size_t n = 0;

	if (r->sampled)
		comments[n++] = out_sampling_text(&r->sampling, text[0],
						  OUT_RECORDED_TEXT);
	if (r->costed)
		comments[n++] = out_overhead_text(&r->overhead, text[1],
						  OUT_RECORDED_TEXT);
	return n;
}
