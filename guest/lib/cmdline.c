/* SPDX-License-Identifier: MIT */
/*
 * Command-line options for guests (libc.h): `facet run --cmdline "mib=8"`
 * hands the text to the guest through the boot information; under QEMU
 * and Bochs the command line is empty and every option has its default.
 */
#include "libc.h"

uint64_t cmdline_u64(const char *key, uint64_t dflt)
{
	const char *s = guest_bootinfo ? (const char *)(uintptr_t)guest_bootinfo->cmdline : NULL;
	size_t klen = strlen(key);
	while (s && *s) {
		while (*s == ' ')
			s++;
		if (!strncmp(s, key, klen) && s[klen] == '=') {
			uint64_t v = 0;
			for (s += klen + 1; *s >= '0' && *s <= '9'; s++)
				v = v * 10 + (uint64_t)(*s - '0');
			return v;
		}
		while (*s && *s != ' ')
			s++;
	}
	return dflt;
}
