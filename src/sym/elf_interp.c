// SPDX-License-Identifier: GPL-2.0
/* The dynamic linker an executable asks for (its PT_INTERP segment). */
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym/sym.h"
#include "sym/sym_int.h"

static int read_interp(Elf *elf, int fd, void *ctx)
{
	char **interp = ctx;
	size_t nphdr;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &nphdr))
		return -ENOEXEC;
	for (size_t i = 0; i < nphdr; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_INTERP)
			continue;
		if (!ph.p_filesz || ph.p_filesz > 4096)
			return -ENOEXEC;
		*interp = calloc(1, ph.p_filesz + 1);
		if (!*interp)
			return -ENOMEM;
		if (pread(fd, *interp, ph.p_filesz, ph.p_offset) !=
		    (ssize_t)ph.p_filesz) {
			free(*interp);
			*interp = NULL;
			return -EIO;
		}
		return 0;
	}
	return 0;
}

int elf_interpreter(const char *path, char **interp)
{
	*interp = NULL;
	return elf_read(path, read_interp, interp);
}
