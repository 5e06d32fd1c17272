/* SPDX-License-Identifier: MIT */
/*
 * Memory management of the guest kernel: physical frames, page tables
 * and the user-memory checks and copies (SDM Vol. 3A chapter 4).
 *
 * Layout of every address space (uapi.h has the user side):
 * - PML4[256] and up (shared by all): the direct map of RAM at DMAP_BASE,
 *   2 MiB pages, supervisor-only, global, non-executable;
 * - the kernel image, 4 KiB pages at its own (physical) addresses from
 *   1 MiB: text read-only and executable, rodata read-only, data and bss
 *   writable, all supervisor-only, global and, but for text, NX. It lives
 *   in the first GiB, one PD that every address space links from its
 *   PDPT[0] (the kernel's PDPT[0] for the kernel's own space);
 * - user memory: 1 GiB up to the end of the lower half, 4 KiB pages.
 * Page tables are reached through the direct map (phys_to_virt), except
 * while the BSP builds the first ones on the runner's identity map, when
 * kdmap_base is still 0.
 *
 * Frames come from a free list refilled by a bump pointer, under one
 * spinlock; a frame is zeroed when it is handed out.
 */
#include "kernel.h"

#define PML4_IDX(va) (((va) >> 39) & 511)
#define PDPT_IDX(va) (((va) >> 30) & 511)
#define PD_IDX(va) (((va) >> 21) & 511)
#define PT_IDX(va) (((va) >> 12) & 511)
#define TWO_MB (2ULL << 20)

uint64_t kdmap_base;
uint64_t kernel_pml4;
static uint64_t kernel_pd_low; // the PD of the first GiB: the kernel image
static struct spinlock frame_lock;
static uint64_t bump, bump_end, free_list, nused;

extern char __image_start[], __text_end[], __rodata_end[], __image_end[];

void mm_init(uint64_t start, uint64_t end)
{
	bump = (start + PAGE - 1) & ~(PAGE - 1);
	bump_end = end & ~(PAGE - 1);
}

uint64_t frame_alloc(void)
{
	spin_lock(&frame_lock);
	uint64_t pa = free_list;
	if (pa)
		free_list = *(uint64_t *)phys_to_virt(pa);
	else if (bump < bump_end)
		pa = bump, bump += PAGE;
	if (pa)
		nused++;
	spin_unlock(&frame_lock);
	if (pa)
		memset(phys_to_virt(pa), 0, PAGE);
	return pa;
}

void frame_free(uint64_t pa)
{
	spin_lock(&frame_lock);
	*(uint64_t *)phys_to_virt(pa) = free_list;
	free_list = pa;
	nused--;
	spin_unlock(&frame_lock);
}

uint64_t frames_used(void)
{
	return nused;
}

uint64_t mm_addr_mask(void)
{
	return ((1ULL << kcfg.maxphyaddr) - 1) & ~(PAGE - 1);
}

static uint64_t *table(uint64_t entry)
{
	return phys_to_virt(entry & mm_addr_mask());
}

/* Returns the entry pointing to the next level for va, creating the table when create is set. */
static uint64_t *walk_next(uint64_t *tab, unsigned idx, uint64_t va, bool create)
{
	uint64_t e = tab[idx];
	if (e & PTE_P)
		return (e & PTE_PS) ? NULL : table(e);
	if (!create)
		return NULL;
	uint64_t pa = frame_alloc();
	if (!pa)
		return NULL;
	bool user = va >= UAPI_USER_BASE && va < UAPI_USER_END;
	tab[idx] = pa | PTE_P | PTE_W | (user ? PTE_U : 0);
	return phys_to_virt(pa);
}

/* Returns a pointer to the 4 KiB leaf entry for va, or NULL. */
static uint64_t *walk(uint64_t pml4, uint64_t va, bool create)
{
	uint64_t *t = phys_to_virt(pml4);
	if (!(t = walk_next(t, PML4_IDX(va), va, create)))
		return NULL;
	if (!(t = walk_next(t, PDPT_IDX(va), va, create)))
		return NULL;
	if (!(t = walk_next(t, PD_IDX(va), va, create)))
		return NULL;
	return &t[PT_IDX(va)];
}

int mm_map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t *pte = walk(pml4, va, true);
	if (!pte)
		return -1;
	*pte = pa | flags;
	return 0;
}

uint64_t mm_lookup(uint64_t pml4, uint64_t va)
{
	uint64_t *pte = walk(pml4, va, false);
	return pte ? *pte : 0;
}

bool mm_unmap(uint64_t pml4, uint64_t va)
{
	uint64_t *pte = walk(pml4, va, false);
	if (!pte || !(*pte & PTE_P))
		return false;
	uint64_t pa = *pte & mm_addr_mask();
	*pte = 0;
	invlpg(va);
	frame_free(pa);
	return true;
}

/* Maps the kernel image page by page with the permissions of its sections. */
static void map_image(uint64_t pml4)
{
	uint64_t g = kcfg.pge ? PTE_G : 0, nx = kcfg.nx ? PTE_NX : 0;
	for (uint64_t va = (uint64_t)__image_start; va < (uint64_t)__image_end; va += PAGE) {
		uint64_t flags = PTE_P | g;
		if (va >= (uint64_t)__rodata_end)
			flags |= PTE_W | nx;
		else if (va >= (uint64_t)__text_end)
			flags |= nx;
		if (mm_map(pml4, va, va, flags))
			kpanic("out of memory mapping the kernel image");
	}
}

/* Maps RAM at DMAP_BASE with 2 MiB pages. */
static void map_direct(uint64_t pml4, uint64_t mem_size)
{
	uint64_t g = kcfg.pge ? PTE_G : 0, nx = kcfg.nx ? PTE_NX : 0;
	uint64_t *t4 = phys_to_virt(pml4);
	for (uint64_t pa = 0; pa < mem_size; pa += TWO_MB) {
		uint64_t va = DMAP_BASE + pa;
		uint64_t *t3 = walk_next(t4, PML4_IDX(va), va, true);
		uint64_t *t2 = t3 ? walk_next(t3, PDPT_IDX(va), va, true) : NULL;
		if (!t2)
			kpanic("out of memory building the direct map");
		t2[PD_IDX(va)] = pa | PTE_P | PTE_W | PTE_PS | g | nx;
	}
}

uint64_t mm_build_kernel_tables(uint64_t mem_size)
{
	uint64_t pml4 = frame_alloc();
	if (!pml4)
		kpanic("out of memory for the kernel page tables");
	map_image(pml4);
	map_direct(pml4, mem_size);
	kernel_pd_low = ((uint64_t *)table(((uint64_t *)phys_to_virt(pml4))[0]))[0];
	kernel_pml4 = pml4;
	return pml4;
}

uint64_t mm_new_space(void)
{
	uint64_t pml4 = frame_alloc(), pdpt = frame_alloc();
	if (!pml4 || !pdpt) {
		if (pml4)
			frame_free(pml4);
		if (pdpt)
			frame_free(pdpt);
		return 0;
	}
	uint64_t *t = phys_to_virt(pml4), *k = phys_to_virt(kernel_pml4);
	for (unsigned i = 256; i < 512; i++)
		t[i] = k[i];
	t[0] = pdpt | PTE_P | PTE_W | PTE_U;
	((uint64_t *)phys_to_virt(pdpt))[0] = kernel_pd_low;
	return pml4;
}

/* Frees a table and, below level 1, the tables and frames it points to. */
static void free_table(uint64_t pa, int level, unsigned first)
{
	uint64_t *t = phys_to_virt(pa);
	for (unsigned k = first; k < 512; k++) {
		if (!(t[k] & PTE_P))
			continue;
		if (level == 1)
			frame_free(t[k] & mm_addr_mask());
		else
			free_table(t[k] & mm_addr_mask(), level - 1, 0);
	}
	frame_free(pa);
}

void mm_free_space(uint64_t pml4)
{
	uint64_t *t = phys_to_virt(pml4);
	for (unsigned k = 0; k < 256; k++)
		if (t[k] & PTE_P)
			free_table(t[k] & mm_addr_mask(), 3, k == 0 ? 1 : 0); // PDPT[0] of PML4[0] is the kernel's
	frame_free(pml4);
}

void mm_switch(uint64_t pml4, uint16_t pcid, bool keep)
{
	if (read_cr4() & CR4_PCIDE)
		write_cr3(pml4 | pcid | (keep ? 1ULL << 63 : 0));
	else
		write_cr3(pml4);
}

/* Returns whether a user leaf entry allows the access and has no reserved bit set. */
static bool user_pte_ok(uint64_t e, bool write)
{
	uint64_t known = mm_addr_mask() | PTE_NX | 0xfff;
	return (e & (PTE_P | PTE_U)) == (PTE_P | PTE_U) && (!write || (e & PTE_W)) && !(e & ~known);
}

bool user_range_ok(uint64_t pml4, uint64_t va, uint64_t len, bool write)
{
	if (va < UAPI_USER_BASE || va >= UAPI_USER_END || len > UAPI_USER_END - va)
		return false;
	for (uint64_t p = va & ~(PAGE - 1); p < va + len; p += PAGE)
		if (!user_pte_ok(mm_lookup(pml4, p), write))
			return false;
	return true;
}

int copy_from_user(void *dst, uint64_t usrc, uint64_t len)
{
	struct proc *p = this_cpu()->cur;
	if (!user_range_ok(p->pml4, usrc, len, false))
		return UAPI_EFAULT;
	if (kernel_smap)
		stac();
	memcpy(dst, (const void *)usrc, len);
	if (kernel_smap)
		clac();
	return 0;
}

int copy_to_user(uint64_t udst, const void *src, uint64_t len)
{
	struct proc *p = this_cpu()->cur;
	if (!user_range_ok(p->pml4, udst, len, true))
		return UAPI_EFAULT;
	if (kernel_smap)
		stac();
	memcpy((void *)udst, src, len);
	if (kernel_smap)
		clac();
	return 0;
}
