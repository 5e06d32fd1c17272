/* SPDX-License-Identifier: MIT */
/*
 * The bare machine (see machine.h): builds memory, vCPUs and devices,
 * loads the guest, and runs the vCPUs round robin with a fixed
 * instruction quantum, so that the same inputs always give the same run.
 */
#include "vmm/machine.h"

#include <errno.h>
#include <stdlib.h>

#include "cpu/cpu.h"
#include "cpu/dcache.h"
#include "vmm/boot.h"
#include "vmm/devices.h"

struct machine *machine_new(const struct machine_config *cfg)
{
	struct machine *mc = calloc(1, sizeof(*mc));
	if (!mc)
		return NULL;
	int rc = mem_init(&mc->mem, cfg->mem_size);
	if (rc) {
		free(mc);
		errno = -rc;
		return NULL;
	}
	mc->ncpus = cfg->ncpus ? cfg->ncpus : 1;
	mc->quantum = cfg->quantum ? cfg->quantum : 100000;
	mc->console = cfg->console;
	mc->cmdline = cfg->cmdline ? cfg->cmdline : "";
	mc->dc = dcache_new(&mc->mem);
	mc->cpus = calloc(mc->ncpus, sizeof(*mc->cpus));
	if (!mc->dc || !mc->cpus) {
		machine_free(mc);
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned k = 0; k < mc->ncpus; k++) {
		cpu_init(&mc->cpus[k], &mc->mem, mc->dc, k);
		mc->cpus[k].peers = mc->cpus;
		mc->cpus[k].npeers = mc->ncpus;
	}
	devices_attach(mc);
	return mc;
}

void machine_free(struct machine *mc)
{
	if (!mc)
		return;
	dcache_free(mc->dc);
	free(mc->cpus);
	mem_fini(&mc->mem);
	free(mc);
}

int machine_load(struct machine *mc, const u8 *elf, size_t len, char *err, size_t errlen)
{
	if (elf_load(&mc->mem, elf, len, boot_reserved_lo(), boot_stack_bottom(&mc->mem), &mc->image, err, errlen))
		return -1;
	if (boot_setup(&mc->mem, &mc->image, mc->cmdline, mc->ncpus, err, errlen))
		return -1;
	for (unsigned k = 0; k < mc->ncpus; k++)
		boot_cpu(&mc->cpus[k], &mc->mem, mc->image.entry);
	return 0;
}

u64 machine_icount(const struct machine *mc)
{
	u64 n = 0;
	for (unsigned k = 0; k < mc->ncpus; k++)
		n += mc->cpus[k].icount;
	return n;
}

/* Runs vCPU k for one quantum; returns true when the run is over (*r says why). */
static bool run_turn(struct machine *mc, unsigned k, u64 quantum, enum run_result *r)
{
	struct cpu *c = &mc->cpus[k];
	enum cpu_stop s = cpu_run(c, quantum);
	mc->stopped_cpu = k;
	if (mc->exited) {
		*r = RUN_EXIT;
		return true;
	}
	switch (s) {
	case CPU_STOP_EXCEPTION: *r = RUN_EXCEPTION; return true;
	case CPU_STOP_HLT: *r = RUN_HALT; return true;
	default: return false;
	}
}

enum run_result machine_run(struct machine *mc, u64 max_insns)
{
	enum run_result r = RUN_LIMIT;
	for (;;) {
		for (unsigned k = 0; k < mc->ncpus; k++) {
			u64 quantum = mc->quantum;
			if (max_insns) {
				u64 done = machine_icount(mc);
				if (done >= max_insns)
					return RUN_LIMIT;
				if (max_insns - done < quantum)
					quantum = max_insns - done;
			}
			if (run_turn(mc, k, quantum, &r))
				return r;
		}
	}
}
