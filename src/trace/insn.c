// SPDX-License-Identifier: GPL-2.0
/* The x86-64 decoder shared by probe placement and the wrapper check. */
#include <errno.h>

#include "trace/insn.h"

int decoder_open(struct decoder *d)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &d->cs) != CS_ERR_OK)
		return -ENOSYS;
	cs_option(d->cs, CS_OPT_DETAIL, CS_OPT_ON);
	d->insn = cs_malloc(d->cs);
	if (!d->insn) {
		cs_close(&d->cs);
		return -ENOMEM;
	}
	return 0;
}

void decoder_close(struct decoder *d)
{
	cs_free(d->insn, 1);
	cs_close(&d->cs);
}

const cs_insn *decode_at(struct decoder *d, const struct elf_code *code,
			 uint64_t addr)
{
	size_t avail;
	const uint8_t *bytes = elf_code_bytes(code, addr, &avail);

	if (!bytes || !cs_disasm_iter(d->cs, &bytes, &avail, &addr, d->insn))
		return NULL;
	return d->insn;
}

bool insn_in_group(const cs_insn *i, unsigned int group)
{
	const cs_detail *det = i->detail;

	for (unsigned int g = 0; g < det->groups_count; g++)
		if (det->groups[g] == group)
			return true;
	return false;
}

static bool is_branch(const cs_insn *i)
{
	return insn_in_group(i, CS_GRP_JUMP) || insn_in_group(i, CS_GRP_CALL);
}

bool insn_direct_target(const cs_insn *i, uint64_t *target)
{
	const cs_x86 *x = &i->detail->x86;

	if (!is_branch(i) || x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
		return false;
	*target = (uint64_t)x->operands[0].imm;
	return true;
}

bool insn_slot_target(const cs_insn *i, uint64_t *slot)
{
	const cs_x86 *x = &i->detail->x86;
	const cs_x86_op *op = &x->operands[0];

	if (!is_branch(i) || x->op_count != 1 || op->type != X86_OP_MEM ||
	    op->mem.base != X86_REG_RIP || op->mem.index != X86_REG_INVALID)
		return false;
	*slot = i->address + i->size + (uint64_t)op->mem.disp;
	return true;
}

uint64_t function_end(const struct elf_code *code, uint64_t addr,
		      uint64_t max)
{
	uint64_t size = 0;

	if (!elf_code_function(code, addr, 0, &size) || !size || size > max)
		size = max;
	return addr + size;
}
