// SPDX-License-Identifier: GPL-2.0
/* The dynamic linker an executable asks for (its PT_INTERP segment). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym/sym.h"

static int read_interp(Elf *elf, int fd, char **interp)
{
	size_t nphdr;
	GElf_Phdr ph;

	if (elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nphdr))
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
	Elf *elf;
	int fd, err;

	*interp = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	err = elf ? read_interp(elf, fd, interp) : -ENOEXEC;
	elf_end(elf);
	close(fd);
	return err;
}
