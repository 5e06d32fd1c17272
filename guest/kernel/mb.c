/* SPDX-License-Identifier: MIT */
/*
 * Facet boot information for a kernel started by a Multiboot loader
 * (boot32.S, QEMU): RAM from mem_upper (capped at the 1 GiB boot32.S
 * maps), the command line, and the Multiboot modules as Facet modules,
 * each named by the basename of its module string. One vCPU: a Multiboot
 * loader starts only the BSP. The BIOS's 8259 PICs are masked: only the
 * local APIC interrupts.
 */
#include "kernel.h"

#define MB_LOADER_MAGIC 0x2BADB002u
#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MAP_LIMIT (1ULL << 30)

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
};

struct mb_module {
	uint32_t start, end, string, reserved;
};

extern char __image_start[], __image_end[];
static struct facet_bootinfo mb_bi;
static struct facet_module mb_mods[FACET_MODULES_MAX];

const struct facet_bootinfo *mb_bootinfo(uint32_t magic, uint32_t info);

/* Copies the basename of the first word of s into name. */
static void module_name(const char *s, char *name)
{
	const char *base = s;
	for (const char *p = s; *p && *p != ' '; p++)
		if (*p == '/')
			base = p + 1;
	size_t n = 0;
	while (base[n] && base[n] != ' ' && n + 1 < FACET_MODULE_NAME_MAX)
		n++;
	memcpy(name, base, n);
	name[n] = '\0';
}

static uint64_t read_modules(const struct mb_info *mbi, uint64_t end)
{
	const struct mb_module *m = (const struct mb_module *)(uintptr_t)mbi->mods_addr;
	unsigned n = mbi->mods_count < FACET_MODULES_MAX ? mbi->mods_count : FACET_MODULES_MAX;
	for (unsigned k = 0; k < n; k++) {
		mb_mods[k].addr = m[k].start;
		mb_mods[k].size = m[k].end - m[k].start;
		module_name(m[k].string ? (const char *)(uintptr_t)m[k].string : "module", mb_mods[k].name);
		if (m[k].end > end)
			end = m[k].end;
	}
	mb_bi.modules = (uint64_t)(uintptr_t)mb_mods;
	mb_bi.nmodules = n;
	return end;
}

const struct facet_bootinfo *mb_bootinfo(uint32_t magic, uint32_t info)
{
	const struct mb_info *mbi = (const struct mb_info *)(uintptr_t)info;
	if (magic != MB_LOADER_MAGIC || !mbi || !(mbi->flags & MB_INFO_MEM))
		kpanic("not started by a Multiboot loader with memory information");
	uint64_t mem = (1ULL << 20) + ((uint64_t)mbi->mem_upper << 10), end = (uint64_t)(uintptr_t)__image_end;
	mem = (mem > MAP_LIMIT ? MAP_LIMIT : mem) & ~(PAGE - 1);
	kcfg.multiboot = true;
	/* Mask the legacy 8259 PICs: the BIOS left the PIT's IRQ 0 on vector 8, where it would pose as #DF. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	mb_bi.magic = FACET_BOOTINFO_MAGIC;
	mb_bi.version = 2;
	mb_bi.ncpus = 1;
	mb_bi.mem_size = mem;
	if (mbi->flags & MB_INFO_CMDLINE) {
		mb_bi.cmdline = mbi->cmdline;
		mb_bi.cmdline_len = strlen((const char *)(uintptr_t)mbi->cmdline);
	} else {
		mb_bi.cmdline = (uint64_t)(uintptr_t)"";
	}
	if (mbi->flags & MB_INFO_MODS)
		end = read_modules(mbi, end);
	mb_bi.image_start = (uint64_t)(uintptr_t)__image_start;
	mb_bi.image_end = (uint64_t)(uintptr_t)__image_end;
	mb_bi.free_start = (end + PAGE - 1) & ~(PAGE - 1);
	mb_bi.stack_top = mem;
	mb_bi.stack_bottom = mem;
	return &mb_bi;
}
