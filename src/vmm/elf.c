/* SPDX-License-Identifier: MIT */
/*
 * ELF64 loader (see elf.h). The order of checks follows the file: header,
 * program header table, each PT_LOAD segment, then the entry point. All
 * arithmetic on file-supplied numbers is overflow-checked.
 */
#include "vmm/elf.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem/mem.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int check_header(const Elf64_Ehdr *eh, size_t len, char *err, size_t errlen)
{
	if (len < EI_NIDENT || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return fail(err, errlen, "not an ELF file (bad magic)");
	if (len < sizeof(Elf64_Ehdr))
		return fail(err, errlen, "truncated ELF header (%zu of %zu bytes)", len, sizeof(Elf64_Ehdr));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, "not ELF64 (class %u); build the guest for x86-64", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen, "not little-endian (data encoding %u)", eh->e_ident[EI_DATA]);
	if (eh->e_machine != EM_X86_64)
		return fail(err, errlen, "not an x86-64 executable (e_machine %u)", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return fail(err, errlen, "not a static executable (e_type %u); link with -static -no-pie", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(err, errlen, "bad program header entry size %u", eh->e_phentsize);
	if (eh->e_phnum == 0)
		return fail(err, errlen, "no program headers");
	if (eh->e_phoff > len || (u64)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		return fail(err, errlen, "program header table (offset %#llx, %u entries) outside the file",
			    (unsigned long long)eh->e_phoff, eh->e_phnum);
	return 0;
}

static int check_segment(const Elf64_Phdr *ph, unsigned n, size_t len, const struct mem *m, gpa_t rlo, gpa_t rhi,
			 char *err, size_t errlen)
{
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return fail(err, errlen, "segment %u: file data (offset %#llx, size %#llx) outside the file", n,
			    (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz);
	if (ph->p_filesz > ph->p_memsz)
		return fail(err, errlen, "segment %u: file size larger than memory size", n);
	if (ph->p_vaddr != ph->p_paddr)
		return fail(err, errlen, "segment %u: virtual address %#llx differs from physical %#llx; facet run maps memory 1:1",
			    n, (unsigned long long)ph->p_vaddr, (unsigned long long)ph->p_paddr);
	if (ph->p_paddr > m->size || ph->p_memsz > m->size - ph->p_paddr)
		return fail(err, errlen, "segment %u: [%#llx, +%#llx) lies outside guest RAM (%llu MiB); raise --mem", n,
			    (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
			    (unsigned long long)(m->size >> 20));
	if (ph->p_memsz && (ph->p_paddr < rlo || ph->p_paddr + ph->p_memsz > rhi))
		return fail(err, errlen, "segment %u: [%#llx, +%#llx) overlaps memory the runner reserves (below %#llx or above %#llx)",
			    n, (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
			    (unsigned long long)rlo, (unsigned long long)rhi);
	return 0;
}

static bool entry_in(const Elf64_Phdr *ph, u64 entry)
{
	return ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && entry >= ph->p_vaddr && entry - ph->p_vaddr < ph->p_memsz;
}

int elf_load(struct mem *m, const u8 *buf, size_t len, gpa_t rlo, gpa_t rhi, struct elf_image *out, char *err,
	     size_t errlen)
{
	Elf64_Ehdr eh = { 0 };
	memcpy(&eh, buf, len < sizeof(eh) ? len : sizeof(eh));
	if (check_header(&eh, len, err, errlen))
		return -1;
	bool entry_ok = false;
	unsigned loads = 0;
	out->lo = ~0ULL;
	out->hi = 0;
	for (unsigned n = 0; n < eh.e_phnum; n++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh.e_phoff + n * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (check_segment(&ph, n, len, m, rlo, rhi, err, errlen))
			return -1;
		loads++;
		entry_ok |= entry_in(&ph, eh.e_entry);
		if (ph.p_memsz && ph.p_paddr < out->lo)
			out->lo = ph.p_paddr;
		if (ph.p_memsz && ph.p_paddr + ph.p_memsz > out->hi)
			out->hi = ph.p_paddr + ph.p_memsz;
	}
	if (!loads)
		return fail(err, errlen, "no PT_LOAD segments");
	if (!entry_ok)
		return fail(err, errlen, "entry point %#llx is not inside an executable PT_LOAD segment",
			    (unsigned long long)eh.e_entry);
	for (unsigned n = 0; n < eh.e_phnum; n++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh.e_phoff + n * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		memcpy(m->ram + ph.p_paddr, buf + ph.p_offset, ph.p_filesz);
		memset(m->ram + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	out->entry = eh.e_entry;
	return 0;
}
