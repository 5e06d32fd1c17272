/* SPDX-License-Identifier: MIT */
/*
 * #PF error codes and CR2, cause by cause (guest/user/pfprobe.c, SDM Vol.
 * 3A 4.7): each probe child announces the address it will touch and the
 * error code the SDM gives for it; the kernel's line for that pid must
 * carry exactly that error code and address (CR2), and a fetch from an
 * NX page must fault with RIP = CR2. The error codes are also checked
 * against this table, so a wrong expectation in the probe cannot hide a
 * wrong CPU.
 */
#include <string.h>

#include "../unit/test.h"
#include "kernel_test.h"

static const struct cause {
	const char *name;
	unsigned err; // P=1 W=2 U=4 RSVD=8 I=16
} causes[] = {
	{ "not-present-read", 0x4 },  { "not-present-write", 0x6 }, { "write-read-only", 0x7 },
	{ "user-to-supervisor", 0x5 }, { "fetch-nx", 0x15 },         { "reserved-bit", 0xd },
};

static void check_cause(const char *out, const struct cause *c)
{
	char prefix[160];
	long pid;
	unsigned long long addr, rip;
	unsigned err;
	snprintf(prefix, sizeof(prefix), "cause %s addr=", c->name);
	const char *l = strstr(out, prefix);
	const char *start = l;
	while (start && start > out && start[-1] != '\n')
		start--;
	if (!l || sscanf(start, "pfprobe: pid %ld cause %*s addr=%llx want err=%x", &pid, &addr, &err) != 3) {
		test_fail(__FILE__, __LINE__, "pfprobe: no announcement of cause %s", c->name);
		return;
	}
	EXPECT_EQ(c->err, err);
	snprintf(prefix, sizeof(prefix), "kernel: pid %ld pfprobe.elf killed: #PF (vector 14) err=%#x addr=%#llx rip=", pid,
		 c->err, addr);
	const char *k = kernel_find_line(out, prefix);
	if (!k) {
		test_fail(__FILE__, __LINE__, "cause %s: want a line starting \"%s\"", c->name, prefix);
		return;
	}
	if (c->err & 0x10 && (sscanf(k + strlen(prefix), "%llx", &rip) != 1 || rip != addr))
		test_fail(__FILE__, __LINE__, "cause %s: a fetch fault wants rip = %#llx: %.120s", c->name, addr, k);
}

TEST(kernel, page_fault_error_codes_and_cr2)
{
	struct kernel_run runs[2] = {
		{ .cpus = 1, .apps = { "pfprobe" } },
		{ .cpus = 2, .apps = { "pfprobe", "sum" } },
	};
	kernel_runs(runs, 2);
	for (int k = 0; k < 2; k++) {
		EXPECT_KERNEL_STATUS(&runs[k], 0);
		if (!runs[k].job.out)
			continue;
		EXPECT_LINE("pfprobe", runs[k].job.out, "pfprobe: 6/6 causes ended by #PF");
		for (size_t c = 0; c < sizeof(causes) / sizeof(causes[0]); c++)
			check_cause(runs[k].job.out, &causes[c]);
	}
	kernel_runs_free(runs, 2);
}
