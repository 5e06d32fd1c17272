/* SPDX-License-Identifier: MIT */
/*
 * Far transfers in 64-bit mode (SDM Vol. 2A JMP and CALL, Vol. 2B RET and
 * IRET, "protected mode" and "IA-32e mode" paths): far JMP and far CALL
 * through a memory pointer m16:16/32/64 (the direct ptr16:32 forms do not
 * exist in 64-bit mode), far RET (LRETQ, which kernels use to reload CS
 * after LGDT), and IRET/IRETD/IRETQ.
 *
 * Far JMP and CALL go to a code segment at the same privilege (conforming
 * or not); a call gate is not modeled and raises #GP(selector). Far RET
 * and IRET return to the same or an outer privilege level with the SDM's
 * checks on the new CS and SS (segment.c). Everything is read and
 * checked before anything changes; the selector makes these end their
 * block, like every branch.
 *
 * Operand size: 8 with REX.W, 4 by default, 2 with 66h; stack slots and
 * the popped offset have that size (zero-extended), as the SDM's
 * Pop()/Push() do.
 */
#include "cpu/exec.h"
#include "cpu/exec_priv.h"
#include "cpu/segment.h"

static inline int gp0(struct cpu *c)
{
	return cpu_raise(c, VEC_GP, true, 0);
}

/*
 * Checks a far JMP or CALL target (SDM Vol. 2A JMP, Operation, "far jump
 * to a conforming / non-conforming code segment"): not null, in its
 * table, a code segment (#GP(selector) for system descriptors: call
 * gates are not modeled, TSSs and task gates are invalid in IA-32e mode),
 * DPL <= CPL if conforming, else RPL <= CPL and DPL == CPL; present;
 * 64-bit code; the offset canonical.
 */
static int far_target(struct cpu *c, u16 sel, u64 off, struct desc *d)
{
	if ((sel & ~SEL_RPL) == 0)
		return gp0(c);
	if (seg_fetch(c, sel, false, d))
		return EXEC_FAULT;
	u32 a = desc_attr(d);
	unsigned dpl = desc_dpl(d);
	bool ok = desc_is_code(d) && ((a & AR_TYPE_CONF) ? dpl <= c->cpl : (sel & SEL_RPL) <= c->cpl && dpl == c->cpl);
	if (!ok)
		return cpu_raise(c, VEC_GP, true, sel_error(sel, false));
	if (!(a & AR_P))
		return cpu_raise(c, VEC_NP, true, sel_error(sel, false));
	if (!(a & AR_L) || (a & AR_DB)) // compatibility mode is not modeled; L = D = 1 is reserved
		return cpu_raise(c, VEC_GP, true, sel_error(sel, false));
	if (!mmu_is_canonical(off))
		return gp0(c);
	return seg_mark_accessed(c, sel, d);
}

/* Reads the far pointer m16:sz at the memory operand: the offset first, the selector after it. */
static int read_far_ptr(struct cpu *c, const struct insn *i, u64 *off, u16 *sel)
{
	gva_t ea = cpu_ea(c, i);
	u64 s;
	if (cpu_read(c, ea, i->osz, off) || cpu_read(c, ea + i->osz, 2, &s))
		return EXEC_FAULT;
	*sel = (u16)s;
	return 0;
}

/* Enters code segment sel (RPL replaced by the CPL) at off. */
static int enter_same_level(struct cpu *c, u16 sel, const struct desc *d, u64 off)
{
	seg_load_cs(c, (u16)((sel & ~SEL_RPL) | c->cpl), desc_attr(d));
	c->r[REG_RIP] = off;
	return EXEC_JUMP;
}

/* JMP m16:16/32/64 (FF /5). */
static int op_jmp_Mp(struct cpu *c, const struct insn *i)
{
	u64 off;
	u16 sel;
	struct desc d;
	if (read_far_ptr(c, i, &off, &sel) || far_target(c, sel, off, &d))
		return EXEC_FAULT;
	return enter_same_level(c, sel, &d, off);
}

/* CALL m16:16/32/64 (FF /3): pushes CS, then the return offset, each in an operand-size slot. */
static int op_call_Mp(struct cpu *c, const struct insn *i)
{
	unsigned sz = i->osz;
	u64 off, rsp = c->r[RSP] - 2 * sz;
	u16 sel;
	struct desc d;
	if (read_far_ptr(c, i, &off, &sel) || far_target(c, sel, off, &d))
		return EXEC_FAULT;
	if (cpu_probe(c, rsp, 2 * sz, ACC_WRITE) || cpu_write(c, rsp + sz, sz, c->seg[SREG_CS].sel) ||
	    cpu_write(c, rsp, sz, c->r[REG_RIP] + i->len))
		return EXEC_FAULT;
	c->r[RSP] = rsp;
	return enter_same_level(c, sel, &d, off);
}

/* The values a far RET or IRET pops, and where its checks say to go. */
struct far_return {
	u64 rip, rflags, rsp;
	u16 cs, ss;
	struct desc cs_desc, ss_desc;
};

/*
 * Loads what a return to CS.RPL decided: CS and CPL, and, for a return to
 * an outer level or any IRET, SS:RSP; then nulls data segments the new
 * CPL may not use (SDM Vol. 2B RET and IRET, Operation).
 */
static void return_commit(struct cpu *c, const struct far_return *f, bool load_stack)
{
	unsigned old_cpl = c->cpl;
	seg_load_cs(c, f->cs, desc_attr(&f->cs_desc));
	c->r[REG_RIP] = f->rip;
	if (load_stack) {
		if ((f->ss & ~SEL_RPL) == 0)
			seg_load_null(c, SREG_SS, f->ss);
		else
			seg_load(c, SREG_SS, f->ss, &f->ss_desc);
		c->r[RSP] = f->rsp;
	}
	if (c->cpl > old_cpl)
		seg_null_outer(c);
}

/* Checks the popped CS (and, when `stack`, SS) and the RIP; marks the descriptors accessed. */
static int return_checks(struct cpu *c, struct far_return *f, bool stack)
{
	if (seg_check_return_cs(c, f->cs, &f->cs_desc))
		return EXEC_FAULT;
	if (stack && seg_check_return_ss(c, f->ss, f->cs & SEL_RPL, &f->ss_desc))
		return EXEC_FAULT;
	if (!mmu_is_canonical(f->rip))
		return gp0(c);
	if (seg_mark_accessed(c, f->cs, &f->cs_desc))
		return EXEC_FAULT;
	if (stack && (f->ss & ~SEL_RPL) && seg_mark_accessed(c, f->ss, &f->ss_desc))
		return EXEC_FAULT;
	return 0;
}

/*
 * RET far (CB, CA iw; REX.W CB is LRETQ). Pops the offset and CS; to the
 * same level RSP then drops imm16 more bytes. To an outer level (CS.RPL >
 * CPL) it also pops RSP and SS after skipping imm16 bytes, and the new
 * stack drops imm16 bytes too.
 */
static int op_ret_far(struct cpu *c, const struct insn *i)
{
	unsigned sz = i->osz;
	u64 rsp = c->r[RSP], cs, imm = i->imm & 0xffff, ss = 0;
	struct far_return f = { 0 };
	if (cpu_read(c, rsp, sz, &f.rip) || cpu_read(c, rsp + sz, sz, &cs))
		return EXEC_FAULT;
	f.cs = (u16)cs;
	bool outer = (f.cs & SEL_RPL) > c->cpl;
	u64 after = rsp + 2 * sz + imm;
	if (outer && (cpu_read(c, after, sz, &f.rsp) || cpu_read(c, after + sz, sz, &ss)))
		return EXEC_FAULT;
	f.ss = (u16)ss;
	f.rsp += imm;
	if (return_checks(c, &f, outer))
		return EXEC_FAULT;
	if (!outer)
		c->r[RSP] = after;
	return_commit(c, &f, outer);
	return EXEC_JUMP;
}

/*
 * The RFLAGS bits IRET loads (SDM Vol. 2B IRET, Operation,
 * RETURN-TO-SAME/OUTER-PRIVILEGE-LEVEL), decided by the CPL before the
 * return: the arithmetic flags, TF, DF and NT always; AC and ID with a
 * 32- or 64-bit operand; IF only if CPL <= IOPL; IOPL, and VIF and VIP
 * with a 32- or 64-bit operand, only at CPL 0. RF is not kept (see
 * exception.c) and VM cannot be set in IA-32e mode.
 */
static u64 iret_mask(const struct cpu *c, unsigned sz)
{
	u64 m = RFLAGS_ARITH | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT;
	if (sz >= 4)
		m |= RFLAGS_AC | RFLAGS_ID;
	if (c->cpl <= ((c->rflags & RFLAGS_IOPL) >> 12))
		m |= RFLAGS_IF;
	if (c->cpl == 0)
		m |= RFLAGS_IOPL | (sz >= 4 ? RFLAGS_VIF | RFLAGS_VIP : 0);
	return sz == 2 ? m & 0xffff : m;
}

/*
 * IRET/IRETD/IRETQ (CF) in 64-bit mode: pops RIP, CS, RFLAGS, RSP and SS
 * (all five, whatever the privilege levels), each operand-size wide.
 * RFLAGS.NT = 1 asks for a task return, which IA-32e mode does not have:
 * #GP(0). Setting IF may let a pending interrupt in at the next boundary.
 */
static int op_iret(struct cpu *c, const struct insn *i)
{
	unsigned sz = i->osz;
	u64 rsp = c->r[RSP], v[5];
	struct far_return f = { 0 };
	if (c->rflags & RFLAGS_NT)
		return gp0(c);
	for (unsigned k = 0; k < 5; k++)
		if (cpu_read(c, rsp + k * sz, sz, &v[k]))
			return EXEC_FAULT;
	f.rip = v[0], f.cs = (u16)v[1], f.rflags = v[2], f.rsp = v[3], f.ss = (u16)v[4];
	if (return_checks(c, &f, true))
		return EXEC_FAULT;
	u64 was_if = c->rflags & RFLAGS_IF;
	flags_merge(c, iret_mask(c, sz), f.rflags);
	return_commit(c, &f, true);
	if (!was_if && (c->rflags & RFLAGS_IF))
		cpu_kick(c);
	return EXEC_JUMP;
}

insn_fn priv_sel_far(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || (i->osz != 2 && i->osz != 4 && i->osz != 8))
		return NULL;
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_JMP: return i->k[0] == OPK_MEM ? op_jmp_Mp : NULL;
	case ZYDIS_MNEMONIC_CALL: return i->k[0] == OPK_MEM ? op_call_Mp : NULL;
	case ZYDIS_MNEMONIC_RET: return op_ret_far;
	default: return NULL;
	}
}

static insn_fn sel_iret(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return (i->flags & INSN_LOCK) ? NULL : op_iret;
}

const struct op_entry exec_far_ops[] = {
	{ ZYDIS_MNEMONIC_IRET, sel_iret },
	{ ZYDIS_MNEMONIC_IRETD, sel_iret },
	{ ZYDIS_MNEMONIC_IRETQ, sel_iret },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
