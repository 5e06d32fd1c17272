/* SPDX-License-Identifier: MIT */
/*
 * String instructions (exec_str.c): MOVS CMPS SCAS LODS STOS in every
 * size, with and without REP/REPE/REPNE, both directions, 67h and segment
 * overrides; long REP runs that come back to the run loop between chunks;
 * faults in the middle of a REP run, which must leave RCX/RSI/RDI at the
 * faulting element; and a REP STOS that rewrites the code after it. The
 * expected values are worked out from the SDM's Operation sections.
 */
#include <stdlib.h>

#include "cpu/flags.h"
#include "fixture.h"
#include "test.h"

#define SRC (FIX_DATA + 0x1000)
#define DST (FIX_DATA + 0x8000)

static int run1(struct machine *mc, const u8 *code, size_t len)
{
	fixture_load(mc, code, len);
	return fixture_step(mc, 1);
}
#define RUN(mc, ...) run1(mc, (const u8[]){ __VA_ARGS__ }, sizeof((const u8[]){ __VA_ARGS__ }))

/* Steps the loaded instruction until RIP leaves it or it stops; returns the stop and the step count. */
static int run_to_end(struct machine *mc, unsigned *steps)
{
	struct cpu *c = fixture_cpu(mc);
	for (*steps = 1;; ++*steps) {
		int s = fixture_step(mc, 1);
		if (s != CPU_STOP_BUDGET || c->r[REG_RIP] != FIX_CODE)
			return s;
	}
}

static u8 *ptr(struct machine *mc, u64 gpa)
{
	return fixture_ptr(mc, gpa);
}

static void set_ptrs(struct cpu *c, u64 rsi, u64 rdi, u64 rcx)
{
	c->r[RSI] = rsi, c->r[RDI] = rdi, c->r[RCX] = rcx;
}

TEST(exec_str, rep_movs_every_size_forward_and_back)
{
	static const u8 rex[4] = { 0, 0x66, 0, 0x48 }, opc[4] = { 0xa4, 0xa5, 0xa5, 0xa5 };
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (unsigned z = 0; z < 4; z++) {
		for (int down = 0; down < 2; down++) {
			unsigned sz = sizes[z], n = 37;
			u8 code[3], len = 0;
			code[len++] = 0xf3;
			if (rex[z])
				code[len++] = rex[z];
			code[len++] = opc[z];
			for (unsigned k = 0; k < 0x200; k++)
				ptr(mc, SRC)[k] = (u8)(k * 7 + 1);
			memset(ptr(mc, DST), 0, 0x400);
			u64 first = down ? 0x100 : 0x10; // the lowest element is copied last going down
			u64 start = down ? first + (n - 1) * sz : first;
			set_ptrs(c, SRC + start, DST + start, n);
			c->rflags = RFLAGS_FIXED1 | (down ? RFLAGS_DF : 0);
			EXPECT_EQ(CPU_STOP_BUDGET, run1(mc, code, len));
			EXPECT_EQ(FIX_CODE + len, c->r[REG_RIP]);
			EXPECT_EQ(0, c->r[RCX]);
			s64 moved = down ? -(s64)(n * sz) : (s64)(n * sz);
			EXPECT_EQ(SRC + start + (u64)moved, c->r[RSI]);
			EXPECT_EQ(DST + start + (u64)moved, c->r[RDI]);
			EXPECT_TRUE(!memcmp(ptr(mc, SRC + first), ptr(mc, DST + first), n * sz));
			EXPECT_EQ(0, ptr(mc, DST + first - 1)[0]);
			EXPECT_EQ(0, ptr(mc, DST + first + n * sz)[0]);
		}
	}
	fixture_free(mc);
}

TEST(exec_str, single_movs_lods_stos)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u64 v = 0x8877665544332211ULL;
	memcpy(ptr(mc, SRC), &v, 8);
	set_ptrs(c, SRC, DST, 99);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xa5)); // movsd: no REP, RCX untouched
	EXPECT_EQ(0x44332211, *(u32 *)ptr(mc, DST));
	EXPECT_EQ(SRC + 4, c->r[RSI]);
	EXPECT_EQ(DST + 4, c->r[RDI]);
	EXPECT_EQ(99, c->r[RCX]);
	c->r[RAX] = 0xffffffffffffffffULL;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xad)); // lodsd zero-extends RAX
	EXPECT_EQ(0x88776655, c->r[RAX]);
	EXPECT_EQ(SRC + 8, c->r[RSI]);
	c->r[RSI] = SRC;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xac)); // lodsb keeps the rest
	EXPECT_EQ(0x88776611, c->r[RAX]);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0xad)); // lodsw
	EXPECT_EQ(0x88773322, c->r[RAX]);
	c->r[RSI] = SRC;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x48, 0xad)); // lodsq
	EXPECT_EQ(v, c->r[RAX]);
	c->rflags |= RFLAGS_DF;
	c->r[RDI] = DST + 0x40;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x48, 0xab)); // stosq going down
	EXPECT_EQ(v, *(u64 *)ptr(mc, DST + 0x40));
	EXPECT_EQ(DST + 0x38, c->r[RDI]);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x66, 0xab)); // stosw
	EXPECT_EQ(0x2211, *(u16 *)ptr(mc, DST + 0x38));
	EXPECT_EQ(DST + 0x36, c->r[RDI]);
	fixture_free(mc);
}

TEST(exec_str, rep_stos_every_size)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	static const u8 codes[4][3] = { { 0xf3, 0xaa }, { 0xf3, 0x66, 0xab }, { 0xf3, 0xab }, { 0xf3, 0x48, 0xab } };
	static const u8 lens[4] = { 2, 3, 2, 3 };
	for (unsigned z = 0; z < 4; z++) {
		unsigned sz = 1u << z, n = 1000; // crosses a page end at DST + 0x1000
		for (int down = 0; down < 2; down++) {
			memset(ptr(mc, DST), 0, 0x3000);
			u64 start = DST + 0x800 + (down ? (n - 1) * sz : 0);
			c->r[RAX] = 0x0102030405060708ULL;
			set_ptrs(c, 0, start, n);
			c->rflags = RFLAGS_FIXED1 | (down ? RFLAGS_DF : 0);
			EXPECT_EQ(CPU_STOP_BUDGET, run1(mc, codes[z], lens[z]));
			EXPECT_EQ(0, c->r[RCX]);
			EXPECT_EQ(down ? start - n * sz : start + n * sz, c->r[RDI]);
			for (unsigned k = 0; k < n * sz; k++)
				if (ptr(mc, DST + 0x800)[k] != (u8)(0x08 - k % sz)) {
					EXPECT_EQ((u8)(0x08 - k % sz), ptr(mc, DST + 0x800)[k]);
					break;
				}
			EXPECT_EQ(0, ptr(mc, DST + 0x7ff)[0]);
			EXPECT_EQ(0, ptr(mc, DST + 0x800 + n * sz)[0]);
		}
	}
	fixture_free(mc);
}

TEST(exec_str, overlapping_movsb_replicates)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	memcpy(ptr(mc, SRC), "ab------", 8);
	set_ptrs(c, SRC, SRC + 2, 6);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf3, 0xa4)); // rep movsb, RDI = RSI + 2
	EXPECT_TRUE(!memcmp(ptr(mc, SRC), "abababab", 8));
	memcpy(ptr(mc, SRC), "0123456789abcdefXXXXXXXX", 24);
	set_ptrs(c, SRC, SRC + 3, 2);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf3, 0x48, 0xa5)); // rep movsq, 3 bytes apart
	EXPECT_TRUE(!memcmp(ptr(mc, SRC), "01201234567567bcdefXXXXX", 24));
	memcpy(ptr(mc, SRC), "0123456789", 10);
	set_ptrs(c, SRC + 2, SRC, 8);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf3, 0xa4)); // downward overlap: a plain move
	EXPECT_TRUE(!memcmp(ptr(mc, SRC), "2345678989", 10));
	fixture_free(mc);
}

TEST(exec_str, repne_scas_and_repe_cmps)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	memcpy(ptr(mc, SRC), "hello, world\0tail", 17);
	/* strlen: repne scasb with AL = 0 and RCX = -1. */
	c->r[RAX] = 0;
	set_ptrs(c, 0, SRC, ~0ULL);
	c->rflags = RFLAGS_FIXED1;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf2, 0xae));
	EXPECT_EQ(SRC + 13, c->r[RDI]);
	EXPECT_EQ(~0ULL - 13, c->r[RCX]);
	EXPECT_TRUE(flags_get(c) & RFLAGS_ZF);
	/* repne scasb that runs out of count: ZF clear, RCX zero. */
	c->r[RAX] = 'z';
	set_ptrs(c, 0, SRC, 5);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf2, 0xae));
	EXPECT_EQ(0, c->r[RCX]);
	EXPECT_EQ(SRC + 5, c->r[RDI]);
	EXPECT_TRUE(!(flags_get(c) & RFLAGS_ZF));
	/* repe scasw: stops after the first word that differs. */
	memcpy(ptr(mc, DST), "ababacab", 8);
	c->r[RAX] = 0x6261; // "ab"
	set_ptrs(c, 0, DST, 4);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf3, 0x66, 0xaf));
	EXPECT_EQ(1, c->r[RCX]);
	EXPECT_EQ(DST + 6, c->r[RDI]);
	EXPECT_TRUE(!(flags_get(c) & RFLAGS_ZF));
	EXPECT_TRUE(flags_get(c) & RFLAGS_CF); // AX - [RDI] = 0x6261 - 0x6361 borrows
	/* repe cmpsb: memcmp of "hello, world" and "hello, there". */
	memcpy(ptr(mc, DST), "hello, there", 12);
	set_ptrs(c, SRC, DST, 12);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf3, 0xa6));
	EXPECT_EQ(12 - 8, c->r[RCX]);
	EXPECT_EQ(SRC + 8, c->r[RSI]);
	EXPECT_EQ(DST + 8, c->r[RDI]);
	u64 f = flags_get(c);
	EXPECT_TRUE(!(f & RFLAGS_ZF)); // 'w' - 't' > 0: no borrow, positive
	EXPECT_TRUE(!(f & RFLAGS_CF));
	EXPECT_TRUE(!(f & RFLAGS_SF));
	/* repe cmpsq going down over equal data: all of RCX, ZF set. */
	memcpy(ptr(mc, DST), ptr(mc, SRC), 16);
	set_ptrs(c, SRC + 8, DST + 8, 2);
	c->rflags = RFLAGS_FIXED1 | RFLAGS_DF;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf3, 0x48, 0xa7));
	EXPECT_EQ(0, c->r[RCX]);
	EXPECT_EQ(SRC - 8, c->r[RSI]);
	EXPECT_TRUE(flags_get(c) & RFLAGS_ZF);
	/* cmpsd (no prefix) compares [RSI] - [RDI]: 1 - 2 borrows. */
	*(u32 *)ptr(mc, SRC) = 1;
	*(u32 *)ptr(mc, DST) = 2;
	set_ptrs(c, SRC, DST, 0);
	c->rflags = RFLAGS_FIXED1;
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xa7));
	EXPECT_TRUE(flags_get(c) & RFLAGS_CF);
	EXPECT_TRUE(flags_get(c) & RFLAGS_SF);
	fixture_free(mc);
}

TEST(exec_str, zero_count_does_nothing)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	set_ptrs(c, 0x10, 0x20, 0); // unmapped pointers: nothing may be touched
	flags_set(c, RFLAGS_ZF | RFLAGS_CF);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf3, 0x48, 0xa5));
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf2, 0xae));
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0xf3, 0xa6));
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	EXPECT_EQ(0x10, c->r[RSI]);
	EXPECT_EQ(0x20, c->r[RDI]);
	EXPECT_EQ(RFLAGS_ZF | RFLAGS_CF | RFLAGS_FIXED1, flags_get(c));
	fixture_free(mc);
}

TEST(exec_str, address_size_and_segment_override)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	memcpy(ptr(mc, SRC), "abcdefgh", 8);
	/* 67h rep movsb: ESI/EDI/ECX, each written back zero-extended (as the host does). */
	set_ptrs(c, 0xdead000000000000ULL | SRC, 0xbeef000000000000ULL | DST, 0xffffffff00000003ULL);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x67, 0xf3, 0xa4));
	EXPECT_EQ(SRC + 3, c->r[RSI]);
	EXPECT_EQ(DST + 3, c->r[RDI]);
	EXPECT_EQ(0, c->r[RCX]);
	EXPECT_TRUE(!memcmp(ptr(mc, DST), "abc", 3));
	/* ECX = 0 with upper bits set: nothing happens, nothing is written back. */
	set_ptrs(c, 0xdead000000000000ULL | SRC, DST, 0xffffffff00000000ULL);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x67, 0xf3, 0xa4));
	EXPECT_EQ(0xffffffff00000000ULL, c->r[RCX]);
	EXPECT_EQ(0xdead000000000000ULL | SRC, c->r[RSI]);
	/* 67h stosb going down. */
	c->rflags |= RFLAGS_DF;
	set_ptrs(c, 0, DST, 1);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x67, 0xaa));
	EXPECT_EQ(DST - 1, c->r[RDI]);
	c->rflags &= ~RFLAGS_DF;
	/* fs: movsb reads FS.base + RSI; the destination stays ES:RDI. */
	c->seg_base[SEG_FS] = SRC;
	c->seg_base[SEG_GS] = SRC + 4;
	set_ptrs(c, 1, DST + 0x10, 3);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x64, 0xf3, 0xa4));
	EXPECT_TRUE(!memcmp(ptr(mc, DST + 0x10), "bcd", 3));
	EXPECT_EQ(4, c->r[RSI]);
	set_ptrs(c, 0, DST, 0);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x65, 0xac)); // gs: lodsb
	EXPECT_EQ('e', c->r[RAX] & 0xff);
	memcpy(ptr(mc, DST + 0x20), "e", 1);
	set_ptrs(c, 0, DST + 0x20, 1);
	EXPECT_EQ(CPU_STOP_BUDGET, RUN(mc, 0x65, 0xf3, 0xa6)); // gs: repe cmpsb
	EXPECT_TRUE(flags_get(c) & RFLAGS_ZF);
	fixture_free(mc);
}

TEST(exec_str, long_rep_comes_back_between_chunks)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u64 n = 3 << 20; // 3 MiB from 0x500000 to 0x900000: many chunks
	u8 *src = malloc(n);
	ASSERT_TRUE(src != NULL);
	for (u64 k = 0; k < n; k++)
		src[k] = (u8)(k * 13 + (k >> 12));
	memcpy(ptr(mc, 0x500000), src, n);
	set_ptrs(c, 0x500000, 0x900003, n);
	fixture_load(mc, (const u8[]){ 0xf3, 0xa4 }, 2);
	unsigned steps;
	EXPECT_EQ(CPU_STOP_BUDGET, run_to_end(mc, &steps));
	EXPECT_TRUE(steps > 10);
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	EXPECT_TRUE(!memcmp(ptr(mc, 0x900003), src, n));
	/* The same through the element-by-element path (DF = 1): a chunk per step too. */
	memset(ptr(mc, 0x900000), 0, n + 8);
	set_ptrs(c, 0x500000 + n - 8, 0x900000 + n - 8, n / 8);
	c->rflags |= RFLAGS_DF;
	fixture_load(mc, (const u8[]){ 0xf3, 0x48, 0xa5 }, 3);
	EXPECT_EQ(CPU_STOP_BUDGET, run_to_end(mc, &steps));
	EXPECT_TRUE(steps > n / 8 / 2048);
	EXPECT_EQ(0x500000 - 8, c->r[RSI]);
	EXPECT_TRUE(!memcmp(ptr(mc, 0x900000), src, n));
	/* And a block-path run (cpu_run) finishes it as well. */
	c->rflags &= ~RFLAGS_DF;
	memset(ptr(mc, 0x900000), 0, n);
	set_ptrs(c, 0x500000, 0x900000, n / 4);
	fixture_load(mc, (const u8[]){ 0xf3, 0xa5, 0x0f, 0xff }, 4); // rep movsd; invalid opcode
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_run(mc, 1000000));
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	EXPECT_TRUE(!memcmp(ptr(mc, 0x900000), src, n));
	free(src);
	fixture_free(mc);
}

TEST(exec_str, fault_midway_leaves_registers_at_the_element)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	/* rep movsb reading past the end of RAM (unmapped): 16 bytes done, #PF at the 17th. */
	memset(ptr(mc, FIX_MEM - 16), 'x', 16);
	set_ptrs(c, FIX_MEM - 16, DST, 100);
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0xf3, 0xa4));
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(FIX_MEM, c->cr2);
	EXPECT_EQ(84, c->r[RCX]);
	EXPECT_EQ(FIX_MEM, c->r[RSI]);
	EXPECT_EQ(DST + 16, c->r[RDI]);
	EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);
	EXPECT_EQ('x', ptr(mc, DST)[15]);
	/* rep stosq writing into the end of RAM with an element that straddles it. */
	set_ptrs(c, 0, FIX_MEM - 20, 5);
	c->r[RAX] = 0x1111111111111111ULL;
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0xf3, 0x48, 0xab));
	EXPECT_EQ(3, c->r[RCX]);
	EXPECT_EQ(FIX_MEM - 4, c->r[RDI]);
	EXPECT_EQ(0x11, ptr(mc, FIX_MEM - 5)[0]);
	EXPECT_TRUE(ptr(mc, FIX_MEM - 4)[0] != 0x11);
	/* rep movsd going down into page 0 (unmapped): stops at the element below 0x1000. */
	set_ptrs(c, 0x1008, DST + 0x100, 10);
	c->rflags |= RFLAGS_DF;
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0xf3, 0xa5));
	EXPECT_EQ(7, c->r[RCX]);
	EXPECT_EQ(0x1000 - 4, c->r[RSI]);
	EXPECT_EQ(DST + 0x100 - 12, c->r[RDI]);
	/* repe cmpsb with the destination running into unmapped memory. */
	c->rflags &= ~RFLAGS_DF;
	memset(ptr(mc, FIX_MEM - 4), 'q', 4);
	memset(ptr(mc, SRC), 'q', 8);
	set_ptrs(c, SRC, FIX_MEM - 4, 8);
	EXPECT_EQ(CPU_STOP_EXCEPTION, RUN(mc, 0xf3, 0xa6));
	EXPECT_EQ(4, c->r[RCX]);
	EXPECT_EQ(SRC + 4, c->r[RSI]);
	fixture_free(mc);
}

TEST(exec_str, rep_stos_over_following_code_is_seen)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	/* rep stosw; ud2; (invalid). The stosw rewrites ud2 into "mov eax, ecx" before it runs. */
	static const u8 code[] = { 0xf3, 0x66, 0xab, 0x0f, 0x0b, 0x0f, 0xff };
	for (int down = 0; down < 2; down++) { // the page-run path, then the element path
		fixture_load(mc, code, sizeof(code));
		set_ptrs(c, 0, 0, 0);
		ASSERT_EQ(CPU_STOP_EXCEPTION, fixture_run(mc, 100)); // decode the block once: #UD at ud2
		EXPECT_EQ(FIX_CODE + 3, c->r[REG_RIP]);
		c->r[REG_RIP] = FIX_CODE;
		c->r[RAX] = 0xc889;
		set_ptrs(c, 0, FIX_CODE + 3, 1);
		c->rflags = RFLAGS_FIXED1 | (down ? RFLAGS_DF : 0);
		EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_run(mc, 100));
		EXPECT_EQ(FIX_CODE + 5, c->r[REG_RIP]);
		EXPECT_EQ(0, c->r[RAX]);
	}
	fixture_free(mc);
}
