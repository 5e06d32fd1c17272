/* SPDX-License-Identifier: MIT */
/*
 * Privileged one-instruction helpers for guests running at CPL 0: port
 * I/O (the console at 0xE9, the exit port at 0xF4, CMOS), RDTSC (under
 * Facet and Bochs it counts retired instructions), CLI and HLT.
 */
#ifndef GUEST_IO_H
#define GUEST_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline void cli_hlt(void)
{
	__asm__ volatile("cli; hlt" : : : "memory");
}

#endif
