/* SPDX-License-Identifier: MIT */
/*
 * The recurse guest (guest/apps/recurse.c) under `facet run`, in every
 * build variant. The recursive functions of recurse_fns.h run natively
 * here for the expected values; the guest's deep recursion must also
 * report having used at least 256 KiB of stack.
 */
#include <stdlib.h>

#include "../../guest/apps/recurse_fns.h"
#include "../unit/test.h"
#include "guest_run.h"

#define DEEP_LEVELS 2000 // as in recurse.c
#define EXPR_DEPTH 15
#define MIN_STACK_KIB 256

static void check_stack(const char *run, const char *out, const char *prefix)
{
	const char *p = strstr(out, prefix);
	const char *s = p ? strstr(p, "stack=") : NULL;
	unsigned long kib = s ? strtoul(s + 6, NULL, 10) : 0;
	if (kib < MIN_STACK_KIB)
		test_fail(__FILE__, __LINE__, "%s: deep recursion used %lu KiB of stack, want at least %u", run, kib,
			  MIN_STACK_KIB);
}

static void check_recurse(const char *run, const char *out)
{
	static char expr[256 << 10];
	char line[200];
	uintptr_t lowest = UINTPTR_MAX;
	snprintf(line, sizeof(line), "recurse deep %u %016llx stack=", DEEP_LEVELS,
		 (unsigned long long)deep(DEEP_LEVELS, 42, &lowest));
	if (!strstr(out, line))
		test_fail(__FILE__, __LINE__, "%s: want a line starting \"%s\"", run, line);
	check_stack(run, out, line);
	snprintf(line, sizeof(line), "recurse ackermann 3 6 %llu", (unsigned long long)ackermann(3, 6));
	EXPECT_LINE(run, out, line);
	snprintf(line, sizeof(line), "recurse ackermann 2 300 %llu", (unsigned long long)ackermann(2, 300));
	EXPECT_LINE(run, out, line);
	snprintf(line, sizeof(line), "recurse fib 24 %llu", (unsigned long long)fib(24));
	EXPECT_LINE(run, out, line);
	snprintf(line, sizeof(line), "recurse queens 8 %u", queens(8, 0, 0, 0, 0));
	EXPECT_LINE(run, out, line);
	snprintf(line, sizeof(line), "recurse queens 9 %u", queens(9, 0, 0, 0, 0));
	EXPECT_LINE(run, out, line);
	uint64_t state = 7;
	char *end = gen_expr(expr, EXPR_DEPTH, &state);
	*end = '\0';
	const char *s = expr;
	uint64_t v = parse_expr(&s);
	snprintf(line, sizeof(line), "recurse expr %zu %016llx", (size_t)(end - expr), (unsigned long long)v);
	EXPECT_LINE(run, out, line);
}

TEST(guest, recurse)
{
	/* Known answers first: they check the shared functions themselves. */
	EXPECT_EQ(509, ackermann(3, 6));
	EXPECT_EQ(46368, fib(24));
	EXPECT_EQ(92, queens(8, 0, 0, 0, 0));
	guest_app_run("recurse", NULL, check_recurse);
}
