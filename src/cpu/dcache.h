/* SPDX-License-Identifier: MIT */
/*
 * The decode cache (DESIGN section 8, "decode once"): decoded blocks keyed
 * by the host-physical address of their first byte, shared by all vCPUs
 * of a machine.
 *
 * A block runs from its first instruction to the first one that ends a
 * block (INSN_TERM), the end of its page, or BLOCK_MAX instructions. An
 * instruction that crosses a page end is a block of its own, listed on
 * both pages. A block is followed by a sentinel insn that returns
 * EXEC_RETRY, so the run loop needs no count.
 *
 * Coherence: a frame that holds decoded code is marked in mem->code and
 * no vCPU's TLB keeps a write tag for it, so every write reaches
 * dcache_invalidate_page() first. Invalidated blocks are not freed: their
 * handlers are replaced by one that returns EXEC_RETRY, so a vCPU in the
 * middle of such a block leaves it at the next instruction. Memory comes
 * from an arena that is reset as a whole when full, at a point where no
 * block is executing (dcache_build is only called between blocks).
 */
#ifndef FACET_DCACHE_H
#define FACET_DCACHE_H

#include "cpu/decode.h"
#include "cpu/insn.h"
#include "lib/types.h"

struct cpu;
struct mem;

#define BLOCK_MAX 64

struct block {
	struct block *hnext;    // next in the hash bucket
	struct block *pnext[2]; // next on the list of the first (0) and last (1) page
	hpa_t hpa;              // host-physical address of the first byte
	hpa_t last_page;        // host-physical page of the last byte
	gva_t last_gva_off;     // offset from the first byte to the last byte
	u32 n;                  // instructions, without the sentinel
	bool valid;             // false once invalidated
	struct insn insn[];     // n instructions, then the sentinel
};

struct dcache_stats {
	u64 blocks_built;
	u64 insns_decoded;
	u64 pages_invalidated;
	u64 flushes;
};

struct dcache;

/* Creates a decode cache for machine memory m; returns NULL when out of memory. */
struct dcache *dcache_new(struct mem *m);
void dcache_free(struct dcache *dc);

/* Returns the valid block starting at hpa, or NULL. */
struct block *dcache_lookup(struct dcache *dc, hpa_t hpa);

/*
 * Decodes and caches the block that starts at the vCPU's RIP, whose first
 * byte is at host pointer `code` (host-physical `hpa`). Returns NULL after
 * raising the instruction-fetch fault when not even the first instruction
 * can be fetched.
 */
struct block *dcache_build(struct dcache *dc, struct cpu *c, const u8 *code, hpa_t hpa);

/* Drops every block with a byte on host-physical page `page`. */
void dcache_invalidate_page(struct dcache *dc, hpa_t page);

/* Returns the decoder the cache uses (for single steps and tools). */
const struct decoder *dcache_decoder(const struct dcache *dc);

const struct dcache_stats *dcache_stats(const struct dcache *dc);

/*
 * Decodes the one instruction at the vCPU's RIP, whose first byte is at
 * host pointer `code`, fetching from the next page (execute access through
 * the TLB) only if the instruction needs it. Returns its length, with the
 * host-physical page of its last byte in *last_page, or 0 after raising
 * the fetch fault. Used by single steps and for page-crossing instructions.
 */
unsigned dcache_fetch_insn(struct dcache *dc, struct cpu *c, const u8 *code, struct insn *out, hpa_t *last_page);

#endif
