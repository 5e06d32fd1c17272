/* SPDX-License-Identifier: MIT */
/*
 * What control-register writes and the invalidation instructions do to
 * the TLB (SDM Vol. 3A 4.10.4.1). The SDM lets a processor invalidate more
 * than it must, never less; Facet invalidates more in two places:
 *
 * - Its TLB caches access decisions, not only the paging-structure bits,
 *   so any change of a bit those decisions read (CR0.WP, CR4.SMEP,
 *   CR4.SMAP, EFER.NXE) empties it, where hardware would apply the new
 *   value to its cached rights at the next access.
 * - INVPCID types 2 and 3 act on every PCID also while CR4.PCIDE = 0.
 * INVLPG drops the page for the current PCID and global entries, INVPCID
 * type 0 for the given PCID only, as the SDM describes them; each drops
 * the page in every mode (privilege and RFLAGS.AC).
 *
 * Callers (the MOV CR, WRMSR, INVLPG and INVPCID handlers) have checked
 * privilege and reserved bits before calling these.
 */
#include "mmu/tlb.h"

void mmu_cr3_write(struct cpu *c, u64 val)
{
	bool pcide = c->cr4 & CR4_PCIDE;
	u16 pcid = pcide ? (u16)(val & CR3_PCID) : 0;
	bool keep = pcide && (val & CR3_NOFLUSH);
	/* Bit 63 is not part of CR3: it only selects the no-flush load (SDM Vol. 3A 4.10.4.1). */
	c->cr3 = val & ~CR3_NOFLUSH;
	tlb_load_pcid(&c->tlb, pcid, !keep);
}

void mmu_cr0_cr4_written(struct cpu *c, u64 old_cr0, u64 old_cr4)
{
	u64 d0 = old_cr0 ^ c->cr0, d4 = old_cr4 ^ c->cr4;
	/*
	 * CR0.PG, CR4.PGE and CR4.PCIDE 1 -> 0 empty the TLB for every PCID,
	 * CR4.PAE and CR4.SMEP 0 -> 1 for the current one; WP, SMAP and SMEP
	 * 1 -> 0 because of the cached decisions (above); PSE out of caution
	 * (it is ignored by 4-level paging).
	 */
	if ((d0 & (CR0_PG | CR0_WP)) || (d4 & (CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP | CR4_SMAP | CR4_PCIDE)))
		tlb_flush_all(&c->tlb);
	/* Setting PCIDE needs CR3[11:0] = 0 (#GP otherwise), so the current PCID stays 000H. */
	u16 pcid = (c->cr4 & CR4_PCIDE) ? (u16)(c->cr3 & CR3_PCID) : 0;
	if (pcid != c->tlb.pcid)
		tlb_load_pcid(&c->tlb, pcid, false);
}

void mmu_efer_written(struct cpu *c, u64 old_efer)
{
	if ((old_efer ^ c->efer) & EFER_NXE)
		tlb_flush_all(&c->tlb);
}

void mmu_invlpg(struct cpu *c, gva_t gva)
{
	tlb_flush_addr(&c->tlb, gva, c->tlb.pcid, true);
}

void mmu_invpcid(struct cpu *c, unsigned type, u16 pcid, gva_t gva)
{
	switch (type) {
	case 0: tlb_flush_addr(&c->tlb, gva, pcid, false); break; // individual address
	case 1: tlb_flush_pcid(&c->tlb, pcid); break; // single context, globals kept
	case 2: tlb_flush_all(&c->tlb); break;        // all contexts and globals
	default: tlb_flush_nonglobal(&c->tlb); break; // all contexts, globals kept
	}
}
