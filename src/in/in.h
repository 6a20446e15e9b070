/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Readers of saved profiles: DHAT JSON files (file format version 2, as
 * valgrind's DHAT, dhat-rs and dhtrace write them; FORMATS.md section 1)
 * and the frame strings in their frame tables.
 *
 * dhat_read() streams a file through a SAX parser (yajl) in 64 KiB chunks
 * and hands out each program point and each frame as soon as it is parsed:
 * its memory is one program point and one string, whatever the file size.
 * dhat_load() keeps a whole file in memory for the commands that sort.
 *
 * Keys may come in any order (JSON objects are unordered): valgrind and
 * dhat-rs write "pps" before "ftbl", so a frame index in a program point
 * usually refers to a frame not read yet, and the header fields are known
 * only at the end. Checks that need the whole file (required fields, frame
 * indices inside the frame table) are made at the end, and a failed check
 * fails the whole read: callbacks must not treat what they got as final
 * before dhat_read() returns 0.
 *
 * Errors are one line, naming the file, the byte offset (where the parser
 * was when it noticed: the end of the offending token) and the place in
 * the document, e.g. "x.json: byte 1234: pps[3].tb: expected a
 * non-negative integer, got -5". Print them as "dhtrace: <msg>".
 */
#ifndef DHTRACE_IN_H
#define DHTRACE_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct dhat_err {
	char msg[256];
};

/* Header fields; bit (1 << DHAT_M_x) of dhat_meta.present says the file
 * has the key. */
enum dhat_meta_field {
	DHAT_M_VERSION,	/* "dhatFileVersion": required, must be 2 */
	DHAT_M_MODE,
	DHAT_M_VERB,
	DHAT_M_BKLT,	/* required */
	DHAT_M_BKACC,
	DHAT_M_BU,
	DHAT_M_BSU,
	DHAT_M_BKSU,
	DHAT_M_TU,
	DHAT_M_MTU,
	DHAT_M_TUTH,
	DHAT_M_CMD,
	DHAT_M_PID,
	DHAT_M_TE,
	DHAT_M_TG,
	DHAT_M_NFIELDS
};

/* dhtrace's heap over time ("dhtraceTimeline", README "The heap over
 * time"): columns of equal length, 0 of them when the file has none.
 * The one list of them, in the file's order: X(id, key in the file). */
#define DHAT_TL_COLUMNS(X)						\
	X(DHAT_TL_T, "t")	/* bucket start, in the file's time unit */ \
	X(DHAT_TL_BYTES_MIN, "bytesMin")				\
	X(DHAT_TL_BYTES_MAX, "bytesMax")				\
	X(DHAT_TL_BYTES_LAST, "bytesLast")				\
	X(DHAT_TL_BLOCKS_MIN, "blocksMin")				\
	X(DHAT_TL_BLOCKS_MAX, "blocksMax")				\
	X(DHAT_TL_BLOCKS_LAST, "blocksLast")				\
	X(DHAT_TL_ALLOCS, "allocs")					\
	X(DHAT_TL_FREES, "frees")

#define DHAT_TL_ID(id, key) id,
enum dhat_tl_col {
	DHAT_TL_COLUMNS(DHAT_TL_ID)
	DHAT_TL_NCOLS
};
#undef DHAT_TL_ID

/* A column's key in the file: "t", "bytesMin", ... */
extern const char *const dhat_tl_names[DHAT_TL_NCOLS];

struct dhat_timeline {
	uint64_t bucket;	/* width, in the file's time unit */
	size_t n;		/* rows */
	uint64_t *col[DHAT_TL_NCOLS];
	size_t len[DHAT_TL_NCOLS], cap[DHAT_TL_NCOLS];	/* while read */
};

struct dhat_meta {
	uint32_t present;	/* bits 1 << DHAT_M_x */
	struct dhat_timeline timeline;
	uint64_t version, tuth, pid, te, tg;	/* 0 when absent */
	bool bklt, bkacc;	/* false when absent */
	/* NULL when absent; never contain a NUL character */
	char *mode, *verb, *bu, *bsu, *bksu, *tu, *mtu, *cmd;
	/* dhtrace's "dhtraceSampling" and "dhtraceOverhead" objects, kept
	 * whole as compact JSON text (numbers as written) for the commands
	 * that show them; NULL when absent. */
	char *sampling, *overhead;
};

/* The numbers of a program point, in the order DHAT writes them. */
enum dhat_stat {
	DHAT_TB, DHAT_TBK,	/* total bytes, blocks: always present */
	DHAT_TL,		/* sum of lifetimes, in tu (optional: the
				 * viewer does not require it) */
	DHAT_MB, DHAT_MBK,	/* at the PP's maximum (valgrind: see
				 * FORMATS.md 2.6; not additive) */
	DHAT_GB, DHAT_GBK,	/* live at t-gmax */
	DHAT_EB, DHAT_EBK,	/* live at t-end */
	DHAT_NSTATS
};

/* The stats a file with "bklt":true must have in every program point. */
#define DHAT_BKLT_STATS							\
	((1u << DHAT_MB) | (1u << DHAT_MBK) | (1u << DHAT_GB) |		\
	 (1u << DHAT_GBK) | (1u << DHAT_EB) | (1u << DHAT_EBK))

struct dhat_pp {
	uint64_t stat[DHAT_NSTATS];	/* 0 when absent */
	uint32_t present;	/* bits 1 << DHAT_x: the keys the PP has */
	const uint32_t *fs;	/* ftbl indices, innermost frame first */
	size_t nfs;
};

/* "tb", "tbk", ... for a stat; dhat_stat_parse() is its inverse
 * (returns -1 for an unknown name). */
const char *dhat_stat_name(enum dhat_stat s);
int dhat_stat_parse(const char *name);

/*
 * What dhat_read() hands out. Either may be NULL. Each returns 0 to go
 * on, or a negative errno that stops the read (dhat_read() then returns
 * it, with the error message "<name>: byte N: <strerror>").
 *  pp:    the @index-th program point; @pp and its fs are valid during
 *         the call only.
 *  frame: ftbl[@index] = @s (@len bytes, NUL-terminated, valid during the
 *         call only). Index 0 is "[root]" in every producer's files; it
 *         is not checked (the viewer does not either).
 */
struct dhat_read_ops {
	int (*pp)(void *ctx, size_t index, const struct dhat_pp *pp);
	int (*frame)(void *ctx, uint32_t index, const char *s, size_t len);
};

/*
 * Read the DHAT JSON file @f (named @name in error messages) to its end.
 * On success, returns 0 and fills @meta (free it with dhat_meta_free());
 * the file had dhatFileVersion 2, bklt, pps and ftbl; every program point
 * had tb, tbk and fs, and the DHAT_BKLT_STATS when bklt is true; every fs
 * index is inside ftbl. Unknown keys (rb, wb, acc, ...) are skipped.
 * On failure, returns a negative errno (-EINVAL for a bad file), fills
 * @err and leaves @meta empty.
 */
int dhat_read(FILE *f, const char *name, const struct dhat_read_ops *ops,
	      void *ctx, struct dhat_meta *meta, struct dhat_err *err);
void dhat_meta_free(struct dhat_meta *meta);

/* A whole DHAT file in memory. */
struct dhat_file {
	struct dhat_meta meta;
	struct dhat_pp *pps;	/* in file order */
	size_t npps;
	const char *const *ftbl;	/* NUL-terminated strings */
	size_t nftbl;
	/* storage of the fs arrays and strings */
	uint32_t *fs_pool;
	char *str_pool;
};

/* dhat_read() into @df. Returns 0, or a negative errno with @err filled
 * and nothing to free. */
int dhat_load(FILE *f, const char *name, struct dhat_file *df,
	      struct dhat_err *err);
void dhat_file_free(struct dhat_file *df);

/*
 * A pprof profile (profile.proto, gzipped or not; FORMATS.md section 4)
 * read whole into a struct dhat_file, as dhat_load() fills it, for the
 * commands that analyse (README.md "Reading pprof profiles"):
 *  - the sample types alloc_objects, alloc_space, inuse_objects,
 *    inuse_space, peak_objects and peak_space are tbk, tb, ebk, eb, gbk
 *    and gb; other types are left out. Without any of these six, the
 *    first column is tbk and the second tb (the first again when it is
 *    the only one). bklt is set when any of the last four is there; the
 *    program points then have gb, gbk, eb and ebk (0 for a missing type),
 *    never tl, mb or mbk, which pprof has no place for;
 *  - each sample is a program point, in file order; its fs are its
 *    locations' frames, leaf first;
 *  - ftbl[0] is "[root]", then each location in table order gives one
 *    frame per Line, innermost first, all with its address:
 *    "0xADDR: function (file:line)" with the file's base name (as valgrind
 *    prints it), "0xADDR: function (in object)" for a function without a
 *    file, the object being the location's mapping's file; a location
 *    without Lines is "0xADDR: ??? (in object)" or "0xADDR: ???";
 *    strings get U+FFFD for ill-formed UTF-8 and NULs;
 *  - the comments "cmd: ..." and "pid: N" are cmd and pid;
 *    duration_nanos is te, in µs.
 * Every string index, id and length is checked: returns 0, or a negative
 * errno with @err filled ("<name>: pprof: ...") and nothing to free.
 */
int pprof_load(FILE *f, const char *name, struct dhat_file *df,
	       struct dhat_err *err);

/*
 * A DHAT JSON file or a pprof profile, told apart by the first byte:
 * the gzip magic or a protobuf tag is pprof, anything else (such as '{')
 * JSON. Returns as dhat_load() does.
 */
int profile_load(FILE *f, const char *name, struct dhat_file *df,
		 struct dhat_err *err);
/* The same from the file at @path; errors name @path. */
int profile_load_path(const char *path, struct dhat_file *df,
		      struct dhat_err *err);

/*
 * One frame string of a DHAT frame table, taken apart (FORMATS.md 1.4):
 *   "0x4011D3: main (t.c:12)"            valgrind, file:line
 *   "0x4011D3: main (/src/t.c:12)"        with a directory
 *   "0x4011D3: main (in /usr/bin/x)"      object only
 *   "0x4011D3: ??? (in /lib/x.so)"        no symbol
 *   "0x4011D3: ???"                       nothing known
 *   "0x1a2b: f (src/main.rs:10:5)"        dhat-rs: file:line:col
 *   "[root]"                              no address: all name
 * The location is the last " (...)" group that ends the string and reads
 * as "(file:line)", "(file:line:col)" or "(in obj)"; any other
 * parentheses belong to the name (C++ parameter lists, "(anonymous
 * namespace)"). Unknown parts ("???" objects and files, line 0 as dhat-rs
 * writes for "???:0:0") are left out.
 */
struct dhat_frame {
	uint64_t addr;
	bool has_addr;		/* the string starts "0x<hex>: " */
	const char *func;	/* into the string; never NULL */
	size_t func_len;
	const char *file;	/* into the string; NULL when not known */
	size_t file_len;
	uint32_t line, col;	/* 0 when not known */
	const char *obj;	/* into the string; NULL when not known */
	size_t obj_len;
};

void dhat_frame_parse(const char *s, size_t len, struct dhat_frame *fr);

/* Protobuf wire types (FORMATS.md 4.6): the pprof reader's and writer's. */
enum pb_wire { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

/*
 * UTF-8 (utf8.c), for the readers and the writers. utf8_seq() is the
 * length of the well-formed UTF-8 sequence at @s (Unicode 15, table 3-7),
 * or 0 with *@bad set to the length of its maximal ill-formed subpart,
 * which a browser's decoder replaces with one U+FFFD. The NUL that ends
 * the string is never a continuation byte, so @s is not read past it.
 */
size_t utf8_seq(const unsigned char *s, size_t *bad);

/* U+FFFD REPLACEMENT CHARACTER, in UTF-8. */
#define UTF8_REPLACEMENT "\xef\xbf\xbd"

#endif /* DHTRACE_IN_H */
