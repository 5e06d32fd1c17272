/* SPDX-License-Identifier: MIT */
/*
 * The slow paths of guest memory access: TLB misses, page-crossing
 * accesses and writes to pages that hold decoded code (which must drop
 * that code before the write lands, DESIGN section 8).
 */
#include "cpu/access.h"

#include "cpu/dcache.h"
#include "mem/mem.h"

/* Translates [gva, gva+size) for acc in TLB mode `mode`; p[1] is NULL unless the access crosses a page. */
static int translate_span_mode(struct cpu *c, gva_t gva, unsigned size, enum access acc, unsigned mode, u8 *p[2])
{
	p[0] = tlb_lookup_mode(&c->tlb, gva, acc, mode);
	if (!p[0] && !(p[0] = mmu_translate_mode(c, gva, acc, mode)))
		return EXEC_FAULT;
	p[1] = NULL;
	if ((gva & ~PAGE_MASK) + size > PAGE_SIZE) {
		gva_t next = (gva & PAGE_MASK) + PAGE_SIZE;
		p[1] = tlb_lookup_mode(&c->tlb, next, acc, mode);
		if (!p[1] && !(p[1] = mmu_translate_mode(c, next, acc, mode)))
			return EXEC_FAULT;
	}
	return 0;
}

/* Translates [gva, gva+size) for acc at the current privilege. */
static int translate_span(struct cpu *c, gva_t gva, unsigned size, enum access acc, u8 *p[2])
{
	return translate_span_mode(c, gva, size, acc, tlb_cpu_mode(c), p);
}

static unsigned first_part(gva_t gva, unsigned size)
{
	unsigned room = PAGE_SIZE - (gva & ~PAGE_MASK);
	return size < room ? size : room;
}

static int read_mode(struct cpu *c, gva_t gva, unsigned size, u64 *val, unsigned mode)
{
	u8 *p[2];
	u8 buf[8] = { 0 };
	if (translate_span_mode(c, gva, size, ACC_READ, mode, p))
		return EXEC_FAULT;
	unsigned n = first_part(gva, size);
	memcpy(buf, p[0], n);
	if (n < size)
		memcpy(buf + n, p[1], size - n);
	*val = load_le(buf, size);
	return 0;
}

int cpu_read_slow(struct cpu *c, gva_t gva, unsigned size, u64 *val)
{
	return read_mode(c, gva, size, val, tlb_cpu_mode(c));
}

int cpu_read_sys(struct cpu *c, gva_t gva, unsigned size, u64 *val)
{
	return read_mode(c, gva, size, val, TLB_MODE_SYS);
}

/*
 * Drops decoded code on the page behind host pointer p before it is
 * written. p may be the sink page (a guest mapping with no RAM behind
 * it), which holds no code and has no entry in mem->code.
 */
static void before_write(struct cpu *c, const u8 *p)
{
	hpa_t hpa = (hpa_t)((uintptr_t)p - (uintptr_t)c->mem->ram);
	if (hpa < c->mem->size && c->mem->code[hpa >> PAGE_SHIFT])
		dcache_invalidate_page(c->dc, hpa & PAGE_MASK);
}

static int write_mode(struct cpu *c, gva_t gva, unsigned size, u64 val, unsigned mode)
{
	u8 *p[2];
	u8 buf[8];
	if (translate_span_mode(c, gva, size, ACC_WRITE, mode, p))
		return EXEC_FAULT;
	store_le(buf, size, val);
	unsigned n = first_part(gva, size);
	before_write(c, p[0]);
	memcpy(p[0], buf, n);
	if (n < size) {
		before_write(c, p[1]);
		memcpy(p[1], buf + n, size - n);
	}
	return 0;
}

int cpu_write_slow(struct cpu *c, gva_t gva, unsigned size, u64 val)
{
	return write_mode(c, gva, size, val, tlb_cpu_mode(c));
}

int cpu_write_sys(struct cpu *c, gva_t gva, unsigned size, u64 val)
{
	return write_mode(c, gva, size, val, TLB_MODE_SYS);
}

int cpu_probe_slow(struct cpu *c, gva_t gva, unsigned size, enum access acc)
{
	u8 *p[2];
	if (translate_span(c, gva, size, acc, p))
		return EXEC_FAULT;
	if (acc == ACC_WRITE) {
		before_write(c, p[0]);
		if (p[1])
			before_write(c, p[1]);
	}
	return 0;
}

u8 *cpu_atomic_ptr(struct cpu *c, gva_t gva, unsigned size, int *fault)
{
	u8 *p[2];
	*fault = 0;
	if (translate_span(c, gva, size, ACC_WRITE, p)) {
		*fault = EXEC_FAULT;
		return NULL;
	}
	before_write(c, p[0]);
	if (p[1]) {
		before_write(c, p[1]);
		return NULL;
	}
	return p[0];
}

int cpu_push(struct cpu *c, unsigned size, u64 val)
{
	gva_t rsp = c->r[RSP] - size;
	if (cpu_write(c, rsp, size, val))
		return EXEC_FAULT;
	c->r[RSP] = rsp;
	return 0;
}

int cpu_pop(struct cpu *c, unsigned size, u64 *val)
{
	if (cpu_read(c, c->r[RSP], size, val))
		return EXEC_FAULT;
	c->r[RSP] += size;
	return 0;
}
