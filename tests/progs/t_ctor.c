// SPDX-License-Identifier: GPL-2.0
/*
 * Allocations outside main: in a constructor (called by
 * __libc_start_main), in an atexit handler and a destructor (called by
 * exit after main returns), and in main. Each site's stack below main is
 * printed as valgrind prints it.
 */
#include <stdlib.h>

static void *kept[4];

__attribute__((noinline)) static void *site(size_t n)
{
	return malloc(n);
}

static void at_exit(void)
{
	kept[2] = site(300);
}

__attribute__((constructor)) static void init(void)
{
	kept[0] = site(100);
	free(malloc(50));
	atexit(at_exit);
}

__attribute__((destructor)) static void fini(void)
{
	kept[3] = site(400);
}

int main(void)
{
	kept[1] = site(200);
	return kept[0] == NULL;
}
