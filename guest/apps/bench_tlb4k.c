/* SPDX-License-Identifier: MIT */
/*
 * Benchmark guest: random 8-byte accesses over a 64 MiB buffer mapped
 * with 4 KiB pages, so that nearly every access needs a page walk (the
 * TLB's miss path and the walk itself). bench_tlb.h holds the workload
 * and says what it prints; bench_tlb2m.c is the same with 2 MiB pages.
 */
#include "bench_tlb.h"

int main(const struct facet_bootinfo *bi)
{
	return bench_tlb_main(bi, 12, "bench_tlb4k");
}
