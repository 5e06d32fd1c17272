/* SPDX-License-Identifier: MIT */
/*
 * A bare machine (`facet run --bare` later, `facet run` for now): RAM,
 * vCPUs, the decode cache and the debug devices, with no hypervisor in
 * between. Runs a guest ELF under the boot contract of abi/bootinfo.h.
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
	unsigned ncpus;      // vCPUs (1 for now)
	const char *cmdline; // guest command line
	FILE *console;       // where port 0xE9 output goes
	u64 quantum;         // instructions per vCPU turn
};

enum run_result {
	RUN_EXIT = 0,      // the guest wrote its exit status to port 0xF4
	RUN_EXCEPTION,     // an exception the guest does not handle
	RUN_HALT,          // HLT with interrupts disabled: nothing can wake the vCPU
	RUN_LIMIT,         // the instruction limit was reached
};

struct machine {
	struct mem mem;
	struct dcache *dc;     // owned
	struct cpu *cpus;      // ncpus entries (owned)
	unsigned ncpus;
	u64 quantum;
	FILE *console;
	bool exited;           // set by the exit port
	u8 exit_status;        // the byte written to the exit port
	unsigned stopped_cpu;  // vCPU that ended the run
	struct elf_image image;
	const char *cmdline;
};

/* Allocates a machine; returns NULL with errno set (ENOMEM, EINVAL). */
struct machine *machine_new(const struct machine_config *cfg);
void machine_free(struct machine *mc);

/* Loads an ELF image and prepares the boot state; returns 0 or -1 with a one-line reason in err. */
must_check int machine_load(struct machine *mc, const u8 *elf, size_t len, char *err, size_t errlen);

/* Runs until the guest exits, faults, halts for good, or max_insns (0: no limit) retire. */
enum run_result machine_run(struct machine *mc, u64 max_insns);

/* Total instructions retired by all vCPUs. */
u64 machine_icount(const struct machine *mc);

/* Writes the report of an unhandled exception or halt: vector, error code, RIP, instruction, registers. */
void machine_report(struct machine *mc, enum run_result r, FILE *out);

#endif
