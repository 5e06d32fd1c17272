/* SPDX-License-Identifier: MIT */
/*
 * The MSRs of msr.h, one table row each: its index, how it is read and
 * how a write is checked and stored. Values and reserved bits follow SDM
 * Vol. 4 (tables 2-2 and 2-3, "Architectural MSRs") and Vol. 3A:
 *
 *   TSC           time (cpu_time) + offset; a write moves the offset
 *   APIC_BASE     the APIC's (apic_base_read/apic_base_write)
 *   MISC_ENABLE   bit 0 fast strings is writable; the others (BTS and
 *                 PEBS unavailable, bits 11 and 12) are fixed: writing
 *                 them changed raises #GP
 *   PAT           eight memory types, each 0, 1, 4, 5, 6 or 7 (11.12.2);
 *                 stored only: Facet has no cache model
 *   EFER          SCE, LME, NXE writable; LMA read-only (a write keeps it);
 *                 LME may not change while CR0.PG = 1 (SDM 9.8.5)
 *   STAR          any value
 *   LSTAR CSTAR   canonical
 *   SFMASK        bits 31:0; 63:32 reserved
 *   FS_BASE GS_BASE KERNEL_GS_BASE  canonical
 *   TSC_AUX       bits 31:0; 63:32 reserved
 *   0x800-0x8FF   the x2APIC (apic_msr_read/apic_msr_write)
 */
#include "cpu/msr.h"

#include "cpu/apic.h"

#define PAT_DEFAULT 0x0007040600070406ULL // WB WT UC- UC, twice (SDM Vol. 3A table 11-12)
#define MISC_FAST_STRINGS (1ULL << 0)
#define MISC_DEFAULT (MISC_FAST_STRINGS | 1ULL << 11 | 1ULL << 12)
#define EFER_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)

void msr_reset(struct cpu *c)
{
	c->star = c->lstar = c->cstar = c->sfmask = c->tsc_aux = c->kernel_gs_base = 0;
	c->pat = PAT_DEFAULT;
	c->misc_enable = MISC_DEFAULT;
}

typedef u64 (*msr_rd)(struct cpu *c);
typedef int (*msr_wr)(struct cpu *c, u64 val);

static u64 rd_tsc(struct cpu *c) { return cpu_time(c) + c->tsc_offset; }
static u64 rd_apic_base(struct cpu *c) { return apic_base_read(c); }
static u64 rd_misc(struct cpu *c) { return c->misc_enable; }
static u64 rd_pat(struct cpu *c) { return c->pat; }
static u64 rd_efer(struct cpu *c) { return c->efer; }
static u64 rd_star(struct cpu *c) { return c->star; }
static u64 rd_lstar(struct cpu *c) { return c->lstar; }
static u64 rd_cstar(struct cpu *c) { return c->cstar; }
static u64 rd_sfmask(struct cpu *c) { return c->sfmask; }
static u64 rd_fs_base(struct cpu *c) { return c->seg_base[SEG_FS]; }
static u64 rd_gs_base(struct cpu *c) { return c->seg_base[SEG_GS]; }
static u64 rd_kgs_base(struct cpu *c) { return c->kernel_gs_base; }
static u64 rd_tsc_aux(struct cpu *c) { return c->tsc_aux; }

static int wr_tsc(struct cpu *c, u64 val)
{
	c->tsc_offset = val - cpu_time(c);
	return 0;
}

static int wr_apic_base(struct cpu *c, u64 val)
{
	return apic_base_write(c, val);
}

static int wr_misc(struct cpu *c, u64 val)
{
	if ((val ^ c->misc_enable) & ~MISC_FAST_STRINGS)
		return -1;
	c->misc_enable = val;
	return 0;
}

/* Memory types 2 and 3 are reserved, as is everything above 7. */
static int wr_pat(struct cpu *c, u64 val)
{
	for (unsigned k = 0; k < 8; k++) {
		unsigned t = (val >> (8 * k)) & 0xff;
		if (t > 7 || t == 2 || t == 3)
			return -1;
	}
	c->pat = val;
	return 0;
}

static int wr_efer(struct cpu *c, u64 val)
{
	u64 old = c->efer;
	if ((val & ~(EFER_WRITABLE | EFER_LMA)) || (((val ^ old) & EFER_LME) && (c->cr0 & CR0_PG)))
		return -1;
	c->efer = (val & EFER_WRITABLE) | (old & EFER_LMA);
	mmu_efer_written(c, old);
	return 0;
}

static int wr_star(struct cpu *c, u64 val)
{
	c->star = val;
	return 0;
}

/* Stores a linear address that must be canonical. */
static int canonical_to(u64 *dst, u64 val)
{
	if (!mmu_is_canonical(val))
		return -1;
	*dst = val;
	return 0;
}

static int wr_lstar(struct cpu *c, u64 val) { return canonical_to(&c->lstar, val); }
static int wr_cstar(struct cpu *c, u64 val) { return canonical_to(&c->cstar, val); }
static int wr_fs_base(struct cpu *c, u64 val) { return canonical_to(&c->seg_base[SEG_FS], val); }
static int wr_gs_base(struct cpu *c, u64 val) { return canonical_to(&c->seg_base[SEG_GS], val); }
static int wr_kgs_base(struct cpu *c, u64 val) { return canonical_to(&c->kernel_gs_base, val); }

/* Stores a value whose bits 63:32 are reserved. */
static int low32_to(u64 *dst, u64 val)
{
	if (val >> 32)
		return -1;
	*dst = val;
	return 0;
}

static int wr_sfmask(struct cpu *c, u64 val) { return low32_to(&c->sfmask, val); }
static int wr_tsc_aux(struct cpu *c, u64 val) { return low32_to(&c->tsc_aux, val); }

static const struct msr_row {
	u32 msr;
	msr_rd rd;
	msr_wr wr;
} msr_table[] = {
	{ MSR_TSC, rd_tsc, wr_tsc },
	{ MSR_APIC_BASE, rd_apic_base, wr_apic_base },
	{ MSR_MISC_ENABLE, rd_misc, wr_misc },
	{ MSR_PAT, rd_pat, wr_pat },
	{ MSR_EFER, rd_efer, wr_efer },
	{ MSR_STAR, rd_star, wr_star },
	{ MSR_LSTAR, rd_lstar, wr_lstar },
	{ MSR_CSTAR, rd_cstar, wr_cstar },
	{ MSR_SFMASK, rd_sfmask, wr_sfmask },
	{ MSR_FS_BASE, rd_fs_base, wr_fs_base },
	{ MSR_GS_BASE, rd_gs_base, wr_gs_base },
	{ MSR_KERNEL_GS_BASE, rd_kgs_base, wr_kgs_base },
	{ MSR_TSC_AUX, rd_tsc_aux, wr_tsc_aux },
};

static const struct msr_row *find(u32 msr)
{
	for (unsigned k = 0; k < ARRAY_SIZE(msr_table); k++)
		if (msr_table[k].msr == msr)
			return &msr_table[k];
	return NULL;
}

static bool is_x2apic(u32 msr)
{
	return msr >= APIC_MSR_FIRST && msr <= APIC_MSR_LAST;
}

int msr_read(struct cpu *c, u32 msr, u64 *val)
{
	if (is_x2apic(msr))
		return apic_msr_read(c, msr, val);
	const struct msr_row *row = find(msr);
	if (!row)
		return -1;
	*val = row->rd(c);
	return 0;
}

int msr_write(struct cpu *c, u32 msr, u64 val)
{
	if (is_x2apic(msr)) {
		if (apic_msr_write(c, msr, val))
			return -1;
		cpu_kick(c);
		return 0;
	}
	const struct msr_row *row = find(msr);
	return row ? row->wr(c, val) : -1;
}
