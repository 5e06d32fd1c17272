/* SPDX-License-Identifier: MIT */
/*
 * The second way into a guest: a Multiboot v1 header (a.out kludge) and a
 * 32-bit entry, so that the same ELF64 boots under `qemu-system-x86_64
 * -kernel` and under the Bochs boot sector of ../shared/bench, which both
 * start _start32 in 32-bit protected mode with EAX = 0x2BADB002 and EBX =
 * the Multiboot information (QEMU) or 0 (the Bochs sector). Facet ignores
 * all of this and enters at e_entry (_start64 in crt0.S).
 *
 * _start32 clears .bss, builds a 2 MiB-page identity map of the low 1 GiB
 * in .bss, enters long mode (SDM Vol. 3A 10.8.5: PAE, then EFER.LME, then
 * CR0.PG), then asks multiboot_bootinfo() (multiboot.c) for a Facet boot
 * information structure, moves RSP to its stack_top and joins crt0's
 * common path with RDI = that structure, as Facet would have.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010000 // bit 16: the a.out-kludge address fields are valid

	.section .mbhdr, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header     // header_addr
	.long __load_start  // load_addr
	.long __load_end    // load_end_addr
	.long __bss_end     // bss_end_addr
	.long _start32      // entry_addr

	.section .text.boot32, "ax"
	.code32
	.globl _start32
_start32:
	cli
	cld
	mov	%eax, %esi          // Multiboot magic, kept for multiboot_bootinfo()
	mov	%ebx, %ebp          // Multiboot information pointer (or 0)
	mov	$__bss_start, %edi  // clear .bss: it holds the tables and the boot stack
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb
	mov	$boot_stack_top, %esp
	movl	$(boot_pdpt + 3), boot_pml4  // P | RW
	movl	$(boot_pd + 3), boot_pdpt
	mov	$boot_pd, %edi
	mov	$0x83, %eax                 // P | RW | PS (2 MiB)
	mov	$512, %ecx
1:	mov	%eax, (%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	1b
	mov	%cr4, %eax
	or	$0x20, %eax                 // CR4.PAE
	mov	%eax, %cr4
	mov	$boot_pml4, %eax
	mov	%eax, %cr3
	mov	$0xC0000080, %ecx           // IA32_EFER.LME
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax           // CR0.PG | CR0.PE
	mov	%eax, %cr0
	lgdt	gdt64_ptr
	ljmp	$0x08, $long_from32

	.code64
long_from32:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	%esi, %edi                  // multiboot_bootinfo(magic, info)
	mov	%ebp, %esi
	call	multiboot_bootinfo
	mov	%rax, %rdi
	mov	72(%rax), %rsp              // stack_top: offset checked in multiboot.c
	jmp	crt0_common

	.section .rodata
	.align 8
gdt64:
	.quad 0
	.quad 0x00AF9A000000FFFF            // 0x08: 64-bit code, DPL 0
	.quad 0x00CF92000000FFFF            // 0x10: data
gdt64_ptr:
	.word gdt64_ptr - gdt64 - 1
	.long gdt64

	.section .bss
	.align 4096
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4096
	.align 16
	.skip 16384                         // stack for multiboot_bootinfo() only
boot_stack_top:
