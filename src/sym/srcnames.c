// SPDX-License-Identifier: GPL-2.0
/*
 * Source file names as a line table records them. valgrind prints a file
 * entry's name without its directory entry ("alloc.rs" with directory
 * ".../library/alloc/src", but "library/alloc/src/alloc.rs" with directory
 * "/rustc/<hash>"); Rust frames print the two joined, and libdw only gives
 * them joined with the compilation directory too, so the tables of each
 * CU's .debug_line header (DWARF 2 to 5) are read here. The names point
 * into the sections, which live as long as the Dwarf.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sym/sym_int.h"

struct src_file {
	const char *name;	/* NULL: not known */
	const char *dir;	/* its directory entry; NULL: none */
	char *path;		/* dir/name, made when first asked for */
};

struct cu_files {
	Dwarf_Off cu;		/* the CU DIE's offset */
	struct src_file *files;	/* by file index */
	size_t n;
	const char *base;	/* what relative paths are printed after */
};

/* A table's directories, by index. */
struct dirs {
	const char **v;
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
 * NULL for everything else; the number in *@num for constant forms. */
static const char *read_form(struct reader *r, uint64_t form, int offsize,
			     const struct sections *s, uint64_t *num)
{
	switch (form) {
	case DW_FORM_string:
		return read_cstr(r);
	case DW_FORM_line_strp:
		return str_at(s->line_str, read_fixed(r, offsize));
	case DW_FORM_strp:
		return str_at(s->str, read_fixed(r, offsize));
	case DW_FORM_udata:
		*num = read_uleb(r);
		return NULL;
	case DW_FORM_data1:
	case DW_FORM_data2:
	case DW_FORM_data4:
	case DW_FORM_data8:
		*num = read_fixed(r, data_size(form));
		return NULL;
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

/* Directory @idx of @dirs, or NULL. */
static const char *dir_at(const struct src_file *dirs, size_t ndirs,
			  uint64_t idx)
{
	return idx < ndirs ? dirs[idx].name : NULL;
}

/* DWARF 5: a directory table (@dirs NULL) or a file table, whose entries
 * name their directories in @dirs. Entries into *@out; returns how many. */
static size_t read_table5(struct reader *r, int offsize,
			  const struct sections *s, const struct src_file *dirs,
			  size_t ndirs, struct src_file **out)
{
	uint64_t fmt[16][2], count, num, dir;
	int nfmt = read_fixed(r, 1);
	const char *path, *v;

	*out = NULL;
	if (nfmt > 16)
		r->bad = true;
	for (int i = 0; i < nfmt && !r->bad; i++) {
		fmt[i][0] = read_uleb(r);
		fmt[i][1] = read_uleb(r);
	}
	count = read_uleb(r);
	if (r->bad || count > (uint64_t)(r->end - r->p))
		return 0;
	*out = calloc(count ? count : 1, sizeof(**out));
	if (!*out)
		return 0;
	for (uint64_t k = 0; k < count && !r->bad; k++) {
		path = NULL;
		dir = UINT64_MAX;
		for (int i = 0; i < nfmt; i++) {
			num = UINT64_MAX;
			v = read_form(r, fmt[i][1], offsize, s, &num);
			if (fmt[i][0] == DW_LNCT_path)
				path = v;
			else if (fmt[i][0] == DW_LNCT_directory_index)
				dir = num;
		}
		(*out)[k].name = path;
		(*out)[k].dir = dirs ? dir_at(dirs, ndirs, dir) : NULL;
	}
	return count;
}

/* Appends to the array at *@v of *@n entries (*@cap allocated): false
 * when out of memory. */
static bool append(struct src_file **v, size_t *n, size_t *cap,
		   const char *name, const char *dir)
{
	struct src_file *nv;

	if (*n == *cap) {
		nv = realloc(*v, 2 * *cap * sizeof(*nv));
		if (!nv)
			return false;
		*v = nv;
		*cap *= 2;
	}
	(*v)[(*n)++] = (struct src_file){ name, dir, NULL };
	return true;
}

/*
 * DWARF 2 to 4: the include directories (1..n; 0 is the compilation's
 * own, which has no entry), then file entries 1..n. Returns how many file
 * entries *@out has, 0 included.
 */
static size_t read_table4(struct reader *r, struct src_file **out)
{
	size_t nd = 1, capd = 16, n = 1, cap = 16;
	struct src_file *dirs = calloc(capd, sizeof(*dirs));
	const char *name;
	uint64_t dir;
	bool ok = true;

	*out = calloc(cap, sizeof(**out));
	if (!dirs || !*out) {
		free(dirs);
		free(*out);
		*out = NULL;
		return 0;
	}
	while (ok && (name = read_cstr(r)) && *name)
		ok = append(&dirs, &nd, &capd, name, NULL);
	while (ok && !r->bad && (name = read_cstr(r)) && *name) {
		dir = read_uleb(r);
		read_uleb(r);	/* mtime */
		read_uleb(r);	/* length */
		ok = append(out, &n, &cap, name, dir_at(dirs, nd, dir));
	}
	free(dirs);
	return n;
}

static size_t read_file_names(const struct sections *s, Dwarf_Off off,
			      struct src_file **out)
{
	struct reader r = { .p = (const uint8_t *)s->line->d_buf + off,
			    .end = (const uint8_t *)s->line->d_buf +
				   s->line->d_size };
	int offsize = 4, version;
	struct src_file *dirs;
	size_t ndirs, n;
	uint64_t len;

	*out = NULL;
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
		return read_table4(&r, out);
	ndirs = read_table5(&r, offsize, s, NULL, 0, &dirs);
	if (!dirs)
		return 0;
	n = read_table5(&r, offsize, s, dirs, ndirs, out);
	free(dirs);
	return n;
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

/*
 * A compilation that names its crate root (DW_AT_name, "/rustc/HASH/
 * library/std/src/lib.rs/@/std.HASH-cgu.0") by an absolute path names its
 * files by absolute paths (file!()): its relative ones are after the
 * compilation directory. One that was given a relative root ("src/main.rs"
 * as cargo passes it) keeps them relative, as rustc was given them.
 */
static const char *base_dir(Dwarf_Die *cu)
{
	Dwarf_Attribute attr;
	const char *name = dwarf_diename(cu);

	if (!name || name[0] != '/')
		return NULL;
	return dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
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

	c->files = NULL;
	c->n = 0;
	c->base = base_dir(cu);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) ||
	    dwarf_formudata(dwarf_attr(cu, DW_AT_stmt_list, &attr), &stmt))
		return;
	s.line = section_data(elf, shstrndx, ".debug_line");
	s.line_str = section_data(elf, shstrndx, ".debug_line_str");
	s.str = section_data(elf, shstrndx, ".debug_str");
	if (!s.line || stmt >= s.line->d_size)
		return;
	c->n = read_file_names(&s, stmt, &c->files);
	if (!c->files)
		c->n = 0;
}

/* File @idx of @cu's line table, or NULL; *@cf: its CU's files. */
static struct src_file *file_at(struct srcnames *s, Dwarf_Die *cu, size_t idx,
				const struct cu_files **cf)
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
	*cf = c;
	return idx < c->n && c->files[idx].name ? &c->files[idx] : NULL;
}

const char *srcnames_find(struct srcnames *s, Dwarf_Die *cu, size_t idx)
{
	const struct cu_files *c;
	struct src_file *f = file_at(s, cu, idx, &c);

	return f ? f->name : NULL;
}

/* "@a/@b", "@b" alone when @a is NULL or empty or @b is absolute. */
static bool join(const char *a, const char *b, char **out)
{
	if (!a || !*a || b[0] == '/')
		return (*out = strdup(b)) != NULL;
	return asprintf(out, "%s/%s", a, b) >= 0;
}

const char *srcnames_path(struct srcnames *s, Dwarf_Die *cu, size_t idx)
{
	const struct cu_files *c;
	struct src_file *f = file_at(s, cu, idx, &c);
	char *rel;

	if (!f || f->path)
		return f ? f->path : NULL;
	if (!join(f->dir, f->name, &rel))
		return NULL;
	if (rel[0] == '/' || !c->base) {
		f->path = rel;
		return rel;
	}
	if (!join(c->base, rel, &f->path))
		f->path = NULL;
	free(rel);
	return f->path;
}

void srcnames_free(struct srcnames *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->v[i].n; j++)
			free(s->v[i].files[j].path);
		free(s->v[i].files);
	}
	free(s->v);
	*s = (struct srcnames){ 0 };
}
