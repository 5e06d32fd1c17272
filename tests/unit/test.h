/* SPDX-License-Identifier: MIT */
/*
 * The test framework (STYLE T1). TEST(group, name) defines a test that
 * registers itself; EXPECT_* record a failure and go on, ASSERT_* record
 * it and leave the test. A failure prints
 *   file:line: group.name: want <expr> = X, got <expr> = Y
 * The runner (runner.c) takes an optional substring filter, runs every
 * matching test, and ends with exactly one line "N passed, N failed".
 */
#ifndef FACET_TEST_H
#define FACET_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct test {
	const char *group, *name;
	void (*fn)(void);
	struct test *next;
};

void test_register(struct test *t);
/* Records a failure of the running test with a printf-style message. */
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Returns the number of failures the running test has recorded so far. */
int test_failures(void);
/* Directory holding build outputs (build/ or build/asan/), from the environment. */
const char *test_build_dir(void);

#define TEST(g, n)                                                                        \
	static void test_##g##_##n(void);                                                     \
	static struct test test_rec_##g##_##n = { #g, #n, test_##g##_##n, NULL };             \
	__attribute__((constructor)) static void test_reg_##g##_##n(void)                     \
	{                                                                                     \
		test_register(&test_rec_##g##_##n);                                               \
	}                                                                                     \
	static void test_##g##_##n(void)

#define EXPECT_EQ(want, got)                                                                       \
	do {                                                                                           \
		unsigned long long w_ = (unsigned long long)(want), g_ = (unsigned long long)(got);         \
		if (w_ != g_)                                                                              \
			test_fail(__FILE__, __LINE__, "want %s = %#llx, got %s = %#llx", #want, w_, #got, g_); \
	} while (0)

#define EXPECT_TRUE(x)                                                          \
	do {                                                                        \
		if (!(x))                                                               \
			test_fail(__FILE__, __LINE__, "want %s to be true, it is false", #x); \
	} while (0)

#define EXPECT_STREQ(want, got)                                                                \
	do {                                                                                       \
		const char *w_ = (want), *g_ = (got);                                                  \
		if (!w_ || !g_ || strcmp(w_, g_))                                                      \
			test_fail(__FILE__, __LINE__, "want %s = \"%s\", got %s = \"%s\"", #want, w_ ? w_ : "(null)", \
				  #got, g_ ? g_ : "(null)");                                               \
	} while (0)

#define ASSERT_EQ(want, got)                    \
	do {                                        \
		int f_ = test_failures();               \
		EXPECT_EQ(want, got);                   \
		if (test_failures() != f_)              \
			return;                             \
	} while (0)

#define ASSERT_TRUE(x)                          \
	do {                                        \
		int f_ = test_failures();               \
		EXPECT_TRUE(x);                         \
		if (test_failures() != f_)              \
			return;                             \
	} while (0)

#endif
