/* SPDX-License-Identifier: MIT */
/*
 * TLB and SMAP instructions (SDM Vol. 2): INVLPG, INVPCID, STAC and CLAC.
 * The invalidations themselves are the MMU's (mmu.h, control.c); these
 * handlers do the instruction's checks in the SDM's order and call it.
 *
 * INVLPG and INVPCID end their decoded block, so the next instruction is
 * fetched through the TLB they changed. STAC and CLAC need no such care:
 * RFLAGS.AC is part of every TLB lookup's mode, so the next access already
 * sees it.
 */
#include "cpu/exec.h"

/* INVLPG m (SDM Vol. 2A): CPL 0 only; a non-canonical address makes it a NOP. */
static int op_invlpg_M(struct cpu *c, const struct insn *i)
{
	if (c->cpl != 0)
		return cpu_raise(c, VEC_GP, true, 0);
	gva_t gva = cpu_ea(c, i);
	if (mmu_is_canonical(gva))
		mmu_invlpg(c, gva);
	return EXEC_NEXT;
}

/* Reads the 128-bit INVPCID descriptor: PCID in bits 11:0 (63:12 reserved), the linear address in 127:64. */
static int read_desc(struct cpu *c, const struct insn *i, u64 desc[2])
{
	gva_t gva = cpu_ea(c, i);
	if (cpu_read(c, gva, 8, &desc[0]) || cpu_read(c, gva + 8, 8, &desc[1]))
		return EXEC_FAULT;
	return 0;
}

/*
 * INVPCID r64, m128 (SDM Vol. 2A): #GP(0) at CPL > 0, then the descriptor
 * is read (#PF), then #GP(0) for a type above 3, reserved descriptor bits,
 * a nonzero PCID for types 0 and 1 while CR4.PCIDE = 0, or a non-canonical
 * address for type 0.
 */
static int op_invpcid_Gy_M(struct cpu *c, const struct insn *i)
{
	u64 desc[2];
	if (c->cpl != 0)
		return cpu_raise(c, VEC_GP, true, 0);
	if (read_desc(c, i, desc))
		return EXEC_FAULT;
	u64 type = c->r[i->r[0]];
	u16 pcid = (u16)(desc[0] & CR3_PCID);
	if (type > 3 || (desc[0] >> 12) != 0)
		return cpu_raise(c, VEC_GP, true, 0);
	if (type <= 1 && pcid != 0 && !(c->cr4 & CR4_PCIDE))
		return cpu_raise(c, VEC_GP, true, 0);
	if (type == 0 && !mmu_is_canonical(desc[1]))
		return cpu_raise(c, VEC_GP, true, 0);
	mmu_invpcid(c, (unsigned)type, pcid, desc[1]);
	return EXEC_NEXT;
}

/* STAC and CLAC (SDM Vol. 2A/2B): set or clear RFLAGS.AC; #UD at CPL > 0. */
static int op_stac(struct cpu *c, const struct insn *i)
{
	(void)i;
	if (c->cpl != 0)
		return cpu_raise(c, VEC_UD, false, 0);
	c->rflags |= RFLAGS_AC;
	return EXEC_NEXT;
}

static int op_clac(struct cpu *c, const struct insn *i)
{
	(void)i;
	if (c->cpl != 0)
		return cpu_raise(c, VEC_UD, false, 0);
	c->rflags &= ~RFLAGS_AC;
	return EXEC_NEXT;
}

static insn_fn sel_invlpg(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	(void)zi, (void)zo;
	if (i->nops != 1 || i->k[0] != OPK_MEM)
		return NULL;
	i->flags |= INSN_TERM;
	return op_invlpg_M;
}

static insn_fn sel_invpcid(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	(void)zi, (void)zo;
	if (i->nops != 2 || i->k[0] != OPK_REG || i->k[1] != OPK_MEM || (i->flags & INSN_LOCK))
		return NULL;
	i->flags |= INSN_TERM;
	return op_invpcid_Gy_M;
}

static insn_fn sel_ac(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	(void)zo;
	if (i->nops != 0)
		return NULL;
	return zi->mnemonic == ZYDIS_MNEMONIC_STAC ? op_stac : op_clac;
}

const struct op_entry exec_tlb_ops[] = {
	{ ZYDIS_MNEMONIC_INVLPG, sel_invlpg }, { ZYDIS_MNEMONIC_INVPCID, sel_invpcid },
	{ ZYDIS_MNEMONIC_STAC, sel_ac },       { ZYDIS_MNEMONIC_CLAC, sel_ac },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
