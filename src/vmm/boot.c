/* SPDX-License-Identifier: MIT */
/*
 * Boot tables for `facet run` (see abi/bootinfo.h for the contract).
 * The identity map uses 2 MiB pages, except the first 2 MiB, mapped with
 * 4 KiB pages so that page 0 can stay unmapped.
 */
#include "vmm/boot.h"

#include <stdio.h>
#include <string.h>

#include "../../abi/bootinfo.h"
#include "cpu/cpu.h"
#include "mem/mem.h"
#include "vmm/elf.h"

#define PG_P 1ULL
#define PG_RW 2ULL
#define PG_PS 0x80ULL
#define TWO_MB (2ULL << 20)
#define ONE_GB (1ULL << 30)

/* Table layout: PML4, PDPT, one PT for the first 2 MiB, then one PD per GiB. */
#define PML4_ADDR FACET_PAGETABLE_ADDR
#define PDPT_ADDR (PML4_ADDR + PAGE_SIZE)
#define PT0_ADDR (PDPT_ADDR + PAGE_SIZE)
#define PD_ADDR (PT0_ADDR + PAGE_SIZE)
#define MAX_GB 64 // PDs up to 1 MiB: the tables stay below the image

static u64 gigabytes(const struct mem *m)
{
	return (m->size + ONE_GB - 1) / ONE_GB;
}

gpa_t boot_reserved_lo(void)
{
	_Static_assert(PD_ADDR + MAX_GB * PAGE_SIZE <= 0x100000, "boot tables must end below 1 MiB");
	return 0x100000;
}

gpa_t boot_stack_bottom(const struct mem *m)
{
	return m->size - BOOT_STACK_SIZE;
}

static void put64(struct mem *m, gpa_t pa, u64 v)
{
	memcpy(m->ram + pa, &v, 8);
}

static void build_identity_map(struct mem *m)
{
	u64 gbs = gigabytes(m);
	put64(m, PML4_ADDR, PDPT_ADDR | PG_P | PG_RW);
	for (u64 g = 0; g < gbs; g++)
		put64(m, PDPT_ADDR + g * 8, (PD_ADDR + g * PAGE_SIZE) | PG_P | PG_RW);
	for (u64 pa = 0; pa < m->size; pa += TWO_MB)
		put64(m, PD_ADDR + (pa / TWO_MB) * 8, pa | PG_P | PG_RW | PG_PS);
	put64(m, PD_ADDR, PT0_ADDR | PG_P | PG_RW);
	for (u64 pa = PAGE_SIZE; pa < TWO_MB; pa += PAGE_SIZE)
		put64(m, PT0_ADDR + (pa / PAGE_SIZE) * 8, pa | PG_P | PG_RW);
}

int boot_setup(struct mem *m, const struct elf_image *img, const char *cmdline, unsigned ncpus, char *err,
	       size_t errlen)
{
	size_t clen = strlen(cmdline);
	if (m->size % TWO_MB || m->size < 4 * TWO_MB || gigabytes(m) > MAX_GB) {
		snprintf(err, errlen, "guest RAM must be a multiple of 2 MiB between 8 MiB and 64 GiB");
		return -1;
	}
	if (clen >= FACET_CMDLINE_MAX) {
		snprintf(err, errlen, "command line too long (%zu bytes, at most %d)", clen, FACET_CMDLINE_MAX - 1);
		return -1;
	}
	build_identity_map(m);
	struct facet_bootinfo bi = {
		.magic = FACET_BOOTINFO_MAGIC,
		.version = 2,
		.ncpus = ncpus,
		.mem_size = m->size,
		.cmdline = FACET_BOOTINFO_ADDR + sizeof(bi),
		.cmdline_len = clen,
		.image_start = img->lo,
		.image_end = img->hi,
		.free_start = (img->hi + PAGE_SIZE - 1) & PAGE_MASK,
		.stack_bottom = boot_stack_bottom(m),
		.stack_top = m->size,
	};
	memcpy(m->ram + FACET_BOOTINFO_ADDR, &bi, sizeof(bi));
	memcpy(m->ram + bi.cmdline, cmdline, clen + 1);
	return 0;
}

/* Returns the part of path after its last '/'. */
static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Checks the modules' names and that they fit between free_start and the boot stack; sets *end. */
static int check_modules(const struct mem *m, const struct facet_bootinfo *bi, const struct boot_module *mods,
			 unsigned n, u64 *end, char *err, size_t errlen)
{
	if (n > FACET_MODULES_MAX) {
		snprintf(err, errlen, "too many modules (%u, at most %d)", n, FACET_MODULES_MAX);
		return -1;
	}
	u64 pa = bi->free_start + ((n * sizeof(struct facet_module) + PAGE_SIZE - 1) & PAGE_MASK);
	for (unsigned k = 0; k < n; k++) {
		const char *name = basename_of(mods[k].name);
		if (strlen(name) >= FACET_MODULE_NAME_MAX) {
			snprintf(err, errlen, "%s: module name longer than %d bytes", mods[k].name, FACET_MODULE_NAME_MAX - 1);
			return -1;
		}
		if (pa > bi->stack_bottom || mods[k].len > bi->stack_bottom - pa) {
			snprintf(err, errlen, "%s: out of guest memory for the modules (%llu MiB of RAM); raise --mem",
				 mods[k].name, (unsigned long long)(m->size >> 20));
			return -1;
		}
		pa = (pa + mods[k].len + PAGE_SIZE - 1) & PAGE_MASK;
	}
	*end = pa;
	return 0;
}

int boot_add_modules(struct mem *m, const struct boot_module *mods, unsigned n, char *err, size_t errlen)
{
	struct facet_bootinfo bi;
	memcpy(&bi, m->ram + FACET_BOOTINFO_ADDR, sizeof(bi));
	u64 end;
	if (check_modules(m, &bi, mods, n, &end, err, errlen))
		return -1;
	if (!n)
		return 0;
	u64 table = bi.free_start;
	u64 pa = table + ((n * sizeof(struct facet_module) + PAGE_SIZE - 1) & PAGE_MASK);
	for (unsigned k = 0; k < n; k++) {
		struct facet_module fm = { .addr = pa, .size = mods[k].len };
		strcpy(fm.name, basename_of(mods[k].name));
		memcpy(m->ram + table + k * sizeof(fm), &fm, sizeof(fm));
		if (mods[k].len)
			memcpy(m->ram + pa, mods[k].data, mods[k].len);
		pa = (pa + mods[k].len + PAGE_SIZE - 1) & PAGE_MASK;
	}
	bi.modules = table;
	bi.nmodules = n;
	bi.free_start = end;
	memcpy(m->ram + FACET_BOOTINFO_ADDR, &bi, sizeof(bi));
	return 0;
}

void boot_cpu(struct cpu *c, const struct mem *m, u64 entry)
{
	_Static_assert(FACET_BOOT_STACK_SLICE * 64 <= BOOT_STACK_SIZE, "a boot stack slice for each of 64 vCPUs");
	c->r[REG_RIP] = entry;
	c->r[RSP] = m->size - c->id * FACET_BOOT_STACK_SLICE;
	c->r[RSI] = c->id;
	c->r[RDI] = FACET_BOOTINFO_ADDR;
	c->cr3 = PML4_ADDR;
	tlb_flush_all(&c->tlb);
}
