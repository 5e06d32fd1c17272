/* SPDX-License-Identifier: MIT */
/*
 * The bare machine (see machine.h): builds memory, vCPUs and devices,
 * loads the guest, and runs the vCPUs round robin with a fixed
 * instruction quantum, so that the same inputs always give the same run.
 *
 * Time is per vCPU (cpu_time), but the rounds keep the vCPUs' clocks
 * together: a turn runs or idles its vCPU up to the round's end, so a
 * running vCPU is at most one block past it and a halted one exactly on
 * it. Within a turn a run is cut at the vCPU's next APIC timer expiry, so
 * the timer interrupt is raised at that instruction, not at the turn's
 * end; the run loop accepts it at the next instruction boundary.
 */
#include "vmm/machine.h"

#include <errno.h>
#include <stdlib.h>

#include "cpu/apic.h"
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
	if (cfg->ncpus > MACHINE_MAX_CPUS) {
		mem_fini(&mc->mem);
		free(mc);
		errno = EINVAL;
		return NULL;
	}
	mc->ncpus = cfg->ncpus ? cfg->ncpus : 1;
	mc->quantum = cfg->quantum ? cfg->quantum : MACHINE_QUANTUM;
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
		apic_init(&mc->cpus[k]);
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

int machine_add_modules(struct machine *mc, const struct boot_module *mods, unsigned n, char *err, size_t errlen)
{
	return boot_add_modules(&mc->mem, mods, n, err, errlen);
}

u64 machine_icount(const struct machine *mc)
{
	u64 n = 0;
	for (unsigned k = 0; k < mc->ncpus; k++)
		n += mc->cpus[k].icount;
	return n;
}

/* Returns whether a stop of vCPU k ends the run, with *r saying why. */
static bool stop_ends_run(struct machine *mc, unsigned k, enum cpu_stop s, enum run_result *r)
{
	if (mc->exited) {
		*r = RUN_EXIT;
	} else {
		switch (s) {
		case CPU_STOP_BUDGET:
		case CPU_STOP_REQUEST:
		case CPU_STOP_HLT: return false; // a halt is the scheduler's business (run_turn)
		case CPU_STOP_TRIPLE_FAULT: *r = RUN_TRIPLE_FAULT; break;
		default: *r = RUN_EXCEPTION; break;
		}
	}
	mc->stopped_cpu = k;
	return true;
}

/* Returns instructions until halted vCPU c can wake: 0 now, UINT64_MAX never without an IPI. */
static u64 halted_wake_in(struct cpu *c)
{
	if (!(c->rflags & RFLAGS_IF))
		return UINT64_MAX; // only NMI, SMI, INIT or reset would wake it, none of which is modeled
	return apic_wake_time(c);
}

/*
 * Lets halted vCPU c wait up to time end, gaining idle time. Returns true
 * when an interrupt woke it earlier (c->halted is then false and the run
 * loop delivers the interrupt), false when it reached end still halted.
 */
static bool wait_halted(struct cpu *c, u64 end)
{
	for (;;) {
		u64 now = cpu_time(c), d = halted_wake_in(c);
		if (d == 0) {
			c->halted = false;
			return true;
		}
		if (d >= end - now) {
			c->idle += end - now;
			apic_update(c);
			return false;
		}
		c->idle += d; // to the timer expiry that wakes it
	}
}

/*
 * Returns what an instruction limit counts: instructions retired plus
 * faults delivered (cpu->stalls), so that a vCPU stuck delivering a fault
 * whose handler faults again still reaches the limit.
 */
static u64 limit_progress(const struct machine *mc)
{
	u64 n = 0;
	for (unsigned k = 0; k < mc->ncpus; k++)
		n += mc->cpus[k].icount + mc->cpus[k].stalls;
	return n;
}

/* Instructions c may run now: to the round's end, its next timer expiry or the limit; 0 at the limit. */
static u64 turn_budget(struct machine *mc, struct cpu *c, u64 max_insns)
{
	u64 budget = mc->round_end - cpu_time(c), timer = apic_update(c);
	if (timer < budget)
		budget = timer;
	if (max_insns) {
		u64 done = limit_progress(mc);
		if (done >= max_insns)
			return 0;
		if (max_insns - done < budget)
			budget = max_insns - done;
	}
	return budget;
}

/* Runs or idles vCPU k up to the round's end; returns true when the run is over (*r says why). */
static bool run_turn(struct machine *mc, unsigned k, u64 max_insns, enum run_result *r)
{
	struct cpu *c = &mc->cpus[k];
	while (cpu_time(c) < mc->round_end) {
		if (c->halted && !wait_halted(c, mc->round_end))
			return false;
		u64 budget = turn_budget(mc, c, max_insns);
		if (!budget) {
			mc->stopped_cpu = k;
			*r = RUN_LIMIT;
			return true;
		}
		if (stop_ends_run(mc, k, cpu_run(c, budget), r))
			return true;
	}
	return false;
}

/* The vCPU a final halt is reported on: the first one waiting with interrupts enabled, else vCPU 0. */
static unsigned halt_culprit(const struct machine *mc)
{
	for (unsigned k = 0; k < mc->ncpus; k++)
		if (mc->cpus[k].rflags & RFLAGS_IF)
			return k;
	return 0;
}

/*
 * After a round, when every vCPU is halted: returns false if none can
 * ever wake (the run is over). Otherwise skips the rounds in which none
 * can, giving every vCPU the idle time it would have spent in them; the
 * next round then wakes the first. The result is the same run as waiting
 * round by round (a timer that expires meanwhile without waking anyone
 * sets the same IRR bit once), only faster.
 */
static bool skip_idle_rounds(struct machine *mc)
{
	u64 wake = UINT64_MAX;
	for (unsigned k = 0; k < mc->ncpus; k++) {
		struct cpu *c = &mc->cpus[k];
		if (!c->halted)
			return true;
		u64 d = halted_wake_in(c);
		if (d != UINT64_MAX && cpu_time(c) + d < wake)
			wake = cpu_time(c) + d;
	}
	if (wake == UINT64_MAX)
		return false;
	if (wake <= mc->round_end)
		return true;
	mc->round_end += (wake - mc->round_end) / mc->quantum * mc->quantum;
	for (unsigned k = 0; k < mc->ncpus; k++) {
		struct cpu *c = &mc->cpus[k];
		if (cpu_time(c) < mc->round_end)
			c->idle += mc->round_end - cpu_time(c);
		apic_update(c);
	}
	return true;
}

enum run_result machine_run(struct machine *mc, u64 max_insns)
{
	enum run_result r;
	for (;;) {
		mc->round_end += mc->quantum;
		for (unsigned k = 0; k < mc->ncpus; k++)
			if (run_turn(mc, k, max_insns, &r))
				return r;
		if (!skip_idle_rounds(mc)) {
			mc->stopped_cpu = halt_culprit(mc);
			return RUN_HALT;
		}
	}
}
