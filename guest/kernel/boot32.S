/* SPDX-License-Identifier: MIT */
/*
 * The kernel's second way in: a Multiboot v1 header (a.out kludge) and a
 * 32-bit entry, so that the same kernel ELF boots under
 * `qemu-system-x86_64 -kernel kernel.elf -initrd "a.elf,b.elf"` (one vCPU)
 * as a reference for Facet. Facet ignores this and enters at _start64.
 *
 * _start32 builds a 2 MiB-page identity map of the low 1 GiB, enters long
 * mode (SDM Vol. 3A 10.8.5: PAE, EFER.LME, then CR0.PG), asks
 * mb_bootinfo() (mb.c) to turn the Multiboot information into Facet boot
 * information (modules included) and continues at kernel_start_multiboot
 * (entry.S) as the BSP. The stack until then is the top of kstacks[0].
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010001 // bit 16: a.out-kludge address fields valid; bit 0: modules page aligned

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
	mov	%eax, %esi          // Multiboot magic
	mov	%ebx, %ebp          // Multiboot information
	mov	$(kstacks + 16384 - 192), %esp
	mov	$mb_pml4, %edi      // the tables are in .data, cleared here
	mov	$(3 * 4096 / 4), %ecx
	xor	%eax, %eax
	rep stosl
	movl	$(mb_pdpt + 3), mb_pml4     // P | RW
	movl	$(mb_pd + 3), mb_pdpt
	mov	$mb_pd, %edi
	mov	$0x83, %eax                 // P | RW | PS
	mov	$512, %ecx
1:	mov	%eax, (%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	1b
	mov	%cr4, %eax
	or	$0x20, %eax                 // CR4.PAE
	mov	%eax, %cr4
	mov	$mb_pml4, %eax
	mov	%eax, %cr3
	mov	$0xC0000080, %ecx           // IA32_EFER.LME
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax           // CR0.PG | CR0.PE
	mov	%eax, %cr0
	lgdt	mb_gdt_ptr
	ljmp	$0x08, $mb_long

	.code64
mb_long:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%esi, %edi                  // mb_bootinfo(magic, info)
	mov	%ebp, %esi
	call	mb_bootinfo
	mov	%rax, %rdi
	jmp	kernel_start_multiboot

	.section .rodata
	.align 8
mb_gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF            // 0x08: 64-bit code
	.quad 0x00CF92000000FFFF            // 0x10: data
mb_gdt_ptr:
	.word mb_gdt_ptr - mb_gdt - 1
	.long mb_gdt

	.section .data
	.align 4096
mb_pml4:	.skip 4096
mb_pdpt:	.skip 4096
mb_pd:		.skip 4096
