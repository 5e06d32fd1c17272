/* SPDX-License-Identifier: MIT */
/*
 * #PF error codes and CR2 for each cause (SDM Vol. 3A 4.7). Run without
 * an argument, it spawns itself once per cause and waits; each child
 * prints
 *   pfprobe: pid P cause NAME addr=0x... want err=0x...
 * and then makes exactly that access, so that the kernel's line
 *   kernel: pid P pfprobe.elf killed: #PF (vector 14) err=0x... addr=0x... rip=0x...
 * can be checked against it by the test (and for the fetch, RIP = addr).
 */
#include "ulib.h"

#define UNMAPPED 0x100000000000ULL  // 16 TiB: nothing maps it
#define BADPAGE 0x200000000000ULL   // mapped by mapbad() with a reserved bit set

static const uint64_t ro_word = 42;        // .rodata: read-only, NX
static uint8_t data_code[16] = { 0xc3 };   // .data: writable, NX

static void announce(const char *cause, uint64_t addr, unsigned err)
{
	uprintf("pfprobe: pid %ld cause %s addr=%#llx want err=%#x\n", sys_getpid(), cause, (unsigned long long)addr,
		err);
}

static void probe(long k)
{
	switch (k) {
	case 1: announce("not-present-read", UNMAPPED, 0x4); (void)*(volatile uint64_t *)UNMAPPED; break;
	case 2: announce("not-present-write", UNMAPPED, 0x6); *(volatile uint64_t *)UNMAPPED = 1; break;
	case 3:
		announce("write-read-only", (uint64_t)&ro_word, 0x7);
		*(volatile uint64_t *)&ro_word = 1;
		break;
	case 4:
		announce("user-to-supervisor", UAPI_KERNEL_DIRECT, 0x5);
		(void)*(volatile uint64_t *)UAPI_KERNEL_DIRECT;
		break;
	case 5:
		announce("fetch-nx", (uint64_t)data_code, 0x15);
		((void (*)(void))(uintptr_t)data_code)();
		break;
	case 6:
		if (sys_mapbad(BADPAGE)) {
			uprintf("pfprobe: mapbad refused\n");
			return;
		}
		announce("reserved-bit", BADPAGE, 0xd);
		(void)*(volatile uint64_t *)BADPAGE;
		break;
	}
}
#define NCAUSES 6

int main(long arg)
{
	if (arg > 0) {
		probe(arg);
		uprintf("pfprobe: cause %ld did not fault\n", arg);
		return 1;
	}
	unsigned ok = 0;
	for (long k = 1; k <= NCAUSES; k++) {
		long pid = sys_spawn("pfprobe.elf", k);
		long st = pid > 0 ? sys_wait(pid) : pid;
		ok += st == UAPI_KILLED_BY(14);
	}
	uprintf("pfprobe: %u/%u causes ended by #PF\n", ok, NCAUSES);
	return ok == NCAUSES ? 0 : 1;
}
