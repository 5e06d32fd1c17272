/* SPDX-License-Identifier: MIT */
/*
 * Guest-linear address translation for one vCPU: the per-vCPU TLB, the
 * 4-level paging walk behind it (SDM Vol. 3A ch. 4) and the invalidations
 * that control-register writes and INVLPG/INVPCID cause (SDM 4.10.4).
 *
 * The TLB is direct mapped and caches 4 KiB pieces of translations (a 2 MiB
 * or 1 GiB page fills one entry per 4 KiB page touched, as SDM 4.10.2.3
 * allows). An entry holds the page's host pointer and one tag per access
 * kind: the tag equals the lookup key only when that access is allowed, so
 * a hit costs one load and one compare and no separate permission test.
 *
 * - Privilege: the slot comes from the linear address XOR a "mode" built
 *   from CPL and RFLAGS.AC (tlb_mode), which flips slot-index bits. A page looked up at CPL 0 and at CPL 3 lands in
 *   two different slots whose tags were computed for that privilege, so a
 *   CPL change, STAC or CLAC needs no flush. Implicit supervisor accesses
 *   (descriptor tables, TSS) use TLB_MODE_SYS, where SMAP always applies.
 * - PCID: the key is the page address with a 12-bit context number in its
 *   low bits. Each PCID owns a context number; flushing a PCID gives it a
 *   fresh number, so its old entries can never match again. Global entries
 *   are re-tagged to the current context whenever it changes, so they
 *   survive CR3 loads. Numbers are recycled by one sweep every 4096
 *   allocations.
 * - Code: pages that hold decoded code never get a write tag (see dcache.h),
 *   so every write to them takes the slow path and invalidates the code.
 */
#ifndef FACET_MMU_H
#define FACET_MMU_H

#include "lib/types.h"

struct cpu;

enum access { ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2 };

#define MAXPHYADDR 40        // physical-address width reported by CPUID 80000008h
#define TLB_ENTRIES 4096     // slots; a power of two, at least 4096 (the mode bits below)
#define TLB_CTXS 4096        // context numbers: they live in the 12 low bits of a key
#define TLB_MODE_AC (1u << 18) // mode bit: RFLAGS.AC = 1 (where RFLAGS has it: one AND)
#define TLB_MODE_CPL_SHIFT 22 // mode bits 23:22: CPL
#define TLB_MODE_SYS 0u      // implicit supervisor-mode accesses: as CPL 0 with AC = 0
#define TLB_NO_TAG_XOR 0x100u // empty tag of slot s: page (s ^ this), which never maps to slot s
#define TLB_BIG_MAX 16       // large-page regions tracked for INVLPG (more: scan every slot)

struct tlb_entry {
	u64 tag[3]; // per enum access: page address | context, or the slot's empty tag (tlb.c)
	u8 *host;   // host pointer to the start of the 4 KiB page
};

/* Per-slot bookkeeping that the fast path never reads. */
struct tlb_info {
	gva_t page;   // linear page address the slot was filled for
	hpa_t hpa;    // host-physical page address
	u16 ctx;      // context number the slot was filled (or last re-tagged) in
	u8 shift;     // page size of the translation: 12, 21 or 30
	u8 global;    // 0: not global, 1: global and on the global list, 2: on the list but no longer global
};

/* A 2 MiB or 1 GiB region of which some 4 KiB pieces may be cached. */
struct tlb_big {
	gva_t base;
	u8 shift;
};

/*
 * One vCPU's TLB. Private: use the tlb_* and mmu_* functions. cpu_init
 * prepares it with tlb_flush_all().
 */
struct tlb {
	struct tlb_entry e[TLB_ENTRIES] __attribute__((aligned(64)));
	u64 ctx;                        // current context number, ORed into every key
	u16 pcid;                       // current PCID (0 while CR4.PCIDE = 0)
	u16 next_ctx;                   // next unused context number
	bool ready;                     // initialized (a zeroed tlb is not)
	bool big_overflow;              // more large regions than big[] holds
	u16 nbig;
	u16 nglobal;                    // slots on the global list
	u64 fills;                      // statistics: translations filled (TLB misses that succeeded)
	u64 sweeps;                     // statistics: context-number recycles
	u16 ctx_of[TLB_CTXS];           // per PCID: context number + 1, or 0 for none
	u16 global_list[TLB_ENTRIES];   // slots holding (or having held) global entries
	struct tlb_big big[TLB_BIG_MAX];
	struct tlb_info info[TLB_ENTRIES];
};

/*
 * Returns the TLB mode of an explicit access at privilege cpl (0-3) with
 * RFLAGS value rflags. Modes differ in slot-index bits 6, 10 and 11, so a
 * page has a different slot in each mode, and tags need not name the mode.
 */
static inline unsigned tlb_mode(u8 cpl, u64 rflags)
{
	return ((unsigned)cpl << TLB_MODE_CPL_SHIFT) | ((unsigned)rflags & TLB_MODE_AC);
}

/* True when mode stands for user-mode accesses (CPL 3). */
static inline bool tlb_mode_is_user(unsigned mode)
{
	return (mode >> TLB_MODE_CPL_SHIFT) == 3;
}

/* Returns the slot for gva's page in mode. */
static inline unsigned tlb_slot(gva_t gva, unsigned mode)
{
	return (unsigned)((gva ^ mode) >> PAGE_SHIFT) & (TLB_ENTRIES - 1);
}

/* Returns the host pointer for gva if the TLB allows `acc` on it in `mode`, else NULL. */
static inline u8 *tlb_lookup_mode(struct tlb *t, gva_t gva, enum access acc, unsigned mode)
{
	struct tlb_entry *e = &t->e[tlb_slot(gva, mode)];
	if (likely(e->tag[acc] == ((gva & PAGE_MASK) | t->ctx)))
		return e->host + (gva & ~PAGE_MASK);
	return NULL;
}

/*
 * Records a translation in slot tlb_slot(gva, mode) of the current
 * context: ok[acc] says which accesses it allows, host/hpa the 4 KiB
 * frame, shift the page size it came from (12, 21, 30), global the G
 * flag with CR4.PGE = 1.
 */
void tlb_fill(struct tlb *t, gva_t gva, unsigned mode, const bool ok[3], u8 *host, hpa_t hpa, unsigned shift,
	      bool global);

/* Empties the whole TLB: every PCID, global entries too. Also initializes a zeroed struct tlb. */
void tlb_flush_all(struct tlb *t);
/*
 * Drops the entries for the page holding gva in every mode: those of pcid
 * and, when `global`, the global ones; pcid TLB_ALL_PCIDS drops them all.
 * Pieces of a large page holding gva all go, in every PCID (SDM Vol. 3A
 * 4.10.2.3: all entries for the large page).
 */
void tlb_flush_addr(struct tlb *t, gva_t gva, int pcid, bool global);
#define TLB_ALL_PCIDS (-1)
/* Drops every entry for the page holding gva: every PCID, global ones too. */
void tlb_flush_page(struct tlb *t, gva_t gva);
/* Drops the non-global entries of pcid. */
void tlb_flush_pcid(struct tlb *t, u16 pcid);
/* Drops the non-global entries of every PCID. */
void tlb_flush_nonglobal(struct tlb *t);
/* Makes pcid the current PCID; keeps what the TLB holds for it unless `flush`. */
void tlb_load_pcid(struct tlb *t, u16 pcid, bool flush);
/* Removes write permission from every entry that maps host page hpa. */
void tlb_drop_write(struct tlb *t, hpa_t hpa);

/*
 * Translates gva for access `acc` by the current privilege level (CPL and
 * RFLAGS.AC), filling the TLB. Returns the host pointer, or NULL after
 * raising the fault (#PF with CR2 and error code, #GP(0) for a
 * non-canonical address, #UD for a fetch from outside RAM) in cpu->exc.
 */
u8 *mmu_translate(struct cpu *c, gva_t gva, enum access acc);
/* Same as mmu_translate in an explicit TLB mode: TLB_MODE_SYS for implicit supervisor-mode accesses. */
u8 *mmu_translate_mode(struct cpu *c, gva_t gva, enum access acc, unsigned mode);

/*
 * Invalidations (control.c, SDM Vol. 3A 4.10.4.1). The callers (MOV CR,
 * WRMSR, INVLPG, INVPCID) have done the privilege and reserved-bit checks.
 */
/* Stores val in CR3 (without bit 63) and flushes as MOV to CR3 does, honoring the PCID no-flush bit. */
void mmu_cr3_write(struct cpu *c, u64 val);
/* Flushes what a change of CR0 and CR4 from old_cr0/old_cr4 to their current values requires. */
void mmu_cr0_cr4_written(struct cpu *c, u64 old_cr0, u64 old_cr4);
/* Flushes the TLB when EFER.NXE changed from old_efer (the TLB caches NX decisions). */
void mmu_efer_written(struct cpu *c, u64 old_efer);
/* INVLPG: drops the translations of the page holding gva (canonical), global ones included. */
void mmu_invlpg(struct cpu *c, gva_t gva);
/* INVPCID of type 0-3 for pcid and (type 0) gva, after the instruction's checks. */
void mmu_invpcid(struct cpu *c, unsigned type, u16 pcid, gva_t gva);

/* True if gva is canonical for 48-bit linear addresses. */
static inline bool mmu_is_canonical(gva_t gva)
{
	return (u64)((s64)(gva << 16) >> 16) == gva;
}

#endif
