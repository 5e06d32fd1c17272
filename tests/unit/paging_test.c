/* SPDX-License-Identifier: MIT */
/*
 * The paging walk (src/mmu/paging.c) against the SDM's rules (Vol. 3A
 * 4.5-4.8): page sizes, the #PF error code and CR2 for every cause, the
 * reserved bits of each level, the access rights with CR0.WP, CR4.SMEP,
 * CR4.SMAP and RFLAGS.AC, and the accessed and dirty flags. The TLB
 * against an uncached reference walk is in tlb_test.c.
 */
#include <stdlib.h>

#include "cpu/access.h"
#include "fixture.h"
#include "test.h"

/* A private set of tables in the fixture's RAM, above its code and data. */
#define T_PML4 0x800000ULL
#define T_NEXT 0x801000ULL
#define P 1ULL
#define RW 2ULL
#define US 4ULL
#define A_ 0x20ULL
#define D_ 0x40ULL
#define PS 0x80ULL
#define G_ 0x100ULL
#define NX (1ULL << 63)

struct pt {
	struct machine *mc;
	u64 next; // next free table page
};

static u64 *entry(struct pt *t, u64 table, unsigned idx)
{
	return (u64 *)fixture_ptr(t->mc, table) + idx;
}

static u64 new_table(struct pt *t)
{
	u64 pa = t->next;
	t->next += PAGE_SIZE;
	memset(fixture_ptr(t->mc, pa), 0, PAGE_SIZE);
	return pa;
}

/* Maps gva to pa at `level` (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB) with leaf flags; intermediate entries get P|RW|US. */
static void map(struct pt *t, u64 gva, u64 pa, unsigned level, u64 flags)
{
	u64 table = T_PML4;
	for (unsigned l = 4; l > level; l--) {
		u64 *e = entry(t, table, (gva >> (12 + 9 * (l - 1))) & 511);
		if (!(*e & P))
			*e = new_table(t) | P | RW | US;
		table = *e & 0xffffffffff000ULL;
	}
	*entry(t, table, (gva >> (12 + 9 * (level - 1))) & 511) = pa | flags | (level > 1 ? PS : 0);
}

static struct pt setup(void)
{
	struct pt t = { .mc = fixture_new(), .next = T_NEXT };
	memset(fixture_ptr(t.mc, T_PML4), 0, PAGE_SIZE);
	struct cpu *c = fixture_cpu(t.mc);
	c->cr3 = T_PML4;
	tlb_flush_all(&c->tlb);
	return t;
}

TEST(paging, four_level_sizes_translate)
{
	struct pt t = setup();
	struct cpu *c = fixture_cpu(t.mc);
	map(&t, 0x7000001000ULL, 0x500000, 1, P | RW);
	map(&t, 0x7040000000ULL + 0x200000, 0x600000, 2, P | RW);
	map(&t, 0x7100000000ULL, 0x0, 3, P | RW);
	u64 v = 0;
	*(u64 *)fixture_ptr(t.mc, 0x500008) = 0x1111;
	*(u64 *)fixture_ptr(t.mc, 0x6abcd8) = 0x2222;
	*(u64 *)fixture_ptr(t.mc, 0x345678) = 0x3333;
	EXPECT_EQ(0, cpu_read(c, 0x7000001008ULL, 8, &v));
	EXPECT_EQ(0x1111, v);
	EXPECT_EQ(0, cpu_read(c, 0x7040200000ULL + 0xabcd8, 8, &v));
	EXPECT_EQ(0x2222, v);
	EXPECT_EQ(0, cpu_read(c, 0x7100345678ULL, 8, &v));
	EXPECT_EQ(0x3333, v);
	fixture_free(t.mc);
}

TEST(paging, fault_error_codes)
{
	struct pt t = setup();
	struct cpu *c = fixture_cpu(t.mc);
	u64 v;
	map(&t, 0x10000, 0x500000, 1, P);            // read-only
	map(&t, 0x11000, 0x501000, 1, P | RW | NX);  // no execute
	map(&t, 0x12000, 0x502000 | (1ULL << 45), 1, P | RW); // reserved bit (above MAXPHYADDR)
	/* Not present: P=0; write sets W. */
	EXPECT_EQ(EXEC_FAULT, cpu_write(c, 0x20000, 4, 1));
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(0x2, c->exc.error);
	EXPECT_EQ(0x20000, c->cr2);
	/* Write to read-only with CR0.WP at CPL 0: P=1, W=1. */
	EXPECT_EQ(EXEC_FAULT, cpu_write(c, 0x10010, 4, 1));
	EXPECT_EQ(0x3, c->exc.error);
	EXPECT_EQ(0x10010, c->cr2);
	/* Without CR0.WP the supervisor may write. */
	c->cr0 &= ~CR0_WP;
	tlb_flush_all(&c->tlb);
	EXPECT_EQ(0, cpu_write(c, 0x10010, 4, 1));
	c->cr0 |= CR0_WP;
	/* Instruction fetch from an NX page with EFER.NXE: P=1, I=1. */
	EXPECT_TRUE(mmu_translate(c, 0x11000, ACC_EXEC) == NULL);
	EXPECT_EQ(0x11, c->exc.error);
	/* Reserved bit set in the leaf: P=1, RSVD=1. */
	EXPECT_EQ(EXEC_FAULT, cpu_read(c, 0x12000, 1, &v));
	EXPECT_EQ(0x9, c->exc.error);
	/* User access to a supervisor page: P=1, U=1. */
	c->cpl = 3;
	tlb_flush_all(&c->tlb);
	map(&t, 0x13000, 0x503000, 1, P | RW);
	EXPECT_EQ(EXEC_FAULT, cpu_read(c, 0x13000, 1, &v));
	EXPECT_EQ(0x5, c->exc.error);
	/* Non-canonical: #GP(0), not #PF. */
	EXPECT_EQ(EXEC_FAULT, cpu_read(c, 0x0000800000000000ULL, 1, &v));
	EXPECT_EQ(VEC_GP, c->exc.vector);
	fixture_free(t.mc);
}

TEST(paging, accessed_and_dirty_bits)
{
	struct pt t = setup();
	struct cpu *c = fixture_cpu(t.mc);
	u64 v;
	map(&t, 0x10000, 0x500000, 1, P | RW);
	u64 *pte = entry(&t, *entry(&t, *entry(&t, *entry(&t, T_PML4, 0) & ~0xfffULL, 0) & ~0xfffULL, 0) & ~0xfffULL, 0x10);
	EXPECT_EQ(0, cpu_read(c, 0x10000, 8, &v));
	EXPECT_EQ(A_, *pte & (A_ | D_));
	EXPECT_EQ(0, cpu_write(c, 0x10000, 8, 5));
	EXPECT_EQ(A_ | D_, *pte & (A_ | D_));
	fixture_free(t.mc);
}

TEST(paging, page_crossing_write_faults_before_any_byte)
{
	struct pt t = setup();
	struct cpu *c = fixture_cpu(t.mc);
	map(&t, 0x10000, 0x500000, 1, P | RW);
	map(&t, 0x11000, 0x501000, 1, P); // read-only second page
	memset(fixture_ptr(t.mc, 0x500ff8), 0xaa, 8);
	EXPECT_EQ(EXEC_FAULT, cpu_write(c, 0x10ffc, 8, 0));
	EXPECT_EQ(0x11000, c->cr2);
	EXPECT_EQ(0xaaaaaaaaaaaaaaaaULL, *(u64 *)fixture_ptr(t.mc, 0x500ff8));
	fixture_free(t.mc);
}


/* Returns the PDE (level 2) on gva's walk in the test tables. */
static u64 *pde_of(struct pt *t, u64 gva)
{
	u64 pdpt = *entry(t, T_PML4, (gva >> 39) & 511) & 0xffffffffff000ULL;
	u64 pd = *entry(t, pdpt, (gva >> 30) & 511) & 0xffffffffff000ULL;
	return entry(t, pd, (gva >> 21) & 511);
}

/* Performs one access the way its kind reaches the MMU; returns the vector or -1. */
static int access(struct cpu *c, u64 gva, enum access acc, bool implicit)
{
	u64 v;
	c->exc = (struct exception){ 0 };
	switch (acc) {
	case ACC_READ: return (implicit ? cpu_read_sys(c, gva, 8, &v) : cpu_read(c, gva, 8, &v)) ? c->exc.vector : -1;
	case ACC_WRITE: return (implicit ? cpu_write_sys(c, gva, 8, 1) : cpu_write(c, gva, 8, 1)) ? c->exc.vector : -1;
	default: return (tlb_lookup(c, gva, ACC_EXEC) || mmu_translate(c, gva, ACC_EXEC)) ? -1 : c->exc.vector;
	}
}

/*
 * One row per cause of #PF (SDM Vol. 3A 4.6 and 4.7): the leaf, changes to
 * the PDE above it, the mode and control bits, and the error code wanted
 * (-1: no fault). Error code bits: P 1, W/R 2, U/S 4, RSVD 8, I/D 16; the
 * protection-key bit 5 never appears (no CR4.PKE).
 */
static const struct pf_case {
	const char *what;
	u64 leaf, pde_clear, pde_set;
	u8 cpl;
	bool ac, implicit;
	enum access acc;
	u64 cr4, cr0_clear;
	bool no_nxe;
	int err;
} pf_cases[] = {
	{ "not present, read", 0, 0, 0, 0, 0, 0, ACC_READ, 0, 0, 0, 0x0 },
	{ "not present, user write", 0, 0, 0, 3, 0, 0, ACC_WRITE, 0, 0, 0, 0x6 },
	{ "not present, fetch with NXE", 0, 0, 0, 0, 0, 0, ACC_EXEC, 0, 0, 0, 0x10 },
	{ "not present, fetch, no NXE or SMEP: I = 0", 0, 0, 0, 0, 0, 0, ACC_EXEC, 0, 0, 1, 0x0 },
	{ "not present, fetch with SMEP only", 0, 0, 0, 0, 0, 0, ACC_EXEC, CR4_SMEP, 0, 1, 0x10 },
	{ "supervisor write to read-only, WP", P, 0, 0, 0, 0, 0, ACC_WRITE, 0, 0, 0, 0x3 },
	{ "supervisor write to read-only, no WP", P, 0, 0, 0, 0, 0, ACC_WRITE, 0, CR0_WP, 0, -1 },
	{ "user write to read-only, no WP", P | US, 0, 0, 3, 0, 0, ACC_WRITE, 0, CR0_WP, 0, 0x7 },
	{ "user write, PDE read-only", P | RW | US, RW, 0, 3, 0, 0, ACC_WRITE, 0, 0, 0, 0x7 },
	{ "user write to user page", P | RW | US, 0, 0, 3, 0, 0, ACC_WRITE, 0, 0, 0, -1 },
	{ "user read of supervisor page", P | RW, 0, 0, 3, 0, 0, ACC_READ, 0, 0, 0, 0x5 },
	{ "user read, PDE supervisor", P | RW | US, US, 0, 3, 0, 0, ACC_READ, 0, 0, 0, 0x5 },
	{ "user fetch from XD page", P | US | NX, 0, 0, 3, 0, 0, ACC_EXEC, 0, 0, 0, 0x15 },
	{ "supervisor fetch, XD in PDE", P, 0, NX, 0, 0, 0, ACC_EXEC, 0, 0, 0, 0x11 },
	{ "SMEP: supervisor fetch from user page", P | US, 0, 0, 0, 0, 0, ACC_EXEC, CR4_SMEP, 0, 0, 0x11 },
	{ "no SMEP: supervisor fetch from user page", P | US, 0, 0, 0, 0, 0, ACC_EXEC, 0, 0, 0, -1 },
	{ "SMEP: PDE supervisor, so not a user page", P | US, US, 0, 0, 0, 0, ACC_EXEC, CR4_SMEP, 0, 0, -1 },
	{ "SMAP: supervisor read of user page, AC = 0", P | US, 0, 0, 0, 0, 0, ACC_READ, CR4_SMAP, 0, 0, 0x1 },
	{ "SMAP: supervisor write to user page, AC = 0", P | RW | US, 0, 0, 0, 0, 0, ACC_WRITE, CR4_SMAP, 0, 0, 0x3 },
	{ "SMAP: supervisor read with AC = 1", P | US, 0, 0, 0, 1, 0, ACC_READ, CR4_SMAP, 0, 0, -1 },
	{ "SMAP: supervisor write with AC = 1", P | RW | US, 0, 0, 0, 1, 0, ACC_WRITE, CR4_SMAP, 0, 0, -1 },
	{ "SMAP: implicit read ignores AC", P | US, 0, 0, 0, 1, 1, ACC_READ, CR4_SMAP, 0, 0, 0x1 },
	{ "SMAP: implicit read at CPL 3 ignores AC, U/S = 0", P | US, 0, 0, 3, 1, 1, ACC_READ, CR4_SMAP, 0, 0, 0x1 },
	{ "implicit read at CPL 3 of supervisor page", P, 0, 0, 3, 0, 1, ACC_READ, CR4_SMAP, 0, 0, -1 },
	{ "implicit write at CPL 3 to read-only page, WP", P, 0, 0, 3, 0, 1, ACC_WRITE, 0, 0, 0, 0x3 },
	{ "SMAP does not restrict user accesses", P | US, 0, 0, 3, 0, 0, ACC_READ, CR4_SMAP, 0, 0, -1 },
	{ "no SMAP: supervisor read of user page", P | US, 0, 0, 0, 0, 0, ACC_READ, 0, 0, 0, -1 },
	{ "WP: supervisor write to read-only user page", P | US, 0, 0, 0, 1, 0, ACC_WRITE, CR4_SMAP, 0, 0, 0x3 },
	{ "reserved bit 45, read", P | RW | (1ULL << 45), 0, 0, 0, 0, 0, ACC_READ, 0, 0, 0, 0x9 },
	{ "reserved bit 51, user write", P | RW | US | (1ULL << 51), 0, 0, 3, 0, 0, ACC_WRITE, 0, 0, 0, 0xf },
	{ "reserved bit 40, fetch", P | (1ULL << 40), 0, 0, 0, 0, 0, ACC_EXEC, 0, 0, 0, 0x19 },
	{ "XD without NXE is reserved", P | NX, 0, 0, 0, 0, 0, ACC_READ, 0, 0, 1, 0x9 },
	{ "XD without NXE in the PDE", P, 0, NX, 0, 0, 0, ACC_READ, 0, 0, 1, 0x9 },
	{ "ignored bits 62:52 and 11:9", P | (0x7ffULL << 52) | 0xe00, 0, 0, 0, 0, 0, ACC_READ, 0, 0, 0, -1 },
};

TEST(paging, page_fault_error_code_and_cr2_for_each_cause)
{
	struct pt t = setup();
	struct cpu *c = fixture_cpu(t.mc);
	for (size_t k = 0; k < ARRAY_SIZE(pf_cases); k++) {
		const struct pf_case *pc = &pf_cases[k];
		u64 gva = 0x40000000ULL + k * 0x200000 + 0x1238;
		map(&t, gva, 0x500000, 1, pc->leaf);
		*pde_of(&t, gva) = (*pde_of(&t, gva) & ~pc->pde_clear) | pc->pde_set;
		u64 cr0 = c->cr0, cr4 = c->cr4, efer = c->efer;
		c->cr0 &= ~pc->cr0_clear;
		c->cr4 |= pc->cr4;
		if (pc->no_nxe)
			c->efer &= ~EFER_NXE;
		c->cpl = pc->cpl;
		c->rflags = RFLAGS_FIXED1 | (pc->ac ? RFLAGS_AC : 0);
		tlb_flush_all(&c->tlb);
		c->cr2 = 0;
		int vec = access(c, gva, pc->acc, pc->implicit);
		if (vec != (pc->err < 0 ? -1 : VEC_PF) || (pc->err >= 0 && (c->exc.error != (u32)pc->err || c->cr2 != gva)))
			test_fail(__FILE__, __LINE__, "%s: want error %#x, got vector %d error %#x cr2 %#llx", pc->what,
				  pc->err, vec, c->exc.error, (unsigned long long)c->cr2);
		c->cr0 = cr0, c->cr4 = cr4, c->efer = efer, c->cpl = 0, c->rflags = RFLAGS_FIXED1;
	}
	fixture_free(t.mc);
}

/* Reserved bits of each level (SDM Vol. 3A tables 4-15 to 4-20); a not-present entry's bits do not count. */
TEST(paging, reserved_bits_of_each_level)
{
	static const struct {
		const char *what;
		unsigned level; // where `set` goes: 4 PML4E ... 1 PTE; page size from `size`
		unsigned size;  // leaf level: 1 (4 KiB), 2 (2 MiB), 3 (1 GiB)
		u64 set;
		int err;
	} cases[] = {
		{ "PS in a PML4E", 4, 1, PS, 0x9 },
		{ "PML4E bit 45", 4, 1, 1ULL << 45, 0x9 },
		{ "PML4E ignored bit 52", 4, 1, 1ULL << 52, -1 },
		{ "1 GiB page bit 13", 3, 3, 1ULL << 13, 0x9 },
		{ "1 GiB page bit 29", 3, 3, 1ULL << 29, 0x9 },
		{ "1 GiB page PAT bit 12", 3, 3, 1ULL << 12, -1 },
		{ "PDPTE bit 51", 3, 1, 1ULL << 51, 0x9 },
		{ "2 MiB page bit 20", 2, 2, 1ULL << 20, 0x9 },
		{ "2 MiB page PAT bit 12", 2, 2, 1ULL << 12, -1 },
		{ "PDE ignored bit 62", 2, 1, 1ULL << 62, -1 },
		{ "4 KiB page PAT bit 7", 1, 1, PS, -1 },
		{ "4 KiB page G bit 8 without PGE", 1, 1, G_, -1 },
		{ "PTE bit 40", 1, 1, 1ULL << 40, 0x9 },
	};
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		struct pt t = setup();
		struct cpu *c = fixture_cpu(t.mc);
		u64 gva = 0x7f8000000000ULL + (k << 31);
		unsigned size = cases[k].size;
		map(&t, gva, size == 3 ? 0x40000000ULL : size == 2 ? 0xa00000ULL : 0x500000ULL, size, P | RW);
		u64 table = T_PML4, *e = NULL;
		for (unsigned l = 4; l >= cases[k].level; l--) {
			e = entry(&t, table, (gva >> (12 + 9 * (l - 1))) & 511);
			table = *e & 0xffffffffff000ULL;
		}
		*e |= cases[k].set;
		int vec = access(c, gva, ACC_READ, false);
		if (vec != (cases[k].err < 0 ? -1 : VEC_PF) || (vec >= 0 && c->exc.error != (u32)cases[k].err))
			test_fail(__FILE__, __LINE__, "%s: want error %#x, got vector %d error %#x", cases[k].what, cases[k].err,
				  vec, c->exc.error);
		*e &= ~P; // not present: reserved bits no longer matter
		EXPECT_EQ(VEC_PF, access(c, gva + PAGE_SIZE * 3, ACC_READ, false));
		EXPECT_EQ(0x0, c->exc.error);
		fixture_free(t.mc);
	}
}

TEST(paging, accessed_and_dirty_bits_of_large_pages)
{
	struct pt t = setup();
	struct cpu *c = fixture_cpu(t.mc);
	u64 v;
	map(&t, 0x40000000ULL, 0xa00000, 2, P | RW);      // 2 MiB
	map(&t, 0x8000000000ULL, 0x40000000ULL, 3, P | RW); // 1 GiB (not RAM: writes are dropped)
	map(&t, 0x40200000ULL, 0xc00000, 2, P);            // read-only 2 MiB
	u64 *pml4e = entry(&t, T_PML4, 0), *pde = pde_of(&t, 0x40000000ULL);
	u64 *pdpte1g = entry(&t, *entry(&t, T_PML4, 1) & 0xffffffffff000ULL, 0);
	EXPECT_EQ(0, cpu_read(c, 0x40012340ULL, 8, &v));
	EXPECT_EQ(A_, *pml4e & (A_ | D_));
	EXPECT_EQ(A_, *pde & (A_ | D_));
	EXPECT_EQ(0, cpu_write(c, 0x40012340ULL, 8, 7)); // the TLB has no write tag yet: the walk sets D
	EXPECT_EQ(A_ | D_, *pde & (A_ | D_));
	EXPECT_EQ(0, *pml4e & D_); // D exists only in the entry that maps the page
	EXPECT_EQ(0, cpu_write(c, 0x8000123000ULL, 8, 7));
	EXPECT_EQ(A_ | D_, *pdpte1g & (A_ | D_));
	/* A write that faults sets neither bit. */
	EXPECT_EQ(EXEC_FAULT, cpu_write(c, 0x40200000ULL, 8, 7));
	EXPECT_EQ(0, *pde_of(&t, 0x40200000ULL) & (A_ | D_));
	fixture_free(t.mc);
}
