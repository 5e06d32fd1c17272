/* SPDX-License-Identifier: MIT */
/*
 * Guest program: deep and varied recursion (recurse_fns.h). Prints
 *   recurse deep N RESULT stack=K KiB
 *   recurse ackermann M N RESULT
 *   recurse fib N RESULT
 *   recurse queens N RESULT
 *   recurse expr LEN RESULT
 * which the host-side test (tests/guest/recurse_test.c) computes
 * natively; K, the stack the deep recursion used, must be hundreds of
 * KiB. Exit status 0.
 */
#include "libc.h"
#include "recurse_fns.h"

#define DEEP_LEVELS 2000
#define EXPR_DEPTH 15

static char expr_buf[256 << 10];

int main(const struct facet_bootinfo *bi)
{
	uintptr_t top = (uintptr_t)&top, lowest = top;
	uint64_t r = deep(DEEP_LEVELS, 42, &lowest);
	printf("recurse deep %u %016llx stack=%llu KiB\n", DEEP_LEVELS, (unsigned long long)r,
	       (unsigned long long)((top - lowest) >> 10));
	printf("recurse ackermann 3 6 %llu\n", (unsigned long long)ackermann(3, 6));
	printf("recurse ackermann 2 300 %llu\n", (unsigned long long)ackermann(2, 300));
	printf("recurse fib 24 %llu\n", (unsigned long long)fib(24));
	printf("recurse queens 8 %u\n", queens(8, 0, 0, 0, 0));
	printf("recurse queens 9 %u\n", queens(9, 0, 0, 0, 0));
	uint64_t state = 7;
	char *end = gen_expr(expr_buf, EXPR_DEPTH, &state);
	*end = '\0';
	const char *s = expr_buf;
	uint64_t v = parse_expr(&s);
	printf("recurse expr %zu %016llx\n", (size_t)(end - expr_buf), (unsigned long long)v);
	return 0;
}
