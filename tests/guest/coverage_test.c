/* SPDX-License-Identifier: MIT */
/*
 * A static complement to running the guests: decodes the whole .text
 * section of every guest ELF, in every build variant, with Facet's own
 * decoder, and lists each instruction that would raise #UD because no
 * handler implements it (or that does not decode at all). Running a
 * guest only proves the paths it took; this also covers the cold ones
 * (panic, error paths, rarely taken branches). .text holds only 64-bit
 * code: the Multiboot header and 32-bit entry live in .boot32
 * (guest/lib/guest.ld). Compilers pad between functions with NOP forms
 * and INT3, which must decode too.
 */
#include <elf.h>
#include <stdlib.h>

#include "../unit/test.h"
#include "cpu/decode.h"
#include "cpu/dis.h"
#include "guest_run.h"

#define MAX_REPORTED 12

/* Reads a whole file; returns a malloc'd buffer or NULL. */
static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *buf = NULL;
	if (!fseek(f, 0, SEEK_END)) {
		long n = ftell(f);
		if (n > 0 && !fseek(f, 0, SEEK_SET) && (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = n > 0 ? (size_t)n : 0;
	}
	fclose(f);
	return buf;
}

/* Finds the section called name; returns its header or NULL. Trusts our own linker's output, bounds-checked. */
static const Elf64_Shdr *find_section(const unsigned char *elf, size_t len, const char *name)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	if (len < sizeof(*eh) || eh->e_shoff > len || eh->e_shnum * sizeof(Elf64_Shdr) > len - eh->e_shoff ||
	    eh->e_shstrndx >= eh->e_shnum)
		return NULL;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(elf + eh->e_shoff);
	const Elf64_Shdr *strs = &sh[eh->e_shstrndx];
	for (unsigned k = 0; k < eh->e_shnum; k++) {
		if (strs->sh_offset + sh[k].sh_name >= len)
			continue;
		const char *n = (const char *)elf + strs->sh_offset + sh[k].sh_name;
		if (!strncmp(n, name, len - (strs->sh_offset + sh[k].sh_name)) && sh[k].sh_offset <= len &&
		    sh[k].sh_size <= len - sh[k].sh_offset)
			return &sh[k];
	}
	return NULL;
}

/* Decodes code[0..n) at address base; reports unimplemented instructions of run. */
static void sweep(const struct decoder *d, const char *run, const unsigned char *code, size_t n, uint64_t base)
{
	unsigned bad = 0;
	char text[96], list[MAX_REPORTED * 100] = "";
	for (size_t off = 0; off < n;) {
		struct insn in;
		enum decode_status st = decode_one(d, code + off, n - off, &in);
		if (st == DECODE_SHORT)
			break; // padding at the very end
		size_t len = st == DECODE_OK || in.len ? in.len : 1;
		if (st == DECODE_INVALID || in.fn == op_ud) {
			dis_format(code + off, n - off, base + off, text, sizeof(text));
			if (bad < MAX_REPORTED && !strstr(list, text)) {
				size_t l = strlen(list);
				snprintf(list + l, sizeof(list) - l, "\n  %#llx: %s", (unsigned long long)(base + off), text);
				bad++;
			}
		}
		off += len ? len : 1;
	}
	if (bad)
		test_fail(__FILE__, __LINE__, "%s: instructions Facet does not implement:%s", run, list);
}

TEST(guest, every_instruction_implemented)
{
	static const char *const apps[] = { "sha256", "sort", "arith", "recurse", "strings",
					    "demo", "bench_hash", "bench_branchy", "bench_tlb4k", "bench_tlb2m",
					    "bench_syscall" };
	static const char *const variants[] = { "gcc-O0", "gcc-O2", "gcc-O3", "clang-O1", "clang-O3" };
	struct decoder *d = malloc(sizeof(*d));
	ASSERT_TRUE(d != NULL);
	decoder_init(d);
	for (size_t a = 0; a < sizeof(apps) / sizeof(apps[0]); a++) {
		for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
			char path[512], run[128];
			size_t len = 0;
			guest_elf_path(path, sizeof(path), apps[a], variants[v]);
			snprintf(run, sizeof(run), "%s-%s", apps[a], variants[v]);
			unsigned char *elf = slurp(path, &len);
			if (!elf)
				continue; // guest_app_run's tests report missing builds
			const Elf64_Shdr *text = find_section(elf, len, ".text");
			if (text)
				sweep(d, run, elf + text->sh_offset, text->sh_size, text->sh_addr);
			else
				test_fail(__FILE__, __LINE__, "%s: no .text section", path);
			free(elf);
		}
	}
	free(d);
}
