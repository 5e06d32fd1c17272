/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the ELF loader (DESIGN section 7): elf_load() on
 * arbitrary bytes into a small guest RAM with the runner's reserved
 * ranges. Whatever the bytes, the loader must not crash or read outside
 * the input (ASan), and its answer must be coherent: an error is one
 * non-empty line; a success describes an image inside the allowed range
 * whose entry point lies in it.
 *
 * The RAM is made once and reused: elf_load never reads RAM, so earlier
 * inputs cannot change what a later one does.
 */
#include <stdlib.h>
#include <string.h>

#include "mem/mem.h"
#include "vmm/boot.h"
#include "vmm/elf.h"

#define FUZZ_MEM (4ULL << 20)

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

static struct mem *fuzz_mem(void)
{
	static struct mem m;
	if (!m.ram && mem_init(&m, FUZZ_MEM))
		abort();
	return &m;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct mem *m = fuzz_mem();
	gpa_t lo = boot_reserved_lo(), hi = boot_stack_bottom(m);
	struct elf_image img;
	char err[256] = "";
	if (elf_load(m, data, size, lo, hi, &img, err, sizeof(err))) {
		if (!err[0] || strchr(err, '\n'))
			abort(); // an error must be one non-empty line
		return 0;
	}
	if (img.lo < lo || img.hi > hi || img.lo >= img.hi || img.entry < img.lo || img.entry >= img.hi)
		abort(); // a loaded image must lie where the runner allowed it
	return 0;
}
