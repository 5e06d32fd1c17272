/* SPDX-License-Identifier: MIT */
/*
 * Data movement, stack and exchange instructions (exec_mov.c,
 * exec_stack.c, exec_atomic.c). Register and [RBX+disp8] forms of every
 * size are run against the host (exec_native.h) from random states; what
 * the host cannot run in-process (absolute and RIP-relative addresses, FS
 * bases, the stack, POPF, ENTER) and the fault cases are checked against
 * values worked out by hand from the SDM pages.
 */
#include "cpu/flags.h"
#include "exec_native.h"
#include "fixture.h"
#include "test.h"

#define STATES 40 // random states per form

static const unsigned sizes[] = { 1, 2, 4, 8 };

/* A register for a random operand: never RSP/SPL/AH (slot 4), nor RBX/BH when RBX addresses memory. */
static unsigned pick(bool mem)
{
	for (;;) {
		unsigned r = (unsigned)(xrand() % 16);
		if (r != 4 && !(mem && (r == RBX || r == 7)))
			return r;
	}
}

/*
 * Checks STATES random instances of opc with ModRM: reg field `reg` (or a
 * random register when reg < 0), r/m a random register or [RBX+disp8],
 * followed by an immediate of immlen bytes.
 */
static void check_modrm(struct machine *mc, const char *what, unsigned sz, const u8 *opc, unsigned opclen, int reg,
			bool mem, bool lock, unsigned immlen)
{
	for (int k = 0; k < STATES && !test_failures(); k++) {
		struct xenc e = { .n = 0 };
		unsigned rg = reg >= 0 ? (unsigned)reg : pick(mem);
		int rm = mem ? XMEM : (int)pick(false);
		xenc_modrm(&e, sz, lock, opc, opclen, rg, rm, sz == 1 && (xrand() & 1), (s8)(xrand() % 33 - 16));
		xenc_imm(&e, xvalue(immlen ? immlen : 1), immlen);
		struct xstate s;
		xfill(&s);
		xcheck(mc, e.b, e.n, &s, mem ? RBX : XNO_MEM, 0, what);
	}
}

/* Checks an instruction given as bytes from STATES random states (no memory operand). */
static void check_bytes(struct machine *mc, const char *what, const u8 *code, size_t len, u64 undef)
{
	for (int k = 0; k < STATES && !test_failures(); k++) {
		struct xstate s;
		xfill(&s);
		xcheck(mc, code, len, &s, XNO_MEM, undef, what);
	}
}

/* Loads code and single-steps it; returns the step's enum cpu_stop. */
static int run1(struct machine *mc, const u8 *code, size_t len)
{
	fixture_load(mc, code, len);
	return fixture_step(mc, 1);
}
#define RUN(mc, ...) run1(mc, (const u8[]){ __VA_ARGS__ }, sizeof((const u8[]){ __VA_ARGS__ }))

static u64 rd64(struct machine *mc, u64 gpa)
{
	u64 v;
	memcpy(&v, fixture_ptr(mc, gpa), 8);
	return v;
}

static void wr64(struct machine *mc, u64 gpa, u64 v)
{
	memcpy(fixture_ptr(mc, gpa), &v, 8);
}

#define UNMAPPED 0x7000000000ULL // outside the fixture's identity map: #PF

TEST(exec_mov, mov_forms_match_host)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	for (unsigned z = 0; z < 4; z++) {
		unsigned sz = sizes[z], w = sz != 1;
		u8 mr = (u8)(0x88 + w), rm = (u8)(0x8a + w), mi = (u8)(0xc6 + w);
		for (int mem = 0; mem < 2; mem++) {
			check_modrm(mc, "mov Ev,Gv", sz, &mr, 1, -1, mem, false, 0);
			check_modrm(mc, "mov Gv,Ev", sz, &rm, 1, -1, mem, false, 0);
			check_modrm(mc, "mov Ev,Iz", sz, &mi, 1, 0, mem, false, sz == 1 ? 1 : sz == 2 ? 2 : 4);
		}
		/* B0+r / B8+r, with REX.W the 64-bit immediate (movabs). */
		for (unsigned r = 0; r < 16; r++) {
			if (r == RSP)
				continue;
			struct xenc e = { .n = 0 };
			if (sz == 2)
				e.b[e.n++] = 0x66;
			if (sz == 8 || r >= 8)
				e.b[e.n++] = (u8)(0x40 | (sz == 8 ? 8 : 0) | (r >= 8));
			e.b[e.n++] = (u8)((sz == 1 ? 0xb0 : 0xb8) + (r & 7));
			xenc_imm(&e, xrand(), sz);
			check_bytes(mc, "mov Zv,Iv", e.b, e.n, 0);
		}
	}
	fixture_free(mc);
}

TEST(exec_mov, extensions_match_host)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	static const u8 ops[][2] = { { 0x0f, 0xb6 }, { 0x0f, 0xb7 }, { 0x0f, 0xbe }, { 0x0f, 0xbf } };
	static const char *names[] = { "movzx Gv,Eb", "movzx Gv,Ew", "movsx Gv,Eb", "movsx Gv,Ew" };
	for (unsigned o = 0; o < 4; o++)
		for (unsigned z = 1; z < 4; z++)
			for (int mem = 0; mem < 2; mem++)
				check_modrm(mc, names[o], sizes[z], ops[o], 2, -1, mem, false, 0);
	static const u8 movsxd = 0x63;
	for (unsigned z = 1; z < 4; z++)
		for (int mem = 0; mem < 2; mem++)
			check_modrm(mc, "movsxd", sizes[z], &movsxd, 1, -1, mem, false, 0);
	fixture_free(mc);
}

TEST(exec_mov, cmovcc_and_setcc_match_host)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	for (unsigned cc = 0; cc < 16; cc++) {
		u8 cmov[2] = { 0x0f, (u8)(0x40 | cc) }, set[2] = { 0x0f, (u8)(0x90 | cc) };
		for (int mem = 0; mem < 2; mem++) {
			for (unsigned z = 1; z < 4; z++)
				check_modrm(mc, "cmovcc", sizes[z], cmov, 2, -1, mem, false, 0);
			check_modrm(mc, "setcc", 1, set, 2, 0, mem, false, 0);
		}
	}
	fixture_free(mc);
}

TEST(exec_mov, cmov_false_zero_extends_and_still_reads)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[RAX] = 0xdeadbeef12345678ULL;
	c->r[RCX] = 0x1111111122222222ULL;
	flags_set(c, 0); // ZF = 0: cmovz does not move
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x0f, 0x44, 0xc1)); // cmovz eax, ecx
	EXPECT_EQ(0x12345678, c->r[RAX]);
	c->r[RAX] = 0xdeadbeef12345678ULL;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0x0f, 0x44, 0xc1)); // cmovz ax, cx: nothing
	EXPECT_EQ(0xdeadbeef12345678ULL, c->r[RAX]);
	c->r[RBX] = UNMAPPED;
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0x48, 0x0f, 0x44, 0x03)); // cmovz rax, [rbx]
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(0xdeadbeef12345678ULL, c->r[RAX]);
	fixture_free(mc);
}

TEST(exec_mov, xchg_bswap_cbw_match_host)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	for (unsigned z = 0; z < 4; z++) {
		u8 op = (u8)(0x86 + (sizes[z] != 1));
		for (int mem = 0; mem < 2; mem++)
			check_modrm(mc, "xchg", sizes[z], &op, 1, -1, mem, mem && (xrand() & 1), 0);
	}
	for (unsigned z = 1; z < 4; z++) {
		for (unsigned r = 0; r < 16; r++) {
			u8 rex = (u8)((sizes[z] == 8 ? 8 : 0) | (r >= 8));
			u8 code[4], n = 0;
			if (r == RSP)
				continue;
			if (sizes[z] == 2)
				code[n++] = 0x66;
			if (rex)
				code[n++] = 0x40 | rex;
			code[n++] = (u8)(0x90 + (r & 7));
			if (r != 0)
				check_bytes(mc, "xchg rAX,Zv", code, n, 0);
			u8 bs[5] = { 0 }, m = 0;
			if (sizes[z] == 2)
				bs[m++] = 0x66;
			if (rex)
				bs[m++] = 0x40 | rex;
			bs[m++] = 0x0f;
			bs[m++] = (u8)(0xc8 + (r & 7));
			check_bytes(mc, "bswap", bs, m, 0);
		}
	}
	static const u8 acc[][2] = { { 0x66, 0x98 }, { 0x98 }, { 0x48, 0x98 }, { 0x66, 0x99 }, { 0x99 }, { 0x48, 0x99 } };
	static const u8 acclen[] = { 2, 1, 2, 2, 1, 2 };
	for (unsigned k = 0; k < 6; k++)
		check_bytes(mc, "cbw/cwd family", acc[k], acclen[k], 0);
	check_bytes(mc, "xchg eax,eax", (const u8[]){ 0x87, 0xc0 }, 2, 0);
	fixture_free(mc);
}

TEST(exec_mov, lea_matches_host)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	for (int k = 0; k < 400 && !test_failures(); k++) {
		unsigned sz = sizes[1 + xrand() % 3], dst = pick(false), base = pick(false), index = pick(false);
		bool a32 = xrand() & 1;
		u8 code[12], n = 0;
		if (index == 12)
			continue; // REX.X with index 100b is R12: fine, but keep the encoder simple
		if (a32)
			code[n++] = 0x67;
		if (sz == 2)
			code[n++] = 0x66;
		unsigned form = (unsigned)(xrand() % 3);
		u8 rex = (u8)((sz == 8 ? 8 : 0) | (dst >= 8 ? 4 : 0) | (index >= 8 ? 2 : 0) | (base >= 8 ? 1 : 0));
		if (rex)
			code[n++] = 0x40 | rex;
		code[n++] = 0x8d;
		switch (form) {
		case 0: // [base + index*scale + disp8]
			code[n++] = (u8)(0x44 | (dst & 7) << 3);
			code[n++] = (u8)((xrand() % 4) << 6 | (index & 7) << 3 | (base & 7));
			code[n++] = (u8)xrand();
			break;
		case 1: // [base + disp32]
			code[n++] = (u8)(0x80 | (dst & 7) << 3 | (base & 7));
			if ((base & 7) == 4)
				code[n++] = 0x24;
			for (int b = 0; b < 4; b++)
				code[n++] = (u8)xrand();
			break;
		default: // [index*scale + disp32], no base
			code[n++] = (u8)(0x04 | (dst & 7) << 3);
			code[n++] = (u8)((xrand() % 4) << 6 | (index & 7) << 3 | 5);
			for (int b = 0; b < 4; b++)
				code[n++] = (u8)xrand();
			break;
		}
		check_bytes(mc, "lea", code, n, 0);
	}
	fixture_free(mc);
}

TEST(exec_mov, lea_ignores_segment_and_uses_rip)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->seg_base[SEG_FS] = 0x100000;
	c->r[RBX] = 0x10;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x64, 0x48, 0x8d, 0x43, 0x08)); // lea rax, fs:[rbx+8]
	EXPECT_EQ(0x18, c->r[RAX]);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x48, 0x8d, 0x05, 0x10, 0x00, 0x00, 0x00)); // lea rax, [rip+0x10]
	EXPECT_EQ(FIX_CODE + 7 + 0x10, c->r[RAX]);
	c->r[RBX] = 0xfffffffffffffff0ULL;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x67, 0x48, 0x8d, 0x43, 0x20)); // lea rax, [ebx+0x20]
	EXPECT_EQ(0x10, c->r[RAX]);
	fixture_free(mc);
}

TEST(exec_mov, absolute_rip_relative_and_fs_addresses)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	wr64(mc, FIX_DATA, 0x8877665544332211ULL);
	/* mov rax, [moffs64] and mov [moffs64], eax (A1/A3 with a 64-bit address). */
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x48, 0xa1, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00));
	EXPECT_EQ(0x8877665544332211ULL, c->r[RAX]);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xa0, 0x01, 0x00, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00)); // mov al, [FIX_DATA+1]
	EXPECT_EQ(0x8877665544332222ULL, c->r[RAX]);
	c->r[RAX] = 0xaabbccdd;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xa3, 0x08, 0x00, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00)); // mov [FIX_DATA+8], eax
	EXPECT_EQ(0xaabbccdd, rd64(mc, FIX_DATA + 8));
	/* 67h moffs: a 32-bit address. */
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x67, 0x66, 0xa1, 0x00, 0x00, 0x30, 0x00)); // mov ax, [0x300000]
	EXPECT_EQ(0xaabb2211, c->r[RAX]);
	/* mov rcx, [rip + d]: the displacement counts from the next instruction. */
	u64 rip_target = FIX_CODE + 7 + 0x100;
	wr64(mc, rip_target, 0x0123456789abcdefULL);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x48, 0x8b, 0x0d, 0x00, 0x01, 0x00, 0x00));
	EXPECT_EQ(0x0123456789abcdefULL, c->r[RCX]);
	/* mov fs:[rbx], ah and mov gs:[8], ecx (no base, disp32 via SIB) add the segment bases. */
	c->seg_base[SEG_FS] = FIX_DATA;
	c->seg_base[SEG_GS] = FIX_DATA + 0x40;
	c->r[RBX] = 0x20;
	c->r[RAX] = 0x7f00;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x64, 0x88, 0x23));
	EXPECT_EQ(0x7f, *(u8 *)fixture_ptr(mc, FIX_DATA + 0x20));
	c->r[RCX] = 0xfeedface;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x65, 0x89, 0x0c, 0x25, 0x08, 0x00, 0x00, 0x00));
	EXPECT_EQ(0xfeedface, rd64(mc, FIX_DATA + 0x48));
	/* xlat with an FS override and under 67h (EBX + AL wraps at 4 GiB). */
	c->seg_base[SEG_FS] = FIX_DATA;
	*(u8 *)fixture_ptr(mc, FIX_DATA + 0x105) = 0x9c;
	c->r[RBX] = 0x100, c->r[RAX] = 0x1205;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x64, 0xd7));
	EXPECT_EQ(0x129c, c->r[RAX]);
	c->r[RBX] = 0xffffffff00000000ULL | (FIX_DATA + 0x100), c->r[RAX] = 0x05;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x67, 0xd7));
	EXPECT_EQ(0x9c, c->r[RAX]);
	/* 67 41 8a 0c 25 disp32: mov cl, [disp32] (SIB base 101, mod 00: REX.B does not make it r13d). */
	c->r[R13] = 0;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x67, 0x41, 0x8a, 0x0c, 0x25, 0x05, 0x01, 0x30, 0x00));
	EXPECT_EQ(0x9c, c->r[RCX] & 0xff);
	EXPECT_EQ(FIX_CODE + 9, c->r[REG_RIP]);
	/* movabs rdx, imm64; mov byte [rbx], imm8 with a REX byte register store. */
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x48, 0xba, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01));
	EXPECT_EQ(0x0123456789abcdefULL, c->r[RDX]);
	c->r[RSI] = 0x1234;
	c->r[RBX] = FIX_DATA + 0x30;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x40, 0x88, 0x33)); // mov [rbx], sil
	EXPECT_EQ(0x34, *(u8 *)fixture_ptr(mc, FIX_DATA + 0x30));
	fixture_free(mc);
}

TEST(exec_mov, flag_instructions)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	static const u8 ops[][1] = { { 0x9f }, { 0x9e }, { 0xf8 }, { 0xf9 }, { 0xf5 } };
	static const char *names[] = { "lahf", "sahf", "clc", "stc", "cmc" };
	for (unsigned k = 0; k < 5; k++)
		check_bytes(mc, names[k], ops[k], 1, 0);
	/* LAHF after a lazy CMP: AH = SF ZF 0 AF 0 PF 1 CF. */
	c->r[RAX] = 0;
	lf_set(c, LF_SUB, 4, 1, 2, (u64)1 - 2); // CF SF AF PF set, ZF clear
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x9f));
	EXPECT_EQ(0x97, (c->r[RAX] >> 8) & 0xff);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xfd)); // std
	EXPECT_TRUE(c->rflags & RFLAGS_DF);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xfc)); // cld
	EXPECT_TRUE(!(c->rflags & RFLAGS_DF));
	/* SAHF leaves OF alone. */
	flags_set(c, RFLAGS_OF);
	c->r[RAX] = 0xff00;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x9e));
	EXPECT_EQ(RFLAGS_OF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF | RFLAGS_CF | RFLAGS_FIXED1, flags_get(c));
	fixture_free(mc);
}

TEST(exec_mov, movbe)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	wr64(mc, FIX_DATA, 0x0807060504030201ULL);
	c->r[RBX] = FIX_DATA;
	c->r[RAX] = 0xffffffffffffffffULL;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x0f, 0x38, 0xf0, 0x03)); // movbe eax, [rbx]
	EXPECT_EQ(0x01020304, c->r[RAX]);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0x0f, 0x38, 0xf0, 0x0b)); // movbe cx, [rbx]
	EXPECT_EQ(0x0102, c->r[RCX] & 0xffff);
	c->r[RDX] = 0x1122334455667788ULL;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x48, 0x0f, 0x38, 0xf1, 0x13)); // movbe [rbx], rdx
	EXPECT_EQ(0x8877665544332211ULL, rd64(mc, FIX_DATA));
	fixture_free(mc);
}

TEST(exec_mov, exchanges_match_host)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	for (unsigned z = 0; z < 4; z++) {
		unsigned sz = sizes[z], w = sz != 1;
		u8 xadd[2] = { 0x0f, (u8)(0xc0 + w) }, cmpxchg[2] = { 0x0f, (u8)(0xb0 + w) };
		for (int mem = 0; mem < 2; mem++) {
			for (int lock = 0; lock <= mem; lock++) {
				check_modrm(mc, "xadd", sz, xadd, 2, -1, mem, lock, 0);
				check_modrm(mc, "cmpxchg", sz, cmpxchg, 2, -1, mem, lock, 0);
			}
		}
	}
	/*
	 * cmpxchg8b [rbx+d] that fails (random EDX:EAX): a success would store EBX, the memory
	 * base, which differs between host and Facet; exchanges_across_pages checks that side.
	 */
	for (int k = 0; k < 200 && !test_failures(); k++) {
		struct xenc e = { .n = 0 };
		s8 d = (s8)(xrand() % 33 - 16);
		xenc_modrm(&e, 4, xrand() & 1, (const u8[]){ 0x0f, 0xc7 }, 2, 1, XMEM, false, d);
		struct xstate s;
		xfill(&s);
		u64 m;
		memcpy(&m, s.mem + XSTATE_MEM_OFF + d, 8);
		if ((u32)s.r[RAX] == (u32)m && (u32)s.r[RDX] == (u32)(m >> 32))
			s.r[RAX] ^= 1;
		xcheck(mc, e.b, e.n, &s, RBX, 0, "cmpxchg8b");
	}
	fixture_free(mc);
}

TEST(exec_mov, exchanges_across_pages_and_misaligned)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	static const u64 at[] = { FIX_DATA + 0xffc, FIX_DATA + 0x101 };
	for (unsigned k = 0; k < 2; k++) {
		c->r[RBX] = at[k];
		wr64(mc, at[k], 100);
		c->r[RCX] = 5;
		EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf0, 0x48, 0x0f, 0xc1, 0x0b)); // lock xadd [rbx], rcx
		EXPECT_EQ(105, rd64(mc, at[k]));
		EXPECT_EQ(100, c->r[RCX]);
		c->r[RAX] = 105;
		c->r[RDX] = 7;
		EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf0, 0x48, 0x0f, 0xb1, 0x13)); // lock cmpxchg [rbx], rdx
		EXPECT_EQ(7, rd64(mc, at[k]));
		EXPECT_TRUE(flags_get(c) & RFLAGS_ZF);
		c->r[RAX] = 1;
		EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf0, 0x48, 0x0f, 0xb1, 0x13)); // fails: rax := 7
		EXPECT_EQ(7, c->r[RAX]);
		EXPECT_TRUE(!(flags_get(c) & RFLAGS_ZF));
		c->r[RSI] = 9;
		EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x48, 0x87, 0x33)); // xchg [rbx], rsi
		EXPECT_EQ(9, rd64(mc, at[k]));
		EXPECT_EQ(7, c->r[RSI]);
		c->r[RAX] = 9, c->r[RDX] = 0, c->r[RCX] = 0xcccc, c->r[RBX] = 0xbbbb, c->r[RDI] = at[k];
		EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf0, 0x0f, 0xc7, 0x0f)); // lock cmpxchg8b [rdi]
		EXPECT_EQ(0x0000cccc0000bbbbULL, rd64(mc, at[k]));
	}
	fixture_free(mc);
}

TEST(exec_mov, cmpxchg16b)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	wr64(mc, FIX_DATA + 0x10, 1);
	wr64(mc, FIX_DATA + 0x18, 2);
	c->r[RSI] = FIX_DATA + 0x10;
	c->r[RAX] = 1, c->r[RDX] = 3, c->r[RBX] = 0xb, c->r[RCX] = 0xc;
	flags_set(c, RFLAGS_CF | RFLAGS_ZF);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf0, 0x48, 0x0f, 0xc7, 0x0e)); // mismatch: RDX:RAX := m128
	EXPECT_EQ(1, c->r[RAX]);
	EXPECT_EQ(2, c->r[RDX]);
	EXPECT_EQ(RFLAGS_CF | RFLAGS_FIXED1, flags_get(c));
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf0, 0x48, 0x0f, 0xc7, 0x0e)); // match: m128 := RCX:RBX
	EXPECT_EQ(0xb, rd64(mc, FIX_DATA + 0x10));
	EXPECT_EQ(0xc, rd64(mc, FIX_DATA + 0x18));
	EXPECT_EQ(RFLAGS_CF | RFLAGS_ZF | RFLAGS_FIXED1, flags_get(c));
	c->r[RSI] = FIX_DATA + 0x18;
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0x48, 0x0f, 0xc7, 0x0e)); // misaligned: #GP(0)
	EXPECT_EQ(VEC_GP, c->exc.vector);
	EXPECT_EQ(0, c->exc.error);
	fixture_free(mc);
}

TEST(exec_mov, lock_on_register_or_plain_forms_is_ud)
{
	static const u8 codes[][5] = {
		{ 0xf0, 0x0f, 0xc1, 0xc8 }, // lock xadd eax, ecx
		{ 0xf0, 0x0f, 0xb1, 0xc8 }, // lock cmpxchg eax, ecx
		{ 0xf0, 0x87, 0xc8 },       // lock xchg eax, ecx
		{ 0xf0, 0x89, 0x03 },       // lock mov [rbx], eax
		{ 0xf0, 0x0f, 0x44, 0x03 }, // lock cmovz eax, [rbx]
		{ 0xf0, 0x8d, 0x03 },       // lock lea eax, [rbx]
		{ 0xf0, 0xff, 0x33 },       // lock push [rbx]
		{ 0xf0, 0xa4 },             // lock movsb
	};
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (size_t k = 0; k < ARRAY_SIZE(codes); k++) {
		c->r[RBX] = FIX_DATA;
		c->r[RAX] = 5;
		EXPECT_EQ(CPU_STOP_EXCEPTION, run1(mc, codes[k], 5));
		EXPECT_EQ(VEC_UD, c->exc.vector);
		EXPECT_EQ(5, c->r[RAX]);
		EXPECT_EQ(FIX_STACK, c->r[RSP]);
	}
	fixture_free(mc);
}

TEST(exec_mov, push_and_pop)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[R12] = 0x1122334455667788ULL;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x41, 0x54)); // push r12
	EXPECT_EQ(FIX_STACK - 8, c->r[RSP]);
	EXPECT_EQ(0x1122334455667788ULL, rd64(mc, FIX_STACK - 8));
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0x41, 0x5d)); // pop r13w: low 16 only
	EXPECT_EQ(FIX_STACK - 6, c->r[RSP]);
	EXPECT_EQ(0x7788, c->r[R13]);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x6a, 0x80)); // push -128 (imm8, sign-extended)
	EXPECT_EQ(0xffffffffffffff80ULL, rd64(mc, FIX_STACK - 14));
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0x68, 0x34, 0x12)); // push word 0x1234
	EXPECT_EQ(FIX_STACK - 16, c->r[RSP]);
	EXPECT_EQ(0x1234, *(u16 *)fixture_ptr(mc, FIX_STACK - 16));
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x68, 0x00, 0x00, 0x00, 0x80)); // push imm32 -> sign-extended
	EXPECT_EQ(0xffffffff80000000ULL, rd64(mc, FIX_STACK - 24));
	/* push rsp stores the old value; pop rsp loads the popped value. */
	c->r[RSP] = FIX_STACK;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x54));
	EXPECT_EQ(FIX_STACK, rd64(mc, FIX_STACK - 8));
	wr64(mc, FIX_STACK - 8, 0x1230);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x5c));
	EXPECT_EQ(0x1230, c->r[RSP]);
	/* push [rsp+8] addresses with RSP before the push; pop [rsp+8] with RSP after the pop. */
	c->r[RSP] = FIX_STACK - 32;
	wr64(mc, FIX_STACK - 24, 0xaaaa);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xff, 0x74, 0x24, 0x08));
	EXPECT_EQ(0xaaaa, rd64(mc, FIX_STACK - 40));
	wr64(mc, FIX_STACK - 40, 0xbbbb);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x8f, 0x44, 0x24, 0x08)); // [rsp+8] is FIX_STACK-32+8 after the pop
	EXPECT_EQ(FIX_STACK - 32, c->r[RSP]);
	EXPECT_EQ(0xbbbb, rd64(mc, FIX_STACK - 24));
	/* push word [rbx], pop word [rbx+2]. */
	c->r[RBX] = FIX_DATA;
	wr64(mc, FIX_DATA, 0x5678);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0xff, 0x33));
	EXPECT_EQ(FIX_STACK - 34, c->r[RSP]);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0x8f, 0x43, 0x02));
	EXPECT_EQ(0x56785678, rd64(mc, FIX_DATA));
	EXPECT_EQ(FIX_STACK - 32, c->r[RSP]);
	fixture_free(mc);
}

TEST(exec_mov, stack_faults_change_nothing)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	/* pop [rbx] with an unmapped destination: RSP and memory stay. */
	c->r[RBX] = UNMAPPED;
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0x8f, 0x03));
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(FIX_STACK, c->r[RSP]);
	/* push with an unmapped stack; pop from one; leave with RBP unmapped. */
	c->r[RSP] = UNMAPPED;
	c->r[RAX] = 1;
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0x50));
	EXPECT_EQ(UNMAPPED, c->r[RSP]);
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0x58));
	EXPECT_EQ(1, c->r[RAX]);
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0x9c)); // pushfq
	c->r[RSP] = FIX_STACK;
	c->r[RBP] = UNMAPPED;
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0xc9));
	EXPECT_EQ(FIX_STACK, c->r[RSP]);
	EXPECT_EQ(UNMAPPED, c->r[RBP]);
	/* enter 0, 3 whose frame reads fault: nothing pushed, RSP and RBP as they were. */
	wr64(mc, FIX_STACK - 8, 0x5a5a);
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0xc8, 0x00, 0x00, 0x03));
	EXPECT_EQ(FIX_STACK, c->r[RSP]);
	EXPECT_EQ(UNMAPPED, c->r[RBP]);
	EXPECT_EQ(0x5a5a, rd64(mc, FIX_STACK - 8));
	fixture_free(mc);
}

TEST(exec_mov, pushf_popf)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	lf_set(c, LF_ADD, 1, 0x80, 0x80, 0x100); // CF ZF OF set, lazily
	c->rflags |= RFLAGS_RF | RFLAGS_DF;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x9c)); // pushfq: RF is not stored
	u64 want = RFLAGS_CF | RFLAGS_ZF | RFLAGS_OF | RFLAGS_PF | RFLAGS_DF | RFLAGS_FIXED1;
	EXPECT_EQ(want, rd64(mc, FIX_STACK - 8));
	/* popfq: IF, AC, ID, IOPL, NT change; VM, VIF, VIP and reserved bits do not; RF clears. */
	wr64(mc, FIX_STACK - 8, ~0ULL);
	c->rflags = RFLAGS_FIXED1 | RFLAGS_RF;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x9d));
	EXPECT_EQ(FIX_STACK, c->r[RSP]);
	u64 all = RFLAGS_ARITH | RFLAGS_TF | RFLAGS_IF | RFLAGS_DF | RFLAGS_IOPL | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID;
	EXPECT_EQ(all | RFLAGS_FIXED1, flags_get(c));
	wr64(mc, FIX_STACK - 8, 0);
	c->r[RSP] = FIX_STACK - 8;
	c->rflags |= RFLAGS_VM | RFLAGS_VIF;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x9d));
	EXPECT_EQ(RFLAGS_VM | RFLAGS_VIF | RFLAGS_FIXED1, flags_get(c));
	/* 16-bit forms: 66 9C pushes 2 bytes, 66 9D replaces bits 15:0 only. */
	c->rflags = RFLAGS_FIXED1 | RFLAGS_AC | RFLAGS_CF;
	c->r[RSP] = FIX_STACK;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0x9c));
	EXPECT_EQ(FIX_STACK - 2, c->r[RSP]);
	EXPECT_EQ(RFLAGS_CF | RFLAGS_FIXED1, *(u16 *)fixture_ptr(mc, FIX_STACK - 2));
	*(u16 *)fixture_ptr(mc, FIX_STACK - 2) = (u16)(RFLAGS_ZF | RFLAGS_DF);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0x9d));
	EXPECT_EQ(FIX_STACK, c->r[RSP]);
	EXPECT_EQ(RFLAGS_AC | RFLAGS_ZF | RFLAGS_DF | RFLAGS_FIXED1, flags_get(c));
	/* At CPL 3 with IOPL 0, POPF keeps IF and IOPL. */
	fixture_user_pages(mc);
	c->cpl = 3;
	c->rflags = RFLAGS_FIXED1 | RFLAGS_IF;
	wr64(mc, FIX_STACK - 8, RFLAGS_IOPL | RFLAGS_CF);
	c->r[RSP] = FIX_STACK - 8;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x9d));
	EXPECT_EQ(RFLAGS_IF | RFLAGS_CF | RFLAGS_FIXED1, flags_get(c));
	fixture_free(mc);
}

TEST(exec_mov, enter_and_leave)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u64 s0 = FIX_STACK - 0x100, bp = FIX_STACK - 0x40;
	wr64(mc, bp - 8, 0xf1);
	wr64(mc, bp - 16, 0xf2);
	/* enter 0x10, 0: push rbp; rbp := rsp; rsp -= 0x10. */
	c->r[RSP] = s0, c->r[RBP] = bp;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xc8, 0x10, 0x00, 0x00));
	EXPECT_EQ(s0 - 8, c->r[RBP]);
	EXPECT_EQ(s0 - 8 - 0x10, c->r[RSP]);
	EXPECT_EQ(bp, rd64(mc, s0 - 8));
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xc9)); // leave undoes it
	EXPECT_EQ(s0, c->r[RSP]);
	EXPECT_EQ(bp, c->r[RBP]);
	/* enter 0x20, 3: push rbp, [rbp-8], [rbp-16], then the frame pointer. */
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xc8, 0x20, 0x00, 0x03));
	EXPECT_EQ(bp, rd64(mc, s0 - 8));
	EXPECT_EQ(0xf1, rd64(mc, s0 - 16));
	EXPECT_EQ(0xf2, rd64(mc, s0 - 24));
	EXPECT_EQ(s0 - 8, rd64(mc, s0 - 32));
	EXPECT_EQ(s0 - 8, c->r[RBP]);
	EXPECT_EQ(s0 - 32 - 0x20, c->r[RSP]);
	/* enter 0, 1 pushes rbp and the frame pointer; level 33 is level 1. */
	c->r[RSP] = s0, c->r[RBP] = bp;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xc8, 0x00, 0x00, 0x21));
	EXPECT_EQ(s0 - 8, rd64(mc, s0 - 16));
	EXPECT_EQ(s0 - 16, c->r[RSP]);
	/* 66h enter 0x10, 2 (the host's answer): 2-byte items, only BP takes the frame pointer. */
	c->r[RSP] = s0, c->r[RBP] = bp;
	*(u16 *)fixture_ptr(mc, bp - 2) = 0x7777;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0xc8, 0x10, 0x00, 0x02));
	EXPECT_EQ((u16)bp, *(u16 *)fixture_ptr(mc, s0 - 2));
	EXPECT_EQ(0x7777, *(u16 *)fixture_ptr(mc, s0 - 4));
	EXPECT_EQ((u16)(s0 - 2), *(u16 *)fixture_ptr(mc, s0 - 6));
	EXPECT_EQ(s0 - 22, c->r[RSP]);
	EXPECT_EQ(s0 - 2, c->r[RBP]);
	c->r[RSP] = s0, c->r[RBP] = 0xabcd000000001234ULL; // level 0: RBP is not dereferenced
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0xc8, 0x10, 0x00, 0x00));
	EXPECT_EQ(0x1234, *(u16 *)fixture_ptr(mc, s0 - 2));
	EXPECT_EQ(0xabcd000000000000ULL | (u16)(s0 - 2), c->r[RBP]);
	EXPECT_EQ(s0 - 18, c->r[RSP]);
	/* 66h leave: RSP := RBP + 2, BP := the popped word, RBP's upper bits kept. */
	c->r[RBP] = s0 - 2;
	*(u16 *)fixture_ptr(mc, s0 - 2) = 0x4321;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0xc9));
	EXPECT_EQ(s0, c->r[RSP]);
	EXPECT_EQ(((s0 - 2) & ~0xffffULL) | 0x4321, c->r[RBP]);
	fixture_free(mc);
}

TEST(exec_mov, stores_to_unbacked_addresses_are_dropped)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	/* Map 16-18 MiB (past the fixture's RAM) to guest-physical 1 GiB, where nothing is. */
	u64 pdpt, pd, pde = 0x40000000ULL | 0xc3; // P RW D PS
	memcpy(&pdpt, fixture_ptr(mc, c->cr3), 8);
	memcpy(&pd, fixture_ptr(mc, pdpt & ~0xfffULL), 8);
	memcpy(fixture_ptr(mc, (pd & ~0xfffULL) + 8 * 8), &pde, 8);
	c->r[RBX] = FIX_MEM + 0x10;
	c->r[RAX] = 0x1234;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x89, 0x03));             // mov [rbx], eax: dropped
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf0, 0x0f, 0xc1, 0x03)); // lock xadd [rbx], eax
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x8b, 0x0b));             // mov ecx, [rbx]: all ones
	EXPECT_EQ(0xffffffff, c->r[RCX]);
	c->r[RDI] = FIX_MEM + 0xff0, c->r[RCX] = 64;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf3, 0xaa));             // rep stosb across two such pages
	EXPECT_EQ(0, c->r[RCX]);
	fixture_free(mc);
}

TEST(exec_mov, exchange_faults_change_nothing)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	static const u8 codes[][5] = {
		{ 0x48, 0x87, 0x0b },             // xchg [rbx], rcx
		{ 0xf0, 0x48, 0x0f, 0xc1, 0x0b }, // lock xadd [rbx], rcx
		{ 0xf0, 0x48, 0x0f, 0xb1, 0x0b }, // lock cmpxchg [rbx], rcx
		{ 0x0f, 0xc7, 0x0b },             // cmpxchg8b [rbx]
		{ 0x48, 0x0f, 0xc7, 0x0b },       // cmpxchg16b [rbx]
	};
	for (size_t k = 0; k < ARRAY_SIZE(codes); k++) {
		c->r[RBX] = UNMAPPED;
		c->r[RAX] = 1, c->r[RCX] = 2, c->r[RDX] = 3;
		flags_set(c, RFLAGS_CF);
		EXPECT_EQ(CPU_STOP_EXCEPTION, run1(mc, codes[k], 5));
		EXPECT_EQ(VEC_PF, c->exc.vector);
		EXPECT_EQ(1, c->r[RAX]);
		EXPECT_EQ(2, c->r[RCX]);
		EXPECT_EQ(3, c->r[RDX]);
		EXPECT_EQ(RFLAGS_CF | RFLAGS_FIXED1, flags_get(c));
	}
	/*
	 * Make 2-4 MiB (FIX_CODE and FIX_DATA) read-only: a CMPXCHG whose compare
	 * fails still needs write access (SDM CMPXCHG: the destination is written
	 * back), so it faults with a write error code; a plain load still works.
	 */
	u64 pdpt, pd, pde;
	memcpy(&pdpt, fixture_ptr(mc, c->cr3), 8);
	memcpy(&pd, fixture_ptr(mc, pdpt & ~0xfffULL), 8);
	memcpy(&pde, fixture_ptr(mc, (pd & ~0xfffULL) + 8), 8);
	pde &= ~2ULL;
	memcpy(fixture_ptr(mc, (pd & ~0xfffULL) + 8), &pde, 8);
	tlb_flush_all(&c->tlb);
	wr64(mc, FIX_DATA, 5);
	c->r[RBX] = FIX_DATA, c->r[RAX] = 1;
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0xf0, 0x48, 0x0f, 0xb1, 0x0b));
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(3, c->exc.error & 3); // present, write
	EXPECT_EQ(1, c->r[RAX]);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x48, 0x8b, 0x03));
	EXPECT_EQ(5, c->r[RAX]);
	fixture_free(mc);
}
