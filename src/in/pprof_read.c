// SPDX-License-Identifier: GPL-2.0
/*
 * pprof profiles (profile.proto, FORMATS.md section 4) read into the
 * struct dhat_file that dhat_load() makes, so that report, diff and the
 * gates take either format.
 *
 * The profile is held decompressed: its string table comes last, after the
 * samples and locations that refer to it. A first pass notes where each
 * table entry is and indexes the ids; a second renders each location as
 * frame strings, in the form dhtrace's DHAT files have, and each sample as
 * a program point. Every index and id is checked before it is used.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "in/in_int.h"
#include "in/profile_proto.h"

/* How many fields of each message the reader keeps (numbers 1 to N). */
enum {
	VALUE_TYPE_NFIELDS = VALUE_TYPE_UNIT,
	MAPPING_NFIELDS = MAPPING_HAS_INLINE_FRAMES,
	LINE_NFIELDS = LINE_COLUMN,
	FUNCTION_NFIELDS = FUNCTION_START_LINE,
};

/* The sample types dhtrace writes, and the stat each one is. */
static const struct {
	const char *name;
	enum dhat_stat stat;
} known_types[] = {
	{ "alloc_objects", DHAT_TBK }, { "alloc_space", DHAT_TB },
	{ "inuse_objects", DHAT_EBK }, { "inuse_space", DHAT_EB },
	{ "peak_objects", DHAT_GBK }, { "peak_space", DHAT_GB },
};

/* Table entries start with their id, so that one function indexes all. */
struct mapping {
	uint64_t id, filename;
};

struct function {
	uint64_t id, name, filename;
};

struct location {
	uint64_t id, mapping, address;
	struct pb_msg msg;
	uint32_t first_frame, nframes;	/* in the frame table */
};

struct id_index {
	uint64_t id;
	size_t i;
};

/* A growable array. */
struct vec {
	void *v;
	size_t n, cap;
};

struct reader {
	const char *name;
	struct dhat_err *err;
	const uint8_t *start;	/* of the profile, for offsets in errors */

	struct vec types;	/* uint64_t: sample type name indices */
	struct vec samples;	/* struct pb_msg */
	struct vec mappings, functions, locations;
	struct vec strings;	/* struct pb_msg */
	struct vec comments;	/* uint64_t */
	uint64_t duration;	/* ns */
	struct id_index *mapping_ids, *function_ids, *location_ids;

	int column[DHAT_NSTATS];	/* of each stat; -1: none */
	bool bklt;

	/* what becomes the dhat_file */
	struct vec text;	/* char: the frame strings */
	struct vec frame_off;	/* size_t: where each starts in text */
	struct vec fs;		/* uint32_t */
	struct vec pps;		/* struct dhat_pp */
	struct vec values;	/* uint64_t: one sample's, reused */
};

static int bad(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct reader *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->err->msg, sizeof(r->err->msg), "%s: pprof: ", r->name);
	if (n < 0 || (size_t)n >= sizeof(r->err->msg))
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(r->err->msg + n, sizeof(r->err->msg) - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int no_memory(struct reader *r)
{
	snprintf(r->err->msg, sizeof(r->err->msg), "%s: out of memory",
		 r->name);
	return -ENOMEM;
}

/* Room for @more elements of @size at the end of @v; NULL if there is no
 * memory. */
static void *vec_room(struct vec *v, size_t more, size_t size)
{
	size_t cap = v->cap ? v->cap : 64;
	void *p;

	if (more > SIZE_MAX / size - v->n)
		return NULL;
	if (v->n + more <= v->cap)
		return (char *)v->v + v->n * size;
	while (cap < v->n + more) {
		if (cap > SIZE_MAX / size / 2)
			return NULL;
		cap *= 2;
	}
	p = realloc(v->v, cap * size);
	if (!p)
		return NULL;
	v->v = p;
	v->cap = cap;
	return (char *)p + v->n * size;
}

static int push(struct reader *r, struct vec *v, const void *e, size_t size)
{
	void *p = vec_room(v, 1, size);

	if (!p)
		return no_memory(r);
	memcpy(p, e, size);
	v->n++;
	return 0;
}

static int malformed(struct reader *r, const struct pb_msg *m, const char *what)
{
	return bad(r, "%s: malformed protobuf at byte %zu of the profile", what,
		   (size_t)(m->p - r->start));
}

static int wrong_wire(struct reader *r, const struct pb_field *f,
		      const char *what)
{
	return bad(r, "%s: field %" PRIu32 " has wire type %d", what, f->num,
		   (int)f->wire);
}

/*
 * The varint fields 1..@n of message @m into @v[1..@n] (0 when absent; the
 * last one wins, as in protobuf), for the messages of scalars only.
 */
static int scalars(struct reader *r, struct pb_msg m, uint64_t *v, size_t n,
		   const char *what)
{
	struct pb_field f;
	int ret;

	memset(v, 0, (n + 1) * sizeof(*v));
	while ((ret = pb_next(&m, &f)) > 0) {
		if (f.num > n)
			continue;
		if (f.wire != PB_VARINT)
			return wrong_wire(r, &f, what);
		v[f.num] = f.v;
	}
	return ret ? malformed(r, &m, what) : 0;
}

/* A location's fields but its lines, which are read when rendered. */
static int location(struct reader *r, struct pb_msg m)
{
	struct location loc = { .msg = m };
	struct pb_field f;
	int ret;

	while ((ret = pb_next(&m, &f)) > 0) {
		if (f.num == LOCATION_LINE) {
			if (f.wire != PB_LEN)
				return wrong_wire(r, &f, "location");
			continue;
		}
		if (f.num > LOCATION_IS_FOLDED)
			continue;
		if (f.wire != PB_VARINT)
			return wrong_wire(r, &f, "location");
		if (f.num == LOCATION_ID)
			loc.id = f.v;
		else if (f.num == LOCATION_MAPPING_ID)
			loc.mapping = f.v;
		else if (f.num == LOCATION_ADDRESS)
			loc.address = f.v;
	}
	if (ret)
		return malformed(r, &m, "location");
	return push(r, &r->locations, &loc, sizeof(loc));
}

/* One field of the top-level message. */
static int top_field(struct reader *r, const struct pb_field *f)
{
	uint64_t v[MAPPING_NFIELDS + 1];
	struct pb_values it;
	struct mapping mp;
	struct function fn;
	int ret;

	switch (f->num) {
	case PROFILE_SAMPLE_TYPE:
	case PROFILE_SAMPLE:
	case PROFILE_MAPPING:
	case PROFILE_LOCATION:
	case PROFILE_FUNCTION:
	case PROFILE_STRING_TABLE:
		if (f->wire != PB_LEN)
			return wrong_wire(r, f, "profile");
		break;
	case PROFILE_DURATION_NANOS:
		if (f->wire != PB_VARINT)
			return wrong_wire(r, f, "profile");
		r->duration = f->v;
		return 0;
	case PROFILE_COMMENT:
		pb_values(f, &it);
		while ((ret = pb_value(&it, &v[0])) > 0)
			if (push(r, &r->comments, &v[0], sizeof(v[0])))
				return -ENOMEM;
		return ret ? bad(r, "profile: malformed comment") : 0;
	default:
		return 0;
	}
	switch (f->num) {
	case PROFILE_SAMPLE_TYPE:
		ret = scalars(r, f->data, v, VALUE_TYPE_NFIELDS, "sample type");
		return ret ? ret : push(r, &r->types, &v[VALUE_TYPE_TYPE],
					sizeof(v[0]));
	case PROFILE_SAMPLE:
		return push(r, &r->samples, &f->data, sizeof(f->data));
	case PROFILE_MAPPING:
		ret = scalars(r, f->data, v, MAPPING_NFIELDS, "mapping");
		mp = (struct mapping){ v[MAPPING_ID], v[MAPPING_FILENAME] };
		return ret ? ret : push(r, &r->mappings, &mp, sizeof(mp));
	case PROFILE_LOCATION:
		return location(r, f->data);
	case PROFILE_FUNCTION:
		ret = scalars(r, f->data, v, FUNCTION_NFIELDS, "function");
		fn = (struct function){ v[FUNCTION_ID], v[FUNCTION_NAME],
					v[FUNCTION_FILENAME] };
		return ret ? ret : push(r, &r->functions, &fn, sizeof(fn));
	default:	/* PROFILE_STRING_TABLE */
		return push(r, &r->strings, &f->data, sizeof(f->data));
	}
}

/* String @i of the table (the empty string for 0, as in any table). */
static int string(struct reader *r, uint64_t i, struct pb_msg *s,
		  const char *what)
{
	const struct pb_msg *t = r->strings.v;

	if (i == 0) {
		s->p = s->end = r->start;
		return 0;
	}
	if (i >= r->strings.n)
		return bad(r, "%s: string index %" PRIu64 " is out of range "
			   "(%zu strings)", what, i, r->strings.n);
	*s = t[i];
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const struct id_index *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* @v's entries (each starting with its uint64_t id) sorted by id, checked
 * to be non-zero and unique as pprof wants them. */
static int index_ids(struct reader *r, const struct vec *v, size_t size,
		     struct id_index **out, const char *what)
{
	struct id_index *ix = malloc((v->n ? v->n : 1) * sizeof(*ix));

	*out = ix;
	if (!ix)
		return no_memory(r);
	for (size_t i = 0; i < v->n; i++) {
		memcpy(&ix[i].id, (const char *)v->v + i * size,
		       sizeof(ix[i].id));
		ix[i].i = i;
	}
	qsort(ix, v->n, sizeof(*ix), by_id);
	for (size_t i = 0; i < v->n; i++) {
		if (!ix[i].id)
			return bad(r, "a %s has id 0", what);
		if (i && ix[i].id == ix[i - 1].id)
			return bad(r, "two %ss have id %" PRIu64, what,
				   ix[i].id);
	}
	return 0;
}

/* The index of the entry with @id, or SIZE_MAX. */
static size_t find(const struct id_index *ix, size_t n, uint64_t id)
{
	const struct id_index key = { .id = id }, *e;

	e = n ? bsearch(&key, ix, n, sizeof(*ix), by_id) : NULL;
	return e ? e->i : SIZE_MAX;
}

/* Which value column holds which stat: dhtrace's own sample types, else
 * the first two columns (see pprof_load() in in.h). */
static int columns(struct reader *r)
{
	const uint64_t *types = r->types.v;
	bool any = false;
	struct pb_msg s = { 0 };
	int ret;

	for (size_t k = 0; k < DHAT_NSTATS; k++)
		r->column[k] = -1;
	if (r->types.n > INT32_MAX)
		return bad(r, "%zu sample types", r->types.n);
	for (size_t i = 0; i < r->types.n; i++) {
		ret = string(r, types[i], &s, "sample type");
		if (ret)
			return ret;
		for (size_t k = 0; k < sizeof(known_types) /
				       sizeof(known_types[0]); k++) {
			enum dhat_stat st = known_types[k].stat;

			if ((size_t)(s.end - s.p) == strlen(known_types[k].name) &&
			    !memcmp(s.p, known_types[k].name, s.end - s.p) &&
			    r->column[st] < 0) {
				r->column[st] = i;
				any = true;
			}
		}
	}
	if (!any && r->types.n) {
		r->column[DHAT_TBK] = 0;
		r->column[DHAT_TB] = r->types.n > 1;
	}
	r->bklt = r->column[DHAT_EB] >= 0 || r->column[DHAT_EBK] >= 0 ||
		  r->column[DHAT_GB] >= 0 || r->column[DHAT_GBK] >= 0;
	if (r->samples.n && !r->types.n)
		return bad(r, "samples but no sample types");
	return 0;
}

static int put(struct reader *r, const void *p, size_t n)
{
	void *at = vec_room(&r->text, n, 1);

	if (!at)
		return no_memory(r);
	memcpy(at, p, n);
	r->text.n += n;
	return 0;
}

/* String @s, ill-formed UTF-8 and NULs replaced by U+FFFD. The profile
 * ends with a NUL, so utf8_seq() stops there at the latest. */
static int put_text(struct reader *r, struct pb_msg s)
{
	size_t n, skip, left;
	int ret = 0;

	while (!ret && s.p < s.end) {
		left = s.end - s.p;
		n = *s.p ? utf8_seq(s.p, &skip) : 0;
		if (!*s.p)
			skip = 1;
		if (n && n <= left) {
			ret = put(r, s.p, n);
		} else {
			ret = put(r, UTF8_REPLACEMENT, 3);
			n = n ? left : skip < left ? skip : left;
		}
		s.p += n;
	}
	return ret;
}

static int put_str(struct reader *r, const char *s)
{
	return put(r, s, strlen(s));
}

/* After the last '/' of a path: DHAT frames name files as valgrind prints
 * them, without the directory in most cases. */
static struct pb_msg base_name(struct pb_msg s)
{
	const uint8_t *slash = s.end;

	while (slash > s.p && slash[-1] != '/')
		slash--;
	if (slash < s.end)
		s.p = slash;
	return s;
}

/*
 * One frame string: "0xADDR: function (file:line)", "0xADDR: function
 * (in object)" without a file, "0xADDR: function" without either; "???"
 * for a function not known.
 */
static int put_frame(struct reader *r, uint64_t addr, struct pb_msg fn,
		     struct pb_msg file, int64_t line, struct pb_msg obj)
{
	size_t *off = vec_room(&r->frame_off, 1, sizeof(*off));
	char num[48];
	int ret;

	if (!off)
		return no_memory(r);
	if (r->frame_off.n >= UINT32_MAX)
		return bad(r, "more than %" PRIu32 " frames", UINT32_MAX);
	*off = r->text.n;
	r->frame_off.n++;
	snprintf(num, sizeof(num), "0x%" PRIX64 ": ", addr);
	ret = put_str(r, num);
	if (!ret)
		ret = fn.p < fn.end ? put_text(r, fn) : put_str(r, "???");
	if (!ret && file.p < file.end) {
		snprintf(num, sizeof(num), ":%" PRId64 ")", line);
		ret = put_str(r, " (");
		if (!ret)
			ret = put_text(r, base_name(file));
		if (!ret)
			ret = put_str(r, num);
	} else if (!ret && obj.p < obj.end) {
		ret = put_str(r, " (in ");
		if (!ret)
			ret = put_text(r, obj);
		if (!ret)
			ret = put_str(r, ")");
	}
	return ret ? ret : put(r, "", 1);
}

/* Location @loc as frames: one per line, innermost first, or one "???"
 * when it has none. */
static int render_location(struct reader *r, struct location *loc)
{
	const struct mapping *mappings = r->mappings.v;
	const struct function *functions = r->functions.v;
	struct pb_msg m = loc->msg, obj = { r->start, r->start }, fn, file;
	uint64_t v[LINE_NFIELDS + 1];
	struct pb_field f;
	size_t i;
	int ret;

	loc->first_frame = r->frame_off.n;
	i = find(r->mapping_ids, r->mappings.n, loc->mapping);
	/* pprof allows a mapping id that names no mapping */
	if (i != SIZE_MAX &&
	    (ret = string(r, mappings[i].filename, &obj, "mapping")))
		return ret;
	while ((ret = pb_next(&m, &f)) > 0) {
		if (f.num != LOCATION_LINE)
			continue;
		ret = scalars(r, f.data, v, LINE_NFIELDS, "line");
		if (ret)
			return ret;
		i = find(r->function_ids, r->functions.n, v[LINE_FUNCTION_ID]);
		if (i == SIZE_MAX)
			return bad(r, "location %" PRIu64 ": no function with "
				   "id %" PRIu64, loc->id, v[LINE_FUNCTION_ID]);
		if ((ret = string(r, functions[i].name, &fn, "function")) ||
		    (ret = string(r, functions[i].filename, &file, "function")) ||
		    (ret = put_frame(r, loc->address, fn, file,
				     (int64_t)v[LINE_LINE], obj)))
			return ret;
	}
	if (ret)	/* checked in the first pass */
		return malformed(r, &m, "location");
	if (r->frame_off.n == loc->first_frame) {
		fn.p = fn.end = file.p = file.end = r->start;
		ret = put_frame(r, loc->address, fn, file, 0, obj);
	}
	loc->nframes = r->frame_off.n - loc->first_frame;
	return ret;
}

/* Sample @n as a program point: its locations' frames, leaf first, and
 * its values as the stats columns() chose. */
static int sample(struct reader *r, size_t n, struct pb_msg m)
{
	const struct location *locs = r->locations.v;
	struct dhat_pp pp = { .present = 1u << DHAT_TB | 1u << DHAT_TBK };
	size_t first = r->fs.n, i;
	struct pb_values it;
	struct pb_field f;
	uint64_t v, *values;
	uint32_t *fs;
	int ret;

	r->values.n = 0;
	while ((ret = pb_next(&m, &f)) > 0) {
		if (f.num != SAMPLE_LOCATION_ID && f.num != SAMPLE_VALUE)
			continue;
		pb_values(&f, &it);
		while ((ret = pb_value(&it, &v)) > 0) {
			if (f.num == SAMPLE_VALUE) {
				if (push(r, &r->values, &v, sizeof(v)))
					return -ENOMEM;
				continue;
			}
			i = find(r->location_ids, r->locations.n, v);
			if (i == SIZE_MAX)
				return bad(r, "sample %zu: no location with id "
					   "%" PRIu64, n, v);
			fs = vec_room(&r->fs, locs[i].nframes, sizeof(*fs));
			if (!fs)
				return no_memory(r);
			for (uint32_t k = 0; k < locs[i].nframes; k++)
				fs[k] = locs[i].first_frame + k;
			r->fs.n += locs[i].nframes;
		}
		if (ret)
			return bad(r, "sample %zu: malformed %s", n,
				   f.num == SAMPLE_VALUE ? "values" :
				   "location ids");
	}
	if (ret)
		return malformed(r, &m, "sample");
	if (r->values.n != r->types.n)
		return bad(r, "sample %zu has %zu values for %zu sample types",
			   n, r->values.n, r->types.n);
	values = r->values.v;
	for (i = 0; i < r->values.n; i++)
		if (values[i] > INT64_MAX)
			return bad(r, "sample %zu: negative value %" PRId64,
				   n, (int64_t)values[i]);
	for (int k = 0; k < DHAT_NSTATS; k++)
		if (r->column[k] >= 0)
			pp.stat[k] = values[r->column[k]];
	if (r->bklt)
		pp.present |= 1u << DHAT_GB | 1u << DHAT_GBK |
			      1u << DHAT_EB | 1u << DHAT_EBK;
	pp.nfs = r->fs.n - first;
	return push(r, &r->pps, &pp, sizeof(pp));
}

static char *dup_text(struct reader *r, struct pb_msg s)
{
	size_t at = r->text.n;
	char *d;

	if (put_text(r, s) || put(r, "", 1))
		return NULL;
	d = strdup((char *)r->text.v + at);
	r->text.n = at;
	return d;
}

/* cmd and pid from the comments "cmd: ..." and "pid: N" dhtrace writes;
 * the first of each counts. Other comments are left. */
static int comments(struct reader *r, struct dhat_meta *meta)
{
	const uint64_t *c = r->comments.v;
	struct pb_msg s = { 0 };
	char num[24], *end;
	size_t len;
	int ret;

	for (size_t i = 0; i < r->comments.n; i++) {
		ret = string(r, c[i], &s, "comment");
		if (ret)
			return ret;
		len = s.end - s.p;
		if (len > 5 && !memcmp(s.p, "cmd: ", 5) && !meta->cmd) {
			s.p += 5;
			meta->cmd = dup_text(r, s);
			if (!meta->cmd)
				return no_memory(r);
			meta->present |= 1u << DHAT_M_CMD;
		} else if (len > 5 && len - 5 < sizeof(num) &&
			   !memcmp(s.p, "pid: ", 5) &&
			   !(meta->present & (1u << DHAT_M_PID))) {
			memcpy(num, s.p + 5, len - 5);
			num[len - 5] = '\0';
			errno = 0;
			meta->pid = strtoull(num, &end, 10);
			if (!errno && *num >= '0' && *num <= '9' && !*end)
				meta->present |= 1u << DHAT_M_PID;
			else
				meta->pid = 0;
		}
	}
	return 0;
}

static int meta_of(struct reader *r, struct dhat_meta *meta)
{
	meta->present |= 1u << DHAT_M_VERSION | 1u << DHAT_M_BKLT;
	meta->version = 2;
	meta->bklt = r->bklt;
	if (r->duration && r->duration <= INT64_MAX) {
		meta->te = r->duration / 1000;
		meta->tu = strdup("µs");
		meta->mtu = strdup("s");
		if (!meta->tu || !meta->mtu)
			return no_memory(r);
		meta->present |= 1u << DHAT_M_TE | 1u << DHAT_M_TU |
				 1u << DHAT_M_MTU;
	}
	return comments(r, meta);
}

static int decode(struct reader *r, struct pb_msg m, struct dhat_meta *meta)
{
	const struct pb_msg *strings, *samples;
	struct location *locs;
	struct pb_field f;
	int ret;

	while ((ret = pb_next(&m, &f)) > 0)
		if ((ret = top_field(r, &f)))
			return ret;
	if (ret)
		return malformed(r, &m, "profile");
	strings = r->strings.v;
	if (r->strings.n && strings[0].p != strings[0].end)
		return bad(r, "the first string of the table is not empty");
	if ((ret = index_ids(r, &r->mappings, sizeof(struct mapping),
			     &r->mapping_ids, "mapping")) ||
	    (ret = index_ids(r, &r->functions, sizeof(struct function),
			     &r->function_ids, "function")) ||
	    (ret = index_ids(r, &r->locations, sizeof(struct location),
			     &r->location_ids, "location")) ||
	    (ret = columns(r)) || (ret = meta_of(r, meta)))
		return ret;
	/* frame 0 is the root, as in every DHAT file */
	if (push(r, &r->frame_off, &r->text.n, sizeof(size_t)) ||
	    put(r, "[root]", 7))
		return -ENOMEM;
	locs = r->locations.v;
	for (size_t i = 0; i < r->locations.n; i++)
		if ((ret = render_location(r, &locs[i])))
			return ret;
	samples = r->samples.v;
	for (size_t i = 0; i < r->samples.n; i++)
		if ((ret = sample(r, i, samples[i])))
			return ret;
	return 0;
}

/* Pointers into the pools, now that they are complete. */
static int finish(struct reader *r, struct dhat_file *df)
{
	const char **ftbl = malloc(r->frame_off.n * sizeof(*ftbl));
	const size_t *off = r->frame_off.v;
	struct dhat_pp *pps = r->pps.v;
	uint32_t *fs = r->fs.v;
	size_t at = 0;

	if (!ftbl)
		return no_memory(r);
	for (size_t i = 0; i < r->frame_off.n; i++)
		ftbl[i] = (char *)r->text.v + off[i];
	for (size_t i = 0; i < r->pps.n; i++) {
		pps[i].fs = fs ? fs + at : NULL;	/* NULL: no frames at all */
		at += pps[i].nfs;
	}
	df->pps = pps;
	df->npps = r->pps.n;
	df->ftbl = ftbl;
	df->nftbl = r->frame_off.n;
	df->fs_pool = fs;
	df->str_pool = r->text.v;
	r->pps.v = r->fs.v = r->text.v = NULL;
	return 0;
}

int pprof_load(FILE *f, const char *name, struct dhat_file *df,
	       struct dhat_err *err)
{
	struct reader r = { .name = name, .err = err };
	uint8_t *buf;
	size_t len;
	int ret;

	memset(df, 0, sizeof(*df));
	err->msg[0] = '\0';
	ret = in_read_all(f, name, &buf, &len, err);
	if (ret)
		return ret;
	r.start = buf;
	ret = decode(&r, (struct pb_msg){ buf, buf + len }, &df->meta);
	if (!ret)
		ret = finish(&r, df);
	if (ret)
		dhat_meta_free(&df->meta);
	free(buf);
	free(r.types.v);
	free(r.samples.v);
	free(r.mappings.v);
	free(r.functions.v);
	free(r.locations.v);
	free(r.strings.v);
	free(r.comments.v);
	free(r.mapping_ids);
	free(r.function_ids);
	free(r.location_ids);
	free(r.text.v);
	free(r.frame_off.v);
	free(r.fs.v);
	free(r.pps.v);
	free(r.values.v);
	return ret;
}
