/* SPDX-License-Identifier: MIT */
/*
 * TLB maintenance (see mmu.h). Entries are filled by mmu_translate; these
 * functions only take them away.
 */
#include "mmu/mmu.h"

static void clear_entry(struct tlb_entry *e)
{
	e->tag[ACC_READ] = e->tag[ACC_WRITE] = e->tag[ACC_EXEC] = TLB_NO_TAG;
	e->host = NULL;
	e->hpa = 0;
}

void tlb_flush_all(struct tlb *t)
{
	for (unsigned k = 0; k < TLB_ENTRIES; k++)
		clear_entry(&t->e[k]);
}

void tlb_flush_page(struct tlb *t, gva_t gva)
{
	clear_entry(&t->e[(gva >> PAGE_SHIFT) & (TLB_ENTRIES - 1)]);
}

void tlb_drop_write(struct tlb *t, hpa_t hpa)
{
	for (unsigned k = 0; k < TLB_ENTRIES; k++)
		if (t->e[k].hpa == (hpa & PAGE_MASK) && t->e[k].host)
			t->e[k].tag[ACC_WRITE] = TLB_NO_TAG;
}
