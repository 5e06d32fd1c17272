/* SPDX-License-Identifier: MIT */
/*
 * Event delivery through the 64-bit IDT (see exception.h). One delivery
 * is four steps, each of which may raise a fault with nothing changed:
 * the gate (read_gate), its code segment (gate_target), the new stack
 * (new_stack) and the frame pushed on it (push_frame); then commit()
 * switches CS, CPL, SS, RSP, RIP and RFLAGS at once.
 *
 * IDT, GDT and TSS reads are implicit supervisor accesses (segment.h:
 * cpu_read_sys); the frame is written with the handler's privilege.
 * Workload: every interrupt, system call by INT, and user fault of a
 * guest kernel comes through here; it is not on the per-instruction path.
 */
#include "cpu/exception.h"

#include "cpu/access.h"
#include "cpu/flags.h"
#include "cpu/segment.h"

/* An IDT gate, decoded (SDM Vol. 3A figure 6-8). */
struct gate {
	u64 offset; // handler RIP
	u16 sel;    // handler code segment
	u8 ist;     // interrupt stack table slot, 0 for none
	bool trap;  // trap gate: IF stays as it is
};

/* Exception classes for the double-fault rules (SDM Vol. 3A table 6-4). */
enum exc_class { CLASS_BENIGN, CLASS_CONTRIBUTORY, CLASS_PAGE_FAULT, CLASS_DOUBLE_FAULT };

static enum exc_class class_of(u8 vec, enum event_kind kind)
{
	if (kind != EVENT_EXCEPTION)
		return CLASS_BENIGN;
	switch (vec) {
	case VEC_DE: case VEC_TS: case VEC_NP: case VEC_SS: case VEC_GP: return CLASS_CONTRIBUTORY;
	case VEC_PF: case VEC_VE: return CLASS_PAGE_FAULT;
	case VEC_DF: return CLASS_DOUBLE_FAULT;
	default: return CLASS_BENIGN;
	}
}

/*
 * True for fault-class exceptions, whose saved RFLAGS image has RF set
 * (SDM Vol. 3A 6.8.3, note on RF; #DB is delivered here only as INT1, a
 * trap). Facet never keeps RF set in RFLAGS: with no instruction
 * breakpoints it has no effect, and the processor clears it after the
 * next instruction anyway.
 */
static bool is_fault(u8 vec, enum event_kind kind)
{
	return kind == EVENT_EXCEPTION && vec != VEC_DB && vec != VEC_NMI && vec != VEC_BP && vec != VEC_OF;
}

/* Reads and checks the gate of vector vec (SDM Vol. 2A INT n, "IA-32e-MODE"). */
static int read_gate(struct cpu *c, u8 vec, enum event_kind kind, bool ext, struct gate *g)
{
	u32 idt_err = (u32)vec * 8 + ERR_IDT + (ext ? ERR_EXT : 0);
	u64 lo, hi;
	if ((u32)vec * 16 + 15 > c->idtr.limit)
		return cpu_raise(c, VEC_GP, true, idt_err);
	if (cpu_read_sys(c, c->idtr.base + (u64)vec * 16, 8, &lo) || cpu_read_sys(c, c->idtr.base + (u64)vec * 16 + 8, 8, &hi))
		return EXEC_FAULT;
	unsigned type = (lo >> 40) & 0x1f, dpl = (lo >> 45) & 3; // type with the S bit, which must be 0
	if (type != DESC_INT_GATE && type != DESC_TRAP_GATE)
		return cpu_raise(c, VEC_GP, true, idt_err);
	if (kind == EVENT_SOFTWARE && dpl < c->cpl)
		return cpu_raise(c, VEC_GP, true, (u32)vec * 8 + ERR_IDT);
	if (!(lo & (1ULL << 47)))
		return cpu_raise(c, VEC_NP, true, idt_err);
	g->offset = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ULL) | hi << 32;
	g->sel = (u16)(lo >> 16);
	g->ist = (lo >> 32) & 7;
	g->trap = type == DESC_TRAP_GATE;
	return 0;
}

/* Checks the gate's code segment; sets the handler's CPL (SDM Vol. 2A INT n, "PROTECTED-MODE"). */
static int gate_target(struct cpu *c, const struct gate *g, bool ext, struct desc *cs, u8 *new_cpl)
{
	if ((g->sel & ~SEL_RPL) == 0)
		return cpu_raise(c, VEC_GP, true, ext ? ERR_EXT : 0);
	if (seg_fetch(c, g->sel, ext, cs))
		return EXEC_FAULT;
	u32 a = desc_attr(cs);
	if (!desc_is_code(cs) || desc_dpl(cs) > c->cpl)
		return cpu_raise(c, VEC_GP, true, sel_error(g->sel, ext));
	if (!(a & AR_P))
		return cpu_raise(c, VEC_NP, true, sel_error(g->sel, ext));
	if (!(a & AR_L) || (a & AR_DB)) // handlers run in 64-bit mode
		return cpu_raise(c, VEC_GP, true, sel_error(g->sel, ext));
	*new_cpl = (a & AR_TYPE_CONF) ? c->cpl : (u8)desc_dpl(cs);
	return 0;
}

/*
 * Picks the handler's stack: IST slot n at TSS offset 28 + 8n when the
 * gate names one, RSPn at 4 + 8n on a privilege change, else the current
 * RSP; then aligns it to 16 bytes, as 64-bit mode always does (SDM Vol.
 * 3A 6.14.2). A TSS too short for the slot raises #TS(TR), a
 * non-canonical stack #SS(0).
 */
static int new_stack(struct cpu *c, const struct gate *g, u8 new_cpl, bool ext, u64 *rsp)
{
	const struct segment *tr = &c->seg[SREG_TR];
	u32 off = g->ist ? 28 + g->ist * 8u : 4 + new_cpl * 8u;
	if (!g->ist && new_cpl == c->cpl) {
		*rsp = c->r[RSP];
	} else {
		if (off + 7 > tr->limit || (tr->attr & AR_UNUSABLE))
			return cpu_raise(c, VEC_TS, true, sel_error(tr->sel, ext));
		if (cpu_read_sys(c, tr->base + off, 8, rsp))
			return EXEC_FAULT;
	}
	if (!mmu_is_canonical(*rsp))
		return cpu_raise(c, VEC_SS, true, ext ? ERR_EXT : 0);
	*rsp &= ~15ULL;
	return 0;
}

/*
 * Writes the frame below rsp with the handler's privilege: SS, RSP,
 * RFLAGS, CS, RIP and the error code, 8 bytes each (SDM Vol. 3A figure
 * 6-9). Every slot is probed first, in push order (so a #PF names the
 * slot the processor would have pushed first), and a fault writes
 * nothing.
 */
static int push_frame(struct cpu *c, u64 *rsp, u8 new_cpl, const u64 *frame, unsigned n, bool ext)
{
	u64 bottom = *rsp - n * 8;
	u8 cpl = c->cpl;
	int r = 0;
	if (!mmu_is_canonical(bottom))
		return cpu_raise(c, VEC_SS, true, ext ? ERR_EXT : 0);
	c->cpl = new_cpl;
	for (unsigned k = n; !r && k-- > 0;)
		r = cpu_probe(c, bottom + k * 8, 8, ACC_WRITE);
	for (unsigned k = 0; !r && k < n; k++)
		r = cpu_write(c, bottom + k * 8, 8, frame[n - 1 - k]);
	c->cpl = cpl;
	*rsp = bottom;
	return r;
}

/* Switches to the handler: nothing here can fault. */
static void commit(struct cpu *c, const struct gate *g, const struct desc *cs, u8 new_cpl, u64 rsp)
{
	if (new_cpl != c->cpl)
		seg_load_null(c, SREG_SS, new_cpl); // SS := NULL with RPL = new CPL (SDM 6.14.4)
	seg_load_cs(c, (u16)((g->sel & ~SEL_RPL) | new_cpl), desc_attr(cs) | AR_TYPE_A);
	c->r[RSP] = rsp;
	c->r[REG_RIP] = g->offset;
	c->rflags &= ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM | (g->trap ? 0 : RFLAGS_IF));
	c->shadow_at = ~0ULL;
}

int exception_deliver_once(struct cpu *c, u8 vec, enum event_kind kind, bool has_error, u32 error)
{
	bool ext = kind != EVENT_SOFTWARE;
	struct gate g = { 0 };
	struct desc cs = { 0 };
	u8 new_cpl = 0;
	u64 rsp = 0;
	if (read_gate(c, vec, kind, ext, &g) || gate_target(c, &g, ext, &cs, &new_cpl) ||
	    new_stack(c, &g, new_cpl, ext, &rsp))
		return EXEC_FAULT;
	if (!mmu_is_canonical(g.offset))
		return cpu_raise(c, VEC_GP, true, ext ? ERR_EXT : 0);
	u64 rflags = (flags_get(c) & ~RFLAGS_RF) | (is_fault(vec, kind) ? RFLAGS_RF : 0);
	u64 frame[6] = { c->seg[SREG_SS].sel, c->r[RSP], rflags, c->seg[SREG_CS].sel, c->r[REG_RIP], error };
	if (seg_mark_accessed(c, g.sel, &cs) || push_frame(c, &rsp, new_cpl, frame, has_error ? 6 : 5, ext))
		return EXEC_FAULT;
	commit(c, &g, &cs, new_cpl, rsp);
	return 0;
}

/* Records an event that cannot be delivered for lack of an IDT, keeping the details of a raised fault. */
static void record_undelivered(struct cpu *c, u8 vec, enum event_kind kind, bool has_error, u32 error)
{
	if (kind != EVENT_EXCEPTION || c->exc.vector != vec)
		c->exc = (struct exception){ 0 };
	c->exc.vector = vec, c->exc.has_error = has_error, c->exc.error = error;
}

int cpu_deliver(struct cpu *c, u8 vec, enum event_kind kind, bool has_error, u32 error)
{
	struct exception first = { .vector = vec, .has_error = has_error, .error = error };
	if (c->idtr.limit == 0) {
		record_undelivered(c, vec, kind, has_error, error);
		return CPU_STOP_EXCEPTION;
	}
	/* Each round either enters a handler or moves up a class: at most benign, contributory, #PF, #DF. */
	for (unsigned round = 0;; round++) {
		enum exc_class prev = class_of(vec, kind);
		if (exception_deliver_once(c, vec, kind, has_error, error) == 0)
			return 0;
		enum exc_class now = class_of(c->exc.vector, EVENT_EXCEPTION);
		if (prev == CLASS_DOUBLE_FAULT || round >= 4) {
			c->exc_first = first;
			c->shutdown = true;
			return CPU_STOP_TRIPLE_FAULT;
		}
		if ((prev == CLASS_CONTRIBUTORY && now == CLASS_CONTRIBUTORY) ||
		    (prev == CLASS_PAGE_FAULT && now != CLASS_BENIGN)) {
			vec = VEC_DF, has_error = true, error = 0;
		} else { // handled serially: the new fault replaces the event
			vec = c->exc.vector, has_error = c->exc.has_error, error = c->exc.error;
		}
		kind = EVENT_EXCEPTION;
	}
}
