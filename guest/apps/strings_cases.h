/* SPDX-License-Identifier: MIT */
/*
 * The cases of the strings guest, shared with its host-side test
 * (tests/guest/strings_test.c). PRINTF_CASES lists printf argument lists:
 * the guest formats each with its own snprintf and printf, the test with
 * the host C library's snprintf, and the texts must agree. STRING_CASES
 * lists integer expressions over the string and memory functions; the
 * guest evaluates them with guest/lib, the test with the host library.
 * The including file declares the functions (libc.h or the host headers).
 */
#ifndef GUEST_STRINGS_CASES_H
#define GUEST_STRINGS_CASES_H

#include <stddef.h>
#include <stdint.h>

#define PRINTF_CASES(X)                                                                                  \
	X("%d", 0) X("%d", 42) X("%d", -42) X("%d", -2147483647 - 1) X("%i", 2147483647)                \
	X("%u", 4294967295u) X("%5d|", 42) X("%-5d|", 42) X("%05d", -42) X("%+d", 7) X("% d", 7)        \
	X("%+d", -7) X("%x", 0xdeadbeefu) X("%X", 0xdeadbeefu) X("%#x", 255u) X("%#X", 255u)           \
	X("%#x", 0u) X("%08x", 0xbeefu) X("%#010x", 0xbeefu) X("%o", 8u) X("%#o", 8u) X("%#o", 0u)     \
	X("%lx", 0x123456789abcdefUL) X("%llx", 0xffffffffffffffffULL) X("%lld", -9223372036854775807LL - 1) \
	X("%llu", 18446744073709551615ULL) X("%ld", -1L) X("%016lx", 0xabcUL) X("%hhd", 200)           \
	X("%hhu", 300) X("%hx", 0x12345) X("%hd", 40000) X("%zu", (size_t)12345) X("%jd", (intmax_t)-5) \
	X("%.3d", 7) X("%.0d", 0) X("%5.3d|", -7) X("%-8.3x|", 0xau) X("%.10llu", 123ULL)              \
	X("%s", "hello") X("%10s|", "hi") X("%-10s|", "hi") X("%.2s", "hello") X("%*d", 6, 42)         \
	X("%-*d|", 6, 42) X("%*d|", -6, 42) X("%.*s", 3, "abcdef") X("%c%c%c", 'a', 'b', 'c')          \
	X("%3c|", 'x') X("%-3c|", 'x') X("%p", (void *)0x1234) X("%p", (void *)0)                      \
	X("%20p|", (void *)0xdeadbeef) X("%-14p|", (void *)0x10) X("100%%")                            \
	X("%s=%d, %s=%#llx", "a", 1, "b", 0xabcULL) X("%5s%-5s%5d", "ab", "cd", -1)                    \
	X("[%6.2x] [%-+5d] [% 05d]", 0x5u, 3, 42) X("%lu %lu", 0UL, 1UL << 63)

static const char strings_hello[] = "hello, world";

static int strings_sgn(long v)
{
	return (v > 0) - (v < 0);
}

static uint64_t strings_hash(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h;
}

/* Overlapping and misaligned memmove, memset, memcpy and strcpy on one buffer; returns its hash. */
static uint64_t strings_mem_ops(unsigned k)
{
	unsigned char buf[320];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + k);
	memmove(buf + k, buf + 3, 200);
	memmove(buf + 5, buf + k + 10, 100);
	memset(buf + k, (int)(0xa0 + k), 37 + k);
	memcpy(buf + 200, buf + k % 8, 61 + k);
	strcpy((char *)buf + 40 + k, "copied string");
	return strings_hash(buf, sizeof(buf));
}

/* snprintf into a buffer of n bytes: returns ret * 1000 + the stored length (or 999 if nothing stored). */
static long strings_truncate(size_t n)
{
	char buf[64];
	memset(buf, 'Z', sizeof(buf));
	__asm__("" : "+r"(n)); // truncation is the point: keep the compiler from warning about it
	int ret = snprintf(n ? buf : NULL, n, "%s-%d", "truncate", 12345);
	return ret * 1000L + (n ? (long)strlen(buf) : 999);
}

#define STRING_CASES(X)                                                                                   \
	X(strlen("")) X(strlen(strings_hello)) X(strings_sgn(strcmp("abc", "abd")))                         \
	X(strings_sgn(strcmp("abc", "abc"))) X(strings_sgn(strcmp("b", "abc"))) X(strings_sgn(strcmp("", "a"))) \
	X(strings_sgn(strcmp("\xff", "a"))) X(strings_sgn(strncmp("abcdef", "abcxyz", 3)))                  \
	X(strings_sgn(strncmp("abcdef", "abcxyz", 4))) X(strings_sgn(strncmp("a", "a", 10)))                \
	X(strings_sgn(strncmp("ab", "abc", 3))) X(strings_sgn(memcmp("abc\0x", "abc\0y", 5)))               \
	X(strings_sgn(memcmp("\x80", "\x7f", 1))) X(strings_sgn(memcmp("same", "same", 4)))                \
	X(strchr(strings_hello, 'l') - strings_hello) X(strchr(strings_hello, '\0') - strings_hello)        \
	X(strchr(strings_hello, 'z') == NULL) X(strchr(strings_hello, 'h') - strings_hello)                 \
	X((long)strings_mem_ops(0)) X((long)strings_mem_ops(1)) X((long)strings_mem_ops(3))                 \
	X((long)strings_mem_ops(8)) X((long)strings_mem_ops(13)) X((long)strings_mem_ops(40))               \
	X(strings_truncate(0)) X(strings_truncate(1)) X(strings_truncate(5)) X(strings_truncate(14))        \
	X(strings_truncate(15)) X(strings_truncate(64))

#endif
