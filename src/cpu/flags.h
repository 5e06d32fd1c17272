/* SPDX-License-Identifier: MIT */
/*
 * Lazy arithmetic flags (DESIGN section 8). Arithmetic records its operands
 * and result with lf_set(); CF, PF, AF, ZF, SF and OF are derived only when
 * something reads them (Jcc, SETcc, CMOVcc, PUSHF, ADC, LAHF...).
 * Instructions whose flag rules are unusual (shifts, rotates, multiplies,
 * bit scans) compute their flags eagerly with flags_merge().
 */
#ifndef FACET_FLAGS_H
#define FACET_FLAGS_H

#include "cpu/cpu.h"

/*
 * Records a flag-producing operation of `size` bytes. ADC, SBB, INC and DEC
 * must read flags_cf() before calling this and store it in c->lf.cf_in after.
 */
static inline void lf_set(struct cpu *c, enum lf_op op, unsigned size, u64 dst, u64 src, u64 res)
{
	c->lf.op = (u8)op;
	c->lf.size = (u8)size;
	c->lf.dst = dst;
	c->lf.src = src;
	c->lf.res = res;
}

/* Returns RFLAGS with the arithmetic flags brought up to date (and stores them). */
u64 flags_get(struct cpu *c);

/* Replaces RFLAGS entirely (bit 1 forced to 1); arithmetic flags become eager. */
void flags_set(struct cpu *c, u64 rflags);

/* Sets the RFLAGS bits in `mask` to `values`, keeping the others (materializes lazy flags). */
void flags_merge(struct cpu *c, u64 mask, u64 values);

/* Returns the carry flag. */
bool flags_cf(struct cpu *c);

/* Evaluates condition code cc (0-15, the low nibble of Jcc/SETcc/CMOVcc opcodes). */
bool flags_cond(struct cpu *c, unsigned cc);

/* Returns PF for the low byte of v (set when the number of 1 bits is even). */
static inline u64 flags_parity(u64 v)
{
	return __builtin_parity((u8)v) ? 0 : RFLAGS_PF;
}

/* Helpers for operand sizes: mask of the operand and its sign bit. */
static inline u64 size_mask(unsigned size)
{
	return size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}
static inline u64 size_sign(unsigned size)
{
	return 1ULL << (size * 8 - 1);
}
/* Sign-extends the low `size` bytes of v to 64 bits. */
static inline s64 size_sext(u64 v, unsigned size)
{
	unsigned sh = 64 - size * 8;
	return (s64)(v << sh) >> sh;
}

#endif
