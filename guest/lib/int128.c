/* SPDX-License-Identifier: MIT */
/*
 * The compiler support routines guests need and libgcc would otherwise
 * provide: 128-bit division and modulo (__udivti3, __umodti3, __divti3,
 * __modti3) and __popcountdi2. Debian's libgcc.a is built for ordinary
 * user space: its __umodti3 uses SSE registers and the red zone, which a
 * -mgeneral-regs-only guest (no SSE enabled, no FPU state) cannot run.
 *
 * Division uses the hardware's 128-by-64-bit DIV. A divisor wider than
 * 64 bits takes the normalise-and-estimate method of Hacker's Delight
 * (2nd ed., section 9-5, divlu scaled up to 128/64 bits): the estimate
 * from the top 64 bits of the divisor is exact or one too large.
 */
#include <stdint.h>

typedef unsigned __int128 u128;
typedef __int128 i128;

u128 __udivti3(u128 n, u128 d);
u128 __umodti3(u128 n, u128 d);
i128 __divti3(i128 n, i128 d);
i128 __modti3(i128 n, i128 d);
int __popcountdi2(uint64_t x);

/* Divides hi:lo by d with one DIV; the caller guarantees hi < d, so the quotient fits. */
static uint64_t div_128_64(uint64_t hi, uint64_t lo, uint64_t d, uint64_t *rem)
{
	uint64_t q, r;
	__asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
	*rem = r;
	return q;
}

static u128 udivmod(u128 n, u128 d, u128 *rem)
{
	uint64_t nh = (uint64_t)(n >> 64), nl = (uint64_t)n, r;
	if (!(d >> 64)) {
		uint64_t dl = (uint64_t)d, qh = 0;
		if (nh >= dl) {
			qh = nh / dl;
			nh %= dl;
		}
		uint64_t ql = div_128_64(nh, nl, dl, &r);
		*rem = r;
		return (u128)qh << 64 | ql;
	}
	/* d >= 2^64, so the quotient fits in 64 bits. */
	int s = __builtin_clzll((uint64_t)(d >> 64));
	uint64_t v1 = (uint64_t)((d << s) >> 64); // top 64 bits, MSB set
	u128 u1 = n >> 1;                         // u1 >> 64 < 2^63 <= v1: DIV cannot overflow
	uint64_t q1 = div_128_64((uint64_t)(u1 >> 64), (uint64_t)u1, v1, &r);
	uint64_t q0 = (uint64_t)(((u128)q1 << s) >> 63);
	if (q0)
		q0--; // now exact or one too small
	u128 rm = n - (u128)q0 * d;
	if (rm >= d) {
		q0++;
		rm -= d;
	}
	*rem = rm;
	return q0;
}

u128 __udivti3(u128 n, u128 d)
{
	u128 r;
	return udivmod(n, d, &r);
}

u128 __umodti3(u128 n, u128 d)
{
	u128 r;
	udivmod(n, d, &r);
	return r;
}

static u128 uabs(i128 v)
{
	return v < 0 ? -(u128)v : (u128)v;
}

/* C11 6.5.5p6: the quotient truncates toward zero; the remainder takes the dividend's sign. */
i128 __divti3(i128 n, i128 d)
{
	u128 r, q = udivmod(uabs(n), uabs(d), &r);
	return (i128)((n < 0) != (d < 0) ? -q : q);
}

i128 __modti3(i128 n, i128 d)
{
	u128 r;
	udivmod(uabs(n), uabs(d), &r);
	return (i128)(n < 0 ? -r : r);
}

int __popcountdi2(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (int)((x * 0x0101010101010101ull) >> 56);
}
