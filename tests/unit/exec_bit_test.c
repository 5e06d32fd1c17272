/* SPDX-License-Identifier: MIT */
/*
 * BT BTS BTR BTC (register and immediate offsets, bit strings in memory,
 * LOCK), BSF BSR POPCNT LZCNT TZCNT and the BMI1/BMI2 VEX instructions,
 * checked against the host CPU (exec_native.h), undefined flags included.
 */
#include "cpu/flags.h"
#include "exec_native.h"
#include "fixture.h"
#include "test.h"

#define STATES 80

static const unsigned sizes[] = { 2, 4, 8 };

/* Runs random instances of a Gv,Ev / Ev,Gv form with an optional mandatory prefix (F3). */
static void check_rm(struct machine *mc, const char *what, unsigned sz, u8 mandatory, const u8 *opc, unsigned opclen,
		     int digit, bool mem, bool lock, bool imm8, bool bit_string, u64 undef)
{
	for (int k = 0; k < STATES && !test_failures(); k++) {
		struct xenc e = { .n = 0 };
		if (mandatory)
			e.b[e.n++] = mandatory;
		unsigned reg = digit >= 0 ? (unsigned)digit : xpick_reg(sz, false, mem);
		int rm = mem ? XMEM : (int)xpick_reg(sz, false, false);
		xenc_modrm(&e, sz, lock, opc, opclen, reg, rm, false, (s8)(xrand() % 33 - 16));
		if (imm8)
			xenc_imm(&e, xrand() % 4 ? xrand() % (sz * 8) : xrand(), 1);
		struct xstate s;
		xfill(&s);
		if (bit_string) // a signed bit offset that stays inside the test's memory area
			s.r[reg] = (xrand() & ~size_mask(sz)) | ((u64)((s64)(xrand() % 1601) - 800) & size_mask(sz));
		xcheck(mc, e.b, e.n, &s, mem ? RBX : XNO_MEM, xundef(undef), what);
	}
}

TEST(exec_bit, bt_family_matches_host)
{
	static const char *names[] = { "bt", "bts", "btr", "btc" };
	static const u8 reg_ops[] = { 0xa3, 0xab, 0xb3, 0xbb };
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	for (unsigned op = 0; op < 4; op++)
		for (unsigned z = 0; z < 3; z++)
			for (int mem = 0; mem < 2; mem++) {
				u8 opc[2] = { 0x0f, reg_ops[op] }, grp[2] = { 0x0f, 0xba };
				bool lock = mem && op && (xrand() & 1);
				u64 un = RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF;
				check_rm(mc, names[op], sizes[z], 0, opc, 2, -1, mem, lock, false, mem, un);
				check_rm(mc, names[op], sizes[z], 0, grp, 2, (int)(4 + op), mem, lock, true, false, un);
			}
	fixture_free(mc);
}

TEST(exec_bit, scans_and_counts_match_host)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	static const u8 bsf[] = { 0x0f, 0xbc }, bsr[] = { 0x0f, 0xbd }, popcnt[] = { 0x0f, 0xb8 };
	u64 scan_un = RFLAGS_CF | RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF;
	u64 cnt_un = RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF;
	for (unsigned z = 0; z < 3; z++)
		for (int mem = 0; mem < 2; mem++) {
			/* Intel clears the upper half of a 32-bit BSF/BSR destination for a zero source; AMD does not. */
			if (xhost_amd() || sizes[z] != 4) {
				check_rm(mc, "bsf", sizes[z], 0, bsf, 2, -1, mem, false, false, false, scan_un);
				check_rm(mc, "bsr", sizes[z], 0, bsr, 2, -1, mem, false, false, false, scan_un);
			}
			if (xhost_has(XF_POPCNT))
				check_rm(mc, "popcnt", sizes[z], 0xf3, popcnt, 2, -1, mem, false, false, false, 0);
			if (xhost_has(XF_LZCNT))
				check_rm(mc, "lzcnt", sizes[z], 0xf3, bsr, 2, -1, mem, false, false, false, cnt_un);
			if (xhost_has(XF_BMI1))
				check_rm(mc, "tzcnt", sizes[z], 0xf3, bsf, 2, -1, mem, false, false, false, cnt_un);
		}
	fixture_free(mc);
}

/* One BMI instruction: VEX map (2 = 0F38, 3 = 0F3A), pp, opcode, and ModRM.reg as a digit or a register. */
struct bmi {
	const char *name;
	u8 map, pp, opcode;
	int digit; // ModRM.reg opcode extension (BLS*), or -1
	bool imm;  // RORX
	bool bmi2; // needs BMI2 (else BMI1)
	u64 undef; // flags the SDM leaves undefined
};

static void vex_encode(struct xenc *e, const struct bmi *b, bool w, unsigned reg, unsigned vvvv, int rm, s8 disp)
{
	unsigned rmn = rm == XMEM ? RBX : (unsigned)rm;
	e->b[e->n++] = 0xc4;
	e->b[e->n++] = (u8)(((reg & 8) ? 0 : 0x80) | 0x40 | ((rmn & 8) ? 0 : 0x20) | b->map);
	e->b[e->n++] = (u8)((w ? 0x80 : 0) | ((~vvvv & 15) << 3) | b->pp);
	e->b[e->n++] = b->opcode;
	if (rm == XMEM) {
		e->b[e->n++] = (u8)(0x40 | ((reg & 7) << 3) | RBX);
		e->b[e->n++] = (u8)disp;
	} else {
		e->b[e->n++] = (u8)(0xc0 | ((reg & 7) << 3) | (rmn & 7));
	}
}

TEST(exec_bit, bmi_matches_host)
{
	const u64 ap = RFLAGS_AF | RFLAGS_PF;
	const struct bmi ops[] = {
		{ "andn", 2, 0, 0xf2, -1, false, false, ap },
		{ "bextr", 2, 0, 0xf7, -1, false, false, ap | RFLAGS_SF },
		{ "blsi", 2, 0, 0xf3, 3, false, false, ap },
		{ "blsmsk", 2, 0, 0xf3, 2, false, false, ap },
		{ "blsr", 2, 0, 0xf3, 1, false, false, ap },
		{ "bzhi", 2, 0, 0xf5, -1, false, true, ap },
		{ "mulx", 2, 3, 0xf6, -1, false, true, 0 },
		{ "pdep", 2, 3, 0xf5, -1, false, true, 0 },
		{ "pext", 2, 2, 0xf5, -1, false, true, 0 },
		{ "rorx", 3, 3, 0xf0, -1, true, true, 0 },
		{ "sarx", 2, 2, 0xf7, -1, false, true, 0 },
		{ "shlx", 2, 1, 0xf7, -1, false, true, 0 },
		{ "shrx", 2, 3, 0xf7, -1, false, true, 0 },
	};
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	for (size_t n = 0; n < ARRAY_SIZE(ops); n++) {
		if (!xhost_has(ops[n].bmi2 ? XF_BMI2 : XF_BMI1)) {
			printf("exec_bit: host lacks %s, not compared\n", ops[n].name);
			continue;
		}
		for (int w = 0; w < 2; w++)
			for (int mem = 0; mem < 2; mem++)
				for (int k = 0; k < STATES && !test_failures(); k++) {
					struct xenc e = { .n = 0 };
					unsigned sz = w ? 8 : 4;
					unsigned reg = ops[n].digit >= 0 ? (unsigned)ops[n].digit : xpick_reg(sz, false, mem);
					unsigned vvvv = ops[n].imm ? 0 : xpick_reg(sz, false, mem);
					int rm = mem ? XMEM : (int)xpick_reg(sz, false, false);
					vex_encode(&e, &ops[n], w, reg, vvvv, rm, (s8)(xrand() % 33 - 16));
					if (ops[n].imm)
						xenc_imm(&e, xrand(), 1);
					struct xstate s;
					xfill(&s);
					if (xrand() & 1) // BEXTR/BZHI controls and counts in range more often
						s.r[vvvv] = (s.r[vvvv] & ~0xffffULL) | (xrand() % 72) | ((xrand() % 72) << 8);
					xcheck(mc, e.b, e.n, &s, mem ? RBX : XNO_MEM, xundef(ops[n].undef), ops[n].name);
				}
	}
	fixture_free(mc);
}

TEST(exec_bit, bsf_zero_source_keeps_destination)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	static const u8 bsf_eax_ecx[] = { 0x0f, 0xbc, 0xc1 };
	c->r[RAX] = 0x123456789abcdef0ULL;
	c->r[RCX] = 0xffffffff00000000ULL; // the 32-bit source is zero
	fixture_load(mc, bsf_eax_ecx, sizeof(bsf_eax_ecx));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x123456789abcdef0ULL, c->r[RAX]);
	EXPECT_TRUE(flags_get(c) & RFLAGS_ZF);
	fixture_free(mc);
}

TEST(exec_bit, bt_lock_rules)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u8 *ram = fixture_ptr(mc, 0);
	/* lock bts [rbx], rcx with a negative offset: the bit is before the operand. */
	static const u8 lock_bts[] = { 0xf0, 0x48, 0x0f, 0xab, 0x0b };
	memset(ram + FIX_DATA, 0, 64);
	c->r[RBX] = FIX_DATA + 32;
	c->r[RCX] = (u64)-65; // byte FIX_DATA+32-16+7, bit 7 of the qword at FIX_DATA+16
	fixture_load(mc, lock_bts, sizeof(lock_bts));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x80, ram[FIX_DATA + 16 + 7]);
	EXPECT_TRUE(!flags_cf(c));
	/* lock bt is #UD. */
	static const u8 lock_bt[] = { 0xf0, 0x0f, 0xa3, 0x0b };
	fixture_load(mc, lock_bt, sizeof(lock_bt));
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(VEC_UD, c->exc.vector);
	fixture_free(mc);
}
