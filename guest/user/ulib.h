/* SPDX-License-Identifier: MIT */
/*
 * The user-space runtime of the guest kernel's processes: system call
 * wrappers (the ABI is guest/kernel/uapi.h), formatted output through
 * write(), and the few string functions of guest/lib that user programs
 * share with the kernel. Programs define `int main(long arg)`: arg is what
 * spawn() passed (0 for processes started from the boot modules); main's
 * return value is the exit status.
 */
#ifndef GUEST_USER_ULIB_H
#define GUEST_USER_ULIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernel/uapi.h"

static inline long syscall3(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

static inline long sys_write(const void *buf, size_t len)
{
	return syscall3(SYS_WRITE, (long)buf, (long)len, 0);
}

__attribute__((noreturn)) void sys_exit(int status);

static inline long sys_getpid(void)
{
	return syscall3(SYS_GETPID, 0, 0, 0);
}

static inline long sys_yield(void)
{
	return syscall3(SYS_YIELD, 0, 0, 0);
}

static inline long sys_sleep(uint64_t ticks)
{
	return syscall3(SYS_SLEEP, (long)ticks, 0, 0);
}

static inline long sys_brk(uint64_t addr)
{
	return syscall3(SYS_BRK, (long)addr, 0, 0);
}

static inline long sys_cpu(void)
{
	return syscall3(SYS_CPU, 0, 0, 0);
}

static inline long sys_ticks(void)
{
	return syscall3(SYS_TICKS, 0, 0, 0);
}

static inline long sys_spawn(const char *name, long arg)
{
	return syscall3(SYS_SPAWN, (long)name, arg, 0);
}

static inline long sys_wait(long pid)
{
	return syscall3(SYS_WAIT, pid, 0, 0);
}

static inline long sys_mapbad(uint64_t addr)
{
	return syscall3(SYS_MAPBAD, (long)addr, 0, 0);
}

/* Formats like printf and writes the result with one write(): a line never mixes with other output. */
int uprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Grows the heap by n bytes (brk); returns the old end, or NULL when the kernel refused. */
void *usbrk(size_t n);

/* From guest/lib (string.c, printf.c). */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap);
int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...) __attribute__((format(printf, 3, 4)));

int main(long arg);

#endif
