// SPDX-License-Identifier: GPL-2.0
/*
 * A DHAT file as a pprof profile (FORMATS.md 4.5): frames from the frame
 * strings, one placeholder mapping (the file has no address space) named
 * after the command's program, and the program points' numbers: tb/tbk as
 * the alloc columns, eb/ebk as inuse, gb/gbk as peak. Files without block
 * lifetimes (ad-hoc, copy) have their two totals only.
 *
 * One pass over the file, in memory that grows with its frames. A
 * sample's locations need its frames' addresses (the frames of one address
 * are one location), and valgrind and dhat-rs write the frame table after
 * the program points; the header too comes last. So each program point
 * goes, as it is read, to an unlinked temporary file (its frame ids and
 * the six numbers pprof shows: a third of its JSON text), and is read back
 * from there into the writer once the frames are known.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "out/pprof_build.h"
#include "in/in.h"

#define NO_FILE SIZE_MAX
#define SPOOL_BUFFER (1 << 20)

/* A frame string taken apart; its strings are offsets in the names. */
struct frame_parts {
	uint64_t addr;
	size_t function, file;	/* file: NO_FILE when unknown */
	uint32_t line, column;
};

/* A program point in the spool: this, then its nfs frame ids. */
struct spooled {
	uint32_t nfs, unused;
	uint64_t tb, tbk, gb, gbk, eb, ebk;
};

struct converter {
	FILE *spool;
	size_t npps;
	struct frame_parts *frames;	/* by ftbl index */
	size_t nframes, capframes;
	char *names;		/* NUL-terminated strings, end to end */
	size_t len, cap;
	uint32_t *fs;		/* the program point read back */
	size_t capfs;
};

static int spool_error(FILE *f)
{
	return ferror(f) && errno > 0 ? -errno : -EIO;
}

static int spool_pp(void *ctx, size_t index, const struct dhat_pp *pp)
{
	struct converter *c = ctx;
	const uint64_t *st = pp->stat;
	struct spooled rec = {
		.nfs = (uint32_t)pp->nfs,
		.tb = st[DHAT_TB], .tbk = st[DHAT_TBK],
		.gb = st[DHAT_GB], .gbk = st[DHAT_GBK],
		.eb = st[DHAT_EB], .ebk = st[DHAT_EBK],
	};

	(void)index;
	if (pp->nfs > UINT32_MAX)
		return -E2BIG;
	if (fwrite(&rec, sizeof(rec), 1, c->spool) != 1 ||
	    fwrite(pp->fs, sizeof(*pp->fs), pp->nfs, c->spool) != pp->nfs)
		return spool_error(c->spool);
	c->npps++;
	return 0;
}

/* Keep @n bytes of @s as a string; its offset in *@off. */
static int keep(struct converter *c, const char *s, size_t n, size_t *off)
{
	int err = grow(&c->names, &c->cap, c->len + n + 1, 1);

	if (err)
		return err;
	memcpy(c->names + c->len, s, n);
	c->names[c->len + n] = '\0';
	*off = c->len;
	c->len += n + 1;
	return 0;
}

/* A frame with no function ("???") keeps its object in its name. */
static int keep_frame(void *ctx, uint32_t index, const char *s, size_t len)
{
	struct converter *c = ctx;
	struct frame_parts *f;
	struct dhat_frame fr;
	size_t func_len;
	int err;

	err = grow(&c->frames, &c->capframes, index + 1, sizeof(*c->frames));
	if (err)
		return err;
	c->nframes = index + 1;
	f = &c->frames[index];
	dhat_frame_parse(s, len, &fr);
	func_len = fr.func_len;
	if (fr.func_len == 3 && !memcmp(fr.func, "???", 3) && fr.obj)
		func_len = len - (size_t)(fr.func - s);	/* "??? (in /x.so)" */
	*f = (struct frame_parts){
		.addr = fr.addr, .file = NO_FILE,
		.line = fr.line, .column = fr.col,
	};
	err = keep(c, fr.func, func_len, &f->function);
	if (!err && fr.file)
		err = keep(c, fr.file, fr.file_len, &f->file);
	return err;
}

static void frame(void *ctx, uint32_t id, struct sym_frame *out)
{
	const struct converter *c = ctx;
	const struct frame_parts *f = &c->frames[id];

	*out = (struct sym_frame){
		.addr = f->addr, .mapping = 1,
		.function = c->names + f->function,
		.file = f->file == NO_FILE ? NULL : c->names + f->file,
		.line = (int)f->line, .column = (int)f->column,
	};
}

/* The program points come back in the order they went in. */
static int site(void *ctx, size_t i, const uint32_t **ids, size_t *n,
		struct heap_pp_stats *stats)
{
	struct converter *c = ctx;
	struct spooled rec;
	int err;

	(void)i;
	if (fread(&rec, sizeof(rec), 1, c->spool) != 1)
		return spool_error(c->spool);
	err = grow(&c->fs, &c->capfs, rec.nfs, sizeof(*c->fs));
	if (err)
		return err;
	if (fread(c->fs, sizeof(*c->fs), rec.nfs, c->spool) != rec.nfs)
		return spool_error(c->spool);
	*stats = (struct heap_pp_stats){
		.tb = rec.tb, .tbk = rec.tbk, .gb = rec.gb, .gbk = rec.gbk,
		.eb = rec.eb, .ebk = rec.ebk,
	};
	*ids = c->fs;
	*n = rec.nfs;
	return 0;
}

/* The command's program (its first word), for pprof's main binary. */
static char *program_of(const char *cmd)
{
	size_t len = cmd ? strcspn(cmd, " ") : 0;

	return len ? strndup(cmd, len) : strdup("[unknown]");
}

/* The profile of the file read, its program points in the spool. */
static int write_profile(struct converter *c, const struct dhat_meta *m,
			 const struct out_recorded *how, const char *path,
			 bool all_frames)
{
	char text[2][OUT_RECORDED_TEXT];
	const char *comments[2];
	const struct pprof_value_type totals[2] = {
		{ m->bksu ? m->bksu : "blocks", "count" },
		{ m->bsu ? m->bsu : "bytes",
		  !m->bsu || !strcmp(m->bsu, "bytes") ? "bytes" : "count" },
	};
	struct pprof_source src = {
		.ctx = c, .nframes = c->nframes, .nsites = c->npps,
		.all_frames = all_frames, .frame = frame, .site = site,
	};
	struct pprof_mapping placeholder = { .symbolized = true };
	struct pprof_profile p = {
		.cmd = m->cmd ? m->cmd : "",
		.pid = (int)m->pid,
		.totals_only = !m->bklt,
		.totals = m->bklt ? NULL : totals,
		.mappings = &placeholder,
		.nmappings = 1,
		.sample_bytes = how->sampled ? how->sampling.mean_bytes : 0,
		.comments = comments,
	};
	char *program = program_of(m->cmd);
	int err;

	if (!program)
		return -ENOMEM;
	p.ncomments = out_recorded_comments(how, text, comments);
	/* the viewer's times are µs in dhat-rs and dhtrace files, and
	 * instructions (no duration) in valgrind's */
	if (m->tu && !strcmp(m->tu, "\xc2\xb5s"))
		p.duration_nanos = (int64_t)(m->te * 1000);
	placeholder.path = program;
	err = pprof_build_write(&p, &src, path);
	free(program);
	return err;
}

/* How the file was recorded: sampled (pprof's Period) and its cost, for
 * the comments a recording writes too. */
static int recorded_as(const struct dhat_meta *m, const char *name,
		       struct out_recorded *how, struct dhat_err *err)
{
	char why[160];

	if (!out_recorded_read(m, how, why, sizeof(why)))
		return 0;
	snprintf(err->msg, sizeof(err->msg), "%s: %s", name, why);
	return -EINVAL;
}

int pprof_dhat_convert(FILE *in, const char *name, const char *path,
		       bool all_frames, struct dhat_err *err)
{
	static const struct dhat_read_ops ops = {
		.pp = spool_pp, .frame = keep_frame,
	};
	struct converter c = { 0 };
	struct out_recorded how;
	struct dhat_meta meta;
	int ret;

	c.spool = tmpfile();
	if (!c.spool) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg),
			 "cannot make a temporary file: %s", strerror(-ret));
		return ret;
	}
	setvbuf(c.spool, NULL, _IOFBF, SPOOL_BUFFER);
	ret = dhat_read(in, name, &ops, &c, &meta, err);
	if (!ret) {
		ret = recorded_as(&meta, name, &how, err);
		if (!ret) {
			rewind(c.spool);
			ret = write_profile(&c, &meta, &how, path, all_frames);
			if (ret)
				snprintf(err->msg, sizeof(err->msg),
					 "cannot write %s: %s", path,
					 strerror(-ret));
		}
		dhat_meta_free(&meta);
	}
	fclose(c.spool);
	free(c.frames);
	free(c.names);
	free(c.fs);
	return ret;
}
