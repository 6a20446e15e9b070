// SPDX-License-Identifier: GPL-2.0
/*
 * An object's code as an instruction decoder looks at it: its bytes by
 * address, the function symbols starting at an address, and the symbol
 * a GOT slot is relocated against (what a PLT stub, or a `call *slot` of
 * code built with -fno-plt, reaches). Addresses are the object's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym/sym_int.h"

struct code_sym {
	uint64_t addr;
	uint64_t size;
	const char *name;
};

struct elf_code {
	int fd;
	Elf *elf;
	const uint8_t *raw;
	size_t raw_size;
	GElf_Phdr *loads;
	size_t nloads;
	struct code_sym *funcs;	/* by address */
	size_t nfuncs;
	struct code_sym *slots;	/* GOT slots, by address */
	size_t nslots;
};

static int sym_push(struct code_sym **v, size_t *n, uint64_t addr,
		    uint64_t size, const char *name)
{
	struct code_sym *grown;

	if (!(*n & (*n + 1))) {	/* n + 1 a power of two: double */
		grown = realloc(*v, (2 * *n + 1) * sizeof(**v));
		if (!grown)
			return -ENOMEM;
		*v = grown;
	}
	(*v)[(*n)++] = (struct code_sym){ addr, size, name };
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct code_sym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

static int read_loads(struct elf_code *c)
{
	size_t nphdr;
	GElf_Phdr ph;

	if (elf_getphdrnum(c->elf, &nphdr))
		return -ENOEXEC;
	c->loads = calloc(nphdr ? nphdr : 1, sizeof(*c->loads));
	if (!c->loads)
		return -ENOMEM;
	for (size_t i = 0; i < nphdr; i++)
		if (gelf_getphdr(c->elf, i, &ph) && ph.p_type == PT_LOAD &&
		    ph.p_offset + ph.p_filesz <= c->raw_size)
			c->loads[c->nloads++] = ph;
	return 0;
}

static int read_functions(struct elf_code *c, Elf_Scn *scn,
			  const GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	const char *name;
	GElf_Sym sym;
	int type, err = 0;

	for (size_t i = 0; data && i < sh->sh_size / sh->sh_entsize && !err;
	     i++) {
		if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		name = elf_strptr(c->elf, sh->sh_link, sym.st_name);
		if (name && *name)
			err = sym_push(&c->funcs, &c->nfuncs, sym.st_value,
				       sym.st_size, name);
	}
	return err;
}

/* The slots of one relocation section against the dynamic symbols. */
static int read_slots(struct elf_code *c, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL), *syms;
	Elf_Scn *symscn = elf_getscn(c->elf, sh->sh_link);
	GElf_Shdr symsh;
	const char *name;
	GElf_Rela rela;
	GElf_Sym sym;
	int err = 0;

	if (!data || !symscn || !gelf_getshdr(symscn, &symsh))
		return 0;
	syms = elf_getdata(symscn, NULL);
	for (size_t i = 0; syms && i < sh->sh_size / sh->sh_entsize && !err;
	     i++) {
		if (!gelf_getrela(data, i, &rela))
			continue;
		if (GELF_R_TYPE(rela.r_info) != R_X86_64_JUMP_SLOT &&
		    GELF_R_TYPE(rela.r_info) != R_X86_64_GLOB_DAT)
			continue;
		if (!gelf_getsym(syms, GELF_R_SYM(rela.r_info), &sym))
			continue;
		name = elf_strptr(c->elf, symsh.sh_link, sym.st_name);
		if (name && *name)
			err = sym_push(&c->slots, &c->nslots, rela.r_offset, 0,
				       name);
	}
	return err;
}

static int read_sections(struct elf_code *c)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int err = 0;

	while (!err && (scn = elf_nextscn(c->elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize)
			continue;
		if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)
			err = read_functions(c, scn, &sh);
		else if (sh.sh_type == SHT_RELA)
			err = read_slots(c, scn, &sh);
	}
	if (c->funcs)
		qsort(c->funcs, c->nfuncs, sizeof(*c->funcs), by_addr);
	if (c->slots)
		qsort(c->slots, c->nslots, sizeof(*c->slots), by_addr);
	return err;
}

int elf_code_open(const char *path, struct elf_code **out)
{
	struct elf_code *c;
	int err;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0) {
		err = -errno;
		free(c);
		return err;
	}
	c->elf = elf_begin(c->fd, ELF_C_READ_MMAP, NULL);
	if (c->elf && elf_kind(c->elf) == ELF_K_ELF)
		c->raw = (const uint8_t *)elf_rawfile(c->elf, &c->raw_size);
	err = c->raw ? read_loads(c) : -ENOEXEC;
	if (!err)
		err = read_sections(c);
	if (err) {
		elf_code_close(c);
		return err;
	}
	*out = c;
	return 0;
}

void elf_code_close(struct elf_code *c)
{
	if (!c)
		return;
	free(c->loads);
	free(c->funcs);
	free(c->slots);
	elf_end(c->elf);
	close(c->fd);
	free(c);
}

uint64_t elf_code_addr(const struct elf_code *c, uint64_t offset)
{
	for (size_t i = 0; i < c->nloads; i++) {
		const GElf_Phdr *ph = &c->loads[i];

		if (offset >= ph->p_offset && offset < ph->p_offset + ph->p_filesz)
			return offset - ph->p_offset + ph->p_vaddr;
	}
	return 0;
}

const uint8_t *elf_code_bytes(const struct elf_code *c, uint64_t addr,
			      size_t *avail)
{
	for (size_t i = 0; i < c->nloads; i++) {
		const GElf_Phdr *ph = &c->loads[i];

		if (addr >= ph->p_vaddr && addr < ph->p_vaddr + ph->p_filesz) {
			*avail = ph->p_vaddr + ph->p_filesz - addr;
			return c->raw + ph->p_offset + (addr - ph->p_vaddr);
		}
	}
	*avail = 0;
	return NULL;
}

/* The first of @v[n] at @addr, or n. */
static size_t first_at(const struct code_sym *v, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].addr == addr ? lo : n;
}

const char *elf_code_function(const struct elf_code *c, uint64_t addr,
			      size_t nth, uint64_t *size)
{
	size_t i = first_at(c->funcs, c->nfuncs, addr);

	if (i == c->nfuncs || i + nth >= c->nfuncs ||
	    c->funcs[i + nth].addr != addr)
		return NULL;
	if (size)
		*size = c->funcs[i + nth].size;
	return c->funcs[i + nth].name;
}

const char *elf_code_slot(const struct elf_code *c, uint64_t addr)
{
	size_t i = first_at(c->slots, c->nslots, addr);

	return i < c->nslots ? c->slots[i].name : NULL;
}
