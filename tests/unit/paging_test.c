/* SPDX-License-Identifier: MIT */
/*
 * The paging walk and the TLB (src/mmu) against the SDM's rules (Vol. 3A
 * 4.5-4.8), and the TLB against an uncached reference walk written here
 * independently (STYLE T4).
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

/* Reference: translate without any cache, straight from the tables (4 KiB pages only here). */
static bool ref_walk(struct pt *t, u64 gva, bool write, u64 *pa)
{
	u64 table = T_PML4;
	bool rw = true;
	for (unsigned l = 4; l >= 1; l--) {
		u64 e = *entry(t, table, (gva >> (12 + 9 * (l - 1))) & 511);
		if (!(e & P))
			return false;
		rw &= !!(e & RW);
		table = e & 0xffffffffff000ULL;
	}
	if (write && !rw)
		return false;
	*pa = table | (gva & 0xfff);
	return true;
}

/*
 * A random sequence of remaps, accesses and INVLPG-style flushes on the TLB
 * and on the reference. The TLB may legally return a stale translation for
 * a page remapped without a flush, so every remap is followed by a flush of
 * that page, as an OS would do; the test then demands exact agreement.
 */
TEST(paging, tlb_matches_uncached_walk)
{
	struct pt t = setup();
	struct cpu *c = fixture_cpu(t.mc);
	srand(1234);
	const u64 base = 0x40000000ULL;
	unsigned checked = 0;
	for (unsigned step = 0; step < 20000; step++) {
		u64 page = base + (u64)(rand() % 64) * PAGE_SIZE;
		int op = rand() % 4;
		if (op == 0) {
			u64 frame = 0x900000 + (u64)(rand() % 32) * PAGE_SIZE;
			u64 flags = (rand() % 5 == 0) ? 0 : (P | (rand() % 2 ? RW : 0));
			map(&t, page, frame, 1, flags);
			tlb_flush_page(&c->tlb, page);
			continue;
		}
		bool write = op == 1;
		u64 gva = page + (u64)(rand() % 4096 & ~7), pa = 0, v = 0;
		bool ok = ref_walk(&t, gva, write, &pa);
		int r = write ? cpu_write(c, gva, 8, step) : cpu_read(c, gva, 8, &v);
		EXPECT_EQ(ok ? 0 : EXEC_FAULT, r);
		if (ok && write)
			EXPECT_EQ(step, *(u64 *)fixture_ptr(t.mc, pa));
		if (ok && !write)
			EXPECT_EQ(*(u64 *)fixture_ptr(t.mc, pa), v);
		if (test_failures())
			break;
		checked++;
	}
	EXPECT_TRUE(checked > 10000);
	fixture_free(t.mc);
}
