/* SPDX-License-Identifier: MIT */
/*
 * Benchmark guest: random 8-byte accesses over a 64 MiB buffer mapped
 * with 2 MiB pages, whose 32 translations fit any TLB: the TLB's hit
 * path. bench_tlb.h holds the workload and says what it prints;
 * bench_tlb4k.c is the same with 4 KiB pages.
 */
#include "bench_tlb.h"

int main(const struct facet_bootinfo *bi)
{
	return bench_tlb_main(bi, 21, "bench_tlb2m");
}
