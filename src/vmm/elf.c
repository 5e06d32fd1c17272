/* SPDX-License-Identifier: MIT */
/*
 * ELF64 loader (see elf.h). The order of checks follows the file: the
 * identification bytes, the rest of the header, the program header table,
 * each PT_LOAD segment, then the entry point. All arithmetic on
 * file-supplied numbers is overflow-checked, and nothing is written to RAM
 * until every check has passed, so a rejected file leaves RAM untouched.
 * Messages name the field and the value at fault, and what to do about it
 * where that is obvious (link statically, raise --mem).
 */
#include "vmm/elf.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem/mem.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *type_name(unsigned type)
{
	switch (type) {
	case ET_NONE: return "ET_NONE";
	case ET_REL: return "ET_REL, an object file";
	case ET_DYN: return "ET_DYN, a shared object or position-independent executable";
	case ET_CORE: return "ET_CORE, a core dump";
	default: return "unknown type";
	}
}

/*
 * Checks the identification bytes, which decide how the rest of the file
 * would be read: a 52-byte ELF32 file is "not ELF64", not "truncated".
 */
static int check_ident(const u8 *buf, size_t len, char *err, size_t errlen)
{
	if (len == 0)
		return fail(err, errlen, "empty file (0 bytes), not an ELF executable");
	if (memcmp(buf, ELFMAG, len < SELFMAG ? len : SELFMAG) != 0)
		return fail(err, errlen, "not an ELF file (bad magic)");
	if (len < EI_NIDENT)
		return fail(err, errlen, "truncated ELF header (%zu of %zu bytes)", len, sizeof(Elf64_Ehdr));
	if (buf[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, "not ELF64 (class %u%s); build the guest for x86-64", buf[EI_CLASS],
			    buf[EI_CLASS] == ELFCLASS32 ? ", a 32-bit ELF32 file" : "");
	if (buf[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen, "not little-endian (data encoding %u%s); x86-64 executables are little-endian",
			    buf[EI_DATA], buf[EI_DATA] == ELFDATA2MSB ? ", big-endian" : "");
	if (len < sizeof(Elf64_Ehdr))
		return fail(err, errlen, "truncated ELF header (%zu of %zu bytes)", len, sizeof(Elf64_Ehdr));
	return 0;
}

static int check_header(const Elf64_Ehdr *eh, size_t len, char *err, size_t errlen)
{
	if (eh->e_machine != EM_X86_64)
		return fail(err, errlen, "not an x86-64 executable (e_machine %u)", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return fail(err, errlen, "not a static executable (e_type %u, %s); link with -static -no-pie",
			    eh->e_type, type_name(eh->e_type));
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(err, errlen, "bad program header entry size %u (ELF64 uses %zu)", eh->e_phentsize,
			    sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0)
		return fail(err, errlen, "no program headers");
	if (eh->e_phoff > len || (u64)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		return fail(err, errlen, "program header table (offset %#llx, %u entries) outside the file (%zu bytes)",
			    (unsigned long long)eh->e_phoff, eh->e_phnum, len);
	return 0;
}

/* Checks that a segment's bytes are in the file and fit its memory image. */
static int check_segment_file(const Elf64_Phdr *ph, unsigned n, size_t len, char *err, size_t errlen)
{
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return fail(err, errlen, "segment %u: file data (offset %#llx, size %#llx) outside the file (%zu bytes)", n,
			    (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz, len);
	if (ph->p_filesz > ph->p_memsz)
		return fail(err, errlen, "segment %u: file size %#llx larger than memory size %#llx", n,
			    (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	return 0;
}

/* Checks where a segment goes: 1:1 mapped, inside RAM, clear of [0, rlo) and [rhi, RAM end). */
static int check_segment_place(const Elf64_Phdr *ph, unsigned n, const struct mem *m, gpa_t rlo, gpa_t rhi,
			       char *err, size_t errlen)
{
	unsigned long long pa = ph->p_paddr, sz = ph->p_memsz;
	if (ph->p_vaddr != ph->p_paddr)
		return fail(err, errlen, "segment %u: virtual address %#llx differs from physical %#llx; facet run maps memory 1:1",
			    n, (unsigned long long)ph->p_vaddr, pa);
	if (pa > m->size || sz > m->size - pa)
		return fail(err, errlen, "segment %u: [%#llx, +%#llx) lies outside guest RAM (%llu MiB); raise --mem", n, pa,
			    sz, (unsigned long long)(m->size >> 20));
	if (sz && pa < rlo)
		return fail(err, errlen, "segment %u: [%#llx, +%#llx) overlaps the runner's reserved low memory below %#llx (boot information, page tables); link at %#llx or above",
			    n, pa, sz, (unsigned long long)rlo, (unsigned long long)rlo);
	if (sz && pa + sz > rhi)
		return fail(err, errlen, "segment %u: [%#llx, +%#llx) overlaps the boot stack [%#llx, %#llx) at the top of RAM; raise --mem",
			    n, pa, sz, (unsigned long long)rhi, (unsigned long long)m->size);
	return 0;
}

static bool entry_in(const Elf64_Phdr *ph, u64 entry)
{
	return ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && entry >= ph->p_vaddr && entry - ph->p_vaddr < ph->p_memsz;
}

static void read_phdr(const u8 *buf, const Elf64_Ehdr *eh, unsigned n, Elf64_Phdr *ph)
{
	memcpy(ph, buf + eh->e_phoff + n * sizeof(*ph), sizeof(*ph));
}

/* Checks every PT_LOAD segment and the entry point; fills out->lo and out->hi. */
static int check_segments(struct mem *m, const u8 *buf, size_t len, const Elf64_Ehdr *eh, gpa_t rlo, gpa_t rhi,
			  struct elf_image *out, char *err, size_t errlen)
{
	bool entry_ok = false;
	unsigned loads = 0;
	out->lo = ~0ULL;
	out->hi = 0;
	for (unsigned n = 0; n < eh->e_phnum; n++) {
		Elf64_Phdr ph;
		read_phdr(buf, eh, n, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		if (check_segment_file(&ph, n, len, err, errlen) || check_segment_place(&ph, n, m, rlo, rhi, err, errlen))
			return -1;
		loads++;
		entry_ok |= entry_in(&ph, eh->e_entry);
		if (ph.p_memsz && ph.p_paddr < out->lo)
			out->lo = ph.p_paddr;
		if (ph.p_memsz && ph.p_paddr + ph.p_memsz > out->hi)
			out->hi = ph.p_paddr + ph.p_memsz;
	}
	if (!loads)
		return fail(err, errlen, "no PT_LOAD segments");
	if (!entry_ok)
		return fail(err, errlen, "entry point %#llx is not inside an executable PT_LOAD segment",
			    (unsigned long long)eh->e_entry);
	return 0;
}

int elf_load(struct mem *m, const u8 *buf, size_t len, gpa_t rlo, gpa_t rhi, struct elf_image *out, char *err,
	     size_t errlen)
{
	Elf64_Ehdr eh;
	if (check_ident(buf, len, err, errlen))
		return -1;
	memcpy(&eh, buf, sizeof(eh));
	if (check_header(&eh, len, err, errlen) || check_segments(m, buf, len, &eh, rlo, rhi, out, err, errlen))
		return -1;
	for (unsigned n = 0; n < eh.e_phnum; n++) {
		Elf64_Phdr ph;
		read_phdr(buf, &eh, n, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		memcpy(m->ram + ph.p_paddr, buf + ph.p_offset, ph.p_filesz);
		memset(m->ram + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	out->entry = eh.e_entry;
	return 0;
}
