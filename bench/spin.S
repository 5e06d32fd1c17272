/* SPDX-License-Identifier: MIT */
/*
 * The benchmark harness's own guests, self-contained so that `make bench`
 * works before and beside guest/: `spin` runs SPIN_LOOPS rounds of a
 * xorshift64 loop (about 10 instructions each: shifts, XOR, ADD, DEC,
 * JNZ) and prints its result and the instruction count RDTSC saw (under
 * Facet and Bochs the TSC counts retired instructions); `null`
 * (SPIN_LOOPS = 0) only starts and stops, to measure each emulator's
 * start-up cost.
 *
 * Ways in: `facet run` enters _start64 in 64-bit mode (abi/bootinfo.h).
 * QEMU's -kernel and the Bochs boot sector (bench/bootsect.S) read the
 * Multiboot v1 header (a.out kludge) and start _start32 in 32-bit
 * protected mode, which builds a 2 MiB-page identity map of the low
 * 1 GiB, enters long mode (SDM Vol. 3A 10.8.5: PAE, EFER.LME, CR0.PG)
 * and joins _start64. Way out: status 0 to port 0xF4 (Facet, QEMU's
 * isa-debug-exit), then "Shutdown" to port 0x8900 for Bochs, then HLT.
 */
#ifndef SPIN_LOOPS
#define SPIN_LOOPS 0
#endif
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010000 // bit 16: the a.out-kludge address fields are valid

	.section .mbhdr, "a"
	.align 4
mb_header:
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
	.long mb_header, __load_start, __load_end, __bss_end, _start32

	.section .text.boot32, "ax"
	.code32
	.globl _start32
_start32:
	cli
	cld
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb
	movl	$(pdpt + 3), pml4           // P | RW
	movl	$(pd + 3), pdpt
	mov	$pd, %edi
	mov	$0x83, %eax                 // P | RW | PS: 2 MiB pages
	mov	$512, %ecx
1:	mov	%eax, (%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	1b
	mov	%cr4, %eax
	or	$0x20, %eax                 // CR4.PAE
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$0xC0000080, %ecx           // IA32_EFER: set LME
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax           // CR0.PG | CR0.PE
	mov	%eax, %cr0
	lgdt	gdt_ptr
	ljmp	$0x08, $from32

	.code64
from32:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	$stack_top, %esp
	jmp	_start64

	.text
	.globl _start64
_start64:
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, %r12                  // TSC at the start
	mov	$SPIN_LOOPS, %rcx
	mov	$0x9E3779B97F4A7C15, %rax   // xorshift64 state
	xor	%ebx, %ebx                  // sum of the states
	test	%rcx, %rcx
	jz	2f
1:	mov	%rax, %rdx
	shl	$13, %rdx
	xor	%rdx, %rax
	mov	%rax, %rdx
	shr	$7, %rdx
	xor	%rdx, %rax
	mov	%rax, %rdx
	shl	$17, %rdx
	xor	%rdx, %rax
	add	%rax, %rbx
	dec	%rcx
	jnz	1b
2:	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	sub	%r12, %rax
	mov	%rax, %r12                  // TSC ticks of the loop
	lea	msg_result(%rip), %rsi
	call	puts
	mov	%rbx, %rax
	call	puthex
	lea	msg_tsc(%rip), %rsi
	call	puts
	mov	%r12, %rax
	call	puthex
	mov	$'\n', %al
	out	%al, $0xE9
	xor	%eax, %eax
	out	%al, $0xF4                  // exit status 0
	lea	msg_shutdown(%rip), %rsi
	mov	$0x8900, %dx
3:	lodsb
	test	%al, %al
	jz	4f
	out	%al, %dx
	jmp	3b
4:	cli
	hlt
	jmp	4b

/* Writes the NUL-terminated string at RSI to the console; clobbers RAX, RSI. */
puts:
	lodsb
	test	%al, %al
	jz	1f
	out	%al, $0xE9
	jmp	puts
1:	ret

/* Writes RAX as 16 hex digits to the console; clobbers RAX, RCX, RDX. */
puthex:
	mov	%rax, %rdx
	mov	$16, %ecx
1:	rol	$4, %rdx
	mov	%edx, %eax
	and	$15, %eax
	cmp	$10, %eax
	jb	2f
	add	$('a' - '0' - 10), %eax
2:	add	$'0', %eax
	out	%al, $0xE9
	dec	%ecx
	jnz	1b
	ret

	.section .rodata
msg_result:	.asciz "spin: result "
msg_tsc:	.asciz "\nspin: tsc "
msg_shutdown:	.asciz "Shutdown"
	.align 8
gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF            // 0x08: 64-bit code, DPL 0
	.quad 0x00CF92000000FFFF            // 0x10: data
gdt_ptr:
	.word gdt_ptr - gdt - 1
	.long gdt

	.section .bss
	.align 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4096
	.skip 4096
stack_top:
