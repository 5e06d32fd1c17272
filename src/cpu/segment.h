/* SPDX-License-Identifier: MIT */
/*
 * Segment descriptors in 64-bit mode (SDM Vol. 3A 3.4-3.5, 5.2-5.8): the
 * GDT/LDT lookup behind a selector, the checks that MOV Sreg, far
 * transfers, IRETQ, LTR and interrupt delivery make on what they load,
 * and the descriptor caches of struct cpu.
 *
 * Every check raises the fault the SDM gives (#GP, #NP, #SS or #TS with
 * the selector error code of 6.13) and changes nothing; only the
 * seg_load* functions commit state. Descriptor-table reads and the
 * accessed/busy bit writes are implicit supervisor accesses (SDM Vol. 3A
 * 4.6, access.h: cpu_read_sys), whatever the CPL.
 *
 * Model limits: compatibility mode is not modeled, so a code segment
 * with L = 0 is refused where the SDM would enter compatibility mode
 * (#GP(selector)); call gates are not modeled either (a far JMP or CALL
 * to one raises #GP(selector)); task gates and task switches do not
 * exist in IA-32e mode.
 */
#ifndef FACET_SEGMENT_H
#define FACET_SEGMENT_H

#include "cpu/cpu.h"

/* Selector fields (SDM Vol. 3A 3.4.2). */
#define SEL_RPL 3u
#define SEL_TI 4u // the selector indexes the LDT

/* System descriptor types in IA-32e mode (SDM Vol. 3A table 3-2). */
#define DESC_LDT 0x2u
#define DESC_TSS_AVAIL 0x9u
#define DESC_TSS_BUSY 0xbu
#define DESC_CALL_GATE 0xcu
#define DESC_INT_GATE 0xeu
#define DESC_TRAP_GATE 0xfu

/* Error-code bits (SDM Vol. 3A 6.13). */
#define ERR_EXT 1u // the event was external to the program (an interrupt or an earlier exception)
#define ERR_IDT 2u // the index refers to the IDT

/* A descriptor as it sits in its table; hi is the upper half of a 16-byte system descriptor. */
struct desc {
	u64 lo, hi;
};

/* Returns a descriptor's access rights (AR_* of cpu.h). */
static inline u32 desc_attr(const struct desc *d)
{
	return (u32)(d->lo >> 40) & 0xf0ffu;
}

static inline unsigned desc_dpl(const struct desc *d)
{
	return (d->lo >> 45) & 3;
}

/* Returns the base: bits 31:0 from the low half, 63:32 from the high half (zero for code and data). */
static inline u64 desc_base(const struct desc *d)
{
	return ((d->lo >> 16) & 0xffffffULL) | ((d->lo >> 32) & 0xff000000ULL) | (d->hi << 32);
}

/* Returns the byte limit, scaled by 4 KiB when G is set. */
static inline u32 desc_limit(const struct desc *d)
{
	u32 l = (u32)(d->lo & 0xffff) | (u32)((d->lo >> 32) & 0xf0000);
	return (d->lo & (1ULL << 55)) ? l << 12 | 0xfff : l;
}

/* True for a code segment descriptor (S = 1, type bit 3). */
static inline bool desc_is_code(const struct desc *d)
{
	return (desc_attr(d) & (AR_S | AR_TYPE_CODE)) == (AR_S | AR_TYPE_CODE);
}

/* The selector error code of SDM 6.13: index and TI of sel, with EXT. */
static inline u32 sel_error(u16 sel, bool ext)
{
	return (sel & ~SEL_RPL) | (ext ? ERR_EXT : 0);
}

/*
 * Reads the 8-byte descriptor of non-null selector sel from the GDT or
 * the LDT. Raises #GP(sel, ext) when it lies outside the table (or the
 * LDT is unusable); a page fault on the table is raised as such.
 */
int seg_fetch(struct cpu *c, u16 sel, bool ext, struct desc *d);

/* Reads a 16-byte system descriptor (LDT, TSS, gate) from the GDT: the same faults as seg_fetch. */
int seg_fetch_system(struct cpu *c, u16 sel, bool ext, struct desc *d);

/* Sets the accessed bit of sel's descriptor in memory if it is clear (SDM 3.4.5.1); 0 or EXEC_FAULT. */
int seg_mark_accessed(struct cpu *c, u16 sel, struct desc *d);

/* Loads segment register s with sel and the descriptor d (FS and GS: the 32-bit base too). */
void seg_load(struct cpu *c, enum sreg s, u16 sel, const struct desc *d);

/* Loads segment register s with a null selector: unusable, DPL = RPL of sel (SS keeps that as the CPL). */
void seg_load_null(struct cpu *c, enum sreg s, u16 sel);

/*
 * Loads CS with sel and access rights attr, and makes the CPL sel's RPL.
 * This is the one place the CPL changes: the TLB tags its entries by
 * privilege (mmu.h), so nothing is flushed.
 */
void seg_load_cs(struct cpu *c, u16 sel, u32 attr);

/*
 * MOV to DS, ES, FS or GS (SDM Vol. 2B MOV, Operation): a null selector
 * loads an unusable segment; otherwise the descriptor must be data or
 * readable code, with RPL and CPL at most its DPL unless it is conforming
 * code, and present. Raises #GP(sel) or #NP(sel); loads nothing then.
 */
int seg_load_data(struct cpu *c, enum sreg s, u16 sel);

/*
 * MOV to SS: a writable data segment with RPL = DPL = CPL, present
 * (#SS(sel) if not). A null selector is allowed at CPL < 3 when its RPL
 * is the CPL (64-bit mode), else #GP(0).
 */
int seg_load_ss(struct cpu *c, u16 sel);

/*
 * Checks a far return's (RET far, IRETQ) new CS selector against the SDM
 * (Vol. 2B RET and IRET, "RETURN-TO-SAME/OUTER-PRIVILEGE-LEVEL"): not
 * null, in the table, code, RPL >= CPL, DPL == RPL (or <= RPL when
 * conforming), present, 64-bit code. Fills *d.
 */
int seg_check_return_cs(struct cpu *c, u16 sel, struct desc *d);

/*
 * Checks the SS selector popped by a return to privilege level rpl (IRETQ
 * always, far RET to an outer level): null allowed when rpl < 3 (64-bit
 * mode), else RPL = DPL = rpl, writable data, present. Fills *d (zeroed
 * for null).
 */
int seg_check_return_ss(struct cpu *c, u16 sel, unsigned rpl, struct desc *d);

/*
 * After a return to an outer privilege level: DS, ES, FS and GS that hold
 * data or non-conforming code segments more privileged than the new CPL
 * are made null (SDM Vol. 2B IRET and RET, Operation), as seg_load_null
 * does it.
 */
void seg_null_outer(struct cpu *c);

/*
 * LTR: a non-null GDT selector of an available 64-bit TSS, present, with
 * a canonical base; marks it busy in the GDT. LLDT: an LDT descriptor or
 * null. Both are CPL 0 only (checked by the caller).
 */
int seg_load_tr(struct cpu *c, u16 sel);
int seg_load_ldtr(struct cpu *c, u16 sel);

/* Resets the segment state to the 64-bit entry state of abi/bootinfo.h (no GDT). */
void seg_reset(struct cpu *c);

#endif
