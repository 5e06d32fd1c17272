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
#include "cpu/exception.h"
#include "cpu/flags.h"
#include "cpu/msr.h"
#include "cpu/segment.h"
#include "mem/mem.h"
#include "mmu/tlb.h"

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
	seg_reset(c);
	msr_reset(c);
	c->dr[6] = 0xffff0ff0; // DR6 and DR7 power-up values (SDM Vol. 3A table 9-1)
	c->dr[7] = 0x400;
	c->shadow_at = ~0ULL;
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
	u8 *code = tlb_lookup(c, rip, ACC_EXEC);
	if (!code && !(code = mmu_translate(c, rip, ACC_EXEC)))
		return NULL;
	hpa_t hpa = (hpa_t)(code - c->mem->ram);
	struct jump_cache *jc = &c->jc[(hpa ^ (hpa >> 12)) & (JC_ENTRIES - 1)];
	struct block *b = jc->hpa == hpa && jc->b && jc->b->valid ? jc->b : dcache_lookup(c->dc, hpa);
	if (b && unlikely(b->last_page != (hpa & PAGE_MASK))) {
		/* A page-crossing instruction: its second page must still be executable and the same frame. */
		gva_t last = rip + b->last_gva_off;
		u8 *p = tlb_lookup(c, last, ACC_EXEC);
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

/*
 * Events (DESIGN section 8: "folded into one counter checked at block
 * boundaries"). The run loop compares icount with event_at once per
 * block; event_at is the earliest of the budget's end, the next APIC
 * timer expiry, the end of an interrupt shadow, and 0 after cpu_kick().
 * service_events() then does the slow work: stop requests, the timer,
 * accepting an interrupt, halts and the budget. It returns RUN_ON to go
 * on, or the enum cpu_stop to return.
 */
#define RUN_ON (-1)

/*
 * Accepts the APIC's highest pending interrupt when RFLAGS.IF = 1 and no
 * shadow holds interrupts off: the instruction after STI or MOV SS runs
 * first (SDM Vol. 3A 6.8.3). Accepting one ends a halt.
 */
static int take_interrupt(struct cpu *c)
{
	if (!(c->rflags & RFLAGS_IF) || c->icount == c->shadow_at)
		return RUN_ON;
	int vec = apic_pending_vector(c);
	if (vec < 0)
		return RUN_ON;
	apic_ack(c, vec);
	c->halted = false;
	int s = cpu_deliver(c, (u8)vec, EVENT_EXTERNAL, false, 0);
	return s ? s : RUN_ON;
}

static int service_events(struct cpu *c)
{
	if (c->stop_request) {
		c->stop_request = false;
		return CPU_STOP_REQUEST;
	}
	u64 timer = apic_update(c);
	int s = take_interrupt(c);
	if (s != RUN_ON)
		return s;
	if (c->halted)
		return CPU_STOP_HLT;
	if (c->icount >= c->run_end)
		return CPU_STOP_BUDGET;
	u64 next = c->run_end;
	if (timer < next - c->icount)
		next = c->icount + timer;
	if (c->icount == c->shadow_at)
		next = c->icount + 1; // look again once the shadowed instruction retired
	c->event_at = next;
	return RUN_ON;
}

/*
 * Accounts for a delivered fault, which retires nothing: it takes one
 * instruction's worth of time (idle, and stalls for the machine's limit)
 * and of this run's budget. Without this, a handler that faults again at
 * once (its page not present or NX, on an IST stack that never
 * overflows) would deliver forever inside cpu_run, a hung vCPU on
 * hardware but a hung host here, with guest time standing still.
 */
static void fault_takes_time(struct cpu *c)
{
	c->idle++;
	c->stalls++;
	c->run_end--; // it was above icount when the block started, so it does not wrap
	if (c->event_at > c->run_end)
		c->event_at = c->run_end;
}

/*
 * Handles a block that ended in a fault or a stop. A fault is delivered
 * through the IDT (cpu_deliver); HLT leaves the decision to
 * service_events (an interrupt may already be pending); any other stop
 * is a device's request.
 */
static int block_ended(struct cpu *c, int r)
{
	if (r == EXEC_FAULT) {
		int s = cpu_deliver(c, c->exc.vector, EVENT_EXCEPTION, c->exc.has_error, c->exc.error);
		if (s)
			return s;
		fault_takes_time(c);
		return RUN_ON;
	}
	if (c->halted) {
		cpu_kick(c);
		return RUN_ON;
	}
	c->stop_request = false;
	return CPU_STOP_REQUEST;
}

enum cpu_stop cpu_run(struct cpu *c, u64 budget)
{
	if (unlikely(c->shutdown))
		return CPU_STOP_TRIPLE_FAULT;
	c->run_end = c->icount + budget;
	cpu_kick(c); // other vCPUs may have sent interrupts, the machine may have ended a halt
	jump_cache_sync(c); // another vCPU may have flushed the decode cache
	for (;;) {
		int s;
		if (unlikely(c->icount >= c->event_at) && (s = service_events(c)) != RUN_ON)
			return (enum cpu_stop)s;
		struct block *b = fetch_block(c);
		int r = b ? run_block(c, b) : EXEC_FAULT;
		if (unlikely(r == EXEC_FAULT || r == EXEC_STOP) && (s = block_ended(c, r)) != RUN_ON)
			return (enum cpu_stop)s;
	}
}

/* Runs the one instruction at RIP without the decode cache; returns its enum exec. */
static int step_one(struct cpu *c)
{
	gva_t rip = c->r[REG_RIP];
	u8 *code = tlb_lookup(c, rip, ACC_EXEC);
	if (!code && !(code = mmu_translate(c, rip, ACC_EXEC)))
		return EXEC_FAULT;
	struct insn i;
	hpa_t last;
	if (!dcache_fetch_insn(c->dc, c, code, &i, &last))
		return EXEC_FAULT;
	int r = i.fn(c, &i);
	switch (r) {
	case EXEC_NEXT: c->r[REG_RIP] += i.len; /* fall through */
	case EXEC_JUMP:
	case EXEC_STOP: c->icount++; break;
	case EXEC_FAULT: cpu_fixup_stack_fault(c, &i); break;
	}
	return r;
}

/*
 * One instruction with the event handling of cpu_run around it: an
 * interrupt pending at this boundary is taken first (and the step then
 * runs the handler's first instruction), a fault is delivered, a HLT with
 * an interrupt already pending wakes at once.
 */
enum cpu_stop cpu_step(struct cpu *c)
{
	int s;
	if (unlikely(c->shutdown))
		return CPU_STOP_TRIPLE_FAULT;
	c->run_end = c->icount + 1;
	if ((s = service_events(c)) != RUN_ON)
		return (enum cpu_stop)s;
	int r = step_one(c);
	if ((r == EXEC_FAULT || r == EXEC_STOP) && (s = block_ended(c, r)) != RUN_ON)
		return (enum cpu_stop)s;
	if (c->halted && (s = service_events(c)) != RUN_ON)
		return (enum cpu_stop)s;
	if (c->stop_request) {
		c->stop_request = false;
		return CPU_STOP_REQUEST;
	}
	return CPU_STOP_BUDGET;
}
