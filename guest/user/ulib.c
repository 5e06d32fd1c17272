/* SPDX-License-Identifier: MIT */
/*
 * The user runtime's C half (ulib.h): uprintf formats into a buffer with
 * guest/lib's vsnprintf and hands it to write() in one call; exit and the
 * heap go through their system calls.
 */
#include "ulib.h"

void sys_exit(int status)
{
	syscall3(SYS_EXIT, status, 0, 0);
	for (;;)
		; // exit does not return; a kernel bug here spins rather than running on
}

int uprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	sys_write(buf, len);
	return (int)len;
}

void *usbrk(size_t n)
{
	uint64_t old = (uint64_t)sys_brk(0);
	if ((uint64_t)sys_brk(old + n) != old + n)
		return NULL;
	return (void *)old;
}
