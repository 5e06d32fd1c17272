/* SPDX-License-Identifier: MIT */
/*
 * Integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP TEST and
 * INC DEC NEG NOT (SDM Vol. 2 instruction pages; flags per Vol. 1 App. A).
 *
 * These are the hottest instructions of compiled code, so every operand
 * form and size has its own handler, generated from one always-inline
 * kernel with constant op, size and form. Flags are lazy (lf_set): ADC,
 * SBB, INC and DEC record the carry they consume or keep in lf.cf_in.
 *
 * LOCK: the memory-destination forms of ADD ADC SUB SBB AND OR XOR INC
 * DEC NEG NOT are done with host atomics on the page's host pointer. An
 * operand that crosses a page falls back to read-then-write, which is
 * atomic only among vCPUs that one host thread runs in turn (the
 * round-robin scheduler of DESIGN section 4). LOCK anywhere else is #UD
 * (SDM Vol. 2 "LOCK": only with a memory destination); the selectors
 * return NULL for it.
 */
#include "cpu/exec_alu.h"

enum alu_op { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP, A_TEST };

/* Operand forms: reg/mem destination x reg/mem/imm source, and the locked ones. */
enum alu_form { F_RR, F_RM, F_MR, F_RI, F_MI, F_LR, F_LI, NFORMS };

ALWAYS_INLINE bool alu_writes(int op)
{
	return op != A_CMP && op != A_TEST;
}

/* CF consumed by ADC/SBB; read before lf_set replaces the lazy state. */
ALWAYS_INLINE u64 alu_carry_in(struct cpu *c, int op)
{
	return (op == A_ADC || op == A_SBB) ? flags_cf(c) : 0;
}

ALWAYS_INLINE u64 alu_result(int op, u64 d, u64 s, u64 cf)
{
	switch (op) {
	case A_ADD: return d + s;
	case A_ADC: return d + s + cf;
	case A_SUB:
	case A_CMP: return d - s;
	case A_SBB: return d - s - cf;
	case A_AND:
	case A_TEST: return d & s;
	case A_OR: return d | s;
	default: return d ^ s;
	}
}

ALWAYS_INLINE void alu_flags(struct cpu *c, int op, unsigned sz, u64 d, u64 s, u64 r, u64 cf)
{
	switch (op) {
	case A_ADD: lf_set(c, LF_ADD, sz, d, s, r); break;
	case A_ADC: lf_set(c, LF_ADC, sz, d, s, r); c->lf.cf_in = (u8)cf; break;
	case A_SUB:
	case A_CMP: lf_set(c, LF_SUB, sz, d, s, r); break;
	case A_SBB: lf_set(c, LF_SBB, sz, d, s, r); c->lf.cf_in = (u8)cf; break;
	default: lf_set(c, LF_LOGIC, sz, d, s, r); break;
	}
}

/* Register destination (operand 0), source value s. */
ALWAYS_INLINE int alu_reg(struct cpu *c, const struct insn *i, int op, unsigned sz, u64 s)
{
	u64 d = cpu_reg_get(c, i->r[0], sz);
	u64 cf = alu_carry_in(c, op);
	u64 r = alu_result(op, d, s, cf);
	if (alu_writes(op))
		cpu_reg_set(c, i->r[0], sz, r);
	alu_flags(c, op, sz, d, s, r, cf);
	return EXEC_NEXT;
}

/* Memory destination: both accesses happen before the flags change. */
ALWAYS_INLINE int alu_mem(struct cpu *c, const struct insn *i, int op, unsigned sz, u64 s)
{
	struct rmw m;
	u64 d;
	if (alu_writes(op) ? rmw_load(c, &m, cpu_ea(c, i), sz, &d) : cpu_read(c, cpu_ea(c, i), sz, &d))
		return EXEC_FAULT;
	u64 cf = alu_carry_in(c, op);
	u64 r = alu_result(op, d, s, cf);
	if (alu_writes(op) && rmw_store(c, &m, sz, r))
		return EXEC_FAULT;
	alu_flags(c, op, sz, d, s, r, cf);
	return EXEC_NEXT;
}

/* LOCK memory destination: one host atomic; ADC/SBB fold the carry into the addend. */
ALWAYS_INLINE int alu_lock(struct cpu *c, const struct insn *i, int op, unsigned sz, u64 s)
{
	int fault;
	u8 *p = cpu_atomic_ptr(c, cpu_ea(c, i), sz, &fault);
	if (!p)
		return fault ? fault : alu_mem(c, i, op, sz, s);
	u64 cf = alu_carry_in(c, op), d;
	switch (op) {
	case A_ADD:
	case A_ADC: d = atomic_fetch_sz(AO_ADD, p, sz, s + cf); break;
	case A_SUB:
	case A_SBB: d = atomic_fetch_sz(AO_SUB, p, sz, s + cf); break;
	case A_AND: d = atomic_fetch_sz(AO_AND, p, sz, s); break;
	case A_OR: d = atomic_fetch_sz(AO_OR, p, sz, s); break;
	default: d = atomic_fetch_sz(AO_XOR, p, sz, s); break;
	}
	alu_flags(c, op, sz, d, s, alu_result(op, d, s, cf), cf);
	return EXEC_NEXT;
}

#define SRC_REG(SZ) cpu_reg_get(c, i->r[1], SZ)

#define ALU_SIZE(name, OP, SZ, L)                                                                         \
	static int op_##name##_E##L##_G##L##_r(struct cpu *c, const struct insn *i)                         \
	{                                                                                                     \
		return alu_reg(c, i, OP, SZ, SRC_REG(SZ));                                                        \
	}                                                                                                     \
	static int op_##name##_G##L##_E##L##_m(struct cpu *c, const struct insn *i)                         \
	{                                                                                                     \
		u64 s;                                                                                        \
		if (cpu_read(c, cpu_ea(c, i), SZ, &s))                                                        \
			return EXEC_FAULT;                                                                    \
		return alu_reg(c, i, OP, SZ, s);                                                              \
	}                                                                                                     \
	static int op_##name##_E##L##_G##L##_m(struct cpu *c, const struct insn *i)                         \
	{                                                                                                     \
		return alu_mem(c, i, OP, SZ, SRC_REG(SZ));                                                        \
	}                                                                                                     \
	static int op_##name##_E##L##_I##L##_r(struct cpu *c, const struct insn *i)                         \
	{                                                                                                     \
		return alu_reg(c, i, OP, SZ, i->imm);                                                         \
	}                                                                                                     \
	static int op_##name##_E##L##_I##L##_m(struct cpu *c, const struct insn *i)                         \
	{                                                                                                     \
		return alu_mem(c, i, OP, SZ, i->imm);                                                         \
	}

#define ALU_LOCK_SIZE(name, OP, SZ, L)                                                                    \
	static int op_##name##_E##L##_G##L##_lock(struct cpu *c, const struct insn *i)                      \
	{                                                                                                     \
		return alu_lock(c, i, OP, SZ, SRC_REG(SZ));                                                       \
	}                                                                                                     \
	static int op_##name##_E##L##_I##L##_lock(struct cpu *c, const struct insn *i)                      \
	{                                                                                                     \
		return alu_lock(c, i, OP, SZ, i->imm);                                                        \
	}

#define ALU_ROW(name, L)                                                                                  \
	[F_RR] = op_##name##_E##L##_G##L##_r, [F_RM] = op_##name##_G##L##_E##L##_m,                         \
	[F_MR] = op_##name##_E##L##_G##L##_m, [F_RI] = op_##name##_E##L##_I##L##_r,                         \
	[F_MI] = op_##name##_E##L##_I##L##_m
#define ALU_LOCK_ROW(name, L) \
	ALU_ROW(name, L), [F_LR] = op_##name##_E##L##_G##L##_lock, [F_LI] = op_##name##_E##L##_I##L##_lock

/* Defines the handlers of one mnemonic and its table name##_fns[size index][form]. */
#define DEF_ALU(name, OP)                                                                                 \
	FOR_SIZES(ALU_SIZE, name, OP)                                                                     \
	static const insn_fn name##_fns[4][NFORMS] = { { ALU_ROW(name, b) }, { ALU_ROW(name, w) },         \
						       { ALU_ROW(name, d) }, { ALU_ROW(name, q) } };
#define DEF_ALU_LOCK(name, OP)                                                                            \
	FOR_SIZES(ALU_SIZE, name, OP)                                                                     \
	FOR_SIZES(ALU_LOCK_SIZE, name, OP)                                                                \
	static const insn_fn name##_fns[4][NFORMS] = { { ALU_LOCK_ROW(name, b) }, { ALU_LOCK_ROW(name, w) }, \
						       { ALU_LOCK_ROW(name, d) }, { ALU_LOCK_ROW(name, q) } };

DEF_ALU_LOCK(add, A_ADD)
DEF_ALU_LOCK(or, A_OR)
DEF_ALU_LOCK(adc, A_ADC)
DEF_ALU_LOCK(sbb, A_SBB)
DEF_ALU_LOCK(and, A_AND)
DEF_ALU_LOCK(sub, A_SUB)
DEF_ALU_LOCK(xor, A_XOR)
DEF_ALU(cmp, A_CMP)
DEF_ALU(test, A_TEST)

/* Picks the form from the operand kinds; NULL (#UD) for LOCK without a memory destination. */
static insn_fn alu_pick(const struct insn *i, const insn_fn (*t)[NFORMS])
{
	if (i->nops != 2 || !size_valid(i->osz))
		return NULL;
	u8 k0 = i->k[0], k1 = i->k[1];
	int f;
	if (k0 == OPK_REG)
		f = k1 == OPK_REG ? F_RR : k1 == OPK_MEM ? F_RM : k1 == OPK_IMM ? F_RI : -1;
	else if (k0 == OPK_MEM)
		f = k1 == OPK_REG ? F_MR : k1 == OPK_IMM ? F_MI : -1;
	else
		f = -1;
	if (f >= 0 && (i->flags & INSN_LOCK))
		f = f == F_MR ? F_LR : f == F_MI ? F_LI : -1;
	return f < 0 ? NULL : t[size_index(i->osz)][f];
}

#define SEL_ALU(name)                                                                                     \
	static insn_fn sel_##name(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo) \
	{                                                                                                     \
		return alu_pick(i, name##_fns);                                                               \
	}
SEL_ALU(add)
SEL_ALU(or)
SEL_ALU(adc)
SEL_ALU(sbb)
SEL_ALU(and)
SEL_ALU(sub)
SEL_ALU(xor)
SEL_ALU(cmp)
SEL_ALU(test)

/* INC DEC NEG NOT: one operand, register, memory or locked memory. */
enum un_op { U_INC, U_DEC, U_NEG, U_NOT };
enum un_form { UF_R, UF_M, UF_L, UF_N };

ALWAYS_INLINE u64 un_result(int op, u64 d)
{
	switch (op) {
	case U_INC: return d + 1;
	case U_DEC: return d - 1;
	case U_NEG: return -d;
	default: return ~d;
	}
}

/* INC/DEC keep CF (cf is the CF before them); NEG is 0 - d; NOT changes no flags. */
ALWAYS_INLINE void un_flags(struct cpu *c, int op, unsigned sz, u64 d, u64 r, u64 cf)
{
	switch (op) {
	case U_INC: lf_set(c, LF_INC, sz, d, 1, r); c->lf.cf_in = (u8)cf; break;
	case U_DEC: lf_set(c, LF_DEC, sz, d, 1, r); c->lf.cf_in = (u8)cf; break;
	case U_NEG: lf_set(c, LF_SUB, sz, 0, d, r); break;
	default: break;
	}
}

ALWAYS_INLINE u64 un_carry_in(struct cpu *c, int op)
{
	return (op == U_INC || op == U_DEC) ? flags_cf(c) : 0;
}

ALWAYS_INLINE int un_reg(struct cpu *c, const struct insn *i, int op, unsigned sz)
{
	u64 d = cpu_reg_get(c, i->r[0], sz), cf = un_carry_in(c, op);
	u64 r = un_result(op, d);
	cpu_reg_set(c, i->r[0], sz, r);
	un_flags(c, op, sz, d, r, cf);
	return EXEC_NEXT;
}

ALWAYS_INLINE int un_mem(struct cpu *c, const struct insn *i, int op, unsigned sz)
{
	struct rmw m;
	u64 d;
	if (rmw_load(c, &m, cpu_ea(c, i), sz, &d))
		return EXEC_FAULT;
	u64 cf = un_carry_in(c, op), r = un_result(op, d);
	if (rmw_store(c, &m, sz, r))
		return EXEC_FAULT;
	un_flags(c, op, sz, d, r, cf);
	return EXEC_NEXT;
}

ALWAYS_INLINE int un_lock(struct cpu *c, const struct insn *i, int op, unsigned sz)
{
	int fault;
	u8 *p = cpu_atomic_ptr(c, cpu_ea(c, i), sz, &fault);
	if (!p)
		return fault ? fault : un_mem(c, i, op, sz);
	u64 cf = un_carry_in(c, op), d;
	switch (op) {
	case U_INC: d = atomic_fetch_sz(AO_ADD, p, sz, 1); break;
	case U_DEC: d = atomic_fetch_sz(AO_SUB, p, sz, 1); break;
	case U_NOT: d = atomic_fetch_sz(AO_XOR, p, sz, ~0ULL); break;
	default:
		/* NEG has no fetch-and-op: compare-exchange until no other writer intervened. */
		d = atomic_load_sz(p, sz);
		while (!atomic_cas_sz(p, sz, &d, -d))
			;
		break;
	}
	un_flags(c, op, sz, d, un_result(op, d), cf);
	return EXEC_NEXT;
}

#define UN_SIZE(name, OP, SZ, L)                                                                          \
	static int op_##name##_E##L##_r(struct cpu *c, const struct insn *i)                                \
	{                                                                                                     \
		return un_reg(c, i, OP, SZ);                                                                  \
	}                                                                                                     \
	static int op_##name##_E##L##_m(struct cpu *c, const struct insn *i)                                \
	{                                                                                                     \
		return un_mem(c, i, OP, SZ);                                                                  \
	}                                                                                                     \
	static int op_##name##_E##L##_lock(struct cpu *c, const struct insn *i)                             \
	{                                                                                                     \
		return un_lock(c, i, OP, SZ);                                                                 \
	}
#define UN_ROW(name, L) { op_##name##_E##L##_r, op_##name##_E##L##_m, op_##name##_E##L##_lock }
#define DEF_UN(name, OP)                                                                                  \
	FOR_SIZES(UN_SIZE, name, OP)                                                                      \
	static const insn_fn name##_fns[4][UF_N] = { UN_ROW(name, b), UN_ROW(name, w), UN_ROW(name, d),   \
						     UN_ROW(name, q) };                                   \
	static insn_fn sel_##name(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo) \
	{                                                                                                     \
		return un_pick(i, name##_fns);                                                                \
	}

static insn_fn un_pick(const struct insn *i, const insn_fn (*t)[UF_N])
{
	if (i->nops != 1 || !size_valid(i->osz))
		return NULL;
	int f = i->k[0] == OPK_REG ? UF_R : i->k[0] == OPK_MEM ? UF_M : -1;
	if (f >= 0 && (i->flags & INSN_LOCK))
		f = f == UF_M ? UF_L : -1;
	return f < 0 ? NULL : t[size_index(i->osz)][f];
}

DEF_UN(inc, U_INC)
DEF_UN(dec, U_DEC)
DEF_UN(neg, U_NEG)
DEF_UN(not, U_NOT)

const struct op_entry exec_alu_ops[] = {
	{ ZYDIS_MNEMONIC_ADD, sel_add },
	{ ZYDIS_MNEMONIC_OR, sel_or },
	{ ZYDIS_MNEMONIC_ADC, sel_adc },
	{ ZYDIS_MNEMONIC_SBB, sel_sbb },
	{ ZYDIS_MNEMONIC_AND, sel_and },
	{ ZYDIS_MNEMONIC_SUB, sel_sub },
	{ ZYDIS_MNEMONIC_XOR, sel_xor },
	{ ZYDIS_MNEMONIC_CMP, sel_cmp },
	{ ZYDIS_MNEMONIC_TEST, sel_test },
	{ ZYDIS_MNEMONIC_INC, sel_inc },
	{ ZYDIS_MNEMONIC_DEC, sel_dec },
	{ ZYDIS_MNEMONIC_NEG, sel_neg },
	{ ZYDIS_MNEMONIC_NOT, sel_not },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
