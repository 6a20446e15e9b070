// SPDX-License-Identifier: GPL-2.0
/*
 * The demo: a tiny word-frequency counter with the usual heap habits: a
 * growing array, short-lived strings, a hash table, and a leak.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char *word;
	int count;
	struct entry *next;
};

static const char *text =
	"the quick brown fox jumps over the lazy dog and the dog sleeps "
	"while the fox runs over the hill and the quick dog follows the fox";

static unsigned hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static struct entry *lookup(struct entry **table, size_t size, const char *w)
{
	struct entry **slot = &table[hash(w) % size];

	for (struct entry *e = *slot; e; e = e->next)
		if (!strcmp(e->word, w))
			return e;
	struct entry *e = calloc(1, sizeof(*e));
	e->word = strdup(w);
	e->next = *slot;
	*slot = e;
	return e;
}

int main(void)
{
	size_t size = 16, nwords = 0, cap = 4;
	struct entry **table = calloc(size, sizeof(*table));
	char **words = malloc(cap * sizeof(*words));
	char *copy = strdup(text);

	for (char *w = strtok(copy, " "); w; w = strtok(NULL, " ")) {
		if (nwords == cap)
			words = realloc(words, (cap *= 2) * sizeof(*words));
		words[nwords++] = strdup(w);
	}
	for (size_t i = 0; i < nwords; i++) {
		lookup(table, size, words[i])->count++;
		free(words[i]);
	}
	free(words);
	free(copy);
	for (size_t i = 0; i < size; i++)
		for (struct entry *e = table[i]; e; e = e->next)
			if (e->count > 2)
				printf("%-6s %d\n", e->word, e->count);
	return 0;	/* the table is left for the leak report */
}
