/* SPDX-License-Identifier: MIT */
/*
 * A bare machine (`facet run --bare` later, `facet run` for now): RAM,
 * vCPUs, the decode cache and the debug devices, with no hypervisor in
 * between. Runs a guest ELF under the boot contract of abi/bootinfo.h.
 *
 * Scheduling is deterministic: the vCPUs take turns in index order, each
 * running until its time (cpu_time(), instructions retired plus idle
 * time) reaches the end of the current round; a round is `quantum`
 * instructions long. A halted vCPU spends its turn idle (its APIC timer
 * keeps counting) and wakes when its APIC has a deliverable interrupt and
 * RFLAGS.IF is set. When every vCPU is halted, time jumps to the round in
 * which the first timer can wake one; when none can ever wake, the run
 * ends with RUN_HALT. The same inputs give the same run, instruction for
 * instruction.
 */
#ifndef FACET_MACHINE_H
#define FACET_MACHINE_H

#include <stdio.h>

#include "lib/types.h"
#include "mem/mem.h"
#include "vmm/elf.h"

struct cpu;
struct dcache;

struct machine_config {
	u64 mem_size;        // bytes of guest RAM
	unsigned ncpus;      // vCPUs, 1 to MACHINE_MAX_CPUS (0 means 1)
	const char *cmdline; // guest command line
	FILE *console;       // where port 0xE9 output goes
	u64 quantum;         // instructions per vCPU turn (0: MACHINE_QUANTUM)
};

#define MACHINE_MAX_CPUS 64
#define MACHINE_QUANTUM 10000 // default turn length: short, so a vCPU waiting on another waits little

enum run_result {
	RUN_EXIT = 0,      // the guest wrote its exit status to port 0xF4
	RUN_EXCEPTION,     // an exception the guest does not handle
	RUN_HALT,          // every vCPU is halted and nothing can wake any of them
	RUN_LIMIT,         // the instruction limit was reached
	RUN_TRIPLE_FAULT,  // a vCPU met a fault while delivering #DF: shutdown, as on a real machine
};

struct machine {
	struct mem mem;
	struct dcache *dc;     // owned
	struct cpu *cpus;      // ncpus entries (owned)
	unsigned ncpus;
	u64 quantum;
	u64 round_end;         // time (cpu_time) at which the current round of turns ends
	FILE *console;
	bool exited;           // set by the exit port
	u8 exit_status;        // the byte written to the exit port
	unsigned stopped_cpu;  // vCPU that ended the run (for RUN_HALT, the one the report shows)
	struct elf_image image;
	const char *cmdline;
};

/* Allocates a machine; returns NULL with errno set (ENOMEM, EINVAL: more than MACHINE_MAX_CPUS vCPUs). */
struct machine *machine_new(const struct machine_config *cfg);
void machine_free(struct machine *mc);

/* Loads an ELF image and prepares the boot state; returns 0 or -1 with a one-line reason in err. */
must_check int machine_load(struct machine *mc, const u8 *elf, size_t len, char *err, size_t errlen);

struct boot_module;

/*
 * Hands n files to the guest as modules (after machine_load; see
 * boot_add_modules in vmm/boot.h). Returns 0 or -1 with a one-line
 * reason in err (too many modules, a name too long, out of memory).
 */
must_check int machine_add_modules(struct machine *mc, const struct boot_module *mods, unsigned n, char *err,
				   size_t errlen);

/*
 * Runs until the guest exits, faults, halts for good, or max_insns (0: no
 * limit) retire; faults delivered count toward the limit too (cpu->stalls),
 * so a vCPU stuck re-faulting in its handler still reaches it.
 */
enum run_result machine_run(struct machine *mc, u64 max_insns);

/* Total instructions retired by all vCPUs. */
u64 machine_icount(const struct machine *mc);

/* Writes the report of an unhandled exception or halt: vector, error code, RIP, instruction, registers. */
void machine_report(struct machine *mc, enum run_result r, FILE *out);

#endif
