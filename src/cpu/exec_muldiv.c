/* SPDX-License-Identifier: MIT */
/*
 * Multiply and divide: MUL, IMUL (one, two and three operands), DIV, IDIV
 * (SDM Vol. 2 instruction pages).
 *
 * Flags: MUL/IMUL define only CF and OF (set when the high half is
 * significant); DIV/IDIV define none. Where the SDM leaves a flag
 * undefined Facet does what the AMD EPYC hosts it is tested on do, which
 * the native checks in tests/unit/exec_alu_test.c confirm: MUL/IMUL keep
 * SF ZF AF PF; DIV/IDIV keep CF and OF, set AF and clear SF ZF PF.
 *
 * #DE (divide by zero, or a quotient that does not fit the destination)
 * is raised before any register is written. 128-bit intermediates use
 * u128/s128, with 64-bit fast paths for the common case of a dividend
 * that is the extension of RAX.
 */
#include "cpu/exec_alu.h"

static void mul_flags(struct cpu *c, bool over)
{
	flags_put_some(c, RFLAGS_CF | RFLAGS_OF, over ? RFLAGS_CF | RFLAGS_OF : 0);
}

static void div_flags(struct cpu *c)
{
	flags_put_some(c, RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF, RFLAGS_AF);
}

/* Writes a double-width result: AH:AL for bytes, rDX:rAX otherwise. */
ALWAYS_INLINE void put_pair(struct cpu *c, unsigned sz, u64 hi, u64 lo)
{
	if (sz == 1) {
		cpu_reg_set(c, RAX, 2, ((hi & 0xff) << 8) | (lo & 0xff));
	} else {
		cpu_reg_set(c, RAX, sz, lo);
		cpu_reg_set(c, RDX, sz, hi);
	}
}

/* MUL / one-operand IMUL: rDX:rAX = rAX * r/m (AX = AL * r/m8). */
ALWAYS_INLINE int mul1(struct cpu *c, const struct insn *i, unsigned sz, bool sign)
{
	u64 s, a = cpu_reg_get(c, RAX, sz), lo, hi;
	bool over;
	if (opnd_read(c, i, 0, sz, &s))
		return EXEC_FAULT;
	if (sz == 8 && sign) {
		s128 p = (s128)(s64)a * (s64)s;
		lo = (u64)p, hi = (u64)((u128)p >> 64);
		over = p != (s128)(s64)lo;
	} else if (sz == 8) {
		u128 p = (u128)a * s;
		lo = (u64)p, hi = (u64)(p >> 64);
		over = hi != 0;
	} else if (sign) {
		s64 p = size_sext(a, sz) * size_sext(s, sz); // at most 64 bits: no overflow
		lo = (u64)p & size_mask(sz), hi = ((u64)p >> (sz * 8)) & size_mask(sz);
		over = p != size_sext(lo, sz);
	} else {
		u64 p = a * s;
		lo = p & size_mask(sz), hi = p >> (sz * 8);
		over = hi != 0;
	}
	put_pair(c, sz, hi, lo);
	mul_flags(c, over);
	return EXEC_NEXT;
}

/* DIV: rAX = rDX:rAX / r/m, rDX = remainder (AL, AH from AX for bytes). */
ALWAYS_INLINE int div1(struct cpu *c, const struct insn *i, unsigned sz)
{
	u64 s, q, r;
	if (opnd_read(c, i, 0, sz, &s))
		return EXEC_FAULT;
	if (s == 0)
		return cpu_raise(c, VEC_DE, false, 0);
	if (sz == 8) {
		u64 hi = c->r[RDX], lo = c->r[RAX];
		if (hi >= s) // the quotient would need more than 64 bits
			return cpu_raise(c, VEC_DE, false, 0);
		if (hi == 0) {
			q = lo / s, r = lo % s;
		} else {
			u128 n = ((u128)hi << 64) | lo;
			q = (u64)(n / s), r = (u64)(n % s);
		}
	} else {
		u64 n = sz == 1 ? (u16)c->r[RAX] : (cpu_reg_get(c, RDX, sz) << (sz * 8)) | cpu_reg_get(c, RAX, sz);
		q = n / s, r = n % s;
		if (q > size_mask(sz))
			return cpu_raise(c, VEC_DE, false, 0);
	}
	put_pair(c, sz, r, q);
	div_flags(c);
	return EXEC_NEXT;
}

/*
 * Signed n / d truncated toward zero, for a quotient of sz bytes. False
 * when it does not fit (#DE). n / -1 is done as a negation so that the
 * most negative dividend never reaches the C division (undefined there).
 */
static bool idiv_core(s128 n, s64 d, unsigned sz, s64 *q, s64 *r)
{
	s128 max = (s128)(size_sign(sz) - 1), min = -max - 1, qq, rr;
	if (d == -1) {
		if (n > -min || n < -max)
			return false;
		qq = -n, rr = 0;
	} else if (n >= INT64_MIN && n <= INT64_MAX) {
		qq = (s64)n / d, rr = (s64)n % d;
	} else {
		qq = n / d, rr = n % d;
	}
	if (qq > max || qq < min)
		return false;
	*q = (s64)qq, *r = (s64)rr;
	return true;
}

/* IDIV: as DIV, signed. */
ALWAYS_INLINE int idiv1(struct cpu *c, const struct insn *i, unsigned sz)
{
	u64 s;
	s64 q, r;
	s128 n;
	if (opnd_read(c, i, 0, sz, &s))
		return EXEC_FAULT;
	s64 d = size_sext(s, sz);
	if (d == 0)
		return cpu_raise(c, VEC_DE, false, 0);
	if (sz == 8)
		n = (s128)(((u128)c->r[RDX] << 64) | c->r[RAX]);
	else if (sz == 1)
		n = (s16)c->r[RAX];
	else
		n = size_sext((cpu_reg_get(c, RDX, sz) << (sz * 8)) | cpu_reg_get(c, RAX, sz), sz * 2);
	if (!idiv_core(n, d, sz, &q, &r))
		return cpu_raise(c, VEC_DE, false, 0);
	put_pair(c, sz, (u64)r, (u64)q);
	div_flags(c);
	return EXEC_NEXT;
}

/* Two- and three-operand IMUL: dest = truncated a * b; CF = OF = the product did not fit. */
ALWAYS_INLINE int imul_put(struct cpu *c, const struct insn *i, unsigned sz, u64 a, u64 b)
{
	s64 p;
	bool over;
	if (sz == 8) {
		over = __builtin_mul_overflow((s64)a, (s64)b, &p);
	} else {
		p = size_sext(a, sz) * size_sext(b, sz);
		over = p != size_sext((u64)p, sz);
	}
	cpu_reg_set(c, i->r[0], sz, (u64)p);
	mul_flags(c, over);
	return EXEC_NEXT;
}

ALWAYS_INLINE int mul1u(struct cpu *c, const struct insn *i, unsigned sz)
{
	return mul1(c, i, sz, false);
}

ALWAYS_INLINE int mul1s(struct cpu *c, const struct insn *i, unsigned sz)
{
	return mul1(c, i, sz, true);
}

#define ONE_OPERAND(name, kernel, SZ, L)                                     \
	static int op_##name##_E##L(struct cpu *c, const struct insn *i)    \
	{                                                                     \
		return kernel(c, i, SZ);                                      \
	}
FOR_SIZES(ONE_OPERAND, mul, mul1u)
FOR_SIZES(ONE_OPERAND, imul, mul1s)
FOR_SIZES(ONE_OPERAND, div, div1)
FOR_SIZES(ONE_OPERAND, idiv, idiv1)
#undef ONE_OPERAND

#define IMUL_N(_, SZ, L)                                                                     \
	static int op_imul_G##L##_E##L##_r(struct cpu *c, const struct insn *i)             \
	{                                                                                     \
		return imul_put(c, i, SZ, cpu_reg_get(c, i->r[0], SZ), cpu_reg_get(c, i->r[1], SZ)); \
	}                                                                                     \
	static int op_imul_G##L##_E##L##_m(struct cpu *c, const struct insn *i)             \
	{                                                                                     \
		u64 b;                                                                        \
		if (cpu_read(c, cpu_ea(c, i), SZ, &b))                                        \
			return EXEC_FAULT;                                                    \
		return imul_put(c, i, SZ, cpu_reg_get(c, i->r[0], SZ), b);                    \
	}                                                                                     \
	static int op_imul_G##L##_E##L##_I##L##_r(struct cpu *c, const struct insn *i)      \
	{                                                                                     \
		return imul_put(c, i, SZ, cpu_reg_get(c, i->r[1], SZ), i->imm);               \
	}                                                                                     \
	static int op_imul_G##L##_E##L##_I##L##_m(struct cpu *c, const struct insn *i)      \
	{                                                                                     \
		u64 a;                                                                        \
		if (cpu_read(c, cpu_ea(c, i), SZ, &a))                                        \
			return EXEC_FAULT;                                                    \
		return imul_put(c, i, SZ, a, i->imm);                                         \
	}
FOR_SIZES_WDQ(IMUL_N, _)

/* Indexed by size_index (no byte forms): [2-op reg, 2-op mem, 3-op reg, 3-op mem]. */
#define IMUL_ROW(L) { op_imul_G##L##_E##L##_r, op_imul_G##L##_E##L##_m, op_imul_G##L##_E##L##_I##L##_r, op_imul_G##L##_E##L##_I##L##_m }
static const insn_fn imul_n_fns[4][4] = { { NULL }, IMUL_ROW(w), IMUL_ROW(d), IMUL_ROW(q) };

#define ROW4(name) { op_##name##_Eb, op_##name##_Ew, op_##name##_Ed, op_##name##_Eq }
static const insn_fn mul_fns[4] = ROW4(mul), imul_fns[4] = ROW4(imul), div_fns[4] = ROW4(div),
		     idiv_fns[4] = ROW4(idiv);

/* One r/m operand (the implicit rAX/rDX are hidden operands); never LOCK. */
static insn_fn pick1(const struct insn *i, const insn_fn *t)
{
	if (i->nops != 1 || !size_valid(i->osz) || (i->flags & INSN_LOCK))
		return NULL;
	if (i->k[0] != OPK_REG && i->k[0] != OPK_MEM)
		return NULL;
	return t[size_index(i->osz)];
}

static insn_fn sel_mul(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return pick1(i, mul_fns);
}

static insn_fn sel_div(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return pick1(i, div_fns);
}

static insn_fn sel_idiv(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return pick1(i, idiv_fns);
}

static insn_fn sel_imul(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (i->nops == 1)
		return pick1(i, imul_fns);
	if (!size_valid(i->osz) || i->osz == 1 || (i->flags & INSN_LOCK) || i->k[0] != OPK_REG)
		return NULL;
	bool mem = i->k[1] == OPK_MEM;
	if (!mem && i->k[1] != OPK_REG)
		return NULL;
	if (i->nops == 2)
		return imul_n_fns[size_index(i->osz)][mem];
	if (i->nops == 3 && i->k[2] == OPK_IMM)
		return imul_n_fns[size_index(i->osz)][2 + mem];
	return NULL;
}

const struct op_entry exec_muldiv_ops[] = {
	{ ZYDIS_MNEMONIC_MUL, sel_mul },
	{ ZYDIS_MNEMONIC_IMUL, sel_imul },
	{ ZYDIS_MNEMONIC_DIV, sel_div },
	{ ZYDIS_MNEMONIC_IDIV, sel_idiv },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
