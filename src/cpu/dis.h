/* SPDX-License-Identifier: MIT */
/*
 * Disassembly for reports and traces: formats instruction bytes with
 * Zydis in Intel syntax. Separate from the decoder (STYLE I5).
 */
#ifndef FACET_DIS_H
#define FACET_DIS_H

#include "lib/types.h"

/*
 * Formats the instruction in bytes[0..n) located at `rip` into out.
 * Returns its length, or 0 (and "(bad)" in out) when it does not decode.
 */
unsigned dis_format(const u8 *bytes, size_t n, u64 rip, char *out, size_t outlen);

#endif
