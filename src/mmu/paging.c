/* SPDX-License-Identifier: MIT */
/*
 * The 4-level paging walk (SDM Vol. 3A 4.5) behind TLB misses: 4 KiB,
 * 2 MiB and 1 GiB pages, P, R/W, U/S, NX, CR0.WP, reserved bits, and the
 * accessed and dirty flags, which are set as the walk uses the entries.
 *
 * Guest-physical addresses are host-physical here: EPT (a later layer)
 * will translate them. Addresses beyond RAM are not memory: table reads
 * there see all ones (so they fault as reserved-bit violations), data
 * reads see 0xFF and writes are dropped, and an instruction fetch there
 * raises #UD, which is what fetching the bytes FF FF does.
 */
#include <string.h>

#include "cpu/access.h"
#include "cpu/cpu.h"
#include "mem/mem.h"
#include "mmu/mmu.h"

/* Page-table entry bits (SDM Vol. 3A table 4-19 and following). */
#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_US (1ULL << 2)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR (((1ULL << MAXPHYADDR) - 1) & PAGE_MASK) // bits M-1:12

/* #PF error code bits (SDM Vol. 3A 4.7). */
#define PFEC_P (1u << 0)
#define PFEC_W (1u << 1)
#define PFEC_U (1u << 2)
#define PFEC_RSVD (1u << 3)
#define PFEC_I (1u << 4)

struct walk {
	u64 leaf;     // leaf entry
	hpa_t frame;  // physical address of the 4 KiB frame holding gva
	bool rw, us, nx; // combined over all levels
};

static u64 read_entry(struct mem *m, hpa_t pa)
{
	u64 v;
	if (pa + 8 > m->size)
		return ~0ULL;
	memcpy(&v, m->ram + pa, 8);
	return v;
}

static void write_entry(struct mem *m, hpa_t pa, u64 v)
{
	if (pa + 8 <= m->size)
		memcpy(m->ram + pa, &v, 8);
}

/* Reserved bits of an entry at `level` (4 = PML4 ... 1 = PT); SDM Vol. 3A table 4-20 and following. */
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

static u32 error_code(const struct cpu *c, enum access acc, u32 bits)
{
	u32 ec = bits;
	if (acc == ACC_WRITE)
		ec |= PFEC_W;
	if (c->cpl == 3)
		ec |= PFEC_U;
	if (acc == ACC_EXEC && (c->efer & EFER_NXE))
		ec |= PFEC_I;
	return ec;
}

static u8 *page_fault(struct cpu *c, gva_t gva, enum access acc, u32 bits)
{
	c->cr2 = gva;
	cpu_raise(c, VEC_PF, true, error_code(c, acc, bits));
	return NULL;
}

/* Walks the tables for gva; returns 0 or the #PF error bits (P and/or RSVD) of a failed walk. */
static u32 walk(struct cpu *c, gva_t gva, bool dirty, struct walk *w)
{
	hpa_t table = c->cr3 & PTE_ADDR;
	w->rw = w->us = true;
	w->nx = false;
	for (unsigned level = 4; level >= 1; level--) {
		hpa_t pa = table + ((gva >> (12 + 9 * (level - 1))) & 511) * 8;
		u64 e = read_entry(c->mem, pa);
		if (!(e & PTE_P))
			return 1u << 31; // not present: error code P = 0
		if (e & reserved_mask(c, level, e))
			return PFEC_P | PFEC_RSVD;
		w->rw &= !!(e & PTE_RW);
		w->us &= !!(e & PTE_US);
		w->nx |= !!(e & PTE_NX);
		bool leaf = level == 1 || (level <= 3 && (e & PTE_PS));
		u64 set = PTE_A | (leaf && dirty ? PTE_D : 0);
		if ((e & set) != set)
			write_entry(c->mem, pa, e |= set);
		if (leaf) {
			u64 page_mask = (1ULL << (12 + 9 * (level - 1))) - 1;
			w->leaf = e;
			w->frame = ((e & PTE_ADDR & ~page_mask) | (gva & page_mask)) & PAGE_MASK;
			return 0;
		}
		table = e & PTE_ADDR;
	}
	return 0;
}

static bool allowed(const struct cpu *c, const struct walk *w, enum access acc)
{
	if (c->cpl == 3 && !w->us)
		return false;
	switch (acc) {
	case ACC_WRITE: return w->rw || (c->cpl < 3 && !(c->cr0 & CR0_WP));
	case ACC_EXEC: return !(w->nx && (c->efer & EFER_NXE));
	default: return true;
	}
}

static void fill_tlb(struct cpu *c, gva_t gva, const struct walk *w, u8 *host, bool ram)
{
	struct tlb_entry *e = &c->tlb.e[(gva >> PAGE_SHIFT) & (TLB_ENTRIES - 1)];
	gva_t page = gva & PAGE_MASK;
	e->host = host;
	e->hpa = w->frame;
	e->tag[ACC_READ] = allowed(c, w, ACC_READ) ? page : TLB_NO_TAG;
	e->tag[ACC_EXEC] = ram && allowed(c, w, ACC_EXEC) ? page : TLB_NO_TAG;
	bool writable = ram && allowed(c, w, ACC_WRITE) && (w->leaf & PTE_D) && !c->mem->code[w->frame >> PAGE_SHIFT];
	e->tag[ACC_WRITE] = writable ? page : TLB_NO_TAG;
}

u8 *mmu_translate(struct cpu *c, gva_t gva, enum access acc)
{
	if (!mmu_is_canonical(gva)) {
		cpu_raise(c, VEC_GP, true, 0);
		c->exc.noncanonical = true; // #SS instead if the access was through SS: see cpu_fixup_stack_fault
		c->exc.addr = gva;
		return NULL;
	}
	struct walk w;
	u32 bad = walk(c, gva, acc == ACC_WRITE, &w);
	if (bad)
		return page_fault(c, gva, acc, bad & ~(1u << 31));
	if (!allowed(c, &w, acc))
		return page_fault(c, gva, acc, PFEC_P);
	bool ram = mem_is_ram(c->mem, w.frame);
	if (!ram && acc == ACC_EXEC) {
		cpu_raise(c, VEC_UD, false, 0);
		return NULL;
	}
	u8 *host = ram ? c->mem->ram + w.frame : c->mem->ones;
	fill_tlb(c, gva, &w, host, ram);
	if (!ram && acc == ACC_WRITE)
		return c->mem->sink + (gva & ~PAGE_MASK);
	return host + (gva & ~PAGE_MASK);
}
