// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the readers of saved profiles: each input goes
 * through the in-memory loader (DHAT JSON or pprof, told by the first
 * byte; and the pprof reader whatever the first byte), every frame string
 * it yields through the
 * frame parser, the input itself through the frame parser, and the input
 * through the streaming folded-stacks conversion. A crash, a sanitizer
 * report or a broken promise of in.h (an fs index outside ftbl, an error
 * that is not one line naming the file, a frame part outside its string)
 * aborts. `make fuzz` runs it (FUZZ_SECONDS, default 60).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "in/in.h"
#include "out/out.h"

static void check_frame(const char *s, size_t len)
{
	struct dhat_frame fr;
	const char *end = s + len;

	dhat_frame_parse(s, len, &fr);
	if (fr.func < s || fr.func + fr.func_len > end ||
	    (fr.file && (fr.file < s || fr.file + fr.file_len > end)) ||
	    (fr.obj && (fr.obj < s || fr.obj + fr.obj_len > end)) ||
	    (fr.file && fr.obj) || (!fr.file && (fr.line || fr.col)))
		abort();
}

static void check_error(const struct dhat_err *err)
{
	if (strncmp(err->msg, "fuzz: ", 6) || strchr(err->msg, '\n'))
		abort();
}

typedef int (*loader)(FILE *f, const char *name, struct dhat_file *df,
		      struct dhat_err *err);

static void load(const uint8_t *data, size_t size, loader load_file)
{
	FILE *f = fmemopen((void *)data, size, "r");
	struct dhat_file df;
	struct dhat_err err;
	size_t i, j;

	if (!f)
		return;
	if (load_file(f, "fuzz", &df, &err)) {
		check_error(&err);
		fclose(f);
		return;
	}
	for (i = 0; i < df.nftbl; i++)
		check_frame(df.ftbl[i], strlen(df.ftbl[i]));
	for (i = 0; i < df.npps; i++) {
		for (j = 0; j < df.pps[i].nfs; j++) {
			if (df.pps[i].fs[j] >= df.nftbl)
				abort();
		}
	}
	dhat_file_free(&df);
	fclose(f);
}

static void collapse(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	FILE *null = fopen("/dev/null", "w");
	struct collapsed *cs;
	struct dhat_err err;

	if (f && null) {
		if (out_collapsed_read(&cs, f, "fuzz", DHAT_TB, false, &err)) {
			check_error(&err);
		} else {
			out_collapsed_write(cs, null);
			out_collapsed_free(cs);
		}
	}
	if (f)
		fclose(f);
	if (null)
		fclose(null);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	load(data, size, profile_load);
	load(data, size, pprof_load);
	collapse(data, size);
	check_frame((const char *)data, size);
	return 0;
}
