/* SPDX-License-Identifier: MIT */
/*
 * The 64-bit boot protocol of abi/bootinfo.h: builds the identity map and
 * the boot information in guest RAM and puts a vCPU in the entry state.
 */
#ifndef FACET_BOOT_H
#define FACET_BOOT_H

#include "lib/types.h"

struct mem;
struct cpu;
struct elf_image;

#define BOOT_STACK_SIZE (1ULL << 20)

/* Lowest address an ELF image may use: everything below holds the runner's tables. */
gpa_t boot_reserved_lo(void);
/* Lowest address of the boot stack (the image must end below it). */
gpa_t boot_stack_bottom(const struct mem *m);

/*
 * Writes the page tables and the boot information (with `cmdline`) into
 * RAM. Returns 0 or -1 with a reason in err (command line too long, RAM
 * too small or not a multiple of 2 MiB).
 */
must_check int boot_setup(struct mem *m, const struct elf_image *img, const char *cmdline, unsigned ncpus,
			  char *err, size_t errlen);

/* A file handed to the guest as a module (abi/bootinfo.h): its bytes, not loaded. */
struct boot_module {
	const char *name; // path; the guest sees its basename
	const u8 *data;   // len bytes (may be NULL when len is 0)
	size_t len;
};

/*
 * Places n modules after the image (after boot_setup: the module table at
 * bootinfo.free_start, each module page aligned after it) and lists them
 * in the boot information, whose free_start moves past them. Returns 0,
 * or -1 with a one-line reason in err (too many modules, a name too long,
 * not enough RAM below the boot stack); RAM is untouched then.
 */
must_check int boot_add_modules(struct mem *m, const struct boot_module *mods, unsigned n, char *err,
				size_t errlen);

/*
 * Puts c in the entry state: RIP = entry, RSP = its slice of the boot
 * stack, RSI = its APIC ID (c->id), RDI = boot information, CR3 = the
 * tables.
 */
void boot_cpu(struct cpu *c, const struct mem *m, u64 entry);

#endif
