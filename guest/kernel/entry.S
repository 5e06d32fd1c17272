/* SPDX-License-Identifier: MIT */
/*
 * The kernel's ways in and out (kernel.h explains the execution model).
 *
 * _start64: Facet's entry (abi/bootinfo.h), taken by every vCPU with RDI
 * = the boot information and RSI = its APIC ID; each vCPU moves to its
 * own kernel stack (kstacks[APIC ID]) before touching memory, so the
 * runner's boot stacks are never used.
 *
 * isr_stubs: 256 stubs of 16 bytes, one per IDT vector. Each pushes a zero
 * error code where the CPU pushes none (SDM Vol. 3A 6.13: 8, 10-14, 17,
 * 21, 29 and 30 have one), then its vector, and joins isr_common, which
 * does SWAPGS when it came from user mode, saves the GPRs and calls trap().
 * syscall_entry builds the same frame for SYSCALL (vector VEC_SYSCALL),
 * on the stack whose top the per-CPU data holds. trap_exit restores the
 * frame trap() left in the slot: SYSRET when it is a SYSCALL frame (RCX
 * and R11 are clobbered by the SYSCALL ABI anyway), IRETQ otherwise.
 *
 * Entries clear RFLAGS.AC (CLAC, when SMAP exists): interrupt and
 * exception delivery keep the user's AC, which would switch SMAP off
 * in the kernel (SDM Vol. 3A 4.6.1). SYSCALL clears it through SFMASK.
 */
#define KSTACK_SIZE 16384
#define KMAX_CPUS 64
#define TRAP_FRAME_SIZE 176
#define VEC_SYSCALL 0x100
#define USER_CS 0x2b
#define USER_DS 0x23
#define PCPU_KSTACK_TOP 8 // offsets in struct percpu, checked in desc.c
#define PCPU_USER_RSP 16

	.text
	.globl _start64
	.type _start64, @function
_start64:
	cli
	cld
	cmp	$KMAX_CPUS, %rsi
	jae	1f
	mov	%rsi, %rax
	shl	$14, %rax                   // * KSTACK_SIZE
	lea	kstacks + KSTACK_SIZE - TRAP_FRAME_SIZE - 16(%rax), %rsp
	xor	%ebp, %ebp
	call	kmain
1:	hlt
	jmp	1b
	.size _start64, . - _start64

/* Entered from boot32.S (Multiboot) with RDI = boot information, on the BSP's stack. */
	.globl kernel_start_multiboot
kernel_start_multiboot:
	lea	kstacks + KSTACK_SIZE - TRAP_FRAME_SIZE - 16, %rsp
	xor	%esi, %esi
	xor	%ebp, %ebp
	call	kmain
1:	hlt
	jmp	1b

	.macro push_gprs
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

	.macro clear_ac
	cmpb	$0, kernel_smap(%rip)
	je	77f
	clac
77:
	.endm

	.align 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.align 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
	.set vec, vec + 1
	.endr

isr_common:
	testb	$3, 24(%rsp)                // CS of the interrupted code: [vector][error][rip][cs]
	jz	1f
	swapgs
1:	push_gprs
	cld
	clear_ac
	mov	%rsp, %rdi
	call	trap
	/* fall through */
	.globl trap_exit
trap_exit:
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
	cmpq	$VEC_SYSCALL, (%rsp)
	je	2f
	add	$16, %rsp                   // vector, error code
	testb	$3, 8(%rsp)
	jz	1f
	swapgs
1:	iretq
2:	mov	16(%rsp), %rcx              // RIP
	mov	32(%rsp), %r11              // RFLAGS
	swapgs
	mov	40(%rsp), %rsp              // user RSP
	sysretq

	.globl syscall_entry
	.type syscall_entry, @function
syscall_entry:
	swapgs
	mov	%rsp, %gs:PCPU_USER_RSP
	mov	%gs:PCPU_KSTACK_TOP, %rsp
	pushq	$USER_DS
	pushq	%gs:PCPU_USER_RSP
	pushq	%r11                        // RFLAGS
	pushq	$USER_CS
	pushq	%rcx                        // RIP
	pushq	$0
	pushq	$VEC_SYSCALL
	push_gprs
	mov	%rsp, %rdi
	call	trap
	jmp	trap_exit
	.size syscall_entry, . - syscall_entry

/* return_to_user(f): copies *f into this vCPU's frame slot and leaves through it. */
	.globl return_to_user
return_to_user:
	mov	%gs:PCPU_KSTACK_TOP, %rsp
	sub	$TRAP_FRAME_SIZE, %rsp
	mov	%rdi, %rsi
	mov	%rsp, %rdi
	mov	$TRAP_FRAME_SIZE / 8, %ecx
	rep movsq
	jmp	trap_exit

/* switch_to_idle(rsp, fn): runs fn on a fresh stack. */
	.globl switch_to_idle
switch_to_idle:
	mov	%rdi, %rsp
	xor	%ebp, %ebp
	call	*%rsi
	ud2

/* ktest_load(addr): one load that the SMAP test expects to fault; trap.c resumes at ktest_load_done. */
	.globl ktest_load, ktest_load_insn, ktest_load_done
ktest_load:
ktest_load_insn:
	mov	(%rdi), %rax
ktest_load_done:
	ret

	.bss
	.align 4096
	.globl kstacks
kstacks:
	.skip KSTACK_SIZE * KMAX_CPUS
