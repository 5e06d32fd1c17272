/* SPDX-License-Identifier: MIT */
/* The smallest process: one line naming its pid and vCPU (getpid, cpu), exit status 0. */
#include "ulib.h"

int main(long arg)
{
	uprintf("hello: pid %ld on cpu %ld\n", sys_getpid(), sys_cpu());
	return 0;
}
