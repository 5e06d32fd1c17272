/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the integer families (exec_alu.c, exec_muldiv.c,
 * exec_shift.c, exec_bit.c): eager flag writes, the per-size handler
 * generator and typed atomics for LOCK-prefixed memory forms.
 *
 * Handlers are generated per operand size with FOR_SIZES and always-inline
 * kernels taking the size as a constant, so each handler compiles to
 * straight-line code for its size (DESIGN section 8: no switch on the
 * operand form at run time).
 */
#ifndef FACET_EXEC_ALU_H
#define FACET_EXEC_ALU_H

#include "cpu/exec.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Expands X(args..., size in bytes, SDM size letter) once per operand size. */
#define FOR_SIZES(X, ...) X(__VA_ARGS__, 1, b) X(__VA_ARGS__, 2, w) X(__VA_ARGS__, 4, d) X(__VA_ARGS__, 8, q)
/* The same for instructions without a byte form (IMUL Gv,Ev, SHLD, BT...). */
#define FOR_SIZES_WDQ(X, ...) X(__VA_ARGS__, 2, w) X(__VA_ARGS__, 4, d) X(__VA_ARGS__, 8, q)

/* Index 0-3 of operand size 1, 2, 4, 8 in per-size handler tables. */
static inline unsigned size_index(unsigned sz)
{
	return (unsigned)__builtin_ctz(sz);
}

static inline bool size_valid(unsigned sz)
{
	return sz == 1 || sz == 2 || sz == 4 || sz == 8;
}

/* SF, ZF and PF of a result of `sz` bytes. */
static inline u64 flags_szp(u64 res, unsigned sz)
{
	res &= size_mask(sz);
	return flags_parity(res) | (res ? 0 : RFLAGS_ZF) | ((res & size_sign(sz)) ? RFLAGS_SF : 0);
}

/*
 * Replaces all six arithmetic flags with `fl`. Cheaper than flags_merge
 * because the stale lazy state need not be derived first: every bit it
 * would produce is overwritten.
 */
static inline void flags_put_arith(struct cpu *c, u64 fl)
{
	c->rflags = (c->rflags & ~RFLAGS_ARITH) | (fl & RFLAGS_ARITH);
	c->lf.op = LF_NONE;
}

/*
 * A read-modify-write memory destination. rmw_load checks write access
 * before reading, so a fault reports a write (error code W = 1) as on
 * hardware, and when the TLB already allows writing the page it keeps
 * the host pointer so that the store costs no second lookup.
 */
struct rmw {
	u8 *p;     // host pointer for an in-page access allowed by the TLB, or NULL
	gva_t gva; // the operand's address (for the slow path)
};

ALWAYS_INLINE int rmw_load(struct cpu *c, struct rmw *m, gva_t gva, unsigned sz, u64 *v)
{
	m->gva = gva;
	m->p = tlb_lookup(c, gva, ACC_WRITE);
	if (likely(m->p && (gva & ~PAGE_MASK) <= PAGE_SIZE - sz)) {
		*v = load_le(m->p, sz);
		return 0;
	}
	m->p = NULL;
	if (cpu_probe(c, gva, sz, ACC_WRITE))
		return EXEC_FAULT;
	return cpu_read(c, gva, sz, v);
}

/* Stores the result of a read-modify-write; cannot fault after rmw_load on the fast path. */
ALWAYS_INLINE int rmw_store(struct cpu *c, const struct rmw *m, unsigned sz, u64 v)
{
	if (likely(m->p)) {
		store_le(m->p, sz, v);
		return 0;
	}
	return cpu_write(c, m->gva, sz, v);
}

/*
 * Sets the flags in `mask` (arithmetic ones) to `values` and keeps the
 * others, as flags_merge does, but derives the kept flags inline when the
 * lazy state is eager already or a logic result: rotates, BT and MUL in
 * hash and bitmap code mostly follow XOR/AND or each other.
 */
static inline void flags_put_some(struct cpu *c, u64 mask, u64 values)
{
	u64 f;
	if (c->lf.op == LF_NONE)
		f = c->rflags;
	else if (c->lf.op == LF_LOGIC) // CF = OF = AF = 0 (flags.c)
		f = (c->rflags & ~RFLAGS_ARITH) | flags_szp(c->lf.res, c->lf.size);
	else {
		flags_merge(c, mask, values);
		return;
	}
	c->rflags = (f & ~mask) | (values & mask);
	c->lf.op = LF_NONE;
}

/* Atomic read-modify-write kinds for LOCK-prefixed forms. */
enum atomic_op { AO_ADD, AO_SUB, AO_AND, AO_OR, AO_XOR };

#define AFETCH(T, aop, p, v)                                                          \
	((aop) == AO_ADD   ? __atomic_fetch_add((T *)(p), (T)(v), __ATOMIC_SEQ_CST)   \
	 : (aop) == AO_SUB ? __atomic_fetch_sub((T *)(p), (T)(v), __ATOMIC_SEQ_CST)   \
	 : (aop) == AO_AND ? __atomic_fetch_and((T *)(p), (T)(v), __ATOMIC_SEQ_CST)   \
	 : (aop) == AO_OR  ? __atomic_fetch_or((T *)(p), (T)(v), __ATOMIC_SEQ_CST)    \
			   : __atomic_fetch_xor((T *)(p), (T)(v), __ATOMIC_SEQ_CST))

/*
 * Applies `aop` with v atomically to the sz bytes at host pointer p and
 * returns the old value. x86 hosts do locked operations on unaligned
 * addresses too, so p need not be aligned (the guest's LOCK semantics).
 */
ALWAYS_INLINE u64 atomic_fetch_sz(int aop, void *p, unsigned sz, u64 v)
{
	switch (sz) {
	case 1: return AFETCH(u8, aop, p, v);
	case 2: return AFETCH(u16, aop, p, v);
	case 4: return AFETCH(u32, aop, p, v);
	default: return AFETCH(u64, aop, p, v);
	}
}

/* Loads sz bytes at p atomically (the start value of a compare-exchange loop). */
ALWAYS_INLINE u64 atomic_load_sz(void *p, unsigned sz)
{
	switch (sz) {
	case 1: return __atomic_load_n((u8 *)p, __ATOMIC_RELAXED);
	case 2: return __atomic_load_n((u16 *)p, __ATOMIC_RELAXED);
	case 4: return __atomic_load_n((u32 *)p, __ATOMIC_RELAXED);
	default: return __atomic_load_n((u64 *)p, __ATOMIC_RELAXED);
	}
}

#define ACAS(T, p, old, want)                                                                    \
	({                                                                                       \
		T o_ = (T)*(old);                                                                \
		bool ok_ = __atomic_compare_exchange_n((T *)(p), &o_, (T)(want), false, __ATOMIC_SEQ_CST, \
						       __ATOMIC_RELAXED);                         \
		*(old) = o_;                                                                     \
		ok_;                                                                             \
	})

/* Stores `want` at p if it still holds *old; else updates *old and returns false. */
ALWAYS_INLINE bool atomic_cas_sz(void *p, unsigned sz, u64 *old, u64 want)
{
	switch (sz) {
	case 1: return ACAS(u8, p, old, want);
	case 2: return ACAS(u16, p, old, want);
	case 4: return ACAS(u32, p, old, want);
	default: return ACAS(u64, p, old, want);
	}
}

#endif
