/* SPDX-License-Identifier: MIT */
/*
 * The vCPU run loop (DESIGN section 3): find the decoded block at RIP,
 * run its handlers one after the other, and account for what retired.
 * The inner loop is the hottest code in Facet: one indirect call and one
 * compare per instruction.
 */
#include "cpu/cpu.h"

#include <string.h>

#include "cpu/dcache.h"
#include "cpu/flags.h"
#include "mem/mem.h"

void cpu_init(struct cpu *c, struct mem *m, struct dcache *dc, u32 id)
{
	memset(c, 0, sizeof(*c));
	c->mem = m;
	c->dc = dc;
	c->id = id;
	c->rflags = RFLAGS_FIXED1;
	c->cr0 = CR0_PE | CR0_PG | CR0_WP | (1ULL << 4) /* ET */;
	c->cr4 = CR4_PAE;
	c->efer = EFER_LME | EFER_LMA | EFER_NXE;
	tlb_flush_all(&c->tlb);
}

int cpu_raise(struct cpu *c, u8 vec, bool has_error, u32 error)
{
	c->exc = (struct exception){ .vector = vec, .has_error = has_error, .error = error };
	return EXEC_FAULT;
}

/*
 * Empties the jump cache when the decode cache was flushed since it was
 * filled: its block pointers would point into reused arena memory.
 * Invalidated blocks need no such care: they stay readable, not valid.
 * Flushes happen only inside dcache_build, so callers sync after a build
 * and when a run starts.
 */
static void jump_cache_sync(struct cpu *c)
{
	u64 gen = dcache_stats(c->dc)->flushes;
	if (likely(c->jc_generation == gen))
		return;
	memset(c->jc, 0, sizeof(c->jc));
	c->jc_generation = gen;
}

void cpu_fixup_stack_fault(struct cpu *c, const struct insn *i)
{
	if (c->exc.vector != VEC_GP || !c->exc.noncanonical)
		return;
	/* Which access faulted: the explicit operand if the address lies in it, else an implicit one. */
	gva_t ea = (i->flags & INSN_MEM) ? cpu_ea(c, i) : 0;
	bool explicit_access = (i->flags & INSN_MEM) && c->exc.addr - ea < 64;
	bool ss = explicit_access ? (i->flags & INSN_SS_MEM) : (i->flags & INSN_STACK);
	if (ss)
		cpu_raise(c, VEC_SS, true, 0);
}

/* Returns the block at RIP, building it if needed; NULL after a fetch fault. */
static struct block *fetch_block(struct cpu *c)
{
	gva_t rip = c->r[REG_RIP];
	u8 *code = tlb_lookup(&c->tlb, rip, ACC_EXEC);
	if (!code && !(code = mmu_translate(c, rip, ACC_EXEC)))
		return NULL;
	hpa_t hpa = (hpa_t)(code - c->mem->ram);
	struct jump_cache *jc = &c->jc[(hpa ^ (hpa >> 12)) & (JC_ENTRIES - 1)];
	struct block *b = jc->hpa == hpa && jc->b && jc->b->valid ? jc->b : dcache_lookup(c->dc, hpa);
	if (b && unlikely(b->last_page != (hpa & PAGE_MASK))) {
		/* A page-crossing instruction: its second page must still be executable and the same frame. */
		gva_t last = rip + b->last_gva_off;
		u8 *p = tlb_lookup(&c->tlb, last, ACC_EXEC);
		if (!p && !(p = mmu_translate(c, last, ACC_EXEC)))
			return NULL;
		if ((((hpa_t)(p - c->mem->ram)) & PAGE_MASK) != b->last_page)
			dcache_invalidate_page(c->dc, b->last_page), b = NULL;
	}
	if (!b) {
		if (!(b = dcache_build(c->dc, c, code, hpa)))
			return NULL;
		jump_cache_sync(c); // the build may have flushed the decode cache
	}
	jc->hpa = hpa;
	jc->b = b;
	return b;
}

/* Runs one block; returns the enum exec of the instruction that ended it. */
static int run_block(struct cpu *c, const struct block *b)
{
	const struct insn *i = b->insn;
	int r;
	while ((r = i->fn(c, i)) == EXEC_NEXT) {
		c->r[REG_RIP] += i->len;
		i++;
	}
	u64 retired = (u64)(i - b->insn) + (r == EXEC_JUMP || r == EXEC_STOP);
	c->icount += retired;
	if (unlikely(r == EXEC_FAULT))
		cpu_fixup_stack_fault(c, i);
	return r;
}

enum cpu_stop cpu_run(struct cpu *c, u64 budget)
{
	u64 end = c->icount + budget;
	jump_cache_sync(c); // another vCPU may have flushed the decode cache
	while (c->icount < end) {
		if (c->halted)
			return CPU_STOP_HLT;
		struct block *b = fetch_block(c);
		if (!b)
			return CPU_STOP_EXCEPTION;
		int r = run_block(c, b);
		if (unlikely(r == EXEC_FAULT))
			return CPU_STOP_EXCEPTION;
		if (unlikely(r == EXEC_STOP || c->stop_request)) {
			c->stop_request = false;
			return c->halted ? CPU_STOP_HLT : CPU_STOP_REQUEST;
		}
	}
	return CPU_STOP_BUDGET;
}

enum cpu_stop cpu_step(struct cpu *c)
{
	if (c->halted)
		return CPU_STOP_HLT;
	gva_t rip = c->r[REG_RIP];
	u8 *code = tlb_lookup(&c->tlb, rip, ACC_EXEC);
	if (!code && !(code = mmu_translate(c, rip, ACC_EXEC)))
		return CPU_STOP_EXCEPTION;
	struct insn i;
	hpa_t last;
	if (!dcache_fetch_insn(c->dc, c, code, &i, &last))
		return CPU_STOP_EXCEPTION;
	switch (i.fn(c, &i)) {
	case EXEC_NEXT: c->r[REG_RIP] += i.len; /* fall through */
	case EXEC_JUMP: c->icount++; break;
	case EXEC_STOP: c->icount++; c->stop_request = false; return c->halted ? CPU_STOP_HLT : CPU_STOP_REQUEST;
	case EXEC_FAULT: cpu_fixup_stack_fault(c, &i); return CPU_STOP_EXCEPTION;
	}
	if (c->stop_request) {
		c->stop_request = false;
		return CPU_STOP_REQUEST;
	}
	return CPU_STOP_BUDGET;
}
