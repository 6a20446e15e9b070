// SPDX-License-Identifier: GPL-2.0
/* The frame table: every printed frame string once, under a dense id. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sym/sym_int.h"

#define EMPTY UINT32_MAX

/* FNV-1a */
static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int rehash(struct ftbl *t, size_t nslots)
{
	uint32_t *slots = malloc(nslots * sizeof(*slots));
	size_t mask = nslots - 1, j;

	if (!slots)
		return -ENOMEM;
	memset(slots, 0xff, nslots * sizeof(*slots));
	for (uint32_t id = 0; id < t->n; id++) {
		for (j = t->hash[id] & mask; slots[j] != EMPTY; j = (j + 1) & mask)
			;
		slots[j] = id;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

static int grow(struct ftbl *t)
{
	size_t cap = t->cap ? 2 * t->cap : 256;
	struct sym_frame *parts;
	char **text;
	uint32_t *hash;

	if (cap >= EMPTY)
		return -ENOMEM;
	text = realloc(t->text, cap * sizeof(*text));
	if (!text)
		return -ENOMEM;
	t->text = text;
	parts = realloc(t->parts, cap * sizeof(*parts));
	if (!parts)
		return -ENOMEM;
	t->parts = parts;
	hash = realloc(t->hash, cap * sizeof(*hash));
	if (!hash)
		return -ENOMEM;
	t->hash = hash;
	t->cap = cap;
	/* Load factor at most 1/2. */
	return rehash(t, 2 * cap);
}

static size_t opt_len(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* @s copied to *@at, which moves past it; NULL stays NULL. */
static const char *copy_to(char **at, const char *s)
{
	char *dst = *at;
	size_t n = opt_len(s);

	if (!s)
		return NULL;
	memcpy(dst, s, n);
	*at += n;
	return dst;
}

/* The strings of @parts moved behind the NUL of *@text: one allocation
 * per frame, and invisible to the comparisons, which stop at the NUL. */
static int attach_parts(char **text, struct sym_frame *parts)
{
	size_t len = strlen(*text) + 1;
	char *t, *at;

	t = realloc(*text, len + opt_len(parts->function) +
		    opt_len(parts->system_name) + opt_len(parts->file));
	if (!t)
		return -ENOMEM;
	*text = t;
	at = t + len;
	parts->function = copy_to(&at, parts->function);
	parts->system_name = copy_to(&at, parts->system_name);
	parts->file = copy_to(&at, parts->file);
	return 0;
}

int ftbl_intern(struct ftbl *t, char *text, const struct sym_frame *parts,
		uint32_t *id)
{
	struct sym_frame p = { 0 };
	uint32_t h = hash_str(text);
	size_t mask, j;
	int err;

	if (parts) {
		p = *parts;
		err = attach_parts(&text, &p);
		if (err) {
			free(text);
			return err;
		}
	}
	if (t->n == t->cap) {
		err = grow(t);
		if (err) {
			free(text);
			return err;
		}
	}
	mask = t->nslots - 1;
	for (j = h & mask; t->slots[j] != EMPTY; j = (j + 1) & mask) {
		if (t->hash[t->slots[j]] == h &&
		    !strcmp(t->text[t->slots[j]], text)) {
			free(text);
			*id = t->slots[j];
			return 0;
		}
	}
	*id = t->n;
	t->slots[j] = t->n;
	t->text[t->n] = text;
	t->parts[t->n] = p;
	t->hash[t->n] = h;
	t->n++;
	return 0;
}

int ftbl_init(struct ftbl *t)
{
	char *root = strdup("[root]");
	uint32_t id;

	memset(t, 0, sizeof(*t));
	if (!root)
		return -ENOMEM;
	return ftbl_intern(t, root, NULL, &id);
}

void ftbl_free(struct ftbl *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->text[i]);
	free(t->text);
	free(t->parts);
	free(t->hash);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

int ftbl_copy(struct ftbl *dst, const struct ftbl *src)
{
	for (size_t i = 1; i < src->n; i++) {
		char *text = strdup(src->text[i]);
		uint32_t id;
		int err;

		if (!text)
			return -ENOMEM;
		err = ftbl_intern(dst, text, &src->parts[i], &id);
		if (err)
			return err;
	}
	return 0;
}
