/* SPDX-License-Identifier: MIT */
/*
 * Exception delivery through the 64-bit IDT (exception.c), on the
 * environment of priv_env.h. Every expected frame, error code and stack
 * comes from the SDM: Vol. 3A 6.12-6.15 (figure 6-9 for the frame, 6.13
 * for error codes, 6.14.2-6.14.5 for 16-byte alignment, RSP0 and IST,
 * table 6-5 for #DF), Vol. 2A INT n pseudo-code for the order of checks.
 * RF in a saved image is 1 for fault-class exceptions (6.8.3, the note on
 * RF); for #DF, an abort whose RF the SDM does not specify, Facet saves 1
 * too, and the #DF frames below expect that choice.
 */
#include "priv_env.h"
#include "test.h"

#include "cpu/flags.h"

static const u8 ud2[] = { 0x0f, 0x0b };
static const u8 hlt[] = { 0xf4 };

/* Checks the frame at RSP: [error code], RIP, CS, RFLAGS, RSP, SS (SDM Vol. 3A figure 6-9). */
static void expect_frame(struct machine *mc, int err, u64 rip, u64 cs, u64 rflags, u64 rsp, u64 ss)
{
	u64 at = fixture_cpu(mc)->r[RSP];
	if (err >= 0) {
		EXPECT_EQ((u64)err, penv_rd64(mc, at));
		at += 8;
	}
	EXPECT_EQ(rip, penv_rd64(mc, at));
	EXPECT_EQ(cs, penv_rd64(mc, at + 8));
	EXPECT_EQ(rflags, penv_rd64(mc, at + 16));
	EXPECT_EQ(rsp, penv_rd64(mc, at + 24));
	EXPECT_EQ(ss, penv_rd64(mc, at + 32));
}

/* A fault at CPL 0 through an interrupt gate: same stack aligned down to 16 bytes, RF set in the image, IF cleared. */
TEST(priv_deliver, fault_at_cpl0_uses_the_current_stack)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	fixture_load(mc, ud2, sizeof(ud2));
	c->r[RSP] = FIX_STACK - 8;
	flags_set(c, RFLAGS_IF | RFLAGS_DF | RFLAGS_CF);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_UD), c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK - 16 - 40, c->r[RSP]); // aligned to FIX_STACK - 16, then 5 slots
	expect_frame(mc, -1, FIX_CODE, KCS, RFLAGS_IF | RFLAGS_DF | RFLAGS_CF | RFLAGS_FIXED1 | RFLAGS_RF, FIX_STACK - 8,
		     KDS);
	EXPECT_EQ(RFLAGS_DF | RFLAGS_CF | RFLAGS_FIXED1, flags_get(c)); // IF cleared by the interrupt gate
	EXPECT_EQ(0, c->cpl);
	EXPECT_EQ(KDS, c->seg[SREG_SS].sel); // no privilege change: SS stays
	EXPECT_EQ(0, c->icount);             // the faulting instruction did not retire
	EXPECT_EQ(CPU_STOP_HLT, fixture_step(mc, 1));
	fixture_free(mc);
}

/* The same through the decoded-block path: cpu_run delivers and goes on into the handler. */
TEST(priv_deliver, fault_in_cpu_run_enters_the_handler)
{
	static const u8 code[] = { 0x90, 0x90, 0x0f, 0x0b }; // nop; nop; ud2
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	fixture_load(mc, code, sizeof(code));
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 100));
	EXPECT_EQ(penv_handler(VEC_UD) + 1, c->r[REG_RIP]);
	EXPECT_EQ(3, c->icount); // two NOPs and the handler's HLT
	expect_frame(mc, -1, FIX_CODE + 2, KCS, RFLAGS_FIXED1 | RFLAGS_RF, FIX_STACK, KDS);
	fixture_free(mc);
}

/*
 * A privileged instruction at CPL 3: #GP(0) on the RSP0 stack with the
 * error code, SS becomes a null selector with RPL 0 (SDM 6.14.4).
 */
TEST(priv_deliver, user_fault_switches_to_rsp0)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, hlt, sizeof(hlt)));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	EXPECT_EQ(0, c->cpl);
	EXPECT_EQ(KCS, c->seg[SREG_CS].sel);
	EXPECT_EQ(0, c->seg[SREG_SS].sel);
	EXPECT_TRUE(c->seg[SREG_SS].attr & AR_UNUSABLE);
	EXPECT_EQ(P_RSP0 - 48, c->r[RSP]);
	expect_frame(mc, 0, P_UCODE, UCS, RFLAGS_IF | RFLAGS_FIXED1 | RFLAGS_RF, P_USTACK, UDS);
	EXPECT_EQ(0, c->rflags & RFLAGS_IF);
	fixture_free(mc);
}

/* IST: the gate's slot is used with or without a privilege change (SDM 6.14.5). */
TEST(priv_deliver, ist_stack)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_gate(mc, VEC_UD, penv_handler(VEC_UD), KCS, 5, 0xe, 0, true);
	fixture_load(mc, ud2, sizeof(ud2));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(P_IST(5) - 40, c->r[RSP]);
	expect_frame(mc, -1, FIX_CODE, KCS, RFLAGS_FIXED1 | RFLAGS_RF, FIX_STACK, KDS);
	penv_gate(mc, VEC_GP, penv_handler(VEC_GP), KCS, 7, 0xe, 0, true);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, hlt, sizeof(hlt)));
	EXPECT_EQ(P_IST(7) - 48, c->r[RSP]);
	expect_frame(mc, 0, P_UCODE, UCS, RFLAGS_IF | RFLAGS_FIXED1 | RFLAGS_RF, P_USTACK, UDS);
	fixture_free(mc);
}

/* A user write to the unmapped page 0: #PF with P = 0, W = 1, U = 1 (SDM Vol. 3A 4.7) and CR2. */
TEST(priv_deliver, user_page_fault_error_code_and_cr2)
{
	static const u8 store[] = { 0x88, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00 }; // mov [0x10], al
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, store, sizeof(store)));
	EXPECT_EQ(penv_handler(VEC_PF), c->r[REG_RIP]);
	EXPECT_EQ(0x10, c->cr2);
	expect_frame(mc, 6, P_UCODE, UCS, RFLAGS_IF | RFLAGS_FIXED1 | RFLAGS_RF, P_USTACK, UDS);
	fixture_free(mc);
}

/* A trap gate leaves IF set (SDM 6.12.1.3). */
TEST(priv_deliver, trap_gate_keeps_if)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_gate(mc, VEC_GP, penv_handler(VEC_GP), KCS, 0, 0xf, 0, true);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, hlt, sizeof(hlt)));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	EXPECT_EQ(RFLAGS_IF, c->rflags & RFLAGS_IF);
	fixture_free(mc);
}

/* Gate checks of a hardware exception carry EXT = 1 and IDT = 1: error vector * 8 + 3 (SDM 6.13). */
TEST(priv_deliver, bad_gates_raise_np_and_gp_with_ext)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_gate(mc, VEC_UD, penv_handler(VEC_UD), KCS, 0, 0xe, 0, false);
	fixture_load(mc, ud2, sizeof(ud2));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_NP), c->r[REG_RIP]);
	expect_frame(mc, VEC_UD * 8 + 3, FIX_CODE, KCS, RFLAGS_FIXED1 | RFLAGS_RF, FIX_STACK, KDS);
	/* A call gate (type 0xC) is not an interrupt or trap gate. */
	penv_gate(mc, VEC_UD, penv_handler(VEC_UD), KCS, 0, 0xc, 0, true);
	fixture_load(mc, ud2, sizeof(ud2));
	c->r[RSP] = FIX_STACK;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	EXPECT_EQ(VEC_UD * 8 + 3, penv_rd64(mc, c->r[RSP]));
	/* Beyond the IDT limit. */
	c->idtr.limit = 6 * 16 - 1; // vectors 0-5
	penv_gate(mc, VEC_UD, penv_handler(VEC_UD), KCS, 0, 0xe, 0, true);
	fixture_load(mc, ud2, sizeof(ud2));
	c->r[RSP] = FIX_STACK;
	EXPECT_EQ(CPU_STOP_TRIPLE_FAULT, fixture_step(mc, 1)); // #GP and #DF are beyond the limit too
	c->shutdown = false;
	c->idtr.limit = 256 * 16 - 1;
	fixture_free(mc);
}

/* The handler's code segment: null, data, DPL > CPL, not present, not 64-bit (SDM Vol. 2A INT n). */
TEST(priv_deliver, bad_handler_segments)
{
	static const struct {
		u16 sel;
		u8 vec;
		u32 err;
	} cases[] = {
		{ 0, VEC_GP, 1 },                 // null: #GP(EXT)
		{ KDS, VEC_GP, KDS | 1 },         // data segment
		{ UCS, VEC_GP, (UCS & ~3) | 1 },  // DPL 3 > CPL 0
		{ NP_CS, VEC_NP, NP_CS | 1 },     // not present
		{ CS32, VEC_GP, CS32 | 1 },       // L = 0: handlers run in 64-bit mode
		{ 0x78, VEC_GP, 0x78 | 1 },       // beyond the GDT limit
	};
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		penv_gate(mc, VEC_UD, penv_handler(VEC_UD), cases[k].sel, 0, 0xe, 0, true);
		fixture_load(mc, ud2, sizeof(ud2));
		c->r[RSP] = FIX_STACK;
		EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
		EXPECT_EQ(penv_handler(cases[k].vec), c->r[REG_RIP]);
		EXPECT_EQ(cases[k].err, penv_rd64(mc, c->r[RSP]));
		EXPECT_EQ(FIX_CODE, penv_rd64(mc, c->r[RSP] + 8)); // still the UD2's fault
	}
	fixture_free(mc);
}

/* A conforming handler segment keeps the CPL: no stack switch, CS gets RPL 3. */
TEST(priv_deliver, conforming_handler_keeps_cpl)
{
	static const u8 int82[] = { 0xcd, 0x82 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_gate(mc, 0x82, penv_handler(0x82), CONF_CS, 0, 0xe, 3, true);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, int82, sizeof(int82)));
	EXPECT_EQ(penv_handler(0x82), c->r[REG_RIP]);
	EXPECT_EQ(3, c->cpl);
	EXPECT_EQ(CONF_CS | 3, c->seg[SREG_CS].sel);
	EXPECT_EQ(UDS, c->seg[SREG_SS].sel);
	EXPECT_EQ(P_USTACK - 40, c->r[RSP]);
	expect_frame(mc, -1, P_UCODE + 2, UCS, RFLAGS_IF | RFLAGS_FIXED1, P_USTACK, UDS);
	fixture_free(mc);
}

/* Stack problems: a non-canonical IST slot (#SS(EXT)), a TSS too short for the slot (#TS(TR, EXT)). */
TEST(priv_deliver, bad_stacks)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_wr64(mc, P_TSS + 36 + 8, 0x0000800000000000ULL); // IST2
	penv_gate(mc, VEC_UD, penv_handler(VEC_UD), KCS, 2, 0xe, 0, true);
	fixture_load(mc, ud2, sizeof(ud2));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_SS), c->r[REG_RIP]);
	EXPECT_EQ(1, penv_rd64(mc, c->r[RSP]));
	/* IST1 is at TSS offset 36: a limit of 0x23 ends before it. */
	c->seg[SREG_TR].limit = 0x23;
	penv_gate(mc, VEC_UD, penv_handler(VEC_UD), KCS, 1, 0xe, 0, true);
	fixture_load(mc, ud2, sizeof(ud2));
	c->r[RSP] = FIX_STACK;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_TS), c->r[REG_RIP]);
	EXPECT_EQ(TSS_SEL | 1, penv_rd64(mc, c->r[RSP]));
	fixture_free(mc);
}

/*
 * Table 6-5: #UD's gate names a null selector (#GP(EXT): benign, then
 * contributory, handled serially), #GP's gate is not present (#NP:
 * contributory during contributory) -> #DF with error code 0, the frame
 * showing the UD2.
 */
TEST(priv_deliver, contributory_twice_is_double_fault)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_gate(mc, VEC_UD, penv_handler(VEC_UD), 0, 0, 0xe, 0, true);
	penv_gate(mc, VEC_GP, penv_handler(VEC_GP), KCS, 0, 0xe, 0, false);
	fixture_load(mc, ud2, sizeof(ud2));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_DF), c->r[REG_RIP]);
	expect_frame(mc, 0, FIX_CODE, KCS, RFLAGS_FIXED1 | RFLAGS_RF, FIX_STACK, KDS);
	fixture_free(mc);
}

/* A fault while delivering #DF is a triple fault: the run ends, the vCPU stays shut down, the report says so. */
TEST(priv_deliver, triple_fault_shuts_down)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_gate(mc, VEC_UD, penv_handler(VEC_UD), 0, 0, 0xe, 0, true);
	penv_gate(mc, VEC_GP, penv_handler(VEC_GP), KCS, 0, 0xe, 0, false);
	penv_gate(mc, VEC_DF, penv_handler(VEC_DF), KCS, 0, 0xe, 0, false);
	fixture_load(mc, ud2, sizeof(ud2));
	EXPECT_EQ(CPU_STOP_TRIPLE_FAULT, fixture_run(mc, 100));
	EXPECT_EQ(VEC_NP, c->exc.vector);
	EXPECT_EQ(VEC_DF * 8 + 3, c->exc.error);
	EXPECT_EQ(VEC_UD, c->exc_first.vector);
	EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK, c->r[RSP]);
	EXPECT_EQ(CPU_STOP_TRIPLE_FAULT, fixture_run(mc, 100));
	EXPECT_EQ(CPU_STOP_TRIPLE_FAULT, fixture_step(mc, 1));
	EXPECT_EQ(RUN_TRIPLE_FAULT, machine_run(mc, 1000));
	char buf[1024] = { 0 };
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	ASSERT_TRUE(f != NULL);
	machine_report(mc, RUN_TRIPLE_FAULT, f);
	fclose(f);
	EXPECT_TRUE(strstr(buf, "triple fault") != NULL);
	EXPECT_TRUE(strstr(buf, "#NP") != NULL && strstr(buf, "#UD") != NULL);
	fixture_free(mc);
}

/*
 * #PF while delivering #GP is handled serially; a #PF while delivering
 * that #PF is a #DF, which an IST stack lets a kernel survive. RSP0
 * points into the unmapped page 0, so the frame's first push (SS, at
 * RSP0 - 8) faults: CR2 = 0xff8, a supervisor write (error code 2).
 */
TEST(priv_deliver, page_fault_on_the_kernel_stack_is_double_fault)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	penv_wr64(mc, P_TSS + 4, 0x1000);
	penv_gate(mc, VEC_DF, penv_handler(VEC_DF), KCS, 1, 0xe, 0, true);
	EXPECT_EQ(CPU_STOP_BUDGET, penv_exec_user(mc, hlt, sizeof(hlt)));
	EXPECT_EQ(penv_handler(VEC_DF), c->r[REG_RIP]);
	EXPECT_EQ(0xff8, c->cr2);
	EXPECT_EQ(P_IST(1) - 48, c->r[RSP]);
	expect_frame(mc, 0, P_UCODE, UCS, RFLAGS_IF | RFLAGS_FIXED1 | RFLAGS_RF, P_USTACK, UDS);
	EXPECT_EQ(0, c->cpl);
	fixture_free(mc);
}

/* With IDTR.limit = 0 (no IDT, as `facet run` starts guests) an exception ends the run as in issue 2. */
TEST(priv_deliver, no_idt_stops_the_run)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->idtr.limit = 0;
	fixture_load(mc, ud2, sizeof(ud2));
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_run(mc, 100));
	EXPECT_EQ(VEC_UD, c->exc.vector);
	EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK, c->r[RSP]);
	fixture_free(mc);
}
