/* SPDX-License-Identifier: MIT */
/*
 * Facet boot information for guests started through the Multiboot entry
 * (boot32.S) under QEMU or Bochs, where nobody else provides it. The
 * layout copies Facet's (abi/bootinfo.h): the image at 1 MiB, free memory
 * after it, a 1 MiB boot stack at the top of RAM, an empty command line.
 *
 * RAM size: the Multiboot mem_upper field (KiB above 1 MiB) when the
 * loader gives one (QEMU); otherwise, as under the Bochs boot sector
 * (EBX = 0), the size the BIOS stored in CMOS (registers 0x30/0x31: KiB
 * above 1 MiB up to 64 MiB; 0x34/0x35: 64 KiB units above 16 MiB). It is
 * capped at 1 GiB, the reach of boot32.S's identity map.
 */
#include <stddef.h>

#include "io.h"
#include "libc.h"

#define MB_LOADER_MAGIC 0x2BADB002u
#define MB_INFO_MEM 0x1u // flags bit 0: mem_lower/mem_upper are valid
#define MAP_LIMIT (1ull << 30)
#define STACK_SIZE (1ull << 20)

_Static_assert(offsetof(struct facet_bootinfo, stack_top) == 72, "boot32.S loads stack_top from offset 72");

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower; // KiB below 1 MiB
	uint32_t mem_upper; // KiB above 1 MiB
};

extern char __load_start[], __bss_end[];
static struct facet_bootinfo mb_bootinfo;
static const char empty_cmdline[] = "";
bool guest_multiboot;

static uint8_t cmos_read(uint8_t reg)
{
	outb(0x70, reg | 0x80); // bit 7 keeps NMIs disabled
	return inb(0x71);
}

static uint64_t cmos_mem_size(void)
{
	uint64_t above16 = (uint64_t)cmos_read(0x34) | (uint64_t)cmos_read(0x35) << 8;
	if (above16)
		return (16ull << 20) + (above16 << 16);
	uint64_t above1 = (uint64_t)cmos_read(0x30) | (uint64_t)cmos_read(0x31) << 8;
	return (1ull << 20) + (above1 << 10);
}

/* Builds the boot information from the Multiboot registers; called once by boot32.S. */
const struct facet_bootinfo *multiboot_bootinfo(uint32_t magic, uint32_t info_addr);

const struct facet_bootinfo *multiboot_bootinfo(uint32_t magic, uint32_t info_addr)
{
	const struct mb_info *mbi = (const struct mb_info *)(uintptr_t)info_addr;
	uint64_t mem;
	if (magic == MB_LOADER_MAGIC && mbi && (mbi->flags & MB_INFO_MEM))
		mem = (1ull << 20) + ((uint64_t)mbi->mem_upper << 10);
	else
		mem = cmos_mem_size();
	if (mem > MAP_LIMIT)
		mem = MAP_LIMIT;
	mem &= ~0xfffull;
	struct facet_bootinfo *bi = &mb_bootinfo;
	guest_multiboot = true;
	bi->magic = FACET_BOOTINFO_MAGIC;
	bi->version = 1;
	bi->ncpus = 1;
	bi->mem_size = mem;
	bi->cmdline = (uint64_t)(uintptr_t)empty_cmdline;
	bi->cmdline_len = 0;
	bi->image_start = (uint64_t)(uintptr_t)__load_start;
	bi->image_end = (uint64_t)(uintptr_t)__bss_end;
	bi->free_start = (bi->image_end + 0xfff) & ~0xfffull;
	bi->stack_top = mem;
	bi->stack_bottom = mem - STACK_SIZE;
	return bi;
}
