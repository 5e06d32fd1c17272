/* SPDX-License-Identifier: MIT */
/*
 * A 512-byte PC boot sector that starts a Multiboot v1 (a.out kludge)
 * guest the way `qemu-system-x86_64 -kernel` does, so that Bochs, which
 * has no Multiboot loader, runs the same guest ELF as Facet and QEMU.
 *
 * Disk: LBA 0 is this sector, LBA 1 onwards the ELF file as it is; the
 * harness (bench/run.sh) patches the file's sector count into `nsect`
 * (offset 0x1FC). The sector reads the file to LOAD_SEG:0 with the BIOS
 * extended read (INT 13h AH=42h, 64 sectors at a time), enables A20,
 * enters 32-bit protected mode with flat segments, looks for the
 * Multiboot header in the first 8 KiB of the file, copies [load_addr,
 * load_end_addr) from the file into place, zeroes up to bss_end_addr and
 * jumps to entry_addr with EAX = 0x2BADB002 and EBX = 0 (no information
 * structure: guests read the RAM size from CMOS). Files must fit below
 * 640 KiB once loaded: at most 0x90000 bytes.
 *
 * Errors print one letter on the Bochs debug port 0xE9 and halt: D (disk
 * read failed), M (no Multiboot header).
 */
#define LOAD_SEG 0x1000 // the file is read to physical 0x10000
#define MB_MAGIC 0x1BADB002
#define MB_LOADER_MAGIC 0x2BADB002

	.code16
	.text
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x7C00, %sp
	ljmp	$0, $reload_cs              // some BIOSes enter at 07C0:0000
reload_cs:
	mov	%dl, drive                  // the BIOS passes the boot drive in DL
	sti
	in	$0x92, %al                  // A20 through the "fast A20" port
	or	$2, %al
	and	$0xFE, %al                  // bit 0 would reset the machine
	out	%al, $0x92
	mov	nsect, %cx
read_more:
	jcxz	read_done
	mov	%cx, %ax
	cmp	$64, %ax
	jbe	1f
	mov	$64, %ax
1:	mov	%ax, dap_count
	push	%cx
	push	%ax
	mov	$dap, %si
	mov	drive, %dl
	mov	$0x42, %ah
	int	$0x13
	jc	disk_error
	pop	%ax
	pop	%cx
	sub	%ax, %cx
	addw	%ax, dap_lba
	shl	$5, %ax                     // sectors to paragraphs (512 / 16)
	add	%ax, dap_seg
	jmp	read_more
disk_error:
	mov	$'D', %al
	jmp	fail16
read_done:
	cli
	lgdt	gdt_ptr
	mov	%cr0, %eax
	or	$1, %eax                    // CR0.PE
	mov	%eax, %cr0
	ljmp	$0x08, $pm32
fail16:
	out	%al, $0xE9
2:	hlt
	jmp	2b

	.code32
pm32:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	mov	$0x7C00, %esp
	mov	$(LOAD_SEG * 16), %esi
find_header:                            // Multiboot: magic + flags + checksum == 0, 4-aligned
	cmpl	$MB_MAGIC, (%esi)
	jne	3f
	mov	(%esi), %eax
	add	4(%esi), %eax
	add	8(%esi), %eax
	jz	found
3:	add	$4, %esi
	cmp	$(LOAD_SEG * 16 + 8192), %esi
	jb	find_header
	mov	$'M', %al
	out	%al, $0xE9
4:	hlt
	jmp	4b
found:
	mov	12(%esi), %eax              // header_addr - load_addr: the header's offset in the image
	sub	16(%esi), %eax
	mov	%esi, %ebx
	sub	%eax, %ebx                  // EBX: where load_addr's bytes are in the buffer
	mov	16(%esi), %edi              // load_addr
	mov	20(%esi), %ecx              // load_end_addr
	sub	%edi, %ecx
	mov	24(%esi), %edx              // bss_end_addr
	mov	28(%esi), %ebp              // entry_addr
	mov	%ebx, %esi
	cld
	rep movsb                           // destinations lie above the buffer: no overlap
	mov	%edx, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb
	mov	$MB_LOADER_MAGIC, %eax
	xor	%ebx, %ebx
	jmp	*%ebp

	.align 8
gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF            // 0x08: flat 32-bit code
	.quad 0x00CF92000000FFFF            // 0x10: flat data
gdt_ptr:
	.word gdt_ptr - gdt - 1
	.long gdt
	.align 4
dap:                                    // INT 13h AH=42h disk address packet
	.byte 0x10, 0
dap_count:	.word 0
dap_off:	.word 0
dap_seg:	.word LOAD_SEG
dap_lba:	.long 1, 0
drive:		.byte 0

	.org 0x1FC
nsect:	.word 0                         // patched by bench/run.sh
	.word 0xAA55
