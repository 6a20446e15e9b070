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

static bool is(const char *name, size_t len, const char *what)
{
	return len == strlen(what) && !strncmp(name, what, len);
}

static bool starts(const char *name, size_t len, const char *prefix)
{
	return len > strlen(prefix) && !strncmp(name, prefix, strlen(prefix));
}

/* VG_(get_fnname_kind), plus glibc 2.34's __libc_start_call_main. */
enum fn_kind fn_kind(const char *name)
{
	size_t len = unversioned_len(name);

	if (is(name, len, "main"))
		return FN_MAIN;
	if (is(name, len, "__libc_start_main") ||
	    is(name, len, "__libc_start_call_main") ||
	    is(name, len, "generic_start_main") ||
	    is(name, len, "_start") ||
	    /* gcc clones: __libc_start_main.constprop.0 and the like */
	    starts(name, len, "__libc_start_main.") ||
	    starts(name, len, "generic_start_main."))
		return FN_BELOW_MAIN;
	return FN_NORMAL;
}

char *sym_demangle(const char *name)
{
	/* Versioned names ("_ZN2ns4workEi@@V1") fail, and valgrind prints
	 * them as they are, too. */
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
}
