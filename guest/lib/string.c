/* SPDX-License-Identifier: MIT */
/*
 * Memory and string functions for guests (declared in libc.h). Compilers
 * call memcpy, memmove, memset and memcmp on their own (structure copies,
 * zeroing), so these must exist in every guest.
 *
 * The bulk loops move 8 bytes at a time once the destination is aligned.
 * Each loop passes its pointer through an empty asm statement: that hides
 * the loop's shape from the compilers' idiom recognition, which would
 * otherwise turn the body of memset into a call to memset.
 */
#include "libc.h"

typedef uint64_t __attribute__((may_alias, aligned(1))) word_t;

#define OPAQUE(p) __asm__("" : "+r"(p))

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	for (; n && ((uintptr_t)d & 7); n--)
		*d++ = *s++;
	for (; n >= 8; n -= 8, d += 8, s += 8) {
		OPAQUE(d);
		*(word_t *)d = *(const word_t *)s;
	}
	for (; n; n--) {
		OPAQUE(d);
		*d++ = *s++;
	}
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	/* Overlap with dst above src: copy from the end down. */
	d += n, s += n;
	for (; n >= 8; n -= 8) {
		d -= 8, s -= 8;
		OPAQUE(d);
		*(word_t *)d = *(const word_t *)s;
	}
	for (; n; n--) {
		OPAQUE(d);
		*--d = *--s;
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	uint64_t w = (unsigned char)c * 0x0101010101010101ull;
	for (; n && ((uintptr_t)d & 7); n--) {
		OPAQUE(d);
		*d++ = (unsigned char)c;
	}
	for (; n >= 8; n -= 8, d += 8) {
		OPAQUE(d);
		*(word_t *)d = w;
	}
	for (; n; n--) {
		OPAQUE(d);
		*d++ = (unsigned char)c;
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;
	for (; n; n--, p++, q++) {
		OPAQUE(p);
		if (*p != *q)
			return *p < *q ? -1 : 1;
	}
	return 0;
}

size_t strlen(const char *s)
{
	const char *p = s;
	while (*p) {
		OPAQUE(p);
		p++;
	}
	return (size_t)(p - s);
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

char *strcpy(char *restrict dst, const char *restrict src)
{
	char *d = dst;
	while ((*d++ = *src++))
		OPAQUE(d);
	return dst;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}
