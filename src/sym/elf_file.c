// SPDX-License-Identifier: GPL-2.0
/* Opening an object file as ELF for one look at it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sym/sym_int.h"

int elf_read(const char *path, elf_reader fn, void *ctx)
{
	Elf *elf;
	int fd, ret;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	ret = elf && elf_kind(elf) == ELF_K_ELF ? fn(elf, fd, ctx) : -ENOEXEC;
	elf_end(elf);
	close(fd);
	return ret;
}

char *elf_build_id_hex(Elf *elf)
{
	const unsigned char *id;
	ssize_t n = dwelf_elf_gnu_build_id(elf, (const void **)&id);
	char *hex;

	if (n <= 0)
		return NULL;
	hex = malloc(2 * n + 1);
	for (ssize_t i = 0; hex && i < n; i++)
		sprintf(hex + 2 * i, "%02x", id[i]);
	return hex;
}
