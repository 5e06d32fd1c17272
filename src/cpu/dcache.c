/* SPDX-License-Identifier: MIT */
/*
 * Decoded-block cache (see dcache.h for the design and its invariants).
 * Workload: lookups on every block entry (hash, a few compares), builds
 * once per block, invalidations on self-modifying code only.
 */
#include "cpu/dcache.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/cpu.h"
#include "mem/mem.h"
#include "mmu/tlb.h"

#define HASH_BITS 16
#define ARENA_SIZE (64ULL << 20)
#define BLOCK_BYTES_MAX (sizeof(struct block) + (BLOCK_MAX + 1) * sizeof(struct insn))

struct dcache {
	struct decoder dec;
	struct mem *mem;
	u8 *arena;              // ARENA_SIZE bytes (owned)
	size_t used;            // bytes of the arena in use
	struct block *hash[1u << HASH_BITS];
	struct block **pages;   // per frame: blocks with a byte on it (owned)
	u64 nframes;
	struct dcache_stats stats;
};

static int op_retry(struct cpu *c, const struct insn *i)
{
	(void)c, (void)i;
	return EXEC_RETRY;
}

static unsigned hash_of(hpa_t hpa)
{
	return (unsigned)((hpa * 0x9e3779b97f4a7c15ULL) >> (64 - HASH_BITS));
}

struct dcache *dcache_new(struct mem *m)
{
	struct dcache *dc = calloc(1, sizeof(*dc));
	if (!dc)
		return NULL;
	decoder_init(&dc->dec);
	dc->mem = m;
	dc->nframes = m->size >> PAGE_SHIFT;
	dc->pages = calloc(dc->nframes, sizeof(*dc->pages));
	void *a = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!dc->pages || a == MAP_FAILED) {
		free(dc->pages);
		free(dc);
		return NULL;
	}
	dc->arena = a;
	return dc;
}

void dcache_free(struct dcache *dc)
{
	if (!dc)
		return;
	munmap(dc->arena, ARENA_SIZE);
	free(dc->pages);
	free(dc);
}

const struct decoder *dcache_decoder(const struct dcache *dc)
{
	return &dc->dec;
}

const struct dcache_stats *dcache_stats(const struct dcache *dc)
{
	return &dc->stats;
}

struct block *dcache_lookup(struct dcache *dc, hpa_t hpa)
{
	for (struct block *b = dc->hash[hash_of(hpa)]; b; b = b->hnext)
		if (b->hpa == hpa)
			return b;
	return NULL;
}

/* Forgets every block; only called between blocks (no block is executing). */
static void flush_all(struct dcache *dc)
{
	dc->used = 0;
	memset(dc->hash, 0, sizeof(dc->hash));
	memset(dc->pages, 0, dc->nframes * sizeof(*dc->pages));
	memset(dc->mem->code, 0, dc->nframes);
	dc->stats.flushes++;
}

static void unhash(struct dcache *dc, struct block *b)
{
	struct block **pp = &dc->hash[hash_of(b->hpa)];
	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = b->hnext;
}

static void kill_block(struct dcache *dc, struct block *b)
{
	b->valid = false;
	unhash(dc, b);
	for (u32 k = 0; k <= b->n; k++)
		b->insn[k].fn = op_retry;
}

void dcache_invalidate_page(struct dcache *dc, hpa_t page)
{
	u64 pfn = page >> PAGE_SHIFT;
	if (pfn >= dc->nframes)
		return;
	struct block *b = dc->pages[pfn];
	while (b) {
		unsigned slot = (b->hpa & PAGE_MASK) == page ? 0 : 1;
		struct block *next = b->pnext[slot];
		if (b->valid)
			kill_block(dc, b);
		b = next;
	}
	dc->pages[pfn] = NULL;
	dc->mem->code[pfn] = 0;
	dc->stats.pages_invalidated++;
}

/* Marks a frame as holding code: no vCPU may keep a write tag for it. */
static void mark_code(struct dcache *dc, struct cpu *c, hpa_t page)
{
	u64 pfn = page >> PAGE_SHIFT;
	if (dc->mem->code[pfn])
		return;
	dc->mem->code[pfn] = 1;
	if (!c->peers) {
		tlb_drop_write(&c->tlb, page);
		return;
	}
	for (unsigned k = 0; k < c->npeers; k++)
		tlb_drop_write(&c->peers[k].tlb, page);
}

static void link_block(struct dcache *dc, struct cpu *c, struct block *b)
{
	unsigned h = hash_of(b->hpa);
	b->hnext = dc->hash[h];
	dc->hash[h] = b;
	hpa_t first = b->hpa & PAGE_MASK;
	b->pnext[0] = dc->pages[first >> PAGE_SHIFT];
	dc->pages[first >> PAGE_SHIFT] = b;
	mark_code(dc, c, first);
	if (b->last_page != first) {
		b->pnext[1] = dc->pages[b->last_page >> PAGE_SHIFT];
		dc->pages[b->last_page >> PAGE_SHIFT] = b;
		mark_code(dc, c, b->last_page);
	}
}

unsigned dcache_fetch_insn(struct dcache *dc, struct cpu *c, const u8 *code, struct insn *out, hpa_t *last_page)
{
	u8 buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
	hpa_t hpa = (hpa_t)(code - dc->mem->ram);
	size_t room = PAGE_SIZE - (hpa & ~PAGE_MASK);
	size_t n = room < sizeof(buf) ? room : sizeof(buf);
	memcpy(buf, code, n);
	*last_page = hpa & PAGE_MASK;
	if (decode_one(&dc->dec, buf, n, out) != DECODE_SHORT)
		return out->len;
	gva_t next = (c->r[REG_RIP] & PAGE_MASK) + PAGE_SIZE;
	u8 *p = tlb_lookup(c, next, ACC_EXEC);
	if (!p && !(p = mmu_translate(c, next, ACC_EXEC)))
		return 0;
	memcpy(buf + n, p, sizeof(buf) - n);
	*last_page = (hpa_t)(p - dc->mem->ram);
	decode_one(&dc->dec, buf, sizeof(buf), out);
	return out->len;
}

/* Decodes instructions from `code` to the end of the block; returns how many. */
static u32 decode_run(struct dcache *dc, struct block *b, const u8 *code, size_t room)
{
	u32 n = 0;
	size_t off = 0;
	while (n < BLOCK_MAX && off < room) {
		size_t avail = room - off < ZYDIS_MAX_INSTRUCTION_LENGTH ? room - off : ZYDIS_MAX_INSTRUCTION_LENGTH;
		if (decode_one(&dc->dec, code + off, avail, &b->insn[n]) == DECODE_SHORT)
			break; // crosses the page end: it starts the next block
		if (n > 0 && (b->insn[n].flags & INSN_SYNC))
			break; // it must start a block: the run loop adds icount per block
		off += b->insn[n].len;
		if (b->insn[n++].flags & INSN_TERM)
			break;
	}
	return n;
}

struct block *dcache_build(struct dcache *dc, struct cpu *c, const u8 *code, hpa_t hpa)
{
	if (dc->used + BLOCK_BYTES_MAX > ARENA_SIZE)
		flush_all(dc);
	struct block *b = (struct block *)(dc->arena + dc->used);
	memset(b, 0, sizeof(*b));
	b->hpa = hpa;
	b->last_page = hpa & PAGE_MASK;
	b->n = decode_run(dc, b, code, PAGE_SIZE - (hpa & ~PAGE_MASK));
	if (b->n == 0) {
		if (!dcache_fetch_insn(dc, c, code, &b->insn[0], &b->last_page))
			return NULL;
		b->n = 1;
		b->last_gva_off = b->insn[0].len - 1;
	}
	b->insn[b->n] = (struct insn){ .fn = op_retry, .base = REG_NONE, .index = REG_NONE };
	b->valid = true;
	dc->used += (sizeof(struct block) + (b->n + 1) * sizeof(struct insn) + 15) & ~(size_t)15;
	dc->stats.blocks_built++;
	dc->stats.insns_decoded += b->n;
	link_block(dc, c, b);
	return b;
}
