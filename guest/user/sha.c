/* SPDX-License-Identifier: MIT */
/*
 * A worker that hashes known texts with guest/lib/sha256.c: "abc" (FIPS
 * 180-2 appendix B.1) and 64 KiB of the bytes (31 k + 7) mod 256, which
 * the test hashes natively with the same file.
 */
#include "../lib/sha256.h"
#include "ulib.h"

#define SHA_BYTES 65536

static uint8_t data[SHA_BYTES];

int main(long arg)
{
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	sha256_hex("abc", 3, hex);
	uprintf("sha: abc %s\n", hex);
	for (uint32_t k = 0; k < SHA_BYTES; k++)
		data[k] = (uint8_t)(31 * k + 7);
	sha256_hex(data, sizeof(data), hex);
	uprintf("sha: 64k %s\n", hex);
	return 0;
}
