// SPDX-License-Identifier: GPL-2.0
/*
 * pprof writer: profile.proto (google/pprof proto/profile.proto), gzipped.
 * See FORMATS.md section 4 for what go tool pprof enforces and why the
 * sample types are what they are.
 *
 * The profile streams through zlib: samples, mappings and locations are
 * encoded and compressed as they come; only the string and function tables
 * are held, as they are referred to by index and written after. Samples
 * go first, so a converter can hand them out as it reads them. Fields go
 * out in ascending order of their numbers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "in/profile_proto.h"
#include "out/out.h"
#include "out/out_int.h"

#define FLUSH_AT 65536	/* bytes of encoded profile held before deflating */
#define NCOLUMNS 6

static const struct pprof_value_type alloc_types[2] = {
	{ "alloc_objects", "count" },
	{ "alloc_space", "bytes" },
};

static const struct pprof_value_type lifetime_types[NCOLUMNS - 2] = {
	{ "inuse_objects", "count" },
	{ "inuse_space", "bytes" },
	{ "peak_objects", "count" },
	{ "peak_space", "bytes" },
};

/* A function table key: string ids. */
struct function_key {
	uint32_t name, system_name, file;
};

struct writer {
	const struct pprof_profile *p;
	struct pb_buf buf;
	struct gzip gz;
	struct intern strings;
	struct intern functions;	/* of struct function_key */
	const struct pprof_value_type *totals;
	size_t ncolumns;
	uint32_t label_bytes;		/* string ids, interned first */
	uint32_t types[NCOLUMNS][2];
	uint32_t comments[2];
	uint32_t period_type[2];
	uint64_t max_location;		/* the highest id a sample used */
	int err;			/* the first failure */
};

/* @s with each ill-formed UTF-8 subpart replaced by U+FFFD, malloc'ed. */
static char *utf8_sanitized(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(strlen(s) * 3 + 1), *o = out;
	size_t n, bad;

	if (!out)
		return NULL;
	while (*p) {
		n = utf8_seq(p, &bad);
		if (n) {
			memcpy(o, p, n);
			o += n;
			p += n;
		} else {
			memcpy(o, UTF8_REPLACEMENT, 3);
			o += 3;
			p += bad;
		}
	}
	*o = '\0';
	return out;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, bad;

	for (; *p; p += n) {
		n = utf8_seq(p, &bad);
		if (!n)
			return false;
	}
	return true;
}

/* The string table index of @s (NULL is ""), 0 after a failure. */
static uint32_t str(struct writer *w, const char *s)
{
	char *fixed = NULL;
	uint32_t id = 0;
	int err;

	if (w->err || !s || !*s)
		return 0;
	if (!utf8_valid(s)) {
		fixed = utf8_sanitized(s);
		if (!fixed) {
			w->err = -ENOMEM;
			return 0;
		}
		s = fixed;
	}
	err = intern_add(&w->strings, s, strlen(s), &id);
	if (err)
		w->err = err;
	free(fixed);
	return id;
}

/* Compress what is encoded so far, when it is enough (or at the end). */
static void flush(struct writer *w, size_t at_least)
{
	if (!w->err && pb_failed(&w->buf))
		w->err = -ENOMEM;
	if (w->err || w->buf.len < at_least)
		return;
	w->err = gzip_write(&w->gz, w->buf.data, w->buf.len);
	w->buf.len = 0;
}

static void put_value_type(struct writer *w, uint32_t field,
			   const uint32_t type[2])
{
	size_t m = pb_begin(&w->buf, field);

	pb_uint(&w->buf, VALUE_TYPE_TYPE, type[0]);
	pb_uint(&w->buf, VALUE_TYPE_UNIT, type[1]);
	pb_end(&w->buf, m);
}

/* Everything the header and trailer refer to, so that the string table is
 * complete when it is written. */
static void intern_fixed(struct writer *w)
{
	const struct pprof_profile *p = w->p;
	uint32_t empty;
	char *s;
	int err;

	err = intern_add(&w->strings, "", 0, &empty);	/* index 0 must be "" */
	if (err) {
		w->err = err;
		return;
	}
	for (size_t i = 0; i < w->ncolumns; i++) {
		const struct pprof_value_type *t =
			i < 2 ? &w->totals[i] : &lifetime_types[i - 2];

		w->types[i][0] = str(w, t->type);
		w->types[i][1] = str(w, t->unit);
	}
	w->label_bytes = str(w, "bytes");
	w->period_type[0] = str(w, "space");
	w->period_type[1] = str(w, "bytes");
	if (asprintf(&s, "cmd: %s", p->cmd ? p->cmd : "") < 0) {
		w->err = -ENOMEM;
		return;
	}
	w->comments[0] = str(w, s);
	free(s);
	if (asprintf(&s, "pid: %d", p->pid) < 0) {
		w->err = -ENOMEM;
		return;
	}
	w->comments[1] = str(w, s);
	free(s);
	/* the table is written before the trailer that names them */
	for (size_t i = 0; i < p->ncomments; i++)
		str(w, p->comments[i]);
}

static void put_sample(struct writer *w, const struct pprof_sample *s)
{
	const struct heap_pp_stats *st = &s->stats;
	uint64_t values[NCOLUMNS] = {
		st->tbk, st->tb, st->ebk, st->eb, st->gbk, st->gb,
	};
	size_t m = pb_begin(&w->buf, PROFILE_SAMPLE), ids, label;

	if (s->nlocations) {
		ids = pb_begin(&w->buf, SAMPLE_LOCATION_ID);
		for (size_t i = 0; i < s->nlocations; i++) {
			uint64_t id = (uint64_t)s->locations[i] + 1;

			if (id > w->max_location)
				w->max_location = id;
			pb_varint(&w->buf, id);
		}
		pb_end(&w->buf, ids);
	}
	pb_packed(&w->buf, SAMPLE_VALUE, values, w->ncolumns);
	if (st->tbk && !strcmp(w->totals[1].unit, "bytes")) {
		label = pb_begin(&w->buf, SAMPLE_LABEL);
		pb_uint(&w->buf, LABEL_KEY, w->label_bytes);
		pb_uint(&w->buf, LABEL_NUM, st->tb / st->tbk);
		pb_end(&w->buf, label);
	}
	pb_end(&w->buf, m);
}

static void put_mapping(struct writer *w, size_t i)
{
	const struct pprof_mapping *mp = &w->p->mappings[i];
	size_t m = pb_begin(&w->buf, PROFILE_MAPPING);

	pb_uint(&w->buf, MAPPING_ID, i + 1);
	pb_uint(&w->buf, MAPPING_START, mp->start);
	pb_uint(&w->buf, MAPPING_LIMIT, mp->limit);
	pb_uint(&w->buf, MAPPING_OFFSET, mp->offset);
	pb_uint(&w->buf, MAPPING_FILENAME, str(w, mp->path));
	pb_uint(&w->buf, MAPPING_BUILD_ID, str(w, mp->build_id));
	pb_uint(&w->buf, MAPPING_HAS_FUNCTIONS, mp->symbolized);
	pb_uint(&w->buf, MAPPING_HAS_FILENAMES, mp->symbolized);
	pb_uint(&w->buf, MAPPING_HAS_LINE_NUMBERS, mp->symbolized);
	pb_uint(&w->buf, MAPPING_HAS_INLINE_FRAMES, mp->symbolized);
	pb_end(&w->buf, m);
}

/* The id of @l's function, added to the function table if new. */
static uint64_t function_id(struct writer *w, const struct pprof_line *l)
{
	struct function_key k;
	uint32_t id = 0;
	int err;

	k.name = str(w, l->function);
	k.system_name = l->system_name ? str(w, l->system_name) : k.name;
	k.file = str(w, l->file);
	if (w->err)
		return 0;
	err = intern_add(&w->functions, &k, sizeof(k), &id);
	if (err)
		w->err = err;
	return (uint64_t)id + 1;
}

static void put_location(struct writer *w, size_t i)
{
	const struct pprof_location *loc = &w->p->locations[i];
	size_t m = pb_begin(&w->buf, PROFILE_LOCATION), line;

	if (loc->mapping > w->p->nmappings)
		w->err = w->err ? w->err : -EINVAL;
	pb_uint(&w->buf, LOCATION_ID, i + 1);
	pb_uint(&w->buf, LOCATION_MAPPING_ID, loc->mapping);
	pb_uint(&w->buf, LOCATION_ADDRESS, loc->address);
	for (size_t j = 0; j < loc->nlines; j++) {
		const struct pprof_line *l = &loc->lines[j];

		line = pb_begin(&w->buf, LOCATION_LINE);
		pb_uint(&w->buf, LINE_FUNCTION_ID, function_id(w, l));
		pb_uint(&w->buf, LINE_LINE, (uint64_t)l->line);
		pb_uint(&w->buf, LINE_COLUMN, (uint64_t)l->column);
		pb_end(&w->buf, line);
	}
	pb_end(&w->buf, m);
}

static void put_function(struct writer *w, uint32_t id)
{
	struct function_key k;
	size_t n, m;

	memcpy(&k, intern_key(&w->functions, id, &n), sizeof(k));
	m = pb_begin(&w->buf, PROFILE_FUNCTION);
	pb_uint(&w->buf, FUNCTION_ID, (uint64_t)id + 1);
	pb_uint(&w->buf, FUNCTION_NAME, k.name);
	pb_uint(&w->buf, FUNCTION_SYSTEM_NAME, k.system_name);
	pb_uint(&w->buf, FUNCTION_FILENAME, k.file);
	pb_end(&w->buf, m);
}

static void put_trailer(struct writer *w)
{
	const struct pprof_profile *p = w->p;
	size_t n = 2 + p->ncomments;
	uint64_t *comments = malloc(n * sizeof(*comments));

	if (!comments) {
		w->err = -ENOMEM;
		return;
	}
	comments[0] = w->comments[0];
	comments[1] = w->comments[1];
	for (size_t i = 0; i < p->ncomments; i++)
		comments[2 + i] = str(w, p->comments[i]);	/* interned: found */
	pb_uint(&w->buf, PROFILE_TIME_NANOS, (uint64_t)p->time_nanos);
	pb_uint(&w->buf, PROFILE_DURATION_NANOS, (uint64_t)p->duration_nanos);
	put_value_type(w, PROFILE_PERIOD_TYPE, w->period_type);
	/* every block counted, or one in every sample_bytes bytes */
	pb_uint(&w->buf, PROFILE_PERIOD, p->sample_bytes ? p->sample_bytes : 1);
	pb_packed(&w->buf, PROFILE_COMMENT, comments, n);
	free(comments);
	/* alloc_space: every call site that allocated shows, where the
	 * in-use and peak views show only what was live */
	pb_uint(&w->buf, PROFILE_DEFAULT_SAMPLE_TYPE, w->types[1][0]);
}

static void put_profile(struct writer *w)
{
	const struct pprof_profile *p = w->p;
	size_t n;

	intern_fixed(w);
	for (size_t i = 0; i < w->ncolumns; i++)
		put_value_type(w, PROFILE_SAMPLE_TYPE, w->types[i]);
	for (size_t i = 0; p->sample && !w->err; i++) {
		struct pprof_sample s;
		int more = p->sample(p->sample_ctx, i, &s);

		if (more <= 0) {
			w->err = more;
			break;
		}
		put_sample(w, &s);
		flush(w, FLUSH_AT);
	}
	/* the locations are known now */
	if (!w->err && w->max_location > p->nlocations)
		w->err = -EINVAL;
	for (size_t i = 0; i < p->nmappings && !w->err; i++) {
		put_mapping(w, i);
		flush(w, FLUSH_AT);
	}
	for (size_t i = 0; i < p->nlocations && !w->err; i++) {
		put_location(w, i);
		flush(w, FLUSH_AT);
	}
	for (uint32_t i = 0; i < w->functions.n && !w->err; i++) {
		put_function(w, i);
		flush(w, FLUSH_AT);
	}
	for (uint32_t i = 0; i < w->strings.n && !w->err; i++) {
		const void *s = intern_key(&w->strings, i, &n);

		pb_bytes(&w->buf, PROFILE_STRING_TABLE, s, n);
		flush(w, FLUSH_AT);
	}
	if (!w->err)
		put_trailer(w);
	flush(w, 0);
}

int out_pprof_fprint(const struct pprof_profile *p, FILE *f)
{
	struct writer w = {
		.p = p,
		.totals = p->totals ? p->totals : alloc_types,
		.ncolumns = p->totals_only ? 2 : NCOLUMNS,
	};
	int err;

	w.err = gzip_begin(&w.gz, f);
	if (!w.err)
		put_profile(&w);
	err = gzip_end(&w.gz, !w.err);
	pb_free(&w.buf);
	intern_free(&w.strings);
	intern_free(&w.functions);
	return w.err ? w.err : err;
}

static int fprint(const void *p, FILE *f)
{
	return out_pprof_fprint(p, f);
}

int out_pprof_write(const struct pprof_profile *p, const char *path)
{
	return out_write_atomic(path, fprint, p);
}
