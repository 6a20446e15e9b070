// SPDX-License-Identifier: GPL-2.0
/*
 * Function names of Rust frames as dhat-rs and the backtrace crate print
 * them: the full path ("alloc::raw_vec::finish_grow", "t_rust::main"),
 * inlined calls included, where DWARF's DW_AT_name is the last segment
 * alone ("finish_grow"). It comes from the linkage name, demangled as the
 * symbol table's names are (sym_demangle(): no legacy hash, no v0 crate
 * disambiguator). rustc gives every function one, closures included, but
 * for #[no_mangle] ones, whose name is the symbol as it is linked.
 * Anything else without one is named by its namespaces.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sym/sym_int.h"

/* Namespaces around a function definition, at most. */
#define MAX_DEPTH 16

/* The DIE with the name of @die's function: through DW_AT_abstract_origin
 * (an inlined call, a concrete instance) and DW_AT_specification. */
static bool named_die(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;
	Dwarf_Die cur = *die;

	for (int i = 0; i < MAX_DEPTH; i++) {
		if (dwarf_hasattr(&cur, DW_AT_name)) {
			*out = cur;
			return true;
		}
		if (!dwarf_formref_die(dwarf_attr(&cur, DW_AT_abstract_origin, &attr),
				       &cur) &&
		    !dwarf_formref_die(dwarf_attr(&cur, DW_AT_specification, &attr),
				       &cur))
			return false;
	}
	return false;
}

/* Appends "@name::" to @path (*@len bytes, malloc'ed): false when out
 * of memory. */
static bool append_segment(char **path, size_t *len, const char *name)
{
	size_t n = strlen(name);
	char *p = realloc(*path, *len + n + 3);

	if (!p)
		return false;
	memcpy(p + *len, name, n);
	memcpy(p + *len + n, "::", 3);
	*path = p;
	*len += n + 2;
	return true;
}

/*
 * The names of the DIEs (namespaces, types, functions) from @parent down
 * to the DIE at @target, each followed by "::", into *@path. DIEs come in the order of
 * the tree: the child holding @target is the last one at or before it.
 */
static int namespaces(Dwarf_Die *parent, Dwarf_Off target, char **path,
		      size_t *len)
{
	Dwarf_Die child, holder;
	const char *name;

	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		if (dwarf_child(parent, &child))
			return 0;
		holder = child;
		do {
			if (dwarf_dieoffset(&child) > target)
				break;
			holder = child;
		} while (dwarf_siblingof(&child, &child) == 0);
		if (dwarf_dieoffset(&holder) == target)
			return 0;
		name = dwarf_diename(&holder);
		if (name && !append_segment(path, len, name))
			return -ENOMEM;
		*parent = holder;
	}
	return 0;
}

/* @die's DW_AT_name after its namespaces, into *@out. */
static int path_name(Dwarf_Die *die, const char *name, char **out)
{
	Dwarf_Die cu;
	size_t len = 0;
	char *path = NULL;
	int err = 0;

	if (dwarf_diecu(die, &cu, NULL, NULL))
		err = namespaces(&cu, dwarf_dieoffset(die), &path, &len);
	if (!err && !append_segment(&path, &len, name))
		err = -ENOMEM;
	if (err) {
		free(path);
		return err;
	}
	path[len - 2] = '\0';	/* the last "::" */
	*out = path;
	return 0;
}

int rust_fn_name(Dwarf_Die *die, char **out)
{
	Dwarf_Attribute attr;
	const char *linkage, *name;
	Dwarf_Die def;

	*out = NULL;
	linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name,
							&attr));
	if (linkage) {
		*out = sym_demangle(linkage);
		if (!*out)
			*out = strdup(linkage);
		return *out ? 0 : -ENOMEM;
	}
	if (!named_die(die, &def) || !(name = dwarf_diename(&def)))
		return 0;
	if (dwarf_hasattr_integrate(&def, DW_AT_external)) {
		*out = strdup(name);	/* #[no_mangle]: linked as named */
		return *out ? 0 : -ENOMEM;
	}
	return path_name(&def, name, out);
}
