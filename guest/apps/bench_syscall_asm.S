/* SPDX-License-Identifier: MIT */
/*
 * The assembly half of the bench_syscall guest (bench_syscall.c is the
 * kernel side in C, bench_syscall.h the layout both share):
 *
 * - bsys_syscall_entry, IA32_LSTAR's target: SWAPGS to the per-CPU block,
 *   switch to the process's kernel stack, push a struct bsys_frame, call
 *   bsys_syscall(). If it hands back the same frame, return with SYSRET;
 *   if it switched process (and CR3), resume the other frame with IRETQ,
 *   as kernels do for a context that was not saved by SYSCALL alone.
 * - bsys_exc_stubs: one 16-byte stub per exception vector 0-31, pushing a
 *   zero error code where the CPU pushes none (SDM Vol. 3A 6.3.1, table
 *   6-1) and the vector, then calling bsys_exception().
 * - the ring-3 program, on whole pages of its own (.text.bsys_user) that
 *   the kernel maps at BSYS_USER_CODE_VA in both address spaces. It uses
 *   no absolute address: only registers, its data page and its stack.
 *
 * SFMASK clears IF on entry and nothing enables interrupts: the benchmark
 * measures the SYSCALL path only, identically under every emulator.
 */
#include "bench_syscall.h"

	.macro PUSH_GPRS
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	.endm

	.macro POP_GPRS
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	.endm

	.text
	.globl bsys_syscall_entry
	.type bsys_syscall_entry, @function
bsys_syscall_entry:
	swapgs
	mov	%rsp, %gs:BSYS_PC_USER_RSP
	mov	%gs:BSYS_PC_KSTACK, %rsp
	pushq	$BSYS_USER_DS
	pushq	%gs:BSYS_PC_USER_RSP
	push	%r11                        // RFLAGS, as SYSCALL saved it
	pushq	$BSYS_USER_CS
	push	%rcx                        // RIP of the next user instruction
	PUSH_GPRS
	mov	%rsp, %rdi
	call	bsys_syscall                // 20 pushes keep RSP 16-byte aligned
	cmp	%rax, %rsp
	jne	resume_other
	POP_GPRS
	mov	(%rsp), %rcx                // the frame's RIP, RFLAGS and RSP
	mov	16(%rsp), %r11
	mov	24(%rsp), %rsp
	swapgs
	sysretq
	.size bsys_syscall_entry, . - bsys_syscall_entry

	.globl bsys_resume
	.type bsys_resume, @function
bsys_resume:
	mov	%rdi, %rax
resume_other:
	mov	%rax, %rsp
	POP_GPRS
	swapgs
	iretq
	.size bsys_resume, . - bsys_resume

	.globl bsys_load_gdt
	.type bsys_load_gdt, @function
bsys_load_gdt:
	lgdt	(%rdi)
	pushq	$BSYS_KERNEL_CS
	lea	1f(%rip), %rax
	push	%rax
	lretq                               // the far return reloads CS from the new GDT
1:	mov	$BSYS_KERNEL_DS, %eax
	mov	%eax, %ss
	mov	%eax, %ds
	mov	%eax, %es
	ret
	.size bsys_load_gdt, . - bsys_load_gdt

	/* Vectors whose exceptions push an error code: 8, 10-14, 17, 21, 29, 30. */
	.macro EXC_STUB v
	.balign 16
	.if (\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
	.else
	pushq	$0
	.endif
	pushq	$\v
	jmp	exc_common
	.endm

	.balign 16
	.globl bsys_exc_stubs
bsys_exc_stubs:
	.irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	EXC_STUB \v
	.endr

exc_common:
	PUSH_GPRS
	mov	%rsp, %rdi
	and	$-16, %rsp
	cld
	call	bsys_exception
	ud2

	/*
	 * The ring-3 program: RDI = its starting accumulator, RSI = how many
	 * BSYS_SYS_MIX calls to make (at least 1), RDX = its data page. Each
	 * call's result goes into the data page's first word and, through a
	 * call that uses the stack, into the accumulator; BSYS_SYS_EXIT hands
	 * both to the kernel. tests/guest/bench_guests_test.c mirrors this.
	 */
	.section .text.bsys_user, "ax"
	.balign 4096
	.globl bsys_user_start
bsys_user_start:
	.globl bsys_user_main
bsys_user_main:
	mov	%rdi, %r14                  // accumulator
	mov	%rsi, %r12                  // calls left
	mov	%rdx, %rbx                  // data page
1:	mov	%r14, %rdi
	mov	%r12, %rsi
	mov	$BSYS_SYS_MIX, %eax
	syscall
	call	user_fold
	dec	%r12
	jnz	1b
	mov	%r14, %rdi
	mov	(%rbx), %rsi
	mov	$BSYS_SYS_EXIT, %eax
	syscall
	ud2                                 // the kernel never returns from exit
user_fold:
	add	%rax, (%rbx)
	xor	%rax, %r14
	rol	$13, %r14
	ret
	/* Where process 1 starts instead with fault=1: HLT at CPL 3 raises #GP(0). */
	.globl bsys_user_fault
bsys_user_fault:
	hlt
	ud2
	.balign 4096
	.globl bsys_user_end
bsys_user_end:
