// SPDX-License-Identifier: GPL-2.0
/*
 * Streaming DHAT JSON reader on yajl's SAX parser.
 *
 * The file is fed to yajl in 64 KiB chunks; its callbacks drive a small
 * state machine that knows where in the DHAT document it is (the top-level
 * object, the pps array, one program point, its fs array, the ftbl array)
 * and skips values of unknown keys. Every number is taken as text (yajl's
 * number callback) and parsed here, so that values above 2^63 read
 * exactly and negative, fractional and out-of-range ones are errors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "in/in.h"
#include "util/array.h"

#define CHUNK (64 * 1024)
/* The format nests 4 deep (top, pps, a PP, its fs); unknown keys may hold
 * a little more, not the 100,000 levels of a hostile file. */
#define MAX_DEPTH 8

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_MAP, J_ARRAY };

static const char *const jtype_name[] = {
	[J_NULL] = "null", [J_BOOL] = "a boolean", [J_NUM] = "a number",
	[J_STR] = "a string", [J_MAP] = "an object", [J_ARRAY] = "an array",
};

/* Where the parser is: inside which container of the document. */
enum state {
	S_START,	/* before the top-level value */
	S_TOP,		/* in the top-level object */
	S_PPS,		/* in the pps array */
	S_PP,		/* in a program point object */
	S_FS,		/* in a program point's fs array */
	S_FTBL,		/* in the ftbl array */
	S_TL,		/* in dhtrace's dhtraceTimeline object */
	S_TL_COL,	/* in one of its columns */
	S_END,		/* after the top-level object */
};

/* Keys of the top-level object beyond the header fields. */
enum { K_PPS = DHAT_M_NFIELDS, K_FTBL, K_TL, K_SAMPLING, K_OVERHEAD };
/* The key of the timeline beyond its columns. */
enum { K_TL_BUCKET = DHAT_TL_NCOLS };
/* The key of a program point beyond its stats. */
enum { K_FS = DHAT_NSTATS };

struct key {
	const char *name;
	size_t len;	/* of the name */
	int id;
	enum jtype type;
	size_t off;	/* of the value in struct dhat_meta */
};

#define KEY(name, id, type) { name, sizeof(name) - 1, id, type, 0 }
#define META(name, id, type, field) \
	{ name, sizeof(name) - 1, id, type, offsetof(struct dhat_meta, field) }

static const struct key top_keys[] = {
	META("dhatFileVersion", DHAT_M_VERSION, J_NUM, version),
	META("mode", DHAT_M_MODE, J_STR, mode),
	META("verb", DHAT_M_VERB, J_STR, verb),
	META("bklt", DHAT_M_BKLT, J_BOOL, bklt),
	META("bkacc", DHAT_M_BKACC, J_BOOL, bkacc),
	META("bu", DHAT_M_BU, J_STR, bu),
	META("bsu", DHAT_M_BSU, J_STR, bsu),
	META("bksu", DHAT_M_BKSU, J_STR, bksu),
	META("tu", DHAT_M_TU, J_STR, tu),
	META("Mtu", DHAT_M_MTU, J_STR, mtu),
	META("tuth", DHAT_M_TUTH, J_NUM, tuth),
	META("cmd", DHAT_M_CMD, J_STR, cmd),
	META("pid", DHAT_M_PID, J_NUM, pid),
	META("te", DHAT_M_TE, J_NUM, te),
	META("tg", DHAT_M_TG, J_NUM, tg),
	KEY("pps", K_PPS, J_ARRAY),
	KEY("ftbl", K_FTBL, J_ARRAY),
	KEY("dhtraceTimeline", K_TL, J_MAP),
	KEY("dhtraceSampling", K_SAMPLING, J_MAP),
	KEY("dhtraceOverhead", K_OVERHEAD, J_MAP),
};

#define TL_NAME(id, key) [id] = key,
const char *const dhat_tl_names[DHAT_TL_NCOLS] = { DHAT_TL_COLUMNS(TL_NAME) };
#undef TL_NAME

#define TL_KEY(id, key) KEY(key, id, J_ARRAY),
static const struct key tl_keys[] = {
	KEY("bucketUs", K_TL_BUCKET, J_NUM),
	DHAT_TL_COLUMNS(TL_KEY)
};
#undef TL_KEY

static const char *const stat_names[DHAT_NSTATS] = {
	"tb", "tbk", "tl", "mb", "mbk", "gb", "gbk", "eb", "ebk",
};

static const struct key pp_keys[] = {
	KEY("tb", DHAT_TB, J_NUM), KEY("tbk", DHAT_TBK, J_NUM),
	KEY("tl", DHAT_TL, J_NUM),
	KEY("mb", DHAT_MB, J_NUM), KEY("mbk", DHAT_MBK, J_NUM),
	KEY("gb", DHAT_GB, J_NUM), KEY("gbk", DHAT_GBK, J_NUM),
	KEY("eb", DHAT_EB, J_NUM), KEY("ebk", DHAT_EBK, J_NUM),
	KEY("fs", K_FS, J_ARRAY),
};

struct reader {
	yajl_handle h;
	const char *name;
	const struct dhat_read_ops *ops;
	void *ctx;
	struct dhat_meta *meta;
	struct dhat_err *err;
	int ret;		/* why a callback stopped the parse */

	uint64_t base;		/* file offset of the current chunk */
	enum state state;
	int depth;		/* of the container the parser is in */
	int skip_depth;		/* > 0: inside an ignored value opened there */
	/* Keeping an object whole (dhtraceSampling, dhtraceOverhead): its
	 * events go to a generator until the depth falls below keep_depth. */
	yajl_gen keep;
	int keep_depth;
	char **keep_to;		/* where its text goes at the end */
	const struct key *key;	/* whose value comes next, NULL if unknown */
	int tl_col;		/* S_TL_COL: the column being read */
	uint32_t seen;		/* top-level keys read, bits 1 << id */

	struct dhat_pp pp;	/* the program point being read */
	uint32_t *fs;
	size_t fs_cap;
	size_t npps;
	uint32_t nftbl;
	char *str;		/* NUL-terminated copy of the last string */
	size_t str_cap;

	/* For the checks at the end: the first PP without each stat ... */
	size_t missing_pp[DHAT_NSTATS];
	uint64_t missing_off[DHAT_NSTATS];
	/* ... and the biggest fs index, where it was. */
	uint64_t max_fs;
	size_t max_fs_pp, max_fs_pos;
	uint64_t max_fs_off;
	bool any_fs;
};

const char *dhat_stat_name(enum dhat_stat s)
{
	return s < DHAT_NSTATS ? stat_names[s] : "?";
}

int dhat_stat_parse(const char *name)
{
	int i;

	for (i = 0; i < DHAT_NSTATS; i++) {
		if (!strcmp(name, stat_names[i]))
			return i;
	}
	return -1;
}

static uint64_t offset(const struct reader *r)
{
	return r->base + yajl_get_bytes_consumed(r->h);
}

/* The error message "<name>: byte <off>: <what>"; returns @ret. */
static int fail_at(struct reader *r, uint64_t off, int ret,
		   const char *fmt, ...)
{
	size_t n;
	va_list ap;

	n = (size_t)snprintf(r->err->msg, sizeof(r->err->msg),
			     "%s: byte %llu: ", r->name,
			     (unsigned long long)off);
	if (n < sizeof(r->err->msg)) {
		va_start(ap, fmt);
		vsnprintf(r->err->msg + n, sizeof(r->err->msg) - n, fmt, ap);
		va_end(ap);
	}
	r->ret = ret;
	return ret;
}

/* The place of the value being read, as a JSON path. */
static const char *place(const struct reader *r, char *buf, size_t len)
{
	switch (r->state) {
	case S_TOP:
		snprintf(buf, len, "%s", r->key->name);
		break;
	case S_PPS:
		snprintf(buf, len, "pps[%zu]", r->npps);
		break;
	case S_PP:
		snprintf(buf, len, "pps[%zu].%s", r->npps, r->key->name);
		break;
	case S_FS:
		snprintf(buf, len, "pps[%zu].fs[%zu]", r->npps, r->pp.nfs);
		break;
	case S_FTBL:
		snprintf(buf, len, "ftbl[%u]", r->nftbl);
		break;
	case S_TL:
		snprintf(buf, len, "dhtraceTimeline.%s", r->key->name);
		break;
	case S_TL_COL:
		snprintf(buf, len, "dhtraceTimeline.%s[%zu]",
			 dhat_tl_names[r->tl_col],
			 r->meta->timeline.len[r->tl_col]);
		break;
	default:
		snprintf(buf, len, "the top level");
		break;
	}
	return buf;
}

/* "<place>: expected <what>, got <type>". Returns 0 for yajl (stop). */
static int wrong_type(struct reader *r, const char *what, enum jtype got)
{
	char buf[64];

	fail_at(r, offset(r), -EINVAL, "%s: expected %s, got %s",
		place(r, buf, sizeof(buf)), what, jtype_name[got]);
	return 0;
}

static int fail_here(struct reader *r, const char *what)
{
	char buf[64];

	fail_at(r, offset(r), -EINVAL, "%s: %s", place(r, buf, sizeof(buf)),
		what);
	return 0;
}

/* JSON number text as uint64: digits only, no sign, fraction or
 * exponent. -EINVAL if it is not such an integer, -ERANGE if above
 * UINT64_MAX. yajl has checked the number's syntax. */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned int d = (unsigned char)s[i] - '0';

		if (d > 9)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int number(struct reader *r, const char *s, size_t len, uint64_t *v)
{
	char buf[64];
	int err = parse_u64(s, len, v);

	if (!err)
		return 1;
	fail_at(r, offset(r), -EINVAL, err == -ERANGE ?
		"%s: %.*s does not fit in 64 bits" :
		"%s: expected a non-negative integer, got %.*s",
		place(r, buf, sizeof(buf)), len > 40 ? 40 : (int)len, s);
	return 0;
}

/* Keep a NUL-terminated copy of a string value in r->str. */
static int copy_string(struct reader *r, const unsigned char *s, size_t len)
{
	if (memchr(s, '\0', len))
		return fail_here(r, "string contains a NUL character");
	if (len >= r->str_cap) {
		size_t cap = len + 1 > 2 * r->str_cap ? len + 1 : 2 * r->str_cap;
		char *p = realloc(r->str, cap);

		if (!p) {
			fail_at(r, offset(r), -ENOMEM, "out of memory");
			return 0;
		}
		r->str = p;
		r->str_cap = cap;
	}
	memcpy(r->str, s, len);
	r->str[len] = '\0';
	return 1;
}

static int call_failed(struct reader *r, int ret)
{
	fail_at(r, offset(r), ret < 0 ? ret : -EINVAL, "%s",
		strerror(ret < 0 ? -ret : EINVAL));
	return 0;
}

/* A header field's value (the key's type has been checked). */
static int meta_value(struct reader *r, enum jtype t, const char *s,
		      size_t len, int b)
{
	const struct key *k = r->key;
	char *field = (char *)r->meta + k->off;
	char **str = (char **)field;

	switch (t) {
	case J_NUM:
		if (!number(r, s, len, (uint64_t *)field))
			return 0;
		if (k->id == DHAT_M_VERSION && r->meta->version != 2) {
			fail_at(r, offset(r), -EINVAL,
				"dhatFileVersion is %llu; only version 2 is read (valgrind >= 3.17)",
				(unsigned long long)r->meta->version);
			return 0;
		}
		break;
	case J_BOOL:
		*(bool *)field = b;
		break;
	default:
		if (!copy_string(r, (const unsigned char *)s, len))
			return 0;
		free(*str);
		*str = strdup(r->str);
		if (!*str) {
			fail_at(r, offset(r), -ENOMEM, "out of memory");
			return 0;
		}
		break;
	}
	r->meta->present |= 1u << k->id;
	return 1;
}

static int fs_value(struct reader *r, const char *s, size_t len)
{
	uint64_t v;

	if (!number(r, s, len, &v))
		return 0;
	if (v >= UINT32_MAX)
		return fail_here(r, "frame index too big");
	if (r->pp.nfs == r->fs_cap) {
		size_t cap = r->fs_cap ? 2 * r->fs_cap : 64;
		uint32_t *p = realloc(r->fs, cap * sizeof(*p));

		if (!p) {
			fail_at(r, offset(r), -ENOMEM, "out of memory");
			return 0;
		}
		r->fs = p;
		r->fs_cap = cap;
	}
	if (!r->any_fs || v > r->max_fs) {
		r->any_fs = true;
		r->max_fs = v;
		r->max_fs_pp = r->npps;
		r->max_fs_pos = r->pp.nfs;
		r->max_fs_off = offset(r);
	}
	r->fs[r->pp.nfs++] = (uint32_t)v;
	return 1;
}

static int ftbl_value(struct reader *r, const char *s, size_t len)
{
	int ret;

	if (r->nftbl == UINT32_MAX - 1)
		return fail_here(r, "too many frames");
	if (!copy_string(r, (const unsigned char *)s, len))
		return 0;
	if (r->ops && r->ops->frame) {
		ret = r->ops->frame(r->ctx, r->nftbl, r->str, len);
		if (ret)
			return call_failed(r, ret);
	}
	r->nftbl++;
	return 1;
}

static int tl_value(struct reader *r, const char *s, size_t len)
{
	struct dhat_timeline *tl = &r->meta->timeline;
	int c = r->tl_col;
	uint64_t v;

	if (!number(r, s, len, &v))
		return 0;
	if (tl->len[c] == tl->cap[c]) {
		size_t cap = tl->cap[c] ? 2 * tl->cap[c] : 256;
		uint64_t *p = realloc(tl->col[c], cap * sizeof(*p));

		if (!p) {
			fail_at(r, offset(r), -ENOMEM, "out of memory");
			return 0;
		}
		tl->col[c] = p;
		tl->cap[c] = cap;
	}
	tl->col[c][tl->len[c]++] = v;
	return 1;
}

/* The timeline is complete: every column there, all of one length. */
static int end_timeline(struct reader *r)
{
	struct dhat_timeline *tl = &r->meta->timeline;

	for (int c = 0; c < DHAT_TL_NCOLS; c++)
		if (!tl->col[c] || tl->len[c] != tl->len[0]) {
			fail_at(r, offset(r), -EINVAL, "dhtraceTimeline: a "
				"column missing, or columns of different lengths");
			return 0;
		}
	tl->n = tl->len[0];
	/* every bucket from zero: the report's time axis counts on it */
	for (size_t i = 0; i < tl->n; i++)
		if (!tl->bucket || tl->col[DHAT_TL_T][i] != i * tl->bucket) {
			fail_at(r, offset(r), -EINVAL, "dhtraceTimeline: bucket "
				"%zu does not start at %zu bucketUs", i, i);
			return 0;
		}
	return 1;
}

/* A container opens: one level deeper. */
static int deeper(struct reader *r)
{
	if (++r->depth <= MAX_DEPTH)
		return 1;
	fail_at(r, offset(r), -EINVAL,
		"nested more than %d levels deep: not a DHAT file", MAX_DEPTH);
	return 0;
}

/* Start keeping the object that opens here whole, as JSON text for @to. */
static int keep_begin(struct reader *r, char **to)
{
	if (*to)
		return fail_here(r, "appears twice");
	r->keep = yajl_gen_alloc(NULL);
	if (!r->keep) {
		fail_at(r, offset(r), -ENOMEM, "out of memory");
		return 0;
	}
	r->keep_to = to;
	r->keep_depth = r->depth + 1;
	yajl_gen_map_open(r->keep);
	return deeper(r);
}

/* An event inside a kept object. */
static int keep_value(struct reader *r, enum jtype t, const char *s,
		      size_t len, int b)
{
	yajl_gen g = r->keep;
	yajl_gen_status st;

	switch (t) {
	case J_NULL:
		st = yajl_gen_null(g);
		break;
	case J_BOOL:
		st = yajl_gen_bool(g, b);
		break;
	case J_NUM:
		st = yajl_gen_number(g, s, len);
		break;
	case J_STR:
		st = yajl_gen_string(g, (const unsigned char *)s, len);
		break;
	case J_MAP:
		st = yajl_gen_map_open(g);
		break;
	default:
		st = yajl_gen_array_open(g);
		break;
	}
	if (st != yajl_gen_status_ok) {
		fail_at(r, offset(r), -ENOMEM, "out of memory");
		return 0;
	}
	return t == J_MAP || t == J_ARRAY ? deeper(r) : 1;
}

/* A container inside a kept object closes (@map: an object); the kept
 * object's own close stores its text. */
static int keep_close(struct reader *r, bool map)
{
	const unsigned char *buf;
	size_t len;

	r->depth--;
	if (map)
		yajl_gen_map_close(r->keep);
	else
		yajl_gen_array_close(r->keep);
	if (r->depth >= r->keep_depth)
		return 1;
	if (yajl_gen_get_buf(r->keep, &buf, &len) != yajl_gen_status_ok ||
	    !(*r->keep_to = strndup((const char *)buf, len))) {
		fail_at(r, offset(r), -ENOMEM, "out of memory");
		return 0;
	}
	yajl_gen_free(r->keep);
	r->keep = NULL;
	r->key = NULL;
	return 1;
}

static int open_container(struct reader *r, enum state next)
{
	r->state = next;
	return deeper(r);
}

/* The value of an unknown key, or something inside it. */
static int skip(struct reader *r, bool open)
{
	if (!open)
		return 1;
	if (!r->skip_depth)
		r->skip_depth = r->depth + 1;
	return deeper(r);
}

/*
 * Every value the parser meets: a scalar (@s, @len: number or string
 * text; @b: boolean) or the opening of an object or array.
 */
static int value(struct reader *r, enum jtype t, const char *s, size_t len,
		 int b)
{
	const struct key *k = r->key;
	bool open = t == J_MAP || t == J_ARRAY;

	if (r->skip_depth)
		return skip(r, open);
	if (r->keep)
		return keep_value(r, t, s, len, b);

	switch (r->state) {
	case S_START:
		if (t != J_MAP) {
			fail_at(r, offset(r), -EINVAL,
				"expected a JSON object at the top level, got %s: not a DHAT file",
				jtype_name[t]);
			return 0;
		}
		return open_container(r, S_TOP);
	case S_TOP:
		if (!k)
			return skip(r, open);
		if (t != k->type) {
			return wrong_type(r, k->type == J_NUM ?
					  "a non-negative integer" :
					  k->type == J_BOOL ? "true or false" :
					  jtype_name[k->type], t);
		}
		if (k->id == K_SAMPLING)
			return keep_begin(r, &r->meta->sampling);
		if (k->id == K_OVERHEAD)
			return keep_begin(r, &r->meta->overhead);
		if (k->id == K_TL) {
			if (r->seen & (1u << k->id))
				return fail_here(r, "appears twice");
			r->seen |= 1u << k->id;
			return open_container(r, S_TL);
		}
		if (k->id == K_PPS || k->id == K_FTBL) {
			if (r->seen & (1u << k->id))
				return fail_here(r, "appears twice");
			r->seen |= 1u << k->id;
			return open_container(r, k->id == K_PPS ? S_PPS : S_FTBL);
		}
		return meta_value(r, t, s, len, b);
	case S_PPS:
		if (t != J_MAP)
			return wrong_type(r, "an object", t);
		memset(&r->pp, 0, sizeof(r->pp));
		return open_container(r, S_PP);
	case S_PP:
		if (!k)
			return skip(r, open);
		if (k->id == K_FS) {
			if (t != J_ARRAY)
				return wrong_type(r, "an array", t);
			r->pp.nfs = 0;	/* a repeated key: the last counts */
			r->pp.present |= 1u << K_FS;
			return open_container(r, S_FS);
		}
		if (t != J_NUM)
			return wrong_type(r, "a non-negative integer", t);
		if (!number(r, s, len, &r->pp.stat[k->id]))
			return 0;
		r->pp.present |= 1u << k->id;
		return 1;
	case S_FS:
		if (t != J_NUM)
			return wrong_type(r, "a non-negative integer", t);
		return fs_value(r, s, len);
	case S_FTBL:
		if (t != J_STR)
			return wrong_type(r, "a string", t);
		return ftbl_value(r, s, len);
	case S_TL:
		if (!k)
			return skip(r, open);
		if (k->id == K_TL_BUCKET) {
			if (t != J_NUM)
				return wrong_type(r, "a non-negative integer", t);
			return number(r, s, len, &r->meta->timeline.bucket);
		}
		if (t != J_ARRAY)
			return wrong_type(r, "an array", t);
		if (r->meta->timeline.col[k->id])
			return fail_here(r, "appears twice");
		r->tl_col = k->id;
		/* an empty column is there all the same */
		r->meta->timeline.col[k->id] = malloc(sizeof(uint64_t));
		r->meta->timeline.cap[k->id] = 1;
		if (!r->meta->timeline.col[k->id]) {
			fail_at(r, offset(r), -ENOMEM, "out of memory");
			return 0;
		}
		return open_container(r, S_TL_COL);
	case S_TL_COL:
		if (t != J_NUM)
			return wrong_type(r, "a non-negative integer", t);
		return tl_value(r, s, len);
	case S_END:
		break;
	}
	return 1;
}

/* A program point is complete. */
static int end_pp(struct reader *r)
{
	static const int required[] = { DHAT_TB, DHAT_TBK, K_FS };
	struct dhat_pp *pp = &r->pp;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(required); i++) {
		if (!(pp->present & (1u << required[i]))) {
			fail_at(r, offset(r), -EINVAL,
				"pps[%zu]: missing field '%s'", r->npps,
				required[i] == K_FS ? "fs" : stat_names[required[i]]);
			return 0;
		}
	}
	for (i = 0; i < DHAT_NSTATS; i++) {
		if (!(pp->present & (1u << i)) &&
		    r->missing_pp[i] == SIZE_MAX) {
			r->missing_pp[i] = r->npps;
			r->missing_off[i] = offset(r);
		}
	}
	pp->present &= (1u << DHAT_NSTATS) - 1;	/* fs is always there */
	pp->fs = r->fs;
	if (r->ops && r->ops->pp) {
		ret = r->ops->pp(r->ctx, r->npps, pp);
		if (ret)
			return call_failed(r, ret);
	}
	r->npps++;
	return 1;
}

/* A container closes (@map: an object). */
static int close_container(struct reader *r, bool map)
{
	int skipping = r->skip_depth;

	if (r->keep && !skipping)
		return keep_close(r, map);

	r->depth--;
	if (skipping) {
		if (r->depth < skipping)
			r->skip_depth = 0;
		r->key = NULL;
		return 1;
	}
	r->key = NULL;
	switch (r->state) {
	case S_TOP:
		r->state = S_END;
		return 1;
	case S_PPS:
	case S_FTBL:
		r->state = S_TOP;
		return 1;
	case S_PP:
		r->state = S_PPS;
		return end_pp(r);
	case S_FS:
		r->state = S_PP;
		return 1;
	case S_TL:
		r->state = S_TOP;
		return end_timeline(r);
	case S_TL_COL:
		r->state = S_TL;
		return 1;
	default:
		return 1;
	}
}

static int on_null(void *ctx)
{
	return value(ctx, J_NULL, NULL, 0, 0);
}

static int on_boolean(void *ctx, int b)
{
	return value(ctx, J_BOOL, NULL, 0, b);
}

static int on_number(void *ctx, const char *s, size_t len)
{
	return value(ctx, J_NUM, s, len, 0);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	return value(ctx, J_STR, (const char *)s, len, 0);
}

static int on_start_map(void *ctx)
{
	return value(ctx, J_MAP, NULL, 0, 0);
}

static int on_start_array(void *ctx)
{
	return value(ctx, J_ARRAY, NULL, 0, 0);
}

static int on_end_map(void *ctx)
{
	return close_container(ctx, true);
}

static int on_end_array(void *ctx)
{
	return close_container(ctx, false);
}

static const struct key *find_key(const struct key *keys, size_t n,
				  const unsigned char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (keys[i].len == len && !memcmp(keys[i].name, s, len))
			return &keys[i];
	}
	return NULL;
}

static int on_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct reader *r = ctx;

	r->key = NULL;
	if (r->skip_depth)
		return 1;
	if (r->keep && yajl_gen_string(r->keep, s, len) != yajl_gen_status_ok) {
		fail_at(r, offset(r), -ENOMEM, "out of memory");
		return 0;
	}
	if (r->keep)
		return 1;
	if (r->state == S_TOP)
		r->key = find_key(top_keys, ARRAY_SIZE(top_keys), s, len);
	else if (r->state == S_PP)
		r->key = find_key(pp_keys, ARRAY_SIZE(pp_keys), s, len);
	else if (r->state == S_TL)
		r->key = find_key(tl_keys, ARRAY_SIZE(tl_keys), s, len);
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_map_key,
	.yajl_end_map = on_end_map,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end_array,
};

/* yajl stopped with an error of its own: bad JSON. */
static int json_error(struct reader *r, bool at_end)
{
	unsigned char *e = yajl_get_error(r->h, 0, NULL, 0);
	const char *what = e ? (const char *)e : "invalid JSON";
	uint64_t off = at_end ? r->base : offset(r);
	size_t n = strcspn(what, "\n");

	if (r->state == S_START && at_end)
		fail_at(r, off, -EINVAL, "empty file: not a DHAT file");
	else if (at_end && strstr(what, "premature EOF"))
		fail_at(r, off, -EINVAL, "truncated: the file ends inside a JSON value");
	else
		fail_at(r, off, -EINVAL, "not valid JSON: %.*s", (int)n, what);
	if (e)
		yajl_free_error(r->h, e);
	return r->ret;
}

/* What can only be checked once the whole file is read. */
static int check_end(struct reader *r)
{
	static const int required[] = { DHAT_M_VERSION, DHAT_M_BKLT, K_PPS, K_FTBL };
	uint32_t have = r->meta->present | r->seen;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(required); i++) {
		if (!(have & (1u << required[i]))) {
			const struct key *k = &top_keys[0];

			while (k->id != required[i])
				k++;
			return fail_at(r, r->base, -EINVAL,
				       "missing field '%s': not a DHAT file",
				       k->name);
		}
	}
	for (i = 0; r->meta->bklt && i < DHAT_NSTATS; i++) {
		if ((DHAT_BKLT_STATS & (1u << i)) &&
		    r->missing_pp[i] != SIZE_MAX)
			return fail_at(r, r->missing_off[i], -EINVAL,
				       "pps[%zu]: missing field '%s' (required when bklt is true)",
				       r->missing_pp[i], stat_names[i]);
	}
	if (r->any_fs && r->max_fs >= r->nftbl)
		return fail_at(r, r->max_fs_off, -EINVAL,
			       "pps[%zu].fs[%zu]: frame %llu is outside ftbl (%u entries)",
			       r->max_fs_pp, r->max_fs_pos,
			       (unsigned long long)r->max_fs, r->nftbl);
	return 0;
}

static int parse(struct reader *r, FILE *f)
{
	unsigned char *buf = malloc(CHUNK);
	yajl_status st;
	size_t n;
	int ret = 0;

	if (!buf)
		return fail_at(r, 0, -ENOMEM, "out of memory");
	while ((n = fread(buf, 1, CHUNK, f)) > 0) {
		st = yajl_parse(r->h, buf, n);
		if (st == yajl_status_client_canceled) {
			ret = r->ret;
			goto out;
		}
		if (st != yajl_status_ok) {
			ret = json_error(r, false);
			goto out;
		}
		r->base += n;
	}
	if (ferror(f)) {
		ret = fail_at(r, r->base, -EIO, "read error");
		goto out;
	}
	st = yajl_complete_parse(r->h);
	if (st == yajl_status_client_canceled)
		ret = r->ret;
	else if (st != yajl_status_ok)
		ret = json_error(r, true);
	else
		ret = check_end(r);
out:
	free(buf);
	return ret;
}

int dhat_read(FILE *f, const char *name, const struct dhat_read_ops *ops,
	      void *ctx, struct dhat_meta *meta, struct dhat_err *err)
{
	struct reader r = {
		.name = name, .ops = ops, .ctx = ctx, .meta = meta, .err = err,
	};
	size_t i;
	int ret;

	memset(meta, 0, sizeof(*meta));
	err->msg[0] = '\0';
	for (i = 0; i < DHAT_NSTATS; i++)
		r.missing_pp[i] = SIZE_MAX;
	r.h = yajl_alloc(&callbacks, NULL, &r);
	if (!r.h)
		return fail_at(&r, 0, -ENOMEM, "out of memory");
	ret = parse(&r, f);
	yajl_free(r.h);
	if (r.keep)
		yajl_gen_free(r.keep);
	free(r.fs);
	free(r.str);
	if (ret)
		dhat_meta_free(meta);
	return ret;
}

void dhat_meta_free(struct dhat_meta *m)
{
	free(m->mode);
	free(m->verb);
	free(m->bu);
	free(m->bsu);
	free(m->bksu);
	free(m->tu);
	free(m->mtu);
	free(m->cmd);
	free(m->sampling);
	free(m->overhead);
	for (int c = 0; c < DHAT_TL_NCOLS; c++)
		free(m->timeline.col[c]);
	memset(m, 0, sizeof(*m));
}
