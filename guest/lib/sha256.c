/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (see sha256.h), written from FIPS 180-4: the round constants of
 * section 4.2.2, the initial value of 5.3.3, padding per 5.1.1 and the
 * compression of 6.2.2. Byte loops instead of memcpy keep it free of any
 * library, so the host can compile it unchanged.
 */
#include "sha256.h"

static const uint32_t round_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void compress(uint32_t h[8], const uint8_t *block)
{
	uint32_t w[64];
	for (int t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (int t = 16; t < 64; t++) {
		uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ w[t - 15] >> 3;
		uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ w[t - 2] >> 10;
		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int t = 0; t < 64; t++) {
		uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + round_k[t] + w[t];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1;
		d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d;
	h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	for (int j = 0; j < 8; j++)
		s->h[j] = iv[j];
	s->total = 0;
	s->fill = 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	s->total += n;
	if (s->fill) {
		while (n && s->fill < 64)
			s->block[s->fill++] = *p++, n--;
		if (s->fill < 64)
			return;
		compress(s->h, s->block);
		s->fill = 0;
	}
	for (; n >= 64; n -= 64, p += 64)
		compress(s->h, p);
	while (n--)
		s->block[s->fill++] = *p++;
}

void sha256_final(struct sha256 *s, uint8_t digest[SHA256_DIGEST_SIZE])
{
	uint64_t bits = s->total * 8;
	s->block[s->fill++] = 0x80;
	if (s->fill > 56) {
		while (s->fill < 64)
			s->block[s->fill++] = 0;
		compress(s->h, s->block);
		s->fill = 0;
	}
	while (s->fill < 56)
		s->block[s->fill++] = 0;
	for (int j = 0; j < 8; j++)
		s->block[56 + j] = (uint8_t)(bits >> (56 - 8 * j));
	compress(s->h, s->block);
	for (int j = 0; j < 32; j++)
		digest[j] = (uint8_t)(s->h[j / 4] >> (24 - 8 * (j % 4)));
}

void sha256_to_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char hex[2 * SHA256_DIGEST_SIZE + 1])
{
	static const char xd[] = "0123456789abcdef";
	for (int j = 0; j < SHA256_DIGEST_SIZE; j++) {
		hex[2 * j] = xd[digest[j] >> 4];
		hex[2 * j + 1] = xd[digest[j] & 15];
	}
	hex[2 * SHA256_DIGEST_SIZE] = '\0';
}

void sha256_hex(const void *data, size_t n, char hex[2 * SHA256_DIGEST_SIZE + 1])
{
	struct sha256 s;
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_init(&s);
	sha256_update(&s, data, n);
	sha256_final(&s, d);
	sha256_to_hex(d, hex);
}
