/* SPDX-License-Identifier: MIT */
/*
 * The ways into the kernel and back that are not IRET (SDM Vol. 2A INT
 * n/INTO/INT3/INT1, Vol. 2B SYSCALL and SYSRET): software interrupts
 * through the IDT, and the fast system call pair that loads fixed CS and
 * SS values from IA32_STAR with no descriptor reads.
 *
 * INT n and INT3 are software interrupts: the gate's DPL must be at least
 * the CPL, and the frame's RIP is the next instruction. A fault while
 * delivering one is a fault of the INT instruction (RIP back on it), then
 * delivered by the run loop. With no IDT (exception.h) the run stops with
 * the vector and RIP after the instruction, as a trap would show it.
 * INTO does not exist in 64-bit mode (the decoder's #UD).
 *
 * Model limit: SYSRET without REX.W returns to compatibility mode, which
 * Facet does not model: it raises #UD.
 */
#include "cpu/exception.h"
#include "cpu/exec.h"
#include "cpu/segment.h"

/* Fixed segments SYSCALL and SYSRET load (SDM Vol. 2B SYSCALL, Operation): flat, 64-bit code. */
#define AR_CODE64_DPL0 (0xbu | AR_S | AR_P | AR_L | AR_G)
#define AR_DATA_DPL0 (0x3u | AR_S | AR_P | AR_DB | AR_G)
#define AR_DPL3 (3u << AR_DPL_SHIFT)
#define SYSRET_RFLAGS 0x3c7fd7ULL // what SYSRET takes from R11: RF, VM and reserved bits cleared

/* Delivers software interrupt vec, or leaves RIP on the instruction with the delivery fault pending. */
static int soft_int(struct cpu *c, const struct insn *i, u8 vec, enum event_kind kind)
{
	u64 rip = c->r[REG_RIP];
	c->r[REG_RIP] = rip + i->len;
	if (c->idtr.limit == 0)
		return cpu_raise(c, vec, false, 0); // no IDT: the run loop reports it (exception.h)
	if (exception_deliver_once(c, vec, kind, false, 0)) {
		c->r[REG_RIP] = rip;
		return EXEC_FAULT;
	}
	return EXEC_JUMP;
}

/* INT imm8 (CD ib). */
static int op_int_Ib(struct cpu *c, const struct insn *i)
{
	return soft_int(c, i, (u8)i->imm, EVENT_SOFTWARE);
}

/* INT3 (CC): #BP as a software interrupt (gate DPL checked). */
static int op_int3(struct cpu *c, const struct insn *i)
{
	return soft_int(c, i, VEC_BP, EVENT_SOFTWARE);
}

/* INT1 / ICEBP (F1): #DB like a hardware event: no DPL check, EXT set in error codes. */
static int op_int1(struct cpu *c, const struct insn *i)
{
	return soft_int(c, i, VEC_DB, EVENT_ICEBP);
}

/* Loads a flat SS with selector sel and the given access rights. */
static void load_flat_ss(struct cpu *c, u16 sel, u32 attr)
{
	c->seg[SREG_SS] = (struct segment){ .sel = sel, .attr = attr, .limit = 0xffffffffu };
}

/*
 * SYSCALL (0F 05): #UD unless EFER.SCE. RCX = next RIP, R11 = RFLAGS,
 * RFLAGS &= ~IA32_FMASK, CS = STAR[47:32] & FFFCh and SS = STAR[47:32]
 * + 8 (RPL bits and all, as the SDM writes it) as flat ring-0 segments,
 * RIP = IA32_LSTAR (canonical: WRMSR checked it).
 */
static int op_syscall(struct cpu *c, const struct insn *i)
{
	if (!(c->efer & EFER_SCE))
		return cpu_raise(c, VEC_UD, false, 0);
	u64 rflags = flags_get(c);
	u16 sel = (u16)(c->star >> 32);
	c->r[RCX] = c->r[REG_RIP] + i->len;
	c->r[R11] = rflags;
	flags_set(c, rflags & ~c->sfmask & ~RFLAGS_RF);
	seg_load_cs(c, sel & ~SEL_RPL, AR_CODE64_DPL0);
	load_flat_ss(c, (u16)(sel + 8), AR_DATA_DPL0);
	c->r[REG_RIP] = c->lstar;
	return EXEC_JUMP;
}

/*
 * SYSRET with REX.W (48 0F 07): #UD unless EFER.SCE; #GP(0) at CPL > 0;
 * #GP(0), still at CPL 0, when RCX is not canonical (Intel checks before
 * switching, so the kernel's #GP handler runs on its own stack, SDM Vol.
 * 2B SYSRET). Then RIP = RCX, RFLAGS = (R11 & 3C7FD7h) | 2, CS =
 * STAR[63:48] + 16 and SS = STAR[63:48] + 8, both with RPL 3, as flat
 * ring-3 segments.
 */
static int op_sysret(struct cpu *c, const struct insn *i)
{
	if (!(c->efer & EFER_SCE) || i->osz != 8)
		return cpu_raise(c, VEC_UD, false, 0);
	if (c->cpl != 0 || !mmu_is_canonical(c->r[RCX]))
		return cpu_raise(c, VEC_GP, true, 0);
	u16 base = (u16)(c->star >> 48);
	flags_set(c, (c->r[R11] & SYSRET_RFLAGS) | RFLAGS_FIXED1);
	seg_load_cs(c, (u16)((base + 16) | 3), AR_CODE64_DPL0 | AR_DPL3);
	load_flat_ss(c, (u16)((base + 8) | 3), AR_DATA_DPL0 | AR_DPL3);
	c->r[REG_RIP] = c->r[RCX];
	if (c->rflags & RFLAGS_IF)
		cpu_kick(c);
	return EXEC_JUMP;
}

static insn_fn sel_int(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (i->flags & INSN_LOCK)
		return NULL;
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_INT: return op_int_Ib;
	case ZYDIS_MNEMONIC_INT3: return op_int3;
	case ZYDIS_MNEMONIC_INT1: return op_int1;
	case ZYDIS_MNEMONIC_SYSCALL: return op_syscall;
	case ZYDIS_MNEMONIC_SYSRET: return op_sysret;
	default: return NULL;
	}
}

const struct op_entry exec_int_ops[] = {
	{ ZYDIS_MNEMONIC_INT, sel_int },     { ZYDIS_MNEMONIC_INT3, sel_int },
	{ ZYDIS_MNEMONIC_INT1, sel_int },    { ZYDIS_MNEMONIC_SYSCALL, sel_int },
	{ ZYDIS_MNEMONIC_SYSRET, sel_int },  { ZYDIS_MNEMONIC_INVALID, NULL },
};
