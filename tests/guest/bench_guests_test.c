/* SPDX-License-Identifier: MIT */
/*
 * The TLB and system-call benchmark guests at small sizes, in every build
 * variant, against results computed natively here, so that the workloads
 * `make bench` times are also checked:
 * - bench_tlb4k / bench_tlb2m (guest/apps/bench_tlb.h): the signature
 *   words, then the random reads and writes, replayed on a host array;
 *   both page sizes must give the same checksum, and "map ok" says every
 *   4 KiB of the buffer was where the guest's own page tables put it;
 * - bench_syscall (bench_syscall.c and _asm.S): the two processes, the
 *   kernel's per-call folding and its switch rule, replayed step by step;
 *   with fault=1, process 1's HLT at CPL 3 must come back as #GP.
 */
#include <stdlib.h>
#include <string.h>

#include "../../guest/lib/rand.h"
#include "../unit/test.h"
#include "guest_run.h"

#define TLB_MIB 4
#define TLB_ACCESSES 200000
#define TLB_CMDLINE "mib=4 accesses=200000"

/* bench_tlb's checksum: zeroed buffer, one signature word per 4 KiB, then the access loop. */
static uint64_t tlb_expect(uint64_t mib, uint64_t n)
{
	uint64_t words = mib << 17;
	uint64_t *buf = calloc(words, sizeof(*buf));
	if (!buf)
		return 0;
	for (uint64_t c = 0; c < words / 512; c++)
		buf[c * 512 + ((c * 131) & 511)] = (c + 1) * 0x9e3779b97f4a7c15ull;
	struct rng r;
	rng_seed(&r, 0x7b1e5eedull);
	uint64_t sum = CHECKSUM_INIT;
	for (uint64_t k = 0; k < n; k++) {
		uint64_t v = rng_next(&r), i = ((v >> 32) * words) >> 32;
		if (v & 0x100)
			buf[i] = v ^ sum;
		else
			sum = checksum_add(sum, buf[i]);
	}
	free(buf);
	return sum;
}

static void check_tlb(const char *run, const char *out, const char *name, unsigned page_kib)
{
	char line[200];
	snprintf(line, sizeof(line), "%s: %d MiB in %u KiB pages, %d accesses, map ok, checksum=%016llx", name,
		 TLB_MIB, page_kib, TLB_ACCESSES, (unsigned long long)tlb_expect(TLB_MIB, TLB_ACCESSES));
	EXPECT_LINE(run, out, line);
}

static void check_tlb4k(const char *run, const char *out)
{
	check_tlb(run, out, "bench_tlb4k", 4);
}

static void check_tlb2m(const char *run, const char *out)
{
	check_tlb(run, out, "bench_tlb2m", 2048);
}

TEST(guest, bench_tlb4k_small)
{
	guest_app_run("bench_tlb4k", TLB_CMDLINE, check_tlb4k);
}

TEST(guest, bench_tlb2m_small)
{
	guest_app_run("bench_tlb2m", TLB_CMDLINE, check_tlb2m);
}

/* One process of bench_syscall: its user registers and data word, and the kernel's view of it. */
struct sim_proc {
	uint64_t acc, left, data; // the ring-3 loop's R14, R12 and data page word
	uint64_t state, result;   // the kernel's
	int alive;
};

struct sim_result {
	uint64_t syscalls, switches, checksum;
};

/* One system call of process p (pid); returns whether the kernel then looks for the other process. */
static int sim_call(struct sim_proc *p, unsigned pid, uint64_t *trace, uint64_t syscalls, uint64_t every)
{
	if (!p->left) { // BSYS_SYS_EXIT(acc, data)
		p->result = checksum_add(checksum_add(p->state, p->acc), p->data);
		p->alive = 0;
		return 1;
	}
	p->state = checksum_add(p->state, p->acc ^ p->left << 32); // BSYS_SYS_MIX(acc, left)
	*trace = checksum_add(*trace, p->state + pid);
	p->data += p->state; // user_fold in bench_syscall_asm.S
	p->acc ^= p->state;
	p->acc = p->acc << 13 | p->acc >> 51;
	p->left--;
	return syscalls % every == 0;
}

/* Replays bench_syscall with calls calls per process and a switch every every system calls. */
static struct sim_result syscall_expect(uint64_t calls, uint64_t every)
{
	struct sim_proc pr[2];
	for (unsigned pid = 0; pid < 2; pid++)
		pr[pid] = (struct sim_proc){ .acc = (pid + 1) * 0x9e3779b97f4a7c15ull, .left = calls,
					     .state = CHECKSUM_INIT + pid, .alive = 1 };
	struct sim_result r = { 0 };
	uint64_t trace = CHECKSUM_INIT;
	unsigned cur = 0;
	for (;;) {
		r.syscalls++;
		if (!sim_call(&pr[cur], cur, &trace, r.syscalls, every))
			continue;
		if (pr[cur ^ 1].alive) {
			cur ^= 1;
			r.switches++;
		} else if (!pr[cur].alive) {
			break;
		}
	}
	uint64_t sum = checksum_add(checksum_add(trace, pr[0].result), pr[1].result);
	r.checksum = checksum_add(checksum_add(sum, r.syscalls), r.switches);
	return r;
}

static void check_syscall(const char *run, const char *out, uint64_t calls, uint64_t every)
{
	struct sim_result r = syscall_expect(calls, every);
	char line[200];
	snprintf(line, sizeof(line),
		 "bench_syscall: 2 processes x %llu calls, every %llu: %llu system calls, %llu switches, checksum=%016llx",
		 (unsigned long long)calls, (unsigned long long)every, (unsigned long long)r.syscalls,
		 (unsigned long long)r.switches, (unsigned long long)r.checksum);
	EXPECT_LINE(run, out, line);
}

static void check_syscall_3000_7(const char *run, const char *out)
{
	check_syscall(run, out, 3000, 7);
}

static void check_syscall_500_1(const char *run, const char *out)
{
	check_syscall(run, out, 500, 1);
}

static void check_syscall_400_never(const char *run, const char *out)
{
	check_syscall(run, out, 400, 1000000);
}

TEST(guest, bench_syscall_small)
{
	guest_app_run("bench_syscall", "calls=3000 every=7", check_syscall_3000_7);
}

/* Edge cases of the switch rule: a switch on every call; none until a process exits. */
TEST(guest, bench_syscall_switch_rule)
{
	guest_app_run_main("bench_syscall", "calls=500 every=1", check_syscall_500_1);
	guest_app_run_main("bench_syscall", "calls=400 every=1000000", check_syscall_400_never);
}

/* The replay itself: counts that follow from the rule alone, so that it cannot agree with a wrong guest by accident. */
TEST(guest, bench_syscall_replay_counts)
{
	struct sim_result r = syscall_expect(10, 4);
	EXPECT_EQ(22u, r.syscalls); // 10 calls and one exit each
	EXPECT_EQ(5u, r.switches);  // at calls 4, 8, 12, 16, and at process 0's exit (call 19)
	r = syscall_expect(5, 1000);
	EXPECT_EQ(12u, r.syscalls);
	EXPECT_EQ(1u, r.switches);
}

/* fault=1: process 1 starts at a HLT; the #GP goes through the IDT on the RSP0 stack and is reported. */
TEST(guest, bench_syscall_user_fault)
{
	char elf[512], facet[512];
	guest_elf_path(elf, sizeof(elf), "bench_syscall", guest_main_variant);
	snprintf(facet, sizeof(facet), "%s/facet", test_build_dir());
	struct guest_job j = { .argv = { facet, "run", "--cmdline", "fault=1 calls=50 every=5", elf, NULL } };
	guest_jobs_run(&j, 1, 60);
	EXPECT_EQ(3, j.status);
	const char *want = "bench_syscall: exception 13, error 0, at 0x2b:0x80000000";
	if (!strstr(j.out, want) || !strstr(j.out, ", process 1\n"))
		test_fail(__FILE__, __LINE__, "want a line starting \"%s\" and naming process 1, got:\n%.500s\n%.1000s",
			  want, j.out, j.err);
	guest_jobs_free(&j, 1);
}
