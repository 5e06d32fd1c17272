/* SPDX-License-Identifier: MIT */
/*
 * SMEP and SMAP enforced in the kernel (guest/kernel/ktest.c, ktest=...):
 * a kernel call into a user page faults with #PF error code P|I (0x11),
 * a kernel read of a user page without STAC with P (0x1), and the same
 * read with STAC succeeds. Switching SMEP off on the command line must
 * make the test fail (proof that it can). A fault of the kernel's own
 * ends the run with a report and status 99.
 */
#include "../unit/test.h"
#include "kernel_test.h"

TEST(kernel, smep_smap_enforced)
{
	struct kernel_run runs[3] = {
		{ .cpus = 1, .cmdline = "ktest=smep,smap" },
		{ .cpus = 2, .cmdline = "ktest=smep,smap", .apps = { "hello" } },
		{ .cpus = 1, .cmdline = "ktest=smep nosmep" },
	};
	kernel_runs(runs, 3);
	for (int k = 0; k < 2; k++) {
		const char *out = runs[k].job.out;
		EXPECT_KERNEL_STATUS(&runs[k], 0);
		if (!out)
			continue;
		EXPECT_LINE("ktest", out, "ktest smep: #PF err=0x11 cr2=0x50000000 rip=0x50000000: ok");
		EXPECT_TRUE(kernel_find_line(out, "ktest smap: #PF err=0x1 cr2=0x50000800 rip=0x") != NULL);
		EXPECT_LINE("ktest", out, "ktest smap: read with STAC = 0x5a5a1234c0ffee00: ok");
		EXPECT_LINE("ktest", out, "ktest: 0 failed");
	}
	EXPECT_TRUE(runs[1].job.out && kernel_find_line(runs[1].job.out, "hello: pid 1 on cpu "));
	EXPECT_KERNEL_STATUS(&runs[2], 1);
	EXPECT_TRUE(runs[2].job.out && kernel_find_line(runs[2].job.out, "ktest smep: FAIL: CPUID reports no SMEP"));
	kernel_runs_free(runs, 3);
}

TEST(kernel, kernel_fault_ends_the_run)
{
	struct kernel_run r = { .cpus = 2, .cmdline = "ktest=panic", .apps = { "hello" } };
	kernel_runs(&r, 1);
	EXPECT_KERNEL_STATUS(&r, 99);
	EXPECT_TRUE(r.job.out &&
		    kernel_find_line(r.job.out, "kernel panic: #PF (vector 14) in the kernel on cpu 0: err=0 cr2=0xffffa00000000000"));
	kernel_runs_free(&r, 1);
}
