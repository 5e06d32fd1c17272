/* SPDX-License-Identifier: MIT */
/*
 * Preemption by the APIC timer: a spinner (an endless loop without system
 * calls) runs beside the workers, on 1 vCPU (where only the timer can take
 * the vCPU from it) and on 2 vCPUs with two spinners (one per vCPU). The
 * workers must still finish with their results; the spinners are
 * background work (bg=spinner), stopped by the kernel at the end. A run
 * where the spinner is not background ends at the tick limit instead.
 */
#include <string.h>

#include "../unit/test.h"
#include "kernel_test.h"

static void check_preempted(const struct kernel_run *r, unsigned spinners)
{
	const char *out = r->job.out;
	char label[64], prefix[96];
	snprintf(label, sizeof(label), "preemption on %u vCPUs", r->cpus);
	EXPECT_KERNEL_STATUS(r, 0);
	if (!out)
		return;
	EXPECT_LINE(label, out, "sha: abc ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	EXPECT_LINE(label, out, "primes: 78498 below 1000000");
	EXPECT_LINE(label, out, "sleeper: 3 sleeps of 3 ticks ok");
	EXPECT_LINE(label, out, "spinner: pid 1 spinning");
	snprintf(prefix, sizeof(prefix), "kernel: summary: %u processes: 3 exited, 0 killed, %u stopped;", 3 + spinners,
		 spinners);
	EXPECT_TRUE(kernel_find_line(out, prefix) != NULL);
	EXPECT_LINE(label, out, "kernel: pid 1 spinner.elf: stopped");
}

TEST(kernel, spinner_does_not_stop_the_others)
{
	struct kernel_run runs[2] = {
		{ .cpus = 1, .cmdline = "bg=spinner", .apps = { "spinner", "sha", "primes", "sleeper" } },
		{ .cpus = 2, .cmdline = "bg=spinner", .apps = { "spinner", "sha", "primes", "sleeper", "spinner" } },
	};
	kernel_runs(runs, 2);
	check_preempted(&runs[0], 1);
	check_preempted(&runs[1], 2);
	kernel_runs_free(runs, 2);
}

TEST(kernel, tick_limit_stops_a_spinner)
{
	struct kernel_run r = { .cpus = 1, .cmdline = "maxticks=50", .apps = { "spinner", "hello" } };
	kernel_runs(&r, 1);
	EXPECT_KERNEL_STATUS(&r, 0);
	if (r.job.out) {
		EXPECT_LINE("tick limit", r.job.out, "hello: pid 2 on cpu 0");
		EXPECT_LINE("tick limit", r.job.out, "kernel: tick limit 50 reached: stopping every process");
		EXPECT_LINE("tick limit", r.job.out, "kernel: pid 1 spinner.elf: stopped");
	}
	kernel_runs_free(&r, 1);
}
