/* SPDX-License-Identifier: MIT */
/*
 * The decoded form of one instruction (STYLE I3: plain data).
 *
 * The decoder (decode.c) turns bytes into a struct insn once, through
 * Zydis; execution never looks at the bytes again. Everything a handler
 * needs is resolved here: the handler itself, operand size, register
 * numbers, the memory operand's parts and the immediate.
 *
 * Register numbers: 0-15 are RAX..R15. For byte operands, 0-15 are
 * AL,CL,DL,BL,SPL,BPL,SIL,DIL,R8B..R15B and REG_AH..REG_BH (16-19) the
 * legacy high bytes, so handlers never see REX rules. In address parts,
 * REG_RIP (16) is RIP and REG_NONE (17) reads as zero (see cpu.h: the
 * register file has both slots, so the effective address needs no test).
 */
#ifndef FACET_INSN_H
#define FACET_INSN_H

#include "lib/types.h"

struct cpu;
struct insn;

/*
 * A handler executes one instruction. It returns one of enum exec; on
 * EXEC_FAULT it has changed no architectural state (STYLE E2).
 */
typedef int (*insn_fn)(struct cpu *c, const struct insn *i);

enum exec {
	EXEC_NEXT = 0,  // done; the run loop advances RIP by len
	EXEC_JUMP = 1,  // handler set RIP; the block ends here
	EXEC_FAULT = 2, // an exception is pending in cpu->exc; RIP unchanged
	EXEC_STOP = 3,  // handler set RIP and asks the run loop to return
	EXEC_RETRY = 4, // nothing retired (yet): fetch again at RIP (block end, stale
	                // code, a REP string instruction pausing between iterations)
};

#define REG_AH 16
#define REG_CH 17
#define REG_DH 18
#define REG_BH 19
#define REG_RIP 16
#define REG_NONE 17

/* Segment used by a memory operand: only FS and GS have bases in 64-bit mode. */
enum seg_override { SEG_NONE = 0, SEG_FS = 1, SEG_GS = 2 };

/* Operand kinds (insn.k[n]). */
enum opkind { OPK_NONE = 0, OPK_REG, OPK_MEM, OPK_IMM, OPK_OTHER };

/* insn.flags */
#define INSN_LOCK (1u << 0)   // LOCK prefix
#define INSN_REP (1u << 1)    // REP/REPE prefix (F3)
#define INSN_REPNE (1u << 2)  // REPNE prefix (F2)
#define INSN_ADDR32 (1u << 3) // 67h: 32-bit address size
#define INSN_MEM (1u << 4)    // has an explicit memory operand
#define INSN_TERM (1u << 5)   // ends a decoded block (branch, I/O, system)
#define INSN_SYNC (1u << 6)   // also starts a block, so icount is exact when it runs (RDTSC)
#define INSN_SS_MEM (1u << 7) // the explicit memory operand is addressed through SS (base RSP/RBP)
#define INSN_STACK (1u << 8)  // an implicit stack access (PUSH, POP, CALL, RET, ENTER, LEAVE...)

struct insn {
	insn_fn fn;    // handler, chosen at decode time
	s64 disp;      // memory displacement; for REG_RIP bases, disp + len
	u64 imm;       // immediate, sign-extended to 64 bits; branch: target - next RIP
	u16 flags;     // INSN_*
	u8 len;        // instruction length in bytes (1-15)
	u8 osz;        // operand size in bytes: 1, 2, 4 or 8
	u8 nops;       // explicit (visible) operand count
	u8 k[3];       // enum opkind of explicit operands 0..2
	u8 r[3];       // register number of operand n when k[n] == OPK_REG
	u8 base;       // memory base register, REG_RIP, or REG_NONE
	u8 index;      // memory index register or REG_NONE
	u8 scale;      // log2 of the index scale
	u8 seg;        // enum seg_override
	u8 cc;         // condition code 0-15 (Jcc, SETcc, CMOVcc)
	u8 ssz;        // source operand size in bytes, where it differs (MOVZX..)
	u16 mnemonic;  // ZydisMnemonic, for reports and tracing
	u16 imm2;      // second immediate (ENTER level)
};

#endif
