/* SPDX-License-Identifier: MIT */
/*
 * External interrupts in the run loop (cpu.c): taken at instruction
 * boundaries when RFLAGS.IF = 1, held off for one instruction after STI
 * and MOV SS (SDM Vol. 3A 6.8.3), masked by the TPR (CR8), waking HLT,
 * and delivered through the IDT with the frame of SDM Vol. 3A figure
 * 6-9. The interrupts come from this vCPU's x2APIC (apic.h): a self IPI,
 * or the timer.
 */
#include "priv_env.h"
#include "test.h"

#include "cpu/apic.h"
#include "cpu/flags.h"

#define VEC 0x40

/* Software-enables the APIC (SVR bit 8, spurious vector 0xFF). */
static void apic_on(struct cpu *c)
{
	EXPECT_EQ(0, apic_msr_write(c, 0x80f, 0x1ff));
}

/* Makes vector v pending with a self IPI (x2APIC SELF IPI register, SDM 11.12.11). */
static void raise_irq(struct cpu *c, unsigned v)
{
	EXPECT_EQ(0, apic_msr_write(c, 0x83f, v));
	cpu_kick(c);
}

/* Returns whether vector v is in service (ISR bit set: accepted by delivery). */
static bool in_service(struct cpu *c, unsigned v)
{
	u64 isr = 0;
	EXPECT_EQ(0, apic_msr_read(c, 0x810 + v / 32, &isr));
	return (isr >> (v % 32)) & 1;
}

static struct machine *setup(const u8 *code, size_t len, u64 rflags)
{
	struct machine *mc = penv_new();
	if (!mc)
		return NULL;
	struct cpu *c = fixture_cpu(mc);
	apic_on(c);
	fixture_load(mc, code, len);
	flags_set(c, rflags);
	return mc;
}

/* With IF = 1 a pending interrupt is taken before the next instruction: frame RIP is that instruction, RF clear. */
TEST(priv_irq, taken_when_if_set)
{
	static const u8 code[] = { 0x90, 0x90, 0xf4 };
	struct machine *mc = setup(code, sizeof(code), RFLAGS_IF);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	raise_irq(c, VEC);
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 100));
	EXPECT_EQ(penv_handler(VEC) + 1, c->r[REG_RIP]);
	EXPECT_EQ(FIX_CODE, penv_rd64(mc, c->r[RSP]));
	EXPECT_EQ(RFLAGS_IF | RFLAGS_FIXED1, penv_rd64(mc, c->r[RSP] + 16));
	EXPECT_TRUE(in_service(c, VEC));
	EXPECT_EQ(-1, apic_pending_vector(c));
	fixture_free(mc);
}

/* With IF = 0 it stays pending, and HLT stops the run for good. */
TEST(priv_irq, held_while_if_clear)
{
	static const u8 code[] = { 0x90, 0xf4 };
	struct machine *mc = setup(code, sizeof(code), 0);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	raise_irq(c, VEC);
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 100));
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	EXPECT_TRUE(c->halted);
	EXPECT_EQ(VEC, apic_pending_vector(c));
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 100));
	fixture_free(mc);
}

/*
 * STI holds interrupts off until the next instruction has retired (SDM
 * Vol. 2B STI): single steps show the NOP after STI running first.
 */
TEST(priv_irq, sti_shadow)
{
	static const u8 code[] = { 0xfb, 0x90, 0x90, 0xf4 };
	struct machine *mc = setup(code, sizeof(code), 0);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	raise_irq(c, VEC);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1)); // STI
	EXPECT_EQ(FIX_CODE + 1, c->r[REG_RIP]);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1)); // the shadowed NOP
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	EXPECT_EQ(CPU_STOP_HLT, fixture_step(mc, 1)); // the interrupt, then the handler's HLT
	EXPECT_EQ(penv_handler(VEC) + 1, c->r[REG_RIP]);
	EXPECT_EQ(FIX_CODE + 2, penv_rd64(mc, c->r[RSP]));
	fixture_free(mc);
}

/* `STI; HLT` with an interrupt already pending: HLT runs, and the interrupt wakes it at once. */
TEST(priv_irq, sti_hlt_wakes)
{
	static const u8 code[] = { 0xfb, 0xf4, 0xf4 };
	struct machine *mc = setup(code, sizeof(code), 0);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	raise_irq(c, VEC);
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 100));
	EXPECT_EQ(penv_handler(VEC) + 1, c->r[REG_RIP]);
	EXPECT_EQ(FIX_CODE + 2, penv_rd64(mc, c->r[RSP])); // returns after the HLT
	EXPECT_EQ(3, c->icount);                           // STI, HLT, the handler's HLT
	fixture_free(mc);
}

/* MOV SS holds interrupts off for the next instruction too (SDM Vol. 2B MOV). */
TEST(priv_irq, mov_ss_shadow)
{
	static const u8 code[] = { 0x8e, 0xd0, 0x90, 0x90, 0xf4 }; // mov ss, ax; nop; nop; hlt
	struct machine *mc = setup(code, sizeof(code), RFLAGS_IF);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[RAX] = KDS;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	raise_irq(c, VEC);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1)); // shadowed
	EXPECT_EQ(FIX_CODE + 3, c->r[REG_RIP]);
	EXPECT_EQ(CPU_STOP_HLT, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 3, penv_rd64(mc, c->r[RSP]));
	fixture_free(mc);
}

/* POPF that sets IF has no shadow: the interrupt comes right after it. */
TEST(priv_irq, popf_setting_if)
{
	static const u8 code[] = { 0x68, 0x02, 0x02, 0x00, 0x00, 0x9d, 0x90, 0xf4 }; // push 0x202; popf; nop; hlt
	struct machine *mc = setup(code, sizeof(code), 0);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	raise_irq(c, VEC);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 2));
	EXPECT_EQ(CPU_STOP_HLT, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 6, penv_rd64(mc, c->r[RSP]));
	fixture_free(mc);
}

/* CR8 (TPR[7:4]) at or above an interrupt's priority class holds it; lowering it lets it in. */
TEST(priv_irq, cr8_masks)
{
	static const u8 code[] = { 0x44, 0x0f, 0x22, 0xc0, 0x90, 0xf4 }; // mov cr8, rax; nop; hlt
	struct machine *mc = setup(code, sizeof(code), RFLAGS_IF);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(0, apic_msr_write(c, 0x808, 0x40)); // class 4: vector 0x40 is held
	raise_irq(c, VEC);
	c->r[RAX] = 0;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 4, c->r[REG_RIP]);
	EXPECT_EQ(CPU_STOP_HLT, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 4, penv_rd64(mc, c->r[RSP]));
	fixture_free(mc);
}

/* An interrupt at CPL 3 switches to RSP0 like an exception, with no error code and RF clear. */
TEST(priv_irq, user_mode_interrupt)
{
	static const u8 loop[] = { 0xeb, 0xfe }; // jmp $
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	apic_on(c);
	penv_user_code(mc, loop, sizeof(loop));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_run(mc, 50));
	raise_irq(c, VEC);
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 50));
	EXPECT_EQ(P_RSP0 - 40, c->r[RSP]);
	EXPECT_EQ(P_UCODE, penv_rd64(mc, c->r[RSP]));
	EXPECT_EQ(UCS, penv_rd64(mc, c->r[RSP] + 8));
	EXPECT_EQ(RFLAGS_IF | RFLAGS_FIXED1, penv_rd64(mc, c->r[RSP] + 16));
	EXPECT_EQ(P_USTACK, penv_rd64(mc, c->r[RSP] + 24));
	EXPECT_EQ(UDS, penv_rd64(mc, c->r[RSP] + 32));
	EXPECT_EQ(0, c->cpl);
	fixture_free(mc);
}

/* Arms the one-shot APIC timer: vector v after `count` instructions (divide by 1). */
static void timer_arm(struct cpu *c, unsigned v, u32 count)
{
	EXPECT_EQ(0, apic_msr_write(c, 0x83e, 0xb)); // divide by 1
	EXPECT_EQ(0, apic_msr_write(c, 0x832, v));   // LVT timer: one-shot, not masked
	EXPECT_EQ(0, apic_msr_write(c, 0x838, count));
}

/*
 * The timer interrupts a busy loop on time: the run loop cuts its budget
 * at the expiry (apic_update), and `jmp $` is a one-instruction block, so
 * the interrupt comes exactly `count` instructions after arming.
 */
TEST(priv_irq, timer_fires_on_time)
{
	static const u8 loop[] = { 0xeb, 0xfe };
	struct machine *mc = setup(loop, sizeof(loop), RFLAGS_IF);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	timer_arm(c, VEC + 1, 1000);
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 1000000));
	EXPECT_EQ(penv_handler(VEC + 1) + 1, c->r[REG_RIP]);
	EXPECT_EQ(1001, c->icount); // 1000 loop iterations, then the handler's HLT
	fixture_free(mc);
}

/* HLT with IF = 1 waits: cpu_run reports the halt; once time passes (idle), the timer wakes it. */
TEST(priv_irq, hlt_waits_for_the_timer)
{
	static const u8 code[] = { 0xf4, 0xf4 };
	struct machine *mc = setup(code, sizeof(code), RFLAGS_IF);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	timer_arm(c, VEC + 2, 500);
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 100));
	EXPECT_EQ(FIX_CODE + 1, c->r[REG_RIP]);
	EXPECT_TRUE(c->halted);
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 100)); // no time passed: still waiting
	c->idle += 600;                                // what the machine does while it waits
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 100));
	EXPECT_EQ(penv_handler(VEC + 2) + 1, c->r[REG_RIP]);
	EXPECT_EQ(FIX_CODE + 1, penv_rd64(mc, c->r[RSP]));
	fixture_free(mc);
}

/* The whole machine: a guest halts with IF = 1, the machine idles it to the timer, the handler runs. */
TEST(priv_irq, machine_wakes_a_halted_vcpu)
{
	static const u8 code[] = { 0xf4, 0xf4 };
	struct machine *mc = setup(code, sizeof(code), RFLAGS_IF);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	timer_arm(c, VEC + 3, 5000);
	EXPECT_EQ(RUN_HALT, machine_run(mc, 1000000)); // the handler's HLT has IF = 0: nothing can wake it
	EXPECT_EQ(penv_handler(VEC + 3) + 1, c->r[REG_RIP]);
	EXPECT_EQ(FIX_CODE + 1, penv_rd64(mc, c->r[RSP]));
	EXPECT_TRUE(cpu_time(c) >= 5000);
	fixture_free(mc);
}
