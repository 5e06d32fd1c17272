/* SPDX-License-Identifier: MIT */
/*
 * Case generation: from a form and a seed, the input registers, RFLAGS,
 * memory windows and the per-case immediates of one differential case.
 *
 * A form's inputs are "slots": every register it reads (explicit or
 * implied, like RDX:RAX of DIV), its memory operand, its immediate. The
 * first cases walk the pairs of edge values of the first two slots (0, 1,
 * -1, sign boundaries, shift counts 0, 1, width-1, width, >width...);
 * the rest mix edge values with seeded random ones. Roles then make the
 * state meaningful: memory operands are solved so their address lands in
 * the data window (the base register absorbs index and displacement, or
 * the displacement is rewritten for RIP-relative and absolute forms), the
 * stack pointer goes into the stack window, string registers get small
 * counts and compare patterns, dividends mostly avoid #DE, CMPXCHG's
 * accumulator often equals the destination, branch targets point at the
 * landing pads. A few cases per form put the memory operand on the
 * unmapped page 0 (#PF in both worlds) or at a non-canonical address
 * (#GP); FAM_FAULT forms do the latter in every case, through SS too.
 */
#include <string.h>

#include "diff.h"

#define POOL_N 12        // edge values per pool; index POOL_N means "random"
#define EDGE_CASES (POOL_N * POOL_N)
#define MEMPOOL_SIZE (64 * 1024)
#define FLAGS_ARITH 0x8d5ULL
#define FLAGS_DF 0x400ULL
#define NONCANON 0x800000000000ULL // the first non-canonical address above the lower half

enum pool { P_VALUE, P_COUNT, P_BITOFF, P_BITOFF_MEM, P_BZHI, P_BEXTR, P_ENTER_SIZE, P_ENTER_LEVEL };

enum slot_kind { SLOT_REG, SLOT_MEM, SLOT_IMM };

struct slot {
	u8 kind;   // enum slot_kind
	u8 pool;   // enum pool
	u8 bits;   // width of the value
	int n;     // Zydis operand index
	int gpr;   // SLOT_REG: register number, shift in `shift`
	int shift; // SLOT_REG: 8 for AH..BH
	int off;   // SLOT_IMM: byte offset in the instruction; SLOT_MEM: memop index
};

static u8 mempool[MEMPOOL_SIZE];

u64 mix64(u64 a, u64 b)
{
	u64 z = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u64 rnd(u64 *x)
{
	*x += 0x9e3779b97f4a7c15ULL;
	return mix64(*x, 0);
}

void state_pool_init(u64 seed)
{
	u64 x = seed;
	for (size_t k = 0; k < MEMPOOL_SIZE; k += 8) {
		u64 v = rnd(&x);
		memcpy(mempool + k, &v, 8);
	}
}

u8 *dmem_at(struct dmem *m, u64 addr, unsigned size)
{
	if (addr >= SB_DATA && addr + size <= SB_DATA + SB_DATA_SIZE)
		return m->data + (addr - SB_DATA);
	if (addr >= SB_STACK && addr + size <= SB_STACK + SB_STACK_SIZE)
		return m->stack + (addr - SB_STACK);
	return NULL;
}

static u64 mask_of(unsigned bits)
{
	return bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
}

/* Maps a Zydis GPR to its register number, width and shift (8 for AH..BH); false if not a GPR. */
static bool gpr_of(ZydisRegister r, int *gpr, unsigned *bits, int *shift)
{
	ZydisRegisterClass cl = ZydisRegisterGetClass(r);
	if (cl != ZYDIS_REGCLASS_GPR8 && cl != ZYDIS_REGCLASS_GPR16 && cl != ZYDIS_REGCLASS_GPR32 &&
	    cl != ZYDIS_REGCLASS_GPR64)
		return false;
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
	*gpr = big - ZYDIS_REGISTER_RAX;
	*bits = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r);
	*shift = r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH ? 8 : 0;
	return true;
}

static u64 value_edge(unsigned idx, unsigned bits, u64 *x)
{
	u64 m = mask_of(bits), sign = 1ULL << (bits - 1);
	switch (idx) {
	case 0: return 0;
	case 1: return 1;
	case 2: return 2;
	case 3: return m;
	case 4: return m - 1;
	case 5: return sign - 1;
	case 6: return sign;
	case 7: return sign + 1;
	case 8: return sign - 2;
	case 9: return 0x5555555555555555ULL & m;
	case 10: return rnd(x) % 16;
	case 11: return 1ULL << (rnd(x) % bits);
	default: return rnd(x) & m;
	}
}

static u64 count_edge(unsigned idx, unsigned bits, u64 *x)
{
	static const u8 fixed[] = { 0, 1, 2, 0, 0, 0, 31, 32, 33, 63, 64, 0xff };
	if (idx == 3)
		return bits - 1;
	if (idx == 4)
		return bits;
	if (idx == 5)
		return bits + 1;
	if (idx < POOL_N)
		return fixed[idx];
	return rnd(x) & (rnd(x) & 1 ? 0x3f : 0xff);
}

/* Bit offsets of BT*; for a memory operand they stay within +-2048 bits of it. */
static u64 bitoff_edge(unsigned idx, unsigned bits, bool mem, u64 *x)
{
	const s64 fixed[POOL_N] = { 0, 1, bits - 1, bits, bits + 1, 63, 64, -1, -(s64)bits, 127, -129, 2047 };
	if (idx < POOL_N)
		return (u64)fixed[idx] & mask_of(bits);
	if (mem)
		return (u64)((s64)(rnd(x) % 4096) - 2048) & mask_of(bits);
	return rnd(x) & mask_of(bits);
}

static u64 pool_value(enum pool p, unsigned idx, unsigned bits, u64 *x)
{
	switch (p) {
	case P_COUNT:
	case P_BZHI: return count_edge(idx, bits, x);
	case P_BITOFF: return bitoff_edge(idx, bits, false, x);
	case P_BITOFF_MEM: return bitoff_edge(idx, bits, true, x);
	case P_BEXTR: {
		unsigned s = (unsigned)count_edge(idx % 6, bits, x), l = (unsigned)count_edge((idx / 2) % 6, bits, x);
		return idx < POOL_N ? (s | (l << 8)) : rnd(x) & 0xffff;
	}
	case P_ENTER_SIZE: return idx < 4 ? (u64[]){ 0, 1, 8, 0x100 }[idx] : rnd(x) & 0x7ff;
	case P_ENTER_LEVEL: return idx < 6 ? (u64[]){ 0, 1, 2, 3, 31, 33 }[idx] : rnd(x) & 0x3f;
	default: return value_edge(idx, bits, x) & mask_of(bits);
	}
}

/* Which pool operand n of this instruction draws from. */
static enum pool pool_of(const struct dform_info *fi, int n)
{
	const ZydisDecodedOperand *o = fi->zo;
	switch (fi->zi.mnemonic) {
	case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR:
	case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL: case ZYDIS_MNEMONIC_RCR:
		return n == 1 ? P_COUNT : P_VALUE;
	case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD: case ZYDIS_MNEMONIC_SARX: case ZYDIS_MNEMONIC_SHLX:
	case ZYDIS_MNEMONIC_SHRX: case ZYDIS_MNEMONIC_RORX:
		return n == 2 ? P_COUNT : P_VALUE;
	case ZYDIS_MNEMONIC_BZHI: return n == 2 ? P_BZHI : P_VALUE;
	case ZYDIS_MNEMONIC_BEXTR: return n == 2 ? P_BEXTR : P_VALUE;
	case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_BTS: case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC:
		if (n != 1)
			return P_VALUE;
		return o[0].type == ZYDIS_OPERAND_TYPE_MEMORY && o[1].type == ZYDIS_OPERAND_TYPE_REGISTER ? P_BITOFF_MEM
													   : P_BITOFF;
	case ZYDIS_MNEMONIC_ENTER: return n == 0 ? P_ENTER_SIZE : P_ENTER_LEVEL;
	default: return P_VALUE;
	}
}

static bool is_read(const ZydisDecodedOperand *o)
{
	return o->actions & (ZYDIS_OPERAND_ACTION_READ | ZYDIS_OPERAND_ACTION_CONDREAD);
}

/* Lists the inputs of a form: explicit operands first (so edge pairs cover them), then implied registers. */
static unsigned list_slots(const struct dform_info *fi, struct slot *s)
{
	unsigned ns = 0, ri = 0, mi = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int n = 0; n < fi->zi.operand_count; n++) {
			const ZydisDecodedOperand *o = &fi->zo[n];
			bool hidden = o->visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT;
			struct slot *t = &s[ns];
			unsigned bits;
			if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && pass == 0 && o->mem.type == ZYDIS_MEMOP_TYPE_MEM &&
			    !hidden) {
				for (mi = 0; mi < fi->nmem && fi->mem[mi].n != n; mi++)
					;
				if (mi < fi->nmem && is_read(o) && o->size <= 64)
					*t = (struct slot){ SLOT_MEM, pool_of(fi, n), (u8)o->size, n, 0, 0, (int)mi }, ns++;
			} else if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && pass == 0 && !hidden && ri < 2 &&
				   !fi->zi.raw.imm[ri].is_relative) {
				*t = (struct slot){ SLOT_IMM, pool_of(fi, n), fi->zi.raw.imm[ri].size, n, 0, 0,
						    fi->zi.raw.imm[ri].offset };
				ri++, ns++;
			} else if (o->type == ZYDIS_OPERAND_TYPE_REGISTER && (pass == 0) == !hidden && is_read(o) &&
				   gpr_of(o->reg.value, &t->gpr, &bits, &t->shift) && (t->gpr != 4 || !hidden) &&
				   !(fi->rep && (t->gpr == 1 || t->gpr == 6 || t->gpr == 7))) {
				t->kind = SLOT_REG, t->pool = pool_of(fi, n), t->bits = (u8)bits, t->n = n;
				ns++;
			}
		}
	return ns;
}

static void set_gpr(struct dstate *st, int gpr, int shift, unsigned bits, u64 v)
{
	u64 m = mask_of(bits) << shift;
	st->r[gpr] = (st->r[gpr] & ~m) | ((v << shift) & m);
}

static void store_le(u8 *p, u64 v, unsigned bytes)
{
	memcpy(p, &v, bytes);
}

static u64 load_le(const u8 *p, unsigned bytes)
{
	u64 v = 0;
	memcpy(&v, p, bytes);
	return v;
}

/* A register value: full random, small, a 32-bit pattern or an edge value. */
static u64 random_reg(u64 *x)
{
	u64 v = rnd(x);
	switch (v & 7) {
	case 0: return (v >> 3) & 0xff;
	case 1: return (u32)rnd(x);
	case 2: return value_edge((unsigned)((v >> 3) % POOL_N), 64, x);
	default: return rnd(x);
	}
}

/* The per-case values of the slots; returns the values by Zydis operand index in val[]. */
static void fill_slots(const struct slot *s, unsigned ns, unsigned k, u64 *x, struct dstate *st, u8 *code,
		       u64 *val)
{
	for (unsigned j = 0; j < ns; j++) {
		unsigned idx;
		if (k < EDGE_CASES && j < 2)
			idx = (j == 0 ? k : k / POOL_N) % POOL_N;
		else
			idx = rnd(x) % 4 == 0 ? (unsigned)(rnd(x) % POOL_N) : POOL_N;
		u64 v = pool_value(s[j].pool, idx, s[j].bits, x);
		val[s[j].n] = v;
		if (s[j].kind == SLOT_REG)
			set_gpr(st, s[j].gpr, s[j].shift, s[j].bits, v);
		else if (s[j].kind == SLOT_IMM)
			store_le(code + s[j].off, v, s[j].bits / 8);
	}
}

/* Where a memory operand should point this case. */
static u64 pick_target(const struct dform_info *fi, const struct dmemop *m, bool first, unsigned k, u64 *x)
{
	unsigned sz = m->size;
	bool may_fault = first && !(m->base == 4 && fi->stack); // one operand only: which of two faulting
								 // accesses comes first is not architectural
	if ((k == 7 || k == 151) && may_fault)
		return 0x200 + rnd(x) % 0xc00; // page 0 is unmapped in both worlds: #PF
	bool ds = m->base != 4 && m->base != 5; // an RSP or RBP base means SS: #SS rather than #GP (FAM_FAULT)
	bool solvable = !m->a32 && m->base != 16 && (m->base >= 0 || m->index >= 0);
	if (((k == 11 || k == 201) && ds) || fi->noncanon)
		if (may_fault && solvable)
			return NONCANON + rnd(x) % 0x1000; // non-canonical: #GP
	if (m->string) {
		u64 t = SB_DATA + (m->base == 7 ? 0x900 : 0x600) + rnd(x) % 0x100; // [rdi] above [rsi]
		return t & ~(u64)(rnd(x) % 4 == 0 ? 0 : sz - 1);
	}
	if (sz == 16 && fi->zi.mnemonic == ZYDIS_MNEMONIC_CMPXCHG16B)
		return (SB_DATA + 0x600 + rnd(x) % 0x400) & ~(k % 10 == 3 ? 7ULL : 15ULL);
	u64 t = SB_DATA + 0x400 + rnd(x) % 0x800;
	if (!fi->locked && sz > 1 && rnd(x) % 12 == 0)
		return 0x302000 - 1 - rnd(x) % (sz - 1); // crosses a page boundary
	if (fi->locked || rnd(x) % 2)
		t &= ~(u64)(sz - 1);
	return t;
}

/* Returns the inverse of odd a modulo 2^64 (Newton's iteration). */
static u64 inverse_odd(u64 a)
{
	u64 y = a;
	for (int k = 0; k < 6; k++)
		y *= 2 - a * y;
	return y;
}

/* Sets the low bits (all bits for 64-bit addressing) of a register used in an address. */
static void set_addr_reg(struct dstate *st, int gpr, u64 v, bool a32)
{
	st->r[gpr] = a32 ? (st->r[gpr] & ~0xffffffffULL) | (u32)v : v;
}

/* Makes memory operand m address T (rewriting a register or the displacement); returns the address. */
static u64 solve(const struct dform_info *fi, struct dmemop *m, struct dstate *st, u8 *code, u64 t)
{
	u64 am = m->a32 ? 0xffffffffULL : ~0ULL, want = t - m->segbase;
	u64 next = SB_INSN + fi->zi.length;
	if (m->base == 16 || (m->base < 0 && m->index < 0)) {
		m->disp = (s64)(m->base == 16 ? want - next : want);
		store_le(code + fi->zi.raw.disp.offset, (u64)m->disp, fi->zi.raw.disp.size / 8);
	} else if (m->base < 0) {
		u64 rest = (want - (u64)m->disp) & am, unit = 1ULL << m->scale;
		want -= rest % unit;
		set_addr_reg(st, m->index, ((want - (u64)m->disp) & am) >> m->scale, m->a32);
	} else if (m->index == m->base) {
		u64 mul = 1 + (1ULL << m->scale), rest = (want - (u64)m->disp) & am;
		if (mul == 2)
			rest &= ~1ULL, set_addr_reg(st, m->base, rest >> 1, m->a32);
		else
			set_addr_reg(st, m->base, (rest * inverse_odd(mul)) & am, m->a32);
	} else {
		u64 idx = m->index < 0 ? 0 : (st->r[m->index] & m->index_mask) << m->scale;
		set_addr_reg(st, m->base, (want - (u64)m->disp - idx) & am, m->a32);
	}
	u64 b = m->base == 16 ? next : m->base < 0 ? 0 : st->r[m->base];
	u64 i = m->index < 0 ? 0 : (st->r[m->index] & m->index_mask) << m->scale;
	return m->segbase + ((b + i + (u64)m->disp) & am);
}

/* Solves every memory operand and stores the slot value of a read operand there. */
static void place_memory(const struct dform_info *fi, struct dmemop *mem, unsigned k, u64 *x, struct dstate *st,
			 struct dmem *dm, u8 *code, const u64 *val, const bool *has)
{
	for (unsigned j = 0; j < fi->nmem; j++) {
		struct dmemop *m = &mem[j];
		if (m->base == 4 && fi->stack) { // [rsp+...] of PUSH/POP/CALL: relative to the stack window
			if (m->index >= 0)
				st->r[m->index] = rnd(x) % 8;
			u64 i = m->index < 0 ? 0 : st->r[m->index] << m->scale;
			m->ea = st->r[4] + i + (u64)m->disp;
		} else {
			m->ea = solve(fi, m, st, code, pick_target(fi, m, j == 0, k, x));
		}
		u8 *p = dmem_at(dm, m->ea, m->size);
		if (p && has[m->n] && m->size <= 8)
			store_le(p, val[m->n], m->size);
	}
}

/* DIV/IDIV: usually a dividend whose quotient fits, so that most cases do not end in #DE. */
static void fix_div(const struct dform_info *fi, u64 *x, struct dstate *st, u64 divisor)
{
	unsigned bits = fi->zi.operand_width;
	u64 m = mask_of(bits), low = bits == 8 ? st->r[0] & 0xff : st->r[0] & m;
	divisor &= m;
	if (divisor == 0 || rnd(x) % 10 < 3)
		return;
	u64 high = fi->zi.mnemonic == ZYDIS_MNEMONIC_DIV ? rnd(x) % divisor : (low >> (bits - 1)) & 1 ? m : 0;
	if (bits == 8)
		set_gpr(st, 0, 8, 8, high);
	else
		set_gpr(st, 2, 0, bits, high);
}

/* CMPXCHG/CMPXCHG16B: half the cases compare equal. */
static void fix_cmpxchg(const struct dform_info *fi, const struct dmemop *mem, u64 *x, struct dstate *st,
			struct dmem *dm, const u64 *val)
{
	if (rnd(x) % 2)
		return;
	if (fi->zi.mnemonic == ZYDIS_MNEMONIC_CMPXCHG) {
		set_gpr(st, 0, 0, fi->zi.operand_width, val[0]);
		return;
	}
	unsigned half = fi->zi.mnemonic == ZYDIS_MNEMONIC_CMPXCHG8B ? 4 : 8; // EDX:EAX or RDX:RAX
	const u8 *p = fi->nmem ? dmem_at(dm, mem[0].ea, 2 * half) : NULL;
	if (p)
		set_gpr(st, 0, 0, half * 8, load_le(p, half)), set_gpr(st, 2, 0, half * 8, load_le(p + half, half));
}

/* Returns the string operand based on register gpr (RSI or RDI), or NULL. */
static struct dmemop *string_op(const struct dform_info *fi, struct dmemop *mem, int gpr)
{
	for (unsigned j = 0; j < fi->nmem; j++)
		if (mem[j].base == gpr)
			return &mem[j];
	return NULL;
}

/* MOVS: a quarter of the cases copy between overlapping ranges (the copy is element by element). */
static void overlap_movs(const struct dform_info *fi, struct dmemop *mem, u64 *x, struct dstate *st)
{
	struct dmemop *d = string_op(fi, mem, 7), *s = string_op(fi, mem, 6);
	if (!d || !s || rnd(x) % 4)
		return;
	d->ea = s->ea + (u64)(((s64)(rnd(x) % 17) - 8) * (s64)(fi->zi.operand_width / 8));
	set_addr_reg(st, 7, d->ea, d->a32);
}

/* REP counts, and the data CMPS/SCAS compare: equal runs that end at a random element. */
static void fix_string(const struct dform_info *fi, struct dmemop *mem, u64 *x, struct dstate *st, struct dmem *dm)
{
	static const u16 counts[] = { 0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 33, 40 };
	unsigned sz = fi->zi.operand_width / 8;
	u64 n = counts[rnd(x) % ARRAY_SIZE(counts)];
	if (sz == 1 && rnd(x) % 8 == 0)
		n = 200;
	if (fi->rep)
		set_gpr(st, 1, 0, fi->zi.address_width, n);
	ZydisMnemonic mn = fi->zi.mnemonic;
	bool scas = mn == ZYDIS_MNEMONIC_SCASB || mn == ZYDIS_MNEMONIC_SCASW || mn == ZYDIS_MNEMONIC_SCASD ||
		    mn == ZYDIS_MNEMONIC_SCASQ;
	bool cmps = mn == ZYDIS_MNEMONIC_CMPSB || mn == ZYDIS_MNEMONIC_CMPSW || mn == ZYDIS_MNEMONIC_CMPSD ||
		    mn == ZYDIS_MNEMONIC_CMPSQ;
	if (mn == ZYDIS_MNEMONIC_MOVSB || mn == ZYDIS_MNEMONIC_MOVSW || mn == ZYDIS_MNEMONIC_MOVSD ||
	    mn == ZYDIS_MNEMONIC_MOVSQ)
		overlap_movs(fi, mem, x, st);
	const struct dmemop *dop = string_op(fi, mem, 7), *sop = string_op(fi, mem, 6);
	if ((!scas && !cmps) || !dop || (cmps && !sop))
		return;
	bool repne = fi->zi.attributes & ZYDIS_ATTRIB_HAS_REPNE;
	s64 step = st->rflags & FLAGS_DF ? -(s64)sz : (s64)sz;
	u64 stop = rnd(x) % (n + 2);
	for (u64 e = 0; e < n + 1 && e < 64; e++) {
		u8 *d = dmem_at(dm, dop->ea + (u64)((s64)e * step), sz);
		u8 *s = cmps ? dmem_at(dm, sop->ea + (u64)((s64)e * step), sz) : NULL;
		if (!d || (cmps && !s))
			break;
		u64 want = cmps ? load_le(s, sz) : st->r[0] & mask_of(sz * 8);
		bool equal = repne ? e == stop : e != stop;
		store_le(d, equal ? want : want ^ (1ULL << (rnd(x) % (sz * 8))), sz);
	}
}

/* Branch targets (indirect JMP/CALL, RET) and the value POPF loads. */
static void fix_control(const struct dform_info *fi, const struct dmemop *mem, u64 *x, struct dstate *st,
			struct dmem *dm)
{
	ZydisMnemonic mn = fi->zi.mnemonic;
	const ZydisDecodedOperand *o = &fi->zo[0];
	u8 *p;
	if ((mn == ZYDIS_MNEMONIC_JMP || mn == ZYDIS_MNEMONIC_CALL) && o->type != ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		int gpr, shift;
		unsigned bits;
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER && gpr_of(o->reg.value, &gpr, &bits, &shift))
			st->r[gpr] = SB_PAD_INDIRECT;
		else if (fi->nmem && (p = dmem_at(dm, mem[0].ea, 8)))
			store_le(p, SB_PAD_INDIRECT, 8);
	} else if (mn == ZYDIS_MNEMONIC_RET && (p = dmem_at(dm, st->r[4], 8))) {
		store_le(p, SB_PAD_INDIRECT, 8);
	} else if (mn == ZYDIS_MNEMONIC_POPFQ || mn == ZYDIS_MNEMONIC_POPF) {
		/* TF would trap natively; IF and IOPL differ by privilege (CPL 3 natively, 0 in Facet). */
		u64 v = (rnd(x) & ~0x3300ULL) | 0x200;
		if ((p = dmem_at(dm, st->r[4], 8)))
			store_le(p, v, mn == ZYDIS_MNEMONIC_POPF ? 2 : 8);
	}
}

/* RSP (and RBP for ENTER/LEAVE) inside the stack window, sometimes misaligned. */
static void place_stack(const struct dform_info *fi, u64 *x, struct dstate *st)
{
	u64 top = fi->noncanon && !fi->nmem ? NONCANON + 0x1000 : SB_STACK_TOP; // #SS for FAM_FAULT
	st->r[4] = top + 8 * (rnd(x) % 64) - 0x100;
	if (rnd(x) % 16 == 0)
		st->r[4] += 4;
	if (fi->frame) {
		st->r[5] = top + 8 * (rnd(x) % 64);
		st->r[4] = st->r[5] - 8 * (rnd(x) % 32);
	}
}

void state_gen(const struct dform_info *fi, struct dmemop *mem, u64 seed, unsigned k, struct dstate *st,
	       struct dmem *m, u8 *code)
{
	struct slot s[12];
	u64 val[ZYDIS_MAX_OPERAND_COUNT] = { 0 };
	bool has[ZYDIS_MAX_OPERAND_COUNT] = { false };
	u64 x = mix64(seed, k);
	memset(st, 0, sizeof(*st));
	for (int r = 0; r < 16; r++)
		st->r[r] = random_reg(&x);
	st->rip = SB_INSN;
	st->rflags = 0x202 | (rnd(&x) & (FLAGS_ARITH | FLAGS_DF));
	memcpy(m->data, mempool + rnd(&x) % (MEMPOOL_SIZE - SB_DATA_SIZE), SB_DATA_SIZE);
	memcpy(m->stack, mempool + rnd(&x) % (MEMPOOL_SIZE - SB_STACK_SIZE), SB_STACK_SIZE);
	memcpy(mem, fi->mem, sizeof(fi->mem));
	unsigned ns = list_slots(fi, s);
	fill_slots(s, ns, k, &x, st, code, val);
	for (unsigned j = 0; j < ns; j++)
		has[s[j].n] = true;
	if (fi->stack)
		place_stack(fi, &x, st);
	ZydisMnemonic mn = fi->zi.mnemonic;
	if (mn == ZYDIS_MNEMONIC_DIV || mn == ZYDIS_MNEMONIC_IDIV)
		fix_div(fi, &x, st, val[0]);
	place_memory(fi, mem, k, &x, st, m, code, val, has);
	if (mn == ZYDIS_MNEMONIC_CMPXCHG || mn == ZYDIS_MNEMONIC_CMPXCHG8B || mn == ZYDIS_MNEMONIC_CMPXCHG16B)
		fix_cmpxchg(fi, mem, &x, st, m, val);
	if (fi->zi.meta.category == ZYDIS_CATEGORY_STRINGOP)
		fix_string(fi, mem, &x, st, m);
	fix_control(fi, mem, &x, st, m);
}

/* Register number of a Zydis address register: 16 for RIP/EIP, -1 for none. */
static int addr_reg(ZydisRegister r)
{
	int gpr, shift;
	unsigned bits;
	if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP)
		return 16;
	return gpr_of(r, &gpr, &bits, &shift) ? gpr : -1;
}

/* Records a memory operand that the case generator must point into a window. */
static void add_memop(struct dform_info *fi, const ZydisDecodedOperand *o, int n, u64 fsbase)
{
	if (fi->nmem == ARRAY_SIZE(fi->mem))
		return;
	struct dmemop *m = &fi->mem[fi->nmem++];
	m->base = addr_reg(o->mem.base);
	m->index = addr_reg(o->mem.index);
	m->scale = o->mem.scale > 1 ? (unsigned)__builtin_ctz(o->mem.scale) : 0;
	unsigned iw = o->mem.index == ZYDIS_REGISTER_NONE ? 64 : ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, o->mem.index);
	m->index_mask = iw >= 64 ? ~0ULL : (1ULL << iw) - 1; // XLAT's index is AL
	m->disp = o->mem.disp.has_displacement ? o->mem.disp.value : 0;
	m->segbase = o->mem.segment == ZYDIS_REGISTER_FS ? fsbase : o->mem.segment == ZYDIS_REGISTER_GS ? SB_GSBASE : 0;
	m->size = o->size / 8;
	m->a32 = fi->zi.address_width == 32;
	m->string = o->visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT;
	m->write = o->actions & (ZYDIS_OPERAND_ACTION_WRITE | ZYDIS_OPERAND_ACTION_CONDWRITE);
	m->n = n;
}

/* Sorts one operand into the roles: stack, frame, memory operand, branch target. */
static void classify(struct dform_info *fi, int n, u64 fsbase)
{
	const ZydisDecodedOperand *o = &fi->zo[n];
	bool hidden = o->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN;
	u64 t;
	if (o->type == ZYDIS_OPERAND_TYPE_REGISTER && hidden &&
	    (o->reg.value == ZYDIS_REGISTER_RSP || o->reg.value == ZYDIS_REGISTER_ESP))
		fi->stack = true;
	if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && o->mem.type == ZYDIS_MEMOP_TYPE_MEM) {
		if (hidden && o->mem.base == ZYDIS_REGISTER_RSP)
			fi->stack = true;
		else if (hidden && o->mem.base == ZYDIS_REGISTER_RBP)
			fi->frame = true;
		else
			add_memop(fi, o, n, fsbase);
	}
	if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && o->imm.is_relative &&
	    ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&fi->zi, o, SB_INSN, &t)) && fi->ntargets < ARRAY_SIZE(fi->targets))
		fi->targets[fi->ntargets++] = t;
}

/* The later instructions of a sequence: only their stack use and branch targets matter. */
static bool classify_rest(struct dform_info *fi, const ZydisDecoder *d, const struct dform *f)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	u64 t;
	for (unsigned off = fi->zi.length; off < f->len; off += zi.length) {
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(d, f->bytes + off, f->len - off, &zi, zo)))
			return false;
		for (int n = 0; n < zi.operand_count; n++) {
			if (zo[n].type == ZYDIS_OPERAND_TYPE_REGISTER && zo[n].reg.value == ZYDIS_REGISTER_RSP)
				fi->stack = true;
			if (zo[n].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && zo[n].imm.is_relative &&
			    ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&zi, &zo[n], SB_INSN + off, &t)) &&
			    fi->ntargets < ARRAY_SIZE(fi->targets))
				fi->targets[fi->ntargets++] = t;
		}
	}
	return true;
}

bool info_init(struct dform_info *fi, const struct dform *f, u64 fsbase)
{
	ZydisDecoder d;
	memset(fi, 0, sizeof(*fi));
	ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, f->bytes, f->len, &fi->zi, fi->zo)) || !classify_rest(fi, &d, f))
		return false;
	for (int n = 0; n < fi->zi.operand_count; n++)
		classify(fi, n, fsbase);
	ZydisMnemonic mn = fi->zi.mnemonic;
	if (mn == ZYDIS_MNEMONIC_ENTER || mn == ZYDIS_MNEMONIC_LEAVE)
		fi->frame = fi->stack = true;
	fi->locked = (fi->zi.attributes & ZYDIS_ATTRIB_HAS_LOCK) || mn == ZYDIS_MNEMONIC_CMPXCHG16B ||
		     mn == ZYDIS_MNEMONIC_CMPXCHG8B ||
		     (mn == ZYDIS_MNEMONIC_XCHG && fi->nmem);
	fi->noncanon = f->noncanon;
	fi->rep = (fi->zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) &&
		  fi->zi.meta.category == ZYDIS_CATEGORY_STRINGOP;
	return true;
}
