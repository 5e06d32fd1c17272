/* SPDX-License-Identifier: MIT */
/*
 * Guest program: the printf family and the string functions of guest/lib
 * against the host C library. For each printf case K of strings_cases.h
 * it prints
 *   printf K [TEXT] ret=N      (TEXT formatted by snprintf)
 *   console K TEXT             (the same arguments printed by printf)
 * and for each string case K "string K VALUE". The host-side test
 * (tests/guest/strings_test.c) produces the same lines with the host's
 * snprintf, strcmp, memmove... and compares. Exit status 0.
 */
#include "libc.h"

#include "strings_cases.h"

/* The %hh and %h cases pass int values that do not fit on purpose: printf must truncate them. */
#ifdef __clang__
#pragma clang diagnostic ignored "-Wformat"
#endif

static unsigned printf_case;

#define RUN_PRINTF(...)                                                          \
	do {                                                                     \
		char buf_[128];                                                  \
		int n_ = snprintf(buf_, sizeof(buf_), __VA_ARGS__);              \
		printf("printf %u [%s] ret=%d\n", printf_case, buf_, n_);        \
		printf("console %u ", printf_case);                              \
		printf(__VA_ARGS__);                                             \
		putchar('\n');                                                   \
		printf_case++;                                                   \
	} while (0);

int main(const struct facet_bootinfo *bi)
{
	PRINTF_CASES(RUN_PRINTF)
	unsigned k = 0;
#define RUN_STRING(expr) printf("string %u %ld\n", k++, (long)(expr));
	STRING_CASES(RUN_STRING)
	printf("strings: %u printf cases, %u string cases\n", printf_case, k);
	return 0;
}
