/* SPDX-License-Identifier: MIT */
/*
 * Attacks from user mode (guest/user/attack.c) beside ordinary workers:
 * each attack must end only its own process, with the kernel's line
 *   kernel: pid P attack.elf killed: NAME (vector V) err=E addr=A rip=R
 * naming the right vector, error code and address, while the attack
 * parent, the workers and the kernel go on to a clean end.
 */
#include <stdlib.h>
#include <string.h>

#include "../unit/test.h"
#include "kernel_test.h"

struct want_kill {
	const char *attack; // name in attack.c
	const char *kill;   // the kernel line after "killed: ", up to rip= (or all of it)
	bool rip_is_addr;   // a fetch fault: RIP is the faulting address
};

static const struct want_kill wants[] = {
	{ "kread", "#PF (vector 14) err=0x5 addr=0xffff800000000000 ", false },
	{ "kwrite", "#PF (vector 14) err=0x7 addr=0xffff800000100000 ", false },
	{ "kexec", "#PF (vector 14) err=0x15 addr=0x100000 rip=0x100000", true },
	{ "nxexec", "#PF (vector 14) err=0x15 ", true },
	{ "noncanon", "#GP (vector 13) err=0 ", false },
	{ "cli", "#GP (vector 13) err=0 ", false },
	{ "hlt", "#GP (vector 13) err=0 ", false },
	{ "movcr3", "#GP (vector 13) err=0 ", false },
	{ "wrmsr", "#GP (vector 13) err=0 ", false },
	{ "out", "#GP (vector 13) err=0 ", false },
	{ "lidt", "#GP (vector 13) err=0 ", false },
	{ "swapgs", "#GP (vector 13) err=0 ", false },
	{ "int40", "#GP (vector 13) err=0x202 ", false }, // IDT vector 0x40 * 8 + 2 (IDT bit): SDM Vol. 3A 6.13
	{ "div0", "#DE (vector 0) err=0 ", false },
	{ "ud2", "#UD (vector 6) err=0 ", false },
};

/* Finds the pid the attack parent reported for an attack, then checks the kernel's line for it. */
static void check_attack(const char *out, const struct want_kill *w)
{
	char prefix[128];
	long pid = 0;
	snprintf(prefix, sizeof(prefix), "attack %s: pid ", w->attack);
	const char *l = kernel_find_line(out, prefix);
	if (!l || sscanf(l + strlen(prefix), "%ld", &pid) != 1 || !strstr(l, ": ok")) {
		test_fail(__FILE__, __LINE__, "attack %s: no \"ok\" line from the attack parent", w->attack);
		return;
	}
	snprintf(prefix, sizeof(prefix), "kernel: pid %ld attack.elf killed: %s", pid, w->kill);
	const char *k = kernel_find_line(out, prefix);
	if (!k) {
		test_fail(__FILE__, __LINE__, "attack %s: want a line starting \"%s\"", w->attack, prefix);
		return;
	}
	unsigned long long addr = 1, rip = 2;
	const char *a = strstr(k, "addr="), *r = strstr(k, "rip=");
	if (w->rip_is_addr && (!a || !r || sscanf(a, "addr=%llx", &addr) != 1 || sscanf(r, "rip=%llx", &rip) != 1 ||
			       addr != rip))
		test_fail(__FILE__, __LINE__, "attack %s: a fetch fault wants rip = addr: %.120s", w->attack, k);
}

TEST(kernel, attacks_end_only_their_process)
{
	struct kernel_run runs[2] = {
		{ .cpus = 2, .apps = { "attack", "sum", "hello" } },
		{ .cpus = 4, .apps = { "sum", "attack", "primes", "hello" } },
	};
	kernel_runs(runs, 2);
	for (int k = 0; k < 2; k++) {
		const char *out = runs[k].job.out;
		EXPECT_KERNEL_STATUS(&runs[k], 0);
		if (!out)
			continue;
		EXPECT_LINE("attack", out, "attack: 16/16 ok");
		EXPECT_LINE("attack", out, "attack badptr write(kernel image) = -14: ok");
		EXPECT_LINE("attack", out, "attack badptr spawn(kernel name) = -14: ok");
		EXPECT_TRUE(kernel_find_line(out, "sum: pid ") != NULL);
		EXPECT_TRUE(kernel_find_line(out, "hello: pid ") != NULL);
		EXPECT_LINE("attack", out, "kernel: all processes ended");
		for (size_t w = 0; w < sizeof(wants) / sizeof(wants[0]); w++)
			check_attack(out, &wants[w]);
	}
	EXPECT_TRUE(runs[0].job.out && kernel_find_line(runs[0].job.out, "kernel: summary: 18 processes: 3 exited, 15 killed"));
	kernel_runs_free(runs, 2);
}
