// SPDX-License-Identifier: GPL-2.0
/* The files of a recording: their names, and each process's profile. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out/pprof_build.h"
#include "out/out.h"
#include "record/record_int.h"

/* @tmpl with %p replaced by the pid and %% by %; without %p and unless
 * @root, ".PID" goes before the extension (".json", ".pb.gz", ".pb"). */
static char *output_path(const char *tmpl, pid_t pid, bool root)
{
	static const char *const exts[] = { ".pb.gz", ".json", ".pb" };
	size_t cap = strlen(tmpl) * 2 + 48, len = 0, tlen = strlen(tmpl);
	const char *insert_at = NULL;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	if (!root && !strstr(tmpl, "%p")) {
		const char *base = strrchr(tmpl, '/');

		base = base ? base + 1 : tmpl;
		insert_at = tmpl + tlen;
		for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
			size_t el = strlen(exts[i]);

			if (tlen - (base - tmpl) > el &&
			    !strcmp(tmpl + tlen - el, exts[i])) {
				insert_at = tmpl + tlen - el;
				break;
			}
		}
	}
	for (const char *p = tmpl;; p++) {
		if (p == insert_at)
			len += sprintf(s + len, ".%d", pid);
		if (!*p || len + 24 >= cap)
			break;
		if (p[0] == '%' && p[1] == 'p') {
			len += sprintf(s + len, "%d", pid);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			s[len++] = '%';
			p++;
		} else {
			s[len++] = *p;
		}
	}
	s[len] = '\0';
	return s;
}

void outputs_free(struct outputs *out)
{
	free(out->path[0]);
	free(out->path[1]);
	memset(out, 0, sizeof(*out));
}

int outputs_name(const struct record_opts *o, pid_t pid, bool root,
		 struct outputs *out)
{
	const char *tmpl[2] = { o->dhat_output, o->pprof_output };

	outputs_free(out);
	out->all_frames = o->all_frames;
	for (int i = 0; i < 2; i++) {
		if (!tmpl[i])
			continue;
		out->path[i] = output_path(tmpl[i], pid, root);
		if (!out->path[i])
			return -ENOMEM;
	}
	return 0;
}

int outputs_check(const struct record_opts *o)
{
	const char *tmpl[2] = { o->dhat_output, o->pprof_output };
	int err = 0;

	for (int i = 0; i < 2 && !err; i++) {
		char *copy;

		if (!tmpl[i])
			continue;
		copy = strdup(tmpl[i]);
		if (!copy)
			return -ENOMEM;
		if (access(dirname(copy), W_OK | X_OK))
			err = -errno;
		free(copy);
		if (err)
			fprintf(stderr, "dhtrace: cannot write %s: %s\n",
				tmpl[i], strerror(-err));
	}
	return err;
}

static int write_dhat(const struct shared *sh, const struct proc *r,
		      const struct out_overhead *cost,
		      const char *path)
{
	size_t npps = sites_count(r->sites), nftbl = sym_frame_count(r->sym);
	struct profile_pp *pps = calloc(npps ? npps : 1, sizeof(*pps));
	const char **ftbl = calloc(nftbl ? nftbl : 1, sizeof(*ftbl));
	struct heap_tl_point *timeline;
	struct profile p = {
		.cmd = r->cmd, .pid = r->pid, .overhead = cost, .pps = pps,
		.npps = npps, .ftbl = ftbl, .nftbl = nftbl,
		.sample_bytes = sh->sample_bytes,
		.requested_bytes = r->requested.bytes,
		.requested_blocks = r->requested.blocks,
	};
	int err = -ENOMEM;

	p.ntimeline = heap_timeline_len(r->heap);
	timeline = calloc(p.ntimeline ? p.ntimeline : 1, sizeof(*timeline));
	if (!pps || !ftbl || !timeline)
		goto out;
	for (size_t i = 0; i < p.ntimeline; i++)
		heap_timeline_point(r->heap, i, &timeline[i]);
	p.timeline = timeline;
	p.timeline_width_ns = heap_timeline_width_ns(r->heap);
	heap_totals(r->heap, &p.totals);
	for (size_t i = 0; i < npps; i++) {
		heap_pp_stats(r->heap, i, &pps[i].stats);
		pps[i].frames = sites_frames(r->sites, i, &pps[i].nframes);
	}
	for (size_t i = 0; i < nftbl; i++)
		ftbl[i] = sym_frame_text(r->sym, i);
	err = out_dhat_json_write(&p, path);
out:
	free(pps);
	free(ftbl);
	free(timeline);
	return err;
}

static int write_pprof(const struct shared *sh, const struct proc *r,
		       const struct out_overhead *cost, bool all_frames,
		       const char *path)
{
	char text[2][OUT_RECORDED_TEXT];
	const char *comments[2];
	struct out_recorded how = {
		.sampled = sh->sample_bytes != 0,
		.sampling = {
			.mean_bytes = sh->sample_bytes,
			.requested_bytes = r->requested.bytes,
			.requested_blocks = r->requested.blocks,
		},
		.costed = cost != NULL,
	};
	struct heap_totals t;
	struct pprof_profile p = {
		.cmd = r->cmd, .pid = r->pid, .time_nanos = sh->wall_start_ns,
		.sample_bytes = sh->sample_bytes,
		.comments = comments,
	};

	if (cost)
		how.overhead = *cost;
	p.ncomments = out_recorded_comments(&how, text, comments);
	heap_totals(r->heap, &t);
	p.duration_nanos = (int64_t)t.tend_ns;
	return pprof_record_write(&p, r->sites, r->sym, r->heap, r->exe,
				  all_frames, path);
}

int outputs_write(const struct shared *sh, const struct proc *p,
		  const struct outputs *out, const struct out_overhead *cost)
{
	int first = 0;

	for (int i = 0; i < 2; i++) {
		const char *path = out->path[i];
		int err;

		if (!path)
			continue;
		err = i ? write_pprof(sh, p, cost, out->all_frames, path) :
			  write_dhat(sh, p, cost, path);
		if (err) {
			fprintf(stderr, "dhtrace: cannot write %s: %s\n", path,
				strerror(-err));
			first = first ? first : err;
		}
	}
	return first;
}
