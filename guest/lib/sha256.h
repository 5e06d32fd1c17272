/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4 section 6.2) for guests: the sha256 test program,
 * the demo and the hashing benchmark. Plain C with fixed-width types and
 * no library calls, so the host side of a test can compile the same file
 * to check a guest's result natively.
 */
#ifndef GUEST_SHA256_H
#define GUEST_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32

struct sha256 {
	uint32_t h[8];       // chaining value
	uint64_t total;      // bytes hashed so far
	uint8_t block[64];   // partial block
	size_t fill;         // bytes in block
};

void sha256_init(struct sha256 *s);
/* Hashes n more bytes of the message. */
void sha256_update(struct sha256 *s, const void *data, size_t n);
/* Pads, finishes and writes the 32-byte digest; s must be re-initialised to be reused. */
void sha256_final(struct sha256 *s, uint8_t digest[SHA256_DIGEST_SIZE]);
/* Writes the digest of data as 64 lowercase hex digits and a NUL into hex (65 bytes). */
void sha256_hex(const void *data, size_t n, char hex[2 * SHA256_DIGEST_SIZE + 1]);
/* Formats a digest as 64 lowercase hex digits and a NUL. */
void sha256_to_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char hex[2 * SHA256_DIGEST_SIZE + 1]);

#endif
