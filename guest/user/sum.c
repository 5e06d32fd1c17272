/* SPDX-License-Identifier: MIT */
/*
 * A compute-bound worker: a checksum over 1..N that the test recomputes
 * natively (tests/guest/kernel_run_test.c). The empty asm keeps the
 * compilers from replacing the loop by a closed form.
 */
#include "ulib.h"

#define SUM_N 2000000u

int main(long arg)
{
	uint64_t s = 0;
	for (uint64_t k = 1; k <= SUM_N; k++) {
		s += (k ^ (k >> 3)) * 7 + (k & 0xff);
		__asm__("" : "+r"(s));
	}
	uprintf("sum: pid %ld: checksum(1..%u) = %llu\n", sys_getpid(), SUM_N, (unsigned long long)s);
	return 0;
}
