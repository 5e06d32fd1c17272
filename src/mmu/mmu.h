/* SPDX-License-Identifier: MIT */
/*
 * Guest-linear address translation for one vCPU: the per-vCPU TLB and its
 * fast path, and the 4-level paging walk behind it (SDM Vol. 3A ch. 4).
 *
 * The TLB is direct mapped. An entry holds the page's host pointer and one
 * tag per access kind: a tag equals the linear page address only when that
 * access is allowed at the privilege the entry was filled for, so a hit
 * costs one load and one compare and needs no separate permission test.
 * Pages that hold decoded code never get a write tag (see dcache.h), so
 * every write to them takes the slow path and invalidates the code.
 */
#ifndef FACET_MMU_H
#define FACET_MMU_H

#include "lib/types.h"

struct cpu;

enum access { ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2 };

#define TLB_ENTRIES 4096
#define TLB_NO_TAG 1ULL // never equal to a page address
#define MAXPHYADDR 40   // physical-address width reported by CPUID 80000008h

struct tlb_entry {
	u64 tag[3]; // linear page address per enum access, or TLB_NO_TAG
	u8 *host;   // host pointer to the start of the page
	hpa_t hpa;  // host-physical page address
};

struct tlb {
	struct tlb_entry e[TLB_ENTRIES];
};

/* Returns the host pointer for gva if the TLB allows `acc` on it, else NULL. */
static inline u8 *tlb_lookup(struct tlb *t, gva_t gva, enum access acc)
{
	struct tlb_entry *e = &t->e[(gva >> PAGE_SHIFT) & (TLB_ENTRIES - 1)];
	if (likely(e->tag[acc] == (gva & PAGE_MASK)))
		return e->host + (gva & ~PAGE_MASK);
	return NULL;
}

/* Empties the whole TLB. */
void tlb_flush_all(struct tlb *t);
/* Drops the entry for the page holding gva. */
void tlb_flush_page(struct tlb *t, gva_t gva);
/* Removes write permission from every entry that maps host page hpa. */
void tlb_drop_write(struct tlb *t, hpa_t hpa);

/*
 * Translates gva for access `acc` by the current privilege level, filling
 * the TLB. Returns the host pointer, or NULL after raising the fault
 * (#PF with CR2 and error code, or #GP for a non-canonical address) in
 * cpu->exc. Does not set accessed or dirty bits twice for a TLB hit.
 */
u8 *mmu_translate(struct cpu *c, gva_t gva, enum access acc);

/* True if gva is canonical for 48-bit linear addresses. */
static inline bool mmu_is_canonical(gva_t gva)
{
	return (u64)((s64)(gva << 16) >> 16) == gva;
}

#endif
