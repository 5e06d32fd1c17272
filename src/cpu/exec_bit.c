/* SPDX-License-Identifier: MIT */
#include "cpu/exec.h"

const struct op_entry exec_bit_ops[] = {
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
