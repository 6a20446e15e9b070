/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A recording as a pprof profile: each call site a sample with the
 * accounting's numbers, its frames grouped into locations (one per code
 * address, its inlined calls as several lines), the mappings told with
 * their build ids, the executable's first.
 */
#ifndef DHTRACE_PPROF_BUILD_H
#define DHTRACE_PPROF_BUILD_H

#include "cli/sites.h"
#include "heap/heap.h"
#include "out/out.h"
#include "sym/sym.h"

/*
 * Fill @p's mappings, locations and samples from @sites, @sym and @heap
 * (after heap_finish()), and write it to @path; @exe is the executable's
 * path, for pprof's main binary. @p's other fields are the caller's.
 * Returns 0 or a negative errno.
 */
int pprof_build_write(struct pprof_profile *p, const struct sites *sites,
		      const struct sym *sym, const struct heap *heap,
		      const char *exe, const char *path);

#endif /* DHTRACE_PPROF_BUILD_H */
