/* SPDX-License-Identifier: MIT */
/*
 * The differential test harness (STYLE T2): every instruction form runs
 * natively on the host, inside a sandbox mapped at the same low addresses
 * as the test machine's identity map, and in Facet (cpu_step on the
 * fixture machine), from the same registers, RFLAGS and memory. All
 * sixteen GPRs, RIP, RFLAGS (less the flags the SDM leaves undefined for
 * that instruction and operands) and the memory windows must agree, and so
 * must faults (#DE, #PF, #GP, #UD...). Even cases run in Facet by single
 * steps, odd ones through the decoded-block path (cpu_run); a family of
 * two-instruction sequences (flag producer, flag consumer) checks lazy
 * flags across instructions.
 *
 * Pieces:
 * - native.c: the sandbox, the generated entry/exit stubs, the signal
 *   handler that turns a host fault into a recorded outcome, host CPUID.
 * - forms.c: the list of instruction forms, generated from opcode
 *   templates (prefix x size x register/memory x addressing mode).
 * - state.c: one case's input state: edge values and seeded random values,
 *   with memory operands solved into the sandbox windows.
 * - check.c: running a case in Facet, comparing, undefined-flag masks,
 *   reports and per-mnemonic summaries.
 * - diff_test.c: one TEST per family.
 *
 * Environment: FACET_DIFF_SEED (base seed, default 0x5eed), FACET_DIFF_CASES
 * (cases per form, default 400), FACET_DIFF_ONLY (run only forms whose
 * text contains it), FACET_DIFF_VERBOSE=1 (print every mismatch and every
 * mnemonic), FACET_DIFF_LIST=1 (print every form), FACET_DIFF_TRACE=1
 * (print the first two cases of every form, agreeing or not).
 */
#ifndef FACET_DIFF_H
#define FACET_DIFF_H

#include <Zydis/Zydis.h>

#include "lib/types.h"

/* Sandbox layout: identical addresses natively and in the fixture machine. */
#define SB_CODE 0x200000ULL       // native stubs and the instruction under test
#define SB_CODE_SIZE 0x10000ULL
#define SB_INSN 0x208000ULL       // where the instruction under test sits
#define SB_PAD_INDIRECT (SB_INSN + 0x200) // target of indirect branches and RET
#define SB_CLEAR_LO (SB_INSN - 0x800)     // code area refilled with INT3 for each form
#define SB_CLEAR_LEN 0x1000ULL
#define SB_CTL 0x2f0000ULL        // native-only control block (state in/out)
#define SB_DATA_MAP 0x300000ULL   // data pages, mapped natively
#define SB_DATA_MAP_SIZE 0x4000ULL
#define SB_DATA 0x301800ULL       // data window: memory operands and strings
#define SB_DATA_SIZE 0x1000ULL
#define SB_STACK_MAP 0x3f0000ULL  // stack pages, mapped natively
#define SB_STACK_MAP_SIZE 0x10000ULL
#define SB_STACK 0x3fe800ULL      // stack window
#define SB_STACK_SIZE 0x1000ULL
#define SB_STACK_TOP 0x3ff000ULL  // typical RSP for stack instructions
#define SB_GSBASE 0x100000ULL     // GS base in both worlds (FS keeps the host's TLS base)

/* Families: one TEST each. */
enum dfam {
	FAM_ALU, FAM_SHIFT, FAM_BIT, FAM_MOV, FAM_STACK, FAM_STR, FAM_CTL, FAM_ADDR, FAM_INVALID,
	FAM_SEQ,   // a flag producer and a flag consumer: lazy flags across instructions, block path
	FAM_FAULT, // non-canonical addresses: #GP, or #SS through RSP/RBP (SDM Vol. 3A 6.15)
	FAM_COUNT
};

/* Host features a form needs (CPUID); forms whose feature is missing are skipped with a note. */
enum dfeat { FEAT_NONE, FEAT_BMI1, FEAT_BMI2, FEAT_LZCNT, FEAT_POPCNT, FEAT_CX16, FEAT_LAHF, FEAT_MOVBE, FEAT_COUNT };

/* One instruction form: its bytes (immediates and displacements are rewritten per case). */
struct dform {
	u8 bytes[15];
	u8 len;
	u8 ninsn;     // instructions in bytes[] (sequences: the first one's operands get the edge values)
	u8 fam;       // enum dfam
	u8 feat;      // enum dfeat
	bool invalid; // expected to raise #UD in both worlds
	bool noncanon; // every case addresses non-canonical memory (its first operand, or the stack)
};

/* A register and memory state: the input of a case, or an outcome. */
struct dstate {
	u64 r[16];     // RAX..R15
	u64 rip;
	u64 rflags;
	bool fault;    // outcome only: an exception was raised
	u8 vec;        // its vector
	u64 cr2;       // #PF: the faulting address
	bool hang;     // Facet only: the instruction never completed
};

/* Memory windows of a case: copied to both worlds before it runs. */
struct dmem {
	u8 data[SB_DATA_SIZE];
	u8 stack[SB_STACK_SIZE];
};

/* native.c */
/* Maps the sandbox and installs the fault handlers; returns 0 or -1 with a reason in err. */
int native_init(char *err, size_t errlen);
/* Undoes native_init (handlers, alternate stack, GS base); the mappings stay for the next family. */
void native_fini(void);
/* Writes the instruction at SB_INSN, a landing pad after it and at each of targets[0..n). */
void native_load(const u8 *bytes, unsigned len, const u64 *targets, unsigned n);
/* Rewrites bytes of the loaded instruction (per-case immediates and displacements). */
void native_patch(const u8 *bytes, unsigned len);
/* Runs the loaded instruction from `in` (memory already in place); fills `out`. */
void native_run(const struct dstate *in, struct dstate *out);
/* The host's FS base (the thread pointer), which Facet's FS base copies. */
u64 native_fsbase(void);
/* True when the host CPU has the feature. */
bool native_has(enum dfeat f);
const char *native_feat_name(enum dfeat f);

/* forms.c */
/* Builds every form; returns the array (free with free()) and its length in *n. */
struct dform *forms_build(size_t *n);

/* state.c: the analysis of a form that case generation needs. */
struct dmemop {
	int base, index;   // GPR numbers, -1 none, 16 RIP
	unsigned scale;    // log2
	u64 index_mask;    // the bits of the index register that count (AL for XLAT)
	s64 disp;
	u64 segbase;
	unsigned size;     // bytes accessed
	bool a32;          // 32-bit address size
	bool string;       // hidden string operand ([rsi]/[rdi])
	bool write;
	int n;             // Zydis operand index
	u64 ea;            // per case: the solved address
};

struct dform_info {
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	struct dmemop mem[2];
	unsigned nmem;
	bool stack;        // uses RSP implicitly (push, pop, call, ret, enter, leave...)
	bool frame;        // ENTER/LEAVE: RBP points into the stack window too
	bool locked;       // LOCK prefix or implicitly locked XCHG: keep operands aligned
	bool rep;          // REP/REPE/REPNE string instruction
	bool noncanon;     // the form's noncanon flag
	u64 targets[3];    // branch targets that need landing pads
	unsigned ntargets;
};

/* Decodes a form and derives its roles; false if Zydis rejects the bytes. */
bool info_init(struct dform_info *fi, const struct dform *f, u64 fsbase);
/*
 * Generates case k of a form from seed: registers, flags, memory windows,
 * and the per-case instruction bytes in code[] (len bytes).
 */
void state_gen(const struct dform_info *fi, struct dmemop *mem, u64 seed, unsigned k, struct dstate *st,
	       struct dmem *m, u8 *code);
/* Returns a 64-bit mix of a and b (seeds). */
u64 mix64(u64 a, u64 b);
/* Fills the random pool the memory windows are copied from. */
void state_pool_init(u64 seed);
/* Returns the host pointer of a sandbox address inside one of the windows of m, or NULL. */
u8 *dmem_at(struct dmem *m, u64 addr, unsigned size);

/* check.c */
/* Self-check: differences planted in Facet's outcome of a case. */
enum inject { INJECT_NONE, INJECT_REG, INJECT_MEM, INJECT_FLAGS, INJECT_UNDEF_FLAGS, INJECT_UD };
struct dtotals {
	unsigned long forms, cases, mismatches, unimpl_forms, bad_forms, skipped_forms;
};
/* Runs every form of family fam; adds to *t; returns the number of failing forms. */
unsigned check_family(enum dfam fam, struct dtotals *t);
/*
 * Runs the form in bytes[0..len) with difference `kind` planted in every
 * case (INJECT_FLAGS flips `flags`); returns how many cases were judged
 * different from the host, the number of cases in *ncases.
 */
unsigned check_selftest(const u8 *bytes, unsigned len, enum inject kind, u64 flags, unsigned *ncases);

#endif
