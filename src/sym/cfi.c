// SPDX-License-Identifier: GPL-2.0
/*
 * Unwinding tables: an object's call frame information (.eh_frame, or
 * .debug_frame where that is all there is) evaluated by libdw into compact
 * rows a BPF program can walk. x86-64 only: a row says how to find the CFA
 * (rsp or rbp plus an offset) and where the caller's rbp was saved; the
 * return address is always at CFA - 8 on this architecture, and a row
 * whose CFI says otherwise is marked as one we cannot unwind through.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "sym/sym.h"
#include "sym/sym_int.h"

/* DWARF register numbers on x86-64. */
#define DW_REG_RBP 6
#define DW_REG_RSP 7
#define DW_REG_RA 16

#define GAP_STEP 16	/* how far to look ahead past code without CFI */

static int table_push(struct cfi_table *t, size_t *cap,
		      const struct cfi_row *row)
{
	struct cfi_row *last = t->n ? &t->rows[t->n - 1] : NULL;

	/* Rows that say the same as the one before add nothing. */
	if (last && last->rule == row->rule && last->cfa_off == row->cfa_off &&
	    last->rbp_off == row->rbp_off)
		return 0;
	if (last && last->pc == row->pc) {
		*last = *row;
		return 0;
	}
	if (t->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4096;
		struct cfi_row *rows = realloc(t->rows, ncap * sizeof(*rows));

		if (!rows)
			return -ENOMEM;
		t->rows = rows;
		*cap = ncap;
	}
	t->rows[t->n++] = *row;
	return 0;
}

/* The CFA rule: register + offset, or not something we can express. */
static void cfa_rule(Dwarf_Frame *frame, struct cfi_row *row)
{
	Dwarf_Op *ops;
	size_t nops;
	uint64_t reg;
	int64_t off;

	row->rule = CFI_UNKNOWN;
	if (dwarf_frame_cfa(frame, &ops, &nops) || nops != 1)
		return;
	if (ops[0].atom == DW_OP_bregx) {
		reg = ops[0].number;
		off = (int64_t)ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		reg = ops[0].atom - DW_OP_breg0;
		off = (int64_t)ops[0].number;
	} else {
		return;
	}
	if (off < INT32_MIN || off > INT32_MAX)
		return;
	if (reg == DW_REG_RSP)
		row->rule = CFI_CFA_RSP;
	else if (reg == DW_REG_RBP)
		row->rule = CFI_CFA_RBP;
	else
		return;
	row->cfa_off = off;
}

/*
 * Where a register of the caller is: saved at CFA + *off (returns 1),
 * unchanged (returns 0), or anything else (returns -1).
 */
static int saved_at(Dwarf_Frame *frame, int regno, int64_t *off)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;

	if (dwarf_frame_register(frame, regno, mem, &ops, &nops))
		return -1;
	if (!nops)
		return ops ? -1 : 0;	/* undefined : same value */
	if (ops[0].atom != DW_OP_call_frame_cfa || nops > 2)
		return -1;
	*off = 0;
	if (nops == 2) {
		if (ops[1].atom != DW_OP_plus_uconst)
			return -1;
		*off = (int64_t)ops[1].number;
	}
	return 1;
}

static void frame_row(Dwarf_Frame *frame, struct cfi_row *row)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;
	int64_t off;
	int rbp;

	/* Undefined return address: the outermost frame (_start, clone). */
	if (!dwarf_frame_register(frame, DW_REG_RA, mem, &ops, &nops) &&
	    !nops && ops) {
		row->rule = CFI_OUTERMOST;
		return;
	}
	cfa_rule(frame, row);
	if (row->rule == CFI_UNKNOWN)
		return;
	if (saved_at(frame, DW_REG_RA, &off) != 1 || off != -8) {
		row->rule = CFI_UNKNOWN;
		return;
	}
	rbp = saved_at(frame, DW_REG_RBP, &off);
	if (rbp < 0 || (rbp && (off < INT16_MIN || off >= 0)))
		row->rule = CFI_UNKNOWN;
	else
		row->rbp_off = rbp ? off : 0;
}

/*
 * Where functions' CFI begins, from .eh_frame_hdr's sorted search table
 * (the common datarel/sdata4 encoding): *@starts, *@n. Without it, the walk
 * below probes for CFI every GAP_STEP bytes across code that has none, and
 * can miss a tiny FDE there (a function's cold part).
 */
static void fde_starts(Elf *elf, uint64_t **starts, size_t *n)
{
	size_t nphdr, count, field;
	const uint8_t *d;
	Elf_Data *data;
	GElf_Phdr ph;

	*starts = NULL;
	*n = 0;
	if (elf_getphdrnum(elf, &nphdr))
		return;
	for (size_t i = 0; i < nphdr; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		data = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz,
					    ELF_T_BYTE);
		d = data ? data->d_buf : NULL;
		/* version 1; eh_frame_ptr and fde_count 4-byte encoded;
		 * the table DW_EH_PE_datarel | DW_EH_PE_sdata4. */
		if (!d || ph.p_filesz < 12 || d[0] != 1 || (d[1] & 7) != 3 ||
		    (d[2] & 7) != 3 || d[3] != 0x3b)
			return;
		memcpy(&field, d + 8, 4);
		count = field & 0xffffffff;
		if (12 + count * 8 > ph.p_filesz)
			return;
		*starts = malloc((count ? count : 1) * sizeof(**starts));
		if (!*starts)
			return;
		for (size_t k = 0; k < count; k++) {
			int32_t rel;

			memcpy(&rel, d + 12 + k * 8, 4);
			(*starts)[k] = ph.p_vaddr + rel;
		}
		*n = count;
		return;
	}
}

/* Where to look for CFI next after @addr, in code that has none. */
static uint64_t next_fde(const uint64_t *starts, size_t n, uint64_t addr)
{
	size_t i;

	if (!starts)
		return (addr + GAP_STEP) & ~(uint64_t)(GAP_STEP - 1);
	i = count_at_or_below(starts, n, sizeof(*starts), addr);
	return i < n ? starts[i] : UINT64_MAX;
}

/* Walk [start, end) of executable code, one CFI row at a time. */
static int walk_range(Dwarf_CFI *cfi, const uint64_t *starts, size_t nstarts,
		      uint64_t start, uint64_t end, struct cfi_table *t,
		      size_t *cap)
{
	uint64_t addr = start, gap = 0;	/* where the current gap began */
	int err = 0;

	while (!err && addr < end) {
		struct cfi_row row = { .pc = addr, .rule = CFI_NONE };
		Dwarf_Frame *frame;
		Dwarf_Addr lo, hi;

		if (dwarf_cfi_addrframe(cfi, addr, &frame)) {
			/* No CFI here: frame pointers, if anything. */
			if (!gap)
				gap = addr;
			err = table_push(t, cap, &row);
			addr = next_fde(starts, nstarts, addr);
			continue;
		}
		dwarf_frame_info(frame, &lo, &hi, NULL);
		/* Stepping over a gap may land past the start of the next
		 * function's CFI: its rows begin where it says. */
		if (gap && lo >= gap && lo < addr)
			row.pc = lo;
		gap = 0;
		frame_row(frame, &row);
		free(frame);
		err = table_push(t, cap, &row);
		addr = hi > addr ? hi : addr + 1;
	}
	return err;
}

static int segment_push(struct cfi_table *t, const GElf_Phdr *ph)
{
	struct cfi_segment *segs;

	segs = realloc(t->segs, (t->nsegs + 1) * sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	t->segs = segs;
	segs[t->nsegs++] = (struct cfi_segment){
		.offset = ph->p_offset, .vaddr = ph->p_vaddr,
		.size = ph->p_filesz,
	};
	return 0;
}

static int build(Elf *elf, int fd, void *ctx)
{
	struct cfi_table *t = ctx;
	Dwarf *dwarf = NULL;
	Dwarf_CFI *cfi;
	uint64_t *starts;
	size_t nphdr, nstarts, cap = 0;
	int err = 0;

	(void)fd;
	if (elf_getphdrnum(elf, &nphdr))
		return -ENOEXEC;
	t->build_id = elf_build_id_hex(elf);
	fde_starts(elf, &starts, &nstarts);
	cfi = dwarf_getcfi_elf(elf);
	if (!cfi) {
		dwarf = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
		cfi = dwarf ? dwarf_getcfi(dwarf) : NULL;
	}
	for (size_t i = 0; !err && i < nphdr; i++) {
		GElf_Phdr ph;
		struct cfi_row end;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD ||
		    !(ph.p_flags & PF_X))
			continue;
		err = segment_push(t, &ph);
		if (!err && cfi)
			err = walk_range(cfi, starts, nstarts, ph.p_vaddr,
					 ph.p_vaddr + ph.p_memsz, t, &cap);
		/* Past the segment: nothing to unwind with. */
		end = (struct cfi_row){ .pc = ph.p_vaddr + ph.p_memsz,
					.rule = CFI_NONE };
		if (!err && cfi)
			err = table_push(t, &cap, &end);
	}
	free(starts);
	if (dwarf)
		dwarf_end(dwarf);	/* also ends its CFI */
	else if (cfi)
		dwarf_cfi_end(cfi);
	return err;
}

int cfi_table_build(const char *path, struct cfi_table *t)
{
	int err;

	memset(t, 0, sizeof(*t));
	err = elf_read(path, build, t);
	if (err)
		cfi_table_free(t);
	return err;
}

void cfi_table_free(struct cfi_table *t)
{
	free(t->rows);
	free(t->segs);
	free(t->build_id);
	memset(t, 0, sizeof(*t));
}

int cfi_table_bias(const struct cfi_table *t, uint64_t start, uint64_t pgoff,
		   uint64_t *bias)
{
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct cfi_segment *s = &t->segs[i];

		/* Mappings start on a page; segments need not. */
		if (pgoff + 4096 > s->offset && pgoff < s->offset + s->size) {
			*bias = start - pgoff + s->offset - s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

const struct cfi_row *cfi_table_find(const struct cfi_table *t, uint64_t pc)
{
	size_t i = count_at_or_below(t->rows, t->n, sizeof(*t->rows), pc);

	return i ? &t->rows[i - 1] : NULL;
}
