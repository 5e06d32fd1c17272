/* SPDX-License-Identifier: MIT */
/*
 * ADD..CMP, TEST, INC, DEC, NEG, NOT (exec_alu.c) and MUL, IMUL, DIV, IDIV
 * (exec_muldiv.c): every encoding form and operand size, with random
 * registers (AH..BH, REX byte registers, R8-R15) and edge values, checked
 * against the host CPU (exec_native.h), plus the cases the host cannot run
 * in-process: #DE, LOCK #UD, faults that must leave state untouched.
 */
#include "cpu/flags.h"
#include "exec_native.h"
#include "fixture.h"
#include "test.h"

#define STATES 60 // random states (and register choices) per form

static const unsigned sizes[] = { 1, 2, 4, 8 };

/* Immediate bytes of an Iz operand: 2 for 16-bit operands, else 4. */
static unsigned iz(unsigned sz)
{
	return sz == 2 ? 2 : 4;
}

/* Runs one random instance of "op r/m, reg" style form: opc with ModRM.reg = reg or /digit. */
static void check_form(struct machine *mc, const char *what, unsigned sz, const u8 *opc, unsigned opclen, int digit,
		       bool mem, bool lock, unsigned immlen, u64 undef)
{
	for (int k = 0; k < STATES && !test_failures(); k++) {
		struct xenc e = { .n = 0 };
		bool brex = sz == 1 && (xrand() & 1);
		unsigned reg = digit >= 0 ? (unsigned)digit : xpick_reg(sz, brex, mem);
		int rm = mem ? XMEM : (int)xpick_reg(sz, brex, false);
		xenc_modrm(&e, sz, lock, opc, opclen, reg, rm, brex, (s8)(xrand() % 33 - 16));
		xenc_imm(&e, xvalue(immlen ? immlen : 1), immlen);
		struct xstate s;
		xfill(&s);
		xcheck(mc, e.b, e.n, &s, mem ? RBX : XNO_MEM, undef, what);
	}
}

/* The accumulator short forms: opcode, then an immediate. */
static void check_acc(struct machine *mc, const char *what, unsigned sz, u8 opc, unsigned immlen, u64 undef)
{
	for (int k = 0; k < STATES && !test_failures(); k++) {
		struct xenc e = { .n = 0 };
		if (sz == 2)
			e.b[e.n++] = 0x66;
		if (sz == 8)
			e.b[e.n++] = 0x48;
		e.b[e.n++] = opc;
		xenc_imm(&e, xvalue(immlen), immlen);
		struct xstate s;
		xfill(&s);
		xcheck(mc, e.b, e.n, &s, XNO_MEM, undef, what);
	}
}

TEST(exec_alu, binary_ops_match_host)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	static const char *names[] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };
	for (unsigned op = 0; op < 8; op++) {
		for (unsigned z = 0; z < 4; z++) {
			unsigned sz = sizes[z], w = sz != 1;
			u8 eg = (u8)(op * 8 + w), ge = (u8)(op * 8 + 2 + w), grp = sz == 1 ? 0x80 : 0x81, i8 = 0x83;
			u64 un = op == 1 || op == 4 || op == 6 ? xundef(RFLAGS_AF) : 0; // AF after OR, AND, XOR
			for (int mem = 0; mem < 2; mem++) {
				bool lock = mem && op != 7 && (xrand() & 1);
				check_form(mc, names[op], sz, &eg, 1, -1, mem, lock, 0, un);
				check_form(mc, names[op], sz, &ge, 1, -1, mem, false, 0, un);
				check_form(mc, names[op], sz, &grp, 1, (int)op, mem, lock, sz == 1 ? 1 : iz(sz), un);
				if (sz != 1)
					check_form(mc, names[op], sz, &i8, 1, (int)op, mem, lock, 1, un);
			}
			check_acc(mc, names[op], sz, (u8)(op * 8 + 4 + w), sz == 1 ? 1 : iz(sz), un);
		}
	}
	fixture_free(mc);
}

TEST(exec_alu, test_and_unary_ops_match_host)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	static const char *unames[] = { "not", "neg" };
	for (unsigned z = 0; z < 4; z++) {
		unsigned sz = sizes[z], w = sz != 1;
		u8 test_eg = (u8)(0x84 + w), grp3 = (u8)(0xf6 + w), grp45 = (u8)(0xfe + w);
		for (int mem = 0; mem < 2; mem++) {
			bool lock = mem && (xrand() & 1);
			check_form(mc, "test", sz, &test_eg, 1, -1, mem, false, 0, xundef(RFLAGS_AF));
			check_form(mc, "test", sz, &grp3, 1, 0, mem, false, sz == 1 ? 1 : iz(sz), xundef(RFLAGS_AF));
			check_form(mc, "test/1", sz, &grp3, 1, 1, mem, false, sz == 1 ? 1 : iz(sz), xundef(RFLAGS_AF));
			for (int d = 2; d <= 3; d++)
				check_form(mc, unames[d - 2], sz, &grp3, 1, d, mem, lock, 0, 0);
			check_form(mc, "inc", sz, &grp45, 1, 0, mem, lock, 0, 0);
			check_form(mc, "dec", sz, &grp45, 1, 1, mem, lock, 0, 0);
		}
		check_acc(mc, "test acc", sz, (u8)(0xa8 + w), sz == 1 ? 1 : iz(sz), xundef(RFLAGS_AF));
	}
	fixture_free(mc);
}

/* Runs code from the fixture's current state and returns the step result. */
static int run1(struct machine *mc, const u8 *code, size_t len)
{
	fixture_load(mc, code, len);
	return fixture_step(mc, 1);
}

TEST(exec_alu, lock_without_memory_destination_is_ud)
{
	/* Zydis already refuses some of these; either way they must raise #UD, not run. */
	static const u8 codes[][4] = {
		{ 0xf0, 0x01, 0xc8 },       // lock add eax, ecx
		{ 0xf0, 0x39, 0x03 },       // lock cmp [rbx], eax
		{ 0xf0, 0x85, 0x03 },       // lock test [rbx], eax
		{ 0xf0, 0x03, 0x03 },       // lock add eax, [rbx]
		{ 0xf0, 0xff, 0xc0 },       // lock inc eax
		{ 0xf0, 0xf7, 0xd8 },       // lock neg eax
	};
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (size_t k = 0; k < ARRAY_SIZE(codes); k++) {
		c->r[RBX] = FIX_DATA;
		c->r[RAX] = 5;
		EXPECT_EQ(CPU_STOP_EXCEPTION, run1(mc, codes[k], 4));
		EXPECT_EQ(VEC_UD, c->exc.vector);
		EXPECT_EQ(5, c->r[RAX]);
	}
	fixture_free(mc);
}

TEST(exec_alu, lock_forms_are_atomic_and_cross_pages)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u8 *ram = fixture_ptr(mc, 0);
	/* lock add [rbx], rcx, with the operand inside a page and across a page end. */
	static const u8 add[] = { 0xf0, 0x48, 0x01, 0x0b };
	static const u64 at[] = { FIX_DATA + 8, FIX_DATA + 0xffc };
	for (size_t k = 0; k < 2; k++) {
		u64 v = 0xfffffffffffffff0ULL;
		memcpy(ram + at[k], &v, 8);
		c->r[RBX] = at[k];
		c->r[RCX] = 0x20;
		EXPECT_EQ(CPU_STOP_BUDGET, run1(mc, add, sizeof(add)));
		memcpy(&v, ram + at[k], 8);
		EXPECT_EQ(0x10, v);
		EXPECT_TRUE(flags_cf(c));
	}
	/* lock neg word [rbx] (the compare-exchange loop), lock sbb with carry in. */
	static const u8 neg[] = { 0xf0, 0x66, 0xf7, 0x1b };
	static const u8 sbb[] = { 0xf0, 0x19, 0x0b };
	u64 v = 5;
	memcpy(ram + FIX_DATA, &v, 8);
	c->r[RBX] = FIX_DATA;
	EXPECT_EQ(CPU_STOP_BUDGET, run1(mc, neg, sizeof(neg)));
	EXPECT_EQ(0xfffb, *(u16 *)(ram + FIX_DATA));
	flags_set(c, RFLAGS_CF);
	c->r[RCX] = 0xfffa;
	EXPECT_EQ(CPU_STOP_BUDGET, run1(mc, sbb, sizeof(sbb)));
	EXPECT_EQ(0, *(u32 *)(ram + FIX_DATA));
	EXPECT_TRUE(flags_get(c) & RFLAGS_ZF);
	fixture_free(mc);
}

TEST(exec_alu, memory_fault_changes_nothing)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	/*
	 * add [rbx], eax, lock inc [rbx] and add eax, [rbx] at an unmapped address: #PF, flags and
	 * registers kept; the read-modify-write forms report a write access (error code bit 1).
	 */
	static const u8 codes[][3] = { { 0x01, 0x03 }, { 0xf0, 0xff, 0x03 }, { 0x03, 0x03 } };
	static const u8 lens[] = { 2, 3, 2 }, write[] = { 2, 2, 0 };
	for (size_t k = 0; k < ARRAY_SIZE(codes); k++) {
		c->r[RBX] = 0x7000000000ULL;
		c->r[RAX] = 7;
		flags_set(c, RFLAGS_CF | RFLAGS_ZF);
		EXPECT_EQ(CPU_STOP_EXCEPTION, run1(mc, codes[k], lens[k]));
		EXPECT_EQ(VEC_PF, c->exc.vector);
		EXPECT_EQ(write[k], c->exc.error & 2);
		EXPECT_EQ(7, c->r[RAX]);
		EXPECT_EQ(RFLAGS_CF | RFLAGS_ZF | RFLAGS_FIXED1, flags_get(c));
		EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);
	}
	fixture_free(mc);
}

TEST(exec_alu, inc_dec_keep_carry_through_lazy_chain)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	/* stc-free: add sets CF, inc and dec keep it, adc consumes it. */
	static const u8 code[] = {
		0x48, 0x01, 0xc8, // add rax, rcx   (CF = 1)
		0xff, 0xc2,       // inc edx
		0xff, 0xca,       // dec edx
		0x48, 0x11, 0xd3, // adc rbx, rdx
	};
	c->r[RAX] = ~0ULL;
	c->r[RCX] = 2;
	c->r[RDX] = 0x7fffffff;
	c->r[RBX] = 10;
	fixture_load(mc, code, sizeof(code));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 4));
	EXPECT_EQ(1, c->r[RAX]);
	EXPECT_EQ(0x7fffffff, c->r[RDX]);
	EXPECT_EQ(10 + 0x7fffffffULL + 1, c->r[RBX]);
	fixture_free(mc);
}

TEST(exec_alu, mul_imul_match_host)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	static const u8 imul2[] = { 0x0f, 0xaf }, imul3 = 0x69, imul3b = 0x6b;
	u64 un = xundef(RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF);
	for (unsigned z = 0; z < 4; z++) {
		unsigned sz = sizes[z];
		u8 grp3 = sz == 1 ? 0xf6 : 0xf7;
		for (int mem = 0; mem < 2; mem++) {
			check_form(mc, "mul", sz, &grp3, 1, 4, mem, false, 0, un);
			check_form(mc, "imul", sz, &grp3, 1, 5, mem, false, 0, un);
			if (sz == 1)
				continue;
			check_form(mc, "imul2", sz, imul2, 2, -1, mem, false, 0, un);
			check_form(mc, "imul3", sz, &imul3, 1, -1, mem, false, iz(sz), un);
			check_form(mc, "imul3b", sz, &imul3b, 1, -1, mem, false, 1, un);
		}
	}
	fixture_free(mc);
}

/* Reads a register operand of size sz from a state the way the CPU does (AH..BH without REX). */
static u64 state_reg(const struct xstate *s, unsigned r, unsigned sz, bool brex)
{
	if (sz == 1 && !brex && r >= 4 && r < 8)
		return (s->r[r - 4] >> 8) & 0xff;
	return s->r[r] & size_mask(sz);
}

/* Whether DIV (sign false) or IDIV of the state's rDX:rAX by d raises #DE, computed independently. */
static bool div_faults(const struct xstate *s, unsigned sz, u64 d, bool sign)
{
	unsigned bits = sz * 8;
	u128 n = sz == 1 ? (u16)s->r[RAX]
			 : ((u128)(s->r[RDX] & size_mask(sz)) << bits) | (s->r[RAX] & size_mask(sz));
	if (!sign)
		return d == 0 || n / d > size_mask(sz);
	s128 sn = (s128)(n << (128 - 2 * bits)) >> (128 - 2 * bits);
	s128 sd = size_sext(d, sz), lim = (s128)1 << (bits - 1);
	s128 nmin = -(s128)(((u128)1 << (2 * bits - 1)) - 1) - 1;
	if (sd == 0 || (sd == -1 && sn == nmin))
		return true;
	s128 q = sn / sd;
	return q >= lim || q < -lim;
}

/* DIV and IDIV: states biased toward quotients that fit, run on the host only when they do. */
static void check_div(struct machine *mc, unsigned sz, unsigned digit, bool mem)
{
	u8 opc = sz == 1 ? 0xf6 : 0xf7;
	unsigned faults = 0, ok = 0;
	for (int k = 0; k < 3 * STATES && !test_failures(); k++) {
		struct xenc e = { .n = 0 };
		bool brex = sz == 1 && (xrand() & 1);
		int rm = mem ? XMEM : (int)xpick_reg(sz, brex, false);
		s8 disp = (s8)(xrand() % 33 - 16);
		xenc_modrm(&e, sz, false, &opc, 1, digit, rm, brex, disp);
		struct xstate s;
		xfill(&s);
		if (xrand() % 4) { // a dividend that is the extension of rAX: mostly fits
			u64 lo = s.r[RAX] & size_mask(sz);
			u64 hi = digit == 7 && size_sext(lo, sz) < 0 ? ~0ULL : 0;
			if (sz == 1)
				s.r[RAX] = (s.r[RAX] & ~0xffffULL) | ((hi & 0xff) << 8) | lo;
			else
				s.r[RDX] = hi;
		}
		u64 d;
		if (mem)
			memcpy(&d, s.mem + XSTATE_MEM_OFF + disp, 8), d &= size_mask(sz);
		else
			d = state_reg(&s, (unsigned)rm, sz, brex);
		if (!div_faults(&s, sz, d, digit == 7)) {
			ok++;
			xcheck(mc, e.b, e.n, &s, mem ? RBX : XNO_MEM, xundef(RFLAGS_ARITH), digit == 7 ? "idiv" : "div");
			continue;
		}
		faults++;
		struct xstate f = s;
		EXPECT_EQ(CPU_STOP_EXCEPTION, xfacet(mc, e.b, e.n, &f, mem ? RBX : XNO_MEM));
		EXPECT_EQ(VEC_DE, fixture_cpu(mc)->exc.vector);
		EXPECT_EQ(s.r[RAX], f.r[RAX]);
		EXPECT_EQ(s.r[RDX], f.r[RDX]);
		EXPECT_EQ(s.rflags, f.rflags);
	}
	EXPECT_TRUE(ok > STATES);
	EXPECT_TRUE(faults > 0);
}

TEST(exec_alu, div_idiv_match_host_and_raise_de)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	for (unsigned z = 0; z < 4; z++)
		for (int mem = 0; mem < 2; mem++) {
			check_div(mc, sizes[z], 6, mem);
			check_div(mc, sizes[z], 7, mem);
		}
	fixture_free(mc);
}

TEST(exec_alu, idiv_most_negative_dividend)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	static const u8 idiv_rcx[] = { 0x48, 0xf7, 0xf9 }; // idiv rcx
	/* -2^127 / -1 overflows (#DE); -2^63 / -1 as a 128-bit dividend is 2^63: also #DE. */
	c->r[RDX] = 0x8000000000000000ULL, c->r[RAX] = 0, c->r[RCX] = ~0ULL;
	fixture_load(mc, idiv_rcx, sizeof(idiv_rcx));
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(VEC_DE, c->exc.vector);
	c->r[RDX] = ~0ULL, c->r[RAX] = 0x8000000000000000ULL;
	fixture_load(mc, idiv_rcx, sizeof(idiv_rcx));
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	/* A dividend wider than 64 bits whose quotient still fits: 2^64 / -4 = -2^62, the slow path. */
	c->r[RDX] = 1, c->r[RAX] = 0, c->r[RCX] = (u64)-4;
	fixture_load(mc, idiv_rcx, sizeof(idiv_rcx));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0xc000000000000000ULL, c->r[RAX]);
	EXPECT_EQ(0, c->r[RDX]);
	fixture_free(mc);
}
