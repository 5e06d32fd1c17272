/* SPDX-License-Identifier: MIT */
/*
 * Shifts and rotates: SHL/SAL SHR SAR ROL ROR RCL RCR by 1, CL or imm8,
 * and the double shifts SHLD SHRD (SDM Vol. 2, "SAL/SAR/SHL/SHR",
 * "RCL/RCR/ROL/ROR", "SHLD", "SHRD").
 *
 * The count is masked to 5 bits (6 for 64-bit operands); RCL/RCR rotate
 * 8- and 16-bit operands through CF modulo 9 and 17. A masked count of 0
 * changes no flag, but the destination is still written, so a 32-bit
 * register is zero-extended as on hardware.
 *
 * Flags are computed eagerly. Shifts write all six arithmetic flags (the
 * lazy state is simply replaced); rotates only CF and OF. Where the SDM
 * leaves a flag undefined (OF for counts above 1, AF, CF past the operand
 * width, 16-bit SHLD/SHRD counts above 16) Facet does what AMD EPYC hosts
 * do, as the native checks in tests/unit/exec_shift_test.c confirm:
 * AF = 1; OF = CF ^ MSB(result) for left shifts and rotates, and the XOR
 * of the result's two top bits for right ones; 16-bit double shifts past
 * 16 shift in further copies of the source, with CF = 0 and, for SHLD,
 * OF = CF ^ MSB(dest << count).
 */
#include "cpu/exec_alu.h"

/* In ModRM /digit order of the C0/C1/D0-D3 group (/6, SAL, is SHL). */
enum shift_op { S_ROL, S_ROR, S_RCL, S_RCR, S_SHL, S_SHR, S_SAR, NSHIFT };

ALWAYS_INLINE u64 msb(u64 v, unsigned sz)
{
	return (v >> (sz * 8 - 1)) & 1;
}

/* OF as the host computes it after a right shift or rotate: the two top result bits differ. */
ALWAYS_INLINE u64 top2(u64 v, unsigned sz)
{
	return msb(v, sz) ^ ((v >> (sz * 8 - 2)) & 1);
}

ALWAYS_INLINE u64 cf_of(u64 cf, u64 of)
{
	return (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0);
}

/* SHL SHR SAR by n (1..63): the result; *fl gets all six arithmetic flags. */
ALWAYS_INLINE u64 shift_calc(int op, unsigned sz, u64 d, unsigned n, u64 *fl)
{
	unsigned bits = sz * 8;
	u64 res, cf, of;
	if (op == S_SHL) {
		res = n < bits ? (d << n) & size_mask(sz) : 0;
		cf = n <= bits ? (d >> (bits - n)) & 1 : 0;
		of = cf ^ msb(res, sz);
	} else if (op == S_SHR) {
		res = n < bits ? d >> n : 0;
		cf = n <= bits ? (d >> (n - 1)) & 1 : 0;
		of = top2(res, sz);
	} else {
		s64 sd = size_sext(d, sz); // n <= 63, so the shift is defined
		res = (u64)(sd >> n) & size_mask(sz);
		cf = (u64)(sd >> (n - 1)) & 1;
		of = 0;
	}
	*fl = flags_szp(res, sz) | RFLAGS_AF | cf_of(cf, of);
	return res;
}

/* RCL/RCR by k (1..bits) through carry cf: the (bits+1)-bit rotation [CF:d]. */
ALWAYS_INLINE u64 rcx_calc(bool left, unsigned sz, u64 d, unsigned k, u64 cf, u64 *cf_out)
{
	unsigned bits = sz * 8;
	if (sz == 8) { // 65 bits do not fit a u64: assemble the result from its three parts
		if (left) {
			*cf_out = (d >> (64 - k)) & 1;
			return (d << k) | (cf << (k - 1)) | (k > 1 ? d >> (65 - k) : 0);
		}
		*cf_out = (d >> (k - 1)) & 1;
		return (d >> k) | (cf << (64 - k)) | (k > 1 ? d << (65 - k) : 0);
	}
	u64 v = d | (cf << bits), wmask = (1ULL << (bits + 1)) - 1;
	v = left ? (v << k) | (v >> (bits + 1 - k)) : (v >> k) | (v << (bits + 1 - k));
	v &= wmask;
	*cf_out = v >> bits;
	return v & size_mask(sz);
}

/* ROL ROR RCL RCR by n (1..63): the result; *fl gets CF and OF. */
ALWAYS_INLINE u64 rotate_calc(int op, unsigned sz, u64 d, unsigned n, u64 cf_in, u64 *fl)
{
	unsigned bits = sz * 8, k;
	u64 res, cf;
	switch (op) {
	case S_ROL:
	case S_ROR:
		k = n & (bits - 1);
		if (k == 0)
			res = d;
		else if (op == S_ROL)
			res = ((d << k) | (d >> (bits - k))) & size_mask(sz);
		else
			res = ((d >> k) | (d << (bits - k))) & size_mask(sz);
		cf = op == S_ROL ? res & 1 : msb(res, sz);
		break;
	default:
		k = sz == 1 ? n % 9 : sz == 2 ? n % 17 : n;
		res = k ? rcx_calc(op == S_RCL, sz, d, k, cf_in, &cf) : d;
		if (!k)
			cf = cf_in;
		break;
	}
	bool left = op == S_ROL || op == S_RCL;
	*fl = cf_of(cf, left ? cf ^ msb(res, sz) : top2(res, sz));
	return res;
}

ALWAYS_INLINE int shift_run(struct cpu *c, const struct insn *i, int op, unsigned sz, bool mem, bool by_cl)
{
	unsigned n = (unsigned)(by_cl ? c->r[RCX] : i->imm) & (sz == 8 ? 63 : 31);
	struct rmw m = { 0 };
	u64 d, res, fl = 0;
	if (mem) {
		if (rmw_load(c, &m, cpu_ea(c, i), sz, &d))
			return EXEC_FAULT;
	} else {
		d = cpu_reg_get(c, i->r[0], sz);
	}
	if (n == 0)
		res = d;
	else if (op >= S_SHL)
		res = shift_calc(op, sz, d, n, &fl);
	else
		res = rotate_calc(op, sz, d, n, (op == S_RCL || op == S_RCR) ? flags_cf(c) : 0, &fl);
	if (mem) {
		if (rmw_store(c, &m, sz, res))
			return EXEC_FAULT;
	} else {
		cpu_reg_set(c, i->r[0], sz, res);
	}
	if (n && op >= S_SHL)
		flags_put_arith(c, fl);
	else if (n)
		flags_put_some(c, RFLAGS_CF | RFLAGS_OF, fl);
	return EXEC_NEXT;
}

/* Forms: register or memory destination, count from the immediate or CL. */
enum shift_form { SF_RI, SF_MI, SF_RC, SF_MC, NSFORM };

#define SHIFT_SIZE(name, OP, SZ, L)                                                     \
	static int op_##name##_E##L##_Ib_r(struct cpu *c, const struct insn *i)         \
	{                                                                               \
		return shift_run(c, i, OP, SZ, false, false);                           \
	}                                                                               \
	static int op_##name##_E##L##_Ib_m(struct cpu *c, const struct insn *i)         \
	{                                                                               \
		return shift_run(c, i, OP, SZ, true, false);                            \
	}                                                                               \
	static int op_##name##_E##L##_CL_r(struct cpu *c, const struct insn *i)         \
	{                                                                               \
		return shift_run(c, i, OP, SZ, false, true);                            \
	}                                                                               \
	static int op_##name##_E##L##_CL_m(struct cpu *c, const struct insn *i)         \
	{                                                                               \
		return shift_run(c, i, OP, SZ, true, true);                             \
	}
#define SHIFT_ROW(name, L) { op_##name##_E##L##_Ib_r, op_##name##_E##L##_Ib_m, op_##name##_E##L##_CL_r, op_##name##_E##L##_CL_m }
#define DEF_SHIFT(name, OP) FOR_SIZES(SHIFT_SIZE, name, OP)
#define SHIFT_TABLE(name) { SHIFT_ROW(name, b), SHIFT_ROW(name, w), SHIFT_ROW(name, d), SHIFT_ROW(name, q) }

DEF_SHIFT(rol, S_ROL)
DEF_SHIFT(ror, S_ROR)
DEF_SHIFT(rcl, S_RCL)
DEF_SHIFT(rcr, S_RCR)
DEF_SHIFT(shl, S_SHL)
DEF_SHIFT(shr, S_SHR)
DEF_SHIFT(sar, S_SAR)

static const insn_fn shift_fns[NSHIFT][4][NSFORM] = {
	SHIFT_TABLE(rol), SHIFT_TABLE(ror), SHIFT_TABLE(rcl), SHIFT_TABLE(rcr),
	SHIFT_TABLE(shl), SHIFT_TABLE(shr), SHIFT_TABLE(sar),
};

/* True if operand n is a count: an immediate or CL. */
static bool is_count(const struct insn *i, unsigned n)
{
	return i->k[n] == OPK_IMM || (i->k[n] == OPK_REG && i->r[n] == RCX);
}

static insn_fn shift_pick(const struct insn *i, int op)
{
	if (i->nops != 2 || !size_valid(i->osz) || (i->flags & INSN_LOCK) || !is_count(i, 1))
		return NULL;
	if (i->k[0] != OPK_REG && i->k[0] != OPK_MEM)
		return NULL;
	int f = (i->k[0] == OPK_MEM) + (i->k[1] == OPK_REG ? 2 : 0);
	return shift_fns[op][size_index(i->osz)][f];
}

#define SEL_SHIFT(name, OP)                                                                                        \
	static insn_fn sel_##name(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo) \
	{                                                                                                          \
		return shift_pick(i, OP);                                                                          \
	}
SEL_SHIFT(rol, S_ROL)
SEL_SHIFT(ror, S_ROR)
SEL_SHIFT(rcl, S_RCL)
SEL_SHIFT(rcr, S_RCR)
SEL_SHIFT(shl, S_SHL)
SEL_SHIFT(shr, S_SHR)
SEL_SHIFT(sar, S_SAR)

/* SHLD/SHRD dest, src by n (1..31 or 1..63): the result; *fl gets all six flags. */
ALWAYS_INLINE u64 shd_calc(bool left, unsigned sz, u64 d, u64 s, unsigned n, u64 *fl)
{
	unsigned bits = sz * 8;
	u64 res, cf;
	if (sz == 2) {
		/* Counts up to 31 (undefined past 16): dest:src:src (SHLD) or src:src:dest (SHRD), as AMD does. */
		u64 v = left ? (d << 32) | (s << 16) | s : (s << 32) | (s << 16) | d;
		res = (left ? v >> (32 - n) : v >> n) & 0xffff;
		cf = n > 16 ? 0 : left ? (v >> (48 - n)) & 1 : (v >> (n - 1)) & 1;
	} else if (left) {
		res = ((d << n) | (s >> (bits - n))) & size_mask(sz);
		cf = (d >> (bits - n)) & 1;
	} else {
		res = ((d >> n) | (s << (bits - n))) & size_mask(sz);
		cf = (d >> (n - 1)) & 1;
	}
	/* SHLD OF: CF ^ the top bit of dest << n; for counts below the width that is MSB(result). */
	u64 of = left ? cf ^ (n < bits ? msb(d << n, sz) : 0) : top2(res, sz);
	*fl = flags_szp(res, sz) | RFLAGS_AF | cf_of(cf, of);
	return res;
}

ALWAYS_INLINE int shd_run(struct cpu *c, const struct insn *i, bool left, unsigned sz, bool mem, bool by_cl)
{
	unsigned n = (unsigned)(by_cl ? c->r[RCX] : i->imm) & (sz == 8 ? 63 : 31);
	u64 s = cpu_reg_get(c, i->r[1], sz), d, res, fl = 0;
	struct rmw m = { 0 };
	if (mem) {
		if (rmw_load(c, &m, cpu_ea(c, i), sz, &d))
			return EXEC_FAULT;
	} else {
		d = cpu_reg_get(c, i->r[0], sz);
	}
	res = n ? shd_calc(left, sz, d, s, n, &fl) : d;
	if (mem) {
		if (rmw_store(c, &m, sz, res))
			return EXEC_FAULT;
	} else {
		cpu_reg_set(c, i->r[0], sz, res);
	}
	if (n)
		flags_put_arith(c, fl);
	return EXEC_NEXT;
}

#define SHD_SIZE(name, LEFT, SZ, L)                                                          \
	static int op_##name##_E##L##_G##L##_Ib_r(struct cpu *c, const struct insn *i)       \
	{                                                                                    \
		return shd_run(c, i, LEFT, SZ, false, false);                                \
	}                                                                                    \
	static int op_##name##_E##L##_G##L##_Ib_m(struct cpu *c, const struct insn *i)       \
	{                                                                                    \
		return shd_run(c, i, LEFT, SZ, true, false);                                 \
	}                                                                                    \
	static int op_##name##_E##L##_G##L##_CL_r(struct cpu *c, const struct insn *i)       \
	{                                                                                    \
		return shd_run(c, i, LEFT, SZ, false, true);                                 \
	}                                                                                    \
	static int op_##name##_E##L##_G##L##_CL_m(struct cpu *c, const struct insn *i)       \
	{                                                                                    \
		return shd_run(c, i, LEFT, SZ, true, true);                                  \
	}
FOR_SIZES_WDQ(SHD_SIZE, shld, true)
FOR_SIZES_WDQ(SHD_SIZE, shrd, false)

#define SHD_ROW(name, L) \
	{ op_##name##_E##L##_G##L##_Ib_r, op_##name##_E##L##_G##L##_Ib_m, op_##name##_E##L##_G##L##_CL_r, op_##name##_E##L##_G##L##_CL_m }
static const insn_fn shld_fns[4][NSFORM] = { { NULL }, SHD_ROW(shld, w), SHD_ROW(shld, d), SHD_ROW(shld, q) };
static const insn_fn shrd_fns[4][NSFORM] = { { NULL }, SHD_ROW(shrd, w), SHD_ROW(shrd, d), SHD_ROW(shrd, q) };

static insn_fn shd_pick(const struct insn *i, const insn_fn (*t)[NSFORM])
{
	if (i->nops != 3 || !size_valid(i->osz) || i->osz == 1 || (i->flags & INSN_LOCK))
		return NULL;
	if ((i->k[0] != OPK_REG && i->k[0] != OPK_MEM) || i->k[1] != OPK_REG || !is_count(i, 2))
		return NULL;
	return t[size_index(i->osz)][(i->k[0] == OPK_MEM) + (i->k[2] == OPK_REG ? 2 : 0)];
}

static insn_fn sel_shld(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return shd_pick(i, shld_fns);
}

static insn_fn sel_shrd(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return shd_pick(i, shrd_fns);
}

const struct op_entry exec_shift_ops[] = {
	{ ZYDIS_MNEMONIC_ROL, sel_rol },
	{ ZYDIS_MNEMONIC_ROR, sel_ror },
	{ ZYDIS_MNEMONIC_RCL, sel_rcl },
	{ ZYDIS_MNEMONIC_RCR, sel_rcr },
	{ ZYDIS_MNEMONIC_SHL, sel_shl },
	{ ZYDIS_MNEMONIC_SHR, sel_shr },
	{ ZYDIS_MNEMONIC_SAR, sel_sar },
	{ ZYDIS_MNEMONIC_SHLD, sel_shld },
	{ ZYDIS_MNEMONIC_SHRD, sel_shrd },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
