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
 * - RDI = guest-physical address of a struct facet_bootinfo, RSP =
 *   bootinfo.stack_top (16-byte aligned), all other GPRs zero;
 * - no GDT, IDT or TSS set up by the runner: an exception the guest does
 *   not handle ends the run with a report.
 *
 * Memory map (low to high): page 0 unmapped; the boot information page at
 * FACET_BOOTINFO_ADDR (the command line follows the structure); the
 * runner's page tables from FACET_PAGETABLE_ADDR; the ELF image (its
 * PT_LOAD segments, at their physical addresses, 1 MiB and up); free
 * memory from bootinfo.free_start to bootinfo.stack_bottom; the boot
 * stack up to stack_top = end of RAM.
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

struct facet_bootinfo {
	uint64_t magic;        // FACET_BOOTINFO_MAGIC
	uint32_t version;      // 1
	uint32_t ncpus;        // number of vCPUs
	uint64_t mem_size;     // bytes of RAM, from guest-physical 0
	uint64_t cmdline;      // guest-physical address of the NUL-terminated command line
	uint64_t cmdline_len;  // its length without the NUL
	uint64_t image_start;  // lowest guest-physical address of the loaded ELF image
	uint64_t image_end;    // one past its highest byte
	uint64_t free_start;   // first free byte after the image (page aligned)
	uint64_t stack_bottom; // lowest address of the boot stack
	uint64_t stack_top;    // initial RSP
};

#endif
