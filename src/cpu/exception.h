/* SPDX-License-Identifier: MIT */
/*
 * Exception and interrupt delivery through the 64-bit IDT (SDM Vol. 3A
 * ch. 6, 6.14 "Exception and Interrupt Handling in 64-bit Mode"; Vol. 2A
 * INT n, Operation, "IA-32e-MODE"): gate checks, error codes, the
 * RSP0/IST stack switch, and the double- and triple-fault rules of 6.15
 * (Table 6-5).
 *
 * RIP when an event is delivered is its return address: the faulting
 * instruction for a fault, the next instruction for traps, INT n and
 * external interrupts. Delivery either enters the handler (the frame is
 * on the new stack, CS:RIP and RFLAGS are the handler's) or raises the
 * fault it met in cpu->exc having changed nothing.
 *
 * No IDT: while IDTR.limit is 0 (the state `facet run` starts guests in,
 * abi/bootinfo.h), an event is not delivered: the run stops with
 * CPU_STOP_EXCEPTION and the event in cpu->exc, so a guest without an IDT
 * gets a report naming its first fault rather than a bare triple fault.
 */
#ifndef FACET_EXCEPTION_H
#define FACET_EXCEPTION_H

#include "cpu/cpu.h"

/* Where an event comes from: it decides the DPL check, the EXT bit and the #DF class. */
enum event_kind {
	EVENT_EXCEPTION = 0, // raised by the processor (faults, traps, aborts)
	EVENT_SOFTWARE,      // INT n and INT3: the gate's DPL must be >= CPL
	EVENT_ICEBP,         // INT1 (F1): #DB with no DPL check, delivered like a hardware event
	EVENT_EXTERNAL,      // a maskable interrupt from the local APIC
};

/*
 * Delivers event `vector` of `kind` (with error code `error` when
 * has_error), applying Table 6-5: a contributory fault while delivering a
 * contributory one, or a contributory fault or page fault while
 * delivering a page fault, becomes #DF; any fault while delivering #DF is
 * a triple fault. Returns 0 when a handler was entered, CPU_STOP_EXCEPTION
 * when there is no IDT (cpu->exc holds the event), or
 * CPU_STOP_TRIPLE_FAULT (cpu->exc holds the last fault, cpu->exc_first
 * the event that started it; the vCPU is shut down).
 */
int cpu_deliver(struct cpu *c, u8 vector, enum event_kind kind, bool has_error, u32 error);

/*
 * Delivers one event with no #DF escalation: returns 0, or EXEC_FAULT
 * with the fault met on the way in cpu->exc and nothing changed. INT n
 * uses it so that a fault in delivery is reported at the INT instruction.
 * Requires IDTR.limit != 0.
 */
int exception_deliver_once(struct cpu *c, u8 vector, enum event_kind kind, bool has_error, u32 error);

#endif
