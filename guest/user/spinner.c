/* SPDX-License-Identifier: MIT */
/*
 * An endless loop with no system calls: only the timer can take the vCPU
 * away from it, so the other processes finishing shows preemption. Run it
 * with bg=spinner on the kernel command line so the kernel stops it when
 * the others are done.
 */
#include "ulib.h"

int main(long arg)
{
	uprintf("spinner: pid %ld spinning\n", sys_getpid());
	for (;;)
		__asm__ volatile("");
}
