// SPDX-License-Identifier: GPL-2.0
/*
 * A program with its own statically linked allocator under jemalloc's
 * "je_" prefix (as redis and many C++ servers link jemalloc): a first-fit
 * arena of its own that never calls malloc. Each call site's numbers are
 * known from the code (the marked lines: total bytes and blocks, then
 * bytes and blocks left at exit).
 */
#include <stddef.h>
#include <string.h>

#define ARENA (1 << 20)
#define ALIGN 16

/* A block's header: its size; 0 once freed (nothing is reused). */
struct hdr {
	size_t size;
	size_t pad;
};

static _Alignas(ALIGN) unsigned char arena[ARENA];
static size_t used;

#define API __attribute__((noinline, used))

API void *je_malloc(size_t size)
{
	size_t need = sizeof(struct hdr) + (size + ALIGN - 1) / ALIGN * ALIGN;
	struct hdr *h;

	if (need > ARENA - used)
		return NULL;
	h = (struct hdr *)(arena + used);
	used += need;
	h->size = size;
	return h + 1;
}

API void je_free(void *p)
{
	if (p)
		((struct hdr *)p - 1)->size = 0;
}

API void *je_calloc(size_t n, size_t size)
{
	void *p = je_malloc(n * size);

	if (p)
		memset(p, 0, n * size);
	return p;
}

API void *je_realloc(void *p, size_t size)
{
	void *q;

	if (!p)
		return je_malloc(size);
	q = je_malloc(size);
	if (q) {
		size_t old = ((struct hdr *)p - 1)->size;

		memcpy(q, p, old < size ? old : size);
		je_free(p);
	}
	return q;
}

/* jemalloc's extended API: flags unused here. */
API void *je_mallocx(size_t size, int flags)
{
	(void)flags;
	return je_malloc(size);
}

API void *je_rallocx(void *p, size_t size, int flags)
{
	(void)flags;
	return je_realloc(p, size);
}

/* Like jemalloc's, these free without going through je_free. */
API void je_sdallocx(void *p, size_t size, int flags)
{
	(void)size;
	(void)flags;
	((struct hdr *)p - 1)->size = 0;
}

API void je_dallocx(void *p, int flags)
{
	(void)flags;
	((struct hdr *)p - 1)->size = 0;
}

static void *keep[4];

int main(void)
{
	void *p;

	for (int i = 0; i < 10; i++) {
		p = je_malloc(100);	// site: 1000 10 0 0
		je_free(p);
	}
	p = je_calloc(4, 50);	// site: 200 1 0 0
	je_sdallocx(p, 200, 0);
	p = je_mallocx(64, 0);	// site: 64 1 0 0
	je_dallocx(p, 0);
	p = je_malloc(10);	// site: 340 3 0 0
	p = je_realloc(p, 30);
	p = je_rallocx(p, 300, 0);
	je_free(p);
	keep[0] = je_malloc(777);	// site: 777 1 777 1
	return keep[0] == NULL;
}
