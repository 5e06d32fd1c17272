/* SPDX-License-Identifier: MIT */
/*
 * Several vCPUs (src/vmm/machine.c): the start-up state of each vCPU,
 * round-robin turns of a fixed quantum, halted vCPUs gaining idle time
 * and waking on an interrupt (timer or IPI), idle time skipped when every
 * vCPU waits for a far timer, the end of a run when nothing can wake
 * anyone, and determinism: tests/guest/smp_spin.S run twice under `facet
 * run --cpus 4` prints the same bytes and retires the same instructions;
 * tests/guest/smp_apic.S drives the APIC through WRMSR and the IDT.
 *
 * Small programs are placed at FIX_CODE on a machine whose vCPUs all
 * start there (as under `facet run`); each branches on RSI = APIC ID.
 */
#include <stdlib.h>
#include <string.h>

#include "../guest/guest_run.h"
#include "../../abi/bootinfo.h"
#include "cpu/apic.h"
#include "cpu/cpu.h"
#include "fixture.h"
#include "test.h"
#include "vmm/boot.h"
#include "vmm/machine.h"

#define Q 1000 // quantum of the small machines

/* A machine of n vCPUs, all at the entry state with RIP = FIX_CODE, where code is placed. */
static struct machine *smp_machine(unsigned n, const u8 *code, size_t len)
{
	struct machine_config cfg = { .mem_size = FIX_MEM, .ncpus = n, .cmdline = "", .quantum = Q };
	struct machine *mc = machine_new(&cfg);
	if (!mc)
		return NULL;
	struct elf_image img = { .entry = FIX_CODE, .lo = FIX_CODE, .hi = FIX_DATA + 0x10000 };
	char err[128];
	if (boot_setup(&mc->mem, &img, "", n, err, sizeof(err))) {
		machine_free(mc);
		return NULL;
	}
	for (unsigned k = 0; k < n; k++)
		boot_cpu(&mc->cpus[k], &mc->mem, FIX_CODE);
	memcpy(mc->mem.ram + FIX_CODE, code, len);
	return mc;
}

static const u8 spin[] = { 0xeb, 0xfe }; // 1: jmp 1b

/* vCPU 0 spins, the others park: test rsi,rsi; jnz park; 1: jmp 1b; park: cli; 2: hlt; jmp 2b */
static const u8 park_others[] = { 0x48, 0x85, 0xf6, 0x75, 0x02, 0xeb, 0xfe, 0xfa, 0xf4, 0xeb, 0xfd };

/*
 * vCPU 0 parks; the others wait in HLT with interrupts on, then write 7
 * to the exit port: test rsi,rsi; jz park; sti; hlt; mov al,7; out 0xf4,al;
 * park: cli; 1: hlt; jmp 1b
 */
static const u8 wake_then_exit[] = { 0x48, 0x85, 0xf6, 0x74, 0x06, 0xfb, 0xf4, 0xb0,
				     0x07, 0xe6, 0xf4, 0xfa, 0xf4, 0xeb, 0xfd };
#define HALT_ICOUNT 4 // instructions a waiting vCPU retires up to its HLT: test, jz, sti, hlt

/* Every vCPU halts; vCPU 2 with interrupts on: cmp rsi,2; jne 1f; sti; 1: hlt; jmp 1b */
static const u8 all_halt[] = { 0x48, 0x83, 0xfe, 0x02, 0x75, 0x01, 0xfb, 0xf4, 0xeb, 0xfd };

/*
 * The run loop accepts the interrupt that woke a vCPU at once. Until the
 * run loop delivers interrupts the vCPU goes on after HLT and exits with
 * status 7; once it delivers them, the run ends at the delivery (no IDT in
 * these tests). Either way the interrupt reached the vCPU at the same time.
 */
static void expect_woken(struct machine *mc, enum run_result r, unsigned k, int vec)
{
	if (r == RUN_EXIT) {
		EXPECT_EQ(7, mc->exit_status);
		EXPECT_EQ(vec, apic_pending_vector(&mc->cpus[k]));
	} else {
		EXPECT_EQ(RUN_EXCEPTION, r);
		EXPECT_EQ(vec, mc->cpus[k].exc.vector);
	}
	EXPECT_EQ(k, mc->stopped_cpu);
}

TEST(smp, every_vcpu_starts_at_the_entry_with_its_id_and_stack)
{
	struct machine *mc = smp_machine(64, spin, sizeof(spin));
	ASSERT_TRUE(mc != NULL);
	for (unsigned k = 0; k < 64; k++) {
		struct cpu *c = &mc->cpus[k];
		EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);
		EXPECT_EQ(k, c->r[RSI]);
		EXPECT_EQ(FACET_BOOTINFO_ADDR, c->r[RDI]);
		EXPECT_EQ(FIX_MEM - k * FACET_BOOT_STACK_SLICE, c->r[RSP]);
		EXPECT_EQ(0, c->r[RAX] | c->r[RBX] | c->r[RCX] | c->r[RDX] | c->r[R15]);
	}
	struct facet_bootinfo bi;
	memcpy(&bi, mc->mem.ram + FACET_BOOTINFO_ADDR, sizeof(bi));
	EXPECT_EQ(64, bi.ncpus);
	EXPECT_TRUE(bi.stack_bottom <= FIX_MEM - 64 * FACET_BOOT_STACK_SLICE);
	machine_free(mc);
}

/* Turns of exactly one quantum each, in order: with one-instruction blocks, instruction counts are exact. */
TEST(smp, round_robin_turns_of_one_quantum)
{
	struct machine *mc = smp_machine(3, spin, sizeof(spin));
	ASSERT_TRUE(mc != NULL);
	EXPECT_EQ(RUN_LIMIT, machine_run(mc, 10 * Q + Q / 2)); // 3 full rounds, then half of vCPU 0's turn
	EXPECT_EQ(4 * Q, mc->cpus[0].icount);
	EXPECT_EQ(3 * Q + Q / 2, mc->cpus[1].icount);
	EXPECT_EQ(3 * Q, mc->cpus[2].icount);
	EXPECT_EQ(1, mc->stopped_cpu);
	machine_free(mc);
}

/* A parked vCPU costs no instructions, and its clock keeps up with the round as idle time. */
TEST(smp, halted_vcpus_idle_in_step)
{
	struct machine *mc = smp_machine(4, park_others, sizeof(park_others));
	ASSERT_TRUE(mc != NULL);
	EXPECT_EQ(RUN_LIMIT, machine_run(mc, 20 * Q)); // reached in vCPU 0's 20th turn
	EXPECT_EQ(20 * Q - 3 * 4, mc->cpus[0].icount);
	for (unsigned k = 1; k < 4; k++) {
		struct cpu *c = &mc->cpus[k];
		EXPECT_TRUE(c->halted);
		EXPECT_EQ(4, c->icount); // test, jnz, cli, hlt
		EXPECT_EQ(19 * Q, cpu_time(c)); // the end of round 19, the last they had a turn in
	}
	machine_free(mc);
}

/* The last vCPU halts with nothing able to wake any: the run ends, reported on vCPU 0 or the one waiting with IF=1. */
TEST(smp, all_halted_ends_the_run)
{
	struct machine *mc = smp_machine(4, park_others + 7, sizeof(park_others) - 7); // cli; hlt on every vCPU
	ASSERT_TRUE(mc != NULL);
	EXPECT_EQ(RUN_HALT, machine_run(mc, 0));
	EXPECT_EQ(0, mc->stopped_cpu);
	machine_free(mc);
	mc = smp_machine(4, all_halt, sizeof(all_halt));
	ASSERT_TRUE(mc != NULL);
	EXPECT_EQ(RUN_HALT, machine_run(mc, 0));
	EXPECT_EQ(2, mc->stopped_cpu);
	char text[512] = "";
	FILE *f = fmemopen(text, sizeof(text) - 1, "w");
	ASSERT_TRUE(f != NULL);
	machine_report(mc, RUN_HALT, f);
	fclose(f);
	EXPECT_TRUE(strstr(text, "vCPU 2: HLT, and every vCPU is halted") != NULL);
	machine_free(mc);
}

/* Programs vCPU c's timer: one-shot, vector vec, divide by div_code, count. */
static void arm_timer(struct cpu *c, u32 vec, u32 div_code, u32 count)
{
	EXPECT_EQ(0, apic_msr_write(c, 0x80F, 0x1FF));
	EXPECT_EQ(0, apic_msr_write(c, 0x832, vec));
	EXPECT_EQ(0, apic_msr_write(c, 0x83E, div_code));
	EXPECT_EQ(0, apic_msr_write(c, 0x838, count));
}

/* A vCPU halted with IF=1 wakes exactly when its timer expires, while the others spin. */
TEST(smp, timer_wakes_a_halted_vcpu_on_time)
{
	struct machine *mc = smp_machine(2, wake_then_exit, sizeof(wake_then_exit));
	ASSERT_TRUE(mc != NULL);
	memcpy(mc->mem.ram + FIX_CODE + 11, spin, sizeof(spin)); // vCPU 0 spins instead of parking
	arm_timer(&mc->cpus[1], 0x40, 0xB, 5 * Q + 123);         // divide by 1
	expect_woken(mc, machine_run(mc, 0), 1, 0x40);
	struct cpu *c = &mc->cpus[1];
	EXPECT_EQ(5 * Q + 123 - HALT_ICOUNT, c->idle); // woke at the expiry
	machine_free(mc);
}

/* Every vCPU waits and the only timer is 2^39 instructions away: time jumps there instead of spinning. */
TEST(smp, idle_time_skipped_to_the_next_timer)
{
	struct machine *mc = smp_machine(3, wake_then_exit, sizeof(wake_then_exit));
	ASSERT_TRUE(mc != NULL);
	arm_timer(&mc->cpus[2], 0x50, 0xA, 0xFFFFFFFF); // divide by 128
	u64 expiry = 0xFFFFFFFFULL << 7;
	expect_woken(mc, machine_run(mc, 0), 2, 0x50);
	EXPECT_EQ(expiry, HALT_ICOUNT + mc->cpus[2].idle); // woke at the expiry
	EXPECT_EQ(HALT_ICOUNT, mc->cpus[1].icount); // vCPU 1 still waits (nothing sent to it)
	EXPECT_TRUE(mc->cpus[1].halted);
	EXPECT_TRUE(cpu_time(&mc->cpus[0]) >= expiry - Q); // the parked vCPU 0 kept up too
	machine_free(mc);
}

/* An IPI sent while vCPU 1 waits wakes it on its next turn. */
TEST(smp, ipi_wakes_a_halted_vcpu)
{
	struct machine *mc = smp_machine(2, wake_then_exit, sizeof(wake_then_exit));
	ASSERT_TRUE(mc != NULL);
	memcpy(mc->mem.ram + FIX_CODE + 11, spin, sizeof(spin));
	EXPECT_EQ(0, apic_msr_write(&mc->cpus[1], 0x80F, 0x1FF));
	EXPECT_EQ(RUN_LIMIT, machine_run(mc, 10 * Q));
	EXPECT_TRUE(mc->cpus[1].halted);
	EXPECT_EQ(0, apic_msr_write(&mc->cpus[0], 0x830, (1ULL << 32) | 0x61)); // fixed, to APIC ID 1
	expect_woken(mc, machine_run(mc, 0), 1, 0x61);
	machine_free(mc);
}

/* Two runs of the same machine from the same state are the same run. */
TEST(smp, machine_runs_are_repeatable)
{
	u64 counts[2][4];
	for (int run = 0; run < 2; run++) {
		struct machine *mc = smp_machine(4, wake_then_exit, sizeof(wake_then_exit));
		ASSERT_TRUE(mc != NULL);
		memcpy(mc->mem.ram + FIX_CODE + 11, spin, sizeof(spin));
		arm_timer(&mc->cpus[3], 0x40, 0x0, 7777);
		machine_run(mc, 0);
		for (unsigned k = 0; k < 4; k++)
			counts[run][k] = cpu_time(&mc->cpus[k]) ^ (mc->cpus[k].icount << 40);
		machine_free(mc);
	}
	EXPECT_EQ(0, memcmp(counts[0], counts[1], sizeof(counts[0])));
}

/* Returns the --stats line of err without its host-time fields, which differ between runs. */
static void stats_without_time(const char *err, char *out, size_t len)
{
	const char *s = strstr(err, "{\"result\"");
	snprintf(out, len, "%s", s ? s : "(no stats)");
	char *t = strstr(out, ",\"seconds\"");
	char *m = t ? strstr(t, ",\"blocks_built\"") : NULL;
	if (t && m)
		memmove(t, m, strlen(m) + 1);
}

/*
 * `facet run --cpus 4` of the SMP guest, twice with the default quantum
 * and twice with a quantum of 37: each pair prints the same bytes (the
 * totals each vCPU saw depend on the interleaving) and retires the same
 * instructions. With one vCPU the guest runs alone.
 */
TEST(smp, guest_runs_are_byte_identical)
{
	char elf[512], facet[512];
	snprintf(elf, sizeof(elf), "%s/tests/guest/smp_spin.elf", test_build_dir());
	snprintf(facet, sizeof(facet), "%s/facet", test_build_dir());
	struct guest_job jobs[5] = {
		{ .argv = { facet, "run", "--cpus", "4", "--stats", elf, NULL } },
		{ .argv = { facet, "run", "--cpus", "4", "--stats", elf, NULL } },
		{ .argv = { facet, "run", "--cpus", "4", "--quantum", "37", "--stats", elf, NULL } },
		{ .argv = { facet, "run", "--cpus", "4", "--quantum", "37", "--stats", elf, NULL } },
		{ .argv = { facet, "run", "--cpus", "1", elf, NULL } },
	};
	guest_jobs_run(jobs, 5, 120);
	for (int k = 0; k < 5; k++)
		if (jobs[k].status != 0)
			test_fail(__FILE__, __LINE__, "run %d: exit status %d\n%s", k, jobs[k].status, jobs[k].err);
	for (int k = 0; k < 4; k += 2) {
		EXPECT_STREQ(jobs[k].out, jobs[k + 1].out);
		char s0[512], s1[512];
		stats_without_time(jobs[k].err, s0, sizeof(s0));
		stats_without_time(jobs[k + 1].err, s1, sizeof(s1));
		EXPECT_STREQ(s0, s1);
		for (int id = 0; id < 4; id++) {
			char line[64];
			snprintf(line, sizeof(line), "vCPU %d arrives ", id);
			EXPECT_TRUE(strstr(jobs[k].out, line) != NULL);
		}
		EXPECT_LINE("cpus 4", jobs[k].out, "total 30000"); // 3000 * (1 + 2 + 3 + 4)
		EXPECT_LINE("cpus 4", jobs[k].out, "vCPU 3 done at 30000");
	}
	EXPECT_TRUE(strcmp(jobs[0].out, jobs[2].out) != 0); // another quantum, another interleaving
	EXPECT_LINE("cpus 1", jobs[4].out, "vCPU 0 arrives 0");
	EXPECT_LINE("cpus 1", jobs[4].out, "total 3000");
	guest_jobs_free(jobs, 5);
}

/*
 * tests/guest/smp_apic.S: the APIC programmed through WRMSR, interrupts
 * through the guest's IDT: the periodic timer wakes HLT on time, the TPR
 * holds a self IPI back, IPIs by APIC ID and to all others reach every
 * vCPU. On 1, 4 and 64 vCPUs, the 4-vCPU run twice for byte equality.
 */
TEST(smp, guest_apic_timer_tpr_and_ipis)
{
	char elf[512], facet[512];
	snprintf(elf, sizeof(elf), "%s/tests/guest/smp_apic.elf", test_build_dir());
	snprintf(facet, sizeof(facet), "%s/facet", test_build_dir());
	static const char *const cpus[] = { "1", "4", "4", "64" };
	static const char *const pongs[] = { "pongs 0 acks ", "pongs 6 acks ", "pongs 6 acks ", "pongs 126 acks " };
	struct guest_job jobs[4] = { 0 };
	for (int k = 0; k < 4; k++) {
		const char **a = jobs[k].argv;
		a[0] = facet, a[1] = "run", a[2] = "--cpus", a[3] = cpus[k], a[4] = "--stats", a[5] = elf;
	}
	guest_jobs_run(jobs, 4, 120);
	for (int k = 0; k < 4; k++) {
		if (jobs[k].status != 0)
			test_fail(__FILE__, __LINE__, "--cpus %s: exit status %d\n%s%s", cpus[k], jobs[k].status,
				  jobs[k].out, jobs[k].err);
		EXPECT_LINE(cpus[k], jobs[k].out, "timer ticks 10, tsc ok");
		EXPECT_LINE(cpus[k], jobs[k].out, "tpr ok");
		EXPECT_TRUE(strstr(jobs[k].out, pongs[k]) != NULL);
	}
	EXPECT_STREQ(jobs[1].out, jobs[2].out);
	char s1[512], s2[512];
	stats_without_time(jobs[1].err, s1, sizeof(s1));
	stats_without_time(jobs[2].err, s2, sizeof(s2));
	EXPECT_STREQ(s1, s2);
	guest_jobs_free(jobs, 4);
}

/* --cpus and --quantum take whole numbers in range; anything else is a usage error (status 2). */
TEST(smp, bad_cpu_and_quantum_options)
{
	char elf[512], facet[512];
	snprintf(elf, sizeof(elf), "%s/tests/guest/smp_spin.elf", test_build_dir());
	snprintf(facet, sizeof(facet), "%s/facet", test_build_dir());
	static const char *const bad[][2] = { { "--cpus", "0" },     { "--cpus", "65" },   { "--cpus", "two" },
					      { "--cpus", "-1" },    { "--quantum", "0" }, { "--quantum", "1x" } };
	struct guest_job jobs[ARRAY_SIZE(bad) + 2] = { 0 };
	for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
		const char **a = jobs[k].argv;
		a[0] = facet, a[1] = "run", a[2] = bad[k][0], a[3] = bad[k][1], a[4] = elf;
	}
	const char **a = jobs[ARRAY_SIZE(bad)].argv; // the largest machine works
	a[0] = facet, a[1] = "run", a[2] = "--cpus", a[3] = "64", a[4] = elf;
	a = jobs[ARRAY_SIZE(bad) + 1].argv; // and so does the smallest quantum
	a[0] = facet, a[1] = "run", a[2] = "--cpus", a[3] = "3", a[4] = "--quantum", a[5] = "1", a[6] = elf;
	guest_jobs_run(jobs, ARRAY_SIZE(jobs), 120);
	for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
		EXPECT_EQ(2, jobs[k].status);
		EXPECT_TRUE(strstr(jobs[k].err, bad[k][0]) != NULL);
	}
	EXPECT_EQ(0, jobs[ARRAY_SIZE(bad)].status);
	EXPECT_LINE("cpus 64", jobs[ARRAY_SIZE(bad)].out, "total 6240000"); // 3000 * 64 * 65 / 2
	EXPECT_EQ(0, jobs[ARRAY_SIZE(bad) + 1].status);
	EXPECT_LINE("quantum 1", jobs[ARRAY_SIZE(bad) + 1].out, "total 18000");
	guest_jobs_free(jobs, ARRAY_SIZE(jobs));
}

/* An issue-2 guest (single-threaded, built with guest/lib) gives the same output on 1 and 64 vCPUs. */
TEST(smp, single_threaded_guest_on_many_vcpus)
{
	char elf[512], facet[512];
	guest_elf_path(elf, sizeof(elf), "sort", guest_main_variant);
	snprintf(facet, sizeof(facet), "%s/facet", test_build_dir());
	struct guest_job jobs[2] = {
		{ .argv = { facet, "run", "--cpus", "1", elf, NULL } },
		{ .argv = { facet, "run", "--cpus", "64", "--quantum", "100", elf, NULL } },
	};
	guest_jobs_run(jobs, 2, 300);
	EXPECT_EQ(0, jobs[0].status);
	EXPECT_EQ(0, jobs[1].status);
	EXPECT_STREQ(jobs[0].out, jobs[1].out);
	guest_jobs_free(jobs, 2);
}
