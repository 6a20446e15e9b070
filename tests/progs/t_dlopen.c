// SPDX-License-Identifier: GPL-2.0
/* A library that allocates, loaded and unloaded while the program runs. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char path[4096];
	void *lib, *(*make)(size_t);
	void *kept;

	(void)argc;
	snprintf(path, sizeof(path), "%s", argv[0]);
	strcpy(strrchr(path, '/') + 1, "lib_dlalloc.so");
	lib = dlopen(path, RTLD_NOW);
	if (!lib)
		return 1;
	make = (void *(*)(size_t))dlsym(lib, "dl_make");
	kept = make(777);		/* outlives the library */
	free(make(333));
	dlclose(lib);
	return kept == NULL;
}
