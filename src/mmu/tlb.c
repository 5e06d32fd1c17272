/* SPDX-License-Identifier: MIT */
/*
 * TLB maintenance (see mmu.h for the layout): filling slots, the context
 * numbers that tag entries by PCID, the list of global entries, and the
 * flushes. Entries are filled by mmu_translate; everything else here only
 * takes them away.
 *
 * Invariants:
 * - A slot that holds no translation has no_tag(slot) in all tags,
 *   which no lookup at that slot can produce (its page maps elsewhere).
 * - Every live global entry is tagged with the current context (retag()
 *   runs whenever the context changes) and is on global_list.
 * - An entry whose context is not ctx_of[] of any PCID is dead: no key
 *   can match it until the next sweep, which wipes it.
 * - Every large-page region with cached pieces is in big[] unless
 *   big_overflow, so INVLPG finds all pieces of a large page.
 * Workload: fills on misses, a retag per CR3 load (a few global entries),
 * a sweep every TLB_CTXS context allocations.
 */
#include "mmu/mmu.h"

#include <assert.h>
#include <string.h>

static_assert(TLB_ENTRIES >= 4096 && (TLB_ENTRIES & (TLB_ENTRIES - 1)) == 0, "mode bits need 4096 slots");
static_assert((((TLB_MODE_AC | (3u << TLB_MODE_CPL_SHIFT)) >> PAGE_SHIFT) & TLB_NO_TAG_XOR) == 0, "empty tags must not match");
static_assert(((TLB_MODE_AC | (3u << TLB_MODE_CPL_SHIFT)) >> PAGE_SHIFT) < TLB_ENTRIES, "modes must change the slot");
static_assert(TLB_CTXS <= PAGE_SIZE, "context numbers live in the page-offset bits of a key");

static u64 no_tag(unsigned slot)
{
	return (u64)(slot ^ TLB_NO_TAG_XOR) << PAGE_SHIFT;
}

static void wipe(struct tlb *t, unsigned slot)
{
	struct tlb_entry *e = &t->e[slot];
	e->tag[ACC_READ] = e->tag[ACC_WRITE] = e->tag[ACC_EXEC] = no_tag(slot);
	e->host = NULL;
	t->info[slot].hpa = ~0ULL;
	if (t->info[slot].global == 1)
		t->info[slot].global = 2;
}

/* Moves the live global entries to the current context and forgets the stale list members. */
static void retag(struct tlb *t)
{
	unsigned n = 0;
	for (unsigned k = 0; k < t->nglobal; k++) {
		unsigned s = t->global_list[k];
		if (t->info[s].global != 1) {
			t->info[s].global = 0;
			continue;
		}
		for (unsigned a = 0; a < 3; a++)
			if (t->e[s].tag[a] != no_tag(s))
				t->e[s].tag[a] = (t->e[s].tag[a] & PAGE_MASK) | t->ctx;
		t->info[s].ctx = (u16)t->ctx;
		t->global_list[n++] = (u16)s;
	}
	t->nglobal = (u16)n;
}

static void big_add(struct tlb *t, gva_t gva, unsigned shift)
{
	gva_t base = gva & ~((1ULL << shift) - 1);
	for (unsigned k = 0; k < t->nbig; k++)
		if (t->big[k].base == base && t->big[k].shift == shift)
			return;
	if (t->nbig == TLB_BIG_MAX) {
		t->big_overflow = true;
		return;
	}
	t->big[t->nbig++] = (struct tlb_big){ .base = base, .shift = (u8)shift };
}

/* Wipes every slot not holding a live global entry and rebuilds big[] from the rest. */
static void sweep(struct tlb *t)
{
	t->nbig = 0;
	t->big_overflow = false;
	for (unsigned s = 0; s < TLB_ENTRIES; s++) {
		if (t->info[s].global != 1)
			wipe(t, s);
		else if (t->info[s].shift > PAGE_SHIFT)
			big_add(t, t->info[s].page, t->info[s].shift);
	}
	memset(t->ctx_of, 0, sizeof(t->ctx_of));
	t->next_ctx = 0;
	t->sweeps++;
}

/* Gives pcid a fresh context number, sweeping first when all are used. */
static u16 new_ctx(struct tlb *t, u16 pcid)
{
	if (t->next_ctx == TLB_CTXS)
		sweep(t);
	t->ctx_of[pcid] = (u16)(t->next_ctx + 1);
	return t->next_ctx++;
}

/* Makes the current PCID's context number current, allocating one if it has none. */
static void enter_ctx(struct tlb *t)
{
	u16 c = t->ctx_of[t->pcid];
	u64 ctx = c ? c - 1u : new_ctx(t, t->pcid);
	if (ctx != t->ctx) {
		t->ctx = ctx;
		retag(t);
	}
}

void tlb_fill(struct tlb *t, gva_t gva, unsigned mode, const bool ok[3], u8 *host, hpa_t hpa, unsigned shift,
	      bool global)
{
	unsigned slot = tlb_slot(gva, mode);
	struct tlb_entry *e = &t->e[slot];
	struct tlb_info *in = &t->info[slot];
	t->fills++;
	u64 key = (gva & PAGE_MASK) | t->ctx;
	for (unsigned a = 0; a < 3; a++)
		e->tag[a] = ok[a] ? key : no_tag(slot);
	e->host = host;
	in->page = gva & PAGE_MASK;
	in->hpa = hpa;
	in->ctx = (u16)t->ctx;
	in->shift = (u8)shift;
	if (global && in->global == 0)
		t->global_list[t->nglobal++] = (u16)slot;
	if (global)
		in->global = 1;
	else if (in->global == 1)
		in->global = 2;
	if (shift > PAGE_SHIFT)
		big_add(t, gva, shift);
}

void tlb_flush_all(struct tlb *t)
{
	if (!t->ready) {
		memset(t->info, 0, sizeof(t->info));
		t->nglobal = 0;
		t->pcid = 0;
		t->next_ctx = TLB_CTXS; // the first allocation sweeps every slot
		t->ready = true;
	}
	for (unsigned k = 0; k < t->nglobal; k++) {
		unsigned s = t->global_list[k];
		if (t->info[s].global == 1)
			wipe(t, s);
		t->info[s].global = 0;
	}
	t->nglobal = 0;
	t->nbig = 0;
	t->big_overflow = false;
	memset(t->ctx_of, 0, sizeof(t->ctx_of));
	t->ctx = new_ctx(t, t->pcid); // every other context is dead now
}

/*
 * True if slot s is to go for a flush of pcid (or all) with or without
 * global entries. Live global entries carry the current context.
 */
static bool flush_hits(const struct tlb *t, unsigned s, int ctx, bool global)
{
	if (!t->e[s].host)
		return false;
	if (t->info[s].global == 1)
		return global || ctx == TLB_ALL_PCIDS;
	return ctx == TLB_ALL_PCIDS || t->info[s].ctx == ctx;
}

/*
 * Wipes the slots caching pieces of a large page that contains gva, in
 * every PCID, global ones too (more than asked: allowed, and it lets the
 * region leave big[]).
 */
static void flush_big(struct tlb *t, gva_t gva)
{
	bool hit = t->big_overflow;
	for (unsigned k = 0; k < t->nbig;) {
		if (((gva ^ t->big[k].base) >> t->big[k].shift) == 0) {
			hit = true;
			t->big[k] = t->big[--t->nbig];
		} else {
			k++;
		}
	}
	if (!hit)
		return;
	for (unsigned s = 0; s < TLB_ENTRIES; s++) {
		unsigned sh = t->info[s].shift;
		if (sh > PAGE_SHIFT && t->e[s].host && ((gva ^ t->info[s].page) >> sh) == 0)
			wipe(t, s);
	}
}

void tlb_flush_addr(struct tlb *t, gva_t gva, int pcid, bool global)
{
	int ctx = TLB_ALL_PCIDS;
	if (pcid != TLB_ALL_PCIDS) {
		/* A PCID without a context number has no entries; its global ones are the current context's. */
		ctx = t->ctx_of[pcid] ? t->ctx_of[pcid] - 1 : (int)TLB_CTXS;
	}
	gva_t page = gva & PAGE_MASK;
	for (unsigned m = 0; m < 8; m++) {
		unsigned mode = (m >> 1) << TLB_MODE_CPL_SHIFT | (m & 1 ? TLB_MODE_AC : 0);
		unsigned s = tlb_slot(gva, mode);
		if (t->info[s].page == page && flush_hits(t, s, ctx, global))
			wipe(t, s);
	}
	flush_big(t, gva);
}

void tlb_flush_page(struct tlb *t, gva_t gva)
{
	tlb_flush_addr(t, gva, TLB_ALL_PCIDS, true);
}

void tlb_flush_pcid(struct tlb *t, u16 pcid)
{
	t->ctx_of[pcid] = 0;
	if (pcid == t->pcid)
		enter_ctx(t);
}

void tlb_flush_nonglobal(struct tlb *t)
{
	memset(t->ctx_of, 0, sizeof(t->ctx_of));
	enter_ctx(t);
}

void tlb_load_pcid(struct tlb *t, u16 pcid, bool flush)
{
	t->pcid = pcid;
	if (flush)
		t->ctx_of[pcid] = 0;
	enter_ctx(t);
}

void tlb_drop_write(struct tlb *t, hpa_t hpa)
{
	for (unsigned s = 0; s < TLB_ENTRIES; s++)
		if (t->info[s].hpa == (hpa & PAGE_MASK) && t->e[s].host)
			t->e[s].tag[ACC_WRITE] = no_tag(s);
}
