/* SPDX-License-Identifier: MIT */
/*
 * The body of the two TLB benchmark guests, bench_tlb4k.c and
 * bench_tlb2m.c, which differ only in the page size they map their
 * buffer with. The guest builds its own 4-level page tables (SDM Vol. 3A
 * 4.5): an identity map of RAM in 2 MiB pages (code, stack, tables) and
 * a buffer of mib=N MiB (default 64) at TLB_BUF_VA, whose pages are
 * scattered over physical memory by a permutation so that a wrong
 * translation cannot go unnoticed. It loads CR3, writes a signature word
 * into every 4 KiB of the buffer through the new mapping, checks each
 * through the identity map, then makes accesses=N (default 8 Mi)
 * pseudo-random 8-byte reads and writes over the buffer: with 4 KiB
 * pages nearly every access misses any realistic TLB, with 2 MiB pages
 * 32 entries cover the buffer. Prints
 *   NAME: M MiB in P KiB pages, N accesses, map ok, checksum=X
 *   NAME: rdtsc setup=T1 loop=T2
 * The checksum depends on neither the page size nor where RAM lies, so
 * both guests print the same one, under Facet, QEMU and Bochs alike;
 * tests/guest/bench_guests_test.c recomputes it natively. Memory: the
 * buffer plus about 150 KiB of tables, in the free memory after the image.
 */
#ifndef GUEST_BENCH_TLB_H
#define GUEST_BENCH_TLB_H

#include "io.h"
#include "libc.h"
#include "rand.h"

#define TLB_BUF_VA (1ull << 39) // PML4 slot 1: nothing else lives there
#define TLB_SEED 0x7b1e5eedull
#define TLB_DEFAULT_MIB 64
#define TLB_DEFAULT_ACCESSES (8ull << 20)
#define TLB_PERM_MUL 1000003ull // prime: page j goes to frame j * TLB_PERM_MUL mod npages
#define TLB_MAP_LIMIT (4ull << 30) // identity map at most the first 4 GiB

#define PTE_P 0x1ull  // present
#define PTE_W 0x2ull  // writable
#define PTE_PS 0x80ull // bit 7 in a PDE: 2 MiB page
#define PTE_ADDR 0x000ffffffffff000ull // bits 51:12

/* A bump allocator of zeroed 4 KiB pages for the page tables. */
struct tlb_pool {
	uint64_t next, end; // physical = virtual (identity map)
};

static uint64_t *tlb_page(struct tlb_pool *p)
{
	if (p->end - p->next < 4096)
		panic("bench_tlb: out of memory for page tables");
	uint64_t *t = (uint64_t *)(uintptr_t)p->next;
	p->next += 4096;
	memset(t, 0, 4096);
	return t;
}

/* Returns the table entry idx of t points to, creating it first if absent. */
static uint64_t *tlb_next(struct tlb_pool *p, uint64_t *t, unsigned idx)
{
	if (!(t[idx] & PTE_P))
		t[idx] = (uint64_t)(uintptr_t)tlb_page(p) | PTE_P | PTE_W;
	return (uint64_t *)(uintptr_t)(t[idx] & PTE_ADDR);
}

/* Maps the page at va (4 KiB, or 2 MiB when shift is 21) to pa, supervisor read/write. */
static void tlb_map(struct tlb_pool *p, uint64_t *pml4, uint64_t va, uint64_t pa, unsigned shift)
{
	uint64_t *pdpt = tlb_next(p, pml4, (va >> 39) & 511);
	uint64_t *pd = tlb_next(p, pdpt, (va >> 30) & 511);
	if (shift == 21) {
		pd[(va >> 21) & 511] = pa | PTE_P | PTE_W | PTE_PS;
		return;
	}
	uint64_t *pt = tlb_next(p, pd, (va >> 21) & 511);
	pt[(va >> 12) & 511] = pa | PTE_P | PTE_W;
}

/*
 * Returns the physical frame (index into the buffer's frames) behind
 * buffer page j: multiplication by a prime larger than any npages is a
 * permutation of [0, npages), and it puts neighbours far apart.
 */
static uint64_t tlb_frame(uint64_t j, uint64_t npages)
{
	return j * TLB_PERM_MUL % npages;
}

/* The signature written into 4 KiB chunk c of the buffer, at word tlb_sig_word(c). */
static inline uint64_t tlb_sig(uint64_t c)
{
	return (c + 1) * 0x9e3779b97f4a7c15ull;
}

static inline uint64_t tlb_sig_word(uint64_t c)
{
	return (c * 131) & 511;
}

/* Builds the tables: RAM identity-mapped in 2 MiB pages, the buffer at TLB_BUF_VA; returns the PML4. */
static uint64_t tlb_build(struct tlb_pool *p, uint64_t mem, uint64_t buf_pa, uint64_t size, unsigned shift)
{
	uint64_t *pml4 = tlb_page(p);
	uint64_t top = mem < TLB_MAP_LIMIT ? mem : TLB_MAP_LIMIT;
	for (uint64_t pa = 0; pa < top; pa += 1ull << 21)
		tlb_map(p, pml4, pa, pa, 21);
	uint64_t npages = size >> shift;
	for (uint64_t j = 0; j < npages; j++)
		tlb_map(p, pml4, TLB_BUF_VA + (j << shift), buf_pa + (tlb_frame(j, npages) << shift), shift);
	return (uint64_t)(uintptr_t)pml4;
}

/* Writes the signatures through the buffer's mapping; returns how many read back wrong through the identity map. */
static uint64_t tlb_sign_and_check(uint64_t buf_pa, uint64_t size, unsigned shift)
{
	volatile uint64_t *va = (volatile uint64_t *)(uintptr_t)TLB_BUF_VA;
	uint64_t chunks = size >> 12, npages = size >> shift, bad = 0;
	for (uint64_t c = 0; c < chunks; c++)
		va[c * 512 + tlb_sig_word(c)] = tlb_sig(c);
	for (uint64_t c = 0; c < chunks; c++) {
		uint64_t off = c << 12, page = off >> shift;
		uint64_t pa = buf_pa + (tlb_frame(page, npages) << shift) + (off & ((1ull << shift) - 1));
		bad += ((volatile uint64_t *)(uintptr_t)pa)[tlb_sig_word(c)] != tlb_sig(c);
	}
	return bad;
}

/*
 * The workload: n pseudo-random accesses to the words of buf. Bits 63:32
 * of each random value pick the word (multiply-high, no division), bit 8
 * picks a write (of the value mixed with the running sum) or a read
 * (folded into the sum). noinline keeps the loop one piece of code.
 */
__attribute__((noinline)) static uint64_t tlb_loop(uint64_t *buf, uint64_t words, uint64_t n)
{
	struct rng r;
	rng_seed(&r, TLB_SEED);
	uint64_t sum = CHECKSUM_INIT;
	for (uint64_t k = 0; k < n; k++) {
		uint64_t v = rng_next(&r);
		uint64_t i = ((v >> 32) * words) >> 32;
		if (v & 0x100)
			buf[i] = v ^ sum;
		else
			sum = checksum_add(sum, buf[i]);
	}
	return sum;
}

static inline void tlb_write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

/* Runs the benchmark with the buffer in pages of 1 << shift bytes (12 or 21); returns the exit status. */
static int bench_tlb_main(const struct facet_bootinfo *bi, unsigned shift, const char *name)
{
	uint64_t mib = cmdline_u64("mib", TLB_DEFAULT_MIB), n = cmdline_u64("accesses", TLB_DEFAULT_ACCESSES);
	uint64_t size = mib << 20, buf_pa = (bi->free_start + (1ull << 21) - 1) & ~((1ull << 21) - 1);
	if (mib < 2 || mib % 2 || mib > 1024)
		panic("%s: mib=%llu, want an even number from 2 to 1024", name, (unsigned long long)mib);
	if (buf_pa + size + (size >> 9) + (64ull << 10) > bi->stack_bottom) // 4 KiB-page tables: size / 512
		panic("%s: %llu MiB and the tables do not fit below %#llx", name, (unsigned long long)mib,
		      (unsigned long long)bi->stack_bottom);
	struct tlb_pool pool = { buf_pa + size, bi->stack_bottom };
	uint64_t t0 = rdtsc();
	memset((void *)(uintptr_t)buf_pa, 0, size);
	tlb_write_cr3(tlb_build(&pool, bi->mem_size, buf_pa, size, shift));
	uint64_t bad = tlb_sign_and_check(buf_pa, size, shift);
	uint64_t t1 = rdtsc();
	uint64_t sum = tlb_loop((uint64_t *)(uintptr_t)TLB_BUF_VA, size / 8, n);
	uint64_t t2 = rdtsc();
	printf("%s: %llu MiB in %u KiB pages, %llu accesses, map %s, checksum=%016llx\n", name,
	       (unsigned long long)mib, 1u << (shift - 10), (unsigned long long)n, bad ? "MISMATCH" : "ok",
	       (unsigned long long)sum);
	printf("%s: rdtsc setup=%llu loop=%llu\n", name, (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
	return bad ? 1 : 0;
}

#endif
