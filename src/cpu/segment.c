/* SPDX-License-Identifier: MIT */
/*
 * Segment descriptors and the segment registers' descriptor caches (see
 * segment.h). In 64-bit mode segmentation keeps only its protection
 * role: bases are 0 except FS and GS, limits are not checked, but every
 * selector load still makes the SDM's checks, because kernels rely on
 * them (a bad selector in an IRET frame must fault, not run).
 */
#include "cpu/segment.h"

#include "cpu/access.h"

/* Entry-state selectors (abi/bootinfo.h leaves the GDT to the guest; these only fill the caches). */
#define BOOT_CS 0x08
#define BOOT_DS 0x10
#define AR_CODE64 (0xbu | AR_S | AR_P | AR_L | AR_G) // execute/read, accessed, 64-bit
#define AR_DATA (0x3u | AR_S | AR_P | AR_DB | AR_G)  // read/write, accessed

/* Finds sel's descriptor table; false when sel points into an unusable LDT. */
static bool table_of(const struct cpu *c, u16 sel, u64 *base, u32 *limit)
{
	if (sel & SEL_TI) {
		const struct segment *ldt = &c->seg[SREG_LDTR];
		*base = ldt->base, *limit = ldt->limit;
		return !(ldt->attr & AR_UNUSABLE);
	}
	*base = c->gdtr.base, *limit = c->gdtr.limit;
	return true;
}

int seg_fetch(struct cpu *c, u16 sel, bool ext, struct desc *d)
{
	u64 base;
	u32 limit, off = sel & ~7u;
	if (!table_of(c, sel, &base, &limit) || off + 7 > limit)
		return cpu_raise(c, VEC_GP, true, sel_error(sel, ext));
	d->hi = 0;
	return cpu_read_sys(c, base + off, 8, &d->lo);
}

int seg_fetch_system(struct cpu *c, u16 sel, bool ext, struct desc *d)
{
	u32 off = sel & ~7u;
	if ((sel & SEL_TI) || off + 15 > c->gdtr.limit)
		return cpu_raise(c, VEC_GP, true, sel_error(sel, ext));
	if (cpu_read_sys(c, c->gdtr.base + off, 8, &d->lo) || cpu_read_sys(c, c->gdtr.base + off + 8, 8, &d->hi))
		return EXEC_FAULT;
	return 0;
}

/* Writes the type byte (bits 47:40) of sel's descriptor back to its table. */
static int write_type_byte(struct cpu *c, u16 sel, const struct desc *d)
{
	u64 base;
	u32 limit;
	table_of(c, sel, &base, &limit);
	return cpu_write_sys(c, base + (sel & ~7u) + 5, 1, (d->lo >> 40) & 0xff);
}

int seg_mark_accessed(struct cpu *c, u16 sel, struct desc *d)
{
	if (d->lo & (1ULL << 40))
		return 0;
	d->lo |= 1ULL << 40;
	return write_type_byte(c, sel, d);
}

void seg_load(struct cpu *c, enum sreg s, u16 sel, const struct desc *d)
{
	struct segment *g = &c->seg[s];
	g->sel = sel;
	g->attr = desc_attr(d);
	g->limit = desc_limit(d);
	g->base = desc_base(d);
	if (s == SREG_FS || s == SREG_GS) {
		c->seg_base[s == SREG_FS ? SEG_FS : SEG_GS] = (u32)g->base; // SDM Vol. 3A 3.4.4: a load sets base 31:0
		g->base = 0;
	}
}

/*
 * A null selector leaves the register unusable. FS and GS lose their
 * bases as on Intel processors (on AMD the base survives: Linux's
 * X86_BUG_NULL_SEG); the other bases are 0 in 64-bit mode anyway.
 */
void seg_load_null(struct cpu *c, enum sreg s, u16 sel)
{
	c->seg[s] = (struct segment){ .sel = sel, .attr = AR_UNUSABLE | (sel & SEL_RPL) << AR_DPL_SHIFT };
	if (s == SREG_FS || s == SREG_GS)
		c->seg_base[s == SREG_FS ? SEG_FS : SEG_GS] = 0;
}

void seg_load_cs(struct cpu *c, u16 sel, u32 attr)
{
	c->seg[SREG_CS] = (struct segment){ .sel = sel, .attr = attr, .limit = 0xffffffffu };
	c->cpl = sel & SEL_RPL;
}

static inline bool is_null(u16 sel)
{
	return (sel & ~SEL_RPL) == 0;
}

static inline int gp_sel(struct cpu *c, u16 sel)
{
	return cpu_raise(c, VEC_GP, true, sel_error(sel, false));
}

int seg_load_data(struct cpu *c, enum sreg s, u16 sel)
{
	struct desc d;
	if (is_null(sel)) {
		seg_load_null(c, s, sel);
		return 0;
	}
	if (seg_fetch(c, sel, false, &d))
		return EXEC_FAULT;
	u32 a = desc_attr(&d);
	unsigned dpl = desc_dpl(&d);
	bool code = a & AR_TYPE_CODE;
	if (!(a & AR_S) || (code && !(a & AR_TYPE_RW)))
		return gp_sel(c, sel);
	if ((!code || !(a & AR_TYPE_CONF)) && ((sel & SEL_RPL) > dpl || c->cpl > dpl))
		return gp_sel(c, sel);
	if (!(a & AR_P))
		return cpu_raise(c, VEC_NP, true, sel_error(sel, false));
	if (seg_mark_accessed(c, sel, &d))
		return EXEC_FAULT;
	seg_load(c, s, sel, &d);
	return 0;
}

/* True for a present-or-not writable data segment descriptor. */
static bool is_writable_data(u32 a)
{
	return (a & (AR_S | AR_TYPE_CODE | AR_TYPE_RW)) == (AR_S | AR_TYPE_RW);
}

int seg_load_ss(struct cpu *c, u16 sel)
{
	struct desc d;
	if (is_null(sel)) {
		if (c->cpl == 3 || (sel & SEL_RPL) != c->cpl)
			return cpu_raise(c, VEC_GP, true, 0);
		seg_load_null(c, SREG_SS, sel);
		return 0;
	}
	if (seg_fetch(c, sel, false, &d))
		return EXEC_FAULT;
	if ((sel & SEL_RPL) != c->cpl || !is_writable_data(desc_attr(&d)) || desc_dpl(&d) != c->cpl)
		return gp_sel(c, sel);
	if (!(desc_attr(&d) & AR_P))
		return cpu_raise(c, VEC_SS, true, sel_error(sel, false));
	if (seg_mark_accessed(c, sel, &d))
		return EXEC_FAULT;
	seg_load(c, SREG_SS, sel, &d);
	return 0;
}

int seg_check_return_cs(struct cpu *c, u16 sel, struct desc *d)
{
	if (is_null(sel))
		return cpu_raise(c, VEC_GP, true, 0);
	if (seg_fetch(c, sel, false, d))
		return EXEC_FAULT;
	u32 a = desc_attr(d);
	unsigned rpl = sel & SEL_RPL, dpl = desc_dpl(d);
	if (!desc_is_code(d) || rpl < c->cpl)
		return gp_sel(c, sel);
	if ((a & AR_TYPE_CONF) ? dpl > rpl : dpl != rpl)
		return gp_sel(c, sel);
	if (!(a & AR_L) || (a & AR_DB)) // compatibility mode is not modeled; L = D = 1 is reserved
		return gp_sel(c, sel);
	if (!(a & AR_P))
		return cpu_raise(c, VEC_NP, true, sel_error(sel, false));
	return 0;
}

int seg_check_return_ss(struct cpu *c, u16 sel, unsigned rpl, struct desc *d)
{
	if (is_null(sel)) {
		*d = (struct desc){ 0 };
		return rpl == 3 ? cpu_raise(c, VEC_GP, true, 0) : 0;
	}
	if (seg_fetch(c, sel, false, d))
		return EXEC_FAULT;
	if ((sel & SEL_RPL) != rpl || !is_writable_data(desc_attr(d)) || desc_dpl(d) != rpl)
		return gp_sel(c, sel);
	if (!(desc_attr(d) & AR_P))
		return cpu_raise(c, VEC_SS, true, sel_error(sel, false));
	return 0;
}

void seg_null_outer(struct cpu *c)
{
	static const enum sreg regs[] = { SREG_ES, SREG_DS, SREG_FS, SREG_GS };
	for (unsigned k = 0; k < ARRAY_SIZE(regs); k++) {
		const struct segment *g = &c->seg[regs[k]];
		bool conforming_code = (g->attr & (AR_TYPE_CODE | AR_TYPE_CONF)) == (AR_TYPE_CODE | AR_TYPE_CONF);
		unsigned dpl = (g->attr >> AR_DPL_SHIFT) & 3;
		if (!(g->attr & AR_UNUSABLE) && !conforming_code && c->cpl > dpl)
			seg_load_null(c, regs[k], 0);
	}
}

/* Checks a 16-byte system descriptor of the given type for LTR and LLDT; fills *d. */
static int fetch_system_of_type(struct cpu *c, u16 sel, unsigned type, struct desc *d)
{
	if (sel & SEL_TI)
		return gp_sel(c, sel);
	if (seg_fetch_system(c, sel, false, d))
		return EXEC_FAULT;
	u32 a = desc_attr(d);
	if ((a & (AR_S | AR_TYPE)) != type || ((d->hi >> 40) & 0x1f) != 0 || !mmu_is_canonical(desc_base(d)))
		return gp_sel(c, sel);
	if (!(a & AR_P))
		return cpu_raise(c, VEC_NP, true, sel_error(sel, false));
	return 0;
}

int seg_load_tr(struct cpu *c, u16 sel)
{
	struct desc d;
	if (is_null(sel))
		return cpu_raise(c, VEC_GP, true, 0);
	if (fetch_system_of_type(c, sel, DESC_TSS_AVAIL, &d))
		return EXEC_FAULT;
	d.lo |= (u64)(DESC_TSS_BUSY ^ DESC_TSS_AVAIL) << 40;
	if (write_type_byte(c, sel, &d))
		return EXEC_FAULT;
	seg_load(c, SREG_TR, sel, &d);
	return 0;
}

int seg_load_ldtr(struct cpu *c, u16 sel)
{
	struct desc d;
	if (is_null(sel)) {
		seg_load_null(c, SREG_LDTR, sel);
		return 0;
	}
	if (fetch_system_of_type(c, sel, DESC_LDT, &d))
		return EXEC_FAULT;
	seg_load(c, SREG_LDTR, sel, &d);
	return 0;
}

void seg_reset(struct cpu *c)
{
	static const struct segment data = { .sel = BOOT_DS, .attr = AR_DATA, .limit = 0xffffffffu };
	seg_load_cs(c, BOOT_CS, AR_CODE64);
	c->seg[SREG_SS] = c->seg[SREG_DS] = c->seg[SREG_ES] = data;
	seg_load_null(c, SREG_FS, 0);
	seg_load_null(c, SREG_GS, 0);
	seg_load_null(c, SREG_LDTR, 0);
	/* No TSS: a busy 64-bit TSS of limit 0, so a stack switch raises #TS. */
	c->seg[SREG_TR] = (struct segment){ .attr = DESC_TSS_BUSY | AR_P };
	c->gdtr = c->idtr = (struct dtr){ 0 };
}
