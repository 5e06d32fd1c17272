/* SPDX-License-Identifier: MIT */
/*
 * The local APIC of one vCPU, always in x2APIC mode (SDM Vol. 3A ch. 11,
 * "Advanced Programmable Interrupt Controller", 11.12 "Extended xAPIC
 * (x2APIC)"; chapter 10 in editions before 2023): registers are MSRs
 * 0x800-0x8FF, read and written with RDMSR/WRMSR (msr.c calls
 * apic_msr_read/apic_msr_write).
 *
 * Time is the vCPU's instruction time, cpu_time(c) = icount + idle
 * (cpu.h): the timer counts one tick per (divide value) instructions, so
 * a run with the same inputs fires the same interrupts at the same
 * instructions. Nothing here runs on its own: the run loop and the
 * machine call apic_update() to advance the timer to cpu_time(c), and
 * apic_pending_vector()/apic_ack() at instruction boundaries to accept
 * interrupts.
 *
 * Interrupts are edge-triggered only (TMR reads as zero). ICR fixed and
 * lowest-priority IPIs reach their destinations' IRR at once; INIT,
 * start-up, NMI and SMI messages are accepted and have no effect (every
 * vCPU starts running at the ELF entry, abi/bootinfo.h; NMI and SMM are
 * not modeled). The struct is plain data so that struct cpu can embed it;
 * everything outside apic.c uses the functions.
 */
#ifndef FACET_APIC_H
#define FACET_APIC_H

#include "lib/types.h"

struct cpu;

/* x2APIC MSR range (SDM Vol. 3A 11.12.1.2, Table 11-6). */
#define APIC_MSR_FIRST 0x800u
#define APIC_MSR_LAST 0x8FFu

/* IA32_APIC_BASE bits (SDM Vol. 3A 11.4.4, 11.12.1). */
#define APIC_BASE_BSP (1ULL << 8)   // this vCPU is the bootstrap processor (vCPU 0)
#define APIC_BASE_EXTD (1ULL << 10) // x2APIC mode
#define APIC_BASE_EN (1ULL << 11)   // APIC global enable
#define APIC_BASE_ADDR 0xFEE00000ULL // the xAPIC MMIO base, reported though unused in x2APIC mode

/* Local vector table entries, in the order of their MSRs 0x832-0x837. */
enum apic_lvt { APIC_LVT_TIMER, APIC_LVT_THERMAL, APIC_LVT_PERF, APIC_LVT_LINT0, APIC_LVT_LINT1, APIC_LVT_ERROR,
		APIC_LVT_N };

/* Private: use the functions below. */
struct apic {
	u32 id;           // x2APIC ID = vCPU index (read-only)
	u32 tpr;          // task priority, bits 7:0
	u32 svr;          // spurious-interrupt vector register: 7:0 vector, 8 software enable
	u32 esr;          // error status as last latched by an ESR write
	u32 esr_pending;  // errors seen since that write
	u32 lvt[APIC_LVT_N];
	u32 timer_init;   // initial count (0: timer stopped)
	u32 dcr;          // divide configuration, bits 0, 1 and 3
	u64 icr;          // last value written to the ICR
	u64 irr[4];       // interrupt request register, 256 bits
	u64 isr[4];       // in-service register, 256 bits
	bool timer_armed; // the count is running toward timer_next
	u8 timer_shift;   // log2 of the divide value
	u32 timer_count;  // current count at time timer_anchor
	u64 timer_anchor; // cpu_time when the count was timer_count
	u64 timer_next;   // cpu_time of the next expiry, when armed
};

/* Resets c's APIC to its power-up state (SDM 11.4.7.1) with APIC ID c->id, in x2APIC mode. Call after cpu_init. */
void apic_init(struct cpu *c);

/*
 * Returns the highest-priority vector that can be delivered now (its
 * priority class above the PPR's, SDM 11.8.3.1), or -1. RFLAGS.IF and
 * interrupt shadows are the caller's business.
 */
int apic_pending_vector(struct cpu *c);

/* Records that vector vec (from apic_pending_vector) was delivered: its IRR bit moves to the ISR. */
void apic_ack(struct cpu *c, int vec);

/*
 * Advances the timer to cpu_time(c), raising a timer interrupt if it
 * expired (once, however many periods have passed). Returns the number of
 * instructions until the next expiry, at least 1, or UINT64_MAX when the
 * timer is stopped: a run loop that stops there fires the timer on time.
 */
u64 apic_update(struct cpu *c);

/*
 * Returns the number of instructions until c's APIC, left alone, will
 * have a deliverable interrupt: 0 if it has one now, the time to the next
 * timer expiry if that interrupt will be deliverable, UINT64_MAX if only
 * an IPI from another vCPU can bring one. The machine uses it to wake a
 * halted vCPU and to skip idle time. Advances the timer first.
 */
u64 apic_wake_time(struct cpu *c);

/* Reads x2APIC MSR msr into *val; returns 0, or -1 for #GP(0) (no such register, or write-only). */
must_check int apic_msr_read(struct cpu *c, u32 msr, u64 *val);

/*
 * Writes x2APIC MSR msr; returns 0, or -1 for #GP(0): no such register,
 * read-only, reserved bits set, a nonzero EOI or ESR write, a reserved
 * delivery or timer mode. May set IRR bits on any vCPU (IPIs): the run
 * loop should check apic_pending_vector() after the instruction.
 */
must_check int apic_msr_write(struct cpu *c, u32 msr, u64 val);

/* Returns IA32_APIC_BASE: the base address, global enable, x2APIC mode, and BSP on vCPU 0. */
u64 apic_base_read(const struct cpu *c);

/*
 * Writes IA32_APIC_BASE; returns 0, or -1 for #GP(0). The APIC stays
 * enabled in x2APIC mode at its base: writing back the value read is
 * accepted, any change is refused (leaving x2APIC mode other than by a
 * full disable is invalid, SDM 11.12.5; disabling is not modeled).
 */
must_check int apic_base_write(struct cpu *c, u64 val);

#endif
