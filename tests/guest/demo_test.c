/* SPDX-License-Identifier: MIT */
/*
 * The demo guest in every build variant; the benchmark guests, at small
 * sizes, in the main variant, against results computed natively here
 * (guest/lib/sha256.c compiled for the host, plain C for the branchy
 * work); and, when qemu-system-x86_64 is installed, the same ELFs under
 * QEMU, whose console output must equal Facet's byte for byte.
 */
#include <stdlib.h>

#include "../../guest/lib/rand.h"
#include "../../guest/lib/sha256.c"
#include "../unit/test.h"
#include "guest_run.h"

static void check_demo(const char *run, const char *out)
{
	EXPECT_LINE(run, out, "  = d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
	EXPECT_LINE(run, out, "34!      = 295232799039604140847618609643520000000 (128-bit multiply, divide by 10 to print)");
	EXPECT_LINE(run, out, "2^127-1  = 170141183460469231731687303715884105727");
	EXPECT_LINE(run, out, "demo: ok");
}

TEST(guest, demo)
{
	guest_app_run("demo", NULL, check_demo);
}

#define HASH_KIB 256

static void check_bench_hash(const char *run, const char *out)
{
	size_t n = (size_t)HASH_KIB << 10;
	uint64_t *data = malloc(n);
	ASSERT_TRUE(data != NULL);
	struct rng r;
	rng_seed(&r, 0x5eed); // as in bench_hash.c
	for (size_t j = 0; j < n / 8; j++)
		data[j] = rng_next(&r);
	char hex[2 * SHA256_DIGEST_SIZE + 1], line[160];
	sha256_hex(data, n, hex);
	free(data);
	snprintf(line, sizeof(line), "bench_hash: %d KiB sha256=%s", HASH_KIB, hex);
	EXPECT_LINE(run, out, line);
}

TEST(guest, bench_hash_small)
{
	guest_app_run_main("bench_hash", "kib=256", check_bench_hash);
}

/* The branchy guest's three results for scale=1, in plain C (bench_branchy.c). */
static void branchy_expected(uint64_t res[3])
{
	uint64_t steps = 0, primes = 0, sieved = 0, n = 500000;
	for (uint64_t k = 1; k <= 1250; k++)
		for (uint64_t x = k; x != 1; steps++)
			x = x % 2 ? 3 * x + 1 : x / 2;
	for (uint64_t k = 2; k < 5000; k++) {
		bool prime = true;
		for (uint64_t d = 2; d * d <= k && prime; d++)
			prime = k % d != 0;
		primes += prime;
	}
	unsigned char *comp = calloc(n, 1);
	for (uint64_t k = 2; comp && k < n; k++)
		if (!comp[k] && ++sieved)
			for (uint64_t m = k * k; m < n; m += k)
				comp[m] = 1;
	free(comp);
	res[0] = steps, res[1] = primes, res[2] = sieved;
}

static void check_bench_branchy(const char *run, const char *out)
{
	uint64_t res[3];
	char line[200];
	branchy_expected(res);
	uint64_t sum = checksum_add(checksum_add(checksum_add(CHECKSUM_INIT, res[0]), res[1]), res[2]);
	snprintf(line, sizeof(line), "bench_branchy: collatz=%llu primes=%llu sieve=%llu checksum=%016llx ok",
		 (unsigned long long)res[0], (unsigned long long)res[1], (unsigned long long)res[2],
		 (unsigned long long)sum);
	EXPECT_LINE(run, out, line);
}

TEST(guest, bench_branchy_small)
{
	uint64_t res[3];
	branchy_expected(res);
	EXPECT_EQ(669, res[1]);   // primes below 5000
	EXPECT_EQ(41538, res[2]); // primes below 500000
	guest_app_run_main("bench_branchy", "scale=1", check_bench_branchy);
}

/*
 * Runs the main variant of each deterministic app under Facet and under
 * QEMU (TCG) at once and compares the console output. QEMU's
 * isa-debug-exit turns status 0 into exit status 1; -no-reboot makes a
 * triple fault (a guest exception: there is no IDT) end QEMU instead of
 * booting the guest again and again.
 */
TEST(guest, same_output_under_qemu)
{
	static const char *const apps[] = { "sha256", "sort", "arith", "recurse", "strings" };
	static const char *const qemu[] = { "qemu-system-x86_64", "-machine", "pc,accel=tcg", "-m", "256",
					    "-nodefaults", "-display", "none", "-device",
					    "isa-debug-exit,iobase=0xf4,iosize=4", "-debugcon", "stdio", "-no-reboot",
					    "-kernel" };
	enum { NAPPS = sizeof(apps) / sizeof(apps[0]), NQ = sizeof(qemu) / sizeof(qemu[0]) };
	_Static_assert(NQ + 2 <= GUEST_MAX_ARGS, "QEMU command line too long for struct guest_job");
	if (!guest_have_program("qemu-system-x86_64")) {
		printf("guest.same_output_under_qemu: skipped, qemu-system-x86_64 is not installed\n");
		return;
	}
	struct guest_job jobs[2 * NAPPS] = { 0 };
	char elf[NAPPS][512], facet[512];
	snprintf(facet, sizeof(facet), "%s/facet", test_build_dir());
	for (int k = 0; k < NAPPS; k++) {
		guest_elf_path(elf[k], sizeof(elf[k]), apps[k], guest_main_variant);
		memcpy(jobs[2 * k].argv, qemu, sizeof(qemu));
		jobs[2 * k].argv[NQ] = elf[k];
		const char **f = jobs[2 * k + 1].argv;
		f[0] = facet, f[1] = "run", f[2] = elf[k];
	}
	guest_jobs_run(jobs, 2 * NAPPS, 600);
	for (int k = 0; k < NAPPS; k++) {
		const struct guest_job *q = &jobs[2 * k], *f = &jobs[2 * k + 1];
		if (q->status != 1) {
			test_fail(__FILE__, __LINE__, "%s under QEMU: exit status %d, want 1 (guest status 0)%s\n%.500s",
				  elf[k], q->status, q->timed_out ? " (timed out)" : "", q->err);
			continue;
		}
		if (f->status != 0 || strcmp(q->out, f->out))
			test_fail(__FILE__, __LINE__,
				  "%s: Facet (status %d) and QEMU disagree; Facet printed %zu bytes, QEMU %zu\n%.1000s", elf[k],
				  f->status, strlen(f->out), strlen(q->out), f->err);
	}
	guest_jobs_free(jobs, 2 * NAPPS);
}
