/* SPDX-License-Identifier: MIT */
/*
 * The read-modify-write exchanges (SDM Vol. 2: XCHG, CMPXCHG,
 * CMPXCHG8B, CMPXCHG16B, XADD), atomic on guest memory.
 *
 * XCHG with memory is always locked (SDM XCHG: "the processor's locking
 * protocol is automatically implemented"); the others are with LOCK. We
 * make every memory form atomic, LOCK or not, since a plain CMPXCHG or
 * XADD may be executed atomically too: the guest cannot tell, and one
 * path is simpler. The host operation is an __atomic builtin on the host
 * pointer that cpu_atomic_ptr() returns after checking write permission
 * and dropping decoded code on the page. When there is no such pointer
 * (the operand crosses a page) or it is not naturally aligned (the
 * builtins require alignment), the operand is read and written through
 * the access layer instead; that is atomic as far as the guest can see
 * only while all vCPUs run on one host thread, as they do today.
 * A LOCK prefix on a register form is #UD: the selectors return NULL.
 */
#include "cpu/exec.h"

#define BODY static inline __attribute__((always_inline)) int

/* Returns a host pointer to use atomically, NULL for the fallback; a fault is left in *f. */
static inline u8 *lock_ptr(struct cpu *c, gva_t ea, unsigned sz, int *f)
{
	u8 *p = cpu_atomic_ptr(c, ea, sz, f);
	return p && ((uintptr_t)p & (sz - 1)) == 0 ? p : NULL;
}

#define ATOMIC_SIZED(sz, expr_1, expr_2, expr_4, expr_8) \
	(sz == 1 ? (expr_1) : sz == 2 ? (expr_2) : sz == 4 ? (expr_4) : (expr_8))

/* Exchanges the naturally aligned sz bytes at p with v; returns the old value. */
static inline u64 atomic_xchg(u8 *p, unsigned sz, u64 v)
{
	return ATOMIC_SIZED(sz, __atomic_exchange_n(p, (u8)v, __ATOMIC_SEQ_CST),
			    __atomic_exchange_n((u16 *)p, (u16)v, __ATOMIC_SEQ_CST),
			    __atomic_exchange_n((u32 *)p, (u32)v, __ATOMIC_SEQ_CST),
			    __atomic_exchange_n((u64 *)p, v, __ATOMIC_SEQ_CST));
}

/* Adds v to the naturally aligned sz bytes at p; returns the old value. */
static inline u64 atomic_add(u8 *p, unsigned sz, u64 v)
{
	return ATOMIC_SIZED(sz, __atomic_fetch_add(p, (u8)v, __ATOMIC_SEQ_CST),
			    __atomic_fetch_add((u16 *)p, (u16)v, __ATOMIC_SEQ_CST),
			    __atomic_fetch_add((u32 *)p, (u32)v, __ATOMIC_SEQ_CST),
			    __atomic_fetch_add((u64 *)p, v, __ATOMIC_SEQ_CST));
}

/* Stores nv at p if it holds cmp; returns the value that was there either way. */
static inline u64 atomic_cas(u8 *p, unsigned sz, u64 cmp, u64 nv)
{
	return ATOMIC_SIZED(sz, __sync_val_compare_and_swap(p, (u8)cmp, (u8)nv),
			    __sync_val_compare_and_swap((u16 *)p, (u16)cmp, (u16)nv),
			    __sync_val_compare_and_swap((u32 *)p, (u32)cmp, (u32)nv),
			    __sync_val_compare_and_swap((u64 *)p, cmp, nv));
}

#define SIZED_ONE(name, body, sz) \
	static int name##_##sz(struct cpu *c, const struct insn *i) { return body(c, i, sz); }
#define SIZED(name, body) \
	SIZED_ONE(name, body, 1) SIZED_ONE(name, body, 2) SIZED_ONE(name, body, 4) SIZED_ONE(name, body, 8) \
	static const insn_fn name[4] = { name##_1, name##_2, name##_4, name##_8 };

static insn_fn pick(const insn_fn tab[4], unsigned sz)
{
	switch (sz) {
	case 1: return tab[0];
	case 2: return tab[1];
	case 4: return tab[2];
	case 8: return tab[3];
	default: return NULL;
	}
}

/* XCHG r, r (including XCHG r, rAX, 90+r with REX.B): 32-bit forms zero-extend both registers. */
BODY xchg_rr(struct cpu *c, const struct insn *i, unsigned sz)
{
	u64 a = cpu_reg_get(c, i->r[0], sz), b = cpu_reg_get(c, i->r[1], sz);
	cpu_reg_set(c, i->r[0], sz, b);
	cpu_reg_set(c, i->r[1], sz, a);
	return EXEC_NEXT;
}

/* XCHG m, r (the selector puts the register in r[1] whatever the operand order). */
BODY xchg_mr(struct cpu *c, const struct insn *i, unsigned sz)
{
	int f;
	gva_t ea = cpu_ea(c, i);
	u8 *p = lock_ptr(c, ea, sz, &f);
	u64 v = cpu_reg_get(c, i->r[1], sz), old;
	if (f)
		return f;
	if (p)
		old = atomic_xchg(p, sz, v);
	else if (cpu_read(c, ea, sz, &old) || cpu_write(c, ea, sz, v))
		return EXEC_FAULT;
	cpu_reg_set(c, i->r[1], sz, old);
	return EXEC_NEXT;
}
SIZED(op_xchg_Ev_Gv, xchg_rr)
SIZED(op_xchg_M_Gv, xchg_mr)

static insn_fn sel_xchg(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (i->nops != 2)
		return NULL;
	if (i->k[0] == OPK_REG && i->k[1] == OPK_REG)
		return (i->flags & INSN_LOCK) ? NULL : pick(op_xchg_Ev_Gv, i->osz);
	if (i->k[0] == OPK_REG && i->k[1] == OPK_MEM)
		i->r[1] = i->r[0];
	else if (!(i->k[0] == OPK_MEM && i->k[1] == OPK_REG))
		return NULL;
	return pick(op_xchg_M_Gv, i->osz);
}

/*
 * CMPXCHG r/m, r (SDM CMPXCHG): compare the accumulator with the
 * destination, flags as CMP acc, dest. Equal: dest := src. Not equal:
 * acc := dest and the register destination is left alone (the host keeps
 * its upper half too); memory is written back unchanged, as locked
 * hardware does, which is why write permission is checked either way.
 */
BODY cmpxchg_rr(struct cpu *c, const struct insn *i, unsigned sz)
{
	u64 acc = cpu_reg_get(c, RAX, sz), dst = cpu_reg_get(c, i->r[0], sz);
	lf_set(c, LF_SUB, sz, acc, dst, acc - dst);
	if (acc == dst)
		cpu_reg_set(c, i->r[0], sz, cpu_reg_get(c, i->r[1], sz));
	else
		cpu_reg_set(c, RAX, sz, dst);
	return EXEC_NEXT;
}

BODY cmpxchg_mr(struct cpu *c, const struct insn *i, unsigned sz)
{
	int f;
	gva_t ea = cpu_ea(c, i);
	u8 *p = lock_ptr(c, ea, sz, &f);
	u64 acc = cpu_reg_get(c, RAX, sz), src = cpu_reg_get(c, i->r[1], sz), old;
	if (f)
		return f;
	if (p)
		old = atomic_cas(p, sz, acc, src);
	else if (cpu_read(c, ea, sz, &old) || cpu_write(c, ea, sz, old == acc ? src : old))
		return EXEC_FAULT;
	lf_set(c, LF_SUB, sz, acc, old, acc - old);
	if (old != acc)
		cpu_reg_set(c, RAX, sz, old);
	return EXEC_NEXT;
}
SIZED(op_cmpxchg_Ev_Gv, cmpxchg_rr)
SIZED(op_cmpxchg_M_Gv, cmpxchg_mr)

static insn_fn sel_cmpxchg(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (i->nops != 2 || i->k[1] != OPK_REG)
		return NULL;
	if (i->k[0] == OPK_REG)
		return (i->flags & INSN_LOCK) ? NULL : pick(op_cmpxchg_Ev_Gv, i->osz);
	return i->k[0] == OPK_MEM ? pick(op_cmpxchg_M_Gv, i->osz) : NULL;
}

/*
 * CMPXCHG8B m64: compare EDX:EAX with m64; equal: m64 := ECX:EBX, ZF := 1;
 * else EDX:EAX := m64 (zero-extending RAX and RDX), ZF := 0. Only ZF
 * changes.
 */
static int op_cmpxchg8b_Mq(struct cpu *c, const struct insn *i)
{
	int f;
	gva_t ea = cpu_ea(c, i);
	u8 *p = lock_ptr(c, ea, 8, &f);
	u64 cmp = (u32)c->r[RAX] | c->r[RDX] << 32, nv = (u32)c->r[RBX] | c->r[RCX] << 32, old;
	if (f)
		return f;
	if (p)
		old = atomic_cas(p, 8, cmp, nv);
	else if (cpu_read(c, ea, 8, &old) || cpu_write(c, ea, 8, old == cmp ? nv : old))
		return EXEC_FAULT;
	flags_merge(c, RFLAGS_ZF, old == cmp ? RFLAGS_ZF : 0);
	if (old != cmp) {
		c->r[RAX] = (u32)old;
		c->r[RDX] = old >> 32;
	}
	return EXEC_NEXT;
}

/* Compares and swaps 16 bytes at the 16-byte aligned host pointer p; returns the old value. */
#if defined(__x86_64__)
__attribute__((target("cx16"))) static u128 atomic_cas16(u8 *p, u128 cmp, u128 nv)
{
	return __sync_val_compare_and_swap((u128 *)p, cmp, nv);
}
#else
static u128 atomic_cas16(u8 *p, u128 cmp, u128 nv)
{
	u128 old;
	memcpy(&old, p, 16);
	if (old == cmp)
		memcpy(p, &nv, 16);
	return old;
}
#endif

/*
 * CMPXCHG16B m128: as CMPXCHG8B with RDX:RAX and RCX:RBX. SDM: "#GP(0) If
 * memory operand for CMPXCHG16B is not aligned on a 16-byte boundary",
 * checked before the access. An aligned operand never crosses a page, so
 * cpu_atomic_ptr always has a pointer for it.
 */
static int op_cmpxchg16b_Mdq(struct cpu *c, const struct insn *i)
{
	int f;
	gva_t ea = cpu_ea(c, i);
	if (ea & 15)
		return cpu_raise(c, VEC_GP, true, 0);
	u8 *p = cpu_atomic_ptr(c, ea, 16, &f);
	if (!p)
		return f ? f : cpu_raise(c, VEC_GP, true, 0);
	u128 cmp = (u128)c->r[RDX] << 64 | c->r[RAX], nv = (u128)c->r[RCX] << 64 | c->r[RBX];
	u128 old = atomic_cas16(p, cmp, nv);
	flags_merge(c, RFLAGS_ZF, old == cmp ? RFLAGS_ZF : 0);
	if (old != cmp) {
		c->r[RAX] = (u64)old;
		c->r[RDX] = (u64)(old >> 64);
	}
	return EXEC_NEXT;
}

static insn_fn sel_cmpxchg8b(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (i->nops != 1 || i->k[0] != OPK_MEM)
		return NULL;
	return zi->mnemonic == ZYDIS_MNEMONIC_CMPXCHG16B ? op_cmpxchg16b_Mdq : op_cmpxchg8b_Mq;
}

/* XADD r/m, r (SDM XADD): TEMP := SRC + DEST; SRC := DEST; DEST := TEMP, flags as ADD. */
BODY xadd_rr(struct cpu *c, const struct insn *i, unsigned sz)
{
	u64 dst = cpu_reg_get(c, i->r[0], sz), src = cpu_reg_get(c, i->r[1], sz);
	lf_set(c, LF_ADD, sz, dst, src, dst + src);
	cpu_reg_set(c, i->r[1], sz, dst);
	cpu_reg_set(c, i->r[0], sz, dst + src);
	return EXEC_NEXT;
}

BODY xadd_mr(struct cpu *c, const struct insn *i, unsigned sz)
{
	int f;
	gva_t ea = cpu_ea(c, i);
	u8 *p = lock_ptr(c, ea, sz, &f);
	u64 src = cpu_reg_get(c, i->r[1], sz), old;
	if (f)
		return f;
	if (p)
		old = atomic_add(p, sz, src);
	else if (cpu_read(c, ea, sz, &old) || cpu_write(c, ea, sz, old + src))
		return EXEC_FAULT;
	lf_set(c, LF_ADD, sz, old, src, old + src);
	cpu_reg_set(c, i->r[1], sz, old);
	return EXEC_NEXT;
}
SIZED(op_xadd_Ev_Gv, xadd_rr)
SIZED(op_xadd_M_Gv, xadd_mr)

static insn_fn sel_xadd(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (i->nops != 2 || i->k[1] != OPK_REG)
		return NULL;
	if (i->k[0] == OPK_REG)
		return (i->flags & INSN_LOCK) ? NULL : pick(op_xadd_Ev_Gv, i->osz);
	return i->k[0] == OPK_MEM ? pick(op_xadd_M_Gv, i->osz) : NULL;
}

const struct op_entry exec_atomic_ops[] = {
	{ ZYDIS_MNEMONIC_XCHG, sel_xchg },
	{ ZYDIS_MNEMONIC_CMPXCHG, sel_cmpxchg },
	{ ZYDIS_MNEMONIC_CMPXCHG8B, sel_cmpxchg8b },
	{ ZYDIS_MNEMONIC_CMPXCHG16B, sel_cmpxchg8b },
	{ ZYDIS_MNEMONIC_XADD, sel_xadd },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
