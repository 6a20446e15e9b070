// SPDX-License-Identifier: GPL-2.0
/*
 * DHAT JSON writer: file format version 2 in heap mode, as valgrind's and
 * dhat-rs's viewer (dh_view.html) reads it. See FORMATS.md section 1.
 *
 * The text is streamed to the FILE (profiles can have millions of program
 * points), comma-first and one PP or frame per line, without indentation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "out/out.h"

/* U+FFFD REPLACEMENT CHARACTER, in UTF-8. */
#define UTF8_REPLACEMENT "\xef\xbf\xbd"

/*
 * Everything before the command line: heap mode, block lifetimes but no
 * access counts, times in µs ("Mtu" names 10^6 of them; blocks living 10 µs
 * or less are short-lived), as dhat-rs writes.
 */
#define JSON_HEADER							\
	"{\"dhatFileVersion\":2"					\
	"\n,\"mode\":\"heap\",\"verb\":\"Allocated\""			\
	"\n,\"bklt\":true,\"bkacc\":false"				\
	"\n,\"tu\":\"\xc2\xb5" "s\",\"Mtu\":\"s\""			\
	"\n,\"tuth\":10"						\
	"\n,\"cmd\":"

static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static int put(FILE *f, const void *s, size_t n)
{
	return fwrite(s, 1, n, f) == n ? 0 : neg_errno();
}

static int put_str(FILE *f, const char *s)
{
	return put(f, s, strlen(s));
}

/*
 * Length of the well-formed UTF-8 sequence at @s (Unicode 15, table 3-7),
 * or 0 with *@bad set to the length of its maximal ill-formed subpart,
 * which a browser's decoder replaces with one U+FFFD. The NUL that ends
 * the string is never a continuation byte, so @s is not read past it.
 */
static size_t utf8_seq(const unsigned char *s, size_t *bad)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
	} else {
		*bad = 1;
		return 0;
	}
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++) {
		if (s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

/*
 * @s as a JSON string: '"' and '\' escaped, bytes below 0x20 as \u00xx,
 * invalid UTF-8 replaced by U+FFFD. Runs of bytes that need no change are
 * written in one go.
 */
static int put_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;
	char esc[8];
	const char *rep;
	size_t n, skip;
	int err;

	if (putc('"', f) == EOF)
		return neg_errno();
	while (*p) {
		skip = 1;
		if (*p == '"') {
			rep = "\\\"";
		} else if (*p == '\\') {
			rep = "\\\\";
		} else if (*p < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			rep = esc;
		} else {
			n = utf8_seq(p, &skip);
			if (n) {
				p += n;
				continue;
			}
			rep = UTF8_REPLACEMENT;
		}
		err = put(f, run, (size_t)(p - run));
		if (err)
			return err;
		err = put_str(f, rep);
		if (err)
			return err;
		p += skip;
		run = p;
	}
	err = put(f, run, (size_t)(p - run));
	if (err)
		return err;
	return putc('"', f) == EOF ? neg_errno() : 0;
}

static int put_pp(FILE *f, const struct profile_pp *pp)
{
	const struct heap_pp_stats *s = &pp->stats;
	size_t i;

	if (fprintf(f, "{\"tb\":%" PRIu64 ",\"tbk\":%" PRIu64
		    ",\"tl\":%" PRIu64
		    ",\"mb\":%" PRIu64 ",\"mbk\":%" PRIu64
		    ",\"gb\":%" PRIu64 ",\"gbk\":%" PRIu64
		    ",\"eb\":%" PRIu64 ",\"ebk\":%" PRIu64 ",\"fs\":[",
		    s->tb, s->tbk, s->tl_ns / 1000, s->mb, s->mbk,
		    s->gb, s->gbk, s->eb, s->ebk) < 0)
		return neg_errno();
	for (i = 0; i < pp->nframes; i++) {
		if (fprintf(f, "%s%" PRIu32, i ? "," : "", pp->frames[i]) < 0)
			return neg_errno();
	}
	return put_str(f, "]}");
}

int out_dhat_json_fprint(const struct profile *p, FILE *f)
{
	uint64_t te = p->totals.tend_ns / 1000;
	uint64_t tg = p->totals.tgmax_ns / 1000;
	size_t i;
	int err;

	/* The viewer divides by te; t-gmax cannot come after t-end. */
	if (te < 1)
		te = 1;
	if (tg > te)
		tg = te;

	err = put_str(f, JSON_HEADER);
	if (err)
		return err;
	err = put_json_string(f, p->cmd);
	if (err)
		return err;
	if (fprintf(f, "\n,\"pid\":%d\n,\"te\":%" PRIu64 "\n,\"tg\":%" PRIu64
		    "\n,\"pps\":\n[", p->pid, te, tg) < 0)
		return neg_errno();
	for (i = 0; i < p->npps; i++) {
		err = put_str(f, i ? "\n," : "");
		if (err)
			return err;
		err = put_pp(f, &p->pps[i]);
		if (err)
			return err;
	}
	err = put_str(f, p->npps ? "\n]\n,\"ftbl\":\n[" : "]\n,\"ftbl\":\n[");
	if (err)
		return err;
	for (i = 0; i < p->nftbl; i++) {
		err = put_str(f, i ? "\n," : "");
		if (err)
			return err;
		err = put_json_string(f, p->ftbl[i]);
		if (err)
			return err;
	}
	err = put_str(f, p->nftbl ? "\n]\n}\n" : "]\n}\n");
	if (err)
		return err;
	return fflush(f) ? neg_errno() : 0;
}

int out_dhat_json_write(const struct profile *p, const char *path)
{
	struct out_file of;
	int err = out_file_open(&of, path);

	if (err)
		return err;
	err = out_dhat_json_fprint(p, of.f);
	if (err) {
		out_file_abort(&of);
		return err;
	}
	return out_file_commit(&of);
}
