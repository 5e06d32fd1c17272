/* SPDX-License-Identifier: MIT */
/*
 * Guest program: 64-bit and 128-bit integer arithmetic. For each
 * operation of arith_ops.h it prints
 *   arith NAME CHECKSUM
 * the checksum of its results over all inputs, which the host-side test
 * (tests/guest/arith_test.c) recomputes natively. A few 128-bit
 * identities are also checked in the guest itself (q * y + r == x for
 * every division); the last line is "arith: N ops, M inputs, identities
 * ok" and the exit status is 0, or 1 when an identity failed.
 */
#include "arith_ops.h"
#include "libc.h"

/* Checks x == (x / y) * y + x % y and the signed equivalent for every input. */
static unsigned check_identities(void)
{
	unsigned bad = 0;
	uint64_t in[4];
	for (unsigned k = 0; k < ARITH_NINPUTS; k++) {
		arith_input(k, in);
		u128 x = (u128)in[0] << 64 | in[1], y = (u128)in[2] << 64 | in[3];
		u128 q = arith_udiv128(in[0], in[1], in[2], in[3]), r = arith_umod128(in[0], in[1], in[2], in[3]);
		if (y && (q * y + r != x || r >= y))
			bad++;
		u128 sq = arith_sdiv128(in[0], in[1], in[2], in[3]), sr = arith_smod128(in[0], in[1], in[2], in[3]);
		if (y && (sq * y + sr != x) && !((i128)x == I128_MIN && (i128)y == -1))
			bad++;
	}
	return bad;
}

int main(const struct facet_bootinfo *bi)
{
	for (unsigned k = 0; k < ARITH_NOPS; k++)
		printf("arith %s %016llx\n", arith_ops[k].name, (unsigned long long)arith_checksum(&arith_ops[k]));
	unsigned bad = check_identities();
	printf("arith: %u ops, %u inputs, identities %s\n", (unsigned)ARITH_NOPS, (unsigned)ARITH_NINPUTS,
	       bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}
