/* SPDX-License-Identifier: MIT */
/*
 * The same kernel and user programs under QEMU (when qemu-system-x86_64
 * is installed), booted through the kernel's Multiboot header with the
 * programs as Multiboot modules: one vCPU, the xAPIC timer when QEMU's TCG
 * has no x2APIC. The workers' results and the attacks' outcome must be
 * those Facet gives, so that a failure under Facet can be told apart from
 * a kernel bug. (QEMU 7.2 reports a reserved-bit #PF without the P bit,
 * against SDM Vol. 3A 4.7, so pfprobe is left out here.)
 */
#include <stdio.h>
#include <string.h>

#include "../unit/test.h"
#include "kernel_test.h"

TEST(kernel, same_results_under_qemu)
{
	if (!guest_have_program("qemu-system-x86_64"))
		return;
	static const char *const apps[] = { "hello", "sum", "sha", "primes", "sleeper", "attack" };
	char kernel[KT_PATH], initrd[8 * KT_PATH] = "", path[KT_PATH];
	kernel_elf_path(kernel, sizeof(kernel));
	for (size_t k = 0; k < sizeof(apps) / sizeof(apps[0]); k++) {
		kernel_app_path(path, sizeof(path), apps[k]);
		snprintf(initrd + strlen(initrd), sizeof(initrd) - strlen(initrd), "%s%s", k ? "," : "", path);
	}
	struct guest_job j = { .argv = { "qemu-system-x86_64", "-kernel", kernel, "-initrd", initrd, "-cpu", "max",
					 "-m", "256", "-display", "none", "-nodefaults", "-no-reboot", "-debugcon",
					 "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", NULL } };
	guest_jobs_run(&j, 1, 120);
	EXPECT_EQ(1, j.status); // isa-debug-exit: (0 << 1) | 1
	EXPECT_LINE("qemu", j.out, "hello: pid 1 on cpu 0");
	EXPECT_LINE("qemu", j.out, "sum: pid 2: checksum(1..2000000) = 14112376879856");
	EXPECT_LINE("qemu", j.out, "sha: 64k ef4636928161808e87035fa51983821677527ccd9661991c5d0126a778b2268a");
	EXPECT_LINE("qemu", j.out, "primes: 78498 below 1000000");
	EXPECT_LINE("qemu", j.out, "sleeper: 3 sleeps of 3 ticks ok");
	EXPECT_LINE("qemu", j.out, "attack: 16/16 ok");
	EXPECT_TRUE(kernel_find_line(j.out, "kernel: summary: 21 processes: 6 exited, 15 killed, 0 stopped;") != NULL);
	guest_jobs_free(&j, 1);
}
