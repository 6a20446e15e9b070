// SPDX-License-Identifier: GPL-2.0
/* Where to open the file behind a mapping of a traced process. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sym/sym.h"

#define DELETED " (deleted)"

size_t sym_path_len(const char *path)
{
	size_t n = strlen(path), d = strlen(DELETED);

	return n > d && !strcmp(path + n - d, DELETED) ? n - d : n;
}

char *sym_mapped_file(pid_t pid, const char *path, uint64_t start,
		      uint64_t end)
{
	char *name = NULL;
	int len;

	if (!pid || path[0] != '/')
		return strdup(path);
	if (path[sym_path_len(path)] && start < end)
		len = asprintf(&name, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
			       (int)pid, start, end);
	else
		len = asprintf(&name, "/proc/%d/root%s", (int)pid, path);
	return len < 0 ? NULL : name;
}
