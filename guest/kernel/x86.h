/* SPDX-License-Identifier: MIT */
/*
 * One-instruction helpers for the guest kernel: MSRs, control registers,
 * CPUID, TLB invalidation, STAC/CLAC, port output and PAUSE, plus the
 * architectural numbers they take (SDM Vol. 3A 2.5 for CR0/CR4, Vol. 4
 * for the MSR indexes, Vol. 3A 4.5 for the page-table entry bits).
 */
#ifndef GUEST_KERNEL_X86_H
#define GUEST_KERNEL_X86_H

#include <stdint.h>

#define MSR_APIC_BASE 0x1b
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102

#define EFER_SCE (1ULL << 0)  // SYSCALL/SYSRET enable
#define EFER_NXE (1ULL << 11) // execute-disable bit in page tables

#define APIC_BASE_EXTD (1ULL << 10) // x2APIC mode
#define APIC_BASE_EN (1ULL << 11)   // APIC globally enabled

#define CR0_WP (1ULL << 16)
#define CR4_PGE (1ULL << 7)
#define CR4_PCIDE (1ULL << 17)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)

#define RFLAGS_IF (1ULL << 9)
#define RFLAGS_TF (1ULL << 8)
#define RFLAGS_DF (1ULL << 10)
#define RFLAGS_NT (1ULL << 14)
#define RFLAGS_AC (1ULL << 18)

/* Page-table entry bits (SDM Vol. 3A 4.5, tables 4-15 to 4-20). */
#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_PS (1ULL << 7) // 2 MiB / 1 GiB leaf in a PDE / PDPTE
#define PTE_G (1ULL << 8)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL // bits 51:12

/* #PF error code bits (SDM Vol. 3A 4.7). */
#define PF_P (1u << 0)
#define PF_W (1u << 1)
#define PF_U (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I (1u << 4)

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

#define DEFINE_CR(n)                                                          \
	static inline uint64_t read_cr##n(void)                                   \
	{                                                                         \
		uint64_t v;                                                           \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                     \
		return v;                                                             \
	}                                                                         \
	static inline void write_cr##n(uint64_t v)                                \
	{                                                                         \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory");            \
	}
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)

static inline void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void cpu_pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}

/* STAC/CLAC exist only with SMAP (CPUID.7.0:EBX[20]); callers check kernel_smap first. */
static inline void stac(void)
{
	__asm__ volatile("stac" : : : "memory", "cc");
}

static inline void clac(void)
{
	__asm__ volatile("clac" : : : "memory", "cc");
}

#endif
