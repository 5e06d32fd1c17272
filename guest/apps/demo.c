/* SPDX-License-Identifier: MIT */
/*
 * The default demo (`make demo`): a freestanding guest that shows what
 * Facet runs today. It prints how it was entered and its boot
 * information, the SHA-256 of a well-known sentence, a sorted sample of
 * pseudo-random numbers, 128-bit results printed in decimal (34! and
 * 2^127 - 1), and RDTSC deltas for hashing 1 MiB and for the whole run
 * (under Facet and Bochs RDTSC counts retired instructions; under QEMU,
 * time). Every value is checked against its known answer; the last line
 * is "demo: ok" and the status 0.
 */
#include "io.h"
#include "libc.h"
#include "rand.h"
#include "sha256.h"

typedef unsigned __int128 u128;

#define SAMPLE 12

static int failures;

static void check(bool ok, const char *what)
{
	if (!ok) {
		printf("  MISMATCH: %s\n", what);
		failures++;
	}
}

/* Formats v in decimal into buf (at least 40 bytes); returns buf. */
static char *u128_dec(u128 v, char *buf)
{
	char tmp[40];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + (unsigned)(v % 10));
		v /= 10;
	} while (v);
	for (int j = 0; j < n; j++)
		buf[j] = tmp[n - 1 - j];
	buf[n] = '\0';
	return buf;
}

static void show_hash(void)
{
	static const char text[] = "The quick brown fox jumps over the lazy dog";
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	sha256_hex(text, strlen(text), hex);
	printf("sha256(\"%s\")\n  = %s\n", text, hex);
	check(!strcmp(hex, "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"), "sha256");
}

static void show_sort(void)
{
	uint32_t v[SAMPLE];
	struct rng r;
	rng_seed(&r, 2024);
	for (int j = 0; j < SAMPLE; j++)
		v[j] = (uint32_t)(rng_next(&r) % 1000);
	for (int j = 1; j < SAMPLE; j++) // insertion sort: the sample is small
		for (int k = j; k > 0 && v[k] < v[k - 1]; k--) {
			uint32_t t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	printf("sorted sample:");
	for (int j = 0; j < SAMPLE; j++) {
		printf(" %u", v[j]);
		check(j == 0 || v[j - 1] <= v[j], "sort order");
	}
	printf("\n");
}

static void show_u128(void)
{
	char buf[48];
	u128 f = 1;
	for (unsigned k = 2; k <= 34; k++)
		f *= k;
	printf("34!      = %s (128-bit multiply, divide by 10 to print)\n", u128_dec(f, buf));
	check(!strcmp(buf, "295232799039604140847618609643520000000"), "34!");
	u128 m = ((u128)1 << 127) - 1;
	printf("2^127-1  = %s\n", u128_dec(m, buf));
	check(!strcmp(buf, "170141183460469231731687303715884105727"), "2^127-1");
	check(f / 34 * 34 == f && f % 33 == 0 && m % 1000003 == 1512, "128-bit division");
}

/* Hashes 1 MiB of generated data and reports the RDTSC delta per byte. */
static void show_workload(void)
{
	static uint64_t data[(1 << 20) / 8];
	struct rng r;
	rng_seed(&r, 1);
	for (size_t j = 0; j < sizeof(data) / 8; j++)
		data[j] = rng_next(&r);
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	uint64_t t0 = rdtsc();
	sha256_hex(data, sizeof(data), hex);
	uint64_t t1 = rdtsc();
	printf("sha256 of 1 MiB of xorshift data: %.16s...  RDTSC delta %llu (%llu per byte)\n", hex,
	       (unsigned long long)(t1 - t0), (unsigned long long)((t1 - t0) >> 20));
	check(!strcmp(hex, "e6295f010262d74c01286728f411315662d1642467a715b3c76529fd174a191f"), "1 MiB digest"); // from Python hashlib
}

int main(const struct facet_bootinfo *bi)
{
	uint64_t t0 = rdtsc();
	printf("Facet demo: a freestanding x86-64 guest, built with %s\n", __VERSION__);
	printf("entered through: %s\n", guest_multiboot ? "the Multiboot entry (QEMU or Bochs): RDTSC counts cycles"
							: "the ELF entry (Facet): RDTSC counts instructions");
	printf("boot: %llu MiB RAM, image [%#llx, %#llx), stack top %#llx, command line \"%s\"\n",
	       (unsigned long long)(bi->mem_size >> 20), (unsigned long long)bi->image_start,
	       (unsigned long long)bi->image_end, (unsigned long long)bi->stack_top, (const char *)bi->cmdline);
	show_hash();
	show_sort();
	show_u128();
	show_workload();
	uint64_t t1 = rdtsc();
	printf("RDTSC delta for the whole demo: %llu\n", (unsigned long long)(t1 - t0));
	printf("demo: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
