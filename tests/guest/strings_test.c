/* SPDX-License-Identifier: MIT */
/*
 * The strings guest (guest/apps/strings.c) under `facet run`, in every
 * build variant: the cases of strings_cases.h are evaluated here with the
 * host C library (glibc's snprintf, strcmp, memmove...), and the guest's
 * own implementations must print the same text.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../guest/apps/strings_cases.h"
#include "../unit/test.h"
#include "guest_run.h"

static void check_strings(const char *run, const char *out)
{
	char line[300], text[128];
	unsigned k = 0;
#define PRINTF_CHECK(...)                                                                      \
	{                                                                                      \
		int n_ = snprintf(text, sizeof(text), __VA_ARGS__);                            \
		snprintf(line, sizeof(line), "printf %u [%s] ret=%d", k, text, n_);            \
		EXPECT_LINE(run, out, line);                                                   \
		snprintf(line, sizeof(line), "console %u %s", k, text);                        \
		EXPECT_LINE(run, out, line);                                                   \
		k++;                                                                           \
	}
	PRINTF_CASES(PRINTF_CHECK)
#undef PRINTF_CHECK
	unsigned nprintf = k;
	k = 0;
#define STRING_CHECK(expr)                                                             \
	snprintf(line, sizeof(line), "string %u %ld", k++, (long)(expr));              \
	EXPECT_LINE(run, out, line);
	STRING_CASES(STRING_CHECK)
#undef STRING_CHECK
	snprintf(line, sizeof(line), "strings: %u printf cases, %u string cases", nprintf, k);
	EXPECT_LINE(run, out, line);
}

TEST(guest, strings)
{
	guest_app_run("strings", NULL, check_strings);
}
