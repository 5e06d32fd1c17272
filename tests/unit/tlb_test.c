/* SPDX-License-Identifier: MIT */
/*
 * The TLB (src/mmu) against a reference model (STYLE T4), and the TLB
 * instructions (INVLPG, INVPCID, STAC, CLAC) with their checks.
 *
 * The model test runs a random program on the vCPU: page-table changes
 * (4 KiB, 2 MiB and 1 GiB leaves, upper levels, U/S, R/W, XD, G, reserved
 * bits), CR3 loads in four address spaces with PCIDs (with and without the
 * no-flush bit), INVLPG, INVPCID, changes of CR0.WP, CR4.SMEP/SMAP/PGE/
 * PCIDE and EFER.NXE, CPL and RFLAGS.AC changes, and accesses (explicit and
 * implicit reads and writes, fetches). Every access is also answered by an
 * uncached walk written here from the SDM (Vol. 3A 4.5-4.7), and the two
 * must agree on data, host pointer, vector, error code and CR2.
 *
 * Stale entries: the SDM lets a TLB keep a translation after its tables
 * change until the invalidation it names (4.10.4). The program is an OS
 * that invalidates as the SDM requires, choosing at random among the
 * sufficient ways (INVLPG for the current PCID and global pages, INVPCID
 * per PCID, a flushing CR3 load, toggling CR4.PGE, ...), so any TLB the SDM
 * allows agrees with the uncached walk. The exceptions are upgrades (P, R/W
 * 0 -> 1, XD 1 -> 0), which the program makes without invalidating: the SDM
 * allows a stale fault there, but Facet walks again on every miss, so the
 * test requires the fresh answer. One run skips a required invalidation on
 * purpose and must be caught.
 */
#include <stdlib.h>

#include "cpu/access.h"
#include "cpu/dcache.h"
#include "fixture.h"
#include "test.h"

#define P 1ULL
#define RW 2ULL
#define US 4ULL
#define PWT 8ULL
#define PCD 0x10ULL
#define A_ 0x20ULL
#define D_ 0x40ULL
#define PS 0x80ULL
#define G 0x100ULL
#define XD (1ULL << 63)
#define ADDR_MASK 0xfffffff000ULL // bits 39:12 (MAXPHYADDR 40)
#define NAS 4                     // address spaces; AS k uses PCID k + 1
#define TABLES 0x800000ULL        // page tables of the model
#define RAM_SIZE FIX_MEM

enum region { R4K, R2M, R1G, RK4K, RK2M, NREGION };

static const struct {
	u64 va;
	unsigned count, shift;
	bool shared; // the kernel half: one set of tables for every address space
} regions[NREGION] = {
	[R4K] = { 0x40000000ULL, 64, 12, false },
	[R2M] = { 0x80000000ULL, 8, 21, false },
	[R1G] = { 0x8000000000ULL, 2, 30, false },
	[RK4K] = { 0xffff800000000000ULL, 32, 12, true },
	[RK2M] = { 0xffff800000200000ULL, 2, 21, true },
};

struct model {
	struct machine *mc;
	struct cpu *c;
	u64 rng;
	u64 next_table;
	u64 pml4[NAS], pdpt0[NAS], pd4k[NAS], pt4k[NAS], pd2m[NAS], pdpt1[NAS];
	u64 kpdpt, kpd, kpt;
	int cur;            // address space in CR3
	bool pending[NAS];  // its PCID may hold stale entries: the next CR3 load must flush
	struct hot { u64 va; int as; enum region r; unsigned idx; enum access acc; bool implicit; } hot[8]; // recent
	struct hot seen[NAS][8]; // per address space: recent accesses and changed pages, replayed when it returns
	unsigned nseen[NAS];
	u64 *revert;        // upper entry made not present or reserved for one step, and its flipped bit
	u64 revert_bit;
	bool nxe_off;       // EFER.NXE cleared for one step
	unsigned step, accesses, hits, mismatches;
	bool quiet;         // count mismatches without failing the test (the injected run)
	u64 stamp;          // value of the next write
};

static u64 rnd(struct model *m)
{
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return m->rng * 0x2545f4914f6cdd1dULL;
}

static bool chance(struct model *m, unsigned percent)
{
	return rnd(m) % 100 < percent;
}

static u64 *ent(struct model *m, u64 pa)
{
	return (u64 *)fixture_ptr(m->mc, pa);
}

static u64 table(struct model *m)
{
	u64 pa = m->next_table;
	m->next_table += PAGE_SIZE;
	memset(ent(m, pa), 0, PAGE_SIZE);
	return pa;
}

static u16 pcid_of(int as)
{
	return (u16)(as + 1);
}

static bool pcide(const struct model *m)
{
	return m->c->cr4 & CR4_PCIDE;
}

/* The PCID the TLB files the current address space under. */
static u16 cur_pcid(const struct model *m)
{
	return pcide(m) ? (u16)(m->c->cr3 & 0xfff) : 0;
}

/*
 * Page idx of region r in address space `as`. Each address space has its
 * own part of a private region, so that its TLB entries are not all
 * evicted by the others' and stale ones can survive a switch.
 */
static unsigned page_index(int as, enum region r, unsigned idx)
{
	return regions[r].shared ? idx : (unsigned)as * regions[r].count + idx;
}

static u64 page_va(int as, enum region r, unsigned idx)
{
	return regions[r].va + ((u64)page_index(as, r, idx) << regions[r].shift);
}

/* Finds the address space, region and index of the page holding gva; false if none. */
static bool locate(u64 gva, int *as, enum region *r, unsigned *idx)
{
	for (*r = 0; *r < NREGION; (*r)++) {
		for (*as = 0; *as < NAS; (*as)++) {
			u64 first = page_va(*as, *r, 0), size = 1ULL << regions[*r].shift;
			if (gva - first < regions[*r].count * size) {
				*idx = (unsigned)((gva - first) / size);
				return true;
			}
		}
	}
	return false;
}

static u64 *leaf_of(struct model *m, int as, enum region r, unsigned idx)
{
	unsigned k = page_index(as, r, idx);
	switch (r) {
	case R4K: return ent(m, m->pt4k[as] + k * 8);
	case R2M: return ent(m, m->pd2m[as] + k * 8);
	case R1G: return ent(m, m->pdpt1[as] + k * 8);
	case RK4K: return ent(m, m->kpt + k * 8);
	default: return ent(m, m->kpd + (1 + k) * 8);
	}
}

/* A random leaf for region r: mostly present, random rights, sometimes global, rarely a reserved bit. */
static u64 random_leaf(struct model *m, enum region r)
{
	unsigned shift = regions[r].shift;
	if (chance(m, 10))
		return rnd(m) & ~P;
	u64 e = P | (chance(m, 70) ? RW : 0) | (chance(m, 50) ? US : 0) | (chance(m, 25) ? XD : 0);
	e |= (rnd(m) & (PWT | PCD | A_ | D_));
	if (regions[r].shared && chance(m, 60))
		e |= G;
	if (shift == 12)
		e |= chance(m, 90) ? 0xc00000ULL + (rnd(m) % 512) * PAGE_SIZE : 0x5000000ULL + (rnd(m) % 16) * PAGE_SIZE;
	else if (shift == 21)
		e |= PS | (u64[]){ 0xa00000ULL, 0xe00000ULL, 0x40000000ULL }[rnd(m) % 3] | (chance(m, 20) ? 0x1000 : 0);
	else
		e |= PS | (chance(m, 70) ? 0 : 0x40000000ULL);
	if (chance(m, 3))
		e |= 1ULL << (40 + rnd(m) % 12); // bits 51:40: above MAXPHYADDR
	if (shift > 12 && chance(m, 3))
		e |= 1ULL << (13 + rnd(m) % (shift - 13)); // inside the large frame's address
	return e;
}

static void build(struct model *m)
{
	m->next_table = TABLES;
	m->kpdpt = table(m), m->kpd = table(m), m->kpt = table(m);
	*ent(m, m->kpdpt) = m->kpd | P | RW | US;
	*ent(m, m->kpd) = m->kpt | P | RW | US;
	for (int as = 0; as < NAS; as++) {
		m->pml4[as] = table(m), m->pdpt0[as] = table(m), m->pd4k[as] = table(m);
		m->pt4k[as] = table(m), m->pd2m[as] = table(m), m->pdpt1[as] = table(m);
		*ent(m, m->pml4[as]) = m->pdpt0[as] | P | RW | US;
		*ent(m, m->pml4[as] + 8) = m->pdpt1[as] | P | RW | US;
		*ent(m, m->pml4[as] + 256 * 8) = m->kpdpt | P | RW | US;
		*ent(m, m->pdpt0[as] + 8) = m->pd4k[as] | P | RW | US;
		*ent(m, m->pdpt0[as] + 16) = m->pd2m[as] | P | RW | US;
		*ent(m, m->pd4k[as]) = m->pt4k[as] | P | RW | US;
	}
	for (int as = 0; as < NAS; as++)
		for (enum region r = 0; r < NREGION; r++)
			for (unsigned k = 0; k < regions[r].count; k++)
				*leaf_of(m, as, r, k) = random_leaf(m, r);
}

struct ref {
	int vec;  // -1: no fault
	u32 err;  // #PF error code
	u64 pa;   // physical address when no fault
};

static struct ref pf(u32 err)
{
	return (struct ref){ .vec = VEC_PF, .err = err };
}

/* Reserved bits of an entry at `level` with this PS bit (SDM Vol. 3A tables 4-15 to 4-20). */
static u64 ref_reserved(const struct cpu *c, int level, bool ps)
{
	u64 rsv = 0x000fff0000000000ULL; // 51:40
	if (!(c->efer & EFER_NXE))
		rsv |= XD;
	if (level == 4)
		rsv |= PS;
	if (level == 3 && ps)
		rsv |= 0x3fffe000ULL; // 29:13
	if (level == 2 && ps)
		rsv |= 0x1fe000ULL; // 20:13
	return rsv;
}

/* The access rights of SDM Vol. 3A 4.6. */
static bool ref_allowed(const struct cpu *c, enum access acc, bool user, bool implicit, bool rw, bool us, bool xd)
{
	bool smap = !user && us && (c->cr4 & CR4_SMAP) && (implicit || !(c->rflags & RFLAGS_AC));
	bool nx = xd && (c->efer & EFER_NXE);
	if (acc == ACC_READ)
		return user ? us : !smap;
	if (acc == ACC_WRITE)
		return user ? us && rw : !smap && (rw || !(c->cr0 & CR0_WP));
	return !nx && (user ? us : !(us && (c->cr4 & CR4_SMEP)));
}

/* The uncached walk: what the access must do given the tables and control bits now. */
static struct ref ref_access(struct model *m, u64 gva, enum access acc, bool implicit)
{
	const struct cpu *c = m->c;
	if ((u64)((s64)(gva << 16) >> 16) != gva)
		return (struct ref){ .vec = VEC_GP };
	bool user = c->cpl == 3 && !implicit;
	u32 ec = (acc == ACC_WRITE ? 2 : 0) | (user ? 4 : 0);
	if (acc == ACC_EXEC && ((c->efer & EFER_NXE) || (c->cr4 & CR4_SMEP)))
		ec |= 16;
	u64 tbl = c->cr3 & ADDR_MASK, pa = 0;
	bool rw = true, us = true, xd = false;
	for (int level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		u64 e = *ent(m, tbl + ((gva >> shift) & 511) * 8);
		bool ps = (level == 2 || level == 3) && (e & PS);
		if (!(e & P))
			return pf(ec);
		if (e & ref_reserved(c, level, ps))
			return pf(ec | 1 | 8);
		rw = rw && (e & RW), us = us && (e & US), xd = xd || (e & XD);
		if (level == 1 || ps) {
			u64 size = 1ULL << shift;
			pa = (e & ADDR_MASK & ~(size - 1)) | (gva & (size - 1));
			break;
		}
		tbl = e & ADDR_MASK;
	}
	if (!ref_allowed(c, acc, user, implicit, rw, us, xd))
		return pf(ec | 1);
	if (acc == ACC_EXEC && pa >= RAM_SIZE)
		return (struct ref){ .vec = VEC_UD };
	return (struct ref){ .vec = -1, .pa = pa };
}

static void mismatch(struct model *m, const char *what, u64 gva, enum access acc, bool implicit, u64 want, u64 got)
{
	m->mismatches++;
	if (m->quiet || m->mismatches > 5)
		return;
	test_fail(__FILE__, __LINE__,
		  "step %u: %s at %#llx (acc %d%s, cpl %u, ac %d, cr0 %#llx, cr4 %#llx, cr3 %#llx): want %#llx, got %#llx",
		  m->step, what, (unsigned long long)gva, acc, implicit ? " implicit" : "", m->c->cpl,
		  !!(m->c->rflags & RFLAGS_AC), (unsigned long long)m->c->cr0, (unsigned long long)m->c->cr4,
		  (unsigned long long)m->c->cr3, (unsigned long long)want, (unsigned long long)got);
}

/* Runs the access through the vCPU; returns -1 or the vector, with the data side checked against want. */
static int vcpu_access(struct model *m, u64 gva, enum access acc, bool implicit, const struct ref *want)
{
	struct cpu *c = m->c;
	u8 *ram = m->mc->mem.ram;
	if (acc == ACC_EXEC) {
		u8 *p = tlb_lookup(c, gva, ACC_EXEC);
		if (!p && !(p = mmu_translate(c, gva, ACC_EXEC)))
			return c->exc.vector;
		if (want->vec < 0 && p != ram + want->pa)
			mismatch(m, "fetch pointer", gva, acc, implicit, (u64)(uintptr_t)(ram + want->pa), (u64)(uintptr_t)p);
		return -1;
	}
	if (acc == ACC_READ) {
		u64 v = 0;
		if (implicit ? cpu_read_sys(c, gva, 8, &v) : cpu_read(c, gva, 8, &v))
			return c->exc.vector;
		u64 expect = want->pa < RAM_SIZE ? *ent(m, want->pa) : ~0ULL;
		if (want->vec < 0 && v != expect)
			mismatch(m, "read value", gva, acc, implicit, expect, v);
		return -1;
	}
	u64 val = ++m->stamp * 0x9e3779b97f4a7c15ULL;
	if (implicit ? cpu_write_sys(c, gva, 8, val) : cpu_write(c, gva, 8, val))
		return c->exc.vector;
	if (want->vec < 0 && want->pa < RAM_SIZE && *ent(m, want->pa) != val)
		mismatch(m, "written value", gva, acc, implicit, val, *ent(m, want->pa));
	return -1;
}

static void remember(struct model *m, int as, u64 gva, enum access acc, bool implicit)
{
	m->seen[as][m->nseen[as]++ % 8] = (struct hot){ .va = gva, .acc = acc, .implicit = implicit };
}

/* Performs one access on both sides and compares them. */
static void access_both(struct model *m, u64 gva, enum access acc, bool implicit)
{
	struct cpu *c = m->c;
	remember(m, m->cur, gva, acc, implicit);
	unsigned mode = implicit ? TLB_MODE_SYS : tlb_cpu_mode(c);
	m->hits += tlb_lookup_mode(&c->tlb, gva, acc, mode) != NULL;
	m->accesses++;
	struct ref want = ref_access(m, gva, acc, implicit);
	c->exc = (struct exception){ 0 };
	c->cr2 = 0x5a5a5a5a;
	int vec = vcpu_access(m, gva, acc, implicit, &want);
	if (vec != want.vec) {
		mismatch(m, "vector", gva, acc, implicit, (u64)want.vec, (u64)vec);
		return;
	}
	if (vec == VEC_PF && (c->exc.error != want.err || c->cr2 != gva))
		mismatch(m, "#PF error code / CR2", gva, acc, implicit, want.err, c->exc.error | (c->cr2 == gva ? 0 : 1ULL << 32));
}

/* A random address (and its leaf's address space, region and index), mostly of the current address space. */
static u64 pick_address(struct model *m, int *as, enum region *r, unsigned *idx)
{
	*as = chance(m, 80) ? m->cur : (int)(rnd(m) % NAS);
	*r = rnd(m) % NREGION;
	*idx = rnd(m) % regions[*r].count;
	u64 off;
	if (*r == R1G) // frame 0 is RAM holding the tables: stay on data frames or beyond RAM
		off = chance(m, 70) ? 0xc00000ULL + (rnd(m) % 0x400000) : 0x3000000ULL + (rnd(m) % 0x10000);
	else
		off = rnd(m) % (1ULL << regions[*r].shift);
	return page_va(*as, *r, *idx) + (off & ~7ULL);
}

/*
 * A random access, most of the time one made recently, so that the TLB
 * hits. New ones are drawn up to three times to favour accesses that
 * succeed (only those fill the TLB).
 */
static void random_access(struct model *m)
{
	struct hot *h = &m->hot[rnd(m) % 8];
	for (unsigned k = 0; k < 3 && (!h->va || k > 0 || chance(m, 30)); k++) {
		h->va = chance(m, 1) ? 0x0000800000000000ULL + (rnd(m) & 0xff8) : pick_address(m, &h->as, &h->r, &h->idx);
		h->acc = rnd(m) % 3;
		h->implicit = h->acc != ACC_EXEC && chance(m, 15);
		if (ref_access(m, h->va, h->acc, h->implicit).vec < 0)
			break;
	}
	access_both(m, h->va, h->acc, h->implicit);
}

/* Loads CR3 with address space `as`; flushes its PCID if it may be stale, else maybe not. */
static void load_cr3(struct model *m, int as, bool force_flush)
{
	u64 val = m->pml4[as];
	if (pcide(m)) {
		val |= pcid_of(as);
		if (!m->pending[as] && !force_flush && chance(m, 60))
			val |= CR3_NOFLUSH;
	}
	m->pending[as] = false;
	mmu_cr3_write(m->c, val);
	m->cur = as;
}

static void write_cr4(struct model *m, u64 cr4)
{
	u64 old0 = m->c->cr0, old4 = m->c->cr4;
	m->c->cr4 = cr4;
	mmu_cr0_cr4_written(m->c, old0, old4);
}

/* Empties everything, global entries included, in one of the ways the SDM gives. */
static void flush_everything(struct model *m)
{
	if (chance(m, 50)) {
		mmu_invpcid(m->c, 2, 0, 0);
	} else if (m->c->cr4 & CR4_PGE) {
		write_cr4(m, m->c->cr4 & ~CR4_PGE);
		write_cr4(m, m->c->cr4 | CR4_PGE);
	} else {
		write_cr4(m, m->c->cr4 | CR4_PGE);
		write_cr4(m, m->c->cr4 & ~CR4_PGE);
	}
	for (int as = 0; as < NAS; as++)
		m->pending[as] = false;
}

/* Invalidates the non-global entries of address space `as` (all its pages). */
static void flush_as(struct model *m, int as)
{
	if (as == m->cur) {
		switch (rnd(m) % 3) {
		case 0: mmu_invpcid(m->c, 1, cur_pcid(m), 0); break;
		case 1: load_cr3(m, as, true); break;
		default: mmu_invpcid(m->c, 3, 0, 0); break;
		}
	} else if (pcide(m)) {
		switch (rnd(m) % 3) {
		case 0: mmu_invpcid(m->c, 1, pcid_of(as), 0); break;
		case 1: mmu_invpcid(m->c, 3, 0, 0); break;
		default: m->pending[as] = true; break;
		}
	} // without PCIDs, loading another CR3 has flushed this one's entries already
}

/* Invalidates page va (a non-global translation) in address space `as`. */
static void flush_page(struct model *m, int as, u64 va)
{
	if (as == m->cur) {
		if (chance(m, 50))
			mmu_invlpg(m->c, va);
		else
			mmu_invpcid(m->c, 0, cur_pcid(m), va);
	} else if (pcide(m)) {
		if (chance(m, 50))
			mmu_invpcid(m->c, 0, pcid_of(as), va);
		else
			m->pending[as] = true;
	}
}

/* Changes a leaf and invalidates as the SDM requires (or not, for a pure upgrade). */
static void change_leaf(struct model *m)
{
	enum region r = rnd(m) % NREGION;
	unsigned idx = rnd(m) % regions[r].count;
	int as = rnd(m) % NAS;
	struct hot h = m->seen[as][rnd(m) % 8];
	int as2;
	enum region r2;
	unsigned idx2;
	if (chance(m, 60) && h.va && locate(h.va, &as2, &r2, &idx2)) {
		/* One of the pages the TLB may hold: changing it matters most. */
		r = r2, idx = idx2;
		as = regions[r].shared ? (int)(rnd(m) % NAS) : as2;
	}
	u64 *e = leaf_of(m, as, r, idx);
	u64 va = page_va(as, r, idx) + (rnd(m) % (1ULL << regions[r].shift) & PAGE_MASK);
	if (chance(m, 15)) { // upgrades need no invalidation
		if (!(*e & P))
			*e = random_leaf(m, r) | P;
		else if (!(*e & RW))
			*e |= RW;
		else
			*e &= ~XD;
		return;
	}
	*e = random_leaf(m, r);
	remember(m, as, va + (rnd(m) & 0xff8), ACC_READ, false);
	if (!regions[r].shared) {
		flush_page(m, as, va);
	} else if (!(m->c->cr4 & CR4_PGE) && chance(m, 50)) {
		/* Without CR4.PGE nothing is global: flushing each address space's PCID is enough. */
		for (int k = 0; k < NAS; k++)
			flush_as(m, k);
	} else if (chance(m, 50)) {
		/* INVLPG covers the current PCID and global entries; the other PCIDs need their own. */
		mmu_invlpg(m->c, va);
		for (int k = 0; k < NAS && pcide(m); k++)
			if (pcid_of(k) != cur_pcid(m))
				flush_page(m, k, va);
	} else {
		flush_everything(m);
	}
}

/*
 * Flips a bit of an upper-level entry (pointers keep their address) and
 * invalidates. A global translation filled in one address space is used in
 * all (SDM Vol. 3A 4.10.2.4), so an OS keeps the kernel half identical
 * everywhere: its PML4 entries change together.
 */
static void change_upper(struct model *m)
{
	static const u64 bits[] = { RW, US, XD, P, 1ULL << 45 };
	u64 flip = bits[rnd(m) % (chance(m, 80) ? 3 : 5)];
	int as = rnd(m) % NAS;
	u64 *e;
	switch (rnd(m) % 6) {
	case 0: e = ent(m, m->pml4[as]); break;
	case 1: e = ent(m, m->pdpt0[as] + 8); break;
	case 2: e = ent(m, m->pd4k[as]); break;
	case 3: e = ent(m, m->pml4[as] + 8); break;
	case 4: // the kernel half must look the same in every address space: global entries are shared
		for (int k = 0; k < NAS; k++)
			*ent(m, m->pml4[k] + 256 * 8) ^= flip;
		flush_everything(m);
		return;
	default: e = ent(m, rnd(m) % 2 ? m->kpdpt : m->kpd), as = -1; break;
	}
	*e ^= flip;
	if (as < 0)
		flush_everything(m);
	else
		flush_as(m, as);
	if (flip == P || flip == 1ULL << 45) // undone after this step's accesses: nothing cached it
		m->revert = e, m->revert_bit = flip;
}

static void change_control(struct model *m)
{
	struct cpu *c = m->c;
	switch (rnd(m) % 6) {
	case 0: {
		u64 old = c->cr0;
		c->cr0 ^= CR0_WP;
		mmu_cr0_cr4_written(c, old, c->cr4);
		break;
	}
	case 1: write_cr4(m, c->cr4 ^ CR4_SMEP); break;
	case 2: write_cr4(m, c->cr4 ^ CR4_SMAP); break;
	case 3: write_cr4(m, c->cr4 ^ CR4_PGE); break;
	case 4: { // EFER.NXE = 0 makes every XD bit reserved: off for one step only
		u64 old = c->efer;
		c->efer ^= EFER_NXE;
		mmu_efer_written(c, old);
		m->nxe_off = !(c->efer & EFER_NXE);
		break;
	}
	default:
		if (pcide(m)) {
			write_cr4(m, c->cr4 & ~CR4_PCIDE);
			for (int as = 0; as < NAS; as++)
				m->pending[as] = false;
		} else {
			load_cr3(m, m->cur, true); // CR3[11:0] must be 0 to set PCIDE
			write_cr4(m, c->cr4 | CR4_PCIDE);
		}
		break;
	}
}

/* Invalidations nobody needs: always allowed. */
static void extra_invalidation(struct model *m)
{
	enum region r;
	unsigned idx;
	int as;
	u64 va = pick_address(m, &as, &r, &idx);
	switch (rnd(m) % 3) {
	case 0: mmu_invlpg(m->c, va); break;
	case 1: mmu_invpcid(m->c, 0, pcide(m) ? pcid_of((int)(rnd(m) % NAS)) : 0, va); break;
	default: mmu_invpcid(m->c, 1 + (unsigned)(rnd(m) % 3), pcide(m) ? pcid_of((int)(rnd(m) % NAS)) : 0, 0); break;
	}
}

static void model_init(struct model *m, u64 seed)
{
	memset(m, 0, sizeof(*m));
	m->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	m->mc = fixture_new();
	m->c = fixture_cpu(m->mc);
	build(m);
	struct cpu *c = m->c;
	c->cr4 |= CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP;
	tlb_flush_all(&c->tlb);
	load_cr3(m, 0, true);
}

/* One step of the program; every step that changes state is followed by two checked accesses. */
static void model_step(struct model *m)
{
	unsigned op = rnd(m) % 100;
	if (op < 55) {
		random_access(m);
		return;
	}
	if (op < 70)
		change_leaf(m);
	else if (op < 73)
		change_upper(m);
	else if (op < 85) {
		/* Back in an address space, retry what it did before: stale entries would show now. */
		load_cr3(m, (int)(rnd(m) % NAS), false);
		for (unsigned k = 0; k < 3; k++) {
			struct hot h = m->seen[m->cur][rnd(m) % 8];
			if (h.va)
				access_both(m, h.va, h.acc, h.implicit);
		}
	}
	else if (op < 90)
		m->c->cpl = m->c->cpl ? 0 : 3;
	else if (op < 95)
		m->c->rflags ^= RFLAGS_AC;
	else if (op < 97)
		change_control(m);
	else
		extra_invalidation(m);
	random_access(m);
	random_access(m);
	if (m->revert)
		*m->revert ^= m->revert_bit, m->revert = NULL;
	if (m->nxe_off) {
		u64 old = m->c->efer;
		m->c->efer |= EFER_NXE;
		mmu_efer_written(m->c, old);
		m->nxe_off = false;
	}
}

TEST(tlb, matches_uncached_walk)
{
	for (u64 seed = 1; seed <= 3; seed++) {
		struct model m;
		model_init(&m, seed);
		ASSERT_TRUE(m.mc != NULL);
		for (m.step = 0; m.step < 100000 && !m.mismatches; m.step++)
			model_step(&m);
		EXPECT_EQ(0, m.mismatches);
		EXPECT_TRUE(m.accesses > 100000);
		EXPECT_TRUE(m.hits * 20 > m.accesses); // the comparison really exercises TLB hits
		EXPECT_TRUE(m.c->tlb.sweeps > 1); // and context numbers were recycled
		fixture_free(m.mc);
	}
}

/*
 * The same program, but at step 2000 the OS forgets an invalidation: a page
 * just read (so cached) is made not present without INVLPG. The TLB may
 * then legally keep answering from its stale entry, which the uncached walk
 * refuses: the comparison must notice.
 */
TEST(tlb, comparison_catches_a_missed_invalidation)
{
	struct model m;
	model_init(&m, 7);
	ASSERT_TRUE(m.mc != NULL);
	m.quiet = true;
	for (m.step = 0; m.step < 2000; m.step++)
		model_step(&m);
	EXPECT_EQ(0, m.mismatches);
	m.c->cpl = 0; // where most reads succeed
	m.c->rflags |= RFLAGS_AC;
	for (unsigned tries = 0; tries < 10000; tries++) {
		enum region r;
		unsigned idx;
		int as;
		u64 va = pick_address(&m, &as, &r, &idx);
		struct ref want = ref_access(&m, va, ACC_READ, false);
		if (want.vec >= 0)
			continue;
		access_both(&m, va, ACC_READ, false);
		*leaf_of(&m, as, r, idx) &= ~P; // and no invalidation
		access_both(&m, va, ACC_READ, false);
		break;
	}
	EXPECT_EQ(1, m.mismatches);
	fixture_free(m.mc);
}

/* A small private address space for the targeted tests below: tables from TABLES, leaves by hand. */
static u64 map4k(struct model *m, u64 pml4, u64 gva, u64 leaf)
{
	u64 tbl = pml4;
	for (unsigned l = 4; l > 1; l--) {
		u64 *e = ent(m, tbl + ((gva >> (12 + 9 * (l - 1))) & 511) * 8);
		if (!(*e & P))
			*e = table(m) | P | RW | US;
		tbl = *e & ADDR_MASK;
	}
	*ent(m, tbl + ((gva >> 12) & 511) * 8) = leaf;
	return tbl + ((gva >> 12) & 511) * 8;
}

static void small_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->mc = fixture_new();
	m->c = fixture_cpu(m->mc);
	m->next_table = TABLES;
	m->pml4[0] = table(m);
	m->pml4[1] = table(m);
}

static u64 rd(struct model *m, u64 gva)
{
	u64 v = 0;
	m->c->exc.vector = 0xff;
	return cpu_read(m->c, gva, 8, &v) ? 0xdead0000 + m->c->exc.vector : v;
}

TEST(tlb, cpl_and_ac_changes_need_no_flush)
{
	struct model m;
	small_init(&m);
	struct cpu *c = m.c;
	c->cr4 |= CR4_SMAP;
	map4k(&m, m.pml4[0], 0x10000, 0xc00000 | P | RW);      // supervisor page
	map4k(&m, m.pml4[0], 0x11000, 0xc01000 | P | RW | US); // user page
	*ent(&m, 0xc00000) = 0x1111, *ent(&m, 0xc01000) = 0x2222;
	mmu_cr3_write(c, m.pml4[0]);
	EXPECT_EQ(0x1111, rd(&m, 0x10000));
	EXPECT_EQ(0xdead000e, rd(&m, 0x11000)); // SMAP, AC = 0
	c->rflags |= RFLAGS_AC;                 // what STAC does: no flush
	EXPECT_EQ(0x2222, rd(&m, 0x11000));
	c->cpl = 3;                             // what a return to user mode does: no flush
	EXPECT_EQ(0xdead000e, rd(&m, 0x10000));
	EXPECT_EQ(0x5, c->exc.error);
	EXPECT_EQ(0x2222, rd(&m, 0x11000));
	u64 v;
	EXPECT_EQ(EXEC_FAULT, cpu_read_sys(c, 0x11000, 8, &v)); // implicit: SMAP whatever AC and CPL
	EXPECT_EQ(0x1, c->exc.error);
	EXPECT_EQ(0, cpu_read_sys(c, 0x10000, 8, &v));
	c->cpl = 0;
	c->rflags &= ~RFLAGS_AC;
	EXPECT_EQ(0x1111, rd(&m, 0x10000));
	EXPECT_EQ(0xdead000e, rd(&m, 0x11000));
	/* Every one of these was a separate TLB entry: the cached ones still hit. */
	EXPECT_TRUE(tlb_lookup(c, 0x10000, ACC_READ) != NULL);
	c->cpl = 3;
	c->rflags |= RFLAGS_AC;
	EXPECT_TRUE(tlb_lookup(c, 0x11000, ACC_READ) != NULL);
	EXPECT_TRUE(tlb_lookup(c, 0x10000, ACC_READ) == NULL);
	fixture_free(m.mc);
}

/*
 * Facet keeps global entries across CR3 loads and PCID entries across
 * no-flush loads (the SDM allows, not requires, both): a stale translation
 * left on purpose shows they were kept, and the invalidation the SDM names
 * removes it.
 */
TEST(tlb, global_entries_survive_cr3_loads)
{
	struct model m;
	small_init(&m);
	struct cpu *c = m.c;
	c->cr4 |= CR4_PGE;
	u64 *g = ent(&m, map4k(&m, m.pml4[0], 0xffff800000001000ULL, 0xc00000 | P | RW | G));
	u64 *ng = ent(&m, map4k(&m, m.pml4[0], 0xffff800000002000ULL, 0xc01000 | P | RW));
	*ent(&m, 0xc00000) = 1, *ent(&m, 0xc01000) = 2, *ent(&m, 0xc02000) = 3;
	mmu_cr3_write(c, m.pml4[0]);
	EXPECT_EQ(1, rd(&m, 0xffff800000001000ULL));
	EXPECT_EQ(2, rd(&m, 0xffff800000002000ULL));
	*g = 0xc02000 | P | RW | G, *ng = 0xc02000 | P | RW; // no invalidation yet
	mmu_cr3_write(c, m.pml4[0]);
	EXPECT_EQ(1, rd(&m, 0xffff800000001000ULL)); // global: kept
	EXPECT_EQ(3, rd(&m, 0xffff800000002000ULL)); // not global: walked again
	mmu_invlpg(c, 0xffff800000001000ULL);
	EXPECT_EQ(3, rd(&m, 0xffff800000001000ULL));
	/* Toggling CR4.PGE drops global entries too. */
	*g = 0xc00000 | P | RW | G;
	write_cr4(&m, c->cr4 & ~CR4_PGE);
	write_cr4(&m, c->cr4 | CR4_PGE);
	EXPECT_EQ(1, rd(&m, 0xffff800000001000ULL));
	fixture_free(m.mc);
}

TEST(tlb, pcid_no_flush_bit_keeps_entries)
{
	struct model m;
	small_init(&m);
	struct cpu *c = m.c;
	write_cr4(&m, c->cr4 | CR4_PCIDE);
	/* Address space 0 (PCID 1) uses page 0x10000, address space 1 (PCID 2) page 0x20000. */
	u64 *a = ent(&m, map4k(&m, m.pml4[0], 0x10000, 0xc00000 | P | RW));
	u64 *b = ent(&m, map4k(&m, m.pml4[1], 0x20000, 0xc01000 | P | RW));
	*ent(&m, 0xc00000) = 1, *ent(&m, 0xc01000) = 2, *ent(&m, 0xc02000) = 3;
	mmu_cr3_write(c, m.pml4[0] | 1);
	EXPECT_EQ(1, rd(&m, 0x10000));
	mmu_cr3_write(c, m.pml4[1] | 2 | CR3_NOFLUSH);
	EXPECT_EQ(m.pml4[1] | 2, c->cr3); // bit 63 is not stored
	EXPECT_EQ(2, rd(&m, 0x20000));
	EXPECT_EQ(0xdead000e, rd(&m, 0x10000)); // PCID 1's entry does not serve PCID 2
	*a = 0xc02000 | P | RW, *b = 0xc02000 | P | RW; // both entries are now stale
	mmu_cr3_write(c, m.pml4[0] | 1 | CR3_NOFLUSH);
	EXPECT_EQ(1, rd(&m, 0x10000)); // kept
	mmu_cr3_write(c, m.pml4[1] | 2 | CR3_NOFLUSH);
	EXPECT_EQ(2, rd(&m, 0x20000)); // kept
	mmu_invpcid(c, 1, 1, 0);       // single-context invalidation of PCID 1 from PCID 2
	EXPECT_EQ(2, rd(&m, 0x20000));  // not PCID 2's entries
	mmu_cr3_write(c, m.pml4[0] | 1 | CR3_NOFLUSH);
	EXPECT_EQ(3, rd(&m, 0x10000));
	/* Without the no-flush bit the load flushes the PCID it loads. */
	*a = 0xc00000 | P | RW;
	mmu_cr3_write(c, m.pml4[0] | 1);
	EXPECT_EQ(1, rd(&m, 0x10000));
	/* Clearing CR4.PCIDE flushes everything. */
	*a = 0xc02000 | P | RW;
	write_cr4(&m, c->cr4 & ~CR4_PCIDE);
	EXPECT_EQ(3, rd(&m, 0x10000));
	fixture_free(m.mc);
}

TEST(tlb, context_numbers_recycle)
{
	struct model m;
	small_init(&m);
	struct cpu *c = m.c;
	c->cr4 |= CR4_PGE;
	u64 *g = ent(&m, map4k(&m, m.pml4[0], 0xffff800000001000ULL, 0xc00000 | P | RW | G));
	u64 *ng = ent(&m, map4k(&m, m.pml4[0], 0x10000, 0xc01000 | P | RW));
	for (u64 k = 0; k < 8; k++)
		*ent(&m, 0xc00000 + k * PAGE_SIZE) = k;
	mmu_cr3_write(c, m.pml4[0]);
	u64 sweeps = c->tlb.sweeps;
	for (unsigned k = 0; k < 3 * TLB_CTXS; k++) {
		*ng = (0xc01000 + (k % 4) * PAGE_SIZE) | P | RW;
		mmu_cr3_write(c, m.pml4[0]);
		if (rd(&m, 0x10000) != 1 + k % 4 || rd(&m, 0xffff800000001000ULL) != 0) {
			test_fail(__FILE__, __LINE__, "load %u: wrong translation", k);
			break;
		}
	}
	EXPECT_TRUE(c->tlb.sweeps >= sweeps + 2);
	*g = 0xc02000 | P | RW | G; // the global entry was kept through every sweep
	mmu_cr3_write(c, m.pml4[0]);
	EXPECT_EQ(0, rd(&m, 0xffff800000001000ULL));
	fixture_free(m.mc);
}

/* INVLPG anywhere in a large page drops every 4 KiB piece the TLB holds of it (SDM Vol. 3A 4.10.4.1 note). */
TEST(tlb, invlpg_drops_every_piece_of_a_large_page)
{
	struct model m;
	small_init(&m);
	struct cpu *c = m.c;
	u64 *pdpt = ent(&m, m.pml4[0]);
	*pdpt = table(&m) | P | RW;
	u64 pd = table(&m);
	*ent(&m, *pdpt & ADDR_MASK) = pd | P | RW;
	for (unsigned k = 0; k < 40; k++) // more 2 MiB pages than the TLB tracks regions, to cover both paths
		*ent(&m, pd + k * 8) = 0xa00000 | P | RW | PS;
	*ent(&m, 0xa00000) = 1, *ent(&m, 0xbff000) = 2, *ent(&m, 0xe00000) = 3, *ent(&m, 0xfff000) = 4;
	mmu_cr3_write(c, m.pml4[0]);
	for (unsigned round = 0; round < 2; round++) {
		u64 base = round ? 0x4000000 : 0; // round 1: after 32 regions were touched (overflow)
		for (unsigned k = 0; k < (round ? 40 : 1); k++)
			rd(&m, k * 0x200000ULL);
		*ent(&m, pd + (base >> 21) * 8) = 0xa00000 | P | RW | PS;
		mmu_invlpg(c, base + 0x1000);
		EXPECT_EQ(1, rd(&m, base));
		EXPECT_EQ(2, rd(&m, base + 0x1ff000));
		*ent(&m, pd + (base >> 21) * 8) = 0xe00000 | P | RW | PS;
		mmu_invlpg(c, base + 0x123456);
		EXPECT_EQ(3, rd(&m, base));
		EXPECT_EQ(4, rd(&m, base + 0x1ff000));
	}
	fixture_free(m.mc);
}

/* A frame that holds decoded code keeps no write tag in any mode (dcache.h). */
TEST(tlb, code_frames_lose_write_tags_in_every_mode)
{
	struct model m;
	small_init(&m);
	struct cpu *c = m.c;
	map4k(&m, m.pml4[0], 0x10000, 0xc00000 | P | RW | US | D_);
	mmu_cr3_write(c, m.pml4[0]);
	for (u8 cpl = 0; cpl <= 3; cpl += 3) {
		c->cpl = cpl;
		EXPECT_EQ(0, cpu_write(c, 0x10000, 8, 5));
		EXPECT_TRUE(tlb_lookup(c, 0x10000, ACC_WRITE) != NULL);
	}
	tlb_drop_write(&c->tlb, 0xc00000);
	for (u8 cpl = 0; cpl <= 3; cpl += 3) {
		c->cpl = cpl;
		EXPECT_TRUE(tlb_lookup(c, 0x10000, ACC_WRITE) == NULL);
		EXPECT_TRUE(tlb_lookup(c, 0x10000, ACC_READ) != NULL);
	}
	fixture_free(m.mc);
}

/* Runs `code` at FIX_CODE for one instruction; returns the enum cpu_stop. */
static enum cpu_stop run_insn(struct machine *mc, const u8 *code, size_t len)
{
	fixture_load(mc, code, len);
	return fixture_step(mc, 1);
}

/* Returns the 2 MiB PDE of the boot identity map for gva (fixture memory is mapped with 2 MiB pages above 2 MiB). */
static u64 *boot_pde(struct machine *mc, u64 gva)
{
	u64 t = fixture_cpu(mc)->cr3 & ADDR_MASK;
	for (int level = 4; level > 2; level--)
		t = *(u64 *)fixture_ptr(mc, t + ((gva >> (12 + 9 * (level - 1))) & 511) * 8) & ADDR_MASK;
	return (u64 *)fixture_ptr(mc, t + ((gva >> 21) & 511) * 8);
}

TEST(tlb, invlpg_instruction)
{
	static const u8 invlpg[] = { 0x0f, 0x01, 0x38 }; // invlpg [rax]
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u64 *pde = boot_pde(mc, 0x600000), v;
	*(u64 *)fixture_ptr(mc, 0x600000) = 1, *(u64 *)fixture_ptr(mc, 0xa00000) = 2;
	EXPECT_EQ(0, cpu_read(c, 0x600000, 8, &v));
	*pde = (*pde & ~ADDR_MASK) | 0xa00000;
	c->r[RAX] = 0x6ff000; // another 4 KiB piece of the same 2 MiB page
	EXPECT_EQ(CPU_STOP_BUDGET, run_insn(mc, invlpg, sizeof(invlpg)));
	EXPECT_EQ(FIX_CODE + 3, c->r[REG_RIP]);
	EXPECT_EQ(0, cpu_read(c, 0x600000, 8, &v));
	EXPECT_EQ(2, v);
	c->r[RAX] = 0x0000800000000000ULL; // non-canonical: a NOP (SDM Vol. 2A INVLPG)
	EXPECT_EQ(CPU_STOP_BUDGET, run_insn(mc, invlpg, sizeof(invlpg)));
	fixture_user_pages(mc);
	c->cpl = 3;
	EXPECT_EQ(CPU_STOP_EXCEPTION, run_insn(mc, invlpg, sizeof(invlpg)));
	EXPECT_EQ(VEC_GP, c->exc.vector);
	EXPECT_EQ(0, c->exc.error);
	fixture_free(mc);
}

TEST(tlb, invpcid_instruction_checks)
{
	static const u8 invpcid[] = { 0x66, 0x0f, 0x38, 0x82, 0x08 }; // invpcid rcx, [rax]
	static const struct {
		const char *what;
		u64 type, desc0, desc1;
		bool pcide;
		int vec; // -1: completes
	} cases[] = {
		{ "type 0", 0, 0, 0x600000, false, -1 },
		{ "type 0, PCID without CR4.PCIDE", 0, 5, 0x600000, false, VEC_GP },
		{ "type 0, PCID with CR4.PCIDE", 0, 5, 0x600000, true, -1 },
		{ "type 0, non-canonical address", 0, 0, 0x0000800000000000ULL, false, VEC_GP },
		{ "type 1, PCID without CR4.PCIDE", 1, 1, 0, false, VEC_GP },
		{ "type 1, non-canonical address is not used", 1, 0, 0x0000800000000000ULL, false, -1 },
		{ "type 2", 2, 0, 0, false, -1 },
		{ "type 3, PCID ignored", 3, 7, 0, false, -1 },
		{ "type 4", 4, 0, 0, false, VEC_GP },
		{ "descriptor bits 63:12", 2, 0x1000, 0, false, VEC_GP },
	};
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		u64 *desc = fixture_ptr(mc, FIX_DATA);
		desc[0] = cases[k].desc0, desc[1] = cases[k].desc1;
		c->cr4 = cases[k].pcide ? c->cr4 | CR4_PCIDE : c->cr4 & ~CR4_PCIDE;
		c->r[RAX] = FIX_DATA, c->r[RCX] = cases[k].type;
		enum cpu_stop s = run_insn(mc, invpcid, sizeof(invpcid));
		bool ok = cases[k].vec < 0 ? s == CPU_STOP_BUDGET && c->r[REG_RIP] == FIX_CODE + 5
					   : s == CPU_STOP_EXCEPTION && c->exc.vector == cases[k].vec && c->exc.error == 0;
		if (!ok)
			test_fail(__FILE__, __LINE__, "%s: stop %d vector %d", cases[k].what, s, c->exc.vector);
	}
	c->cr4 &= ~CR4_PCIDE;
	/* The descriptor is read before the type is checked: #PF first. */
	c->r[RAX] = 0x7ffffff000ULL, c->r[RCX] = 9;
	EXPECT_EQ(CPU_STOP_EXCEPTION, run_insn(mc, invpcid, sizeof(invpcid)));
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(0x7ffffff000ULL, c->cr2);
	/* Type 0 drops a 2 MiB page's pieces like INVLPG. */
	u64 *pde = boot_pde(mc, 0x600000), v;
	*(u64 *)fixture_ptr(mc, 0x600000) = 1, *(u64 *)fixture_ptr(mc, 0xa00000) = 2;
	EXPECT_EQ(0, cpu_read(c, 0x600000, 8, &v));
	*pde = (*pde & ~ADDR_MASK) | 0xa00000;
	u64 *desc = fixture_ptr(mc, FIX_DATA);
	desc[0] = 0, desc[1] = 0x6ff000;
	c->r[RAX] = FIX_DATA, c->r[RCX] = 0;
	EXPECT_EQ(CPU_STOP_BUDGET, run_insn(mc, invpcid, sizeof(invpcid)));
	EXPECT_EQ(0, cpu_read(c, 0x600000, 8, &v));
	EXPECT_EQ(2, v);
	fixture_user_pages(mc);
	c->cpl = 3;
	EXPECT_EQ(CPU_STOP_EXCEPTION, run_insn(mc, invpcid, sizeof(invpcid)));
	EXPECT_EQ(VEC_GP, c->exc.vector);
	fixture_free(mc);
}

TEST(tlb, stac_clac)
{
	static const u8 stac[] = { 0x0f, 0x01, 0xcb }, clac[] = { 0x0f, 0x01, 0xca };
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_BUDGET, run_insn(mc, stac, sizeof(stac)));
	EXPECT_TRUE(c->rflags & RFLAGS_AC);
	EXPECT_EQ(FIX_CODE + 3, c->r[REG_RIP]);
	EXPECT_EQ(CPU_STOP_BUDGET, run_insn(mc, clac, sizeof(clac)));
	EXPECT_TRUE(!(c->rflags & RFLAGS_AC));
	fixture_user_pages(mc);
	c->cpl = 3;
	EXPECT_EQ(CPU_STOP_EXCEPTION, run_insn(mc, stac, sizeof(stac)));
	EXPECT_EQ(VEC_UD, c->exc.vector);
	EXPECT_EQ(CPU_STOP_EXCEPTION, run_insn(mc, clac, sizeof(clac)));
	EXPECT_EQ(VEC_UD, c->exc.vector);
	EXPECT_TRUE(!(c->rflags & RFLAGS_AC));
	fixture_free(mc);
}
