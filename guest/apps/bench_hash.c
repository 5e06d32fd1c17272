/* SPDX-License-Identifier: MIT */
/*
 * Benchmark guest: SHA-256 over a block of pseudo-random data generated
 * in memory (rand.h): 16 MiB (about 1.2 billion instructions at -O2)
 * unless the command line says mib=N or kib=N. Prints
 *   bench_hash: N KiB sha256=DIGEST
 *   bench_hash: rdtsc fill=T1 hash=T2
 * The digest is the checksum the bench harness compares between Facet,
 * QEMU and Bochs; RDTSC counts retired instructions under Facet and
 * Bochs. The data lives in the free memory the boot information names.
 */
#include "io.h"
#include "libc.h"
#include "rand.h"
#include "sha256.h"

#define DEFAULT_MIB 16

int main(const struct facet_bootinfo *bi)
{
	uint64_t kib = cmdline_u64("kib", cmdline_u64("mib", DEFAULT_MIB) << 10);
	uint64_t n = kib << 10;
	if (n > bi->stack_bottom - bi->free_start)
		panic("bench_hash: %llu KiB do not fit in free memory [%#llx, %#llx)", (unsigned long long)kib,
		      (unsigned long long)bi->free_start, (unsigned long long)bi->stack_bottom);
	uint64_t *data = (uint64_t *)(uintptr_t)bi->free_start;
	struct rng r;
	rng_seed(&r, 0x5eed);
	uint64_t t0 = rdtsc();
	for (uint64_t j = 0; j < n / 8; j++)
		data[j] = rng_next(&r);
	uint64_t t1 = rdtsc();
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	sha256_hex(data, n, hex);
	uint64_t t2 = rdtsc();
	printf("bench_hash: %llu KiB sha256=%s\n", (unsigned long long)kib, hex);
	printf("bench_hash: rdtsc fill=%llu hash=%llu\n", (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
	return 0;
}
