/* SPDX-License-Identifier: MIT */
/*
 * The decoder front end: instruction bytes -> Zydis -> struct insn with its
 * handler chosen (STYLE I5: the decoder produces struct insn and nothing
 * else; dis.h formats). Each instruction family (exec_*.c) contributes a
 * table of op_entry rows: a mnemonic and a selector that looks at the
 * decoded operands and returns the handler for that form, or NULL when
 * no handler models the form, which makes the instruction raise #UD.
 */
#ifndef FACET_DECODE_H
#define FACET_DECODE_H

#include <Zydis/Zydis.h>

#include "cpu/insn.h"

/*
 * Chooses the handler for one decoded form, and may adjust the insn (for
 * example set INSN_TERM or a derived field). Returns NULL for a form the
 * family does not implement.
 */
typedef insn_fn (*select_fn)(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo);

struct op_entry {
	ZydisMnemonic mnemonic;
	select_fn select;
};

/* The families, each terminated by a row with mnemonic ZYDIS_MNEMONIC_INVALID. */
extern const struct op_entry exec_alu_ops[];   // exec_alu.c: ADD..CMP, TEST, INC, DEC, NEG, NOT
extern const struct op_entry exec_muldiv_ops[]; // exec_muldiv.c: MUL, IMUL, DIV, IDIV
extern const struct op_entry exec_shift_ops[]; // exec_shift.c: SHL SHR SAR ROL ROR RCL RCR SHLD SHRD
extern const struct op_entry exec_bit_ops[];   // exec_bit.c: BT* BSF BSR POPCNT LZCNT TZCNT, BMI1/BMI2
extern const struct op_entry exec_mov_ops[];   // exec_mov.c: MOV MOVZX MOVSX MOVSXD MOVBE CMOVcc SETcc BSWAP LEA CBW.. CQO, flag ops
extern const struct op_entry exec_stack_ops[]; // exec_stack.c: PUSH POP PUSHF POPF ENTER LEAVE
extern const struct op_entry exec_atomic_ops[]; // exec_atomic.c: XCHG CMPXCHG CMPXCHG8B CMPXCHG16B XADD
extern const struct op_entry exec_str_ops[];   // exec_str.c: MOVS CMPS SCAS LODS STOS (+REP)
extern const struct op_entry exec_ctl_ops[];   // exec_ctl.c: JMP Jcc CALL RET JRCXZ LOOP*
extern const struct op_entry exec_sys_ops[];   // exec_sys.c: NOP PAUSE CPUID RDTSC UD2 HLT CLI STI IN OUT INS OUTS
extern const struct op_entry exec_priv_ops[];  // exec_priv.c: LGDT LIDT SGDT SIDT LTR STR LLDT SLDT LMSW SMSW CLTS INVD WBINVD RDMSR WRMSR SWAPGS RDTSCP
extern const struct op_entry exec_far_ops[];   // exec_far.c: IRET IRETD IRETQ (far JMP/CALL/RET come through exec_ctl.c)
extern const struct op_entry exec_int_ops[];   // exec_int.c: INT INT3 INT1 SYSCALL SYSRET
extern const struct op_entry exec_tlb_ops[];   // exec_tlb.c: INVLPG INVPCID STAC CLAC

struct decoder {
	ZydisDecoder zd;
	select_fn select[ZYDIS_MNEMONIC_MAX_VALUE + 1];
};

enum decode_status {
	DECODE_OK = 0,
	DECODE_SHORT,   // the bytes end inside the instruction: supply more
	DECODE_INVALID, // not a valid encoding (the insn raises #UD)
};

/* Prepares the Zydis decoder for 64-bit mode and the mnemonic -> selector table. */
void decoder_init(struct decoder *d);

/*
 * Decodes one instruction from `avail` bytes. On DECODE_OK and
 * DECODE_INVALID *out is a complete insn (an invalid or unmodeled
 * instruction gets the #UD handler); on DECODE_SHORT it is untouched.
 */
enum decode_status decode_one(const struct decoder *d, const u8 *bytes, size_t avail, struct insn *out);

/* Handler that raises #UD: for invalid instructions and forms no family models. */
int op_ud(struct cpu *c, const struct insn *i);

#endif
