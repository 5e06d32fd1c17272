/* SPDX-License-Identifier: MIT */
/*
 * A small host-versus-Facet checker for the integer instruction tests
 * (exec_alu_test.c, exec_shift_test.c, exec_bit_test.c): one instruction
 * runs natively from a register, flag and memory state, then in Facet
 * from the same state, and everything is compared with the flags the SDM
 * leaves undefined masked. The full differential harness is tests/diff/;
 * this one lets each family check its own forms as it is written.
 *
 * Memory operands address `mem` through register `memreg`, which holds
 * the host address of the buffer natively and FIX_DATA in Facet; it reads
 * back as XSTATE_MEMREG_TOKEN in both so that states compare equal.
 */
#ifndef FACET_EXEC_NATIVE_H
#define FACET_EXEC_NATIVE_H

#include "lib/types.h"

struct machine;

#define XSTATE_MEM 256    // bytes of memory operand area
#define XSTATE_MEM_OFF 128 // memreg points this far into it (negative offsets reach the rest)
#define XSTATE_MEMREG_TOKEN 0x5a5a5a5a5a5a5a5aULL
#define XNO_MEM (-1)

/* The native stub reads r[] at offset 0 and rflags at 128: keep them first. */
struct xstate {
	u64 r[16];  // RSP (r[4]) is neither loaded nor compared
	u64 rflags; // only the arithmetic flags are used
	u8 mem[XSTATE_MEM];
};

/* Runs code (at most 15 bytes) on the host from *s, updating it. False if the host refused. */
bool xnative(const u8 *code, size_t len, struct xstate *s, int memreg);

/* Runs one instruction in Facet from *s, updating it; returns the enum cpu_stop of the step. */
int xfacet(struct machine *mc, const u8 *code, size_t len, struct xstate *s, int memreg);

/*
 * Runs code both ways from *in and compares registers, memory and the
 * arithmetic flags outside `undef`. On a mismatch records a test failure
 * naming `what`, the input and both outputs, and returns false.
 */
bool xcheck(struct machine *mc, const u8 *code, size_t len, const struct xstate *in, int memreg, u64 undef,
	    const char *what);

/* Instruction bytes under construction. */
struct xenc {
	u8 b[15];
	u8 n;
};

#define XMEM (-1) // ModRM r/m operand: [RBX + disp8] (memreg RBX)

/*
 * Appends [F0] [66] [REX] opcode ModRM [disp8] for operand size sz. reg is
 * ModRM.reg (a register 0-15 or an opcode extension), rm a register 0-15
 * or XMEM. byte_rex adds a REX prefix so that byte registers 4-7 are
 * SPL..DIL rather than AH..BH.
 */
void xenc_modrm(struct xenc *e, unsigned sz, bool lock, const u8 *opc, unsigned opclen, unsigned reg, int rm,
		bool byte_rex, s8 disp);
/* Appends the low n bytes of v. */
void xenc_imm(struct xenc *e, u64 v, unsigned n);
/*
 * Picks a random register operand for size sz: never RSP/SPL (the native
 * stub keeps its stack there) and, when mem is set, never a register that
 * overlaps RBX, the memory base.
 */
unsigned xpick_reg(unsigned sz, bool byte_rex, bool mem);

/* Host CPU facts: tests skip what the host cannot run and mask SDM-undefined flags off AMD. */
enum xfeat { XF_BMI1, XF_BMI2, XF_LZCNT, XF_POPCNT };
bool xhost_has(enum xfeat f);
/* True on AMD hosts, whose choices for undefined flags Facet reproduces exactly. */
bool xhost_amd(void);
/* The undefined-flag mask to compare with: none on AMD hosts, sdm_undef elsewhere. */
u64 xundef(u64 sdm_undef);

/* A deterministic 64-bit pseudo-random value (xorshift). */
u64 xrand(void);
/* A value that is often an edge case for operand size sz: 0, 1, -1, sign boundaries, single bits. */
u64 xvalue(unsigned sz);
/* Fills s with values from xvalue for every register, random arithmetic flags and random memory. */
void xfill(struct xstate *s);

#endif
