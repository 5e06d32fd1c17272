/* SPDX-License-Identifier: MIT */
/*
 * The x2APIC from inside a guest (tests/unit/smp_test.c runs it under
 * `facet run --cpus N`): WRMSR/RDMSR, interrupt delivery through an IDT,
 * HLT that waits, IPIs and the timer. Every vCPU loads a GDT and reloads
 * CS, checks its APIC ID and IA32_APIC_BASE, and software-enables its
 * APIC. vCPU 0 builds the IDT and releases the others, which wait in HLT
 * with interrupts on. vCPU 0 then
 * - counts 10 periodic timer interrupts (divide by 1, count 5000) in a
 *   STI; HLT loop and checks with RDTSC that 50000 instructions of time
 *   passed: "timer ticks 10, tsc ok";
 * - holds a self IPI back with the TPR and sees it arrive when the TPR
 *   drops: "tpr ok";
 * - sends vector 0x41 to each other vCPU by APIC ID, then to all but
 *   itself; each counts a pong and answers with vector 0x42 to APIC ID 0,
 *   and vCPU 0 waits in HLT for all the pongs: "pongs P acks A" with
 *   P = 2 (N - 1) and A the number of 0x42 interrupts taken, which is
 *   at most P (the IRR holds one pending interrupt per vector);
 * and exits with status 0. Any failed check prints "FAIL <what>" and
 * exits with status 1.
 */
#define MSR_APIC_BASE 0x1b
#define MSR_ID 0x802
#define MSR_TPR 0x808
#define MSR_EOI 0x80b
#define MSR_SVR 0x80f
#define MSR_ICR 0x830
#define MSR_LVT_TIMER 0x832
#define MSR_INIT 0x838
#define MSR_DCR 0x83e
#define MSR_SELF_IPI 0x83f

/* WRMSR of a 32-bit constant. */
.macro wrmsr32 msr, val
	mov	$\msr, %ecx
	mov	$\val, %eax
	xor	%edx, %edx
	wrmsr
.endm

	.text
	.globl _start
_start:
	mov	%rsi, %r12		/* APIC ID */
	mov	12(%rdi), %r14d		/* bootinfo.ncpus */
	lgdt	gdtr(%rip)
	pushq	$0x08
	lea	1f(%rip), %rax
	push	%rax
	lretq				/* CS = 0x08, the GDT's 64-bit code segment */
1:	mov	$0x10, %eax
	mov	%eax, %ss

	mov	$MSR_ID, %ecx
	rdmsr
	lea	s_id(%rip), %rsi
	cmp	%r12d, %eax
	jne	fail
	mov	$MSR_APIC_BASE, %ecx
	rdmsr
	lea	s_base(%rip), %rsi
	and	$0xd00, %eax		/* EN, EXTD, BSP */
	mov	$0xc00, %ebx
	test	%r12, %r12
	jnz	2f
	or	$0x100, %ebx		/* BSP on vCPU 0 only */
2:	cmp	%ebx, %eax
	jne	fail
	wrmsr32	MSR_SVR, 0x1ff		/* software enable */
	test	%r12, %r12
	jnz	ap

	call	build_idt
	lidt	idtr(%rip)
	movl	$1, ready(%rip)
	call	timer_check
	call	tpr_check
	call	ipi_check
	xor	%eax, %eax
	out	%al, $0xf4

/* The other vCPUs: wait for the IDT, then serve IPIs forever. */
ap:
	pause
	cmpl	$0, ready(%rip)
	je	ap
	lidt	idtr(%rip)
	sti
1:	hlt
	jmp	1b

/* Writes an interrupt gate for vector EDI to handler RSI, selector 0x08. */
set_gate:
	mov	%rsi, %rax
	and	$0xffff, %eax
	mov	%rsi, %rdx
	shr	$16, %rdx
	shl	$48, %rdx		/* offset 31:16 in bits 63:48 */
	or	%rdx, %rax
	mov	$0x8e0000080000, %rdx	/* present, DPL 0, 64-bit interrupt gate, selector 0x08 */
	or	%rdx, %rax
	shl	$4, %edi
	lea	idt(%rip), %rdx
	mov	%rax, (%rdx,%rdi)
	mov	%rsi, %rax
	shr	$32, %rax
	mov	%rax, 8(%rdx,%rdi)
	ret

build_idt:
	mov	$0x40, %edi
	lea	on_timer(%rip), %rsi
	call	set_gate
	mov	$0x41, %edi
	lea	on_ping(%rip), %rsi
	call	set_gate
	mov	$0x42, %edi
	lea	on_pong(%rip), %rsi
	call	set_gate
	mov	$0x43, %edi
	lea	on_self(%rip), %rsi
	call	set_gate
	ret

timer_check:
	rdtsc
	shl	$32, %rdx
	or	%rax, %rdx
	mov	%rdx, %r13
	wrmsr32	MSR_DCR, 0xb		/* divide by 1 */
	wrmsr32	MSR_LVT_TIMER, 0x20040	/* periodic, vector 0x40 */
	wrmsr32	MSR_INIT, 5000
	sti
1:	hlt
	cmpl	$10, ticks(%rip)
	jb	1b
	cli
	wrmsr32	MSR_INIT, 0		/* stop */
	rdtsc
	shl	$32, %rdx
	or	%rax, %rdx
	sub	%r13, %rdx		/* time for 10 periods: 50000 and a few instructions */
	lea	s_tsc(%rip), %rsi
	cmp	$50000, %rdx
	jb	fail
	cmp	$50100, %rdx
	ja	fail
	lea	s_ticks(%rip), %rsi
	call	puts
	ret

tpr_check:
	wrmsr32	MSR_TPR, 0x50
	wrmsr32	MSR_SELF_IPI, 0x43	/* class 4, held back by TPR class 5 */
	sti
	nop
	nop
	lea	s_tpr_early(%rip), %rsi
	cmpl	$0, self_seen(%rip)
	jne	fail
	wrmsr32	MSR_TPR, 0		/* now it is delivered, after this instruction */
	nop
	lea	s_tpr_late(%rip), %rsi
	cmpl	$1, self_seen(%rip)
	jne	fail
	lea	s_tpr(%rip), %rsi
	call	puts
	ret

ipi_check:
	mov	$1, %ebx
1:	cmp	%r14d, %ebx		/* fixed vector 0x41 to each APIC ID 1..N-1 */
	jae	2f
	mov	$MSR_ICR, %ecx
	mov	$0x41, %eax
	mov	%ebx, %edx
	wrmsr
	inc	%ebx
	jmp	1b
2:	lea	-1(%r14), %ebx
	call	wait_pongs		/* before sending 0x41 again: an IRR bit counts only one */
	wrmsr32	MSR_ICR, 0xc0041	/* to all excluding self */
	lea	-2(%r14, %r14), %ebx
	call	wait_pongs
	lea	s_pongs(%rip), %rsi
	call	puts
	mov	pongs(%rip), %eax
	call	putdec
	lea	s_acks(%rip), %rsi
	call	puts
	mov	acks(%rip), %eax
	call	putdec
	mov	$'\n', %al
	out	%al, $0xe9
	ret

/*
 * Sleeps until pongs reaches EBX. Each pong is followed by a 0x42 to this
 * vCPU, which wakes it (several may come as one interrupt, so acks may
 * count fewer). The check and the sleep leave no gap: STI holds
 * interrupts off until after HLT.
 */
wait_pongs:
	cli
	cmp	%ebx, pongs(%rip)
	je	1f
	sti
	hlt
	jmp	wait_pongs
1:	ret

/* Interrupt handlers: count, answer where asked, EOI. */
.macro eoi
	mov	$MSR_EOI, %ecx
	xor	%eax, %eax
	xor	%edx, %edx
	wrmsr
.endm

.macro handler name, body:vararg
\name:
	push	%rax
	push	%rcx
	push	%rdx
	\body
	eoi
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq
.endm

	handler	on_timer, incl ticks(%rip)
	handler	on_self, incl self_seen(%rip)
	handler	on_pong, lock incl acks(%rip)
on_ping:
	push	%rax
	push	%rcx
	push	%rdx
	lock incl pongs(%rip)
	mov	$MSR_ICR, %ecx
	mov	$0x42, %eax		/* fixed vector 0x42 to APIC ID 0 */
	xor	%edx, %edx
	wrmsr
	eoi
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq

/* Prints "FAIL <string at RSI>" and exits with status 1. */
fail:
	push	%rsi
	lea	s_fail(%rip), %rsi
	call	puts
	pop	%rsi
	call	puts
	mov	$1, %al
	out	%al, $0xf4
	cli
1:	hlt
	jmp	1b

/* Writes the NUL-terminated string at RSI to the console. */
puts:
	movzbl	(%rsi), %eax
	test	%al, %al
	jz	1f
	out	%al, $0xe9
	inc	%rsi
	jmp	puts
1:	ret

/* Writes EAX in decimal. */
putdec:
	mov	%rsp, %rsi
	sub	$32, %rsp
	movb	$0, -1(%rsi)
	dec	%rsi
	mov	$10, %ecx
1:	xor	%edx, %edx
	div	%ecx
	add	$'0', %dl
	dec	%rsi
	mov	%dl, (%rsi)
	test	%eax, %eax
	jnz	1b
	call	puts
	add	$32, %rsp
	ret

	.section .rodata
s_fail:	.asciz "FAIL "
s_id:	.asciz "APIC ID MSR\n"
s_base:	.asciz "IA32_APIC_BASE\n"
s_tsc:	.asciz "timer period\n"
s_ticks: .asciz "timer ticks 10, tsc ok\n"
s_tpr_early: .asciz "TPR did not hold the self IPI back\n"
s_tpr_late: .asciz "self IPI not delivered when TPR dropped\n"
s_tpr:	.asciz "tpr ok\n"
s_pongs: .asciz "pongs "
s_acks:	.asciz " acks "

	.data
	.balign 4096		/* not on a code page: writes there would invalidate decoded code */
idt:	.fill 512, 8, 0
gdt:	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* 0x10: data, DPL 0 */
gdtr:	.word 3 * 8 - 1
	.quad gdt
idtr:	.word 256 * 16 - 1
	.quad idt
	.balign 8
ready:	.long 0
ticks:	.long 0
self_seen: .long 0
pongs:	.long 0
acks:	.long 0

	.section .note.GNU-stack, "", @progbits
