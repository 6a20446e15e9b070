/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Call sites as a pprof profile: each call site a sample, its frames
 * grouped into locations (one per code address, its inlined calls as
 * several lines). The recorder feeds it from its symbols and accounting,
 * `dhtrace convert` from a DHAT file's frame strings and numbers.
 */
#ifndef DHTRACE_PPROF_BUILD_H
#define DHTRACE_PPROF_BUILD_H

#include "heap/heap.h"
#include "out/out.h"
#include "sym/sym.h"

/*
 * Where frames and call sites come from. Frame ids are < nframes.
 *  frame: frame @id in parts; its mapping is a pprof mapping number (1 +
 *         index in the profile's mappings; 0: none).
 *  site:  call site @i (< nsites; asked for in order, once each): its
 *         frame ids, innermost first (*@n of them, valid until the next
 *         call), and its numbers in *@stats. Returns 0 or a negative errno.
 * Each sample has its site's frames without the plumbing (analysis.h),
 * or all of them with @all_frames.
 */
struct pprof_source {
	void *ctx;
	size_t nframes, nsites;
	bool all_frames;
	void (*frame)(void *ctx, uint32_t id, struct sym_frame *out);
	int (*site)(void *ctx, size_t i, const uint32_t **ids, size_t *n,
		    struct heap_pp_stats *stats);
};

/*
 * Fill @p's locations and samples from @src and write it to @path. @p's
 * other fields (mappings, names, times) are the caller's. Each site is
 * written as it comes: memory grows with the frames, not the sites.
 * Returns 0 or a negative errno.
 */
int pprof_build_write(struct pprof_profile *p, const struct pprof_source *src,
		      const char *path);

/*
 * The DHAT file @in (any producer's; named @name in messages) as a pprof
 * profile at @path (FORMATS.md 4.5): frames from its frame strings under
 * one placeholder mapping named after the command's program; files
 * without block lifetimes get their two totals only. The file is read
 * once; its program points wait in an unlinked temporary file until the
 * frame table (which most producers write last) has been read, so memory
 * grows with the frames, not the program points. Returns 0, or a negative
 * errno with @err filled ("<name>: byte N: ..." for a bad file, "cannot
 * write <path>: ..." otherwise) and nothing written.
 */
int pprof_dhat_convert(FILE *in, const char *name, const char *path,
		       bool all_frames, struct dhat_err *err);

#endif /* DHTRACE_PPROF_BUILD_H */
