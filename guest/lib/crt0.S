/* SPDX-License-Identifier: MIT */
/*
 * The ELF entry point of every guest (abi/bootinfo.h is the contract):
 * `facet run` enters _start64 in 64-bit mode with RDI = the boot
 * information, RSI = the vCPU's APIC ID and RSP = its boot stack, on
 * every vCPU at once. These programs are single-threaded: a vCPU other
 * than vCPU 0 parks at once, with interrupts off, in a HLT loop that
 * nothing wakes and that touches no memory, so it cannot disturb vCPU 0
 * (which may use the whole boot stack), and the run ends when vCPU 0
 * writes the exit port. vCPU 0's _start64 then clears .bss (Facet's
 * loader zeroes it already, but a guest should not depend on one loader's
 * kindness), then crt0_common records the boot information, calls
 * main(bootinfo) on a 16-byte aligned stack and passes main's return
 * value to exit(). boot32.S joins at crt0_common after its own setup.
 *
 * Only plain MOV/ADD/CMP/TEST/Jcc are used before main, so that a guest starts
 * even on an interpreter that lacks string instructions.
 */
	.text
	.globl _start64
	.type _start64, @function
_start64:
	test	%rsi, %rsi
	jnz	park
	mov	%rdi, %rbx
	mov	$__bss_start, %eax
	mov	$__bss_end, %ecx
1:	cmp	%rcx, %rax
	jae	2f
	movq	$0, (%rax)
	add	$8, %rax
	jmp	1b
2:	mov	%rbx, %rdi
	.globl crt0_common
crt0_common:
	and	$-16, %rsp
	xor	%ebp, %ebp                  // end of the frame chain for debuggers
	mov	%rdi, guest_bootinfo(%rip)
	call	main
	mov	%eax, %edi
	call	exit
	.size _start64, . - _start64

	.type park, @function
park:
	cli
1:	hlt
	jmp	1b
	.size park, . - park
