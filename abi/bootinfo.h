/* SPDX-License-Identifier: MIT */
/*
 * The boot contract between Facet's guest runner and guest software: what
 * a guest finds when its ELF entry point runs. Included by both sides, so
 * it uses only fixed-width C types.
 *
 * At the entry point:
 * - 64-bit mode, CPL 0, interrupts disabled (RFLAGS = 2), paging on with
 *   an identity map of all RAM (guest-virtual = guest-physical) except
 *   the page at address 0, which is left unmapped to catch NULL pointers;
 *   large pages, writable and executable, supervisor-only;
 * - RDI = guest-physical address of a struct facet_bootinfo, RSI = the
 *   vCPU's APIC ID, RSP = its boot stack (below), all other GPRs zero;
 * - every vCPU starts at the entry point at once, in this state (the
 *   start-up protocol: no INIT/SIPI is needed, and ICR INIT and start-up
 *   messages have no effect). vCPU k has APIC ID k, 0 to bootinfo.ncpus-1;
 *   vCPU 0 is the bootstrap processor. Its boot stack is the slice of
 *   FACET_BOOT_STACK_SLICE bytes below RSP = stack_top - k *
 *   FACET_BOOT_STACK_SLICE (16-byte aligned); all slices lie in
 *   [stack_bottom, stack_top). A guest not written for several vCPUs
 *   parks the others at once (guest/lib/crt0.S: CLI; HLT when RSI != 0):
 *   vCPU 0 may then use the whole boot stack, and the run ends when it
 *   writes the exit port;
 * - each vCPU's local APIC is in x2APIC mode (MSRs 0x800-0x8FF) in its
 *   reset state: software-disabled (SVR = 0xFF: set SVR bit 8 before
 *   expecting interrupts, fixed IPIs to a disabled APIC are discarded),
 *   every LVT entry masked, timer stopped. Time, for the APIC timer and
 *   RDTSC, counts instructions, including those a halted vCPU spends idle;
 * - no GDT, IDT or TSS set up by the runner: an exception the guest does
 *   not handle ends the run with a report.
 *
 * Memory map (low to high): page 0 unmapped; the boot information page at
 * FACET_BOOTINFO_ADDR (the command line follows the structure); the
 * runner's page tables from FACET_PAGETABLE_ADDR; the ELF image (its
 * PT_LOAD segments, at their physical addresses, 1 MiB and up); the
 * module table and modules, if any; free memory from bootinfo.free_start
 * to bootinfo.stack_bottom; the boot stack up to stack_top = end of RAM.
 *
 * Devices: port 0xE9 is the console (one byte per OUT); writing byte N to
 * port 0xF4 ends the run with exit status N (QEMU's isa-debug-exit exits
 * with (N << 1) | 1).
 */
#ifndef FACET_ABI_BOOTINFO_H
#define FACET_ABI_BOOTINFO_H

#include <stdint.h>

#define FACET_BOOTINFO_MAGIC 0x3154434146ULL // "FACT1"
#define FACET_BOOTINFO_ADDR 0x1000ULL
#define FACET_PAGETABLE_ADDR 0x2000ULL
#define FACET_CMDLINE_MAX 2048
#define FACET_PORT_CONSOLE 0xE9
#define FACET_PORT_EXIT 0xF4
#define FACET_BOOT_STACK_SLICE 0x4000ULL // 16 KiB of boot stack per vCPU
#define FACET_MODULES_MAX 64
#define FACET_MODULE_NAME_MAX 48

struct facet_bootinfo {
	uint64_t magic;        // FACET_BOOTINFO_MAGIC
	uint32_t version;      // 2 (1 had no module fields)
	uint32_t ncpus;        // number of vCPUs
	uint64_t mem_size;     // bytes of RAM, from guest-physical 0
	uint64_t cmdline;      // guest-physical address of the NUL-terminated command line
	uint64_t cmdline_len;  // its length without the NUL
	uint64_t image_start;  // lowest guest-physical address of the loaded ELF image
	uint64_t image_end;    // one past its highest byte
	uint64_t free_start;   // first free byte after the image (page aligned)
	uint64_t stack_bottom; // lowest address of the boot stack
	uint64_t stack_top;    // initial RSP
	/* Version 2: the files given after `--` (facet run KERNEL.elf -- APP.elf ...). */
	uint64_t modules;      // guest-physical address of nmodules struct facet_module entries (0 if none)
	uint32_t nmodules;     // number of modules, at most FACET_MODULES_MAX
	uint32_t reserved0;    // zero
};

/*
 * One module: a file's bytes as they are on disk (an ELF is not loaded,
 * the guest kernel does that), page aligned, in the free memory after the
 * image. The table comes first, then the modules in command-line order;
 * bootinfo.free_start is the first page after the last module.
 */
struct facet_module {
	uint64_t addr;         // guest-physical address of the first byte (page aligned)
	uint64_t size;         // bytes
	char name[FACET_MODULE_NAME_MAX]; // the file's basename, NUL-terminated
};

#endif
