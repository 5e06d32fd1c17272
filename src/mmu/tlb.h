/* SPDX-License-Identifier: MIT */
/*
 * The TLB fast path as the CPU core calls it: a lookup in the mode of the
 * vCPU's current privilege (CPL and RFLAGS.AC, see mmu.h). Separate from
 * mmu.h because it needs struct cpu, whose header includes mmu.h.
 * The CR0/CR4/EFER bits come from cpu.h.
 */
#ifndef FACET_TLB_H
#define FACET_TLB_H

#include "cpu/cpu.h"
#include "mmu/mmu.h"

#define CR3_PCID 0xfffULL            // bits 11:0 with CR4.PCIDE = 1
#define CR3_NOFLUSH (1ULL << 63)     // MOV to CR3 source bit 63: keep the PCID's entries

_Static_assert(TLB_MODE_AC == RFLAGS_AC, "tlb_mode takes RFLAGS.AC in place");

/* Returns the TLB mode of the vCPU's explicit accesses now. */
static inline unsigned tlb_cpu_mode(const struct cpu *c)
{
	return tlb_mode(c->cpl, c->rflags);
}

/* Returns the host pointer for gva if the TLB allows `acc` at the current privilege, else NULL. */
static inline u8 *tlb_lookup(struct cpu *c, gva_t gva, enum access acc)
{
	return tlb_lookup_mode(&c->tlb, gva, acc, tlb_cpu_mode(c));
}

#endif
