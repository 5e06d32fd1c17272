/* SPDX-License-Identifier: MIT */
/*
 * The expressions of the arith guest, shared with its host-side test
 * (tests/guest/arith_test.c): 64-bit, 32-, 16- and 8-bit and 128-bit
 * arithmetic (unsigned __int128 multiply, divide and modulo, signed
 * division edge cases, shifts, rotates, comparisons, bit counts). The
 * guest evaluates every operation over every input; the test compiles
 * this same file for the host and evaluates it natively, so the host CPU
 * is the reference. Each operation is its own non-inlined function of
 * (a, b, c, d), so no compiler can fold it with its inputs.
 *
 * Inputs: every pair of edge values (0, 1, -1, sign boundaries, ...)
 * plus seeded random quadruples of varied magnitude (rand.h). Divisions
 * are guarded: a zero divisor or INT_MIN / -1 gives 0, because C leaves
 * them undefined (and x86 raises #DE).
 */
#ifndef GUEST_ARITH_OPS_H
#define GUEST_ARITH_OPS_H

#include <stdint.h>

#include "../lib/rand.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

#define I128_MIN ((i128)((u128)1 << 127))

/* The operations: X(name, expression over a b c d, sa sb, x y, sx sy). */
#define ARITH_OPS(X)                                                                       \
	X(add64, a + b)                                                                    \
	X(sub64, a - b)                                                                    \
	X(mul64, a * b)                                                                    \
	X(mulu128, (u128)a * b)                                                            \
	X(muls128, (i128)sa * sb)                                                          \
	X(udiv64, b ? a / b : 0)                                                           \
	X(umod64, b ? a % b : 0)                                                           \
	X(sdiv64, (sb == 0 || (sa == INT64_MIN && sb == -1)) ? 0 : sa / sb)                \
	X(smod64, (sb == 0 || (sa == INT64_MIN && sb == -1)) ? 0 : sa % sb)                \
	X(udiv32, (uint32_t)b ? (uint32_t)a / (uint32_t)b : 0)                             \
	X(umod32, (uint32_t)b ? (uint32_t)a % (uint32_t)b : 0)                             \
	X(sdiv32, ((int32_t)b == 0 || ((int32_t)a == INT32_MIN && (int32_t)b == -1)) ? 0 \
		  : (int32_t)a / (int32_t)b)                                               \
	X(smod32, ((int32_t)b == 0 || ((int32_t)a == INT32_MIN && (int32_t)b == -1)) ? 0 \
		  : (int32_t)a % (int32_t)b)                                               \
	X(udiv16, (uint16_t)b ? (uint16_t)a / (uint16_t)b : 0)                             \
	X(sdiv8, (int8_t)b ? (int8_t)a / (int8_t)b : 0)                                    \
	X(smod8, (int8_t)b ? (int8_t)a % (int8_t)b : 0)                                    \
	X(divconst, a / 7 + a % 10 + (uint64_t)(sa / 3) + (uint64_t)(sa % -5) + (uint32_t)a / 641) \
	X(shl64, a << (b & 63))                                                            \
	X(shr64, a >> (b & 63))                                                            \
	X(sar64, (uint64_t)(sa >> (b & 63)))                                               \
	X(rol64, a << (b & 63) | a >> ((64 - (b & 63)) & 63))                              \
	X(ror64, a >> (b & 63) | a << ((64 - (b & 63)) & 63))                              \
	X(shl32, (uint32_t)a << (b & 31))                                                  \
	X(sar32, (int32_t)a >> (b & 31))                                                   \
	X(shr8, (uint8_t)a >> (b & 7))                                                     \
	X(rol32, (uint32_t)a << (b & 31) | (uint32_t)a >> ((32 - (b & 31)) & 31))          \
	X(cmp, (a < b) | (sa < sb) << 1 | (a == b) << 2 | ((uint32_t)a > (uint32_t)b) << 3 \
		   | ((int32_t)a <= (int32_t)b) << 4 | ((int8_t)a < (int8_t)b) << 5          \
		   | ((uint16_t)a >= (uint16_t)b) << 6)                                      \
	X(minmax, (uint64_t)(sa < sb ? sa : sb) ^ (a > b ? a : b) << 1)                    \
	X(abs64, sa < 0 ? -(uint64_t)sa : (uint64_t)sa)                                    \
	X(popcount, (uint64_t)__builtin_popcountll(a) | (uint64_t)__builtin_popcount((uint32_t)b) << 8) \
	X(clz, a ? (uint64_t)__builtin_clzll(a) : 64)                                      \
	X(ctz, b ? (uint64_t)__builtin_ctzll(b) : 64)                                      \
	X(bswap, __builtin_bswap64(a) ^ __builtin_bswap32((uint32_t)b))                     \
	X(mix, (a ^ a >> 31) * 0x9e3779b97f4a7c15ull + (b | 1) * (c >> 3) - (d ^ 0x55))   \
	X(add128, x + y)                                                                   \
	X(sub128, x - y)                                                                   \
	X(mul128, x * y)                                                                   \
	X(udiv128, y ? x / y : 0)                                                          \
	X(umod128, y ? x % y : 0)                                                          \
	X(udiv128by64, d ? x / d : 0)                                                      \
	X(umod128by64, d ? x % d : 0)                                                      \
	X(sdiv128, (sy == 0 || (sx == I128_MIN && sy == -1)) ? 0 : (u128)(sx / sy))        \
	X(smod128, (sy == 0 || (sx == I128_MIN && sy == -1)) ? 0 : (u128)(sx % sy))        \
	X(shl128, x << (c & 127))                                                          \
	X(shr128, x >> (c & 127))                                                          \
	X(sar128, (u128)(sx >> (c & 127)))                                                 \
	X(neg128, -x ^ ~y)                                                                 \
	X(cmp128, (u128)((x < y) | (sx < sy) << 1 | (x == y) << 2 | (sx >= sy) << 3))

#define ARITH_FN(name, expr)                                                                    \
	__attribute__((noinline)) static u128 arith_##name(uint64_t a, uint64_t b, uint64_t c, uint64_t d) \
	{                                                                                       \
		int64_t sa = (int64_t)a, sb = (int64_t)b;                                       \
		u128 x = (u128)a << 64 | b, y = (u128)c << 64 | d;                              \
		i128 sx = (i128)x, sy = (i128)y;                                                \
		(void)sa, (void)sb, (void)x, (void)y, (void)sx, (void)sy;                       \
		return (u128)(expr);                                                            \
	}
ARITH_OPS(ARITH_FN)
#undef ARITH_FN

struct arith_op {
	const char *name;
	u128 (*fn)(uint64_t a, uint64_t b, uint64_t c, uint64_t d);
};

#define ARITH_ROW(name, expr) { #name, arith_##name },
static const struct arith_op arith_ops[] = { ARITH_OPS(ARITH_ROW) };
#undef ARITH_ROW

#define ARITH_NOPS (sizeof(arith_ops) / sizeof(arith_ops[0]))

static const uint64_t arith_edges[] = {
	0, 1, 2, 3, 7, 10, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
	0xffffffff, 0x100000000, 0x7fffffffffffffff, 0x8000000000000000, 0xffffffffffffffff,
	0xfffffffffffffffe, (uint64_t)-7, (uint64_t)-10, (uint64_t)-0x80000000ll, 0x123456789abcdef,
};

#define ARITH_NEDGES (sizeof(arith_edges) / sizeof(arith_edges[0]))
#define ARITH_NRANDOM 400
#define ARITH_NINPUTS (ARITH_NEDGES * ARITH_NEDGES + ARITH_NRANDOM)

/* Fills in[0..3] with input number k (< ARITH_NINPUTS). */
static inline void arith_input(unsigned k, uint64_t in[4])
{
	if (k < ARITH_NEDGES * ARITH_NEDGES) {
		unsigned i = k / ARITH_NEDGES, j = k % ARITH_NEDGES;
		in[0] = arith_edges[i];
		in[1] = arith_edges[j];
		in[2] = arith_edges[(i + j) % ARITH_NEDGES] >> (k & 1 ? 0 : 33);
		in[3] = arith_edges[(7 * i + j) % ARITH_NEDGES];
		return;
	}
	struct rng r;
	rng_seed(&r, k);
	for (int n = 0; n < 4; n++) {
		uint64_t v = rng_next(&r);
		in[n] = v >> (rng_next(&r) & 63); // varied magnitudes make varied quotients
	}
}

/* Returns the checksum of op over every input. */
static inline uint64_t arith_checksum(const struct arith_op *op)
{
	uint64_t sum = CHECKSUM_INIT, in[4];
	for (unsigned k = 0; k < ARITH_NINPUTS; k++) {
		arith_input(k, in);
		u128 v = op->fn(in[0], in[1], in[2], in[3]);
		sum = checksum_add(checksum_add(sum, (uint64_t)v), (uint64_t)(v >> 64));
	}
	return sum;
}

#endif
