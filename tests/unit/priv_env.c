/* SPDX-License-Identifier: MIT */
/* The privilege tests' kernel-like environment (see priv_env.h). */
#include "priv_env.h"

#include <string.h>

#include "cpu/msr.h"

/* Descriptor images (SDM Vol. 3A figure 3-8): limit 0xfffff with G, base 0 unless said. */
#define D_KCODE 0x00af9a000000ffffULL  // P, DPL 0, code exec/read; G, L
#define D_KDATA 0x00cf92000000ffffULL  // P, DPL 0, data read/write; G, B
#define D_UCODE32 0x00cffa000000ffffULL // P, DPL 3, code; G, D (32-bit)
#define D_UDATA 0x00cff2000000ffffULL  // P, DPL 3, data read/write
#define D_UCODE 0x00affa000000ffffULL  // P, DPL 3, code; G, L
#define D_CONF 0x00af9e000000ffffULL   // P, DPL 0, conforming code exec/read; G, L
#define D_KCODE_NP (D_KCODE & ~(1ULL << 47))
#define D_KDATA_NP (D_KDATA & ~(1ULL << 47))
#define D_KCODE32 0x00cf9a000000ffffULL // P, DPL 0, code; G, D
#define D_RODATA 0x00cf90000000ffffULL // P, DPL 0, data read-only
#define D_BASEDATA 0x12cff2345678ffffULL // P, DPL 3, data, base 0x12345678

void penv_put(struct machine *mc, u64 gpa, const void *code, size_t len)
{
	memcpy(fixture_ptr(mc, gpa), code, len);
}

u64 penv_rd64(struct machine *mc, u64 gpa)
{
	u64 v;
	memcpy(&v, fixture_ptr(mc, gpa), 8);
	return v;
}

void penv_wr64(struct machine *mc, u64 gpa, u64 v)
{
	memcpy(fixture_ptr(mc, gpa), &v, 8);
}

u64 penv_gdt_get(struct machine *mc, u16 sel)
{
	return penv_rd64(mc, P_GDT + (sel & ~7u));
}

void penv_gdt_set(struct machine *mc, u16 sel, u64 desc)
{
	penv_wr64(mc, P_GDT + (sel & ~7u), desc);
}

void penv_gate(struct machine *mc, unsigned v, u64 off, u16 sel, unsigned ist, unsigned type, unsigned dpl,
	       bool present)
{
	u64 lo = (off & 0xffff) | (u64)sel << 16 | (u64)ist << 32 | (u64)((present ? 0x80 : 0) | dpl << 5 | type) << 40 |
		 ((off >> 16) & 0xffff) << 48;
	penv_wr64(mc, P_IDT + 16ULL * v, lo);
	penv_wr64(mc, P_IDT + 16ULL * v + 8, off >> 32);
}

static void build_gdt(struct machine *mc)
{
	static const u64 gdt[] = { 0, D_KCODE, D_KDATA, D_UCODE32, D_UDATA, D_UCODE, 0, 0, D_CONF, D_KCODE_NP,
				   D_KDATA_NP, D_KCODE32, D_RODATA, D_BASEDATA };
	penv_put(mc, P_GDT, gdt, sizeof(gdt));
	/* 64-bit available TSS, limit 0x67 (SDM Vol. 3A figure 8-4). */
	u64 tss = 0x67 | (P_TSS & 0xffffff) << 16 | 0x89ULL << 40 | ((P_TSS >> 24) & 0xff) << 56;
	penv_wr64(mc, P_GDT + TSS_SEL, tss);
	penv_wr64(mc, P_GDT + TSS_SEL + 8, P_TSS >> 32);
}

/* TSS (SDM Vol. 3A figure 8-11): RSP0 at 4, IST1-7 at 36 + 8 (n - 1). */
static void build_tss(struct machine *mc)
{
	memset(fixture_ptr(mc, P_TSS), 0, 0x68);
	penv_wr64(mc, P_TSS + 4, P_RSP0);
	for (unsigned n = 1; n <= 7; n++)
		penv_wr64(mc, P_TSS + 36 + 8 * (n - 1), P_IST(n));
}

struct machine *penv_new(void)
{
	struct machine *mc = fixture_new();
	if (!mc)
		return NULL;
	struct cpu *c = fixture_cpu(mc);
	fixture_user_pages(mc);
	build_gdt(mc);
	build_tss(mc);
	u8 *h = fixture_ptr(mc, P_HANDLERS);
	memset(h, 0xf4, 256 * 16); // HLT everywhere
	for (unsigned v = 0; v < 256; v++)
		penv_gate(mc, v, penv_handler(v), KCS, 0, 0xe, 0, true);
	c->gdtr = (struct dtr){ .base = P_GDT, .limit = GDT_LIMIT };
	c->idtr = (struct dtr){ .base = P_IDT, .limit = 256 * 16 - 1 };
	if (seg_load_tr(c, TSS_SEL)) {
		fixture_free(mc);
		return NULL;
	}
	c->star = 0x0018000800000000ULL;
	return mc;
}

void penv_enter_user(struct machine *mc, u64 rip, u64 rsp, u64 rflags)
{
	struct cpu *c = fixture_cpu(mc);
	struct desc ss = { .lo = D_UDATA | 1ULL << 40 };
	seg_load_cs(c, UCS, AR_UCODE);
	seg_load(c, SREG_SS, UDS, &ss);
	seg_load_null(c, SREG_DS, 0);
	seg_load_null(c, SREG_ES, 0);
	c->r[RSP] = rsp;
	c->r[REG_RIP] = rip;
	c->rflags = rflags | RFLAGS_FIXED1;
	c->lf.op = LF_NONE;
}

void penv_user_code(struct machine *mc, const void *code, size_t len)
{
	penv_put(mc, P_UCODE, code, len);
	penv_enter_user(mc, P_UCODE, P_USTACK, RFLAGS_IF);
}

enum cpu_stop penv_exec_user(struct machine *mc, const void *code, size_t len)
{
	penv_user_code(mc, code, len);
	return fixture_step(mc, 1);
}
