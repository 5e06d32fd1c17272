/* SPDX-License-Identifier: MIT */
/*
 * Data movement without the stack or atomics (SDM Vol. 2: MOV, MOVZX,
 * MOVSX, MOVSXD, MOVBE, CMOVcc, SETcc, BSWAP, LEA, XLAT, CBW/CWDE/CDQE,
 * CWD/CDQ/CQO) and the flag instructions LAHF, SAHF, CLC, STC, CMC, CLD,
 * STD. PUSH/POP/ENTER/LEAVE live in exec_stack.c, XCHG/CMPXCHG/XADD in
 * exec_atomic.c.
 *
 * Each form has one always-inline body with the operand size as a
 * parameter; SIZED() stamps out a handler per size and a table of them,
 * and the selector picks the entry at decode time. A MOV handler is so a
 * register load and store, or one cpu_read/cpu_write, with no test on
 * operand kinds at run time (DESIGN section 8).
 * Workload: MOV is the most frequent instruction in compiled code, then
 * LEA, MOVZX and the CMOVcc/SETcc pairs that compilers emit for branches.
 */
#include "cpu/exec.h"
#include "cpu/exec_priv.h"

#define BODY static inline __attribute__((always_inline)) int

/* Maps an operand size to its handler-table slot: 1, 2, 4, 8 -> 0..3; -1 otherwise. */
static int size_index(unsigned sz)
{
	switch (sz) {
	case 1: return 0;
	case 2: return 1;
	case 4: return 2;
	case 8: return 3;
	default: return -1;
	}
}

/* Returns the handler for operand size sz from a SIZED table, or NULL. */
static insn_fn pick(const insn_fn tab[4], unsigned sz)
{
	int k = size_index(sz);
	return k < 0 ? NULL : tab[k];
}

#define SIZED_ONE(name, body, sz) \
	static int name##_##sz(struct cpu *c, const struct insn *i) { return body(c, i, sz); }
/* Defines handlers name_1, name_2, name_4, name_8 from body(c, i, size), and the table name[]. */
#define SIZED(name, body) \
	SIZED_ONE(name, body, 1) SIZED_ONE(name, body, 2) SIZED_ONE(name, body, 4) SIZED_ONE(name, body, 8) \
	static const insn_fn name[4] = { name##_1, name##_2, name##_4, name##_8 };
/* The same for forms without a byte size (CMOVcc, BSWAP, LEA, MOVBE). */
#define SIZED_WDQ(name, body) \
	SIZED_ONE(name, body, 2) SIZED_ONE(name, body, 4) SIZED_ONE(name, body, 8) \
	static const insn_fn name[4] = { NULL, name##_2, name##_4, name##_8 };

/* The operand pattern of a two-operand instruction. */
enum form { F_RR, F_RM, F_MR, F_RI, F_MI, F_BAD };

static enum form form_of(const struct insn *i)
{
	if (i->nops != 2)
		return F_BAD;
	if (i->k[0] == OPK_REG)
		return i->k[1] == OPK_REG ? F_RR : i->k[1] == OPK_MEM ? F_RM : i->k[1] == OPK_IMM ? F_RI : F_BAD;
	if (i->k[0] == OPK_MEM)
		return i->k[1] == OPK_REG ? F_MR : i->k[1] == OPK_IMM ? F_MI : F_BAD;
	return F_BAD;
}

/* Reads operand 1 (a register or the memory operand) at size sz; mem is constant per handler. */
BODY src_read(struct cpu *c, const struct insn *i, unsigned sz, bool mem, u64 *v)
{
	if (mem)
		return cpu_read(c, cpu_ea(c, i), sz, v);
	*v = cpu_reg_get(c, i->r[1], sz);
	return 0;
}

/*
 * MOV. The moffs forms A0-A3 arrive as a memory operand with no base and
 * a 64-bit displacement (or a 32-bit one under 67h), so they share the
 * r<-m / m<-r handlers; B8+r with REX.W (movabs) is the r<-imm form with
 * the full 64-bit immediate.
 */
BODY mov_rr(struct cpu *c, const struct insn *i, unsigned sz)
{
	cpu_reg_set(c, i->r[0], sz, cpu_reg_get(c, i->r[1], sz));
	return EXEC_NEXT;
}
BODY mov_rm(struct cpu *c, const struct insn *i, unsigned sz)
{
	u64 v;
	if (cpu_read(c, cpu_ea(c, i), sz, &v))
		return EXEC_FAULT;
	cpu_reg_set(c, i->r[0], sz, v);
	return EXEC_NEXT;
}
BODY mov_mr(struct cpu *c, const struct insn *i, unsigned sz)
{
	return cpu_write(c, cpu_ea(c, i), sz, cpu_reg_get(c, i->r[1], sz));
}
BODY mov_ri(struct cpu *c, const struct insn *i, unsigned sz)
{
	cpu_reg_set(c, i->r[0], sz, i->imm);
	return EXEC_NEXT;
}
BODY mov_mi(struct cpu *c, const struct insn *i, unsigned sz)
{
	return cpu_write(c, cpu_ea(c, i), sz, i->imm);
}
SIZED(op_mov_Gv_Ev, mov_rr)
SIZED(op_mov_Gv_M, mov_rm)
SIZED(op_mov_M_Gv, mov_mr)
SIZED(op_mov_Gv_Iv, mov_ri)
SIZED(op_mov_M_Iv, mov_mi)

/* MOV to or from segment, control and debug registers: exec_priv.c's forms (priv_sel_mov). */
static insn_fn sel_mov(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (i->flags & INSN_LOCK)
		return NULL;
	switch (form_of(i)) {
	case F_RR: return pick(op_mov_Gv_Ev, i->osz);
	case F_RM: return pick(op_mov_Gv_M, i->osz);
	case F_MR: return pick(op_mov_M_Gv, i->osz);
	case F_RI: return pick(op_mov_Gv_Iv, i->osz);
	case F_MI: return pick(op_mov_M_Iv, i->osz);
	default: return priv_sel_mov(i, zi, zo);
	}
}

/*
 * MOVZX, MOVSX and MOVSXD: destination size d, source size s. A pair with
 * s == d is a plain move: MOVSXD without REX.W (r32 <- r/m32, which
 * zero-extends like any 32-bit write) and with 66h (SDM: r16 <- r/m16;
 * Zydis calls its memory operand m32, the host reads 16 bits), and 66h
 * MOVZX/MOVSX r16, r/m16.
 */
BODY ext(struct cpu *c, const struct insn *i, unsigned d, unsigned s, bool sign, bool mem)
{
	u64 v;
	if (src_read(c, i, s, mem, &v))
		return EXEC_FAULT;
	cpu_reg_set(c, i->r[0], d, sign ? (u64)size_sext(v, s) : v);
	return EXEC_NEXT;
}
#define EXT_PAIR(d, s) \
	static int op_movzx_Gv_E##s##_##d(struct cpu *c, const struct insn *i) { return ext(c, i, d, s, false, false); } \
	static int op_movzx_Gv_M##s##_##d(struct cpu *c, const struct insn *i) { return ext(c, i, d, s, false, true); } \
	static int op_movsx_Gv_E##s##_##d(struct cpu *c, const struct insn *i) { return ext(c, i, d, s, true, false); } \
	static int op_movsx_Gv_M##s##_##d(struct cpu *c, const struct insn *i) { return ext(c, i, d, s, true, true); }
EXT_PAIR(2, 1) EXT_PAIR(4, 1) EXT_PAIR(8, 1)
EXT_PAIR(2, 2) EXT_PAIR(4, 2) EXT_PAIR(8, 2)
EXT_PAIR(4, 4) EXT_PAIR(8, 4)

#define SLOT(sz) ((sz) == 1 ? 0 : (sz) == 2 ? 1 : (sz) == 4 ? 2 : 3) // size_index() for constants
#define EXT_ROW(d, s) \
	[0][0][SLOT(d)][SLOT(s)] = op_movzx_Gv_E##s##_##d, [0][1][SLOT(d)][SLOT(s)] = op_movzx_Gv_M##s##_##d, \
	[1][0][SLOT(d)][SLOT(s)] = op_movsx_Gv_E##s##_##d, [1][1][SLOT(d)][SLOT(s)] = op_movsx_Gv_M##s##_##d,
/* [sign][memory source][destination size slot][source size slot] */
static const insn_fn ext_tab[2][2][4][4] = {
	EXT_ROW(2, 1) EXT_ROW(4, 1) EXT_ROW(8, 1) EXT_ROW(2, 2) EXT_ROW(4, 2) EXT_ROW(8, 2) EXT_ROW(4, 4) EXT_ROW(8, 4)
};

static insn_fn select_ext(struct insn *i, const ZydisDecodedOperand *zo, bool sign)
{
	enum form f = form_of(i);
	if ((i->flags & INSN_LOCK) || (f != F_RR && f != F_RM))
		return NULL;
	unsigned ssz = zo[1].size / 8 < i->osz ? zo[1].size / 8 : i->osz;
	int d = size_index(i->osz), s = size_index(ssz);
	if (d < 0 || s < 0)
		return NULL;
	i->ssz = (u8)ssz;
	return ext_tab[sign][f == F_RM][d][s];
}

static insn_fn sel_movzx(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return select_ext(i, zo, false);
}

static insn_fn sel_movsx(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return select_ext(i, zo, true);
}

/*
 * CMOVcc (SDM CMOVcc): the source is read whether or not the condition
 * holds, so a memory source can fault either way; and in 64-bit mode the
 * 32-bit form zero-extends the destination even when the condition is
 * false.
 */
BODY cmov(struct cpu *c, const struct insn *i, unsigned sz, bool mem)
{
	u64 v;
	if (src_read(c, i, sz, mem, &v))
		return EXEC_FAULT;
	if (flags_cond(c, i->cc))
		cpu_reg_set(c, i->r[0], sz, v);
	else if (sz == 4)
		c->r[i->r[0]] = (u32)c->r[i->r[0]];
	return EXEC_NEXT;
}
BODY cmov_r(struct cpu *c, const struct insn *i, unsigned sz) { return cmov(c, i, sz, false); }
BODY cmov_m(struct cpu *c, const struct insn *i, unsigned sz) { return cmov(c, i, sz, true); }
SIZED_WDQ(op_cmovcc_Gv_Ev, cmov_r)
SIZED_WDQ(op_cmovcc_Gv_M, cmov_m)

static insn_fn sel_cmov(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (i->flags & INSN_LOCK)
		return NULL;
	switch (form_of(i)) {
	case F_RR: return pick(op_cmovcc_Gv_Ev, i->osz);
	case F_RM: return pick(op_cmovcc_Gv_M, i->osz);
	default: return NULL;
	}
}

/* SETcc: one byte, 1 when the condition holds. */
static int op_setcc_Eb(struct cpu *c, const struct insn *i)
{
	*cpu_reg8(c, i->r[0]) = flags_cond(c, i->cc);
	return EXEC_NEXT;
}

static int op_setcc_Mb(struct cpu *c, const struct insn *i)
{
	return cpu_write(c, cpu_ea(c, i), 1, flags_cond(c, i->cc));
}

static insn_fn sel_setcc(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || i->nops != 1)
		return NULL;
	return i->k[0] == OPK_REG ? op_setcc_Eb : i->k[0] == OPK_MEM ? op_setcc_Mb : NULL;
}

/*
 * BSWAP. With a 16-bit operand the SDM leaves the result undefined; the
 * processors we compare against (Intel and AMD alike) clear the low 16
 * bits and keep the rest, and so do we.
 */
BODY bswap(struct cpu *c, const struct insn *i, unsigned sz)
{
	u64 v = cpu_reg_get(c, i->r[0], sz);
	cpu_reg_set(c, i->r[0], sz, sz == 8 ? __builtin_bswap64(v) : sz == 4 ? __builtin_bswap32((u32)v) : 0);
	return EXEC_NEXT;
}
SIZED_WDQ(op_bswap_Zv, bswap)

static insn_fn sel_bswap(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || i->nops != 1 || i->k[0] != OPK_REG)
		return NULL;
	return pick(op_bswap_Zv, i->osz);
}

/* MOVBE (SDM MOVBE): a load or store with the bytes reversed; register to register does not exist. */
static u64 swap_sized(u64 v, unsigned sz)
{
	return sz == 8 ? __builtin_bswap64(v) : sz == 4 ? __builtin_bswap32((u32)v) : __builtin_bswap16((u16)v);
}
BODY movbe_rm(struct cpu *c, const struct insn *i, unsigned sz)
{
	u64 v;
	if (cpu_read(c, cpu_ea(c, i), sz, &v))
		return EXEC_FAULT;
	cpu_reg_set(c, i->r[0], sz, swap_sized(v, sz));
	return EXEC_NEXT;
}
BODY movbe_mr(struct cpu *c, const struct insn *i, unsigned sz)
{
	return cpu_write(c, cpu_ea(c, i), sz, swap_sized(cpu_reg_get(c, i->r[1], sz), sz));
}
SIZED_WDQ(op_movbe_Gv_M, movbe_rm)
SIZED_WDQ(op_movbe_M_Gv, movbe_mr)

static insn_fn sel_movbe(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (i->flags & INSN_LOCK)
		return NULL;
	switch (form_of(i)) {
	case F_RM: return pick(op_movbe_Gv_M, i->osz);
	case F_MR: return pick(op_movbe_M_Gv, i->osz);
	default: return NULL;
	}
}

/*
 * LEA: the effective address without the segment base (an FS or GS
 * prefix does not change it), truncated to the address size (67h) and
 * then to the operand size.
 */
BODY lea(struct cpu *c, const struct insn *i, unsigned sz, bool a32)
{
	u64 a = (u64)i->disp + c->r[i->base] + (c->r[i->index] << i->scale);
	cpu_reg_set(c, i->r[0], sz, a32 ? (u32)a : a);
	return EXEC_NEXT;
}
BODY lea64(struct cpu *c, const struct insn *i, unsigned sz) { return lea(c, i, sz, false); }
BODY lea32(struct cpu *c, const struct insn *i, unsigned sz) { return lea(c, i, sz, true); }
SIZED_WDQ(op_lea_Gv_M, lea64)
SIZED_WDQ(op_lea_Gv_M_a32, lea32)

static insn_fn sel_lea(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || form_of(i) != F_RM)
		return NULL;
	return pick(i->flags & INSN_ADDR32 ? op_lea_Gv_M_a32 : op_lea_Gv_M, i->osz);
}

/* XLAT: AL := [seg:RBX + AL] (EBX + AL, truncated to 32 bits, under 67h). */
static int op_xlat(struct cpu *c, const struct insn *i)
{
	u64 a = c->r[RBX] + (u8)c->r[RAX], v;
	if (i->flags & INSN_ADDR32)
		a = (u32)a;
	if (cpu_read(c, a + c->seg_base[i->seg], 1, &v))
		return EXEC_FAULT;
	*cpu_reg8(c, RAX) = (u8)v;
	return EXEC_NEXT;
}

/* The memory operand of XLAT is hidden, so its segment and address size are taken here. */
static insn_fn sel_xlat(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || zi->operand_count < 1 || zo[0].type != ZYDIS_OPERAND_TYPE_MEMORY)
		return NULL;
	i->seg = zo[0].mem.segment == ZYDIS_REGISTER_FS ? SEG_FS : zo[0].mem.segment == ZYDIS_REGISTER_GS ? SEG_GS : SEG_NONE;
	if (zi->address_width == 32)
		i->flags |= INSN_ADDR32;
	return op_xlat;
}

/* CBW, CWDE, CDQE: sign-extend the lower half of the accumulator into all of it. */
static int op_cbw(struct cpu *c, const struct insn *i)
{
	cpu_reg_set(c, RAX, 2, (u64)(s8)c->r[RAX]);
	return EXEC_NEXT;
}

static int op_cwde(struct cpu *c, const struct insn *i)
{
	cpu_reg_set(c, RAX, 4, (u64)(s16)c->r[RAX]);
	return EXEC_NEXT;
}

static int op_cdqe(struct cpu *c, const struct insn *i)
{
	c->r[RAX] = (u64)(s32)c->r[RAX];
	return EXEC_NEXT;
}

/* CWD, CDQ, CQO: fill DX/EDX/RDX with the accumulator's sign. */
static int op_cwd(struct cpu *c, const struct insn *i)
{
	cpu_reg_set(c, RDX, 2, (u64)((s16)c->r[RAX] >> 15));
	return EXEC_NEXT;
}

static int op_cdq(struct cpu *c, const struct insn *i)
{
	cpu_reg_set(c, RDX, 4, (u64)((s32)c->r[RAX] >> 31));
	return EXEC_NEXT;
}

static int op_cqo(struct cpu *c, const struct insn *i)
{
	c->r[RDX] = (u64)((s64)c->r[RAX] >> 63);
	return EXEC_NEXT;
}

/*
 * LAHF/SAHF move SF ZF AF PF CF between AH and RFLAGS (SDM LAHF: AH :=
 * EFLAGS(SF:ZF:0:AF:0:PF:1:CF)). CLD and STD touch only DF, which is never
 * lazy, so they skip deriving the arithmetic flags.
 */
#define AH_FLAGS (RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF | RFLAGS_CF)

static int op_lahf(struct cpu *c, const struct insn *i)
{
	*cpu_reg8(c, REG_AH) = (u8)((flags_get(c) & AH_FLAGS) | RFLAGS_FIXED1);
	return EXEC_NEXT;
}

static int op_sahf(struct cpu *c, const struct insn *i)
{
	flags_merge(c, AH_FLAGS, *cpu_reg8(c, REG_AH));
	return EXEC_NEXT;
}

static int op_clc(struct cpu *c, const struct insn *i)
{
	flags_merge(c, RFLAGS_CF, 0);
	return EXEC_NEXT;
}

static int op_stc(struct cpu *c, const struct insn *i)
{
	flags_merge(c, RFLAGS_CF, RFLAGS_CF);
	return EXEC_NEXT;
}

static int op_cmc(struct cpu *c, const struct insn *i)
{
	flags_set(c, flags_get(c) ^ RFLAGS_CF);
	return EXEC_NEXT;
}

static int op_cld(struct cpu *c, const struct insn *i)
{
	c->rflags &= ~RFLAGS_DF;
	return EXEC_NEXT;
}

static int op_std(struct cpu *c, const struct insn *i)
{
	c->rflags |= RFLAGS_DF;
	return EXEC_NEXT;
}

/* Selectors for the operand-less instructions above: one handler each, no LOCK. */
#define SEL_FIXED(name, handler) \
	static insn_fn name(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo) \
	{ \
		return (i->flags & INSN_LOCK) ? NULL : handler; \
	}
SEL_FIXED(sel_cbw, op_cbw)
SEL_FIXED(sel_cwde, op_cwde)
SEL_FIXED(sel_cdqe, op_cdqe)
SEL_FIXED(sel_cwd, op_cwd)
SEL_FIXED(sel_cdq, op_cdq)
SEL_FIXED(sel_cqo, op_cqo)
SEL_FIXED(sel_lahf, op_lahf)
SEL_FIXED(sel_sahf, op_sahf)
SEL_FIXED(sel_clc, op_clc)
SEL_FIXED(sel_stc, op_stc)
SEL_FIXED(sel_cmc, op_cmc)
SEL_FIXED(sel_cld, op_cld)
SEL_FIXED(sel_std, op_std)

const struct op_entry exec_mov_ops[] = {
	{ ZYDIS_MNEMONIC_MOV, sel_mov },
	{ ZYDIS_MNEMONIC_MOVZX, sel_movzx },
	{ ZYDIS_MNEMONIC_MOVSX, sel_movsx },
	{ ZYDIS_MNEMONIC_MOVSXD, sel_movsx },
	{ ZYDIS_MNEMONIC_MOVBE, sel_movbe },
	{ ZYDIS_MNEMONIC_CMOVO, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVNO, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVB, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVNB, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVZ, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVNZ, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVBE, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVNBE, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVS, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVNS, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVP, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVNP, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVL, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVNL, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVLE, sel_cmov },
	{ ZYDIS_MNEMONIC_CMOVNLE, sel_cmov },
	{ ZYDIS_MNEMONIC_SETO, sel_setcc },
	{ ZYDIS_MNEMONIC_SETNO, sel_setcc },
	{ ZYDIS_MNEMONIC_SETB, sel_setcc },
	{ ZYDIS_MNEMONIC_SETNB, sel_setcc },
	{ ZYDIS_MNEMONIC_SETZ, sel_setcc },
	{ ZYDIS_MNEMONIC_SETNZ, sel_setcc },
	{ ZYDIS_MNEMONIC_SETBE, sel_setcc },
	{ ZYDIS_MNEMONIC_SETNBE, sel_setcc },
	{ ZYDIS_MNEMONIC_SETS, sel_setcc },
	{ ZYDIS_MNEMONIC_SETNS, sel_setcc },
	{ ZYDIS_MNEMONIC_SETP, sel_setcc },
	{ ZYDIS_MNEMONIC_SETNP, sel_setcc },
	{ ZYDIS_MNEMONIC_SETL, sel_setcc },
	{ ZYDIS_MNEMONIC_SETNL, sel_setcc },
	{ ZYDIS_MNEMONIC_SETLE, sel_setcc },
	{ ZYDIS_MNEMONIC_SETNLE, sel_setcc },
	{ ZYDIS_MNEMONIC_BSWAP, sel_bswap },
	{ ZYDIS_MNEMONIC_LEA, sel_lea },
	{ ZYDIS_MNEMONIC_XLAT, sel_xlat },
	{ ZYDIS_MNEMONIC_CBW, sel_cbw },
	{ ZYDIS_MNEMONIC_CWDE, sel_cwde },
	{ ZYDIS_MNEMONIC_CDQE, sel_cdqe },
	{ ZYDIS_MNEMONIC_CWD, sel_cwd },
	{ ZYDIS_MNEMONIC_CDQ, sel_cdq },
	{ ZYDIS_MNEMONIC_CQO, sel_cqo },
	{ ZYDIS_MNEMONIC_LAHF, sel_lahf },
	{ ZYDIS_MNEMONIC_SAHF, sel_sahf },
	{ ZYDIS_MNEMONIC_CLC, sel_clc },
	{ ZYDIS_MNEMONIC_STC, sel_stc },
	{ ZYDIS_MNEMONIC_CMC, sel_cmc },
	{ ZYDIS_MNEMONIC_CLD, sel_cld },
	{ ZYDIS_MNEMONIC_STD, sel_std },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
