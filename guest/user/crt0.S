/* SPDX-License-Identifier: MIT */
/*
 * Entry of every user program (guest/kernel/uapi.h): RDI = the spawn
 * argument, RSP = the 16-byte aligned stack top. Calls main(arg) and
 * exits with its return value.
 */
	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	xor	%ebp, %ebp
	call	main
	mov	%eax, %edi
	call	sys_exit
	ud2
	.size _start, . - _start
