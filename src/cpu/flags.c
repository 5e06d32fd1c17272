/* SPDX-License-Identifier: MIT */
/*
 * Derivation of the arithmetic flags from the last recorded operation
 * (SDM Vol. 1 appendix A, and each instruction's "Flags Affected").
 * Workload: called for every flag read, so the common cases are short.
 */
#include "cpu/flags.h"

static u64 carry_of(const struct lazy_flags *f)
{
	u64 m = size_mask(f->size);
	switch (f->op) {
	case LF_ADD: return (f->res & m) < (f->dst & m);
	case LF_ADC: return f->cf_in ? (f->res & m) <= (f->dst & m) : (f->res & m) < (f->dst & m);
	case LF_SUB: return (f->dst & m) < (f->src & m);
	case LF_SBB: return f->cf_in ? (f->dst & m) <= (f->src & m) : (f->dst & m) < (f->src & m);
	case LF_INC:
	case LF_DEC: return f->cf_in;
	default: return 0;
	}
}

static u64 overflow_of(const struct lazy_flags *f)
{
	u64 s = size_sign(f->size);
	switch (f->op) {
	case LF_ADD:
	case LF_ADC: return ((~(f->dst ^ f->src)) & (f->dst ^ f->res) & s) != 0;
	case LF_SUB:
	case LF_SBB: return ((f->dst ^ f->src) & (f->dst ^ f->res) & s) != 0;
	case LF_INC: return (f->res & size_mask(f->size)) == s;
	case LF_DEC: return (f->res & size_mask(f->size)) == s - 1;
	default: return 0;
	}
}

static u64 adjust_of(const struct lazy_flags *f)
{
	switch (f->op) {
	case LF_LOGIC: return 0;
	case LF_INC: return (f->res & 0xf) == 0;
	case LF_DEC: return (f->res & 0xf) == 0xf;
	default: return ((f->dst ^ f->src ^ f->res) & 0x10) != 0;
	}
}

static u64 derive(const struct lazy_flags *f)
{
	u64 res = f->res & size_mask(f->size);
	u64 fl = 0;
	fl |= carry_of(f) ? RFLAGS_CF : 0;
	fl |= flags_parity(res);
	fl |= adjust_of(f) ? RFLAGS_AF : 0;
	fl |= res == 0 ? RFLAGS_ZF : 0;
	fl |= (res & size_sign(f->size)) ? RFLAGS_SF : 0;
	fl |= overflow_of(f) ? RFLAGS_OF : 0;
	return fl;
}

u64 flags_get(struct cpu *c)
{
	if (c->lf.op != LF_NONE) {
		c->rflags = (c->rflags & ~RFLAGS_ARITH) | derive(&c->lf);
		c->lf.op = LF_NONE;
	}
	return c->rflags;
}

void flags_set(struct cpu *c, u64 rflags)
{
	c->rflags = rflags | RFLAGS_FIXED1;
	c->lf.op = LF_NONE;
}

void flags_merge(struct cpu *c, u64 mask, u64 values)
{
	u64 f = flags_get(c);
	c->rflags = (f & ~mask) | (values & mask) | RFLAGS_FIXED1;
}

bool flags_cf(struct cpu *c)
{
	if (c->lf.op == LF_NONE)
		return c->rflags & RFLAGS_CF;
	return carry_of(&c->lf);
}

/* The fast cases: after SUB/CMP and logic ops, most conditions need no full derivation. */
static int cond_fast(const struct lazy_flags *f, unsigned cc)
{
	u64 m = size_mask(f->size);
	if (f->op == LF_SUB) {
		u64 a = f->dst & m, b = f->src & m;
		s64 sa = size_sext(a, f->size), sb = size_sext(b, f->size);
		switch (cc) {
		case 0x2: return a < b;
		case 0x3: return a >= b;
		case 0x4: return a == b;
		case 0x5: return a != b;
		case 0x6: return a <= b;
		case 0x7: return a > b;
		case 0xc: return sa < sb;
		case 0xd: return sa >= sb;
		case 0xe: return sa <= sb;
		case 0xf: return sa > sb;
		}
	} else if (f->op == LF_LOGIC) {
		u64 r = f->res & m;
		switch (cc) {
		case 0x4: return r == 0;
		case 0x5: return r != 0;
		case 0x8: return (r & size_sign(f->size)) != 0;
		case 0x9: return (r & size_sign(f->size)) == 0;
		}
	}
	return -1;
}

bool flags_cond(struct cpu *c, unsigned cc)
{
	if (c->lf.op != LF_NONE) {
		int r = cond_fast(&c->lf, cc);
		if (r >= 0)
			return r;
	}
	u64 f = flags_get(c);
	bool cf = f & RFLAGS_CF, zf = f & RFLAGS_ZF, sf = f & RFLAGS_SF, of = f & RFLAGS_OF, pf = f & RFLAGS_PF;
	bool v;
	switch (cc >> 1) {
	case 0: v = of; break;
	case 1: v = cf; break;
	case 2: v = zf; break;
	case 3: v = cf || zf; break;
	case 4: v = sf; break;
	case 5: v = pf; break;
	case 6: v = sf != of; break;
	default: v = zf || sf != of; break;
	}
	return (cc & 1) ? !v : v;
}
