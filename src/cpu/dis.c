/* SPDX-License-Identifier: MIT */
/* Zydis-based instruction formatting (see dis.h). */
#include "cpu/dis.h"

#include <Zydis/Zydis.h>
#include <stdio.h>

unsigned dis_format(const u8 *bytes, size_t n, u64 rip, char *out, size_t outlen)
{
	ZydisDisassembledInstruction d;
	if (!ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, rip, bytes, n, &d))) {
		snprintf(out, outlen, "(bad)");
		return 0;
	}
	snprintf(out, outlen, "%s", d.text);
	return d.info.length;
}
