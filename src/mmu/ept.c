/* SPDX-License-Identifier: MIT */
/*
 * The EPT walk (SDM Vol. 3C 28.3): one guest-physical address through
 * the four levels, the checks of 28.3.3 in the order the walk meets
 * them, and the exit information a violation produces (27.2.1 table
 * 27-7, 25.5.7.2).
 *
 * At each level the entry is first tested for presence (a not-present
 * entry ends the walk in a violation: nothing below it is read), then for
 * misconfigurations, then its permissions join the AND. Only a walk that
 * reaches a leaf without misconfiguration has its access checked
 * (28.3.3.2: a violation needs a translation without misconfiguration).
 *
 * Accessed and dirty flags (28.3.5) are set only when the access goes
 * ahead, as paging.c does for guest tables: a refused access leaves the
 * tables as they were, which the SDM allows and which keeps a failed walk
 * free of side effects.
 */
#include <string.h>

#include "mmu/ept.h"

#define ADDR_RSVD (((1ULL << 52) - 1) & ~((1ULL << MAXPHYADDR) - 1)) // bits 51:N
#define LOW_RSVD_TABLE 0x78ULL  // bits 6:3 of an entry that references a table
#define OFF_RSVD_1G 0x3ffff000ULL // bits 29:12 of a 1 GiB leaf
#define OFF_RSVD_2M 0x1ff000ULL // bits 20:12 of a 2 MiB leaf

static u64 read_entry(struct mem *m, hpa_t pa)
{
	u64 v;
	if (pa + 8 > m->size)
		return ~0ULL;
	memcpy(&v, m->ram + pa, 8);
	return v;
}

bool ept_eptp_valid(u64 eptp)
{
	u64 mt = eptp & EPTP_MT_MASK;
	if (mt != EPTP_MT_UC && mt != EPTP_MT_WB)
		return false;
	if ((eptp & EPTP_PWL_MASK) != EPTP_PWL4)
		return false;
	// Bit 7 (supervisor shadow stacks) and bits 11:8 are reserved here, as are bits 63:N.
	return (eptp & (0xf80ULL | ~((1ULL << MAXPHYADDR) - 1))) == 0;
}

static bool present(u64 e, bool mbec)
{
	return (e & (EPT_R | EPT_W | EPT_X)) || (mbec && (e & EPT_XU));
}

/* True when a present entry at `level` maps a page rather than referencing a table. */
static bool is_leaf(u64 e, unsigned level)
{
	return level == 1 || ((level == 2 || level == 3) && (e & EPT_PS));
}

/* Returns the misconfiguration of present entry e at level, or EPT_NONE (28.3.3.1). */
static enum ept_reason misconfig(u64 e, unsigned level)
{
	// Execute-only translations are supported (EPT_CAP_EXEC_ONLY), so only W without R is refused.
	if ((e & (EPT_R | EPT_W)) == EPT_W)
		return EPT_MC_WRITE_NO_READ;
	if (e & ADDR_RSVD)
		return EPT_MC_ADDR;
	if (level == 4 && (e & EPT_PS))
		return EPT_MC_PML4_PS;
	if (!is_leaf(e, level))
		return (e & LOW_RSVD_TABLE) ? EPT_MC_RSVD : EPT_NONE;
	if ((level == 3 && (e & OFF_RSVD_1G)) || (level == 2 && (e & OFF_RSVD_2M)))
		return EPT_MC_RSVD;
	unsigned mt = (unsigned)((e & EPT_MT_MASK) >> EPT_MT_SHIFT);
	if (mt == 2 || mt == 3 || mt == 7)
		return EPT_MC_MEMTYPE;
	return EPT_NONE;
}

/* Returns the EPT_PERM_* bits an entry grants (bit 10 always copied; MBEC decides its use). */
static unsigned entry_perm(u64 e)
{
	return (unsigned)(e & 7) | ((e & EPT_XU) ? EPT_PERM_XU : 0);
}

/* Returns EPT_NONE if the effective permissions allow access a, else the denial reason. */
static enum ept_reason check_access(const struct ept_walk *w, const struct ept_access *a, bool mbec)
{
	if (a->type == ACC_EXEC) {
		unsigned need = (mbec && a->user) ? EPT_PERM_XU : EPT_PERM_X;
		return (w->perm & need) ? EPT_NONE : EPT_DENIED_FETCH;
	}
	if (w->as_write)
		return (w->perm & EPT_PERM_W) ? EPT_NONE : EPT_DENIED_WRITE;
	return (w->perm & EPT_PERM_R) ? EPT_NONE : EPT_DENIED_READ;
}

/* Sets A in the entries at pa[level] for levels 4..leaf, and D in the leaf when `dirty`. */
static u64 set_ad(struct mem *m, const hpa_t pa[5], unsigned leaf, bool dirty)
{
	u64 e = 0;
	for (unsigned level = 4; level >= leaf; level--) {
		e = read_entry(m, pa[level]);
		u64 v = e | EPT_A | (level == leaf && dirty ? EPT_D : 0);
		if (v != e)
			memcpy(m->ram + pa[level], &v, 8); // in RAM: an entry beyond RAM misconfigures
		e = v;
	}
	return e;
}

/* Ends a walk at the entry e (at pa, level) with status s and reason r. */
static enum ept_status stop(struct ept_walk *w, u64 e, hpa_t pa, unsigned level, enum ept_status s,
			    enum ept_reason r)
{
	w->entry = e;
	w->entry_pa = pa;
	w->level = level;
	w->status = s;
	w->reason = r;
	return s;
}

enum ept_status ept_walk(struct mem *m, u64 eptp, bool mbec, gpa_t gpa, const struct ept_access *a,
			 struct ept_walk *w)
{
	hpa_t table = eptp & EPTP_ADDR, pa[5] = { 0 };
	memset(w, 0, sizeof(*w));
	w->gpa = gpa;
	w->perm = EPT_PERM_R | EPT_PERM_W | EPT_PERM_X | EPT_PERM_XU;
	w->ad = (eptp & EPTP_AD) != 0;
	w->as_write = a->type == ACC_WRITE || (a->paging && w->ad);
	for (unsigned level = 4; level >= 1; level--) {
		pa[level] = table + ((gpa >> (12 + 9 * (level - 1))) & 511) * 8;
		u64 e = read_entry(m, pa[level]);
		if (!present(e, mbec)) {
			w->perm = 0;
			w->suppress_ve = (e & EPT_SVE) != 0;
			return stop(w, e, pa[level], level, EPT_VIOLATION, EPT_NOT_PRESENT);
		}
		enum ept_reason mc = misconfig(e, level);
		if (mc != EPT_NONE)
			return stop(w, e, pa[level], level, EPT_MISCONFIG, mc);
		w->perm &= entry_perm(e);
		if (!is_leaf(e, level)) {
			table = e & EPT_ADDR;
			continue;
		}
		w->shift = 12 + 9 * (level - 1);
		u64 off = (1ULL << w->shift) - 1;
		w->hpa = (e & EPT_ADDR & ~off) | (gpa & off);
		w->memtype = (unsigned)((e & EPT_MT_MASK) >> EPT_MT_SHIFT);
		w->ipat = (e & EPT_IPAT) != 0;
		w->suppress_ve = (e & EPT_SVE) != 0;
		enum ept_reason deny = check_access(w, a, mbec);
		if (deny != EPT_NONE)
			return stop(w, e, pa[level], level, EPT_VIOLATION, deny);
		if (w->ad)
			e = set_ad(m, pa, level, w->as_write);
		return stop(w, e, pa[level], level, EPT_OK, EPT_NONE);
	}
	return EPT_OK; // not reached: level 1 is always a leaf
}

/*
 * Bits 2:0: the access. A guest paging-structure access that counts as a
 * write because A/D flags are on sets both bits 0 and 1 (table 27-7, note 1).
 */
static u64 qual_access(const struct ept_walk *w, const struct ept_access *a)
{
	if (a->type == ACC_EXEC)
		return EPT_QUAL_FETCH;
	if (a->paging && w->ad)
		return EPT_QUAL_READ | EPT_QUAL_WRITE;
	return a->type == ACC_WRITE ? EPT_QUAL_WRITE : EPT_QUAL_READ;
}

u64 ept_violation_qual(const struct ept_walk *w, const struct ept_access *a, bool mbec)
{
	u64 q = qual_access(w, a);
	q |= (u64)(w->perm & 7) << 3;
	if (mbec && (w->perm & EPT_PERM_XU))
		q |= EPT_QUAL_XU;
	if (!a->gla_valid)
		return q;
	q |= EPT_QUAL_GLA_VALID;
	if (a->paging)
		return q;
	// Advanced VM-exit information (EPT_CAP_ADV_EXIT_INFO): only for translations of the linear address.
	q |= EPT_QUAL_GLA_XLAT;
	q |= (a->user ? EPT_QUAL_GLA_USER : 0) | (a->gla_rw ? EPT_QUAL_GLA_RW : 0) | (a->gla_xd ? EPT_QUAL_GLA_XD : 0);
	return q;
}

void ept_ve_info(const struct ept_walk *w, const struct ept_access *a, bool mbec, u16 eptp_index,
		 struct ept_ve_info *ve)
{
	ve->exit_reason = EPT_EXIT_REASON_VIOLATION;
	ve->busy = EPT_VE_BUSY;
	ve->qual = ept_violation_qual(w, a, mbec) & ~EPT_QUAL_NMI_UNBLOCK;
	ve->gla = a->gla_valid ? a->gla : 0;
	ve->gpa = w->gpa;
	ve->eptp_index = eptp_index;
}

void ept_ve_pack(const struct ept_ve_info *ve, u8 out[EPT_VE_INFO_SIZE])
{
	memset(out, 0, EPT_VE_INFO_SIZE);
	memcpy(out + 0, &ve->exit_reason, 4); // x86 hosts only: the layout is little endian
	memcpy(out + 4, &ve->busy, 4);
	memcpy(out + 8, &ve->qual, 8);
	memcpy(out + 16, &ve->gla, 8);
	memcpy(out + 24, &ve->gpa, 8);
	memcpy(out + 32, &ve->eptp_index, 2);
}
