/* SPDX-License-Identifier: MIT */
/*
 * System-register instructions (SDM Vol. 2): MOV to and from CR0, CR2,
 * CR3, CR4, CR8, DR0-DR7 and the segment registers; LGDT, LIDT, SGDT,
 * SIDT, LTR, STR, LLDT, SLDT; LMSW, SMSW, CLTS, INVD, WBINVD; RDMSR,
 * WRMSR, SWAPGS, RDTSCP.
 *
 * Every privileged one raises #GP(0) at CPL > 0 before anything else
 * (after the #UD of an encoding that does not exist). Reserved bits
 * raise #GP(0) before any state changes; the MMU is told about CR0, CR3
 * and CR4 changes afterwards (mmu.h), and decides what to flush.
 *
 * Model limits:
 * - Debug registers are storage only: no breakpoints, no #DB, DR7.GD
 *   has no effect (breakpoints come later).
 * - SGDT, SIDT, SLDT, STR and SMSW are allowed at any CPL (no CR4.UMIP).
 * - INVD and WBINVD do nothing: Facet has no caches.
 * Writes to CR0, CR3, CR4, DR7, SS and MSRs end the decoded block, so
 * the next instruction is fetched under the new state.
 */
#include "cpu/exec_priv.h"

#include "cpu/apic.h"
#include "cpu/exec.h"
#include "cpu/msr.h"
#include "cpu/segment.h"

#define APIC_MSR_TPR 0x808u // x2APIC task priority: CR8 is TPR[7:4] (SDM Vol. 3A 10.8.6.1)

#define CR0_WRITABLE (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)
/* CR4 bits Facet implements, as CPUID reports them (exec_sys.c); the rest are reserved. */
#define CR4_VALID (CR4_TSD | CR4_DE | CR4_PAE | CR4_PGE | CR4_PCE | CR4_PCIDE | CR4_SMEP | CR4_SMAP)

/* DR6 and DR7 fixed bits (SDM Vol. 3B 17.2.3, 17.2.4). */
#define DR6_WRITABLE 0xe00fULL   // B0-B3, BD, BS, BT
#define DR6_ONES 0xffff0ff0ULL   // bits 4-11 and 16-31 read as 1
#define DR7_WRITABLE 0xffff27ffULL // everything in 31:0 but bits 11, 12, 14, 15
#define DR7_ONES 0x400ULL

static inline int gp0(struct cpu *c)
{
	return cpu_raise(c, VEC_GP, true, 0);
}

/* CR0: bits 63:32 reserved, reserved bits of 31:0 ignored, ET fixed; PG needs PE, NW needs CD; PG stays in IA-32e mode. */
static int cr0_write(struct cpu *c, u64 v)
{
	if (v >> 32)
		return gp0(c);
	v = (v & CR0_WRITABLE) | CR0_ET;
	if (((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD)) || !(v & CR0_PG))
		return gp0(c); // clearing PG would leave long mode, which the SDM allows only outside 64-bit code
	u64 old = c->cr0;
	c->cr0 = v;
	mmu_cr0_cr4_written(c, old, c->cr4);
	return 0;
}

/* CR3: bits 63:MAXPHYADDR reserved, except 63 (no flush) with CR4.PCIDE; mmu_cr3_write stores it. */
static int cr3_write(struct cpu *c, u64 v)
{
	u64 rsv = ~((1ULL << MAXPHYADDR) - 1);
	if (c->cr4 & CR4_PCIDE)
		rsv &= ~CR3_NOFLUSH;
	if (v & rsv)
		return gp0(c);
	mmu_cr3_write(c, v);
	return 0;
}

/* CR4: only implemented bits; PAE stays set in IA-32e mode; PCIDE may be set only with CR3[11:0] = 0. */
static int cr4_write(struct cpu *c, u64 v)
{
	if ((v & ~CR4_VALID) || !(v & CR4_PAE))
		return gp0(c);
	if ((v & CR4_PCIDE) && !(c->cr4 & CR4_PCIDE) && (c->cr3 & CR3_PCID))
		return gp0(c);
	u64 old = c->cr4;
	c->cr4 = v;
	mmu_cr0_cr4_written(c, c->cr0, old);
	return 0;
}

/* CR8: bits 63:4 reserved; the APIC's TPR holds it, and lowering it may unmask an interrupt. */
static int cr8_write(struct cpu *c, u64 v)
{
	if ((v >> 4) || apic_msr_write(c, APIC_MSR_TPR, v << 4))
		return gp0(c);
	cpu_kick(c);
	return 0;
}

static u64 cr8_read(struct cpu *c)
{
	u64 tpr = 0;
	if (apic_msr_read(c, APIC_MSR_TPR, &tpr))
		return 0;
	return (tpr >> 4) & 0xf;
}

/* MOV CRn, r64 (0F 22): CR number in imm, source register operand 1. */
static int op_mov_Cd_Rq(struct cpu *c, const struct insn *i)
{
	u64 v = c->r[i->r[1]];
	if (c->cpl)
		return gp0(c);
	switch (i->imm) {
	case 0: return cr0_write(c, v) ? EXEC_FAULT : EXEC_NEXT;
	case 2: c->cr2 = v; return EXEC_NEXT;
	case 3: return cr3_write(c, v) ? EXEC_FAULT : EXEC_NEXT;
	case 4: return cr4_write(c, v) ? EXEC_FAULT : EXEC_NEXT;
	default: return cr8_write(c, v) ? EXEC_FAULT : EXEC_NEXT;
	}
}

/* MOV r64, CRn (0F 20). */
static int op_mov_Rq_Cd(struct cpu *c, const struct insn *i)
{
	if (c->cpl)
		return gp0(c);
	u64 v;
	switch (i->imm) {
	case 0: v = c->cr0; break;
	case 2: v = c->cr2; break;
	case 3: v = c->cr3; break;
	case 4: v = c->cr4; break;
	default: v = cr8_read(c); break;
	}
	c->r[i->r[0]] = v;
	return EXEC_NEXT;
}

/* Maps DR4/DR5 to DR6/DR7 when CR4.DE = 0; returns -1 (#UD) when CR4.DE = 1 (SDM Vol. 3B 17.2.2). */
static int dr_index(const struct cpu *c, unsigned n)
{
	if (n == 4 || n == 5)
		return (c->cr4 & CR4_DE) ? -1 : (int)n + 2;
	return (int)n;
}

/* MOV DRn, r64 (0F 23): DR6 and DR7 take only bits 31:0 (#GP(0) otherwise). */
static int op_mov_Dd_Rq(struct cpu *c, const struct insn *i)
{
	u64 v = c->r[i->r[1]];
	if (c->cpl)
		return gp0(c);
	int n = dr_index(c, (unsigned)i->imm);
	if (n < 0)
		return cpu_raise(c, VEC_UD, false, 0);
	if (n >= 6 && (v >> 32))
		return gp0(c);
	c->dr[n] = n == 6 ? (v & DR6_WRITABLE) | DR6_ONES : n == 7 ? (v & DR7_WRITABLE) | DR7_ONES : v;
	return EXEC_NEXT;
}

/* MOV r64, DRn (0F 21). */
static int op_mov_Rq_Dd(struct cpu *c, const struct insn *i)
{
	if (c->cpl)
		return gp0(c);
	int n = dr_index(c, (unsigned)i->imm);
	if (n < 0)
		return cpu_raise(c, VEC_UD, false, 0);
	c->r[i->r[0]] = c->dr[n];
	return EXEC_NEXT;
}

/*
 * Loads segment register s (not CS). MOV SS holds interrupts off until
 * the next instruction retires (SDM Vol. 2B MOV: "inhibits all
 * interrupts until after the execution of the next instruction"), so a
 * MOV SS / MOV RSP pair is never split; the selector makes MOV SS start
 * its own block so that icount is exact here.
 */
static int mov_to_sreg(struct cpu *c, enum sreg s, u16 sel)
{
	if (s != SREG_SS)
		return seg_load_data(c, s, sel) ? EXEC_FAULT : EXEC_NEXT;
	if (seg_load_ss(c, sel))
		return EXEC_FAULT;
	c->shadow_at = c->icount + 1;
	return EXEC_NEXT;
}

/* MOV Sreg, r16 / m16 (8E): Sreg number in imm. */
static int op_mov_Sw_Rw(struct cpu *c, const struct insn *i)
{
	return mov_to_sreg(c, (enum sreg)i->imm, (u16)c->r[i->r[1]]);
}

static int op_mov_Sw_Mw(struct cpu *c, const struct insn *i)
{
	u64 sel;
	if (cpu_read(c, cpu_ea(c, i), 2, &sel))
		return EXEC_FAULT;
	return mov_to_sreg(c, (enum sreg)i->imm, (u16)sel);
}

/* MOV r/m, Sreg (8C): a register gets the selector zero-extended to the operand size, memory 16 bits. */
static int op_mov_Rv_Sw(struct cpu *c, const struct insn *i)
{
	cpu_reg_set(c, i->r[0], i->osz, c->seg[i->imm].sel);
	return EXEC_NEXT;
}

static int op_mov_Mw_Sw(struct cpu *c, const struct insn *i)
{
	return cpu_write(c, cpu_ea(c, i), 2, c->seg[i->imm].sel);
}

/* Returns the control (0), debug (1) or segment (2) register class of a Zydis register, with its number; -1 if none. */
static int special_reg(ZydisRegister r, unsigned *n)
{
	if (r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15)
		return *n = r - ZYDIS_REGISTER_CR0, 0;
	if (r >= ZYDIS_REGISTER_DR0 && r <= ZYDIS_REGISTER_DR15)
		return *n = r - ZYDIS_REGISTER_DR0, 1;
	if (r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS)
		return *n = r - ZYDIS_REGISTER_ES, 2;
	return -1;
}

/* CR1, CR5-CR7, CR9-CR15 and DR8-DR15 do not exist (#UD); MOV to CS is not an instruction. */
static bool special_exists(int cls, unsigned n, bool to)
{
	switch (cls) {
	case 0: return n == 0 || n == 2 || n == 3 || n == 4 || n == 8;
	case 1: return n < 8;
	default: return !(to && n == SREG_CS);
	}
}

insn_fn priv_sel_mov(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	static const insn_fn to[3] = { op_mov_Cd_Rq, op_mov_Dd_Rq, NULL }, from[3] = { op_mov_Rq_Cd, op_mov_Rq_Dd, NULL };
	unsigned n = 0;
	bool is_to = zo[0].type == ZYDIS_OPERAND_TYPE_REGISTER && special_reg(zo[0].reg.value, &n) >= 0;
	int cls = special_reg(zo[is_to ? 0 : 1].reg.value, &n);
	if ((i->flags & INSN_LOCK) || i->nops != 2 || zo[is_to ? 0 : 1].type != ZYDIS_OPERAND_TYPE_REGISTER || cls < 0 ||
	    !special_exists(cls, n, is_to))
		return NULL;
	i->imm = n;
	if (cls < 2) {
		if (i->k[is_to ? 1 : 0] != OPK_REG)
			return NULL;
		if (is_to)
			i->flags |= INSN_TERM;
		return is_to ? to[cls] : from[cls];
	}
	if (is_to && n == SREG_SS)
		i->flags |= INSN_SYNC | INSN_TERM;
	if (is_to)
		return i->k[1] == OPK_REG ? op_mov_Sw_Rw : op_mov_Sw_Mw;
	return i->k[0] == OPK_REG ? op_mov_Rv_Sw : op_mov_Mw_Sw;
}

/* LGDT / LIDT m16&64 (0F 01 /2, /3): limit, then a base that must be canonical (64-bit mode). */
static int load_dtr(struct cpu *c, const struct insn *i, struct dtr *d)
{
	u64 limit, base;
	gva_t ea = cpu_ea(c, i);
	if (c->cpl)
		return gp0(c);
	if (cpu_read(c, ea, 2, &limit) || cpu_read(c, ea + 2, 8, &base))
		return EXEC_FAULT;
	if (!mmu_is_canonical(base))
		return gp0(c);
	d->limit = (u16)limit;
	d->base = base;
	return EXEC_NEXT;
}

static int op_lgdt_M(struct cpu *c, const struct insn *i)
{
	return load_dtr(c, i, &c->gdtr);
}

static int op_lidt_M(struct cpu *c, const struct insn *i)
{
	return load_dtr(c, i, &c->idtr);
}

/* SGDT / SIDT m16&64: both stores are probed first, so a fault writes nothing. */
static int store_dtr(struct cpu *c, const struct insn *i, const struct dtr *d)
{
	gva_t ea = cpu_ea(c, i);
	if (cpu_probe(c, ea, 10, ACC_WRITE) || cpu_write(c, ea, 2, d->limit) || cpu_write(c, ea + 2, 8, d->base))
		return EXEC_FAULT;
	return EXEC_NEXT;
}

static int op_sgdt_M(struct cpu *c, const struct insn *i)
{
	return store_dtr(c, i, &c->gdtr);
}

static int op_sidt_M(struct cpu *c, const struct insn *i)
{
	return store_dtr(c, i, &c->idtr);
}

/* Reads a 16-bit selector or word operand (register or memory). */
static int read_word(struct cpu *c, const struct insn *i, u64 *v)
{
	return opnd_read(c, i, 0, 2, v);
}

/* Writes a selector or word result: a register gets it zero-extended to the operand size, memory 16 bits. */
static int write_word(struct cpu *c, const struct insn *i, u64 v)
{
	if (i->k[0] == OPK_REG) {
		cpu_reg_set(c, i->r[0], i->osz, v);
		return EXEC_NEXT;
	}
	return cpu_write(c, cpu_ea(c, i), 2, v);
}

/* LTR / LLDT r/m16 (0F 00 /3, /2): CPL 0; the checks are segment.c's. */
static int op_ltr_Ew(struct cpu *c, const struct insn *i)
{
	u64 sel;
	if (c->cpl)
		return gp0(c);
	if (read_word(c, i, &sel) || seg_load_tr(c, (u16)sel))
		return EXEC_FAULT;
	return EXEC_NEXT;
}

static int op_lldt_Ew(struct cpu *c, const struct insn *i)
{
	u64 sel;
	if (c->cpl)
		return gp0(c);
	if (read_word(c, i, &sel) || seg_load_ldtr(c, (u16)sel))
		return EXEC_FAULT;
	return EXEC_NEXT;
}

static int op_str_Ev(struct cpu *c, const struct insn *i)
{
	return write_word(c, i, c->seg[SREG_TR].sel);
}

static int op_sldt_Ev(struct cpu *c, const struct insn *i)
{
	return write_word(c, i, c->seg[SREG_LDTR].sel);
}

/* SMSW (0F 01 /4): a register gets CR0 (truncated to the operand size), memory its low 16 bits. */
static int op_smsw_Ev(struct cpu *c, const struct insn *i)
{
	return write_word(c, i, c->cr0);
}

/* LMSW r/m16 (0F 01 /6): loads CR0 bits 3:0 (PE MP EM TS); it can set PE but not clear it. */
static int op_lmsw_Ew(struct cpu *c, const struct insn *i)
{
	u64 v;
	if (c->cpl)
		return gp0(c);
	if (read_word(c, i, &v))
		return EXEC_FAULT;
	return cr0_write(c, (c->cr0 & ~0xfULL) | (v & 0xf) | (c->cr0 & CR0_PE)) ? EXEC_FAULT : EXEC_NEXT;
}

/* CLTS (0F 06): clears CR0.TS. */
static int op_clts(struct cpu *c, const struct insn *i)
{
	if (c->cpl)
		return gp0(c);
	c->cr0 &= ~CR0_TS;
	return EXEC_NEXT;
}

/* INVD, WBINVD: CPL 0, no caches to act on. */
static int op_wbinvd(struct cpu *c, const struct insn *i)
{
	return c->cpl ? gp0(c) : EXEC_NEXT;
}

/* RDMSR (0F 32): EDX:EAX = MSR[ECX]; #GP(0) at CPL > 0 or for an MSR msr.c does not have. */
static int op_rdmsr(struct cpu *c, const struct insn *i)
{
	u64 v;
	if (c->cpl || msr_read(c, (u32)c->r[RCX], &v))
		return gp0(c);
	c->r[RAX] = (u32)v;
	c->r[RDX] = v >> 32;
	return EXEC_NEXT;
}

/* WRMSR (0F 30): MSR[ECX] = EDX:EAX. */
static int op_wrmsr(struct cpu *c, const struct insn *i)
{
	u64 v = (u32)c->r[RAX] | c->r[RDX] << 32;
	if (c->cpl || msr_write(c, (u32)c->r[RCX], v))
		return gp0(c);
	return EXEC_NEXT;
}

/* SWAPGS (0F 01 F8): exchanges GS.base and IA32_KERNEL_GS_BASE; CPL 0 only. */
static int op_swapgs(struct cpu *c, const struct insn *i)
{
	if (c->cpl)
		return gp0(c);
	u64 t = c->seg_base[SEG_GS];
	c->seg_base[SEG_GS] = c->kernel_gs_base;
	c->kernel_gs_base = t;
	return EXEC_NEXT;
}

/* RDTSCP (0F 01 F9): EDX:EAX = TSC, ECX = IA32_TSC_AUX[31:0]; #GP(0) at CPL > 0 with CR4.TSD. */
static int op_rdtscp(struct cpu *c, const struct insn *i)
{
	if ((c->cr4 & CR4_TSD) && c->cpl)
		return gp0(c);
	u64 tsc = cpu_time(c) + c->tsc_offset;
	c->r[RAX] = (u32)tsc;
	c->r[RDX] = tsc >> 32;
	c->r[RCX] = (u32)c->tsc_aux;
	return EXEC_NEXT;
}

/* Selector for the forms with a memory operand only (LGDT..SIDT). */
static insn_fn sel_dtr(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || i->k[0] != OPK_MEM)
		return NULL;
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_LGDT: return op_lgdt_M;
	case ZYDIS_MNEMONIC_LIDT: return op_lidt_M;
	case ZYDIS_MNEMONIC_SGDT: return op_sgdt_M;
	default: return op_sidt_M;
	}
}

/* Selector for the forms with one register-or-memory operand. */
static insn_fn sel_word(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || (i->k[0] != OPK_REG && i->k[0] != OPK_MEM))
		return NULL;
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_LTR: return op_ltr_Ew;
	case ZYDIS_MNEMONIC_LLDT: return op_lldt_Ew;
	case ZYDIS_MNEMONIC_STR: return op_str_Ev;
	case ZYDIS_MNEMONIC_SLDT: return op_sldt_Ev;
	case ZYDIS_MNEMONIC_SMSW: return op_smsw_Ev;
	default: i->flags |= INSN_TERM; return op_lmsw_Ew;
	}
}

/* Selector for the forms without explicit operands. */
static insn_fn sel_plain(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if (i->flags & INSN_LOCK)
		return NULL;
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_CLTS: return op_clts;
	case ZYDIS_MNEMONIC_INVD:
	case ZYDIS_MNEMONIC_WBINVD: return op_wbinvd;
	case ZYDIS_MNEMONIC_RDMSR: i->flags |= INSN_SYNC | INSN_TERM; return op_rdmsr; // TSC reads need an exact icount
	case ZYDIS_MNEMONIC_WRMSR: i->flags |= INSN_SYNC | INSN_TERM; return op_wrmsr;
	case ZYDIS_MNEMONIC_SWAPGS: return op_swapgs;
	case ZYDIS_MNEMONIC_RDTSCP: i->flags |= INSN_SYNC | INSN_TERM; return op_rdtscp;
	default: return NULL;
	}
}

const struct op_entry exec_priv_ops[] = {
	{ ZYDIS_MNEMONIC_LGDT, sel_dtr },    { ZYDIS_MNEMONIC_LIDT, sel_dtr },
	{ ZYDIS_MNEMONIC_SGDT, sel_dtr },    { ZYDIS_MNEMONIC_SIDT, sel_dtr },
	{ ZYDIS_MNEMONIC_LTR, sel_word },    { ZYDIS_MNEMONIC_LLDT, sel_word },
	{ ZYDIS_MNEMONIC_STR, sel_word },    { ZYDIS_MNEMONIC_SLDT, sel_word },
	{ ZYDIS_MNEMONIC_SMSW, sel_word },   { ZYDIS_MNEMONIC_LMSW, sel_word },
	{ ZYDIS_MNEMONIC_CLTS, sel_plain },  { ZYDIS_MNEMONIC_INVD, sel_plain },
	{ ZYDIS_MNEMONIC_WBINVD, sel_plain }, { ZYDIS_MNEMONIC_RDMSR, sel_plain },
	{ ZYDIS_MNEMONIC_WRMSR, sel_plain }, { ZYDIS_MNEMONIC_SWAPGS, sel_plain },
	{ ZYDIS_MNEMONIC_RDTSCP, sel_plain }, { ZYDIS_MNEMONIC_INVALID, NULL },
};
