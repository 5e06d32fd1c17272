/* SPDX-License-Identifier: MIT */
/*
 * SHL/SAL SHR SAR ROL ROR RCL RCR (by 1, CL, imm8) and SHLD SHRD (imm8,
 * CL) in every size, register and memory destination, checked against
 * the host CPU (exec_native.h) with counts around 0, 1, the width and
 * past it, including the undefined-flag cases, which Facet matches to
 * the AMD hosts it runs on.
 */
#include "cpu/flags.h"
#include "exec_native.h"
#include "fixture.h"
#include "test.h"

#define STATES 80

static const unsigned sizes[] = { 1, 2, 4, 8 };

/* A count that is often an edge for operand size sz (before the CPU masks it). */
static u8 edge_count(unsigned sz)
{
	unsigned bits = sz * 8;
	static const int deltas[] = { 0, 1, -1, 2 };
	switch (xrand() % 6) {
	case 0: return 0;
	case 1: return 1;
	case 2: return (u8)(bits + deltas[xrand() % 4]);
	case 3: return (u8)(xrand() % 64);
	case 4: return (u8)(bits * 2 + deltas[xrand() % 4]); // masked counts past the width
	default: return (u8)xrand();
	}
}

/* by: 0 = by 1 (D0/D1), 1 = by CL (D2/D3), 2 = by imm8 (C0/C1). */
static void check_shift(struct machine *mc, const char *what, unsigned sz, unsigned digit, int by, bool mem)
{
	static const u8 base[] = { 0xd0, 0xd2, 0xc0 };
	u8 opc = (u8)(base[by] + (sz != 1));
	for (int k = 0; k < STATES && !test_failures(); k++) {
		struct xenc e = { .n = 0 };
		bool brex = sz == 1 && (xrand() & 1);
		int rm = mem ? XMEM : (int)xpick_reg(sz, brex, false);
		xenc_modrm(&e, sz, false, &opc, 1, digit, rm, brex, (s8)(xrand() % 33 - 16));
		if (by == 2)
			xenc_imm(&e, edge_count(sz), 1);
		struct xstate s;
		xfill(&s);
		if (by == 1 && xrand() % 4)
			s.r[RCX] = (s.r[RCX] & ~0xffULL) | edge_count(sz);
		/* Off AMD: OF past count 1, AF, and CF of SHL/SHR past the width of byte and word operands. */
		u64 un = digit < 4 ? RFLAGS_OF : RFLAGS_OF | RFLAGS_AF | (sz <= 2 ? RFLAGS_CF : 0);
		xcheck(mc, e.b, e.n, &s, mem ? RBX : XNO_MEM, xundef(un), what);
	}
}

TEST(exec_shift, shifts_and_rotates_match_host)
{
	static const char *names[] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar" };
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	for (unsigned digit = 0; digit < 8; digit++)
		for (unsigned z = 0; z < 4; z++)
			for (int by = 0; by < 3; by++)
				for (int mem = 0; mem < 2; mem++)
					check_shift(mc, names[digit], sizes[z], digit, by, mem);
	fixture_free(mc);
}

static void check_shd(struct machine *mc, const char *what, unsigned sz, u8 op2, bool mem)
{
	bool by_cl = op2 & 1;
	u8 opc[2] = { 0x0f, op2 };
	for (int k = 0; k < STATES && !test_failures(); k++) {
		struct xenc e = { .n = 0 };
		unsigned reg = xpick_reg(sz, false, mem);
		int rm = mem ? XMEM : (int)xpick_reg(sz, false, false);
		xenc_modrm(&e, sz, false, opc, 2, reg, rm, false, (s8)(xrand() % 33 - 16));
		/* Word counts past 16 leave the result undefined: only AMD's choice is reproduced. */
		u8 cmask = sz == 2 && !xhost_amd() ? 15 : 0xff;
		if (!by_cl)
			xenc_imm(&e, edge_count(sz) & cmask, 1);
		struct xstate s;
		xfill(&s);
		if (by_cl && xrand() % 4)
			s.r[RCX] = (s.r[RCX] & ~0xffULL) | edge_count(sz);
		if (by_cl)
			s.r[RCX] &= ~0xffULL | cmask;
		xcheck(mc, e.b, e.n, &s, mem ? RBX : XNO_MEM, xundef(RFLAGS_OF | RFLAGS_AF), what);
	}
}

TEST(exec_shift, shld_shrd_match_host)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	for (unsigned z = 1; z < 4; z++)
		for (int mem = 0; mem < 2; mem++) {
			check_shd(mc, "shld imm", sizes[z], 0xa4, mem);
			check_shd(mc, "shld cl", sizes[z], 0xa5, mem);
			check_shd(mc, "shrd imm", sizes[z], 0xac, mem);
			check_shd(mc, "shrd cl", sizes[z], 0xad, mem);
		}
	fixture_free(mc);
}

TEST(exec_shift, count_zero_keeps_flags_and_zero_extends)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	static const u8 shl_eax_cl[] = { 0xd3, 0xe0 };
	c->r[RAX] = 0x123456789abcdef0ULL;
	c->r[RCX] = 0x20; // masked to 0
	flags_set(c, RFLAGS_CF | RFLAGS_OF | RFLAGS_ZF);
	fixture_load(mc, shl_eax_cl, sizeof(shl_eax_cl));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x9abcdef0ULL, c->r[RAX]);
	EXPECT_EQ(RFLAGS_CF | RFLAGS_OF | RFLAGS_ZF | RFLAGS_FIXED1, flags_get(c));
	fixture_free(mc);
}

TEST(exec_shift, lock_is_ud)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	static const u8 lock_shl[] = { 0xf0, 0xd1, 0x23 }; // lock shl dword [rbx], 1
	c->r[RBX] = FIX_DATA;
	fixture_load(mc, lock_shl, sizeof(lock_shl));
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(VEC_UD, c->exc.vector);
	fixture_free(mc);
}
