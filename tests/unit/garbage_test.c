/* SPDX-License-Identifier: MIT */
/*
 * Bad input (issue 3): a guest that programs garbage into its page
 * tables, IDT, GDT, TSS or MSRs and runs random privileged instruction
 * sequences at CPL 0 gets architectural faults or a triple fault, never
 * a host crash, hang or sanitizer report, and every stop leaves a state
 * the SDM allows.
 *
 * The generator and the invariant checks are the fuzz target's
 * (fuzz/fuzz_priv.c, included here so that both run the same code): this
 * file feeds it seeded pseudo-random inputs, so `make test` and `make
 * asan` exercise it without libFuzzer, and holds regression cases for
 * what fuzzing found. A failure names the seed; the input bytes can be
 * regenerated with input_of() and replayed with build/fuzz/fuzz_priv.
 */
#include "../../fuzz/fuzz_priv.c"

#include "priv_env.h"
#include "test.h"

#define SEEDS 1000       // seeded runs per `make test`
#define INPUT_MAX 3072   // bytes per input: enough for every slot's template

/* splitmix64: a small, well-mixed generator for reproducible inputs. */
static u64 mix(u64 *x)
{
	u64 z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Fills buf with the input of seed; returns its length (varied, so short inputs are covered too). */
static size_t input_of(u64 seed, u8 *buf)
{
	u64 x = seed;
	size_t n = 64 + mix(&x) % (INPUT_MAX - 64);
	for (size_t k = 0; k < n; k++)
		buf[k] = (u8)mix(&x);
	return n;
}

TEST(garbage, seeded_random_machines)
{
	static u8 buf[INPUT_MAX];
	char why[256];
	for (u64 seed = 1; seed <= SEEDS; seed++) {
		size_t n = input_of(seed, buf);
		if (fuzz_priv_one(buf, n, why, sizeof(why)))
			test_fail(__FILE__, __LINE__, "seed %llu (%zu bytes): %s", (unsigned long long)seed, n, why);
	}
}

/*
 * Regression (found by fuzz_priv, seed 30 of the seeded runs): a #PF
 * handler on an IST stack whose code page is not executable faults again
 * at its first fetch, forever, and retires nothing. cpu_run used to loop
 * inside its delivery path without end (its budget counted only retired
 * instructions). Each delivered fault now takes one instruction's worth
 * of time and budget (cpu->stalls, cpu->idle), so the run ends on time
 * with no instruction retired, and machine_run reaches its limit.
 */
static struct machine *fault_loop_machine(void)
{
	static const u8 code[] = { 0x48, 0xa1, 0, 0, 0, 0, 0, 0x7f, 0, 0 }; // mov rax, [0x7f0000000000]: not mapped
	struct machine *mc = penv_new();
	if (!mc)
		return NULL;
	penv_gate(mc, VEC_PF, penv_handler(VEC_PF), KCS, 1, DESC_INT_GATE, 0, true);
	u64 *pde = fixture_ptr(mc, 0x5000 + 8 * (P_HANDLERS >> 21)); // boot PD entry of the handlers' 2 MiB page
	*pde |= 1ULL << 63;                                           // NX (EFER.NXE is set at entry)
	tlb_flush_all(&fixture_cpu(mc)->tlb);
	fixture_load(mc, code, sizeof(code));
	return mc;
}

TEST(garbage, refaulting_handler_ends_cpu_run)
{
	struct machine *mc = fault_loop_machine();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_BUDGET, cpu_run(c, 1000));
	EXPECT_EQ(0, c->icount);
	EXPECT_EQ(1000, c->stalls); // the first #PF and 999 at the handler's fetch
	EXPECT_EQ(1000, cpu_time(c));
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(0x11, c->exc.error); // present, instruction fetch
	EXPECT_EQ(penv_handler(VEC_PF), c->cr2);
	EXPECT_EQ(P_IST(1) - 48, c->r[RSP]); // one frame with error code: IST1 is reloaded, the stack never grows
	EXPECT_EQ(CPU_STOP_BUDGET, cpu_step(c));
	EXPECT_EQ(1001, c->stalls);
	fixture_free(mc);
}

TEST(garbage, refaulting_handler_reaches_the_machine_limit)
{
	struct machine *mc = fault_loop_machine();
	ASSERT_TRUE(mc != NULL);
	EXPECT_EQ(RUN_LIMIT, machine_run(mc, 5000));
	EXPECT_EQ(0, machine_icount(mc));
	EXPECT_EQ(5000, fixture_cpu(mc)->stalls);
	fixture_free(mc);
}
