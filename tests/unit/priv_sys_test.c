/* SPDX-License-Identifier: MIT */
/*
 * System registers and instructions (exec_priv.c, msr.c, segment.c): MOV
 * CR/DR with their reserved bits, the MSRs, LGDT/LIDT/SGDT/SIDT,
 * LTR/STR/LLDT, LMSW/SMSW/CLTS, RDTSCP, and #GP(0) for every privileged
 * instruction at CPL 3. Expected values come from the SDM: Vol. 3A 2.5
 * (control registers), 17.2 (debug registers), 2.2.1 and Vol. 4 (MSRs),
 * and the Vol. 2 pages of each instruction.
 */
#include "priv_env.h"
#include "test.h"

#include "cpu/flags.h"
#include "cpu/msr.h"

/* Runs code at CPL 0; returns the vector delivered (-1 for none). */
static int kexec(struct machine *mc, const u8 *code, size_t len)
{
	struct cpu *c = fixture_cpu(mc);
	fixture_load(mc, code, len);
	c->r[RSP] = FIX_STACK;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	u64 rip = c->r[REG_RIP];
	if (rip >= P_HANDLERS && rip < P_HANDLERS + 256 * 16)
		return (int)((rip - P_HANDLERS) / 16);
	EXPECT_EQ(FIX_CODE + len, rip);
	return -1;
}

#define MOV_CR0_RAX 0x0f, 0x22, 0xc0
#define MOV_RAX_CR0 0x0f, 0x20, 0xc0

static void wr_cr(struct machine *mc, unsigned n, u64 v, int want_vec)
{
	u8 code[4] = { 0x44, 0x0f, 0x22, (u8)(0xc0 | (n & 7) << 3) };
	fixture_cpu(mc)->r[RAX] = v;
	EXPECT_EQ(want_vec, n == 8 ? kexec(mc, code, 4) : kexec(mc, code + 1, 3));
}

static u64 rd_cr(struct machine *mc, unsigned n)
{
	u8 code[4] = { 0x44, 0x0f, 0x20, (u8)(0xc0 | (n & 7) << 3) };
	EXPECT_EQ(-1, n == 8 ? kexec(mc, code, 4) : kexec(mc, code + 1, 3));
	return fixture_cpu(mc)->r[RAX];
}

/* CR0: 63:32 reserved (#GP), reserved bits of 31:0 ignored, ET fixed at 1, PG needs PE, NW needs CD, PG stays on. */
TEST(priv_sys, cr0)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u64 cr0 = c->cr0;
	wr_cr(mc, 0, cr0 | CR0_TS | CR0_AM | (1ULL << 6), -1); // bit 6 is reserved: ignored
	EXPECT_EQ(cr0 | CR0_TS | CR0_AM, rd_cr(mc, 0));
	wr_cr(mc, 0, (cr0 & ~CR0_ET) | CR0_NE, -1);
	EXPECT_EQ(cr0 | CR0_NE, c->cr0); // ET reads as 1
	u64 now = c->cr0;
	wr_cr(mc, 0, now | 1ULL << 32, VEC_GP);
	wr_cr(mc, 0, now & ~CR0_PE, VEC_GP);          // PG without PE
	wr_cr(mc, 0, now | CR0_NW, VEC_GP);           // NW without CD
	wr_cr(mc, 0, now & ~CR0_PG, VEC_GP);          // leaving IA-32e mode
	EXPECT_EQ(now, c->cr0);
	wr_cr(mc, 0, now | CR0_NW | CR0_CD, -1);
	EXPECT_EQ(now | CR0_NW | CR0_CD, c->cr0);
	fixture_free(mc);
}

/* CR2 holds any value; CR3 bits 63:MAXPHYADDR are reserved, except 63 (no flush, not stored) with CR4.PCIDE. */
TEST(priv_sys, cr2_cr3)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	wr_cr(mc, 2, 0xdeadbeefcafef00dULL, -1);
	EXPECT_EQ(0xdeadbeefcafef00dULL, rd_cr(mc, 2));
	u64 cr3 = c->cr3;
	wr_cr(mc, 3, cr3 | 1ULL << MAXPHYADDR, VEC_GP);
	wr_cr(mc, 3, cr3 | 1ULL << 63, VEC_GP);
	EXPECT_EQ(cr3, rd_cr(mc, 3));
	wr_cr(mc, 3, cr3 | 0x18, -1); // PWT, PCD: accepted
	EXPECT_EQ(cr3 | 0x18, rd_cr(mc, 3));
	wr_cr(mc, 3, cr3, -1);
	wr_cr(mc, 4, c->cr4 | CR4_PCIDE, -1);
	wr_cr(mc, 3, cr3 | 1ULL << 63 | 5, -1);
	EXPECT_EQ(cr3 | 5, rd_cr(mc, 3));
	fixture_free(mc);
}

/* CR4: only what CPUID reports may be set; PAE stays set; PCIDE needs CR3[11:0] = 0. */
TEST(priv_sys, cr4)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u64 cr4 = c->cr4;
	wr_cr(mc, 4, cr4 | CR4_TSD | CR4_DE | CR4_PGE | CR4_PCE, -1);
	EXPECT_EQ(cr4 | CR4_TSD | CR4_DE | CR4_PGE | CR4_PCE, rd_cr(mc, 4));
	/* SMEP and SMAP are accepted (the tests' pages are all user pages, so nothing runs after). */
	wr_cr(mc, 4, cr4 | CR4_SMEP | CR4_SMAP, -1);
	EXPECT_EQ(cr4 | CR4_SMEP | CR4_SMAP, c->cr4);
	c->cr4 = cr4;
	tlb_flush_all(&c->tlb);
	wr_cr(mc, 4, cr4 | 1ULL << 9, VEC_GP);  // OSFXSR: no SSE
	wr_cr(mc, 4, cr4 | 1ULL << 16, VEC_GP); // FSGSBASE: not implemented
	wr_cr(mc, 4, cr4 | 1ULL << 32, VEC_GP);
	wr_cr(mc, 4, cr4 & ~CR4_PAE, VEC_GP);
	c->cr3 |= 1;
	wr_cr(mc, 4, cr4 | CR4_PCIDE, VEC_GP);
	EXPECT_EQ(cr4, c->cr4);
	fixture_free(mc);
}

/* CR8 is TPR[7:4] of the x2APIC (SDM Vol. 3A 10.8.6.1); bits 63:4 reserved. */
TEST(priv_sys, cr8_is_the_tpr)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	wr_cr(mc, 8, 0xa, -1);
	u64 tpr = 0;
	EXPECT_EQ(0, apic_msr_read(c, 0x808, &tpr));
	EXPECT_EQ(0xa0, tpr);
	EXPECT_EQ(0xa, rd_cr(mc, 8));
	wr_cr(mc, 8, 0x10, VEC_GP);
	EXPECT_EQ(0xa, rd_cr(mc, 8));
	fixture_free(mc);
}

/* Debug registers: storage; DR6/DR7 fixed bits; DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD). */
TEST(priv_sys, debug_registers)
{
	static const u8 dr0_w[] = { 0x0f, 0x23, 0xc0 }, dr0_r[] = { 0x0f, 0x21, 0xc0 }, dr6_w[] = { 0x0f, 0x23, 0xf0 },
			dr7_w[] = { 0x0f, 0x23, 0xf8 }, dr4_r[] = { 0x0f, 0x21, 0xe0 }, dr5_r[] = { 0x0f, 0x21, 0xe8 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(-1, kexec(mc, dr4_r, sizeof(dr4_r)));
	EXPECT_EQ(0xffff0ff0, c->r[RAX]); // DR6 after reset
	EXPECT_EQ(-1, kexec(mc, dr5_r, sizeof(dr5_r)));
	EXPECT_EQ(0x400, c->r[RAX]); // DR7 after reset
	c->r[RAX] = 0xffff800012345678ULL;
	EXPECT_EQ(-1, kexec(mc, dr0_w, sizeof(dr0_w)));
	c->r[RAX] = 0;
	EXPECT_EQ(-1, kexec(mc, dr0_r, sizeof(dr0_r)));
	EXPECT_EQ(0xffff800012345678ULL, c->r[RAX]);
	c->r[RAX] = 0;
	EXPECT_EQ(-1, kexec(mc, dr6_w, sizeof(dr6_w)));
	EXPECT_EQ(0xffff0ff0, c->dr[6]);
	c->r[RAX] = 0xffffffff;
	EXPECT_EQ(-1, kexec(mc, dr7_w, sizeof(dr7_w)));
	EXPECT_EQ(0xffff27ffULL, c->dr[7]); // bits 11, 12, 14, 15 read as 0
	c->r[RAX] = 1ULL << 32;
	EXPECT_EQ(VEC_GP, kexec(mc, dr7_w, sizeof(dr7_w)));
	c->cr4 |= CR4_DE;
	EXPECT_EQ(VEC_UD, kexec(mc, dr4_r, sizeof(dr4_r)));
	fixture_free(mc);
}

static int rdmsr(struct machine *mc, u32 msr, u64 *v)
{
	static const u8 code[] = { 0x0f, 0x32 };
	struct cpu *c = fixture_cpu(mc);
	c->r[RCX] = msr;
	c->r[RAX] = c->r[RDX] = ~0ULL;
	int r = kexec(mc, code, sizeof(code));
	*v = (u32)c->r[RAX] | c->r[RDX] << 32;
	if (r < 0)
		EXPECT_EQ(0, (c->r[RAX] | c->r[RDX]) >> 32); // 32-bit results zero the upper halves
	return r;
}

static int wrmsr(struct machine *mc, u32 msr, u64 v)
{
	static const u8 code[] = { 0x0f, 0x30 };
	struct cpu *c = fixture_cpu(mc);
	c->r[RCX] = 0xffffffff00000000ULL | msr; // ECX only
	c->r[RAX] = 0xaaaaaaaa00000000ULL | (u32)v;
	c->r[RDX] = 0xbbbbbbbb00000000ULL | v >> 32;
	return kexec(mc, code, sizeof(code));
}

/* Round trips and reserved bits of the MSRs of msr.h. */
TEST(priv_sys, msrs)
{
	static const struct {
		u32 msr;
		u64 good, bad; // bad = 0: no invalid value to try
	} cases[] = {
		{ MSR_STAR, 0x0023001000080000ULL, 0 },
		{ MSR_LSTAR, 0xffffffff81000000ULL, 0x0000800000000000ULL },
		{ MSR_CSTAR, 0x00007fffffffffffULL, 0xfff0000000000000ULL },
		{ MSR_SFMASK, 0x47700, 1ULL << 32 },
		{ MSR_FS_BASE, 0x00007f0000001000ULL, 0x8000000000000000ULL },
		{ MSR_GS_BASE, 0xffff888000000000ULL, 0x0001000000000000ULL },
		{ MSR_KERNEL_GS_BASE, 0x1234, 0x0000900000000000ULL },
		{ MSR_TSC_AUX, 0x2a, 1ULL << 40 },
		{ MSR_PAT, 0x0007010600070106ULL, 0x0007040600070402ULL }, // memory type 2 is reserved
	};
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u64 v;
	EXPECT_EQ(-1, rdmsr(mc, MSR_PAT, &v));
	EXPECT_EQ(0x0007040600070406ULL, v); // power-up value (SDM Vol. 3A 11.12.4)
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		EXPECT_EQ(-1, wrmsr(mc, cases[k].msr, cases[k].good));
		EXPECT_EQ(-1, rdmsr(mc, cases[k].msr, &v));
		EXPECT_EQ(cases[k].good, v);
		if (cases[k].bad) {
			EXPECT_EQ(VEC_GP, wrmsr(mc, cases[k].msr, cases[k].bad));
			EXPECT_EQ(-1, rdmsr(mc, cases[k].msr, &v));
			EXPECT_EQ(cases[k].good, v);
		}
	}
	EXPECT_EQ(0x00007f0000001000ULL, c->seg_base[SEG_FS]);
	EXPECT_EQ(0xffff888000000000ULL, c->seg_base[SEG_GS]);
	EXPECT_EQ(VEC_GP, rdmsr(mc, 0x1234, &v)); // no such MSR
	EXPECT_EQ(VEC_GP, wrmsr(mc, 0x1234, 0));
	EXPECT_EQ(VEC_GP, rdmsr(mc, 0xc0000080 + 0x100000, &v));
	fixture_free(mc);
}

/* EFER: SCE and NXE writable, LMA read-only (kept), LME fixed while paging is on, the rest reserved. */
TEST(priv_sys, efer)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u64 v;
	EXPECT_EQ(-1, rdmsr(mc, MSR_EFER, &v));
	EXPECT_EQ(EFER_LME | EFER_LMA | EFER_NXE, v);
	EXPECT_EQ(-1, wrmsr(mc, MSR_EFER, EFER_SCE | EFER_LME | EFER_NXE)); // LMA written as 0: kept
	EXPECT_EQ(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE, c->efer);
	EXPECT_EQ(-1, wrmsr(mc, MSR_EFER, EFER_LME | EFER_LMA));
	EXPECT_EQ(EFER_LME | EFER_LMA, c->efer);
	EXPECT_EQ(VEC_GP, wrmsr(mc, MSR_EFER, EFER_LMA));                 // clears LME with CR0.PG = 1
	EXPECT_EQ(VEC_GP, wrmsr(mc, MSR_EFER, EFER_LME | EFER_LMA | 1ULL << 12)); // reserved on Intel
	EXPECT_EQ(EFER_LME | EFER_LMA, c->efer);
	fixture_free(mc);
}

/* IA32_TSC and RDTSCP: the TSC is time plus an offset a write moves; RDTSCP adds IA32_TSC_AUX in ECX. */
TEST(priv_sys, tsc_and_rdtscp)
{
	static const u8 rdtscp[] = { 0x0f, 0x01, 0xf9 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->icount = 1000;
	EXPECT_EQ(-1, wrmsr(mc, MSR_TSC, 0x500000000ULL)); // at time 1000
	EXPECT_EQ(-1, wrmsr(mc, MSR_TSC_AUX, 7));          // time 1001
	c->r[RCX] = ~0ULL;
	EXPECT_EQ(-1, kexec(mc, rdtscp, sizeof(rdtscp))); // runs at time 1002
	EXPECT_EQ(2, c->r[RAX]);
	EXPECT_EQ(5, c->r[RDX]);
	EXPECT_EQ(7, c->r[RCX]);
	u64 v;
	EXPECT_EQ(-1, rdmsr(mc, MSR_TSC, &v)); // time 1003
	EXPECT_EQ(0x500000003ULL, v);
	/* CR4.TSD makes RDTSCP CPL 0 only. */
	c->cr4 |= CR4_TSD;
	penv_user_code(mc, rdtscp, sizeof(rdtscp));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
	fixture_free(mc);
}

/* IA32_APIC_BASE and the x2APIC range go to the APIC; MISC_ENABLE keeps its fixed bits. */
TEST(priv_sys, apic_and_misc_msrs)
{
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	u64 v, base;
	EXPECT_EQ(-1, rdmsr(mc, MSR_APIC_BASE, &base));
	EXPECT_EQ(0xfee00000ULL | 1 << 8 | 1 << 10 | 1 << 11, base); // BSP, EXTD, EN (SDM 11.12.1)
	EXPECT_EQ(-1, wrmsr(mc, MSR_APIC_BASE, base));
	EXPECT_EQ(VEC_GP, wrmsr(mc, MSR_APIC_BASE, base & ~(1ULL << 10))); // x2APIC -> xAPIC is invalid
	EXPECT_EQ(-1, rdmsr(mc, 0x802, &v));                              // x2APIC ID
	EXPECT_EQ(0, v);
	EXPECT_EQ(VEC_GP, wrmsr(mc, 0x802, 1)); // read-only
	EXPECT_EQ(VEC_GP, rdmsr(mc, 0x8ff, &v)); // no register there
	EXPECT_EQ(-1, rdmsr(mc, MSR_MISC_ENABLE, &v));
	EXPECT_EQ(1, v & 1);
	EXPECT_EQ(-1, wrmsr(mc, MSR_MISC_ENABLE, v & ~1ULL));
	EXPECT_EQ(VEC_GP, wrmsr(mc, MSR_MISC_ENABLE, v ^ 1ULL << 11));
	fixture_free(mc);
}

/* LGDT/LIDT load limit and base (canonical); SGDT/SIDT store 10 bytes, at any CPL. */
TEST(priv_sys, descriptor_table_registers)
{
	static const u8 lgdt[] = { 0x0f, 0x01, 0x10 }, lidt[] = { 0x0f, 0x01, 0x18 }, sgdt[] = { 0x0f, 0x01, 0x00 },
			sidt[] = { 0x0f, 0x01, 0x08 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u8 ptr[10] = { 0x34, 0x12 };
	u64 base = 0xffff800000001000ULL;
	memcpy(ptr + 2, &base, 8);
	penv_put(mc, FIX_DATA, ptr, sizeof(ptr));
	c->r[RAX] = FIX_DATA;
	EXPECT_EQ(-1, kexec(mc, lidt, sizeof(lidt)));
	EXPECT_EQ(base, c->idtr.base);
	EXPECT_EQ(0x1234, c->idtr.limit);
	c->idtr = (struct dtr){ .base = P_IDT, .limit = 0xfff };
	base = 0x0000800000000000ULL;
	memcpy(ptr + 2, &base, 8);
	penv_put(mc, FIX_DATA, ptr, sizeof(ptr));
	EXPECT_EQ(VEC_GP, kexec(mc, lgdt, sizeof(lgdt))); // non-canonical base
	EXPECT_EQ(P_GDT, c->gdtr.base);
	memset(fixture_ptr(mc, FIX_DATA + 0x100), 0xee, 16);
	penv_user_code(mc, sgdt, sizeof(sgdt));
	c->r[RAX] = FIX_DATA + 0x100;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(P_UCODE + 3, c->r[REG_RIP]);
	EXPECT_EQ(GDT_LIMIT | P_GDT << 16, penv_rd64(mc, FIX_DATA + 0x100));
	EXPECT_EQ(0xeeeeeeeeeeee0000ULL | P_GDT >> 48, penv_rd64(mc, FIX_DATA + 0x108));
	penv_user_code(mc, sidt, sizeof(sidt));
	c->r[RAX] = FIX_DATA + 0x100;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0xfff | P_IDT << 16, penv_rd64(mc, FIX_DATA + 0x100));
	fixture_free(mc);
}

/* LTR: an available 64-bit TSS becomes busy; a busy one, a non-TSS, TI = 1, null or not present are refused. */
TEST(priv_sys, ltr_str_lldt)
{
	static const u8 ltr[] = { 0x0f, 0x00, 0xd8 }, str[] = { 0x0f, 0x00, 0xc8 }, lldt[] = { 0x0f, 0x00, 0xd0 },
			sldt[] = { 0x0f, 0x00, 0xc0 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u64 tss = penv_gdt_get(mc, TSS_SEL);
	EXPECT_EQ(0xb, tss >> 40 & 0xf); // penv_new's LTR marked it busy
	c->r[RAX] = TSS_SEL;
	EXPECT_EQ(VEC_GP, kexec(mc, ltr, sizeof(ltr)));
	EXPECT_EQ(TSS_SEL, penv_rd64(mc, c->r[RSP]));
	penv_gdt_set(mc, TSS_SEL, tss & ~(2ULL << 40)); // available again
	c->seg[SREG_TR].sel = 0;
	c->r[RAX] = TSS_SEL;
	EXPECT_EQ(-1, kexec(mc, ltr, sizeof(ltr)));
	EXPECT_EQ(TSS_SEL, c->seg[SREG_TR].sel);
	EXPECT_EQ(P_TSS, c->seg[SREG_TR].base);
	EXPECT_EQ(0x67, c->seg[SREG_TR].limit);
	EXPECT_EQ(0xb, penv_gdt_get(mc, TSS_SEL) >> 40 & 0xf);
	static const struct {
		u16 sel;
		int vec;
		u32 err;
	} bad[] = { { 0, VEC_GP, 0 }, { KDS, VEC_GP, KDS }, { TSS_SEL | 4, VEC_GP, TSS_SEL | 4 }, { 0x70, VEC_GP, 0x70 } };
	for (unsigned k = 0; k < ARRAY_SIZE(bad); k++) {
		c->r[RAX] = bad[k].sel;
		EXPECT_EQ(bad[k].vec, kexec(mc, ltr, sizeof(ltr)));
		EXPECT_EQ(bad[k].err, penv_rd64(mc, c->r[RSP]));
	}
	penv_gdt_set(mc, TSS_SEL, tss & ~(2ULL << 40) & ~(1ULL << 47)); // available, not present
	c->r[RAX] = TSS_SEL;
	EXPECT_EQ(VEC_NP, kexec(mc, ltr, sizeof(ltr)));
	EXPECT_EQ(TSS_SEL, penv_rd64(mc, c->r[RSP]));
	c->r[RAX] = ~0ULL;
	EXPECT_EQ(-1, kexec(mc, str, sizeof(str)));
	EXPECT_EQ(TSS_SEL, c->r[RAX]); // zero-extended
	/* LLDT 0 leaves the LDT unusable; an LDT-relative selector then faults. */
	c->r[RAX] = 0;
	EXPECT_EQ(-1, kexec(mc, lldt, sizeof(lldt)));
	EXPECT_EQ(-1, kexec(mc, sldt, sizeof(sldt)));
	EXPECT_EQ(0, c->r[RAX]);
	c->r[RAX] = KDS;
	EXPECT_EQ(VEC_GP, kexec(mc, lldt, sizeof(lldt))); // not an LDT descriptor
	fixture_free(mc);
}

/* LMSW loads CR0[3:0] but cannot clear PE; SMSW stores CR0; CLTS clears TS. */
TEST(priv_sys, lmsw_smsw_clts)
{
	static const u8 lmsw[] = { 0x0f, 0x01, 0xf0 }, smsw[] = { 0x48, 0x0f, 0x01, 0xe0 }, clts[] = { 0x0f, 0x06 };
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	u64 cr0 = c->cr0;
	c->r[RAX] = 0xfff8 | CR0_TS | CR0_MP; // PE = 0 in the source: PE stays
	EXPECT_EQ(-1, kexec(mc, lmsw, sizeof(lmsw)));
	EXPECT_EQ(cr0 | CR0_TS | CR0_MP, c->cr0);
	EXPECT_EQ(-1, kexec(mc, smsw, sizeof(smsw)));
	EXPECT_EQ(cr0 | CR0_TS | CR0_MP, c->r[RAX]);
	EXPECT_EQ(-1, kexec(mc, clts, sizeof(clts)));
	EXPECT_EQ(cr0 | CR0_MP, c->cr0);
	fixture_free(mc);
}

/* Every privileged instruction raises #GP(0) at CPL 3, reported at the instruction, with nothing changed. */
TEST(priv_sys, privileged_instructions_at_cpl3_raise_gp)
{
	static const struct {
		u8 b[4], len;
	} insns[] = {
		{ { 0x0f, 0x22, 0xc0 }, 3 },       // mov cr0, rax
		{ { 0x0f, 0x20, 0xc0 }, 3 },       // mov rax, cr0
		{ { 0x0f, 0x22, 0xd8 }, 3 },       // mov cr3, rax
		{ { 0x0f, 0x20, 0xe0 }, 3 },       // mov rax, cr4
		{ { 0x44, 0x0f, 0x22, 0xc0 }, 4 }, // mov cr8, rax
		{ { 0x0f, 0x23, 0xf8 }, 3 },       // mov dr7, rax
		{ { 0x0f, 0x21, 0xc0 }, 3 },       // mov rax, dr0
		{ { 0x0f, 0x01, 0x10 }, 3 },       // lgdt [rax]
		{ { 0x0f, 0x01, 0x18 }, 3 },       // lidt [rax]
		{ { 0x0f, 0x00, 0xd8 }, 3 },       // ltr ax
		{ { 0x0f, 0x00, 0xd0 }, 3 },       // lldt ax
		{ { 0x0f, 0x32 }, 2 },             // rdmsr
		{ { 0x0f, 0x30 }, 2 },             // wrmsr
		{ { 0x0f, 0x01, 0xf8 }, 3 },       // swapgs
		{ { 0x0f, 0x06 }, 2 },             // clts
		{ { 0x0f, 0x08 }, 2 },             // invd
		{ { 0x0f, 0x09 }, 2 },             // wbinvd
		{ { 0x0f, 0x01, 0xf0 }, 3 },       // lmsw ax
		{ { 0xf4 }, 1 },                   // hlt
		{ { 0xfa }, 1 },                   // cli, IOPL 0
		{ { 0xfb }, 1 },                   // sti, IOPL 0
		{ { 0xec }, 1 },                   // in al, dx
		{ { 0xee }, 1 },                   // out dx, al
		{ { 0x6c }, 1 },                   // insb
		{ { 0x6e }, 1 },                   // outsb
		{ { 0x48, 0x0f, 0x07 }, 3 },       // sysretq (EFER.SCE set below)
		{ { 0x0f, 0x01, 0x38 }, 3 },       // invlpg [rax]
	};
	struct machine *mc = penv_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->efer |= EFER_SCE;
	for (unsigned k = 0; k < ARRAY_SIZE(insns); k++) {
		penv_user_code(mc, insns[k].b, insns[k].len);
		c->rflags &= ~RFLAGS_IF;
		c->r[RAX] = FIX_DATA;
		c->r[RDX] = 0x80;
		c->r[RSI] = c->r[RDI] = FIX_DATA;
		u64 cr0 = c->cr0, cr3 = c->cr3, cr4 = c->cr4;
		EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
		EXPECT_EQ(penv_handler(VEC_GP), c->r[REG_RIP]);
		EXPECT_EQ(0, penv_rd64(mc, c->r[RSP]));
		EXPECT_EQ(P_UCODE, penv_rd64(mc, c->r[RSP] + 8));
		EXPECT_EQ(cr0, c->cr0);
		EXPECT_EQ(cr3, c->cr3);
		EXPECT_EQ(cr4, c->cr4);
		EXPECT_EQ(FIX_DATA, c->r[RAX]);
		if (test_failures())
			fprintf(stderr, "  (instruction %u)\n", k);
	}
	/* With IOPL 3, CLI, STI and port I/O are allowed at CPL 3 (SDM Vol. 1 18.2.1). */
	static const u8 cli[] = { 0xfa };
	penv_user_code(mc, cli, sizeof(cli));
	c->rflags |= RFLAGS_IOPL;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(P_UCODE + 1, c->r[REG_RIP]);
	EXPECT_EQ(0, c->rflags & RFLAGS_IF);
	/* SGDT, SIDT, STR, SLDT and SMSW are not privileged (no UMIP). */
	static const struct {
		u8 b[4], len;
	} allowed[] = { { { 0x0f, 0x01, 0x00 }, 3 }, { { 0x0f, 0x01, 0x08 }, 3 }, { { 0x0f, 0x00, 0xc8 }, 3 },
			{ { 0x0f, 0x00, 0xc0 }, 3 }, { { 0x0f, 0x01, 0xe0 }, 3 } };
	for (unsigned k = 0; k < ARRAY_SIZE(allowed); k++) {
		penv_user_code(mc, allowed[k].b, allowed[k].len);
		c->r[RAX] = FIX_DATA;
		EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
		EXPECT_EQ(P_UCODE + allowed[k].len, c->r[REG_RIP]);
	}
	fixture_free(mc);
}
