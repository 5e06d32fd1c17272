/* SPDX-License-Identifier: MIT */
/*
 * Determinism: the same kernel run (workers, a spinner, attacks, #PF
 * probes on 4 vCPUs) twice gives byte-identical console output and the
 * same instruction count in the --stats JSON line.
 */
#include <string.h>

#include "../unit/test.h"
#include "kernel_test.h"

/* Returns the "instructions" number of a --stats line, or 0. */
static unsigned long long stats_instructions(const char *err)
{
	const char *p = err ? strstr(err, "\"instructions\":") : NULL;
	unsigned long long n = 0;
	if (p)
		sscanf(p + strlen("\"instructions\":"), "%llu", &n);
	return n;
}

TEST(kernel, same_run_twice_is_identical)
{
	struct kernel_run runs[2];
	for (int k = 0; k < 2; k++)
		runs[k] = (struct kernel_run){ .cpus = 4, .stats = true, .cmdline = "bg=spinner",
					       .apps = { "sum", "spinner", "attack", "sha", "pfprobe", "sleeper" } };
	kernel_runs(runs, 2);
	EXPECT_KERNEL_STATUS(&runs[0], 0);
	EXPECT_KERNEL_STATUS(&runs[1], 0);
	if (runs[0].job.out && runs[1].job.out && strcmp(runs[0].job.out, runs[1].job.out))
		test_fail(__FILE__, __LINE__, "the two runs' console output differs");
	unsigned long long n0 = stats_instructions(runs[0].job.err), n1 = stats_instructions(runs[1].job.err);
	EXPECT_TRUE(n0 > 0);
	EXPECT_EQ(n0, n1);
	kernel_runs_free(runs, 2);
}
