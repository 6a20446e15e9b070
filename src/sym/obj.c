// SPDX-License-Identifier: GPL-2.0
/*
 * One ELF object of the process, described with libdwfl.
 *
 * Each object has a Dwfl of its own where it is reported at bias 0: dwfl
 * addresses are the file's own virtual addresses. sym.c turns a process
 * address into a file offset through its mapping; the object's PT_LOAD
 * segments turn that into a virtual address. So nothing depends on where
 * the object was loaded (PIE, shared library and ET_EXEC alike), the
 * executable mapping alone is enough, and an object stays usable after the
 * process unmapped it or exited.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sym/sym.h"
#include "sym/sym_int.h"

/* Namespaces and types around a function definition, at most. */
#define MAX_NESTING 16

struct seg {
	uint64_t off, filesz, vaddr;
};

struct obj {
	char *path;		/* as the process names it: printed */
	char *file;		/* as dwfl names it: where debuglinks are */
	char *build_id;		/* lowercase hex, or NULL */
	int fd;			/* -1, or ours until dwfl takes it over */
	dev_t dev;		/* the file opened: 0 when none */
	ino_t ino;
	bool loaded;		/* obj_load() was tried */
	Dwfl *dwfl;
	Dwfl_Module *mod;	/* NULL: not ELF or unreadable */
	struct seg *segs;
	size_t nsegs;
	struct funcs funcs;
	struct cus cus;
	struct srcnames srcnames;
};

/* One frame before it is printed. */
struct loc {
	const char *fn;		/* NULL: "???" */
	char *own;		/* fn when it is ours to free */
	const char *file;	/* as printed; NULL: no line info, print the object */
	const char *path;	/* libdw's name of it, with directories */
	int line, col;
	bool rust;		/* of a Rust CU: printed as dhat-rs prints */
};

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	/* .gnu_debuglink and /usr/lib/debug/.build-id */
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/*
 * Opened now, while the process (and its /proc/PID/root, for another mount
 * namespace, or its map_files for a deleted file) still exists. dwfl looks
 * for debuglinks next to the name it is given: the plain path when it is
 * the same file.
 */
static int open_file(struct obj *o, pid_t pid, uint64_t start, uint64_t end)
{
	char *name = sym_mapped_file(pid, o->path, start, end);

	if (!name)
		return -ENOMEM;
	o->fd = open(name, O_RDONLY | O_CLOEXEC);
	if (o->fd >= 0 && strcmp(name, o->path) && !same_file(o->fd, o->path)) {
		o->file = name;
		return 0;
	}
	free(name);
	if (o->fd < 0)
		o->fd = open(o->path, O_RDONLY | O_CLOEXEC);
	o->file = strdup(o->path);
	return o->file ? 0 : -ENOMEM;
}

/* The build id, read now that the file is open: pprof finds the object
 * by it. An object without one (or not ELF) has none. */
static int read_build_id(struct obj *o)
{
	Elf *elf;

	if (o->fd < 0 || elf_version(EV_CURRENT) == EV_NONE)
		return 0;
	elf = elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
	if (elf)
		o->build_id = elf_build_id_hex(elf);
	elf_end(elf);
	return 0;
}

struct obj *obj_open(const char *path, pid_t pid, uint64_t start,
		     uint64_t end)
{
	struct obj *o = calloc(1, sizeof(*o));
	struct stat st;

	if (!o)
		return NULL;
	o->fd = -1;
	o->path = strdup(path);
	if (!o->path || open_file(o, pid, start, end) || read_build_id(o)) {
		obj_free(o);
		return NULL;
	}
	if (o->fd >= 0 && !fstat(o->fd, &st)) {
		o->dev = st.st_dev;
		o->ino = st.st_ino;
	}
	return o;
}

void obj_free(struct obj *o)
{
	if (!o)
		return;
	if (o->dwfl)
		dwfl_end(o->dwfl);
	if (o->fd >= 0)
		close(o->fd);
	free(o->segs);
	funcs_free(&o->funcs);
	cus_free(&o->cus);
	srcnames_free(&o->srcnames);
	free(o->file);
	free(o->build_id);
	free(o->path);
	free(o);
}

const char *obj_path(const struct obj *o)
{
	return o->path;
}

bool obj_is(const struct obj *o, const char *path, dev_t dev, ino_t ino)
{
	return o->dev == dev && o->ino == ino && !strcmp(o->path, path);
}

const char *obj_build_id(const struct obj *o)
{
	return o->build_id;
}

static int read_segs(struct obj *o, Dwfl_Module *mod)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t nphdr;
	GElf_Phdr ph;

	if (!elf || elf_getphdrnum(elf, &nphdr))
		return -ENOEXEC;
	o->segs = calloc(nphdr ? nphdr : 1, sizeof(*o->segs));
	if (!o->segs)
		return -ENOMEM;
	for (size_t i = 0; i < nphdr; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		o->segs[o->nsegs++] = (struct seg){ ph.p_offset, ph.p_filesz,
						    ph.p_vaddr };
	}
	return 0;
}

/* Lazily: most objects of a process never appear in a stack. */
static void obj_load(struct obj *o)
{
	Dwfl_Module *mod;

	o->loaded = true;
	if (o->fd < 0)
		return;
	o->dwfl = dwfl_begin(&callbacks);
	if (!o->dwfl)
		return;
	dwfl_report_begin(o->dwfl);
	/* base 0, add p_vaddr: bias 0 for ET_DYN, and ET_EXEC has none */
	mod = dwfl_report_elf(o->dwfl, o->path, o->file, o->fd, 0, true);
	dwfl_report_end(o->dwfl, NULL, NULL);
	if (!mod)
		return;		/* the fd is still ours */
	o->fd = -1;
	if (!read_segs(o, mod) && !funcs_build(&o->funcs, mod) &&
	    !cus_build(&o->cus, mod))
		o->mod = mod;
}

static bool off_to_vaddr(const struct obj *o, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < o->nsegs; i++) {
		const struct seg *s = &o->segs[i];

		if (off >= s->off && off < s->off + s->filesz) {
			*vaddr = off - s->off + s->vaddr;
			return true;
		}
	}
	return false;
}

/* DW_AT_name through abstract origin and specification: valgrind names
 * inlined functions by it, unqualified and not demangled (Rust's are
 * named by rust_fn_name()). */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;

	return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
}

/* The DIEs that can hold the code of an inlined call. */
static bool is_code_scope(int tag)
{
	switch (tag) {
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_lexical_block:
	case DW_TAG_entry_point:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_with_stmt:
		return true;
	default:
		return false;
	}
}

/* DIEs that hold functions without holding code: Rust and C++ nest
 * function definitions in namespaces and types. */
static bool is_container(int tag)
{
	switch (tag) {
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
	case DW_TAG_enumeration_type:
		return true;
	default:
		return false;
	}
}

/* The child of @parent (looking through containers, @depth deep at most)
 * that is a code scope holding @pc: its tag, or 0 when there is none. */
static int scope_at(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *out,
		    int depth)
{
	Dwarf_Die child;
	int tag;

	if (dwarf_child(parent, &child))
		return 0;
	do {
		tag = dwarf_tag(&child);
		if (is_code_scope(tag) && dwarf_haspc(&child, pc) == 1) {
			*out = child;
			return tag;
		}
		if (depth && is_container(tag) &&
		    (tag = scope_at(&child, pc, out, depth - 1)))
			return tag;
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

/*
 * The inlined calls containing @pc in @cu, innermost first, up to (not
 * including) the real function. One walk down from the CU through the
 * scopes holding the address: dwarf_getscopes() + dwarf_getscopes_die()
 * would visit every DIE of the CU up to it, twice.
 */
static int inlined_calls(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die *inl,
			 int max)
{
	Dwarf_Die die = *cu, tmp;
	int k = 0, tag;

	/* (at @max, the outer calls are the ones kept) */
	while (k < max && (tag = scope_at(&die, pc, &die, MAX_NESTING))) {
		/* inlined calls of an outer function (GNU C nested
		 * functions) are not this function's callers */
		if (tag == DW_TAG_subprogram)
			k = 0;
		else if (tag == DW_TAG_inlined_subroutine)
			inl[k++] = die;
	}
	for (int i = 0; i < k / 2; i++) {
		tmp = inl[i];
		inl[i] = inl[k - 1 - i];
		inl[k - 1 - i] = tmp;
	}
	return k;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* File @idx of @cu into @l: printed as valgrind prints it (the line
 * table's name), or for Rust as dhat-rs does (with the line table's
 * directory), and libdw's path. */
static void file_name(struct obj *o, Dwarf_Die *cu, Dwarf_Files *files,
		      size_t idx, struct loc *l)
{
	l->path = dwarf_filesrc(files, idx, NULL, NULL);
	if (l->rust)
		l->file = srcnames_path(&o->srcnames, cu, idx);
	else
		l->file = srcnames_find(&o->srcnames, cu, idx);
	if (!l->file && l->path)
		l->file = l->rust ? l->path : base_name(l->path);
}

/* Where @inl was called from; valgrind's "???" and 0 when unknown. */
static void call_site(struct obj *o, Dwarf_Die *cu, Dwarf_Die *inl,
		      Dwarf_Files *files, struct loc *l)
{
	Dwarf_Attribute attr;
	Dwarf_Word val;

	l->file = l->path = NULL;
	l->line = l->col = 0;
	if (files && !dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr),
				      &val))
		file_name(o, cu, files, val, l);
	if (!dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &val))
		l->line = (int)val;
	if (!dwarf_formudata(dwarf_attr(inl, DW_AT_call_column, &attr), &val))
		l->col = (int)val;
	if (!l->file)
		l->file = l->path = "???";
}

/* The line table's file:line for @pc (file NULL when there is none). */
static void line_of(struct obj *o, Dwarf_Die *cu, Dwarf_Addr pc,
		    struct loc *l)
{
	Dwarf_Line *line = dwarf_getsrc_die(cu, pc);
	Dwarf_Files *files;
	size_t idx;

	l->file = l->path = NULL;
	if (!line || dwarf_lineno(line, &l->line) || l->line < 0 ||
	    dwarf_line_file(line, &files, &idx))
		return;
	if (dwarf_linecol(line, &l->col) || l->col < 0)
		l->col = 0;
	file_name(o, cu, files, idx, l);
}

/* The name of inlined call @inl into @l: a Rust CU's with its path. */
static int inlined_name(Dwarf_Die *inl, struct loc *l)
{
	int err = 0;

	if (l->rust)
		err = rust_fn_name(inl, &l->own);
	l->fn = l->own ? l->own : die_name(inl);
	return err;
}

/* Fill @locs (innermost first) for @vaddr; @top names the real function.
 * Relative file names are relative to *@comp_dir (NULL when unknown).
 * Returns the number of frames (the caller frees the names they own), or
 * a negative errno. */
static int describe(struct obj *o, uint64_t vaddr, const char *top,
		    struct loc *locs, const char **comp_dir)
{
	Dwarf_Attribute attr;
	Dwarf_Die inl[SYM_MAX_INLINE - 1], *cu;
	Dwarf_Addr pc = vaddr - o->cus.bias;
	Dwarf_Files *files = NULL;
	bool rust = false;
	int n = 0, err = 0;

	cu = cus_find(&o->cus, pc);
	locs[0].file = NULL;
	*comp_dir = NULL;
	if (cu) {
		*comp_dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
		rust = dwarf_srclang(cu) == DW_LANG_Rust;
		n = inlined_calls(cu, pc, inl, SYM_MAX_INLINE - 1);
		if (n && dwarf_getsrcfiles(cu, &files, NULL))
			files = NULL;
	}
	for (int j = 0; j <= n; j++) {
		locs[j].rust = rust;
		locs[j].own = NULL;
	}
	if (cu)
		line_of(o, cu, pc, &locs[0]);
	for (int j = 0; j <= n && !err; j++) {
		if (j < n)
			err = inlined_name(&inl[j], &locs[j]);
		else
			locs[j].fn = top;
		if (j)
			call_site(o, cu, &inl[j - 1], files, &locs[j]);
	}
	if (!err)
		return n + 1;
	for (int j = 0; j <= n; j++)
		free(locs[j].own);
	return err;
}

static int intern(struct ftbl *t, uint64_t addr, const struct loc *l,
		  const char *objpath, const char *comp_dir,
		  struct sym_frame *parts, uint32_t *id)
{
	const char *fn = l->fn ? l->fn : "???";
	char *text, *path = NULL;
	int len, err;

	/* printed as the line table names it, in parts with directories */
	if (l->path && l->path[0] != '/' && comp_dir && comp_dir[0] == '/' &&
	    asprintf(&path, "%s/%s", comp_dir, l->path) < 0)
		return -ENOMEM;
	parts->function = l->fn;
	parts->file = path ? path : l->path;
	parts->line = l->file ? l->line : 0;
	parts->column = l->file ? l->col : 0;

	if (l->file && l->rust && l->col > 0)
		len = asprintf(&text, "0x%" PRIX64 ": %s (%s:%d:%d)", addr, fn,
			       l->file, l->line, l->col);
	else if (l->file)
		len = asprintf(&text, "0x%" PRIX64 ": %s (%s:%d)", addr, fn,
			       l->file, l->line);
	else
		len = asprintf(&text, "0x%" PRIX64 ": %s (in %.*s)", addr, fn,
			       (int)sym_path_len(objpath), objpath);
	err = len < 0 ? -ENOMEM : ftbl_intern(t, text, parts, id);
	free(path);
	return err;
}

int obj_frames(struct obj *o, uint64_t addr, uint64_t off, uint32_t mapping,
	       struct ftbl *t, uint32_t *ids, enum fn_kind *kind)
{
	struct sym_frame parts = { .addr = addr, .mapping = mapping };
	struct loc locs[SYM_MAX_INLINE];
	const char *sym = NULL, *top, *comp_dir = NULL;
	char *demangled = NULL;
	uint64_t vaddr;
	int n = 1, err = 0;

	if (!o->loaded)
		obj_load(o);
	*kind = FN_NORMAL;
	locs[0] = (struct loc){ 0 };	/* "??? (in obj)" */
	if (o->mod && off_to_vaddr(o, off, &vaddr)) {
		sym = funcs_find(&o->funcs, vaddr);
		if (sym)
			*kind = fn_kind(sym);
		if (*kind == FN_BELOW_MAIN)
			top = "(below main)";
		else if (sym && (demangled = sym_demangle(sym)))
			top = demangled;
		else
			top = sym;
		n = describe(o, vaddr, top, locs, &comp_dir);
		if (n < 0) {
			free(demangled);
			return n;
		}
	}
	for (int i = 0; i < n && !err; i++) {
		/* the last frame is the symbol's; the others are inlined */
		parts.system_name = i == n - 1 ? sym : NULL;
		err = intern(t, addr, &locs[i], o->path, comp_dir, &parts,
			     &ids[i]);
	}
	for (int i = 0; i < n; i++)
		free(locs[i].own);
	free(demangled);
	return err ? err : n;
}
