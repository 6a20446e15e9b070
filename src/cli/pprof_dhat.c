// SPDX-License-Identifier: GPL-2.0
/*
 * A DHAT file as a pprof profile (FORMATS.md 4.5): frames from the frame
 * strings, one placeholder mapping (the file has no address space) named
 * after the command's program, and the program points' numbers: tb/tbk as
 * the alloc columns, eb/ebk as inuse, gb/gbk as peak. Files without block
 * lifetimes (ad-hoc, copy) have their two totals only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/pprof_build.h"
#include "in/in.h"

struct converted {
	const struct dhat_file *df;
	struct sym_frame *frames;	/* by ftbl index */
	char *names;			/* their strings, NUL-separated */
};

static char *put(char **at, const char *s, size_t len)
{
	char *start = *at;

	memcpy(start, s, len);
	start[len] = '\0';
	*at += len + 1;
	return start;
}

/* Every frame string taken apart, with NUL-terminated copies of its
 * parts. A frame with no function ("???") keeps its object in its name. */
static int parse_frames(struct converted *c)
{
	const struct dhat_file *df = c->df;
	struct dhat_frame fr;
	size_t bytes = 0;
	char *at;

	for (size_t i = 0; i < df->nftbl; i++)
		bytes += 2 * (strlen(df->ftbl[i]) + 2);
	c->frames = calloc(df->nftbl ? df->nftbl : 1, sizeof(*c->frames));
	c->names = at = malloc(bytes ? bytes : 1);
	if (!c->frames || !c->names)
		return -ENOMEM;
	for (size_t i = 0; i < df->nftbl; i++) {
		struct sym_frame *f = &c->frames[i];
		const char *s = df->ftbl[i];

		dhat_frame_parse(s, strlen(s), &fr);
		f->addr = fr.addr;
		f->mapping = 1;
		if (fr.func_len == 3 && !memcmp(fr.func, "???", 3) && fr.obj) {
			const char *name = fr.func;

			/* "??? (in /lib/x.so)" */
			f->function = put(&at, name, strlen(s) - (name - s));
		} else {
			f->function = put(&at, fr.func, fr.func_len);
		}
		if (fr.file) {
			f->file = put(&at, fr.file, fr.file_len);
			f->line = fr.line;
			f->column = fr.col;
		}
	}
	return 0;
}

static void frame(const void *ctx, uint32_t id, struct sym_frame *out)
{
	const struct converted *c = ctx;

	*out = c->frames[id];
}

static const uint32_t *site(const void *ctx, size_t i, size_t *n,
			    struct heap_pp_stats *stats)
{
	const struct dhat_pp *pp = &((const struct converted *)ctx)->df->pps[i];

	*stats = (struct heap_pp_stats){
		.tb = pp->stat[DHAT_TB], .tbk = pp->stat[DHAT_TBK],
		.tl_ns = pp->stat[DHAT_TL],
		.mb = pp->stat[DHAT_MB], .mbk = pp->stat[DHAT_MBK],
		.gb = pp->stat[DHAT_GB], .gbk = pp->stat[DHAT_GBK],
		.eb = pp->stat[DHAT_EB], .ebk = pp->stat[DHAT_EBK],
	};
	*n = pp->nfs;
	return pp->fs;
}

/* The command's program (its first word), for pprof's main binary. */
static char *program_of(const char *cmd)
{
	size_t len = cmd ? strcspn(cmd, " ") : 0;

	return len ? strndup(cmd, len) : strdup("[unknown]");
}

int pprof_dhat_write(const struct dhat_file *df, const char *path)
{
	const struct dhat_meta *m = &df->meta;
	const struct pprof_value_type totals[2] = {
		{ m->bksu ? m->bksu : "blocks", "count" },
		{ m->bsu ? m->bsu : "bytes",
		  !m->bsu || !strcmp(m->bsu, "bytes") ? "bytes" : "count" },
	};
	struct converted c = { .df = df };
	struct pprof_source src = {
		.ctx = &c, .nframes = df->nftbl, .nsites = df->npps,
		.frame = frame, .site = site,
	};
	struct pprof_mapping placeholder = { .symbolized = true };
	struct pprof_profile p = {
		.cmd = m->cmd ? m->cmd : "",
		.pid = (int)m->pid,
		.totals_only = !m->bklt,
		.totals = m->bklt ? NULL : totals,
		.mappings = &placeholder,
		.nmappings = 1,
	};
	char *program = program_of(m->cmd);
	int err;

	/* the viewer's times are µs in dhat-rs and dhtrace files, and
	 * instructions (no duration) in valgrind's */
	if (m->tu && !strcmp(m->tu, "\xc2\xb5s"))
		p.duration_nanos = (int64_t)(m->te * 1000);
	placeholder.path = program;
	err = program ? parse_frames(&c) : -ENOMEM;
	if (!err)
		err = pprof_build_write(&p, &src, path);
	free(program);
	free(c.frames);
	free(c.names);
	return err;
}
