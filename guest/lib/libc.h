/* SPDX-License-Identifier: MIT */
/*
 * The freestanding runtime every guest program links with: the memory and
 * string functions compilers and guests call, a printf family writing to
 * the console (port 0xE9), exit() through port 0xF4, and the boot
 * information the guest was started with (abi/bootinfo.h).
 *
 * The printf family supports the conversions d i u x X o c s p %, the
 * flags - 0 + space #, a width and precision (also as *), and the length
 * modifiers hh h l ll z j t. %p prints like glibc ("0x1f", "(nil)").
 * Guests run single-threaded with interrupts off: nothing here locks.
 */
#ifndef GUEST_LIBC_H
#define GUEST_LIBC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../abi/bootinfo.h"

/* The boot information main() received; set by crt0 before main runs. */
extern const struct facet_bootinfo *guest_bootinfo;
/* True when the guest came in through the Multiboot entry (QEMU, Bochs), false under Facet. */
extern bool guest_multiboot;

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *restrict dst, const char *restrict src);
char *strchr(const char *s, int c);

/* Formats into buf (at most size bytes, NUL included); returns the untruncated length. */
int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap);
int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...) __attribute__((format(printf, 3, 4)));
/* Formats to the console; returns the number of bytes written. */
int vprintf(const char *restrict fmt, va_list ap);
int printf(const char *restrict fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes s and a newline to the console. */
int puts(const char *s);
int putchar(int c);
/* Writes n bytes to the console. */
void console_write(const char *s, size_t n);

/*
 * Ends the run with status (low 8 bits): port 0xF4 for Facet and QEMU's
 * isa-debug-exit, then "Shutdown" on port 0x8900 and a final halt for
 * Bochs, which has no exit port.
 */
__attribute__((noreturn)) void exit(int status);
/* Prints "panic: ..." and exits with status 99. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

/* Returns the number given as KEY=N on the command line, or dflt when absent. */
uint64_t cmdline_u64(const char *key, uint64_t dflt);

/* The program's entry point, called by crt0 with the boot information. */
int main(const struct facet_bootinfo *bi);

#endif
