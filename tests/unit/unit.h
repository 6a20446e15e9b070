/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal unit-test harness. Each test binary prints one line per test,
 * "ok NAME" or "not ok NAME: why", and exits non-zero if any failed;
 * tests/run.py counts the lines.
 */
#ifndef DHTRACE_UNIT_H
#define DHTRACE_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_failed;		/* failures in the current test */
static int unit_total_failed;	/* failed tests in this binary */

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("#   %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
		unit_failed++;						\
	}								\
} while (0)

#define CHECK_U64(got, want) do {					\
	uint64_t g_ = (got), w_ = (want);				\
	if (g_ != w_) {							\
		printf("#   %s:%d: %s = %" PRIu64 ", want %" PRIu64 "\n", \
		       __FILE__, __LINE__, #got, g_, w_);		\
		unit_failed++;						\
	}								\
} while (0)

#define CHECK_STR(got, want) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (!g_ || strcmp(g_, w_) != 0) {				\
		printf("#   %s:%d: %s = \"%s\", want \"%s\"\n",		\
		       __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_); \
		unit_failed++;						\
	}								\
} while (0)

#define RUN(test) do {							\
	unit_failed = 0;						\
	test();								\
	if (unit_failed) {						\
		printf("not ok %s\n", #test);				\
		unit_total_failed++;					\
	} else {							\
		printf("ok %s\n", #test);				\
	}								\
} while (0)

#define UNIT_EXIT() return unit_total_failed ? 1 : 0

#endif /* DHTRACE_UNIT_H */
