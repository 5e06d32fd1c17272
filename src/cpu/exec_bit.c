/* SPDX-License-Identifier: MIT */
/*
 * Bit instructions: BT BTS BTR BTC, BSF BSR, POPCNT LZCNT TZCNT, and the
 * VEX-encoded BMI1 (ANDN BEXTR BLSI BLSMSK BLSR) and BMI2 (BZHI MULX
 * PDEP PEXT RORX SARX SHLX SHRX) groups (SDM Vol. 2 instruction pages).
 *
 * BT* with a register bit offset and a memory operand address a bit
 * string: the offset is signed and may reach outside the operand (SDM
 * "BT": EA + (OperandSize/8) * (BitOffset DIV OperandSize)). BTS BTR BTC
 * on memory take LOCK and are then done with host atomics.
 *
 * Undefined flags follow the AMD EPYC hosts Facet is tested on (see
 * tests/unit/exec_bit_test.c): BT* change only CF; BSF/BSR with a zero
 * source leave the whole destination register unchanged.
 */
#include "cpu/exec_alu.h"

enum bt_op { B_BT, B_BTS, B_BTR, B_BTC };
/* Register or memory base, bit offset from a register or the immediate, and the locked forms. */
enum bt_form { BF_RR, BF_RI, BF_MR, BF_MI, BF_LR, BF_LI, NBFORM };

ALWAYS_INLINE u64 bt_apply(int op, u64 d, u64 bit)
{
	switch (op) {
	case B_BTS: return d | bit;
	case B_BTR: return d & ~bit;
	case B_BTC: return d ^ bit;
	default: return d;
	}
}

/* Memory address and bit number of a BT* operand; reg_off selects bit-string addressing. */
ALWAYS_INLINE gva_t bt_addr(struct cpu *c, const struct insn *i, unsigned sz, bool reg_off, unsigned *bitno)
{
	gva_t ea = cpu_ea(c, i);
	if (!reg_off) {
		*bitno = (unsigned)i->imm & (sz * 8 - 1);
		return ea;
	}
	s64 off = size_sext(cpu_reg_get(c, i->r[1], sz), sz);
	*bitno = (unsigned)off & (sz * 8 - 1);
	s64 delta = (off >> (__builtin_ctz(sz) + 3)) * (s64)sz;
	if (unlikely(i->flags & INSN_ADDR32)) // the bit-string offset wraps in the 32-bit address space
		return (u32)(ea - c->seg_base[i->seg] + (u64)delta) + c->seg_base[i->seg];
	return ea + (u64)delta;
}

ALWAYS_INLINE int bt_run(struct cpu *c, const struct insn *i, int op, unsigned sz, int form)
{
	unsigned bitno;
	u64 d;
	if (form == BF_RR || form == BF_RI) {
		u64 off = form == BF_RR ? cpu_reg_get(c, i->r[1], sz) : i->imm;
		bitno = (unsigned)off & (sz * 8 - 1);
		d = cpu_reg_get(c, i->r[0], sz);
		if (op != B_BT)
			cpu_reg_set(c, i->r[0], sz, bt_apply(op, d, 1ULL << bitno));
	} else {
		gva_t ea = bt_addr(c, i, sz, form == BF_MR || form == BF_LR, &bitno);
		int fault = 0;
		u8 *p = form >= BF_LR ? cpu_atomic_ptr(c, ea, sz, &fault) : NULL;
		if (fault)
			return fault;
		if (p) {
			static const int aops[] = { [B_BTS] = AO_OR, [B_BTR] = AO_AND, [B_BTC] = AO_XOR };
			u64 bit = 1ULL << bitno;
			d = atomic_fetch_sz(aops[op], p, sz, op == B_BTR ? ~bit : bit);
		} else if (op == B_BT) {
			if (cpu_read(c, ea, sz, &d))
				return EXEC_FAULT;
		} else {
			struct rmw m;
			if (rmw_load(c, &m, ea, sz, &d) || rmw_store(c, &m, sz, bt_apply(op, d, 1ULL << bitno)))
				return EXEC_FAULT;
		}
	}
	flags_put_some(c, RFLAGS_CF, (d >> bitno) & 1);
	return EXEC_NEXT;
}

#define BT_SIZE(name, OP, SZ, L)                                                    \
	static int op_##name##_E##L##_G##L##_r(struct cpu *c, const struct insn *i)  \
	{                                                                             \
		return bt_run(c, i, OP, SZ, BF_RR);                                   \
	}                                                                             \
	static int op_##name##_E##L##_Ib_r(struct cpu *c, const struct insn *i)      \
	{                                                                             \
		return bt_run(c, i, OP, SZ, BF_RI);                                   \
	}                                                                             \
	static int op_##name##_E##L##_G##L##_m(struct cpu *c, const struct insn *i)  \
	{                                                                             \
		return bt_run(c, i, OP, SZ, BF_MR);                                   \
	}                                                                             \
	static int op_##name##_E##L##_Ib_m(struct cpu *c, const struct insn *i)      \
	{                                                                             \
		return bt_run(c, i, OP, SZ, BF_MI);                                   \
	}
#define BT_LOCK_SIZE(name, OP, SZ, L)                                               \
	static int op_##name##_E##L##_G##L##_lock(struct cpu *c, const struct insn *i) \
	{                                                                             \
		return bt_run(c, i, OP, SZ, BF_LR);                                   \
	}                                                                             \
	static int op_##name##_E##L##_Ib_lock(struct cpu *c, const struct insn *i)   \
	{                                                                             \
		return bt_run(c, i, OP, SZ, BF_LI);                                   \
	}
#define BT_ROW(name, L)                                                                             \
	[BF_RR] = op_##name##_E##L##_G##L##_r, [BF_RI] = op_##name##_E##L##_Ib_r,                   \
	[BF_MR] = op_##name##_E##L##_G##L##_m, [BF_MI] = op_##name##_E##L##_Ib_m
#define BT_LOCK_ROW(name, L) BT_ROW(name, L), [BF_LR] = op_##name##_E##L##_G##L##_lock, [BF_LI] = op_##name##_E##L##_Ib_lock

FOR_SIZES_WDQ(BT_SIZE, bt, B_BT)
FOR_SIZES_WDQ(BT_SIZE, bts, B_BTS)
FOR_SIZES_WDQ(BT_SIZE, btr, B_BTR)
FOR_SIZES_WDQ(BT_SIZE, btc, B_BTC)
FOR_SIZES_WDQ(BT_LOCK_SIZE, bts, B_BTS)
FOR_SIZES_WDQ(BT_LOCK_SIZE, btr, B_BTR)
FOR_SIZES_WDQ(BT_LOCK_SIZE, btc, B_BTC)

static const insn_fn bt_fns[4][4][NBFORM] = {
	[B_BT] = { { NULL }, { BT_ROW(bt, w) }, { BT_ROW(bt, d) }, { BT_ROW(bt, q) } },
	[B_BTS] = { { NULL }, { BT_LOCK_ROW(bts, w) }, { BT_LOCK_ROW(bts, d) }, { BT_LOCK_ROW(bts, q) } },
	[B_BTR] = { { NULL }, { BT_LOCK_ROW(btr, w) }, { BT_LOCK_ROW(btr, d) }, { BT_LOCK_ROW(btr, q) } },
	[B_BTC] = { { NULL }, { BT_LOCK_ROW(btc, w) }, { BT_LOCK_ROW(btc, d) }, { BT_LOCK_ROW(btc, q) } },
};

static insn_fn bt_pick(const struct insn *i, int op)
{
	if (i->nops != 2 || !size_valid(i->osz) || i->osz == 1)
		return NULL;
	int f;
	if (i->k[0] == OPK_REG)
		f = i->k[1] == OPK_REG ? BF_RR : i->k[1] == OPK_IMM ? BF_RI : -1;
	else if (i->k[0] == OPK_MEM)
		f = i->k[1] == OPK_REG ? BF_MR : i->k[1] == OPK_IMM ? BF_MI : -1;
	else
		f = -1;
	if (f >= 0 && (i->flags & INSN_LOCK))
		f = f == BF_MR ? BF_LR : f == BF_MI ? BF_LI : -1;
	return f < 0 ? NULL : bt_fns[op][size_index(i->osz)][f];
}

#define SEL_BT(name, OP)                                                                                           \
	static insn_fn sel_##name(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo) \
	{                                                                                                          \
		return bt_pick(i, OP);                                                                             \
	}
SEL_BT(bt, B_BT)
SEL_BT(bts, B_BTS)
SEL_BT(btr, B_BTR)
SEL_BT(btc, B_BTC)

/* Reads operand n (register or memory) at the instruction's operand size. */
static int src_read(struct cpu *c, const struct insn *i, unsigned n, u64 *v)
{
	return opnd_read(c, i, n, i->osz, v);
}

/*
 * BSF/BSR: ZF = 1 and the destination untouched for a zero source. The
 * other flags are undefined; AMD clears them but sets PF from the index
 * found (from 0 for a zero source).
 */
static int scan_run(struct cpu *c, const struct insn *i, bool reverse)
{
	u64 s, n = 0;
	if (src_read(c, i, 1, &s))
		return EXEC_FAULT;
	if (s) {
		n = reverse ? 63 - (u64)__builtin_clzll(s) : (u64)__builtin_ctzll(s);
		cpu_reg_set(c, i->r[0], i->osz, n);
	}
	flags_put_arith(c, flags_parity(n) | (s ? 0 : RFLAGS_ZF));
	return EXEC_NEXT;
}

static int op_bsf_Gv_Ev(struct cpu *c, const struct insn *i)
{
	return scan_run(c, i, false);
}

static int op_bsr_Gv_Ev(struct cpu *c, const struct insn *i)
{
	return scan_run(c, i, true);
}

static int op_popcnt_Gv_Ev(struct cpu *c, const struct insn *i)
{
	u64 s;
	if (src_read(c, i, 1, &s))
		return EXEC_FAULT;
	cpu_reg_set(c, i->r[0], i->osz, (u64)__builtin_popcountll(s));
	flags_put_arith(c, s ? 0 : RFLAGS_ZF);
	return EXEC_NEXT;
}

/* LZCNT/TZCNT: CF = source is zero (result = width), ZF = result is zero; OF is kept as AMD does. */
static int count_run(struct cpu *c, const struct insn *i, bool leading)
{
	unsigned sz = i->osz, bits = sz * 8;
	u64 s, n;
	if (src_read(c, i, 1, &s))
		return EXEC_FAULT;
	if (s == 0)
		n = bits;
	else
		n = leading ? (u64)__builtin_clzll(s) - (64 - bits) : (u64)__builtin_ctzll(s);
	cpu_reg_set(c, i->r[0], sz, n);
	flags_put_some(c, RFLAGS_ARITH & ~RFLAGS_OF, (s ? 0 : RFLAGS_CF) | (n ? 0 : RFLAGS_ZF));
	return EXEC_NEXT;
}

static int op_lzcnt_Gv_Ev(struct cpu *c, const struct insn *i)
{
	return count_run(c, i, true);
}

static int op_tzcnt_Gv_Ev(struct cpu *c, const struct insn *i)
{
	return count_run(c, i, false);
}

/* Gv, Ev with 16/32/64-bit operands; no LOCK. */
static bool is_gv_ev(const struct insn *i)
{
	return i->nops == 2 && (i->osz == 2 || i->osz == 4 || i->osz == 8) && !(i->flags & INSN_LOCK) &&
	       i->k[0] == OPK_REG && (i->k[1] == OPK_REG || i->k[1] == OPK_MEM);
}

#define SEL_GV_EV(name)                                                                                            \
	static insn_fn sel_##name(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo) \
	{                                                                                                          \
		return is_gv_ev(i) ? op_##name##_Gv_Ev : NULL;                                                     \
	}
SEL_GV_EV(bsf)
SEL_GV_EV(bsr)
SEL_GV_EV(popcnt)
SEL_GV_EV(lzcnt)
SEL_GV_EV(tzcnt)

/*
 * BMI1/BMI2 (VEX, 32 or 64 bits): operand 0 is the destination register,
 * the others registers or one memory operand, read before anything is
 * written. a and b are operands 1 and 2 (b is the immediate for RORX).
 */
static int vex_read(struct cpu *c, const struct insn *i, u64 *a, u64 *b)
{
	if (src_read(c, i, 1, a))
		return EXEC_FAULT;
	if (i->nops < 3)
		return 0;
	return src_read(c, i, 2, b);
}

static int op_andn_Gy_By_Ey(struct cpu *c, const struct insn *i)
{
	u64 a, b = 0;
	if (vex_read(c, i, &a, &b))
		return EXEC_FAULT;
	u64 res = ~a & b & size_mask(i->osz);
	cpu_reg_set(c, i->r[0], i->osz, res);
	lf_set(c, LF_LOGIC, i->osz, a, b, res); // SF ZF from the result, CF = OF = 0
	return EXEC_NEXT;
}

static int op_bextr_Gy_Ey_By(struct cpu *c, const struct insn *i)
{
	u64 src, ctl = 0;
	if (vex_read(c, i, &src, &ctl))
		return EXEC_FAULT;
	unsigned bits = i->osz * 8, start = ctl & 0xff, len = (ctl >> 8) & 0xff;
	u64 res = start < bits ? src >> start : 0;
	if (len < 64)
		res &= (1ULL << len) - 1;
	cpu_reg_set(c, i->r[0], i->osz, res);
	flags_put_arith(c, (flags_szp(res, i->osz) & ~RFLAGS_SF) | RFLAGS_AF);
	return EXEC_NEXT;
}

enum bls_op { BLSI, BLSMSK, BLSR };

/* BLSI, BLSMSK, BLSR: the lowest set bit isolated, masked up to, or reset; CF from the source. */
static int bls_run(struct cpu *c, const struct insn *i, int op)
{
	unsigned sz = i->osz;
	u64 s, res, cf, fl;
	if (src_read(c, i, 1, &s))
		return EXEC_FAULT;
	switch (op) {
	case BLSI: res = s & -s, cf = s != 0; break;
	case BLSMSK: res = s ^ (s - 1), cf = s == 0; break;
	default: res = s & (s - 1), cf = s == 0; break;
	}
	res &= size_mask(sz);
	fl = flags_szp(res, sz) | (cf ? RFLAGS_CF : 0);
	cpu_reg_set(c, i->r[0], sz, res);
	flags_put_arith(c, fl);
	return EXEC_NEXT;
}

static int op_blsi_By_Ey(struct cpu *c, const struct insn *i)
{
	return bls_run(c, i, BLSI);
}

static int op_blsmsk_By_Ey(struct cpu *c, const struct insn *i)
{
	return bls_run(c, i, BLSMSK);
}

static int op_blsr_By_Ey(struct cpu *c, const struct insn *i)
{
	return bls_run(c, i, BLSR);
}

static int op_bzhi_Gy_Ey_By(struct cpu *c, const struct insn *i)
{
	u64 src, idx = 0;
	if (vex_read(c, i, &src, &idx))
		return EXEC_FAULT;
	unsigned sz = i->osz, n = idx & 0xff;
	u64 res = n < sz * 8 ? src & ((1ULL << n) - 1) : src & size_mask(sz);
	cpu_reg_set(c, i->r[0], sz, res);
	flags_put_arith(c, flags_szp(res, sz) | (n > sz * 8 - 1 ? RFLAGS_CF : 0));
	return EXEC_NEXT;
}

/* MULX: hi (operand 0), lo (operand 1) = rDX * r/m, no flags; hi wins when both name one register. */
static int op_mulx_Gy_By_Ey(struct cpu *c, const struct insn *i)
{
	u64 s;
	if (src_read(c, i, 2, &s))
		return EXEC_FAULT;
	u64 hi, lo;
	if (i->osz == 8) {
		u128 p = (u128)c->r[RDX] * s;
		hi = (u64)(p >> 64), lo = (u64)p;
	} else {
		u64 p = (u64)(u32)c->r[RDX] * (u32)s;
		hi = p >> 32, lo = (u32)p;
	}
	cpu_reg_set(c, i->r[1], i->osz, lo);
	cpu_reg_set(c, i->r[0], i->osz, hi);
	return EXEC_NEXT;
}

/* PDEP/PEXT: deposit the low bits of a at the set bits of mask b, or gather them. */
static int pdep_pext_run(struct cpu *c, const struct insn *i, bool deposit)
{
	u64 a, m = 0, res = 0;
	if (vex_read(c, i, &a, &m))
		return EXEC_FAULT;
	unsigned k = 0;
	for (; m; m &= m - 1, k++) {
		u64 low = m & -m;
		if (deposit && ((a >> k) & 1))
			res |= low;
		else if (!deposit && (a & low))
			res |= 1ULL << k;
	}
	cpu_reg_set(c, i->r[0], i->osz, res);
	return EXEC_NEXT;
}

static int op_pdep_Gy_By_Ey(struct cpu *c, const struct insn *i)
{
	return pdep_pext_run(c, i, true);
}

static int op_pext_Gy_By_Ey(struct cpu *c, const struct insn *i)
{
	return pdep_pext_run(c, i, false);
}

enum bmi_shift { X_ROR, X_SAR, X_SHL, X_SHR };

/* RORX (immediate count) and SARX SHLX SHRX (count register): no flags change. */
static int xshift_run(struct cpu *c, const struct insn *i, int op)
{
	unsigned sz = i->osz, bits = sz * 8;
	u64 s, cnt = 0, res;
	if (vex_read(c, i, &s, &cnt))
		return EXEC_FAULT;
	unsigned n = (unsigned)(op == X_ROR ? i->imm : cnt) & (bits - 1);
	switch (op) {
	case X_ROR: res = n ? (s >> n) | (s << (bits - n)) : s; break;
	case X_SAR: res = (u64)(size_sext(s, sz) >> n); break;
	case X_SHL: res = s << n; break;
	default: res = s >> n; break;
	}
	cpu_reg_set(c, i->r[0], sz, res);
	return EXEC_NEXT;
}

static int op_rorx_Gy_Ey_Ib(struct cpu *c, const struct insn *i)
{
	return xshift_run(c, i, X_ROR);
}

static int op_sarx_Gy_Ey_By(struct cpu *c, const struct insn *i)
{
	return xshift_run(c, i, X_SAR);
}

static int op_shlx_Gy_Ey_By(struct cpu *c, const struct insn *i)
{
	return xshift_run(c, i, X_SHL);
}

static int op_shrx_Gy_Ey_By(struct cpu *c, const struct insn *i)
{
	return xshift_run(c, i, X_SHR);
}

/* A VEX form with `nops` operands: register destination, 32/64-bit, other operands register/memory (imm last). */
static bool is_vex_form(const struct insn *i, unsigned nops, bool imm_last)
{
	if (i->nops != nops || (i->osz != 4 && i->osz != 8) || (i->flags & INSN_LOCK) || i->k[0] != OPK_REG)
		return false;
	for (unsigned n = 1; n < nops; n++) {
		bool want_imm = imm_last && n == nops - 1;
		if (want_imm ? i->k[n] != OPK_IMM : (i->k[n] != OPK_REG && i->k[n] != OPK_MEM))
			return false;
	}
	return true;
}

#define SEL_VEX(name, fn, NOPS, IMM)                                                                               \
	static insn_fn sel_##name(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo) \
	{                                                                                                          \
		return is_vex_form(i, NOPS, IMM) ? fn : NULL;                                                      \
	}
SEL_VEX(andn, op_andn_Gy_By_Ey, 3, false)
SEL_VEX(bextr, op_bextr_Gy_Ey_By, 3, false)
SEL_VEX(blsi, op_blsi_By_Ey, 2, false)
SEL_VEX(blsmsk, op_blsmsk_By_Ey, 2, false)
SEL_VEX(blsr, op_blsr_By_Ey, 2, false)
SEL_VEX(bzhi, op_bzhi_Gy_Ey_By, 3, false)
SEL_VEX(mulx, op_mulx_Gy_By_Ey, 3, false)
SEL_VEX(pdep, op_pdep_Gy_By_Ey, 3, false)
SEL_VEX(pext, op_pext_Gy_By_Ey, 3, false)
SEL_VEX(rorx, op_rorx_Gy_Ey_Ib, 3, true)
SEL_VEX(sarx, op_sarx_Gy_Ey_By, 3, false)
SEL_VEX(shlx, op_shlx_Gy_Ey_By, 3, false)
SEL_VEX(shrx, op_shrx_Gy_Ey_By, 3, false)

const struct op_entry exec_bit_ops[] = {
	{ ZYDIS_MNEMONIC_BT, sel_bt },
	{ ZYDIS_MNEMONIC_BTS, sel_bts },
	{ ZYDIS_MNEMONIC_BTR, sel_btr },
	{ ZYDIS_MNEMONIC_BTC, sel_btc },
	{ ZYDIS_MNEMONIC_BSF, sel_bsf },
	{ ZYDIS_MNEMONIC_BSR, sel_bsr },
	{ ZYDIS_MNEMONIC_POPCNT, sel_popcnt },
	{ ZYDIS_MNEMONIC_LZCNT, sel_lzcnt },
	{ ZYDIS_MNEMONIC_TZCNT, sel_tzcnt },
	{ ZYDIS_MNEMONIC_ANDN, sel_andn },
	{ ZYDIS_MNEMONIC_BEXTR, sel_bextr },
	{ ZYDIS_MNEMONIC_BLSI, sel_blsi },
	{ ZYDIS_MNEMONIC_BLSMSK, sel_blsmsk },
	{ ZYDIS_MNEMONIC_BLSR, sel_blsr },
	{ ZYDIS_MNEMONIC_BZHI, sel_bzhi },
	{ ZYDIS_MNEMONIC_MULX, sel_mulx },
	{ ZYDIS_MNEMONIC_PDEP, sel_pdep },
	{ ZYDIS_MNEMONIC_PEXT, sel_pext },
	{ ZYDIS_MNEMONIC_RORX, sel_rorx },
	{ ZYDIS_MNEMONIC_SARX, sel_sarx },
	{ ZYDIS_MNEMONIC_SHLX, sel_shlx },
	{ ZYDIS_MNEMONIC_SHRX, sel_shrx },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
