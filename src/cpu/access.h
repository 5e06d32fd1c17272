/* SPDX-License-Identifier: MIT */
/*
 * Guest memory access for instruction handlers: loads, stores and
 * read-modify-write probes through the vCPU's TLB.
 *
 * Every function returns 0 on success or EXEC_FAULT after raising the
 * fault, so a handler can `return` the result directly. To keep "fault
 * before commit" (STYLE E2), a handler that writes memory and registers
 * performs the memory access (or cpu_probe) before touching registers.
 * Accesses that cross a page boundary translate both pages before any
 * byte is written.
 */
#ifndef FACET_ACCESS_H
#define FACET_ACCESS_H

#include <string.h>

#include "cpu/cpu.h"
#include "mmu/tlb.h"

int cpu_read_slow(struct cpu *c, gva_t gva, unsigned size, u64 *val);
int cpu_write_slow(struct cpu *c, gva_t gva, unsigned size, u64 val);
int cpu_probe_slow(struct cpu *c, gva_t gva, unsigned size, enum access acc);

static inline u64 load_le(const u8 *p, unsigned size)
{
	switch (size) {
	case 1: return *p;
	case 2: { u16 v; memcpy(&v, p, 2); return v; }
	case 4: { u32 v; memcpy(&v, p, 4); return v; }
	default: { u64 v; memcpy(&v, p, 8); return v; }
	}
}

static inline void store_le(u8 *p, unsigned size, u64 v)
{
	switch (size) {
	case 1: *p = (u8)v; break;
	case 2: { u16 w = (u16)v; memcpy(p, &w, 2); break; }
	case 4: { u32 w = (u32)v; memcpy(p, &w, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

/* Loads `size` (1, 2, 4, 8) bytes at gva, zero-extended into *val. */
static inline int cpu_read(struct cpu *c, gva_t gva, unsigned size, u64 *val)
{
	u8 *p = tlb_lookup(c, gva, ACC_READ);
	if (likely(p && (gva & ~PAGE_MASK) <= PAGE_SIZE - size)) {
		*val = load_le(p, size);
		return 0;
	}
	return cpu_read_slow(c, gva, size, val);
}

/* Stores the low `size` bytes of val at gva. */
static inline int cpu_write(struct cpu *c, gva_t gva, unsigned size, u64 val)
{
	u8 *p = tlb_lookup(c, gva, ACC_WRITE);
	if (likely(p && (gva & ~PAGE_MASK) <= PAGE_SIZE - size)) {
		store_le(p, size, val);
		return 0;
	}
	return cpu_write_slow(c, gva, size, val);
}

/* Checks that an access of `size` bytes at gva would succeed, raising its fault if not. */
static inline int cpu_probe(struct cpu *c, gva_t gva, unsigned size, enum access acc)
{
	u8 *p = tlb_lookup(c, gva, acc);
	if (likely(p && (gva & ~PAGE_MASK) <= PAGE_SIZE - size))
		return 0;
	return cpu_probe_slow(c, gva, size, acc);
}

/*
 * Returns a host pointer for an atomic access of `size` bytes at gva that
 * lies within one page, after checking write permission (LOCK forms).
 * Returns NULL with no fault raised when the access crosses a page (the
 * caller then falls back to cpu_read/cpu_write), or NULL with *fault set
 * to EXEC_FAULT when translation faults.
 */
u8 *cpu_atomic_ptr(struct cpu *c, gva_t gva, unsigned size, int *fault);

/*
 * Implicit supervisor-mode accesses (SDM Vol. 3A 4.6): reads and writes of
 * system data structures (GDT, LDT, IDT, TSS) whatever the CPL. They are
 * checked as supervisor accesses with SMAP applying regardless of
 * RFLAGS.AC, and a #PF they raise has U/S = 0 in its error code.
 */
int cpu_read_sys(struct cpu *c, gva_t gva, unsigned size, u64 *val);
int cpu_write_sys(struct cpu *c, gva_t gva, unsigned size, u64 val);

/* Pushes `size` bytes (2 or 8) on the stack; RSP changes only on success. */
int cpu_push(struct cpu *c, unsigned size, u64 val);
/* Pops `size` bytes (2 or 8) from the stack into *val; RSP changes only on success. */
int cpu_pop(struct cpu *c, unsigned size, u64 *val);

#endif
