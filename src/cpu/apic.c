/* SPDX-License-Identifier: MIT */
/*
 * The x2APIC of one vCPU (apic.h; SDM Vol. 3A ch. 11). Registers are
 * reached through a table indexed by MSR number - 0x800, one read and one
 * write function per row; a missing function is #GP(0), as the SDM's
 * Table 11-6 gives for reserved, read-only and write-only registers.
 *
 * Timer (SDM 11.5.4): the count runs on cpu_time(), one tick per
 * 2^timer_shift instructions. It is kept as (anchor time, count at the
 * anchor) and evaluated on demand, so no work is done per instruction:
 * apic_update() fires it when cpu_time() has passed timer_next, and a
 * periodic timer re-anchors at its last expiry, so a vCPU that was idle
 * for many periods gets one interrupt (the IRR holds one bit per vector)
 * and the same later expiries as if it had run through them.
 *
 * Priorities (SDM 11.8.3): an IRR vector is deliverable when its
 * priority class (vector bits 7:4) is above the PPR's; PPR is TPR or the
 * highest in-service class, whichever is higher.
 *
 * Software disable (SVR bit 8 clear, the reset state, SDM 11.4.7.2):
 * every LVT entry is masked and stays masked, and fixed interrupts sent
 * to the APIC are discarded; pending IRR and ISR bits are kept.
 */
#include "cpu/apic.h"

#include <string.h>

#include "cpu/cpu.h"

/* Version register (SDM 11.4.8): integrated APIC, APIC_LVT_N entries, no EOI-broadcast suppression. */
#define APIC_VERSION (0x14u | ((APIC_LVT_N - 1u) << 16))

#define SVR_WRITABLE 0x1FFu   // 7:0 spurious vector, 8 software enable (12, EOI suppression, unsupported)
#define SVR_ENABLE (1u << 8)

/* LVT entry bits (SDM Figure 11-8). */
#define LVT_VECTOR 0xFFu
#define LVT_DM (7u << 8)             // 10:8 delivery mode (thermal, performance, LINT0/1)
#define LVT_POLARITY (1u << 13)      // LINT0/1 input polarity
#define LVT_TRIGGER (1u << 15)       // LINT0/1 trigger mode
#define LVT_MASK (1u << 16)
#define LVT_TIMER_MODE (3u << 17)    // 18:17: 00 one-shot, 01 periodic, 10 TSC-deadline (not offered)
#define LVT_TIMER_PERIODIC (1u << 17)

/* Bits software may set in each entry; delivery status and remote IRR are read-only. */
static const u32 lvt_writable[APIC_LVT_N] = {
	[APIC_LVT_TIMER] = LVT_VECTOR | LVT_MASK | LVT_TIMER_MODE,
	[APIC_LVT_THERMAL] = LVT_VECTOR | LVT_DM | LVT_MASK,
	[APIC_LVT_PERF] = LVT_VECTOR | LVT_DM | LVT_MASK,
	[APIC_LVT_LINT0] = LVT_VECTOR | LVT_DM | LVT_POLARITY | LVT_TRIGGER | LVT_MASK,
	[APIC_LVT_LINT1] = LVT_VECTOR | LVT_DM | LVT_POLARITY | LVT_TRIGGER | LVT_MASK,
	[APIC_LVT_ERROR] = LVT_VECTOR | LVT_MASK,
};

/* Error status bits (SDM 11.5.3). Illegal register addresses are #GP in x2APIC mode, not ESR bit 7. */
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)

/* ICR (SDM 11.6.1, 64-bit x2APIC layout 11.12.9). */
#define ICR_LOGICAL (1ULL << 11)     // destination mode
#define ICR_WRITABLE 0xFFFFFFFF000CCFFFULL // 7:0 vector, 10:8 mode, 11, 14 level, 15 trigger, 19:18, 63:32
#define ICR_BROADCAST 0xFFFFFFFFu
enum icr_mode { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_STARTUP = 6 };
enum icr_shorthand { SH_NONE, SH_SELF, SH_ALL, SH_OTHERS };

#define DCR_WRITABLE 0xBu

static void bit_set(u64 *v, unsigned n)
{
	v[n / 64] |= 1ULL << (n % 64);
}

static void bit_clear(u64 *v, unsigned n)
{
	v[n / 64] &= ~(1ULL << (n % 64));
}

/* Returns the highest set bit of a 256-bit register, or -1. */
static int highest(const u64 *v)
{
	for (int w = 3; w >= 0; w--)
		if (v[w])
			return w * 64 + 63 - __builtin_clzll(v[w]);
	return -1;
}

/* Processor priority (SDM 11.8.3.1). */
static u32 ppr(const struct apic *a)
{
	int isrv = highest(a->isr);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xF0;
	return (a->tpr & 0xF0) >= isr_class ? a->tpr & 0xFF : isr_class;
}

/* x2APIC logical ID (SDM 11.12.10.2): cluster ID id[19:4] in 31:16, bit id[3:0] of 15:0. */
static u32 ldr(u32 id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xF));
}

/* Records error bits and raises the error interrupt if its LVT entry allows (SDM 11.5.3). */
static void apic_error(struct apic *a, u32 bits)
{
	a->esr_pending |= bits;
	u32 e = a->lvt[APIC_LVT_ERROR];
	if (!(e & LVT_MASK) && (e & LVT_VECTOR) >= 16)
		bit_set(a->irr, e & LVT_VECTOR);
}

/* A fixed interrupt arrives: into the IRR, unless the APIC is software-disabled or the vector illegal. */
static void accept(struct apic *a, u32 vec)
{
	if (!(a->svr & SVR_ENABLE))
		return;
	if (vec < 16) {
		apic_error(a, ESR_RECV_ILLEGAL); // vectors 0-15 are reserved (SDM 11.5.2)
		return;
	}
	bit_set(a->irr, vec);
}

/* Raises the interrupt of LVT entry n, if unmasked. */
static void lvt_fire(struct apic *a, enum apic_lvt n)
{
	u32 e = a->lvt[n];
	if (e & LVT_MASK)
		return;
	if ((e & LVT_VECTOR) < 16)
		apic_error(a, ESR_RECV_ILLEGAL);
	else
		bit_set(a->irr, e & LVT_VECTOR);
}

/* Divide configuration (SDM Figure 11-10): bits 3,1,0 = 000 divide by 2 ... 110 by 128, 111 by 1. */
static u8 divide_shift(u32 dcr)
{
	u32 v = (dcr & 3) | ((dcr >> 1) & 4);
	return (u8)((v + 1) & 7);
}

/* Loads the count at time now; a zero count stops the timer. */
static void timer_load(struct apic *a, u64 now, u32 count)
{
	a->timer_armed = count != 0;
	a->timer_anchor = now;
	a->timer_count = count;
	a->timer_next = now + ((u64)count << a->timer_shift);
}

/* Current count at time now; valid after apic_update (now < timer_next when armed). */
static u32 timer_current(const struct apic *a, u64 now)
{
	if (!a->timer_armed)
		return 0;
	return a->timer_count - (u32)((now - a->timer_anchor) >> a->timer_shift);
}

/* The count reached zero at timer_next <= now: interrupt, then stop (one-shot) or reload (periodic). */
static void timer_expire(struct apic *a, u64 now)
{
	lvt_fire(a, APIC_LVT_TIMER);
	if (!(a->lvt[APIC_LVT_TIMER] & LVT_TIMER_PERIODIC)) {
		a->timer_armed = false;
		return;
	}
	u64 period = (u64)a->timer_init << a->timer_shift;
	u64 missed = (now - a->timer_next) / period;
	timer_load(a, a->timer_next + missed * period, a->timer_init);
}

void apic_init(struct cpu *c)
{
	struct apic *a = &c->apic;
	memset(a, 0, sizeof(*a));
	a->id = c->id;
	a->svr = 0xFF; // software-disabled, spurious vector 0xFF (SDM 11.4.7.1)
	for (unsigned n = 0; n < APIC_LVT_N; n++)
		a->lvt[n] = LVT_MASK;
	a->timer_shift = divide_shift(0);
}

int apic_pending_vector(struct cpu *c)
{
	const struct apic *a = &c->apic;
	if (!(a->irr[0] | a->irr[1] | a->irr[2] | a->irr[3]))
		return -1;
	int v = highest(a->irr);
	return ((u32)v & 0xF0) > (ppr(a) & 0xF0) ? v : -1;
}

void apic_ack(struct cpu *c, int vec)
{
	bit_clear(c->apic.irr, (unsigned)vec & 0xFF);
	bit_set(c->apic.isr, (unsigned)vec & 0xFF);
}

u64 apic_update(struct cpu *c)
{
	struct apic *a = &c->apic;
	if (!a->timer_armed)
		return UINT64_MAX;
	u64 now = cpu_time(c);
	if (now >= a->timer_next)
		timer_expire(a, now);
	return a->timer_armed ? a->timer_next - now : UINT64_MAX;
}

/* Vector the next timer expiry will request: the timer's, the error entry's for an illegal one, or -1. */
static int expiry_vector(const struct apic *a)
{
	u32 e = a->lvt[APIC_LVT_TIMER];
	if (e & LVT_MASK)
		return -1;
	if ((e & LVT_VECTOR) >= 16)
		return (int)(e & LVT_VECTOR);
	e = a->lvt[APIC_LVT_ERROR];
	return !(e & LVT_MASK) && (e & LVT_VECTOR) >= 16 ? (int)(e & LVT_VECTOR) : -1;
}

u64 apic_wake_time(struct cpu *c)
{
	u64 d = apic_update(c);
	if (apic_pending_vector(c) >= 0)
		return 0;
	int v = expiry_vector(&c->apic);
	if (d == UINT64_MAX || v < 0 || ((u32)v & 0xF0) <= (ppr(&c->apic) & 0xF0))
		return UINT64_MAX; // nothing the timer raises could be delivered
	return d;
}

/* Whether an ICR message from src reaches dst (SDM 11.6.2, 11.12.9). */
static bool icr_targets(const struct cpu *src, const struct cpu *dst, u64 icr)
{
	switch ((icr >> 18) & 3) {
	case SH_SELF: return dst == src;
	case SH_ALL: return true;
	case SH_OTHERS: return dst != src;
	}
	u32 dest = (u32)(icr >> 32);
	if (dest == ICR_BROADCAST)
		return true;
	if (icr & ICR_LOGICAL) {
		u32 l = ldr(dst->apic.id);
		return (dest >> 16) == (l >> 16) && (dest & l & 0xFFFF);
	}
	return dest == dst->apic.id;
}

/*
 * Sends the IPI described by a 64-bit ICR write. Fixed messages set the
 * vector in each destination's IRR; lowest priority goes to the first
 * destination in APIC ID order (the choice is model specific, SDM
 * 11.6.2.4, and this one is deterministic). INIT, start-up, NMI and SMI
 * have no effect (apic.h). Reserved modes 3 and 7 are #GP.
 */
static int wr_icr(struct cpu *c, u32 idx, u64 val)
{
	unsigned mode = (val >> 8) & 7;
	if ((val & ~ICR_WRITABLE) || mode == 3 || mode == 7)
		return -1;
	c->apic.icr = val;
	if (mode != DM_FIXED && mode != DM_LOWEST)
		return 0;
	u32 vec = val & 0xFF;
	if (vec < 16)
		apic_error(&c->apic, ESR_SEND_ILLEGAL);
	unsigned n = c->peers ? c->npeers : 1;
	for (unsigned k = 0; k < n; k++) {
		struct cpu *dst = c->peers ? &c->peers[k] : c;
		if (!icr_targets(c, dst, val))
			continue;
		accept(&dst->apic, vec);
		if (mode == DM_LOWEST)
			break;
	}
	return 0;
}

static u64 rd_id(struct cpu *c, u32 idx) { return c->apic.id; }
static u64 rd_version(struct cpu *c, u32 idx) { return APIC_VERSION; }
static u64 rd_tpr(struct cpu *c, u32 idx) { return c->apic.tpr; }
static u64 rd_ppr(struct cpu *c, u32 idx) { return ppr(&c->apic); }
static u64 rd_ldr(struct cpu *c, u32 idx) { return ldr(c->apic.id); }
static u64 rd_svr(struct cpu *c, u32 idx) { return c->apic.svr; }
static u64 rd_esr(struct cpu *c, u32 idx) { return c->apic.esr; }
static u64 rd_icr(struct cpu *c, u32 idx) { return c->apic.icr; }
static u64 rd_lvt(struct cpu *c, u32 idx) { return c->apic.lvt[idx - 0x32]; }
static u64 rd_init(struct cpu *c, u32 idx) { return c->apic.timer_init; }
static u64 rd_dcr(struct cpu *c, u32 idx) { return c->apic.dcr; }

/* ISR, TMR and IRR are eight MSRs each, 32 vectors per MSR. */
static u64 bank32(const u64 *v, u32 k) { return (u32)(v[k / 2] >> (32 * (k & 1))); }
static u64 rd_isr(struct cpu *c, u32 idx) { return bank32(c->apic.isr, idx - 0x10); }
static u64 rd_tmr(struct cpu *c, u32 idx) { return 0; } // edge-triggered only
static u64 rd_irr(struct cpu *c, u32 idx) { return bank32(c->apic.irr, idx - 0x20); }

static u64 rd_current(struct cpu *c, u32 idx)
{
	apic_update(c);
	return timer_current(&c->apic, cpu_time(c));
}

static int wr_tpr(struct cpu *c, u32 idx, u64 val)
{
	if (val & ~0xFFULL)
		return -1;
	c->apic.tpr = (u32)val;
	return 0;
}

/* EOI: only 0 may be written in x2APIC mode (SDM 11.12.1.2); ends the highest in-service interrupt. */
static int wr_eoi(struct cpu *c, u32 idx, u64 val)
{
	if (val)
		return -1;
	int v = highest(c->apic.isr);
	if (v >= 0)
		bit_clear(c->apic.isr, (unsigned)v);
	return 0;
}

static int wr_svr(struct cpu *c, u32 idx, u64 val)
{
	if (val & ~(u64)SVR_WRITABLE)
		return -1;
	c->apic.svr = (u32)val;
	if (!(val & SVR_ENABLE))
		for (unsigned n = 0; n < APIC_LVT_N; n++)
			c->apic.lvt[n] |= LVT_MASK;
	return 0;
}

/* ESR: a write (of 0 only, in x2APIC mode) latches the errors seen since the previous one (SDM 11.5.3). */
static int wr_esr(struct cpu *c, u32 idx, u64 val)
{
	if (val)
		return -1;
	c->apic.esr = c->apic.esr_pending;
	c->apic.esr_pending = 0;
	return 0;
}

/* LVT entries; TSC-deadline mode is not offered (CPUID.1:ECX.24 = 0), so it is reserved like mode 11b. */
static int wr_lvt(struct cpu *c, u32 idx, u64 val)
{
	unsigned n = idx - 0x32;
	if ((val & ~(u64)lvt_writable[n]) || (val & LVT_TIMER_MODE) > LVT_TIMER_PERIODIC)
		return -1;
	if (n == APIC_LVT_TIMER)
		apic_update(c); // an expiry already due uses the old entry
	c->apic.lvt[n] = (u32)val | (c->apic.svr & SVR_ENABLE ? 0 : LVT_MASK);
	return 0;
}

/* Initial count: (re)starts the count from val, or stops the timer with 0 (SDM 11.5.4). */
static int wr_init(struct cpu *c, u32 idx, u64 val)
{
	if (val >> 32)
		return -1;
	apic_update(c);
	c->apic.timer_init = (u32)val;
	timer_load(&c->apic, cpu_time(c), (u32)val);
	return 0;
}

/* Divide configuration: the count left keeps running at the new rate from now on. */
static int wr_dcr(struct cpu *c, u32 idx, u64 val)
{
	if (val & ~(u64)DCR_WRITABLE)
		return -1;
	apic_update(c);
	struct apic *a = &c->apic;
	u64 now = cpu_time(c);
	u32 left = timer_current(a, now);
	a->dcr = (u32)val;
	a->timer_shift = divide_shift(a->dcr);
	if (a->timer_armed)
		timer_load(a, now, left);
	return 0;
}

/* SELF IPI (SDM 11.12.11): a fixed, edge-triggered interrupt to this APIC. */
static int wr_self(struct cpu *c, u32 idx, u64 val)
{
	if (val & ~0xFFULL)
		return -1;
	accept(&c->apic, (u32)val);
	return 0;
}

struct apic_reg {
	u64 (*rd)(struct cpu *c, u32 idx);
	int (*wr)(struct cpu *c, u32 idx, u64 val);
};

/* x2APIC registers by MSR - 0x800 (SDM Vol. 3A Table 11-6); empty rows are #GP. */
static const struct apic_reg regs[0x40] = {
	[0x02] = { rd_id, NULL },               // APIC ID
	[0x03] = { rd_version, NULL },          // version
	[0x08] = { rd_tpr, wr_tpr },            // task priority
	[0x0A] = { rd_ppr, NULL },              // processor priority
	[0x0B] = { NULL, wr_eoi },              // EOI
	[0x0D] = { rd_ldr, NULL },              // logical destination (derived from the ID)
	[0x0F] = { rd_svr, wr_svr },            // spurious-interrupt vector
	[0x10 ... 0x17] = { rd_isr, NULL },     // in-service
	[0x18 ... 0x1F] = { rd_tmr, NULL },     // trigger mode
	[0x20 ... 0x27] = { rd_irr, NULL },     // interrupt request
	[0x28] = { rd_esr, wr_esr },            // error status
	[0x30] = { rd_icr, wr_icr },            // interrupt command, 64 bits
	[0x32 ... 0x37] = { rd_lvt, wr_lvt },   // LVT timer, thermal, performance, LINT0, LINT1, error
	[0x38] = { rd_init, wr_init },          // timer initial count
	[0x39] = { rd_current, NULL },          // timer current count
	[0x3E] = { rd_dcr, wr_dcr },            // timer divide configuration
	[0x3F] = { NULL, wr_self },             // SELF IPI
};

/* Returns the row of msr, or NULL outside the table. */
static const struct apic_reg *reg_of(u32 msr)
{
	if (msr < APIC_MSR_FIRST || msr - APIC_MSR_FIRST >= ARRAY_SIZE(regs))
		return NULL;
	return &regs[msr - APIC_MSR_FIRST];
}

int apic_msr_read(struct cpu *c, u32 msr, u64 *val)
{
	const struct apic_reg *r = reg_of(msr);
	if (!r || !r->rd)
		return -1;
	*val = r->rd(c, msr - APIC_MSR_FIRST);
	return 0;
}

int apic_msr_write(struct cpu *c, u32 msr, u64 val)
{
	const struct apic_reg *r = reg_of(msr);
	if (!r || !r->wr)
		return -1;
	/* Bits 63:32 are reserved in every register but the ICR (SDM 11.12.1.2). */
	if (r->wr != wr_icr && (val >> 32))
		return -1;
	return r->wr(c, msr - APIC_MSR_FIRST, val);
}

u64 apic_base_read(const struct cpu *c)
{
	return APIC_BASE_ADDR | APIC_BASE_EN | APIC_BASE_EXTD | (c->apic.id == 0 ? APIC_BASE_BSP : 0);
}

int apic_base_write(struct cpu *c, u64 val)
{
	return val == apic_base_read(c) ? 0 : -1;
}
