/* SPDX-License-Identifier: MIT */
/*
 * A worker that uses the heap: a sieve of Eratosthenes below 1,000,000
 * in memory from brk (78498 primes), then the heap is given back and
 * grown again, and the new pages must read as zero (fresh frames).
 */
#include "ulib.h"

#define LIMIT 1000000u

int main(long arg)
{
	uint8_t *composite = usbrk(LIMIT);
	if (!composite) {
		uprintf("primes: brk refused %u bytes\n", LIMIT);
		return 1;
	}
	unsigned count = 0;
	for (uint32_t k = 2; k < LIMIT; k++) {
		if (composite[k])
			continue;
		count++;
		for (uint64_t m = (uint64_t)k * k; m < LIMIT; m += k)
			composite[m] = 1;
	}
	uprintf("primes: %u below %u\n", count, LIMIT);
	uint64_t start = (uint64_t)composite;
	bool ok = (uint64_t)sys_brk(start) == start && (uint64_t)sys_brk(start + 8192) == start + 8192;
	for (unsigned k = 0; ok && k < 8192; k++)
		ok = composite[k] == 0;
	uprintf("primes: heap shrink and regrow %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
