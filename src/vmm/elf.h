/* SPDX-License-Identifier: MIT */
/*
 * Loading a freestanding, statically linked ELF64 x86-64 executable into
 * guest RAM. Every field the loader uses is checked first: a malformed
 * file yields one error message naming the problem and nothing is loaded.
 */
#ifndef FACET_ELF_H
#define FACET_ELF_H

#include "lib/types.h"

struct mem;

struct elf_image {
	u64 entry;      // entry point (guest-virtual = guest-physical)
	gpa_t lo, hi;   // lowest byte and one past the highest byte loaded
};

/*
 * Checks `buf` (len bytes; may be NULL when len is 0) and copies its
 * PT_LOAD segments into RAM, which must not touch [0, reserved_lo) (the
 * runner's boot information and page tables) or [reserved_hi, RAM end)
 * (the boot stack). Returns 0, or -1 with a one-line reason (no trailing
 * newline) in err; RAM is untouched then.
 */
must_check int elf_load(struct mem *m, const u8 *buf, size_t len, gpa_t reserved_lo, gpa_t reserved_hi,
			struct elf_image *out, char *err, size_t errlen);

#endif
