/* SPDX-License-Identifier: MIT */
/*
 * INT n, INT3, INT1, SYSCALL/SYSRET, SWAPGS and IRETQ (exec_int.c,
 * exec_far.c) on the environment of priv_env.h. Expected values follow
 * the SDM's Operation sections: Vol. 2A INT n/INTO/INT3/INT1, Vol. 2B
 * SYSCALL, SYSRET, SWAPGS and IRET.
 */
#include "priv_env.h"
#include "test.h"

#include "cpu/flags.h"

/* INT 0x80 through a DPL-3 gate: a software interrupt, RIP after it in the frame, RF clear, no error code. */
TEST(priv_int, int_n_from_user)
{
	static const u8 code[] = { 0xcd, 0x80 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_gate(mc, 0x80, penv_handler(0x80), KCS, 0, 0xf, 3, true);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, code, sizeof(code)));
	EXPECT_EQ(penv_handler(0x80), c->r[REG_RIP]);
	EXPECT_EQ(0, c->cpl);
	EXPECT_EQ(1, c->icount); // INT retired
	EXPECT_EQ(P_RSP0 - 40, c->r[RSP]);
	EXPECT_EQ(P_UCODE + 2, penv_rd64(mc, c->r[RSP]));
	EXPECT_EQ(UCS, penv_rd64(mc, c->r[RSP] + 8));
	EXPECT_EQ(RFLAGS_IF | RFLAGS_FIXED1, penv_rd64(mc, c->r[RSP] + 16));
	EXPECT_EQ(RFLAGS_IF, c->rflags & RFLAGS_IF); // a trap gate
	fixture_free(mc);
}

/* A gate with DPL < CPL: #GP(vector * 8 + 2), EXT = 0, reported at the INT instruction (SDM 6.12.1.1). */
TEST(priv_int, int_n_through_a_kernel_gate_is_gp)
{
	static const u8 code[] = { 0xcd, 0x81 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, code, sizeof(code)));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	EXPECT_EQ(0x81 * 8 + 2, penv_rd64(mc, c->r[RSP]));
	EXPECT_EQ(P_UCODE, penv_rd64(mc, c->r[RSP] + 8));
	EXPECT_EQ(0, c->icount);
	fixture_free(mc);
}

/* INT3 is checked against the gate's DPL like INT n; INT1 is not (SDM Vol. 2A INT n, "does not apply to INT1"). */
TEST(priv_int, int3_and_int1)
{
	static const u8 int3[] = { 0xcc }, int1[] = { 0xf1 }, into[] = { 0xce };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, int3, sizeof(int3)));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	EXPECT_EQ(VEC_BP * 8 + 2, penv_rd64(mc, c->r[RSP]));
	penv_gate(mc, VEC_BP, penv_handler(VEC_BP), KCS, 0, 0xe, 3, true);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, int3, sizeof(int3)));
	EXPECT_EQ(penv_handler(VEC_BP), c->r[REG_RIP]);
	EXPECT_EQ(P_UCODE + 1, penv_rd64(mc, c->r[RSP]));
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, int1, sizeof(int1)));
	EXPECT_EQ(penv_handler(VEC_DB), c->r[REG_RIP]);
	EXPECT_EQ(P_UCODE + 1, penv_rd64(mc, c->r[RSP]));
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, into, sizeof(into)));
	EXPECT_EQ(penv_handler(VEC_UD), c->r[REG_RIP]); // INTO is invalid in 64-bit mode
	fixture_free(mc);
}

/* No IDT: INT n ends the run with its vector and RIP after it, as INT3 always did. */
TEST(priv_int, int_n_without_idt_stops)
{
	static const u8 code[] = { 0xcd, 0x40 };
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	fixture_load(mc, code, sizeof(code));
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(0x40, c->exc.vector);
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	fixture_free(mc);
}

/* SYSCALL, then SYSRETQ, checked against SDM Vol. 2B's Operation sections. */
TEST(priv_int, syscall_sysret_round_trip)
{
	static const u8 user[] = { 0x0f, 0x05, 0xf4 }, kernel[] = { 0x48, 0x0f, 0x07 };
	const u64 fmask = RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC;
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->efer |= EFER_SCE;
	c->lstar = P_KCODE;
	c->sfmask = fmask;
	penv_put(mc, P_KCODE, kernel, sizeof(kernel));
	penv_user_code(mc, user, sizeof(user));
	flags_set(c, RFLAGS_IF | RFLAGS_DF | RFLAGS_CF);
	c->r[RCX] = c->r[R11] = 0x1111;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(P_KCODE, c->r[REG_RIP]);
	EXPECT_EQ(P_UCODE + 2, c->r[RCX]);
	EXPECT_EQ(RFLAGS_IF | RFLAGS_DF | RFLAGS_CF | RFLAGS_FIXED1, c->r[R11]);
	EXPECT_EQ(RFLAGS_CF | RFLAGS_FIXED1, flags_get(c));
	EXPECT_EQ(0, c->cpl);
	EXPECT_EQ(KCS, c->seg[SREG_CS].sel);
	EXPECT_EQ(KDS, c->seg[SREG_SS].sel);
	EXPECT_EQ(AR_KCODE, c->seg[SREG_CS].attr);
	EXPECT_EQ(P_USTACK, c->r[RSP]); // SYSCALL does not switch stacks
	c->r[R11] |= RFLAGS_RF | RFLAGS_VM | (1ULL << 3); // SYSRET clears RF, VM and reserved bits
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(P_UCODE + 2, c->r[REG_RIP]);
	EXPECT_EQ(3, c->cpl);
	EXPECT_EQ(UCS, c->seg[SREG_CS].sel); // STAR[63:48] + 16, RPL 3
	EXPECT_EQ(UDS, c->seg[SREG_SS].sel); // STAR[63:48] + 8, RPL 3
	EXPECT_EQ(AR_UCODE, c->seg[SREG_CS].attr);
	EXPECT_EQ(RFLAGS_IF | RFLAGS_DF | RFLAGS_CF | RFLAGS_FIXED1, flags_get(c));
	EXPECT_EQ(2, c->icount);
	fixture_free(mc);
}

/* SYSCALL with EFER.SCE = 0 is #UD; SYSRET at CPL 3 is #GP(0); SYSRET without REX.W (compatibility mode) is #UD. */
TEST(priv_int, syscall_sysret_faults)
{
	static const u8 syscall[] = { 0x0f, 0x05 }, sysretq[] = { 0x48, 0x0f, 0x07 }, sysret32[] = { 0x0f, 0x07 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, syscall, sizeof(syscall)));
	EXPECT_EQ(penv_handler(VEC_UD), c->r[REG_RIP]);
	c->efer |= EFER_SCE;
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, sysretq, sizeof(sysretq)));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	fixture_load(mc, sysret32, sizeof(sysret32));
	c->r[RCX] = P_UCODE;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_UD), c->r[REG_RIP]);
	fixture_free(mc);
}

/*
 * SYSRET with a non-canonical RCX raises #GP(0) before leaving CPL 0, so
 * the handler's frame is on the kernel's own stack with the kernel's CS
 * (SDM Vol. 2B SYSRET: the check happens before the privilege change).
 */
TEST(priv_int, sysret_noncanonical_rcx_faults_at_cpl0)
{
	static const u8 sysretq[] = { 0x48, 0x0f, 0x07 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->efer |= EFER_SCE;
	fixture_load(mc, sysretq, sizeof(sysretq));
	c->r[RCX] = 0x0000800000000000ULL;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	EXPECT_EQ(0, c->cpl);
	EXPECT_EQ(FIX_STACK - 48, c->r[RSP]);
	EXPECT_EQ(0, penv_rd64(mc, c->r[RSP]));
	EXPECT_EQ(FIX_CODE, penv_rd64(mc, c->r[RSP] + 8));
	EXPECT_EQ(KCS, penv_rd64(mc, c->r[RSP] + 16));
	fixture_free(mc);
}

/* SWAPGS exchanges GS.base and IA32_KERNEL_GS_BASE; #GP(0) at CPL 3. */
TEST(priv_int, swapgs)
{
	static const u8 swapgs[] = { 0x0f, 0x01, 0xf8 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	fixture_load(mc, swapgs, sizeof(swapgs));
	c->seg_base[SEG_GS] = 0x1000;
	c->kernel_gs_base = 0x2000;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x2000, c->seg_base[SEG_GS]);
	EXPECT_EQ(0x1000, c->kernel_gs_base);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, swapgs, sizeof(swapgs)));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	EXPECT_EQ(0x2000, c->seg_base[SEG_GS]);
	fixture_free(mc);
}

/* Writes an IRET frame (RIP, CS, RFLAGS, RSP, SS) at rsp. */
static void iret_frame(struct machine *mc, u64 rsp, u64 rip, u64 cs, u64 rflags, u64 new_rsp, u64 ss)
{
	u64 f[5] = { rip, cs, rflags, new_rsp, ss };
	penv_put(mc, rsp, f, sizeof(f));
}

static const u8 iretq[] = { 0x48, 0xcf };

/* IRETQ from CPL 0 to CPL 3: every register of the frame, and DS (kernel data, DPL 0) becomes null. */
TEST(priv_int, iretq_to_user)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	fixture_load(mc, iretq, sizeof(iretq));
	c->r[RSP] = FIX_STACK - 40;
	iret_frame(mc, c->r[RSP], P_UCODE, UCS, RFLAGS_IF | RFLAGS_CF | RFLAGS_IOPL | RFLAGS_FIXED1, P_USTACK, UDS);
	EXPECT_EQ(KDS, c->seg[SREG_DS].sel);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(P_UCODE, c->r[REG_RIP]);
	EXPECT_EQ(3, c->cpl);
	EXPECT_EQ(UCS, c->seg[SREG_CS].sel);
	EXPECT_EQ(UDS, c->seg[SREG_SS].sel);
	EXPECT_EQ(P_USTACK, c->r[RSP]);
	EXPECT_EQ(RFLAGS_IF | RFLAGS_CF | RFLAGS_IOPL | RFLAGS_FIXED1, flags_get(c)); // CPL 0 may set IOPL
	EXPECT_EQ(0, c->seg[SREG_DS].sel);
	EXPECT_TRUE(c->seg[SREG_DS].attr & AR_UNUSABLE);
	EXPECT_EQ(1, penv_gdt_get(mc, UCS) >> 40 & 1); // the accessed bit is set on load
	fixture_free(mc);
}

/* IRETQ at CPL 3 cannot change IOPL, nor IF when CPL > IOPL (SDM Vol. 2B IRET, Operation). */
TEST(priv_int, iretq_at_user_keeps_iopl_and_if)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_user_code(mc, iretq, sizeof(iretq));
	c->r[RSP] = P_USTACK - 40;
	iret_frame(mc, c->r[RSP], P_UCODE + 0x100, UCS, RFLAGS_IOPL | RFLAGS_ZF | RFLAGS_FIXED1, P_USTACK - 0x200, UDS);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(P_UCODE + 0x100, c->r[REG_RIP]);
	EXPECT_EQ(P_USTACK - 0x200, c->r[RSP]);
	EXPECT_EQ(RFLAGS_IF | RFLAGS_ZF | RFLAGS_FIXED1, flags_get(c));
	fixture_free(mc);
}

/* IRETQ to the same level in 64-bit mode still pops SS:RSP; a null SS is allowed at CPL 0. */
TEST(priv_int, iretq_same_level)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	fixture_load(mc, iretq, sizeof(iretq));
	c->r[RSP] = FIX_STACK - 40;
	iret_frame(mc, c->r[RSP], FIX_CODE + 0x40, KCS, RFLAGS_FIXED1, FIX_STACK - 0x100, 0);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 0x40, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK - 0x100, c->r[RSP]);
	EXPECT_EQ(0, c->seg[SREG_SS].sel);
	EXPECT_EQ(KDS, c->seg[SREG_DS].sel); // no privilege change: DS stays
	fixture_free(mc);
}

/* IRETQ's checks on the new CS and SS (SDM Vol. 2B IRET, "PROTECTED-MODE-RETURN"); each faults at the IRETQ. */
TEST(priv_int, iretq_checks)
{
	static const struct {
		bool user;      // run the IRETQ at CPL 3
		u64 rip, cs, rflags, ss;
		u8 vec;
		u32 err;
	} cases[] = {
		{ true, P_UCODE, KCS, 0x2, KDS, VEC_GP, KCS },              // RPL 0 < CPL 3
		{ false, FIX_CODE, 0, 0x2, KDS, VEC_GP, 0 },                // null CS
		{ false, FIX_CODE, KDS, 0x2, KDS, VEC_GP, KDS },            // data segment as CS
		{ false, FIX_CODE, NP_CS, 0x2, KDS, VEC_NP, NP_CS },        // not present
		{ false, FIX_CODE, UCS32, 0x2, UDS, VEC_GP, UCS32 & ~3 },   // compatibility mode: not modeled
		{ false, FIX_CODE, UCS & ~3, 0x2, KDS, VEC_GP, UCS & ~3 },  // non-conforming: DPL 3 != RPL 0
		{ false, 0x0000800000000000ULL, KCS, 0x2, KDS, VEC_GP, 0 }, // non-canonical RIP
		{ false, P_UCODE, UCS, 0x2, 0, VEC_GP, 0 },                 // null SS to CPL 3
		{ false, P_UCODE, UCS, 0x2, KDS, VEC_GP, KDS },             // SS.RPL != CS.RPL
		{ false, FIX_CODE, KCS, 0x2, RO_DS, VEC_GP, RO_DS },        // SS not writable
		{ false, FIX_CODE, KCS, 0x2, NP_DS, VEC_SS, NP_DS },        // SS not present
		{ false, FIX_CODE, KCS, 0x2, UDS, VEC_GP, UDS & ~3 },       // SS.RPL 3 != CS.RPL 0
	};
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		u64 rsp = cases[k].user ? P_USTACK - 40 : FIX_STACK - 40;
		if (cases[k].user)
			penv_user_code(mc, iretq, sizeof(iretq));
		else
			fixture_load(mc, iretq, sizeof(iretq)); // at CPL 0, where the previous case's handler left it
		u64 code_at = c->r[REG_RIP];
		c->r[RSP] = rsp;
		iret_frame(mc, rsp, cases[k].rip, cases[k].cs, cases[k].rflags, rsp, cases[k].ss);
		EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
		EXPECT_EQ(penv_handler(cases[k].vec), c->r[REG_RIP]);
		EXPECT_EQ(cases[k].err, penv_rd64(mc, c->r[RSP]));
		EXPECT_EQ(code_at, penv_rd64(mc, c->r[RSP] + 8));
	}
	fixture_free(mc);
}

/* IRETQ with RFLAGS.NT = 1 asks for a task return, which IA-32e mode does not have: #GP(0). */
TEST(priv_int, iretq_with_nt_is_gp)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	fixture_load(mc, iretq, sizeof(iretq));
	c->r[RSP] = FIX_STACK - 40;
	iret_frame(mc, c->r[RSP], FIX_CODE, KCS, 0x2, FIX_STACK, KDS);
	c->rflags |= RFLAGS_NT;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	EXPECT_EQ(0, penv_rd64(mc, c->r[RSP]));
	fixture_free(mc);
}

/* A handler that returns with IRETQ: the interrupted user code goes on where it was. */
TEST(priv_int, int_then_iretq_resumes_user)
{
	static const u8 user[] = { 0xcd, 0x80, 0xcd, 0x80 }, handler[] = { 0x48, 0xff, 0xc0, 0x48, 0xcf }; // inc rax; iretq
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_put(mc, P_KCODE, handler, sizeof(handler));
	penv_gate(mc, 0x80, P_KCODE, KCS, 0, 0xe, 3, true);
	penv_user_code(mc, user, sizeof(user));
	c->r[RAX] = 0;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_run(mc, 6));
	EXPECT_EQ(2, c->r[RAX]);
	EXPECT_EQ(P_UCODE + 4, c->r[REG_RIP]);
	EXPECT_EQ(3, c->cpl);
	EXPECT_EQ(P_USTACK, c->r[RSP]);
	EXPECT_EQ(UDS, c->seg[SREG_SS].sel);
	EXPECT_EQ(RFLAGS_IF, c->rflags & RFLAGS_IF);
	fixture_free(mc);
}

/* POPF at CPL 3 (SDM Vol. 2B POPF, Operation): IOPL never changes; IF changes only when CPL <= IOPL. */
TEST(priv_int, popf_at_user_follows_iopl)
{
	static const u8 popf[] = { 0x9d };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_user_code(mc, popf, sizeof(popf));
	c->r[RSP] = P_USTACK - 8;
	penv_wr64(mc, P_USTACK - 8, RFLAGS_ZF | RFLAGS_FIXED1); // IF = 0, IOPL = 0
	flags_set(c, RFLAGS_IF | RFLAGS_IOPL);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(RFLAGS_ZF | RFLAGS_IOPL | RFLAGS_FIXED1, flags_get(c)); // IOPL 3 lets CPL 3 clear IF
	penv_user_code(mc, popf, sizeof(popf));
	c->r[RSP] = P_USTACK - 8;
	penv_wr64(mc, P_USTACK - 8, RFLAGS_ZF | RFLAGS_IOPL | RFLAGS_FIXED1);
	flags_set(c, RFLAGS_IF);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(RFLAGS_ZF | RFLAGS_IF | RFLAGS_FIXED1, flags_get(c)); // IOPL 0: IF and IOPL kept
	fixture_free(mc);
}
