/* SPDX-License-Identifier: MIT */
/*
 * A worker that sleeps and yields: three sleeps of SLEEP_TICKS timer
 * ticks, each of which must last at least that long, then a few yields.
 */
#include "ulib.h"

#define SLEEP_TICKS 3
#define SLEEPS 3

int main(long arg)
{
	bool ok = true;
	for (int k = 0; k < SLEEPS; k++) {
		long t0 = sys_ticks();
		sys_sleep(SLEEP_TICKS);
		ok &= sys_ticks() - t0 >= SLEEP_TICKS;
	}
	for (int k = 0; k < 5; k++)
		sys_yield();
	uprintf("sleeper: %d sleeps of %d ticks %s\n", SLEEPS, SLEEP_TICKS, ok ? "ok" : "too short");
	return ok ? 0 : 1;
}
