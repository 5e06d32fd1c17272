/* SPDX-License-Identifier: MIT */
/*
 * The differential tests, one per instruction family (see diff.h), and a
 * closing total. Each family prints its form and case counts and, per
 * mnemonic, the forms that disagree with the host or raise #UD in Facet
 * (not implemented yet); any such form fails the family's test.
 */
#include "../unit/test.h"
#include "diff.h"

static struct dtotals totals;

/* The comparison itself: planted differences are caught, undefined flags are not compared (STYLE T4). */
TEST(diff, harness_catches_differences)
{
	static const u8 add[] = { 0x01, 0xc8 }, mul[] = { 0xf7, 0xe1 }, shl1[] = { 0xd1, 0xe0 };
	static const u8 store[] = { 0x89, 0x03 }, bsf[] = { 0x0f, 0xbc, 0xc1 };
	unsigned n;
	EXPECT_EQ(0, check_selftest(add, sizeof(add), INJECT_NONE, 0, &n));
	EXPECT_EQ(n, check_selftest(add, sizeof(add), INJECT_REG, 0, &n));
	EXPECT_EQ(n, check_selftest(store, sizeof(store), INJECT_MEM, 0, &n));
	EXPECT_EQ(n, check_selftest(add, sizeof(add), INJECT_FLAGS, 0x800, &n)); // OF of ADD
	EXPECT_EQ(n, check_selftest(mul, sizeof(mul), INJECT_FLAGS, 0x801, &n)); // CF, OF of MUL: defined
	EXPECT_EQ(0, check_selftest(mul, sizeof(mul), INJECT_UNDEF_FLAGS, 0, &n)); // SF ZF AF PF: undefined
	/* Zydis calls OF of SHL undefined, but for a count of 1 the SDM defines it: it must be compared. */
	EXPECT_EQ(n, check_selftest(shl1, sizeof(shl1), INJECT_FLAGS, 0x800, &n));
	EXPECT_EQ(0, check_selftest(bsf, sizeof(bsf), INJECT_UNDEF_FLAGS, 0, &n));
}
static unsigned families_run;

static void family(enum dfam fam)
{
	unsigned bad = check_family(fam, &totals);
	families_run++;
	if (bad)
		test_fail(__FILE__, __LINE__, "%u forms disagree with the host or are not implemented (listed above)", bad);
}

TEST(diff, alu) { family(FAM_ALU); }
TEST(diff, shift) { family(FAM_SHIFT); }
TEST(diff, bit) { family(FAM_BIT); }
TEST(diff, mov) { family(FAM_MOV); }
TEST(diff, stack) { family(FAM_STACK); }
TEST(diff, str) { family(FAM_STR); }
TEST(diff, ctl) { family(FAM_CTL); }
TEST(diff, addr) { family(FAM_ADDR); }
TEST(diff, invalid) { family(FAM_INVALID); }
TEST(diff, seq) { family(FAM_SEQ); }
TEST(diff, fault) { family(FAM_FAULT); }

TEST(diff, total)
{
	printf("diff: %lu forms, %lu cases, %lu mismatches (%u families; %lu forms not implemented, %lu skipped)\n",
	       totals.forms, totals.cases, totals.mismatches, families_run, totals.unimpl_forms, totals.skipped_forms);
}
