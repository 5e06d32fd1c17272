/* SPDX-License-Identifier: MIT */
/*
 * One vCPU in 64-bit mode: the register file, lazy flags, pending
 * exception, TLB and the run loop over decoded blocks.
 *
 * Invariants:
 * - r[REG_RIP] is RIP of the instruction being executed (the run loop
 *   advances it after a handler returns EXEC_NEXT), r[REG_NONE] is zero.
 * - The arithmetic flags (CF PF AF ZF SF OF) live in `lf` until something
 *   reads them; flags_get() folds them into RFLAGS (see flags.h).
 * - An exception raised by a handler is recorded in `exc` and the handler
 *   returns EXEC_FAULT with no architectural state changed; the run loop
 *   then delivers it (exception.h).
 * - cpl is the RPL of seg[SREG_CS].sel; segment.h's seg_load_cs changes both.
 */
#ifndef FACET_CPU_H
#define FACET_CPU_H

#include "cpu/apic.h"
#include "cpu/insn.h"
#include "lib/types.h"
#include "mmu/mmu.h"

struct mem;
struct dcache;
struct block;

#define JC_ENTRIES 4096

enum gpr { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

/* RFLAGS bits (SDM Vol. 1 3.4.3). */
#define RFLAGS_CF (1ULL << 0)
#define RFLAGS_FIXED1 (1ULL << 1) // always 1
#define RFLAGS_PF (1ULL << 2)
#define RFLAGS_AF (1ULL << 4)
#define RFLAGS_ZF (1ULL << 6)
#define RFLAGS_SF (1ULL << 7)
#define RFLAGS_TF (1ULL << 8)
#define RFLAGS_IF (1ULL << 9)
#define RFLAGS_DF (1ULL << 10)
#define RFLAGS_OF (1ULL << 11)
#define RFLAGS_IOPL (3ULL << 12)
#define RFLAGS_NT (1ULL << 14)
#define RFLAGS_RF (1ULL << 16)
#define RFLAGS_VM (1ULL << 17)
#define RFLAGS_AC (1ULL << 18)
#define RFLAGS_VIF (1ULL << 19)
#define RFLAGS_VIP (1ULL << 20)
#define RFLAGS_ID (1ULL << 21)
#define RFLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

/* Control register and EFER bits used by the model (SDM Vol. 3A 2.5). */
#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_EM (1ULL << 2)
#define CR0_TS (1ULL << 3)
#define CR0_ET (1ULL << 4) // hardwired to 1
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_AM (1ULL << 18)
#define CR0_NW (1ULL << 29)
#define CR0_CD (1ULL << 30)
#define CR0_PG (1ULL << 31)
#define CR4_TSD (1ULL << 2)
#define CR4_DE (1ULL << 3)
#define CR4_PSE (1ULL << 4)
#define CR4_PAE (1ULL << 5)
#define CR4_MCE (1ULL << 6)
#define CR4_PGE (1ULL << 7)
#define CR4_PCE (1ULL << 8)
#define CR4_PCIDE (1ULL << 17)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define EFER_SCE (1ULL << 0)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

/*
 * Segment registers, numbered as MOV Sreg encodes them (ES CS SS DS FS
 * GS), then LDTR and TR (SDM Vol. 3A 3.4.3, 3.4.5, 7.2.4).
 */
enum sreg { SREG_ES, SREG_CS, SREG_SS, SREG_DS, SREG_FS, SREG_GS, SREG_LDTR, SREG_TR, SREG_N };

/*
 * Segment access rights as the VMCS stores them (SDM Vol. 3C 24.4.1):
 * bits 47:40 and 55:52 of the descriptor, plus "unusable" for a register
 * loaded with a null selector.
 */
#define AR_TYPE 0xfu           // 3:0 type; code: 3 = code, 2 = conforming, 1 = readable; data: 1 = writable
#define AR_TYPE_CODE (1u << 3) // type bit 3 of a code or data descriptor (S = 1)
#define AR_TYPE_CONF (1u << 2) // code: conforming
#define AR_TYPE_RW (1u << 1)   // code: readable; data: writable
#define AR_TYPE_A (1u << 0)    // accessed
#define AR_S (1u << 4)         // code or data (1), system (0)
#define AR_DPL_SHIFT 5         // 6:5 descriptor privilege level
#define AR_P (1u << 7)         // present
#define AR_L (1u << 13)        // 64-bit code
#define AR_DB (1u << 14)       // default operand size / big
#define AR_G (1u << 15)        // limit in 4 KiB units
#define AR_UNUSABLE (1u << 16) // null selector loaded

/* A segment register with its descriptor cache. */
struct segment {
	u64 base;  // FS and GS: unused, their bases live in cpu->seg_base[] where cpu_ea reads them
	u32 limit; // byte limit (granularity applied)
	u32 attr;  // AR_* access rights
	u16 sel;   // visible selector
};

/* GDTR and IDTR (SDM Vol. 3A 2.4.1, 2.4.3). */
struct dtr {
	u64 base;
	u16 limit;
};

/* Exception vectors (SDM Vol. 3A 6.3.1). */
enum vector {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5, VEC_UD = 6, VEC_NM = 7,
	VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14, VEC_MF = 16,
	VEC_AC = 17, VEC_MC = 18, VEC_XM = 19, VEC_VE = 20,
};

/* Lazy flag producers (flags.c knows how to derive each flag from them). */
enum lf_op {
	LF_NONE = 0, // rflags holds the arithmetic flags
	LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC,
};

struct lazy_flags {
	u64 res;  // result, truncated to the operand size
	u64 dst;  // first operand (destination before the operation)
	u64 src;  // second operand
	u8 op;    // enum lf_op
	u8 size;  // operand size in bytes
	u8 cf_in; // INC/DEC: CF before the operation, which they keep
};

struct exception {
	u8 vector;      // enum vector
	bool has_error; // error code pushed
	bool noncanonical; // #GP(0) raised for the non-canonical address `addr`
	u32 error;      // error code
	gva_t addr;     // see noncanonical
};

/* Why cpu_run returned. */
enum cpu_stop {
	CPU_STOP_BUDGET = 0, // instruction budget used up
	CPU_STOP_REQUEST,    // a device or handler asked to stop (cpu->stop_request)
	CPU_STOP_HLT,        // halted (HLT), and no interrupt can be delivered now
	CPU_STOP_EXCEPTION,  // an exception nothing handles; see cpu->exc
	CPU_STOP_TRIPLE_FAULT, // shutdown: a fault while delivering #DF; see cpu->exc and exc_first
};

struct cpu {
	u64 r[18];          // RAX..R15, RIP (REG_RIP), zero (REG_NONE)
	u64 rflags;         // RFLAGS; its arithmetic bits are stale while lf.op != LF_NONE
	struct lazy_flags lf;
	u64 seg_base[3];    // indexed by enum seg_override: 0, FS.base, GS.base
	u64 kernel_gs_base; // IA32_KERNEL_GS_BASE
	u64 cr0, cr2, cr3, cr4, efer;
	u8 cpl;             // current privilege level, 0 or 3
	u32 id;             // vCPU index within the machine
	struct exception exc; // valid after EXEC_FAULT / CPU_STOP_EXCEPTION
	bool stop_request;  // set by devices to end cpu_run at the next instruction
	bool halted;
	u64 icount;         // instructions retired
	u64 event_at;       // icount at which the run loop next services events (cpu_kick: now); see cpu.c
	u64 idle;           // instructions' worth of time spent halted (the machine adds it while the vCPU waits),
	                    // or delivering faults (one each, see stalls)
	u64 stalls;         // faults delivered: each counts as one instruction's worth of time and budget (cpu.c)
	u64 tsc_offset;     // RDTSC returns cpu_time() + tsc_offset
	struct mem *mem;    // shared machine memory (not owned)
	struct dcache *dc;  // shared decode cache (not owned)
	struct cpu *peers;  // all vCPUs of the machine, for TLB shootdown of code pages
	unsigned npeers;
	u64 jc_generation;  // decode-cache flush count the jump cache is valid for
	struct jump_cache {
		hpa_t hpa;          // host-physical address of a block's first byte
		struct block *b;    // that block, if still valid
	} jc[JC_ENTRIES];       // recently entered blocks, direct mapped by hpa
	struct tlb tlb;
	struct apic apic;   // this vCPU's local APIC (apic.h)

	/*
	 * System state (SDM Vol. 3A ch. 2-6): segment.h loads segments,
	 * exception.h delivers events, msr.h reads and writes the MSRs.
	 */
	struct segment seg[SREG_N]; // descriptor caches; seg[SREG_CS].sel & 3 == cpl
	struct dtr gdtr, idtr;
	u64 dr[8];          // DR0-DR3, DR6, DR7 (slots 4 and 5 unused): stored only, no breakpoints yet
	u64 star, lstar, cstar, sfmask; // SYSCALL/SYSRET MSRs
	u64 tsc_aux, pat, misc_enable;  // IA32_TSC_AUX, IA32_PAT, IA32_MISC_ENABLE
	u64 run_end;        // icount at which the current cpu_run's budget ends
	u64 shadow_at;      // interrupts are held off while icount == shadow_at (STI, MOV SS)
	struct exception exc_first; // after a triple fault: the event whose delivery failed
	bool shutdown;      // after a triple fault: the vCPU does not run again
};

/*
 * Makes the run loop look for deliverable interrupts at the next block
 * boundary. Call after anything that may make one deliverable: setting
 * RFLAGS.IF, an APIC register write (EOI, TPR, a self-IPI), the end of a
 * wait in HLT.
 */
static inline void cpu_kick(struct cpu *c)
{
	c->event_at = 0;
}

/*
 * Returns the vCPU's time in instructions: retired ones plus the idle
 * time spent halted. The APIC timer and the TSC run on it, so time is
 * deterministic and keeps going while a vCPU waits in HLT.
 */
static inline u64 cpu_time(const struct cpu *c)
{
	return c->icount + c->idle;
}

/* Resets c to the 64-bit entry state (CPL 0, long mode, paging on at cr3). */
void cpu_init(struct cpu *c, struct mem *m, struct dcache *dc, u32 id);

/*
 * Runs up to `budget` instructions (a block in progress may end a little
 * later). Returns why it stopped. Exceptions and interrupts are delivered
 * through the IDT (exception.h); with no IDT (limit 0) an exception
 * stops the run with CPU_STOP_EXCEPTION. An interrupt from the APIC is
 * taken at a block boundary when RFLAGS.IF = 1 and no STI/MOV SS shadow
 * holds it off, and wakes a halted vCPU. CPU_STOP_HLT means the vCPU is
 * halted and nothing can be delivered now: the caller lets time pass
 * (cpu->idle) or, with RFLAGS.IF = 0, knows that only another vCPU's
 * action could matter.
 */
enum cpu_stop cpu_run(struct cpu *c, u64 budget);

/*
 * Executes exactly one instruction (no block caching) with cpu_run's
 * event handling: an interrupt deliverable before it is taken first,
 * a fault is delivered, a HLT with an interrupt pending wakes at once.
 */
enum cpu_stop cpu_step(struct cpu *c);

/*
 * Turns a #GP(0) for a non-canonical address into #SS(0) when that access
 * of instruction i went through SS. Called by the run loop on EXEC_FAULT.
 */
void cpu_fixup_stack_fault(struct cpu *c, const struct insn *i);

/* Records exception `vec` (with error code when has_error) and returns EXEC_FAULT. */
int cpu_raise(struct cpu *c, u8 vec, bool has_error, u32 error);

/* Pointer to byte register n in the insn.h numbering (AH..BH are 16-19). */
static inline u8 *cpu_reg8(struct cpu *c, unsigned n)
{
	return n < 16 ? (u8 *)&c->r[n] : (u8 *)&c->r[n - 16] + 1;
}

/* Reads register n at operand size sz (1, 2, 4, 8), zero-extended. */
static inline u64 cpu_reg_get(struct cpu *c, unsigned n, unsigned sz)
{
	switch (sz) {
	case 1: return *cpu_reg8(c, n);
	case 2: return (u16)c->r[n];
	case 4: return (u32)c->r[n];
	default: return c->r[n];
	}
}

/* Writes register n at size sz with the 64-bit rules: 32-bit writes zero the upper half. */
static inline void cpu_reg_set(struct cpu *c, unsigned n, unsigned sz, u64 v)
{
	switch (sz) {
	case 1: *cpu_reg8(c, n) = (u8)v; break;
	case 2: c->r[n] = (c->r[n] & ~0xffffULL) | (u16)v; break;
	case 4: c->r[n] = (u32)v; break;
	default: c->r[n] = v; break;
	}
}

/* Effective (linear) address of i's memory operand. */
static inline gva_t cpu_ea(const struct cpu *c, const struct insn *i)
{
	u64 a = (u64)i->disp + c->r[i->base] + (c->r[i->index] << i->scale);
	if (unlikely(i->flags & INSN_ADDR32))
		a = (u32)a;
	return a + c->seg_base[i->seg];
}

#endif
