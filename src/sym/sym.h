/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Symbols: the only stage that opens ELF and DWARF.
 *
 *  - elf_find_functions(): where an object defines the allocator functions,
 *    as file offsets for uprobes.
 *  - struct sym: a process's address space, told mapping by mapping (from
 *    /proc/PID/maps and later mmap records), that turns captured stacks into
 *    printed frames in valgrind's text form, interned in a frame table.
 *    It keeps working after the process has exited: objects are opened by
 *    path (through /proc/PID/root when the process lived in another mount
 *    namespace).
 */
#ifndef DHTRACE_SYM_H
#define DHTRACE_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * For each of @names (n of them), the file offset at which object @path
 * defines it as a function (what a uprobe is attached at), or 0 when the
 * object does not define it. Looks in .dynsym, then .symtab. Returns the
 * number of names found, or a negative errno when the file cannot be read
 * as ELF.
 */
int elf_find_functions(const char *path, const char *const *names, size_t n,
		       uint64_t *offsets);
/* A linked symbol's plain name, as elf_find_functions() matches it:
 * without its version, and Rust's allocator shim (__rustc::__rust_alloc,
 * mangled) as __rust_alloc. Its *@len bytes at the returned pointer. */
const char *sym_linked_name(const char *sym, size_t *len);

/*
 * An object's code, for an instruction decoder (elf_code.c). Addresses
 * are the object's own, as its symbols give them.
 */
struct elf_code;
int elf_code_open(const char *path, struct elf_code **out);
void elf_code_close(struct elf_code *c);
/* The address of file offset @offset; 0 outside the loaded segments. */
uint64_t elf_code_addr(const struct elf_code *c, uint64_t offset);
/* The bytes at @addr, *@avail of them to the end of its segment; NULL
 * outside every segment. */
const uint8_t *elf_code_bytes(const struct elf_code *c, uint64_t addr,
			      size_t *avail);
/* The @nth name of the functions starting at @addr (aliases share one),
 * and its size; NULL past the last. Names are as linked (versioned). */
const char *elf_code_function(const struct elf_code *c, uint64_t addr,
			      size_t nth, uint64_t *size);
/* The symbol GOT slot @addr is bound to (a PLT stub's, or a -fno-plt
 * call's), NULL if none. */
const char *elf_code_slot(const struct elf_code *c, uint64_t addr);

/*
 * The program interpreter (PT_INTERP, the dynamic linker) that executable
 * @path asks for: a malloc'ed string in *@interp, or NULL for a static
 * executable. Returns 0, or a negative errno when @path is not ELF.
 */
int elf_interpreter(const char *path, char **interp);

/*
 * Unwinding table of one object (x86-64): rows sorted by pc, an ELF
 * virtual address; each holds from its pc up to the next row's.
 */
enum cfi_rule {
	CFI_NONE,	/* no CFI here: frame pointers, if anything */
	CFI_CFA_RSP,	/* CFA = rsp + cfa_off */
	CFI_CFA_RBP,	/* CFA = rbp + cfa_off */
	CFI_OUTERMOST,	/* the return address is undefined: stack ends */
	CFI_UNKNOWN,	/* CFI this table cannot express */
};

struct cfi_row {
	uint64_t pc;		/* first: count_at_or_below() */
	int32_t cfa_off;
	int16_t rbp_off;	/* caller's rbp at CFA + rbp_off; 0: unchanged */
	uint8_t rule;		/* enum cfi_rule */
};

/* An executable PT_LOAD segment: where file offsets land in addresses. */
struct cfi_segment {
	uint64_t offset, vaddr, size;
};

struct cfi_table {
	struct cfi_row *rows;
	size_t n;
	struct cfi_segment *segs;
	size_t nsegs;
	char *build_id;		/* lowercase hex; NULL: none */
};

/* Evaluate the CFI of object @path into @t. Returns 0 or a negative errno;
 * an object without CFI gets an empty table. */
int cfi_table_build(const char *path, struct cfi_table *t);
void cfi_table_free(struct cfi_table *t);
/* For a mapping of the object at @start from file offset @pgoff: what to
 * subtract from a runtime address to get the object's address. Returns 0,
 * or -ENOENT when no executable segment is mapped there. */
int cfi_table_bias(const struct cfi_table *t, uint64_t start, uint64_t pgoff,
		   uint64_t *bias);
/* The row that holds at @pc, or NULL below the first. */
const struct cfi_row *cfi_table_find(const struct cfi_table *t, uint64_t pc);

/*
 * The name to open the file of a mapping [@start, @end) of process @pid
 * by, malloc'ed (NULL when out of memory): @path as the process sees it
 * (/proc/PID/root, for another mount namespace), or, when the kernel says
 * the file was deleted or replaced, the mapping itself
 * (/proc/PID/map_files/START-END, while it is mapped). With @pid 0, @path.
 * @start == @end: no mapping is known.
 */
char *sym_mapped_file(pid_t pid, const char *path, uint64_t start,
		      uint64_t end);
/* The length of @path without the " (deleted)" the kernel appends. */
size_t sym_path_len(const char *path);

struct sym;

/* The objects (ELF files, their DWARF) that address spaces share: each
 * file is opened and described once, however many processes map it. */
struct sym_cache;

struct sym_cache *sym_cache_new(void);
/* After every sym that uses it. */
void sym_cache_free(struct sym_cache *c);

/*
 * @pid: the process whose files are opened, through /proc/PID/root while it
 * lives; 0 to open paths as they are. @cache: shared objects, NULL for a
 * cache of its own.
 */
struct sym *sym_new(pid_t pid, struct sym_cache *cache);
/* A forked child's: @parent's mappings and frame table (the same ids). */
struct sym *sym_clone(const struct sym *parent, pid_t pid);
void sym_free(struct sym *s);

/* One file-backed executable mapping, as a line of /proc/PID/maps gives it.
 * Later mappings over the same range replace earlier ones. Returns 0 or a
 * negative errno. */
int sym_add_mapping(struct sym *s, uint64_t start, uint64_t end,
		    uint64_t pgoff, const char *path);

/*
 * Print a captured stack. @ips are return addresses, innermost first
 * (ips[0] is the return address into the allocation site). Each is described
 * at address - 1; an address expands into one frame per inlined call,
 * innermost first; frames below main are cut as valgrind does. The frame
 * ids written to @frames index the frame table. Returns how many were
 * written (at most @max), or a negative errno (out of memory).
 */
int sym_stack(struct sym *s, const uint64_t *ips, int n, uint32_t *frames,
	      int max);

/* How many of @ips, from the first, are in functions whose linked
 * symbol @match()es; a negative errno when out of memory. */
int sym_leading_frames(struct sym *s, const uint64_t *ips, int n,
		       bool (*match)(const char *symbol));

/* The frame table: id 0 is "[root]", ids are dense, strings unique. */
size_t sym_frame_count(const struct sym *s);
const char *sym_frame_text(const struct sym *s, uint32_t id);

/*
 * A frame of the table in parts, for formats that take them apart (pprof).
 * The frames of one address are one inlined call each, innermost first,
 * then the function holding the address. Strings live as long as @s.
 */
struct sym_frame {
	uint64_t addr;		/* as printed: a return address - 1 */
	uint32_t mapping;	/* 1 + index for sym_mapping_at(); 0: none */
	const char *function;	/* as printed; NULL: unknown ("???") */
	const char *system_name; /* the symbol as linked (mangled); NULL for
				  * inlined calls, named from DWARF */
	const char *file;	/* the source file with its directory; NULL:
				 * no line information */
	int line, column;	/* 0: unknown */
};

/* Frame @id in parts ("[root]" and unknown ids: all zero). */
void sym_frame_parts(const struct sym *s, uint32_t id, struct sym_frame *out);

/* A mapping as it was told, with its object's build id. */
struct sym_mapping {
	uint64_t start, end, pgoff;
	const char *path;
	const char *build_id;	/* NT_GNU_BUILD_ID in lowercase hex; NULL */
};

/* Every mapping told (those replaced since too), in the order told. */
size_t sym_mapping_count(const struct sym *s);
void sym_mapping_at(const struct sym *s, size_t i, struct sym_mapping *out);

#endif /* DHTRACE_SYM_H */
