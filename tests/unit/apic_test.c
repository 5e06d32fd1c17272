/* SPDX-License-Identifier: MIT */
/*
 * The x2APIC (src/cpu/apic.c) through its functions, on a machine of four
 * vCPUs that never runs: register reset values, #GP on every kind of bad
 * access, priorities (IRR, ISR, TPR, PPR, EOI), IPIs by destination and
 * shorthand, the timer in one-shot and periodic modes on instruction
 * time, and the wake-up answer the scheduler uses. Time is moved by
 * hand through icount and idle, as the run loop and the machine would.
 */
#include "cpu/apic.h"

#include "cpu/cpu.h"
#include "test.h"
#include "vmm/machine.h"

#define MSR_ID 0x802
#define MSR_VERSION 0x803
#define MSR_TPR 0x808
#define MSR_PPR 0x80A
#define MSR_EOI 0x80B
#define MSR_LDR 0x80D
#define MSR_SVR 0x80F
#define MSR_ISR0 0x810
#define MSR_TMR0 0x818
#define MSR_IRR0 0x820
#define MSR_ESR 0x828
#define MSR_ICR 0x830
#define MSR_LVT_TIMER 0x832
#define MSR_LVT_LINT0 0x835
#define MSR_LVT_ERROR 0x837
#define MSR_INIT 0x838
#define MSR_CURRENT 0x839
#define MSR_DCR 0x83E
#define MSR_SELF_IPI 0x83F

#define SVR_ON 0x1FF       // software enabled, spurious vector 0xFF
#define LVT_MASKED 0x10000
#define LVT_PERIODIC 0x20000
#define DCR_DIV1 0xB
#define DCR_DIV4 0x1

static struct machine *machine4(void)
{
	struct machine_config cfg = { .mem_size = 16ULL << 20, .ncpus = 4 };
	return machine_new(&cfg);
}

static u64 rd(struct cpu *c, u32 msr)
{
	u64 v = 0xdeadbeef;
	EXPECT_EQ(0, apic_msr_read(c, msr, &v));
	return v;
}

static int wr(struct cpu *c, u32 msr, u64 v)
{
	return apic_msr_write(c, msr, v);
}

/* Software-enables every APIC of the machine. */
static void enable_all(struct machine *mc)
{
	for (unsigned k = 0; k < mc->ncpus; k++)
		EXPECT_EQ(0, wr(&mc->cpus[k], MSR_SVR, SVR_ON));
}

TEST(apic, reset_state)
{
	struct machine *mc = machine4();
	ASSERT_TRUE(mc != NULL);
	for (unsigned k = 0; k < 4; k++) {
		struct cpu *c = &mc->cpus[k];
		EXPECT_EQ(k, rd(c, MSR_ID));
		EXPECT_EQ(0x50014, rd(c, MSR_VERSION)); // version 0x14, six LVT entries
		EXPECT_EQ(1u << k, rd(c, MSR_LDR));      // cluster 0, bit id[3:0]
		EXPECT_EQ(0xFF, rd(c, MSR_SVR));         // software-disabled
		EXPECT_EQ(0, rd(c, MSR_TPR));
		EXPECT_EQ(0, rd(c, MSR_PPR));
		EXPECT_EQ(LVT_MASKED, rd(c, MSR_LVT_TIMER));
		EXPECT_EQ(LVT_MASKED, rd(c, MSR_LVT_ERROR));
		EXPECT_EQ(0, rd(c, MSR_CURRENT));
		EXPECT_EQ(0, rd(c, MSR_DCR));
		EXPECT_EQ(UINT64_MAX, apic_update(c));
		EXPECT_EQ(-1, apic_pending_vector(c));
		u64 base = APIC_BASE_ADDR | APIC_BASE_EN | APIC_BASE_EXTD | (k == 0 ? APIC_BASE_BSP : 0);
		EXPECT_EQ(base, apic_base_read(c));
		EXPECT_EQ(0, apic_base_write(c, base));
		EXPECT_EQ(-1, apic_base_write(c, base & ~APIC_BASE_EXTD)); // back to xAPIC mode: invalid
	}
	machine_free(mc);
}

/* x2APIC cluster IDs: APIC ID 17 is cluster 1, bit 1 (SDM 11.12.10.2). */
TEST(apic, logical_id_of_high_cluster)
{
	struct machine_config cfg = { .mem_size = 16ULL << 20, .ncpus = 18 };
	struct machine *mc = machine_new(&cfg);
	ASSERT_TRUE(mc != NULL);
	EXPECT_EQ(0x10002, rd(&mc->cpus[17], MSR_LDR));
	machine_free(mc);
}

TEST(apic, bad_accesses_are_gp)
{
	struct machine *mc = machine4();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = &mc->cpus[0];
	u64 v;
	static const u32 absent[] = { 0x7FF, 0x800, 0x801, 0x804, 0x809, 0x80C, 0x80E, 0x829, 0x82F,
				      0x831, 0x83A, 0x83D, 0x840, 0x8FF, 0x900 };
	for (unsigned k = 0; k < ARRAY_SIZE(absent); k++) {
		EXPECT_EQ(-1, apic_msr_read(c, absent[k], &v));
		EXPECT_EQ(-1, wr(c, absent[k], 0));
	}
	static const u32 read_only[] = { MSR_ID, MSR_VERSION, MSR_PPR, MSR_LDR, MSR_ISR0, 0x817, MSR_TMR0,
					 MSR_IRR0, 0x827, MSR_CURRENT };
	for (unsigned k = 0; k < ARRAY_SIZE(read_only); k++)
		EXPECT_EQ(-1, wr(c, read_only[k], 0));
	EXPECT_EQ(-1, apic_msr_read(c, MSR_EOI, &v));      // write-only
	EXPECT_EQ(-1, apic_msr_read(c, MSR_SELF_IPI, &v)); // write-only
	EXPECT_EQ(-1, wr(c, MSR_EOI, 1));                  // only 0 in x2APIC mode
	EXPECT_EQ(-1, wr(c, MSR_ESR, 1));
	EXPECT_EQ(-1, wr(c, MSR_TPR, 0x100));
	EXPECT_EQ(-1, wr(c, MSR_TPR, 1ULL << 32));          // 63:32 reserved
	EXPECT_EQ(-1, wr(c, MSR_SVR, 0x1000 | SVR_ON));     // EOI-broadcast suppression not offered
	EXPECT_EQ(-1, wr(c, MSR_LVT_TIMER, 0x40000 | 0x40)); // TSC-deadline mode not offered
	EXPECT_EQ(-1, wr(c, MSR_LVT_TIMER, 0x60000 | 0x40)); // reserved mode
	EXPECT_EQ(-1, wr(c, MSR_LVT_TIMER, 0x1000 | 0x40));  // delivery status is read-only
	EXPECT_EQ(-1, wr(c, MSR_LVT_ERROR, 0x400 | 0x40));   // no delivery mode in the error entry
	EXPECT_EQ(-1, wr(c, MSR_DCR, 0x4));
	EXPECT_EQ(-1, wr(c, MSR_SELF_IPI, 0x100));
	EXPECT_EQ(-1, wr(c, MSR_ICR, 0x1000 | 0x40));        // delivery status
	EXPECT_EQ(-1, wr(c, MSR_ICR, 0x2000 | 0x40));        // bit 13
	EXPECT_EQ(-1, wr(c, MSR_ICR, 0x300 | 0x40));         // delivery mode 011
	EXPECT_EQ(-1, wr(c, MSR_ICR, 0x700 | 0x40));         // delivery mode 111
	EXPECT_EQ(0, rd(c, MSR_ICR));                        // no failed write stuck
	EXPECT_EQ(LVT_MASKED, rd(c, MSR_LVT_TIMER));
	EXPECT_EQ(0, wr(c, MSR_LVT_LINT0, 0x1A700));          // LINT0: ExtINT, level, masked: storage only
	EXPECT_EQ(0x1A700, rd(c, MSR_LVT_LINT0));
	machine_free(mc);
}

/* SDM 11.8.3: the highest IRR class above PPR is delivered; TPR and in-service classes hold lower ones back. */
TEST(apic, priorities_tpr_isr_eoi)
{
	struct machine *mc = machine4();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = &mc->cpus[0];
	enable_all(mc);
	EXPECT_EQ(0, wr(c, MSR_SELF_IPI, 0x31));
	EXPECT_EQ(0, wr(c, MSR_SELF_IPI, 0x52));
	EXPECT_EQ(0, wr(c, MSR_SELF_IPI, 0x58));
	EXPECT_EQ((1u << 0x11), rd(c, MSR_IRR0 + 1));
	EXPECT_EQ((1u << 0x12) | (1u << 0x18), rd(c, MSR_IRR0 + 2));
	EXPECT_EQ(0x58, apic_pending_vector(c));
	EXPECT_EQ(0, wr(c, MSR_TPR, 0x50)); // class 5 and below held back
	EXPECT_EQ(-1, apic_pending_vector(c));
	EXPECT_EQ(0x50, rd(c, MSR_PPR));
	EXPECT_EQ(0, wr(c, MSR_TPR, 0x4F)); // class 4: 0x5x may go
	EXPECT_EQ(0x4F, rd(c, MSR_PPR));
	EXPECT_EQ(0x58, apic_pending_vector(c));
	apic_ack(c, 0x58);
	EXPECT_EQ(1u << 0x18, rd(c, MSR_ISR0 + 2));
	EXPECT_EQ(0x50, rd(c, MSR_PPR));             // in-service class 5 above TPR class 4
	EXPECT_EQ(-1, apic_pending_vector(c));        // 0x52 waits: same class as the one in service
	EXPECT_EQ(0, wr(c, MSR_SELF_IPI, 0x61));
	EXPECT_EQ(0x61, apic_pending_vector(c));      // a higher class nests
	apic_ack(c, 0x61);
	EXPECT_EQ(0x60, rd(c, MSR_PPR));
	EXPECT_EQ(0, wr(c, MSR_EOI, 0));              // ends 0x61, the highest in service
	EXPECT_EQ(1u << 0x18, rd(c, MSR_ISR0 + 2));
	EXPECT_EQ(0, rd(c, MSR_ISR0 + 3));
	EXPECT_EQ(-1, apic_pending_vector(c));
	EXPECT_EQ(0, wr(c, MSR_EOI, 0));              // ends 0x58
	EXPECT_EQ(0x52, apic_pending_vector(c));
	EXPECT_EQ(0, wr(c, MSR_TPR, 0));
	apic_ack(c, 0x52);
	EXPECT_EQ(0, wr(c, MSR_EOI, 0));
	EXPECT_EQ(0x31, apic_pending_vector(c));
	apic_ack(c, 0x31);
	EXPECT_EQ(0, wr(c, MSR_EOI, 0));
	EXPECT_EQ(-1, apic_pending_vector(c));
	EXPECT_EQ(0, wr(c, MSR_EOI, 0)); // nothing in service: no effect
	EXPECT_EQ(0, rd(c, MSR_PPR));
	EXPECT_EQ(0, rd(c, MSR_TMR0 + 1)); // edge-triggered only
	machine_free(mc);
}

/* A software-disabled APIC discards fixed interrupts, and its LVT entries stay masked (SDM 11.4.7.2). */
TEST(apic, software_disabled_discards)
{
	struct machine *mc = machine4();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = &mc->cpus[1];
	EXPECT_EQ(0, wr(c, MSR_SELF_IPI, 0x40));
	EXPECT_EQ(-1, apic_pending_vector(c));
	EXPECT_EQ(0, wr(c, MSR_LVT_TIMER, 0x40));
	EXPECT_EQ(LVT_MASKED | 0x40, rd(c, MSR_LVT_TIMER));
	EXPECT_EQ(0, wr(c, MSR_SVR, SVR_ON));
	EXPECT_EQ(0, wr(c, MSR_LVT_TIMER, 0x40));
	EXPECT_EQ(0x40, rd(c, MSR_LVT_TIMER));
	EXPECT_EQ(0, wr(c, MSR_SELF_IPI, 0x40));
	EXPECT_EQ(0x40, apic_pending_vector(c));
	EXPECT_EQ(0, wr(c, MSR_SVR, 0xFF)); // disabling masks every entry, keeps the IRR
	EXPECT_EQ(LVT_MASKED | 0x40, rd(c, MSR_LVT_TIMER));
	EXPECT_EQ(0x40, apic_pending_vector(c));
	machine_free(mc);
}

/* Returns a bit mask of the vCPUs whose IRR holds vec, clearing it. */
static unsigned take_irr(struct machine *mc, unsigned vec)
{
	unsigned got = 0;
	for (unsigned k = 0; k < mc->ncpus; k++) {
		struct cpu *c = &mc->cpus[k];
		if (apic_pending_vector(c) == (int)vec) {
			got |= 1u << k;
			apic_ack(c, (int)vec);
			EXPECT_EQ(0, wr(c, MSR_EOI, 0));
		}
	}
	return got;
}

TEST(apic, ipi_destinations_and_shorthands)
{
	struct machine *mc = machine4();
	ASSERT_TRUE(mc != NULL);
	enable_all(mc);
	struct cpu *c1 = &mc->cpus[1];
	EXPECT_EQ(0, wr(c1, MSR_ICR, (2ULL << 32) | 0x40)); // physical, APIC ID 2
	EXPECT_EQ(0x4, take_irr(mc, 0x40));
	EXPECT_EQ((2ULL << 32) | 0x40, rd(c1, MSR_ICR));
	EXPECT_EQ(0, wr(c1, MSR_ICR, (9ULL << 32) | 0x40)); // no such APIC ID: nobody
	EXPECT_EQ(0, take_irr(mc, 0x40));
	EXPECT_EQ(0, wr(c1, MSR_ICR, (0xFFFFFFFFULL << 32) | 0x41)); // broadcast ID
	EXPECT_EQ(0xF, take_irr(mc, 0x41));
	EXPECT_EQ(0, wr(c1, MSR_ICR, (1ULL << 18) | 0x42)); // self
	EXPECT_EQ(0x2, take_irr(mc, 0x42));
	EXPECT_EQ(0, wr(c1, MSR_ICR, (2ULL << 18) | 0x43)); // all including self
	EXPECT_EQ(0xF, take_irr(mc, 0x43));
	EXPECT_EQ(0, wr(c1, MSR_ICR, (3ULL << 18) | 0x44)); // all excluding self
	EXPECT_EQ(0xD, take_irr(mc, 0x44));
	EXPECT_EQ(0, wr(c1, MSR_ICR, (0x9ULL << 32) | 0x800 | 0x45)); // logical: cluster 0, IDs 0 and 3
	EXPECT_EQ(0x9, take_irr(mc, 0x45));
	EXPECT_EQ(0, wr(c1, MSR_ICR, (0x10009ULL << 32) | 0x800 | 0x45)); // cluster 1: nobody here
	EXPECT_EQ(0, take_irr(mc, 0x45));
	EXPECT_EQ(0, wr(c1, MSR_ICR, (0xCULL << 32) | 0x900 | 0x46)); // lowest priority among 2 and 3
	EXPECT_EQ(0x4, take_irr(mc, 0x46));
	machine_free(mc);
}

/* INIT, start-up, NMI and SMI messages are accepted and change nothing (apic.h); illegal vectors are errors. */
TEST(apic, ipi_other_modes_and_illegal_vectors)
{
	struct machine *mc = machine4();
	ASSERT_TRUE(mc != NULL);
	enable_all(mc);
	struct cpu *c0 = &mc->cpus[0], *c2 = &mc->cpus[2];
	static const u64 modes[] = { 0x200, 0x400, 0xC500, 0x8500, 0x600 | 0x10 }; // SMI, NMI, INIT, INIT deassert, SIPI
	for (unsigned k = 0; k < ARRAY_SIZE(modes); k++) {
		EXPECT_EQ(0, wr(c0, MSR_ICR, (2ULL << 32) | modes[k]));
		EXPECT_EQ(-1, apic_pending_vector(c2));
	}
	EXPECT_EQ(0, wr(c0, MSR_ICR, (2ULL << 32) | 0x0F)); // fixed vector 15: illegal
	EXPECT_EQ(-1, apic_pending_vector(c2));
	EXPECT_EQ(0, rd(c0, MSR_ESR)); // not latched until written
	EXPECT_EQ(0, wr(c0, MSR_ESR, 0));
	EXPECT_EQ(0x20, rd(c0, MSR_ESR)); // send illegal vector
	EXPECT_EQ(0, wr(c2, MSR_ESR, 0));
	EXPECT_EQ(0x40, rd(c2, MSR_ESR)); // receive illegal vector
	EXPECT_EQ(0, wr(c2, MSR_ESR, 0));
	EXPECT_EQ(0, rd(c2, MSR_ESR)); // the next write clears
	EXPECT_EQ(0, wr(c2, MSR_LVT_ERROR, 0x33));
	EXPECT_EQ(0, wr(c2, MSR_SELF_IPI, 0x02)); // illegal again, now with the error interrupt unmasked
	EXPECT_EQ(0x33, apic_pending_vector(c2));
	machine_free(mc);
}

/* Moves c's time forward by n instructions, as retiring them would. */
static void tick(struct cpu *c, u64 n)
{
	c->icount += n;
}

TEST(apic, timer_one_shot)
{
	struct machine *mc = machine4();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = &mc->cpus[0];
	enable_all(mc);
	tick(c, 1000);
	EXPECT_EQ(0, wr(c, MSR_LVT_TIMER, 0x40));
	EXPECT_EQ(0, wr(c, MSR_DCR, DCR_DIV1));
	EXPECT_EQ(0, wr(c, MSR_INIT, 100));
	EXPECT_EQ(100, rd(c, MSR_INIT));
	EXPECT_EQ(100, rd(c, MSR_CURRENT));
	EXPECT_EQ(100, apic_update(c));
	tick(c, 60);
	c->idle += 39; // halted time counts too
	EXPECT_EQ(1, rd(c, MSR_CURRENT));
	EXPECT_EQ(1, apic_update(c));
	EXPECT_EQ(-1, apic_pending_vector(c));
	tick(c, 1);
	EXPECT_EQ(UINT64_MAX, apic_update(c)); // expired: one-shot stops
	EXPECT_EQ(0x40, apic_pending_vector(c));
	EXPECT_EQ(0, rd(c, MSR_CURRENT));
	EXPECT_EQ(100, rd(c, MSR_INIT));
	tick(c, 10000);
	EXPECT_EQ(UINT64_MAX, apic_update(c));
	EXPECT_EQ(0, wr(c, MSR_INIT, 5)); // a new count restarts it
	EXPECT_EQ(5, apic_update(c));
	EXPECT_EQ(0, wr(c, MSR_INIT, 0)); // zero stops it
	EXPECT_EQ(UINT64_MAX, apic_update(c));
	machine_free(mc);
}

/* Periodic mode with divide by 4: 10 ticks = 40 instructions; late updates give one interrupt, same phase. */
TEST(apic, timer_periodic)
{
	struct machine *mc = machine4();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = &mc->cpus[3];
	enable_all(mc);
	EXPECT_EQ(0, wr(c, MSR_LVT_TIMER, LVT_PERIODIC | 0x40));
	EXPECT_EQ(0, wr(c, MSR_DCR, DCR_DIV4));
	EXPECT_EQ(0, wr(c, MSR_INIT, 10));
	EXPECT_EQ(40, apic_update(c));
	tick(c, 3);
	EXPECT_EQ(10, rd(c, MSR_CURRENT)); // 3 instructions: not yet a tick
	tick(c, 1);
	EXPECT_EQ(9, rd(c, MSR_CURRENT));
	tick(c, 36);
	EXPECT_EQ(40, apic_update(c)); // expired at 40, reloaded
	EXPECT_EQ(0x40, apic_pending_vector(c));
	apic_ack(c, 0x40);
	EXPECT_EQ(0, wr(c, MSR_EOI, 0));
	EXPECT_EQ(10, rd(c, MSR_CURRENT));
	tick(c, 40 * 1000 + 7); // a thousand periods late: one interrupt, phase kept
	EXPECT_EQ(33, apic_update(c));
	EXPECT_EQ(0x40, apic_pending_vector(c));
	EXPECT_EQ(9, rd(c, MSR_CURRENT));
	EXPECT_EQ(0, wr(c, MSR_LVT_TIMER, LVT_PERIODIC | LVT_MASKED | 0x40));
	apic_ack(c, 0x40);
	EXPECT_EQ(0, wr(c, MSR_EOI, 0));
	tick(c, 33);
	EXPECT_EQ(40, apic_update(c)); // masked: counts on, raises nothing
	EXPECT_EQ(-1, apic_pending_vector(c));
	machine_free(mc);
}

/* A divide change keeps the count left and runs it at the new rate (DIV4 -> DIV1). */
TEST(apic, timer_divide_change)
{
	struct machine *mc = machine4();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = &mc->cpus[0];
	enable_all(mc);
	EXPECT_EQ(0, wr(c, MSR_LVT_TIMER, 0x40));
	EXPECT_EQ(0, wr(c, MSR_DCR, DCR_DIV4));
	EXPECT_EQ(DCR_DIV4, rd(c, MSR_DCR));
	EXPECT_EQ(0, wr(c, MSR_INIT, 100));
	EXPECT_EQ(400, apic_update(c));
	tick(c, 200);
	EXPECT_EQ(50, rd(c, MSR_CURRENT));
	EXPECT_EQ(0, wr(c, MSR_DCR, DCR_DIV1));
	EXPECT_EQ(50, apic_update(c));
	EXPECT_EQ(0, wr(c, MSR_DCR, 0)); // divide by 2, the reset value
	EXPECT_EQ(100, apic_update(c));
	tick(c, 100);
	EXPECT_EQ(UINT64_MAX, apic_update(c));
	EXPECT_EQ(0x40, apic_pending_vector(c));
	machine_free(mc);
}

/* An illegal timer vector raises no timer interrupt but an error (and its interrupt if unmasked). */
TEST(apic, timer_illegal_vector)
{
	struct machine *mc = machine4();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = &mc->cpus[0];
	enable_all(mc);
	EXPECT_EQ(0, wr(c, MSR_LVT_TIMER, 0x05));
	EXPECT_EQ(0, wr(c, MSR_LVT_ERROR, 0xE0));
	EXPECT_EQ(0, wr(c, MSR_DCR, DCR_DIV1));
	EXPECT_EQ(0, wr(c, MSR_INIT, 8));
	EXPECT_EQ(8, apic_wake_time(c)); // the error interrupt will wake it
	tick(c, 8);
	EXPECT_EQ(0, apic_wake_time(c));
	EXPECT_EQ(0xE0, apic_pending_vector(c));
	EXPECT_EQ(0, wr(c, MSR_ESR, 0));
	EXPECT_EQ(0x40, rd(c, MSR_ESR));
	machine_free(mc);
}

/* apic_wake_time: now, at a timer expiry whose vector would be deliverable, or never. */
TEST(apic, wake_time)
{
	struct machine *mc = machine4();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = &mc->cpus[2];
	EXPECT_EQ(UINT64_MAX, apic_wake_time(c));
	enable_all(mc);
	EXPECT_EQ(0, wr(c, MSR_DCR, DCR_DIV1));
	EXPECT_EQ(0, wr(c, MSR_INIT, 50));
	EXPECT_EQ(UINT64_MAX, apic_wake_time(c)); // timer masked
	EXPECT_EQ(0, wr(c, MSR_LVT_TIMER, 0x40));
	EXPECT_EQ(50, apic_wake_time(c));
	EXPECT_EQ(0, wr(c, MSR_TPR, 0x40));
	EXPECT_EQ(UINT64_MAX, apic_wake_time(c)); // vector 0x40 held back by the TPR
	EXPECT_EQ(0, wr(c, MSR_TPR, 0x30));
	tick(c, 20);
	EXPECT_EQ(30, apic_wake_time(c));
	EXPECT_EQ(0, wr(c, MSR_SELF_IPI, 0x20)); // class 2 <= TPR class 3: pending, not deliverable
	EXPECT_EQ(30, apic_wake_time(c));
	EXPECT_EQ(0, wr(c, MSR_SELF_IPI, 0x90));
	EXPECT_EQ(0, apic_wake_time(c));
	machine_free(mc);
}

TEST(apic, too_many_cpus_refused)
{
	struct machine_config cfg = { .mem_size = 16ULL << 20, .ncpus = MACHINE_MAX_CPUS + 1 };
	EXPECT_TRUE(machine_new(&cfg) == NULL);
	cfg.ncpus = MACHINE_MAX_CPUS;
	struct machine *mc = machine_new(&cfg);
	ASSERT_TRUE(mc != NULL);
	EXPECT_EQ(63, rd(&mc->cpus[63], MSR_ID));
	machine_free(mc);
}
