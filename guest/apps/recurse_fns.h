/* SPDX-License-Identifier: MIT */
/*
 * Recursive functions of the recurse guest, shared with its host-side test
 * (tests/guest/recurse_test.c), which runs them natively for the expected
 * values. deep() keeps a 24-word array live across its recursive call, so
 * no compiler can turn it into a loop, and 2000 levels of it take several
 * hundred KiB of stack. The others (Ackermann, Fibonacci, N queens, a
 * recursive-descent parser over a generated expression) recurse in
 * different shapes: nested, doubly, with loops, mutually.
 */
#ifndef GUEST_RECURSE_FNS_H
#define GUEST_RECURSE_FNS_H

#include <stddef.h>
#include <stdint.h>

#define DEEP_WORDS 24

/* Recurses n levels; records the lowest stack address it touched in *lowest. */
__attribute__((noinline)) static uint64_t deep(unsigned n, uint64_t seed, uintptr_t *lowest)
{
	uint64_t buf[DEEP_WORDS];
	for (unsigned i = 0; i < DEEP_WORDS; i++)
		buf[i] = (seed + i) * 0x9e3779b97f4a7c15ull ^ n;
	if ((uintptr_t)buf < *lowest)
		*lowest = (uintptr_t)buf;
	if (n == 0)
		return buf[seed % DEEP_WORDS];
	uint64_t r = deep(n - 1, buf[n % DEEP_WORDS] + seed, lowest);
	return (r ^ buf[r % DEEP_WORDS]) + n;
}

__attribute__((noinline)) static uint64_t ackermann(uint64_t m, uint64_t n)
{
	if (m == 0)
		return n + 1;
	if (n == 0)
		return ackermann(m - 1, 1);
	return ackermann(m - 1, ackermann(m, n - 1));
}

__attribute__((noinline)) static uint64_t fib(unsigned n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* Counts placements of queens on rows row..n-1 given the columns/diagonals taken. */
__attribute__((noinline)) static unsigned queens(unsigned n, unsigned row, uint32_t cols, uint32_t d1, uint32_t d2)
{
	if (row == n)
		return 1;
	unsigned count = 0;
	for (unsigned c = 0; c < n; c++) {
		uint32_t bc = 1u << c, b1 = 1u << (row + c), b2 = 1u << (row + n - c);
		if ((cols & bc) || (d1 & b1) || (d2 & b2))
			continue;
		count += queens(n, row + 1, cols | bc, d1 | b1, d2 | b2);
	}
	return count;
}

/*
 * Writes a fully parenthesised expression of the given depth into buf
 * (returns the new end). The operators cycle through + - * and ^.
 */
static char *gen_expr(char *p, unsigned depth, uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	if (depth == 0) {
		unsigned v = (unsigned)(*state >> 33) % 1000;
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		return p;
	}
	static const char ops[] = "+-*^";
	char op = ops[(*state >> 40) & 3];
	*p++ = '(';
	p = gen_expr(p, depth - 1, state);
	*p++ = op;
	p = gen_expr(p, (*state >> 50) & 1 ? depth - 1 : 0, state);
	*p++ = ')';
	return p;
}

static uint64_t parse_expr(const char **s);

/* primary := number | '(' expr ')' */
static uint64_t parse_primary(const char **s)
{
	if (**s == '(') {
		(*s)++;
		uint64_t v = parse_expr(s);
		(*s)++; // ')'
		return v;
	}
	uint64_t v = 0;
	while (**s >= '0' && **s <= '9')
		v = v * 10 + (uint64_t)(*(*s)++ - '0');
	return v;
}

/* expr := primary (op primary)*, evaluated left to right in 64-bit wrapping arithmetic. */
static uint64_t parse_expr(const char **s)
{
	uint64_t v = parse_primary(s);
	for (;;) {
		char op = **s;
		if (op != '+' && op != '-' && op != '*' && op != '^')
			return v;
		(*s)++;
		uint64_t w = parse_primary(s);
		v = op == '+' ? v + w : op == '-' ? v - w : op == '*' ? v * w : v ^ w;
	}
}

#endif
