// SPDX-License-Identifier: GPL-2.0
/* Where an object defines functions, as file offsets (uprobe targets). */
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sym/sym.h"
#include "sym/sym_int.h"

#define VERSYM_HIDDEN 0x8000	/* binutils' name; not in <elf.h> */

/* How well a symbol answers a name; a better match replaces a worse one. */
enum match {
	MATCH_NONE,
	MATCH_HIDDEN,	/* a non-default version: "name@VER", hidden versym */
	MATCH_DEFAULT,	/* "name", "name@@VER": what a caller links to */
	MATCH_FINAL,	/* found in .dynsym: .symtab only fills gaps */
};

/*
 * Rust's allocator shim (__rust_alloc, __rg_alloc, __rdl_alloc …) is the
 * item __rustc::__rust_alloc in rustc 1.9x: mangled v0
 * (_RNvCs…_7___rustc12___rust_alloc) or legacy
 * (_ZN7__rustc12__rust_alloc17h…E). Its name in *@len bytes at the
 * returned pointer, or NULL for any other symbol.
 */
static const char *rustc_item(const char *sym, size_t *len)
{
	const char *p = NULL;
	char *end;
	unsigned long n;

	if (!strncmp(sym, "_RNv", 4) && (p = strstr(sym, "7___rustc"))) {
		n = strtoul(p + 9, &end, 10);
		/* a name that starts with "_" takes a "_" separator */
		if (end == p + 9 || *end != '_' || strlen(end + 1) != n)
			return NULL;
		*len = n;
		return end + 1;
	}
	if (!strncmp(sym, "_ZN7__rustc", 11)) {
		n = strtoul(sym + 11, &end, 10);
		if (end == sym + 11 || strlen(end) <= n)
			return NULL;
		*len = n;
		return end;
	}
	return NULL;
}

const char *sym_linked_name(const char *sym, size_t *len)
{
	const char *item = rustc_item(sym, len);
	const char *at;

	if (item)
		return item;
	at = strchr(sym, '@');
	*len = at ? (size_t)(at - sym) : strlen(sym);
	return sym;
}

/* The shim's symbols are local to the object that has them (a Rust
 * executable, each Rust cdylib): the only local symbols that count. */
static bool is_rustc_shim(const char *want)
{
	return !strncmp(want, "__rust_", 7) || !strncmp(want, "__rg_", 5) ||
	       !strncmp(want, "__rdl_", 6);
}

/*
 * .dynsym names carry no version: it is in the parallel .gnu.version
 * (@versym, may be NULL), hidden bit set for non-default versions. .symtab
 * names spell it out: "malloc@@GLIBC_2.2.5", "memcpy@GLIBC_2.2.5".
 */
static enum match match_name(const char *sym, const char *want,
			     Elf_Data *versym, size_t ndx)
{
	size_t len = strlen(want), ilen;
	const char *item;
	GElf_Versym vs;

	if (is_rustc_shim(want) && (item = rustc_item(sym, &ilen)))
		return ilen == len && !strncmp(item, want, len) ?
			MATCH_DEFAULT : MATCH_NONE;
	if (strncmp(sym, want, len))
		return MATCH_NONE;
	if (sym[len] == '@')
		return sym[len + 1] == '@' ? MATCH_DEFAULT : MATCH_HIDDEN;
	if (sym[len])
		return MATCH_NONE;
	if (versym && gelf_getversym(versym, ndx, &vs) && (vs & VERSYM_HIDDEN))
		return MATCH_HIDDEN;
	return MATCH_DEFAULT;
}

/* uprobes take file offsets: find the PT_LOAD segment holding @vaddr. */
static uint64_t vaddr_to_offset(Elf *elf, uint64_t vaddr)
{
	size_t nphdr;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &nphdr))
		return 0;
	for (size_t i = 0; i < nphdr; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz)
			return vaddr - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

static bool is_defined_function(const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);

	return sym->st_shndx != SHN_UNDEF && sym->st_value &&
	       (type == STT_FUNC || type == STT_GNU_IFUNC);
}

static bool is_local(const GElf_Sym *sym)
{
	return GELF_ST_BIND(sym->st_info) == STB_LOCAL;
}

/* The section of @type in @elf, and the versym data that goes with it. */
static Elf_Scn *find_symtab(Elf *elf, GElf_Word type, Elf_Data **versym)
{
	Elf_Scn *scn = NULL, *found = NULL;
	GElf_Shdr sh;

	*versym = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == type)
			found = scn;
		else if (sh.sh_type == SHT_GNU_versym && type == SHT_DYNSYM)
			*versym = elf_getdata(scn, NULL);
	}
	return found;
}

/* Improve on the matches in @best from one symbol table. */
static void scan_symtab(Elf *elf, GElf_Word type, const char *const *names,
			size_t n, uint64_t *offsets, enum match *best)
{
	Elf_Data *data, *versym;
	Elf_Scn *scn;
	GElf_Shdr sh;
	GElf_Sym sym;
	const char *name;
	enum match m;
	uint64_t off;

	scn = find_symtab(elf, type, &versym);
	if (!scn || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return;
	data = elf_getdata(scn, NULL);
	if (!data)
		return;
	for (size_t ndx = 0; ndx < sh.sh_size / sh.sh_entsize; ndx++) {
		if (!gelf_getsym(data, ndx, &sym) || !is_defined_function(&sym))
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (is_local(&sym) && !is_rustc_shim(names[i]))
				continue;
			m = match_name(name, names[i], versym, ndx);
			if (m <= best[i])
				continue;
			off = vaddr_to_offset(elf, sym.st_value);
			if (!off)
				continue;
			offsets[i] = off;
			best[i] = m;
		}
	}
}

static int find_functions(Elf *elf, const char *const *names, size_t n,
			  uint64_t *offsets)
{
	enum match *best;
	int found = 0;

	best = calloc(n ? n : 1, sizeof(*best));
	if (!best)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		offsets[i] = 0;
	scan_symtab(elf, SHT_DYNSYM, names, n, offsets, best);
	for (size_t i = 0; i < n; i++)
		if (best[i] != MATCH_NONE)
			best[i] = MATCH_FINAL;
	scan_symtab(elf, SHT_SYMTAB, names, n, offsets, best);
	for (size_t i = 0; i < n; i++)
		found += best[i] != MATCH_NONE;
	free(best);
	return found;
}

struct find_args {
	const char *const *names;
	size_t n;
	uint64_t *offsets;
};

static int find_in(Elf *elf, int fd, void *ctx)
{
	const struct find_args *a = ctx;

	(void)fd;
	return find_functions(elf, a->names, a->n, a->offsets);
}

int elf_find_functions(const char *path, const char *const *names, size_t n,
		       uint64_t *offsets)
{
	struct find_args a = { names, n, offsets };

	return elf_read(path, find_in, &a);
}
