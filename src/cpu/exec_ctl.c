/* SPDX-License-Identifier: MIT */
/*
 * Near control transfers in 64-bit mode (SDM Vol. 2A/2B: JMP, Jcc, CALL,
 * RET, JRCXZ/JECXZ, LOOP/LOOPcc). Far JMP, CALL and RET go through the
 * GDT: their selectors hand them to exec_far.c (priv_sel_far).
 *
 * Every transfer checks its target first: one that is not canonical
 * raises #GP(0) on the branch itself, with RIP, RSP, RCX and memory
 * unchanged (SDM Vol. 2A JMP and CALL, Vol. 2B RET, 64-bit mode
 * exceptions; natively, the host too reports the fault at the JMP).
 *
 * Operand size: Intel forces near JMP, Jcc, CALL, RET, JRCXZ and LOOP to
 * 64 bits in 64-bit mode and silently ignores 66h (SDM Vol. 1 6.3.7,
 * "Branch Functions in 64-Bit Mode"), so a 66h CALL still takes a rel32
 * and pushes 8 bytes. AMD honours 66h (rel16, 2-byte pushes and pops,
 * target truncated to 16 bits). Facet models Intel; Zydis decodes the
 * Intel way unless ZYDIS_DECODER_MODE_AMD_BRANCHES is set, and the
 * selectors refuse any other operand width. The development host is an
 * AMD processor (checked natively: 66h CALL, JMP, Jcc, RET and LOOP all
 * truncate RIP there), so native runs of 66h branches disagree.
 *
 * Workload: Jcc, CALL and RET are among the most frequent instructions;
 * each handler is a few loads, a compare and a store.
 */
#include "cpu/exec.h"
#include "cpu/exec_priv.h"

/* Moves RIP to target, or raises #GP(0) for a non-canonical target with nothing changed. */
static inline int jump_to(struct cpu *c, u64 target)
{
	if (unlikely(!mmu_is_canonical(target)))
		return cpu_raise(c, VEC_GP, true, 0);
	c->r[REG_RIP] = target;
	return EXEC_JUMP;
}

/* Target of a relative branch: the decoder sign-extended rel8/rel32 into imm. */
static inline u64 rel_target(const struct cpu *c, const struct insn *i)
{
	return c->r[REG_RIP] + i->len + i->imm;
}

/* JMP rel8 / rel32 (EB cb, E9 cd). */
static int op_jmp_J(struct cpu *c, const struct insn *i)
{
	return jump_to(c, rel_target(c, i));
}

/* JMP r64 (FF /4, register form). */
static int op_jmp_Rq(struct cpu *c, const struct insn *i)
{
	return jump_to(c, c->r[i->r[0]]);
}

/* JMP m64 (FF /4, memory form): the load can fault before anything changes. */
static int op_jmp_Mq(struct cpu *c, const struct insn *i)
{
	u64 target;
	if (cpu_read(c, cpu_ea(c, i), 8, &target))
		return EXEC_FAULT;
	return jump_to(c, target);
}

/* Jcc rel8 / rel32 (7x cb, 0F 8x cd): i->cc is the low opcode nibble. */
static int op_jcc_J(struct cpu *c, const struct insn *i)
{
	if (flags_cond(c, i->cc))
		return jump_to(c, rel_target(c, i));
	return EXEC_NEXT;
}

/*
 * Pushes the address of the next instruction and jumps. The target is
 * checked before the push, and the push commits RSP only when the store
 * succeeded, so either fault leaves RSP, memory and RIP as they were
 * (SDM Vol. 2A CALL: #GP(0) for a non-canonical target, then the push).
 */
static inline int call_to(struct cpu *c, const struct insn *i, u64 target)
{
	if (unlikely(!mmu_is_canonical(target)))
		return cpu_raise(c, VEC_GP, true, 0);
	if (cpu_push(c, 8, c->r[REG_RIP] + i->len))
		return EXEC_FAULT;
	c->r[REG_RIP] = target;
	return EXEC_JUMP;
}

/* CALL rel32 (E8 cd). */
static int op_call_J(struct cpu *c, const struct insn *i)
{
	return call_to(c, i, rel_target(c, i));
}

/* CALL r64 (FF /2): the target is read before the push, so `call rsp` uses the old RSP. */
static int op_call_Rq(struct cpu *c, const struct insn *i)
{
	return call_to(c, i, c->r[i->r[0]]);
}

/* CALL m64 (FF /2): the address is computed from the registers before the push. */
static int op_call_Mq(struct cpu *c, const struct insn *i)
{
	u64 target;
	if (cpu_read(c, cpu_ea(c, i), 8, &target))
		return EXEC_FAULT;
	return call_to(c, i, target);
}

/* Pops the return address and releases `extra` more bytes; RSP changes only on success. */
static inline int ret_common(struct cpu *c, u64 extra)
{
	u64 target;
	if (cpu_read(c, c->r[RSP], 8, &target))
		return EXEC_FAULT;
	if (unlikely(!mmu_is_canonical(target)))
		return cpu_raise(c, VEC_GP, true, 0);
	c->r[RSP] += 8 + extra;
	c->r[REG_RIP] = target;
	return EXEC_JUMP;
}

/* RET (C3). */
static int op_ret(struct cpu *c, const struct insn *i)
{
	(void)i;
	return ret_common(c, 0);
}

/* RET imm16 (C2 iw): the immediate is zero-extended (callee-popped arguments). */
static int op_ret_Iw(struct cpu *c, const struct insn *i)
{
	return ret_common(c, (u16)i->imm);
}

/* JRCXZ rel8 (E3 cb). */
static int op_jrcxz_Jb(struct cpu *c, const struct insn *i)
{
	if (c->r[RCX] == 0)
		return jump_to(c, rel_target(c, i));
	return EXEC_NEXT;
}

/* JECXZ rel8 (67 E3 cb): tests ECX only. */
static int op_jecxz_Jb(struct cpu *c, const struct insn *i)
{
	if ((u32)c->r[RCX] == 0)
		return jump_to(c, rel_target(c, i));
	return EXEC_NEXT;
}

/*
 * The LOOP family: decrement the count (RCX, or ECX with 67h, whose write
 * zero-extends into RCX like any 32-bit register write; the host agrees),
 * then branch if the count is not zero and `cond` holds. Flags are not
 * changed. The decrement is committed only together with the branch or
 * the fall-through, never before a #GP on the target.
 */
static inline int loop_common(struct cpu *c, const struct insn *i, bool a32, bool cond)
{
	u64 count = a32 ? (u32)(c->r[RCX] - 1) : c->r[RCX] - 1;
	if (count != 0 && cond) {
		u64 target = rel_target(c, i);
		if (unlikely(!mmu_is_canonical(target)))
			return cpu_raise(c, VEC_GP, true, 0);
		c->r[RCX] = count;
		c->r[REG_RIP] = target;
		return EXEC_JUMP;
	}
	c->r[RCX] = count;
	return EXEC_NEXT;
}

/* LOOP, LOOPE and LOOPNE rel8 (E2, E1, E0), with 64- and 32-bit (67h) counts. */
static int op_loop_Jb(struct cpu *c, const struct insn *i)
{
	return loop_common(c, i, false, true);
}
static int op_loop_Jb_a32(struct cpu *c, const struct insn *i)
{
	return loop_common(c, i, true, true);
}
static int op_loope_Jb(struct cpu *c, const struct insn *i)
{
	return loop_common(c, i, false, flags_cond(c, 0x4));
}
static int op_loope_Jb_a32(struct cpu *c, const struct insn *i)
{
	return loop_common(c, i, true, flags_cond(c, 0x4));
}
static int op_loopne_Jb(struct cpu *c, const struct insn *i)
{
	return loop_common(c, i, false, flags_cond(c, 0x5));
}
static int op_loopne_Jb_a32(struct cpu *c, const struct insn *i)
{
	return loop_common(c, i, true, flags_cond(c, 0x5));
}

/* True for a near branch of Intel's fixed 64-bit operand size (see the header). */
static bool is_near64(const ZydisDecodedInstruction *zi)
{
	return zi->meta.branch_type != ZYDIS_BRANCH_TYPE_FAR && zi->operand_width == 64;
}

/* Picks the handler for a relative, register or memory target. */
static insn_fn pick_target(const struct insn *i, insn_fn rel, insn_fn reg, insn_fn mem)
{
	switch (i->k[0]) {
	case OPK_IMM: return rel;
	case OPK_REG: return reg;
	case OPK_MEM: return mem;
	default: return NULL;
	}
}

static insn_fn sel_jmp(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
		return priv_sel_far(i, zi, zo);
	return is_near64(zi) ? pick_target(i, op_jmp_J, op_jmp_Rq, op_jmp_Mq) : NULL;
}

static insn_fn sel_call(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
		return priv_sel_far(i, zi, zo);
	return is_near64(zi) ? pick_target(i, op_call_J, op_call_Rq, op_call_Mq) : NULL;
}

static insn_fn sel_jcc(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return is_near64(zi) && i->k[0] == OPK_IMM ? op_jcc_J : NULL;
}

static insn_fn sel_ret(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
		return priv_sel_far(i, zi, zo);
	if (!is_near64(zi))
		return NULL;
	return i->nops == 0 ? op_ret : op_ret_Iw;
}

static insn_fn sel_jrcxz(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return is_near64(zi) ? op_jrcxz_Jb : NULL;
}

static insn_fn sel_jecxz(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return is_near64(zi) ? op_jecxz_Jb : NULL;
}

/* LOOP* with 67h count ECX; Zydis reports that as a 32-bit address width. */
static insn_fn sel_loop(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (!is_near64(zi))
		return NULL;
	bool a32 = zi->address_width == 32;
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_LOOP: return a32 ? op_loop_Jb_a32 : op_loop_Jb;
	case ZYDIS_MNEMONIC_LOOPE: return a32 ? op_loope_Jb_a32 : op_loope_Jb;
	case ZYDIS_MNEMONIC_LOOPNE: return a32 ? op_loopne_Jb_a32 : op_loopne_Jb;
	default: return NULL;
	}
}

const struct op_entry exec_ctl_ops[] = {
	{ ZYDIS_MNEMONIC_JMP, sel_jmp },       { ZYDIS_MNEMONIC_CALL, sel_call },
	{ ZYDIS_MNEMONIC_RET, sel_ret },       { ZYDIS_MNEMONIC_JO, sel_jcc },
	{ ZYDIS_MNEMONIC_JNO, sel_jcc },       { ZYDIS_MNEMONIC_JB, sel_jcc },
	{ ZYDIS_MNEMONIC_JNB, sel_jcc },       { ZYDIS_MNEMONIC_JZ, sel_jcc },
	{ ZYDIS_MNEMONIC_JNZ, sel_jcc },       { ZYDIS_MNEMONIC_JBE, sel_jcc },
	{ ZYDIS_MNEMONIC_JNBE, sel_jcc },      { ZYDIS_MNEMONIC_JS, sel_jcc },
	{ ZYDIS_MNEMONIC_JNS, sel_jcc },       { ZYDIS_MNEMONIC_JP, sel_jcc },
	{ ZYDIS_MNEMONIC_JNP, sel_jcc },       { ZYDIS_MNEMONIC_JL, sel_jcc },
	{ ZYDIS_MNEMONIC_JNL, sel_jcc },       { ZYDIS_MNEMONIC_JLE, sel_jcc },
	{ ZYDIS_MNEMONIC_JNLE, sel_jcc },      { ZYDIS_MNEMONIC_JRCXZ, sel_jrcxz },
	{ ZYDIS_MNEMONIC_JECXZ, sel_jecxz },   { ZYDIS_MNEMONIC_LOOP, sel_loop },
	{ ZYDIS_MNEMONIC_LOOPE, sel_loop },    { ZYDIS_MNEMONIC_LOOPNE, sel_loop },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
