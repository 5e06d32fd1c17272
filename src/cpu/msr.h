/* SPDX-License-Identifier: MIT */
/*
 * Model-specific registers (SDM Vol. 4, "Model-Specific Registers"; Vol.
 * 3A 2.2.1 for EFER, 5.8.8 for the SYSCALL MSRs): the ones a 64-bit
 * kernel uses, and the x2APIC range 0x800-0x8FF, which the APIC answers
 * (apic.h). Everything else raises #GP(0), as does any value with
 * reserved bits set or a non-canonical address where one is required.
 *
 * RDMSR and WRMSR (exec_priv.c) call these after their CPL check; the
 * VMX layer will call them for MSR-load/store areas.
 */
#ifndef FACET_MSR_H
#define FACET_MSR_H

#include "cpu/cpu.h"

#define MSR_TSC 0x10u
#define MSR_APIC_BASE 0x1bu
#define MSR_MISC_ENABLE 0x1a0u
#define MSR_PAT 0x277u
#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_CSTAR 0xc0000083u
#define MSR_SFMASK 0xc0000084u
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_TSC_AUX 0xc0000103u

/* Resets the MSRs this file keeps to their power-up values (SDM Vol. 4 tables 2-2, 2-3). */
void msr_reset(struct cpu *c);

/* Reads MSR msr into *val; returns 0, or -1 for #GP(0) (no such MSR). */
must_check int msr_read(struct cpu *c, u32 msr, u64 *val);

/*
 * Writes MSR msr; returns 0, or -1 for #GP(0) (no such MSR, a reserved
 * bit, a non-canonical address, EFER.LME changed while paging is on). A
 * write that may make an interrupt deliverable (x2APIC EOI, TPR, a
 * self-IPI) kicks the run loop (cpu_kick).
 */
must_check int msr_write(struct cpu *c, u32 msr, u64 val);

#endif
