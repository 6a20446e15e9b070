/* SPDX-License-Identifier: GPL-2.0 */
/* Internal interfaces of src/sym/: not for other stages. */
#ifndef DHTRACE_SYM_INT_H
#define DHTRACE_SYM_INT_H

#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The most frames one code address expands into (inlined calls). */
#define SYM_MAX_INLINE 64

/* Open @path as ELF, run @fn on it, close it. Returns what @fn returns,
 * or a negative errno when @path cannot be read as ELF. */
typedef int (*elf_reader)(Elf *elf, int fd, void *ctx);
int elf_read(const char *path, elf_reader fn, void *ctx);

/* The object's NT_GNU_BUILD_ID in lowercase hex, malloc'ed; NULL when it
 * has none (or out of memory). */
char *elf_build_id_hex(Elf *elf);

/*
 * In @n elements of @size bytes, sorted by the uint64_t address each one
 * begins with: how many begin at or below @addr. The last of them, if any,
 * is the one that may contain @addr.
 */
size_t count_at_or_below(const void *v, size_t n, size_t size, uint64_t addr);

/* What valgrind's VG_(get_fnname_kind) says of a function name. */
enum fn_kind {
	FN_NORMAL,
	FN_MAIN,
	FN_BELOW_MAIN,
};

enum fn_kind fn_kind(const char *name);

/* The length of @name without its version ("malloc@@GLIBC_2.2.5"). */
size_t unversioned_len(const char *name);

/*
 * @name demangled as valgrind prints it (C++ with parameter lists, Rust
 * without the hash), malloc'ed; NULL when @name is not a mangled name (the
 * caller prints it as it is).
 */
char *sym_demangle(const char *name);

/*
 * The full path of the function of @die (a subprogram or an inlined call)
 * in a Rust CU, as dhat-rs prints it: malloc'ed in *@name, NULL when DWARF
 * names none. Returns 0 or -ENOMEM.
 */
int rust_fn_name(Dwarf_Die *die, char **name);

#include "sym/sym.h"

/* The frame table: strings interned to dense ids, 0 is "[root]". */
struct ftbl {
	char **text;		/* by id */
	struct sym_frame *parts;	/* by id; strings behind the text's NUL */
	uint32_t *hash;		/* by id, to rehash without rehashing text */
	size_t n, cap;
	uint32_t *slots;	/* open addressing: ids, UINT32_MAX is empty */
	size_t nslots;
};

int ftbl_init(struct ftbl *t);
/* @dst (initialized) gets @src's frames under the same ids. */
int ftbl_copy(struct ftbl *dst, const struct ftbl *src);
void ftbl_free(struct ftbl *t);
/* Intern @text, which the table takes over (freed if already known), and
 * for a new id, a copy of @parts (NULL: all zero). Returns 0 or -ENOMEM
 * (then @text is freed too). */
int ftbl_intern(struct ftbl *t, char *text, const struct sym_frame *parts,
		uint32_t *id);

/* A module's functions, by address, named as valgrind names them. */
struct func;

struct funcs {
	struct func *v;
	size_t n;
};

int funcs_build(struct funcs *f, Dwfl_Module *mod);
void funcs_free(struct funcs *f);
/* The name of the function at dwfl address @addr, or NULL. */
const char *funcs_find(const struct funcs *f, uint64_t addr);

/* A module's compilation units by address range. */
struct cu_range;

struct cus {
	struct cu_range *v;
	size_t n;
	Dwarf_Addr bias;	/* dwfl address - DWARF address */
};

int cus_build(struct cus *c, Dwfl_Module *mod);
void cus_free(struct cus *c);
/* The CU holding DWARF address @pc, or NULL. */
Dwarf_Die *cus_find(struct cus *c, uint64_t pc);

/* Source file names as line tables record them (valgrind prints those),
 * per CU, read as CUs are met. */
struct cu_files;

struct srcnames {
	struct cu_files *v;
	size_t n, cap;
};

/* The name of file @idx of @cu's line table, without its directory
 * entry; NULL when the table cannot be read (then take libdw's). */
const char *srcnames_find(struct srcnames *s, Dwarf_Die *cu, size_t idx);
/* The same, after its directory entry, as rustc's file!() gives it
 * ("tests/progs/t_rust.rs", "/rustc/HASH/library/alloc/src/alloc.rs"):
 * relative when the compilation was given a relative path. NULL as
 * above, or when out of memory. */
const char *srcnames_path(struct srcnames *s, Dwarf_Die *cu, size_t idx);
void srcnames_free(struct srcnames *s);

/* One ELF object, opened when its first mapping is told. */
struct obj;

/* @path as /proc/PID/maps names it, mapped at [@start, @end) (see
 * sym_mapped_file()). */
struct obj *obj_open(const char *path, pid_t pid, uint64_t start,
		     uint64_t end);
void obj_free(struct obj *o);
const char *obj_path(const struct obj *o);
/* Whether @o is file (@dev, @ino), named @path. */
bool obj_is(const struct obj *o, const char *path, dev_t dev, ino_t ino);
/* NT_GNU_BUILD_ID in lowercase hex, or NULL. */
const char *obj_build_id(const struct obj *o);

/*
 * Describe file offset @off of @o, printed at address @addr, mapped by
 * the told mapping @mapping (sym_frame's numbering): the frames it expands
 * into, innermost first, interned in @t and written to @ids (at most
 * SYM_MAX_INLINE). *@kind is the kind of the containing function.
 * Returns the number of frames (>= 1) or a negative errno.
 */
int obj_frames(struct obj *o, uint64_t addr, uint64_t off, uint32_t mapping,
	       struct ftbl *t, uint32_t *ids, enum fn_kind *kind);

/* The address space: sorted, non-overlapping mappings. */
struct mapping {
	uint64_t start, end, pgoff;	/* start first: count_at_or_below() */
	struct obj *obj;	/* not owned */
	uint32_t told;		/* 1 + index in the list of told mappings */
};

struct maps {
	struct mapping *v;
	size_t n;
};

void maps_free(struct maps *m);
/* Map @new over whatever was there. Returns 0 or -ENOMEM. */
int maps_add(struct maps *m, const struct mapping *new);
const struct mapping *maps_find(const struct maps *m, uint64_t addr);

/* Memo of described addresses: address -> frame ids and kind. */
struct memo_ent {
	uint64_t addr;
	uint32_t first;		/* index in memo.ids */
	uint8_t n;
	uint8_t kind;
};

struct memo {
	struct memo_ent *slots;	/* open addressing; n == 0 is empty */
	size_t nslots, used;
	uint32_t *ids;		/* frame ids of all entries */
	size_t nids, capids;
};

void memo_free(struct memo *m);
int memo_copy(struct memo *dst, const struct memo *src);
const struct memo_ent *memo_get(const struct memo *m, uint64_t addr);
int memo_put(struct memo *m, uint64_t addr, const uint32_t *ids, int n,
	     enum fn_kind kind);
/* Forget the addresses in [start, end): what is mapped there changed. */
int memo_drop(struct memo *m, uint64_t start, uint64_t end);

#endif /* DHTRACE_SYM_INT_H */
