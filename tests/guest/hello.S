/* SPDX-License-Identifier: MIT */
/*
 * End-to-end check of port I/O and the debug devices (tests/unit/
 * exec_sys_test.c runs it under `facet run`): prints "hello\n" on the
 * console port 0xE9, using OUT imm8 from a CALLed LOOP, REP OUTSB and
 * OUT DX, then writes 7 to the exit port 0xF4, which ends the run with
 * exit status 7. Linked at 1 MiB by the rule in tests/tests.mk.
 */
	.text
	.globl _start
_start:
	lea msg(%rip), %rsi
	mov $3, %ecx		/* "hel", one OUT imm8 per byte */
	call putn
	mov $0xe9, %edx
	mov $2, %ecx		/* "lo" with string output */
	rep outsb
	mov $'\n', %al
	out %al, %dx
	mov $7, %al
	out %al, $0xf4		/* exit status 7: nothing after this runs */
	ud2

/* Writes RCX bytes from RSI to the console, one at a time. */
putn:
	movzbl (%rsi), %eax
	out %al, $0xe9
	inc %rsi
	loop putn
	ret

	.section .rodata
msg:	.ascii "hello"

	.section .note.GNU-stack, "", @progbits
