// SPDX-License-Identifier: GPL-2.0
/*
 * DHAT frame strings taken apart: "0xADDR: function (location)".
 *
 * The location is found from the right: a name may hold parentheses and
 * spaces ("operator new(unsigned long)", "(anonymous namespace)::f()",
 * "std::function<void (int)>::operator()(int) const"), a location never
 * follows anything. Every candidate " (" is looked at from the rightmost
 * one leftwards; the first whose group reads as a location wins. Whether
 * a group ends in ":line" or ":line:col" does not depend on where it
 * starts, so the scan is linear in the length of the string.
 */
#include <string.h>

#include "in/in.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "0x<1 to 16 hex digits>: " at @s; returns its length, or 0. */
static size_t parse_addr(const char *s, size_t len, uint64_t *addr)
{
	uint64_t v = 0;
	size_t i;

	if (len < 5 || s[0] != '0' || s[1] != 'x')
		return 0;
	for (i = 2; i < len && i < 18 && hexval(s[i]) >= 0; i++)
		v = v << 4 | (uint64_t)hexval(s[i]);
	if (i == 2 || i + 2 > len || s[i] != ':' || s[i + 1] != ' ')
		return 0;
	*addr = v;
	return i + 2;
}

/* The decimal number that ends [@s, @*end) after a ':' (1 to 10 digits,
 * at most UINT32_MAX); moves @*end to that ':'. Returns 0 if there is
 * none. */
static int tail_number(const char *s, const char **end, uint32_t *out)
{
	const char *p = *end;
	uint64_t v = 0, scale = 1;

	while (p > s && p[-1] >= '0' && p[-1] <= '9' && *end - p < 10) {
		p--;
		v += (uint64_t)(*p - '0') * scale;
		scale *= 10;
	}
	if (p == *end || p == s || p[-1] != ':' || v > UINT32_MAX)
		return 0;
	*out = (uint32_t)v;
	*end = p - 1;
	return 1;
}

static bool is_unknown(const char *s, size_t len)
{
	return !len || (len == 3 && !memcmp(s, "???", 3));
}

/* The tail of every candidate group: "...:line)" or "...:line:col)".
 * Sets @fr's line and col and returns where the file name ends, or NULL
 * when the group cannot be a file:line. */
static const char *file_end(const char *s, const char *close,
			    struct dhat_frame *fr)
{
	const char *end = close;
	uint32_t a, b;

	if (!tail_number(s, &end, &a))
		return NULL;
	if (tail_number(s, &end, &b)) {
		fr->line = b;
		fr->col = a;
	} else {
		fr->line = a;
	}
	return end;
}

/* Takes "(in obj)" or "(file:line[:col])" off the end of [@s, @*end). */
static void parse_location(const char *s, const char **end,
			   struct dhat_frame *fr)
{
	const char *close = *end - 1, *fend, *q;

	if (*end - s < 4 || *close != ')')
		return;
	fend = file_end(s, close, fr);
	for (q = close - 1; q > s; q--) {
		const char *in = q + 1;

		if (*q != '(' || q[-1] != ' ')
			continue;
		if (close - in >= 3 && !memcmp(in, "in ", 3)) {
			fr->line = fr->col = 0;
			if (!is_unknown(in + 3, (size_t)(close - in - 3))) {
				fr->obj = in + 3;
				fr->obj_len = (size_t)(close - in - 3);
			}
		} else if (fend && fend > in) {
			if (is_unknown(in, (size_t)(fend - in))) {
				fr->line = fr->col = 0;
			} else {
				fr->file = in;
				fr->file_len = (size_t)(fend - in);
			}
		} else {
			continue;
		}
		*end = q - 1;
		return;
	}
	fr->line = fr->col = 0;
}

void dhat_frame_parse(const char *s, size_t len, struct dhat_frame *fr)
{
	const char *end = s + len;
	size_t n;

	memset(fr, 0, sizeof(*fr));
	n = parse_addr(s, len, &fr->addr);
	fr->has_addr = n > 0;
	s += n;
	parse_location(s, &end, fr);
	fr->func = s;
	fr->func_len = (size_t)(end - s);
}
