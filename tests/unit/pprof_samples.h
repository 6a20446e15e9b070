/* SPDX-License-Identifier: GPL-2.0 */
/* pprof_profile samples from an array, for the tests that write one. */
#ifndef DHTRACE_PPROF_SAMPLES_H
#define DHTRACE_PPROF_SAMPLES_H

#include "out/out.h"

struct sample_array {
	const struct pprof_sample *v;
	size_t n;
};

static inline int array_sample(void *ctx, size_t i, struct pprof_sample *s)
{
	const struct sample_array *a = ctx;

	if (i >= a->n)
		return 0;
	*s = a->v[i];
	return 1;
}

#define SAMPLES(array, count) \
	.sample = array_sample, \
	.sample_ctx = &(struct sample_array){ (array), (count) }

#endif /* DHTRACE_PPROF_SAMPLES_H */
