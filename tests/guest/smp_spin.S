/* SPDX-License-Identifier: MIT */
/*
 * A guest for several vCPUs (tests/unit/smp_test.c runs it under `facet
 * run --cpus N`), using the start-up protocol of abi/bootinfo.h: every
 * vCPU enters _start with RSI = its APIC ID, RDI = the boot information
 * and its own slice of the boot stack. Each vCPU takes an arrival number
 * with LOCK XADD, prints "vCPU <id> arrives <n>" under a spinlock, adds
 * (id + 1) * 3000 to a shared total one LOCK INC at a time, prints "vCPU
 * <id> done at <total then>" and counts itself done; vCPU 0 then waits
 * (PAUSE) for all bootinfo.ncpus of them, prints "total <t>" and exits
 * with status 0, the others park in HLT with interrupts off. The totals
 * seen depend on how the vCPUs' turns interleave, which depends only on
 * the scheduler: two runs must print the same bytes.
 */
	.text
	.globl _start
_start:
	mov	%rsi, %r12		/* APIC ID */
	mov	12(%rdi), %r14d		/* bootinfo.ncpus */
	mov	$1, %eax
	lock xadd %eax, arrived(%rip)
	mov	%eax, %r15d		/* arrival number */
	lea	s_arrives(%rip), %rbx
	call	report

	lea	1(%r12), %rcx
	imul	$3000, %rcx, %rcx
1:	lock incq total(%rip)
	dec	%rcx
	jnz	1b
	mov	total(%rip), %r15
	lea	s_done(%rip), %rbx
	call	report
	lock incl done(%rip)
	test	%r12, %r12
	jnz	park

2:	pause
	cmp	done(%rip), %r14d
	jne	2b
	lea	s_total(%rip), %rsi
	call	puts
	mov	total(%rip), %rax
	call	putdec
	mov	$'\n', %al
	out	%al, $0xe9
	xor	%eax, %eax
	out	%al, $0xf4		/* exit status 0 */
park:
	cli
3:	hlt
	jmp	3b

/* Prints "vCPU <R12><string at RBX><R15>\n" under the console lock. */
report:
	call	take_lock
	lea	s_vcpu(%rip), %rsi
	call	puts
	mov	%r12, %rax
	call	putdec
	mov	%rbx, %rsi
	call	puts
	mov	%r15, %rax
	call	putdec
	mov	$'\n', %al
	out	%al, $0xe9
	movl	$0, console_lock(%rip)	/* release: a plain store is enough on x86 */
	ret

/* Spins until console_lock is ours. */
take_lock:
	mov	$1, %eax
	xchg	%eax, console_lock(%rip)
	test	%eax, %eax
	jz	1f
	pause
	jmp	take_lock
1:	ret

/* Writes the NUL-terminated string at RSI to the console. */
puts:
	movzbl	(%rsi), %eax
	test	%al, %al
	jz	1f
	out	%al, $0xe9
	inc	%rsi
	jmp	puts
1:	ret

/* Writes RAX in decimal, building the digits on this vCPU's stack. */
putdec:
	mov	%rsp, %rsi
	sub	$32, %rsp
	movb	$0, -1(%rsi)
	dec	%rsi
	mov	$10, %ecx
1:	xor	%edx, %edx
	div	%rcx
	add	$'0', %dl
	dec	%rsi
	mov	%dl, (%rsi)
	test	%rax, %rax
	jnz	1b
	call	puts
	add	$32, %rsp
	ret

	.section .rodata
s_vcpu:	.asciz "vCPU "
s_arrives: .asciz " arrives "
s_done:	.asciz " done at "
s_total: .asciz "total "

	.data
	.balign 4096		/* not on a code page: writes there would invalidate decoded code */
total:	.quad 0
arrived: .long 0
done:	.long 0
console_lock: .long 0

	.section .note.GNU-stack, "", @progbits
