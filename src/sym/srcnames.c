// SPDX-License-Identifier: GPL-2.0
/*
 * Source file names as a line table records them. valgrind prints a file
 * entry's name without its directory entry ("alloc.rs" with directory
 * ".../library/alloc/src", but "library/alloc/src/alloc.rs" with directory
 * "/rustc/<hash>"); libdw only gives the two joined, so the file table of
 * each CU's .debug_line header (DWARF 2 to 5) is read here. The names point
 * into the sections, which live as long as the Dwarf.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sym/sym_int.h"

struct cu_files {
	Dwarf_Off cu;		/* the CU DIE's offset */
	const char **names;	/* by file index; NULL: not known */
	size_t n;
};

struct sections {
	Elf_Data *line, *line_str, *str;
};

struct reader {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t read_fixed(struct reader *r, size_t len)
{
	uint64_t v = 0;

	if (r->bad || (size_t)(r->end - r->p) < len) {
		r->bad = true;
		return 0;
	}
	for (size_t i = 0; i < len; i++)	/* little-endian: x86-64 */
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += len;
	return v;
}

static void skip(struct reader *r, uint64_t len)
{
	if (r->bad || (uint64_t)(r->end - r->p) < len)
		r->bad = true;
	else
		r->p += len;
}

static uint64_t read_uleb(struct reader *r)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		b = read_fixed(r, 1);
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80 && !r->bad);
	return v;
}

static const char *read_cstr(struct reader *r)
{
	const char *s = (const char *)r->p;
	const uint8_t *nul = r->bad ? NULL : memchr(r->p, 0, r->end - r->p);

	if (!nul) {
		r->bad = true;
		return NULL;
	}
	r->p = nul + 1;
	return s;
}

/* The string at offset @off of @d, or NULL. */
static const char *str_at(const Elf_Data *d, uint64_t off)
{
	if (!d || off >= d->d_size || !memchr((char *)d->d_buf + off, 0,
					      d->d_size - off))
		return NULL;
	return (const char *)d->d_buf + off;
}

static size_t data_size(uint64_t form)
{
	switch (form) {
	case DW_FORM_data1:
		return 1;
	case DW_FORM_data2:
		return 2;
	case DW_FORM_data4:
		return 4;
	case DW_FORM_data8:
		return 8;
	default:
		return 16;	/* DW_FORM_data16 */
	}
}

/* One attribute value of a DWARF 5 entry: the string for path forms,
 * NULL for everything else (skipped). */
static const char *read_form(struct reader *r, uint64_t form, int offsize,
			     const struct sections *s)
{
	switch (form) {
	case DW_FORM_string:
		return read_cstr(r);
	case DW_FORM_line_strp:
		return str_at(s->line_str, read_fixed(r, offsize));
	case DW_FORM_strp:
		return str_at(s->str, read_fixed(r, offsize));
	case DW_FORM_udata:
		read_uleb(r);
		return NULL;
	case DW_FORM_data1:
	case DW_FORM_data2:
	case DW_FORM_data4:
	case DW_FORM_data8:
	case DW_FORM_data16:
		skip(r, data_size(form));
		return NULL;
	case DW_FORM_block:
		skip(r, read_uleb(r));
		return NULL;
	default:		/* strx and others: not in line tables we know */
		r->bad = true;
		return NULL;
	}
}

/* DWARF 5: a directory or file table; with @names, each entry's path. */
static size_t read_table5(struct reader *r, int offsize,
			  const struct sections *s, const char ***names)
{
	uint64_t fmt[16][2], count;
	int nfmt = read_fixed(r, 1);
	const char *path, *v;

	if (nfmt > 16)
		r->bad = true;
	for (int i = 0; i < nfmt && !r->bad; i++) {
		fmt[i][0] = read_uleb(r);
		fmt[i][1] = read_uleb(r);
	}
	count = read_uleb(r);
	if (r->bad || count > (uint64_t)(r->end - r->p))
		return 0;
	if (names) {
		*names = calloc(count ? count : 1, sizeof(**names));
		if (!*names)
			return 0;
	}
	for (uint64_t k = 0; k < count && !r->bad; k++) {
		path = NULL;
		for (int i = 0; i < nfmt; i++) {
			v = read_form(r, fmt[i][1], offsize, s);
			if (fmt[i][0] == DW_LNCT_path)
				path = v;
		}
		if (names)
			(*names)[k] = path;
	}
	return count;
}

/* DWARF 2 to 4: file entries 1..n after the include directories. */
static size_t read_table4(struct reader *r, const char ***names)
{
	size_t n = 1, cap = 16;
	const char *name, **v;

	while ((name = read_cstr(r)) && *name)	/* include directories */
		;
	*names = calloc(cap, sizeof(**names));
	if (!*names)
		return 0;
	while (!r->bad && (name = read_cstr(r)) && *name) {
		read_uleb(r);	/* directory index */
		read_uleb(r);	/* mtime */
		read_uleb(r);	/* length */
		if (n == cap) {
			v = realloc(*names, 2 * cap * sizeof(*v));
			if (!v)
				break;
			*names = v;
			cap *= 2;
		}
		(*names)[n++] = name;
	}
	return n;
}

static size_t read_file_names(const struct sections *s, Dwarf_Off off,
			      const char ***names)
{
	struct reader r = { .p = (const uint8_t *)s->line->d_buf + off,
			    .end = (const uint8_t *)s->line->d_buf +
				   s->line->d_size };
	int offsize = 4, version;
	uint64_t len;

	*names = NULL;
	len = read_fixed(&r, 4);
	if (len == 0xffffffff) {
		offsize = 8;
		len = read_fixed(&r, 8);
	}
	if (r.bad || len > (uint64_t)(r.end - r.p))
		return 0;
	r.end = r.p + len;
	version = read_fixed(&r, 2);
	if (version < 2 || version > 5)
		return 0;
	if (version == 5)
		read_fixed(&r, 2);	/* address, segment selector sizes */
	read_fixed(&r, offsize);	/* header_length */
	read_fixed(&r, version >= 4 ? 5 : 4);	/* min_inst .. line_range */
	skip(&r, read_fixed(&r, 1) - 1);	/* standard_opcode_lengths */
	if (r.bad)
		return 0;
	if (version < 5)
		return read_table4(&r, names);
	read_table5(&r, offsize, s, NULL);	/* directories */
	return read_table5(&r, offsize, s, names);
}

static Elf_Data *section_data(Elf *elf, size_t shstrndx, const char *want)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	const char *name;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, want))
			return elf_getdata(scn, NULL);
	}
	return NULL;
}

/* Fills @c; a CU whose table cannot be read gets none (n == 0). */
static void load_cu(struct cu_files *c, Dwarf_Die *cu)
{
	Dwarf *dw = dwarf_cu_getdwarf(cu->cu);
	Elf *elf = dw ? dwarf_getelf(dw) : NULL;
	struct sections s;
	Dwarf_Attribute attr;
	Dwarf_Word stmt;
	size_t shstrndx;

	c->names = NULL;
	c->n = 0;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) ||
	    dwarf_formudata(dwarf_attr(cu, DW_AT_stmt_list, &attr), &stmt))
		return;
	s.line = section_data(elf, shstrndx, ".debug_line");
	s.line_str = section_data(elf, shstrndx, ".debug_line_str");
	s.str = section_data(elf, shstrndx, ".debug_str");
	if (!s.line || stmt >= s.line->d_size)
		return;
	c->n = read_file_names(&s, stmt, &c->names);
	if (!c->names)
		c->n = 0;
}

const char *srcnames_find(struct srcnames *s, Dwarf_Die *cu, size_t idx)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	struct cu_files *c = NULL, *v;

	for (size_t i = 0; i < s->n && !c; i++)
		if (s->v[i].cu == off)
			c = &s->v[i];
	if (!c) {
		if (s->n == s->cap) {
			v = realloc(s->v, (s->cap ? 2 * s->cap : 16) * sizeof(*v));
			if (!v)
				return NULL;
			s->v = v;
			s->cap = s->cap ? 2 * s->cap : 16;
		}
		c = &s->v[s->n++];
		c->cu = off;
		load_cu(c, cu);
	}
	return idx < c->n ? c->names[idx] : NULL;
}

void srcnames_free(struct srcnames *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].names);
	free(s->v);
	*s = (struct srcnames){ 0 };
}
