/* SPDX-License-Identifier: MIT */
/*
 * What instruction handlers (exec_*.c) include: the vCPU, lazy flags,
 * memory access and the decoder's selector types, plus the operand
 * helpers shared by every family.
 *
 * Operand conventions: operand n of an insn is a register (k[n] ==
 * OPK_REG, number r[n]), the memory operand (OPK_MEM, address cpu_ea())
 * or an immediate (OPK_IMM, value imm). At most one operand is memory.
 */
#ifndef FACET_EXEC_H
#define FACET_EXEC_H

#include "cpu/access.h"
#include "cpu/cpu.h"
#include "cpu/decode.h"
#include "cpu/flags.h"

/* Reads operand n at size sz (register, memory or immediate) into *v. */
static inline int opnd_read(struct cpu *c, const struct insn *i, unsigned n, unsigned sz, u64 *v)
{
	switch (i->k[n]) {
	case OPK_REG: *v = cpu_reg_get(c, i->r[n], sz); return 0;
	case OPK_MEM: return cpu_read(c, cpu_ea(c, i), sz, v);
	default: *v = i->imm & size_mask(sz); return 0;
	}
}

/* Writes operand n (register or memory) at size sz. */
static inline int opnd_write(struct cpu *c, const struct insn *i, unsigned n, unsigned sz, u64 v)
{
	if (i->k[n] == OPK_REG) {
		cpu_reg_set(c, i->r[n], sz, v);
		return 0;
	}
	return cpu_write(c, cpu_ea(c, i), sz, v);
}

#endif
