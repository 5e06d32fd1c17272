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
 *   returns EXEC_FAULT with no architectural state changed.
 */
#ifndef FACET_CPU_H
#define FACET_CPU_H

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
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

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
	CPU_STOP_HLT,        // HLT executed with nothing to wake it
	CPU_STOP_EXCEPTION,  // an exception nothing handles; see cpu->exc
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
	u64 tsc_offset;     // RDTSC returns icount + tsc_offset
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
};

/* Resets c to the 64-bit entry state (CPL 0, long mode, paging on at cr3). */
void cpu_init(struct cpu *c, struct mem *m, struct dcache *dc, u32 id);

/*
 * Runs up to `budget` instructions (a block in progress may end a little
 * later). Returns why it stopped. Exceptions are not delivered through an
 * IDT yet: any exception stops the run with CPU_STOP_EXCEPTION.
 */
enum cpu_stop cpu_run(struct cpu *c, u64 budget);

/* Executes exactly one instruction (no block caching); same results as cpu_run. */
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
