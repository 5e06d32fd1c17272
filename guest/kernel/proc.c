/* SPDX-License-Identifier: MIT */
/*
 * Building a process from a module: the module is an ELF64 executable
 * as it was on disk (abi/bootinfo.h), read through the direct map. Each
 * PT_LOAD segment is copied into fresh frames of the process's own address
 * space with the segment's permissions (PF_W: writable, no PF_X: NX), and
 * a stack is mapped below UAPI_STACK_TOP. Every field taken from the file
 * is checked first; a bad file gets one console line and no process.
 */
#include "kernel.h"

#define ELF_PT_LOAD 1
#define ELF_PF_X 1
#define ELF_PF_W 2
#define STACK_LOW (UAPI_STACK_TOP - UAPI_STACK_PAGES * PAGE)

struct elf_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static const char *check_header(const struct elf_ehdr *eh, uint64_t size)
{
	if (size < sizeof(*eh) || memcmp(eh->ident, "\177ELF", 4))
		return "not an ELF file";
	if (eh->ident[4] != 2 || eh->ident[5] != 1 || eh->machine != 62)
		return "not an ELF64 x86-64 file";
	if (eh->type != 2)
		return "not a static executable (ET_EXEC)";
	if (eh->phentsize != sizeof(struct elf_phdr) || !eh->phnum || eh->phoff > size ||
	    (uint64_t)eh->phnum * sizeof(struct elf_phdr) > size - eh->phoff)
		return "bad program header table";
	return NULL;
}

static const char *check_segment(const struct elf_phdr *ph, uint64_t size)
{
	if (ph->offset > size || ph->filesz > size - ph->offset || ph->filesz > ph->memsz)
		return "segment data outside the file";
	if (ph->vaddr < UAPI_USER_BASE || ph->vaddr >= STACK_LOW || ph->memsz > STACK_LOW - ph->vaddr)
		return "segment outside user memory (link at 0x40000000 or above)";
	return NULL;
}

/* Returns the frame mapped at va in p (mapping a new one with flags if none), as a kernel pointer. */
static uint8_t *user_page(struct proc *p, uint64_t va, uint64_t flags)
{
	uint64_t e = mm_lookup(p->pml4, va);
	if (e & PTE_P) {
		/* Two segments share the page: it gets the union of their rights. */
		e = (e | (flags & PTE_W)) & ~((flags & PTE_NX) ? 0 : PTE_NX);
		mm_map(p->pml4, va, e & mm_addr_mask(), e & ~mm_addr_mask());
		return phys_to_virt(e & mm_addr_mask());
	}
	uint64_t pa = frame_alloc();
	if (!pa || mm_map(p->pml4, va, pa, flags)) {
		if (pa)
			frame_free(pa);
		return NULL;
	}
	return phys_to_virt(pa);
}

static const char *load_segment(struct proc *p, const uint8_t *file, const struct elf_phdr *ph)
{
	uint64_t flags = PTE_P | PTE_U | ((ph->flags & ELF_PF_W) ? PTE_W : 0) | ((ph->flags & ELF_PF_X) || !kcfg.nx ? 0 : PTE_NX);
	uint64_t end = ph->vaddr + ph->memsz;
	for (uint64_t va = ph->vaddr & ~(PAGE - 1); va < end; va += PAGE) {
		uint8_t *page = user_page(p, va, flags);
		if (!page)
			return "out of memory";
		/* The file bytes that land in [va, va + PAGE). */
		uint64_t lo = va > ph->vaddr ? va : ph->vaddr;
		uint64_t hi = va + PAGE < ph->vaddr + ph->filesz ? va + PAGE : ph->vaddr + ph->filesz;
		if (lo < hi)
			memcpy(page + (lo - va), file + ph->offset + (lo - ph->vaddr), hi - lo);
	}
	if (end > p->image_end)
		p->image_end = (end + PAGE - 1) & ~(PAGE - 1);
	return NULL;
}

static const char *load_elf(struct proc *p, const uint8_t *file, uint64_t size, uint64_t *entry)
{
	struct elf_ehdr eh;
	if (size < sizeof(eh))
		return "not an ELF file";
	memcpy(&eh, file, sizeof(eh));
	const char *why = check_header(&eh, size);
	bool entry_ok = false;
	for (unsigned k = 0; !why && k < eh.phnum; k++) {
		struct elf_phdr ph;
		memcpy(&ph, file + eh.phoff + k * sizeof(ph), sizeof(ph));
		if (ph.type != ELF_PT_LOAD || !ph.memsz)
			continue; // linkers emit empty PT_LOADs at address 0 for empty output segments
		if (!(why = check_segment(&ph, size)))
			why = load_segment(p, file, &ph);
		entry_ok |= (ph.flags & ELF_PF_X) && eh.entry >= ph.vaddr && eh.entry - ph.vaddr < ph.memsz;
	}
	if (!why && !entry_ok)
		why = "entry point not in an executable segment";
	*entry = eh.entry;
	return why;
}

static const char *map_stack(struct proc *p)
{
	for (uint64_t va = STACK_LOW; va < UAPI_STACK_TOP; va += PAGE)
		if (!user_page(p, va, PTE_P | PTE_U | PTE_W | (kcfg.nx ? PTE_NX : 0)))
			return "out of memory for the stack";
	return NULL;
}

int proc_load(struct proc *p, const struct facet_module *m, uint64_t arg)
{
	uint64_t entry = 0;
	const char *why = NULL;
	if (!(p->pml4 = mm_new_space()))
		why = "out of memory";
	if (!why)
		why = load_elf(p, phys_to_virt(m->addr), m->size, &entry);
	if (!why)
		why = map_stack(p);
	if (why) {
		kprintf("kernel: cannot start %s: %s\n", m->name, why);
		if (p->pml4)
			mm_free_space(p->pml4);
		p->pml4 = 0;
		return -1;
	}
	p->brk = p->image_end;
	p->mm_gen = 1;
	memset(&p->tf, 0, sizeof(p->tf));
	p->tf.rip = entry;
	p->tf.cs = USER_CS;
	p->tf.ss = USER_DS;
	p->tf.rflags = 0x202; // IF: user code runs with interrupts on
	p->tf.rsp = UAPI_STACK_TOP;
	p->tf.rdi = arg;
	return 0;
}
