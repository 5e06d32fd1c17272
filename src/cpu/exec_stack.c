/* SPDX-License-Identifier: MIT */
/*
 * The stack instructions (SDM Vol. 2: PUSH, POP, PUSHF/PUSHFQ,
 * POPF/POPFQ, ENTER, LEAVE). In 64-bit mode the stack is always 64-bit
 * (RSP, no SS base); 66h makes the pushed or popped item 16 bits wide and
 * there is no 32-bit form.
 *
 * Fault before commit (STYLE E2): every handler does its memory accesses
 * before it changes RSP or the destination; ENTER, which makes several,
 * probes them all first. PUSH r64 and POP r64 open code the push so that
 * a function prologue is two inline TLB hits and no call.
 */
#include "cpu/exec.h"

/* Pushes the low sz bytes of v; RSP changes only if the store succeeds. */
static inline __attribute__((always_inline)) int push(struct cpu *c, unsigned sz, u64 v)
{
	u64 rsp = c->r[RSP] - sz;
	if (cpu_write(c, rsp, sz, v))
		return EXEC_FAULT;
	c->r[RSP] = rsp;
	return EXEC_NEXT;
}

/* Pops sz bytes into *v; RSP changes only if the load succeeds. */
static inline __attribute__((always_inline)) int pop(struct cpu *c, unsigned sz, u64 *v)
{
	if (cpu_read(c, c->r[RSP], sz, v))
		return EXEC_FAULT;
	c->r[RSP] += sz;
	return EXEC_NEXT;
}

/* PUSH RSP pushes the value RSP had before the instruction, which push() reads first. */
static int op_push_Zq(struct cpu *c, const struct insn *i)
{
	return push(c, 8, c->r[i->r[0]]);
}

static int op_push_Zw(struct cpu *c, const struct insn *i)
{
	return push(c, 2, c->r[i->r[0]]);
}

/* PUSH imm8/imm16/imm32: the immediate is already sign-extended to 64 bits. */
static int op_push_Iq(struct cpu *c, const struct insn *i)
{
	return push(c, 8, i->imm);
}

static int op_push_Iw(struct cpu *c, const struct insn *i)
{
	return push(c, 2, i->imm);
}

/* PUSH m: the address is computed with RSP before the push. */
static int op_push_M(struct cpu *c, const struct insn *i)
{
	u64 v;
	if (cpu_read(c, cpu_ea(c, i), i->osz, &v))
		return EXEC_FAULT;
	return push(c, i->osz, v);
}

/* POP RSP: the increment happens first, then the popped value replaces RSP (SDM POP). */
static int op_pop_Zq(struct cpu *c, const struct insn *i)
{
	u64 v;
	if (pop(c, 8, &v))
		return EXEC_FAULT;
	c->r[i->r[0]] = v;
	return EXEC_NEXT;
}

static int op_pop_Zw(struct cpu *c, const struct insn *i)
{
	u64 v;
	if (pop(c, 2, &v))
		return EXEC_FAULT;
	cpu_reg_set(c, i->r[0], 2, v);
	return EXEC_NEXT;
}

/*
 * POP m. SDM POP: "If the ESP register is used as a base register for
 * addressing a destination operand in memory, the POP instruction
 * computes the effective address of the operand after it increments the
 * ESP register." So RSP is raised before cpu_ea and put back if the store
 * faults.
 */
static int op_pop_M(struct cpu *c, const struct insn *i)
{
	u64 v, rsp = c->r[RSP];
	if (cpu_read(c, rsp, i->osz, &v))
		return EXEC_FAULT;
	c->r[RSP] = rsp + i->osz;
	if (cpu_write(c, cpu_ea(c, i), i->osz, v)) {
		c->r[RSP] = rsp;
		return EXEC_FAULT;
	}
	return EXEC_NEXT;
}

static insn_fn sel_push(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	bool q = i->osz == 8;
	if ((i->flags & INSN_LOCK) || i->nops != 1 || (i->osz != 8 && i->osz != 2))
		return NULL;
	switch (i->k[0]) {
	case OPK_REG: return q ? op_push_Zq : op_push_Zw;
	case OPK_IMM: return q ? op_push_Iq : op_push_Iw;
	case OPK_MEM: return op_push_M;
	default: return NULL; // PUSH FS/GS
	}
}

static insn_fn sel_pop(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || i->nops != 1 || (i->osz != 8 && i->osz != 2))
		return NULL;
	switch (i->k[0]) {
	case OPK_REG: return i->osz == 8 ? op_pop_Zq : op_pop_Zw;
	case OPK_MEM: return op_pop_M;
	default: return NULL; // POP FS/GS
	}
}

/* SDM PUSHF: "The VM and RF flags (bits 16 and 17) are not copied; instead, [they are] cleared". */
static int op_pushf(struct cpu *c, const struct insn *i)
{
	return push(c, i->osz, flags_get(c) & ~(RFLAGS_RF | RFLAGS_VM));
}

/*
 * POPF/POPFQ in 64-bit mode (SDM POPF, Operation): at CPL 0 every
 * non-reserved flag may change except VIP, VIF and VM, and RF is cleared;
 * above CPL 0 IOPL stays, and IF changes only when CPL <= IOPL. The
 * 16-bit form replaces only bits 15:0 and leaves RF alone. Reserved bits
 * keep their values (bit 1 stays set). Setting IF may let a pending
 * interrupt in after this instruction (no shadow, unlike STI), so the
 * run loop is told (cpu_kick).
 */
#define POPF_BITS (RFLAGS_ARITH | RFLAGS_TF | RFLAGS_IF | RFLAGS_DF | RFLAGS_IOPL | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID)

static u64 popf_mask(const struct cpu *c, unsigned sz)
{
	u64 mask = POPF_BITS;
	if (c->cpl > 0) {
		mask &= ~RFLAGS_IOPL;
		if (c->cpl > ((c->rflags & RFLAGS_IOPL) >> 12))
			mask &= ~RFLAGS_IF;
	}
	return sz == 2 ? mask & 0xffff : mask | RFLAGS_RF;
}

static int op_popf(struct cpu *c, const struct insn *i)
{
	u64 v, was_if = c->rflags & RFLAGS_IF;
	if (pop(c, i->osz, &v))
		return EXEC_FAULT;
	flags_merge(c, popf_mask(c, i->osz), v & ~RFLAGS_RF);
	if (!was_if && (c->rflags & RFLAGS_IF))
		cpu_kick(c);
	return EXEC_NEXT;
}

static insn_fn sel_flags(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || (i->osz != 8 && i->osz != 2))
		return NULL;
	bool is_push = zi->mnemonic == ZYDIS_MNEMONIC_PUSHF || zi->mnemonic == ZYDIS_MNEMONIC_PUSHFQ;
	return is_push ? op_pushf : op_popf;
}

/*
 * ENTER imm16, imm8 (SDM ENTER, Operation, 64-bit stack):
 *   Push(RBP); FrameTemp := RSP;
 *   if level > 0: for k = 1 .. level-1: Push([RBP - k*size]); Push(FrameTemp)
 *   RBP := FrameTemp; RSP := RSP - imm16
 * With 66h every item is 16 bits and only BP receives FrameTemp (the
 * upper 48 bits of RBP stay, as the host shows); the frame reads still use
 * the full RBP. The level is taken modulo 32. All accesses are probed in
 * the order the processor makes them before any of them is done, so that
 * the first fault leaves every register and byte as it was.
 */
static int enter_probe(struct cpu *c, unsigned sz, unsigned level)
{
	u64 slot = c->r[RSP] - sz, rbp = c->r[RBP];
	if (cpu_probe(c, slot, sz, ACC_WRITE))
		return EXEC_FAULT;
	for (unsigned k = 1; k <= level; k++) {
		if (k < level && cpu_probe(c, rbp - k * sz, sz, ACC_READ))
			return EXEC_FAULT;
		if (cpu_probe(c, slot - k * sz, sz, ACC_WRITE))
			return EXEC_FAULT;
	}
	return 0;
}

/* Does what enter_probe checked; a fault here means the page tables changed under us. */
static int enter_commit(struct cpu *c, unsigned sz, unsigned level, u64 frame)
{
	u64 rbp = c->r[RBP], v;
	if (cpu_write(c, frame, sz, rbp))
		return EXEC_FAULT;
	for (unsigned k = 1; k < level; k++)
		if (cpu_read(c, rbp - k * sz, sz, &v) || cpu_write(c, frame - k * sz, sz, v))
			return EXEC_FAULT;
	if (level && cpu_write(c, frame - level * sz, sz, frame))
		return EXEC_FAULT;
	return 0;
}

static int op_enter_Iw_Ib(struct cpu *c, const struct insn *i)
{
	unsigned sz = i->osz, level = i->imm2 & 31;
	u64 frame = c->r[RSP] - sz;
	if (enter_probe(c, sz, level) || enter_commit(c, sz, level, frame))
		return EXEC_FAULT;
	cpu_reg_set(c, RBP, sz, frame);
	c->r[RSP] = frame - level * sz - (i->imm & 0xffff);
	return EXEC_NEXT;
}

/* LEAVE: RSP := RBP, then pop RBP (BP with 66h, which keeps RBP's upper bits). */
static int op_leave(struct cpu *c, const struct insn *i)
{
	u64 v, rbp = c->r[RBP];
	if (cpu_read(c, rbp, i->osz, &v))
		return EXEC_FAULT;
	c->r[RSP] = rbp + i->osz;
	cpu_reg_set(c, RBP, i->osz, v);
	return EXEC_NEXT;
}

static insn_fn sel_enter(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || (i->osz != 8 && i->osz != 2))
		return NULL;
	return op_enter_Iw_Ib;
}

static insn_fn sel_leave(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || (i->osz != 8 && i->osz != 2))
		return NULL;
	return op_leave;
}

const struct op_entry exec_stack_ops[] = {
	{ ZYDIS_MNEMONIC_PUSH, sel_push },
	{ ZYDIS_MNEMONIC_POP, sel_pop },
	{ ZYDIS_MNEMONIC_PUSHF, sel_flags },
	{ ZYDIS_MNEMONIC_PUSHFQ, sel_flags },
	{ ZYDIS_MNEMONIC_POPF, sel_flags },
	{ ZYDIS_MNEMONIC_POPFQ, sel_flags },
	{ ZYDIS_MNEMONIC_ENTER, sel_enter },
	{ ZYDIS_MNEMONIC_LEAVE, sel_leave },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
