// SPDX-License-Identifier: GPL-2.0
/*
 * Allocations from generated code: a stub in an anonymous executable
 * mapping (as a JIT makes) calls malloc(100) and keeps a frame pointer, so
 * the stack continues below it. The stub's frame has no object: both
 * valgrind and dhtrace print "???".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef void *(*stub_fn)(void);

static stub_fn make_stub(void)
{
	uint8_t code[] = {
		0x55,				/* push %rbp */
		0x48, 0x89, 0xe5,		/* mov %rsp,%rbp */
		0xbf, 0x64, 0, 0, 0,		/* mov $100,%edi */
		0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,	/* movabs $malloc,%rax */
		0xff, 0xd0,			/* call *%rax */
		0x5d,				/* pop %rbp */
		0xc3,				/* ret */
	};
	void *(*target)(size_t) = malloc;
	uint8_t *mem;

	memcpy(code + 11, &target, sizeof(target));
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	memcpy(mem, code, sizeof(code));
	if (mprotect(mem, 4096, PROT_READ | PROT_EXEC))
		return NULL;
	return (stub_fn)mem;
}

int main(void)
{
	stub_fn stub = make_stub();

	if (!stub)
		return 1;
	for (int i = 0; i < 3; i++)
		free(stub());
	if (!stub())	/* leaked */
		return 1;
	return 0;
}
