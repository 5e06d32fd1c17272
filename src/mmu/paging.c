/* SPDX-License-Identifier: MIT */
/*
 * The 4-level paging walk (SDM Vol. 3A 4.5) behind TLB misses: 4 KiB,
 * 2 MiB and 1 GiB pages, P, R/W, U/S, XD with EFER.NXE, reserved bits,
 * the access rights of 4.6 (CR0.WP, CR4.SMEP, CR4.SMAP with RFLAGS.AC),
 * #PF error codes (4.7) and the accessed and dirty flags (4.8).
 *
 * A translation that succeeds fills one TLB slot with the rights of all
 * three access kinds in the mode of the access (mmu.h), computed once
 * here so that hits need no test. A translation that faults changes
 * nothing in the tables: A and D are set only for accesses that go
 * ahead (4.8 lets A be set early; D must not be set for a write that
 * faults). PWT, PCD and PAT are accepted and mean nothing (no cache
 * model); protection keys are absent (CR4.PKE cannot be set).
 *
 * Guest-physical addresses are host-physical here: EPT (a later layer)
 * will translate them. Addresses beyond RAM are not memory: table reads
 * there see all ones (so they fault as reserved-bit violations), data
 * reads see 0xFF and writes are dropped, and an instruction fetch there
 * raises #UD, which is what fetching the bytes FF FF does.
 */
#include <string.h>

#include "cpu/dcache.h"
#include "mem/mem.h"
#include "mmu/tlb.h"

/* Paging-structure entry bits (SDM Vol. 3A tables 4-15 to 4-20). */
#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_US (1ULL << 2)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_G (1ULL << 8)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR (((1ULL << MAXPHYADDR) - 1) & PAGE_MASK) // bits M-1:12

/* #PF error code bits (SDM Vol. 3A 4.7). */
#define PFEC_P (1u << 0)
#define PFEC_W (1u << 1)
#define PFEC_U (1u << 2)
#define PFEC_RSVD (1u << 3)
#define PFEC_I (1u << 4)

struct walk {
	hpa_t pa[4];    // physical address of the entry used at each step, PML4E first
	u64 e[4];       // those entries
	unsigned n;     // entries used
	unsigned shift; // page size: 12, 21 or 30
	hpa_t frame;    // physical address of the 4 KiB frame holding gva
	bool rw, us, nx; // R/W and U/S ANDed, XD ORed over all levels
};

static u64 read_entry(struct mem *m, hpa_t pa)
{
	u64 v;
	if (pa + 8 > m->size)
		return ~0ULL;
	memcpy(&v, m->ram + pa, 8);
	return v;
}

/* Writes an entry back (A/D update); a table page may also hold decoded code. */
static void write_entry(struct cpu *c, hpa_t pa, u64 v)
{
	struct mem *m = c->mem;
	if (pa + 8 > m->size)
		return;
	if (m->code[pa >> PAGE_SHIFT])
		dcache_invalidate_page(c->dc, pa & PAGE_MASK);
	memcpy(m->ram + pa, &v, 8);
}

/* Reserved bits of an entry at `level` (4 = PML4 ... 1 = PT); SDM Vol. 3A tables 4-15 to 4-20. */
static u64 reserved_mask(const struct cpu *c, unsigned level, u64 e)
{
	u64 rsv = ((1ULL << 52) - 1) & ~((1ULL << MAXPHYADDR) - 1);
	if (!(c->efer & EFER_NXE))
		rsv |= PTE_NX;
	if (level == 4)
		rsv |= PTE_PS;
	else if (level == 3 && (e & PTE_PS))
		rsv |= 0x3fffe000ULL; // bits 29:13 of a 1 GiB page
	else if (level == 2 && (e & PTE_PS))
		rsv |= 0x1fe000ULL; // bits 20:13 of a 2 MiB page
	return rsv;
}

/* Walks the tables for gva; returns 0, or the #PF error bits of a failed walk (P = 0 is bit 31). */
static u32 walk(struct cpu *c, gva_t gva, struct walk *w)
{
	hpa_t table = c->cr3 & PTE_ADDR;
	w->rw = w->us = true;
	w->nx = false;
	w->n = 0;
	for (unsigned level = 4; level >= 1; level--) {
		hpa_t pa = table + ((gva >> (12 + 9 * (level - 1))) & 511) * 8;
		u64 e = read_entry(c->mem, pa);
		if (!(e & PTE_P))
			return 1u << 31; // not present: error code P = 0
		if (e & reserved_mask(c, level, e))
			return PFEC_P | PFEC_RSVD;
		w->pa[w->n] = pa;
		w->e[w->n++] = e;
		w->rw &= !!(e & PTE_RW);
		w->us &= !!(e & PTE_US);
		w->nx |= !!(e & PTE_NX);
		if (level == 1 || (e & PTE_PS)) {
			w->shift = 12 + 9 * (level - 1);
			u64 page_mask = (1ULL << w->shift) - 1;
			w->frame = ((e & PTE_ADDR & ~page_mask) | (gva & page_mask)) & PAGE_MASK;
			return 0;
		}
		table = e & PTE_ADDR;
	}
	return 0;
}

/*
 * The access rights of SDM Vol. 3A 4.6 for `acc` in `mode`. A page is
 * user-mode accessible when U/S = 1 at every level. Supervisor data
 * accesses to such pages are refused under CR4.SMAP unless the mode has
 * AC = 1 (explicit accesses only: implicit ones use TLB_MODE_SYS).
 */
static bool allowed(const struct cpu *c, const struct walk *w, enum access acc, unsigned mode)
{
	bool user = tlb_mode_is_user(mode);
	if (user && !w->us)
		return false;
	if (acc == ACC_EXEC) {
		if (w->nx && (c->efer & EFER_NXE))
			return false;
		return user || !(w->us && (c->cr4 & CR4_SMEP));
	}
	if (!user && w->us && (c->cr4 & CR4_SMAP) && !(mode & TLB_MODE_AC))
		return false;
	return acc == ACC_READ || w->rw || (!user && !(c->cr0 & CR0_WP));
}

static u32 error_code(const struct cpu *c, enum access acc, unsigned mode, u32 bits)
{
	u32 ec = bits;
	if (acc == ACC_WRITE)
		ec |= PFEC_W;
	if (tlb_mode_is_user(mode))
		ec |= PFEC_U;
	if (acc == ACC_EXEC && (c->efer & EFER_NXE || c->cr4 & CR4_SMEP))
		ec |= PFEC_I;
	return ec;
}

static u8 *page_fault(struct cpu *c, gva_t gva, enum access acc, unsigned mode, u32 bits)
{
	c->cr2 = gva;
	cpu_raise(c, VEC_PF, true, error_code(c, acc, mode, bits));
	return NULL;
}

/* Sets A in every entry the walk used and, for a write, D in the leaf (SDM Vol. 3A 4.8). */
static void set_accessed(struct cpu *c, struct walk *w, bool write)
{
	for (unsigned k = 0; k < w->n; k++) {
		u64 set = PTE_A | (write && k == w->n - 1 ? PTE_D : 0);
		if ((w->e[k] & set) != set)
			write_entry(c, w->pa[k], w->e[k] |= set);
	}
}

static void fill(struct cpu *c, gva_t gva, const struct walk *w, unsigned mode, u8 *host, bool ram)
{
	u64 leaf = w->e[w->n - 1];
	bool ok[3];
	ok[ACC_READ] = allowed(c, w, ACC_READ, mode);
	ok[ACC_EXEC] = ram && allowed(c, w, ACC_EXEC, mode);
	ok[ACC_WRITE] = ram && allowed(c, w, ACC_WRITE, mode) && (leaf & PTE_D) && !c->mem->code[w->frame >> PAGE_SHIFT];
	bool global = (leaf & PTE_G) && (c->cr4 & CR4_PGE);
	tlb_fill(&c->tlb, gva, mode, ok, host, w->frame, w->shift, global);
}

u8 *mmu_translate_mode(struct cpu *c, gva_t gva, enum access acc, unsigned mode)
{
	if (!mmu_is_canonical(gva)) {
		cpu_raise(c, VEC_GP, true, 0);
		c->exc.noncanonical = true; // #SS instead if the access was through SS: see cpu_fixup_stack_fault
		c->exc.addr = gva;
		return NULL;
	}
	struct walk w;
	u32 bad = walk(c, gva, &w);
	if (bad)
		return page_fault(c, gva, acc, mode, bad & ~(1u << 31));
	if (!allowed(c, &w, acc, mode))
		return page_fault(c, gva, acc, mode, PFEC_P);
	bool ram = mem_is_ram(c->mem, w.frame);
	if (!ram && acc == ACC_EXEC) {
		cpu_raise(c, VEC_UD, false, 0);
		return NULL;
	}
	set_accessed(c, &w, acc == ACC_WRITE);
	u8 *host = ram ? c->mem->ram + w.frame : c->mem->ones;
	fill(c, gva, &w, mode, host, ram);
	if (!ram && acc == ACC_WRITE)
		return c->mem->sink + (gva & ~PAGE_MASK);
	return host + (gva & ~PAGE_MASK);
}

u8 *mmu_translate(struct cpu *c, gva_t gva, enum access acc)
{
	return mmu_translate_mode(c, gva, acc, tlb_cpu_mode(c));
}
