/* SPDX-License-Identifier: MIT */
/*
 * Segment loads and far transfers through the GDT (segment.c,
 * exec_far.c, exec_priv.c) on the environment of priv_env.h. Expected
 * faults and error codes come from the SDM's Operation and Exceptions
 * sections: Vol. 2B MOV (segment register forms), Vol. 2A JMP and CALL
 * (far forms), Vol. 2B RET (far return), and Vol. 3A 6.13 (the selector
 * error code: index and TI, RPL bits replaced by EXT and IDT).
 */
#include "priv_env.h"
#include "test.h"

#include "cpu/flags.h"

/* Runs one instruction at CPL 0 (FIX_CODE) or CPL 3 (P_UCODE); returns the vector delivered, or -1. */
static int run1(struct machine *mc, const u8 *code, size_t len, bool user)
{
	struct cpu *c = fixture_cpu(mc);
	u64 rsp = c->r[RSP];
	if (user) {
		penv_user_code(mc, code, len);
	} else {
		fixture_load(mc, code, len);
		c->r[RSP] = rsp;
	}
	u64 start = c->r[REG_RIP];
	if (fixture_step(mc, 1) != CPU_STOP_BUDGET)
		return -2;
	u64 rip = c->r[REG_RIP];
	if (rip < P_HANDLERS || rip >= P_HANDLERS + 256 * 16)
		return -1;
	unsigned vec = (unsigned)((rip - P_HANDLERS) / 16);
	bool has_error = vec == VEC_DF || (vec >= VEC_TS && vec <= VEC_PF) || vec == VEC_AC;
	return penv_rd64(mc, c->r[RSP] + (has_error ? 8 : 0)) == start ? (int)vec : -3;
}

/* The error code of the exception run1 reported. */
static u64 err_code(struct machine *mc)
{
	return penv_rd64(mc, fixture_cpu(mc)->r[RSP]);
}

/*
 * The sequence a kernel runs after LGDT to reload CS (SDM Vol. 3A 9.8.5.4
 * uses a far transfer; LRETQ is the usual 64-bit way), then DS and SS:
 *   lgdt [rax]; push 0x08; lea rcx, [rip + 3]; push rcx; lretq;
 *   mov ax, 0x10; mov ds, ax; mov ss, ax; hlt
 */
TEST(priv_seg, lgdt_then_lretq_reloads_cs)
{
	static const u8 code[] = { 0x0f, 0x01, 0x10, 0x6a, 0x08, 0x48, 0x8d, 0x0d, 0x03, 0x00, 0x00, 0x00, 0x51, 0x48,
				   0xcb, 0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xd0, 0xf4 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->gdtr = (struct dtr){ 0 };
	u8 ptr[10] = { GDT_LIMIT, 0 };
	u64 base = P_GDT;
	memcpy(ptr + 2, &base, 8);
	penv_put(mc, FIX_DATA, ptr, sizeof(ptr));
	fixture_load(mc, code, sizeof(code));
	c->r[RAX] = FIX_DATA;
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 100));
	EXPECT_EQ(FIX_CODE + sizeof(code), c->r[REG_RIP]);
	EXPECT_EQ(P_GDT, c->gdtr.base);
	EXPECT_EQ(GDT_LIMIT, c->gdtr.limit);
	EXPECT_EQ(KCS, c->seg[SREG_CS].sel);
	EXPECT_EQ(AR_KCODE, c->seg[SREG_CS].attr); // accessed bit now set
	EXPECT_EQ(KDS, c->seg[SREG_DS].sel);
	EXPECT_EQ(KDS, c->seg[SREG_SS].sel);
	EXPECT_EQ(0x3u | AR_S | AR_P | AR_DB | AR_G, c->seg[SREG_SS].attr);
	EXPECT_EQ(1, penv_gdt_get(mc, KDS) >> 40 & 1);
	EXPECT_EQ(FIX_STACK, c->r[RSP]);
	EXPECT_EQ(9, c->icount);
	fixture_free(mc);
}

/* Far JMP through m16:64 and m16:32 pointers (offset first, then the selector). */
TEST(priv_seg, far_jmp)
{
	static const u8 jmp64[] = { 0x48, 0xff, 0x28 }, jmp32[] = { 0xff, 0x28 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_wr64(mc, FIX_DATA, FIX_CODE + 0x100);
	penv_wr64(mc, FIX_DATA + 8, KCS);
	fixture_load(mc, jmp64, sizeof(jmp64));
	c->r[RAX] = FIX_DATA;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 0x100, c->r[REG_RIP]);
	EXPECT_EQ(KCS, c->seg[SREG_CS].sel);
	/* m16:32: a 4-byte offset, zero-extended, then the selector; RPL is replaced by the CPL. */
	penv_wr64(mc, FIX_DATA, (u64)(KCS | 0) << 32 | (FIX_CODE + 0x200));
	fixture_load(mc, jmp32, sizeof(jmp32));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 0x200, c->r[REG_RIP]);
	/* A conforming DPL-0 segment from CPL 3: allowed, the CPL stays 3. */
	penv_wr64(mc, FIX_DATA, P_UCODE + 0x80);
	penv_wr64(mc, FIX_DATA + 8, CONF_CS);
	penv_user_code(mc, jmp64, sizeof(jmp64));
	c->r[RAX] = FIX_DATA;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(P_UCODE + 0x80, c->r[REG_RIP]);
	EXPECT_EQ(3, c->cpl);
	EXPECT_EQ(CONF_CS | 3, c->seg[SREG_CS].sel);
	fixture_free(mc);
}

/* Far JMP checks (SDM Vol. 2A JMP, protected-mode far jump; 64-bit mode exceptions). */
TEST(priv_seg, far_jmp_checks)
{
	static const u8 jmp64[] = { 0x48, 0xff, 0x28 };
	static const struct {
		bool user;
		u16 sel;
		u64 off;
		int vec;
		u32 err;
	} cases[] = {
		{ false, 0, FIX_CODE, VEC_GP, 0 },            // null selector
		{ false, 0x78, FIX_CODE, VEC_GP, 0x78 },      // beyond the GDT limit
		{ false, 0x7c, FIX_CODE, VEC_GP, 0x7c },      // TI = 1 with no LDT
		{ false, KDS, FIX_CODE, VEC_GP, KDS },        // a data segment
		{ false, TSS_SEL, FIX_CODE, VEC_GP, TSS_SEL }, // a system descriptor (no call gates, no task switch)
		{ false, UCS & ~3, FIX_CODE, VEC_GP, UCS & ~3 }, // non-conforming, DPL 3 != CPL 0
		{ false, KCS | 3, FIX_CODE, VEC_GP, KCS },    // RPL 3 > CPL 0
		{ true, KCS, P_UCODE, VEC_GP, KCS },          // non-conforming, DPL 0 != CPL 3
		{ false, NP_CS, FIX_CODE, VEC_NP, NP_CS },    // not present
		{ false, CS32, FIX_CODE, VEC_GP, CS32 },      // L = 0: compatibility mode is not modeled
		{ false, KCS, 0xffff000000000000ULL, VEC_GP, 0 }, // non-canonical offset
	};
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		penv_wr64(mc, FIX_DATA, cases[k].off);
		penv_wr64(mc, FIX_DATA + 8, cases[k].sel);
		c->r[RSP] = FIX_STACK;
		if (cases[k].user)
			penv_user_code(mc, jmp64, sizeof(jmp64));
		else
			fixture_load(mc, jmp64, sizeof(jmp64));
		c->r[RAX] = FIX_DATA;
		u64 at = c->r[REG_RIP];
		EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
		EXPECT_EQ(penv_handler((unsigned)cases[k].vec), c->r[REG_RIP]);
		EXPECT_EQ(cases[k].err, err_code(mc));
		EXPECT_EQ(at, penv_rd64(mc, c->r[RSP] + 8));
	}
	fixture_free(mc);
}

/* Far CALL m16:64 pushes CS then RIP in 8-byte slots; LRETQ returns. m16:32 uses 4-byte slots. */
TEST(priv_seg, far_call_and_return)
{
	static const u8 call64[] = { 0x48, 0xff, 0x18 }, call32[] = { 0xff, 0x18 }, lretq[] = { 0x48, 0xcb },
			retf8[] = { 0xca, 0x08, 0x00 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_wr64(mc, FIX_DATA, FIX_CODE + 0x100);
	penv_wr64(mc, FIX_DATA + 8, KCS);
	penv_put(mc, FIX_CODE + 0x100, lretq, sizeof(lretq));
	fixture_load(mc, call64, sizeof(call64));
	c->r[RAX] = FIX_DATA;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 0x100, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK - 16, c->r[RSP]);
	EXPECT_EQ(FIX_CODE + 3, penv_rd64(mc, FIX_STACK - 16));
	EXPECT_EQ(KCS, penv_rd64(mc, FIX_STACK - 8));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 3, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK, c->r[RSP]);
	EXPECT_EQ(KCS, c->seg[SREG_CS].sel);
	/* 32-bit operand size: m16:32, 4-byte slots; RETF imm16 drops 8 more bytes. */
	penv_wr64(mc, FIX_DATA, (u64)KCS << 32 | (FIX_CODE + 0x200));
	penv_put(mc, FIX_CODE + 0x200, retf8, sizeof(retf8));
	fixture_load(mc, call32, sizeof(call32));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 0x200, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK - 8, c->r[RSP]);
	EXPECT_EQ((u64)KCS << 32 | (FIX_CODE + 2), penv_rd64(mc, FIX_STACK - 8));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK + 8, c->r[RSP]);
	fixture_free(mc);
}

/*
 * LRETQ imm16 to an outer level (SDM Vol. 2B RET, RETURN-TO-OUTER-
 * PRIVILEGE-LEVEL): pops RIP and CS, skips imm16 bytes, pops RSP and SS,
 * and releases imm16 bytes from the new stack too; DS is nulled.
 */
TEST(priv_seg, lretq_to_user)
{
	static const u8 lretq16[] = { 0x48, 0xca, 0x10, 0x00 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u64 sp = FIX_STACK - 48;
	u64 f[6] = { P_UCODE, UCS, 0xaaaa, 0xbbbb, P_USTACK - 0x40, UDS };
	penv_put(mc, sp, f, sizeof(f));
	fixture_load(mc, lretq16, sizeof(lretq16));
	c->r[RSP] = sp;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(P_UCODE, c->r[REG_RIP]);
	EXPECT_EQ(3, c->cpl);
	EXPECT_EQ(UCS, c->seg[SREG_CS].sel);
	EXPECT_EQ(UDS, c->seg[SREG_SS].sel);
	EXPECT_EQ(P_USTACK - 0x40 + 0x10, c->r[RSP]);
	EXPECT_EQ(0, c->seg[SREG_DS].sel);
	/* From CPL 3 back to CPL 0 is refused: RPL 0 < CPL 3. */
	u64 g[2] = { P_UCODE, KCS };
	penv_put(mc, P_USTACK - 16, g, sizeof(g));
	static const u8 lretq[] = { 0x48, 0xcb };
	penv_user_code(mc, lretq, sizeof(lretq));
	c->r[RSP] = P_USTACK - 16;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	EXPECT_EQ(KCS, err_code(mc));
	fixture_free(mc);
}

/* MOV to DS/ES/FS/GS (SDM Vol. 2B MOV, Operation and protected-mode exceptions). */
TEST(priv_seg, mov_to_data_segment_registers)
{
	static const u8 mov_ds[] = { 0x8e, 0xd8 }, mov_fs[] = { 0x8e, 0xe0 };
	static const struct {
		bool user;
		u16 sel;
		int vec; // -1: loads
		u32 err;
	} cases[] = {
		{ false, KDS, -1, 0 },
		{ false, UDS, -1, 0 },              // DPL 3 data at CPL 0
		{ false, KCS, -1, 0 },              // readable code may be loaded into DS
		{ true, CONF_CS | 3, -1, 0 },       // conforming code: no privilege check
		{ true, 0, -1, 0 },                 // null: allowed, unusable
		{ true, KDS, VEC_GP, KDS },         // CPL 3 > DPL 0
		{ false, KDS | 3, VEC_GP, KDS },    // RPL 3 > DPL 0
		{ false, TSS_SEL, VEC_GP, TSS_SEL }, // a system descriptor
		{ false, 0x78, VEC_GP, 0x78 },      // beyond the GDT limit
		{ false, NP_DS, VEC_NP, NP_DS },    // not present
	};
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		c->r[RSP] = FIX_STACK;
		c->r[RAX] = cases[k].sel;
		EXPECT_EQ(cases[k].vec, run1(mc, mov_ds, sizeof(mov_ds), cases[k].user));
		if (cases[k].vec >= 0) {
			EXPECT_EQ(cases[k].err, err_code(mc));
		} else {
			EXPECT_EQ(cases[k].sel, c->seg[SREG_DS].sel);
			EXPECT_EQ(cases[k].sel < 4, !!(c->seg[SREG_DS].attr & AR_UNUSABLE));
		}
	}
	/* FS takes the 32-bit base from its descriptor; a null selector clears it (Intel). */
	c->r[RAX] = BASE_DS;
	EXPECT_EQ(-1, run1(mc, mov_fs, sizeof(mov_fs), false));
	EXPECT_EQ(0x12345678, c->seg_base[SEG_FS]);
	c->r[RAX] = 0;
	EXPECT_EQ(-1, run1(mc, mov_fs, sizeof(mov_fs), false));
	EXPECT_EQ(0, c->seg_base[SEG_FS]);
	fixture_free(mc);
}

/* MOV to SS: RPL = DPL = CPL, writable data, present (#SS if not); null only at CPL < 3 with RPL = CPL. */
TEST(priv_seg, mov_to_ss)
{
	static const u8 mov_ss[] = { 0x8e, 0xd0 };
	static const struct {
		u16 sel;
		int vec;
		u32 err;
	} cases[] = {
		{ KDS, -1, 0 },
		{ 0, -1, 0 },                   // null with RPL 0 at CPL 0 (64-bit mode)
		{ 3, VEC_GP, 0 },               // null with RPL 3 != CPL 0
		{ UDS, VEC_GP, UDS & ~3 },      // RPL 3 != CPL 0
		{ UDS & ~3, VEC_GP, UDS & ~3 }, // DPL 3 != CPL 0
		{ RO_DS, VEC_GP, RO_DS },       // not writable
		{ KCS, VEC_GP, KCS },           // code
		{ NP_DS, VEC_SS, NP_DS },       // not present: #SS
	};
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		c->r[RSP] = FIX_STACK;
		c->r[RAX] = cases[k].sel;
		EXPECT_EQ(cases[k].vec, run1(mc, mov_ss, sizeof(mov_ss), false));
		if (cases[k].vec >= 0)
			EXPECT_EQ(cases[k].err, err_code(mc));
		else
			EXPECT_EQ(cases[k].sel, c->seg[SREG_SS].sel);
	}
	/* At CPL 3: the user data segment loads, a null selector does not. */
	penv_user_code(mc, mov_ss, sizeof(mov_ss));
	c->r[RAX] = UDS;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(P_UCODE + 2, c->r[REG_RIP]);
	penv_user_code(mc, mov_ss, sizeof(mov_ss));
	c->r[RAX] = 0;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	fixture_free(mc);
}

/* MOV from a segment register: zero-extended into a 32- or 64-bit register, 16 bits into memory or AX. */
TEST(priv_seg, mov_from_segment_registers)
{
	static const u8 eax_ds[] = { 0x8c, 0xd8 }, ax_ds[] = { 0x66, 0x8c, 0xd8 }, rax_ss[] = { 0x48, 0x8c, 0xd0 },
			mem_cs[] = { 0x8c, 0x08 }, mov_cs[] = { 0x8e, 0xc8 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[RAX] = ~0ULL;
	EXPECT_EQ(-1, run1(mc, eax_ds, sizeof(eax_ds), false));
	EXPECT_EQ(KDS, c->r[RAX]);
	c->r[RAX] = ~0ULL;
	EXPECT_EQ(-1, run1(mc, ax_ds, sizeof(ax_ds), false));
	EXPECT_EQ(0xffffffffffff0000ULL | KDS, c->r[RAX]);
	EXPECT_EQ(-1, run1(mc, rax_ss, sizeof(rax_ss), false));
	EXPECT_EQ(KDS, c->r[RAX]);
	penv_wr64(mc, FIX_DATA, ~0ULL);
	c->r[RAX] = FIX_DATA;
	EXPECT_EQ(-1, run1(mc, mem_cs, sizeof(mem_cs), false));
	EXPECT_EQ(0xffffffffffff0000ULL | KCS, penv_rd64(mc, FIX_DATA));
	EXPECT_EQ(VEC_UD, run1(mc, mov_cs, sizeof(mov_cs), false)); // MOV to CS does not exist
	fixture_free(mc);
}
