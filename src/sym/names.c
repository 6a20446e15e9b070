// SPDX-License-Identifier: GPL-2.0
/* Function names as valgrind prints and classifies them. */
#include <stdbool.h>
#include <string.h>

#include <libiberty/demangle.h>

#include "sym/sym_int.h"

size_t unversioned_len(const char *name)
{
	const char *at = strchr(name, '@');

	return at ? (size_t)(at - name) : strlen(name);
}

static bool starts(const char *name, const char *prefix)
{
	return !strncmp(name, prefix, strlen(prefix));
}

/*
 * VG_(get_fnname_kind), on the symbol as it is linked: a versioned name is
 * another name ("__libc_start_main@@GLIBC_2.34" is not below main, and
 * valgrind prints it; glibc 2.34's __libc_start_call_main is).
 */
enum fn_kind fn_kind(const char *name)
{
	if (!strcmp(name, "main"))
		return FN_MAIN;
	if (!strcmp(name, "__libc_start_main") ||
	    !strcmp(name, "__libc_start_call_main") ||
	    !strcmp(name, "generic_start_main") ||
	    !strcmp(name, "_start") ||
	    /* gcc clones: __libc_start_main.constprop.0 and the like */
	    starts(name, "__libc_start_main.") ||
	    starts(name, "generic_start_main."))
		return FN_BELOW_MAIN;
	return FN_NORMAL;
}

char *sym_demangle(const char *name)
{
	/* Versioned names ("_ZN2ns4workEi@@V1") fail, and valgrind prints
	 * them as they are, too. */
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
}
