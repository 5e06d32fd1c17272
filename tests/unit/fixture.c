/* SPDX-License-Identifier: MIT */
/* Test machine (see fixture.h). */
#include "fixture.h"

#include <string.h>

#include "vmm/boot.h"

struct machine *fixture_new(void)
{
	struct machine_config cfg = { .mem_size = FIX_MEM, .ncpus = 1, .cmdline = "" };
	struct machine *mc = machine_new(&cfg);
	if (!mc)
		return NULL;
	struct elf_image img = { .entry = FIX_CODE, .lo = FIX_CODE, .hi = FIX_DATA + 0x10000 };
	char err[128];
	if (boot_setup(&mc->mem, &img, "", 1, err, sizeof(err))) {
		machine_free(mc);
		return NULL;
	}
	boot_cpu(&mc->cpus[0], &mc->mem, FIX_CODE);
	mc->cpus[0].r[RSP] = FIX_STACK;
	return mc;
}

void fixture_free(struct machine *mc)
{
	machine_free(mc);
}

struct cpu *fixture_cpu(struct machine *mc)
{
	return &mc->cpus[0];
}

void *fixture_ptr(struct machine *mc, u64 gpa)
{
	return mc->mem.ram + gpa;
}

void fixture_load(struct machine *mc, const void *code, size_t len)
{
	memcpy(mc->mem.ram + FIX_CODE, code, len);
	mc->cpus[0].r[REG_RIP] = FIX_CODE;
}

enum cpu_stop fixture_step(struct machine *mc, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		enum cpu_stop s = cpu_step(&mc->cpus[0]);
		if (s != CPU_STOP_BUDGET)
			return s;
	}
	return CPU_STOP_BUDGET;
}

/* Sets U/S in the present entries of the table at pa (level 4 = PML4) and the tables below them. */
static void set_user(struct machine *mc, u64 pa, unsigned level)
{
	for (unsigned k = 0; k < 512; k++) {
		u64 *e = (u64 *)(mc->mem.ram + pa) + k;
		if (!(*e & 1))
			continue;
		*e |= 4;
		u64 next = *e & 0xffffffffff000ULL;
		if (level > 1 && !(*e & 0x80) && next + PAGE_SIZE <= mc->mem.size)
			set_user(mc, next, level - 1);
	}
}

void fixture_user_pages(struct machine *mc)
{
	set_user(mc, mc->cpus[0].cr3 & 0xffffffffff000ULL, 4);
	tlb_flush_all(&mc->cpus[0].tlb);
}

enum cpu_stop fixture_run(struct machine *mc, u64 budget)
{
	return cpu_run(&mc->cpus[0], budget);
}
