/* SPDX-License-Identifier: MIT */
/*
 * The TLB fast path as the CPU core calls it: a lookup in the mode of the
 * vCPU's current privilege (CPL and RFLAGS.AC, see mmu.h). Separate from
 * mmu.h because it needs struct cpu, whose header includes mmu.h.
 *
 * Also the CR4 bits paging depends on, for files that include this header;
 * cpu.h may define the same names (identically) for its own users.
 */
#ifndef FACET_TLB_H
#define FACET_TLB_H

#include "cpu/cpu.h"
#include "mmu/mmu.h"

/* CR4 bits of paging (SDM Vol. 3A 2.5). */
#ifndef CR4_PSE
#define CR4_PSE (1ULL << 4)
#endif
#ifndef CR4_PGE
#define CR4_PGE (1ULL << 7)
#endif
#ifndef CR4_PCIDE
#define CR4_PCIDE (1ULL << 17)
#endif
#ifndef CR4_SMEP
#define CR4_SMEP (1ULL << 20)
#endif
#ifndef CR4_SMAP
#define CR4_SMAP (1ULL << 21)
#endif
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
