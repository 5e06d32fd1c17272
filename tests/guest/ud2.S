/* SPDX-License-Identifier: MIT */
/*
 * A guest that executes UD2 after one NOP: `facet run` must end with
 * a report naming #UD, the RIP of the UD2 (1 MiB + 1) and "ud2"
 * (checked by tests/unit/exec_sys_test.c).
 */
	.text
	.globl _start
_start:
	nop
	ud2

	.section .note.GNU-stack, "", @progbits
