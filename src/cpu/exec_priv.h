/* SPDX-License-Identifier: MIT */
/*
 * Selectors for the privileged forms of mnemonics that other families own
 * (the decoder keeps one selector per Zydis mnemonic, decode.h): exec_mov.c
 * hands MOV to and from control, debug and segment registers to
 * priv_sel_mov, exec_ctl.c hands far JMP, CALL and RET to priv_sel_far.
 * Both return NULL for forms that do not exist (then #UD).
 */
#ifndef FACET_EXEC_PRIV_H
#define FACET_EXEC_PRIV_H

#include "cpu/decode.h"

/* MOV CRn/DRn/Sreg forms (exec_priv.c). */
insn_fn priv_sel_mov(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo);

/* Far JMP m16:xx, far CALL m16:xx, far RET (exec_far.c). */
insn_fn priv_sel_far(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo);

#endif
