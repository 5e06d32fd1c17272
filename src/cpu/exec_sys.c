/* SPDX-License-Identifier: MIT */
/*
 * System and miscellaneous instructions (SDM Vol. 2): the NOP family,
 * PAUSE, ENDBR, CPUID, RDTSC, UD2, HLT, CLI/STI, and port I/O (IN, OUT,
 * INS, OUTS with REP). INT3 lives with INT n in exec_int.c.
 *
 * Model limits, each checked where it matters:
 * - The TSS I/O permission bit map is treated as absent: port I/O with
 *   CPL > IOPL raises #GP(0), which is what a map beyond the TSS limit
 *   gives (SDM Vol. 1, Input/Output, "I/O Permission Bit Map").
 * - RDTSC counts time in instructions (cpu_time, deterministic).
 *
 * Port accesses go to the machine's I/O bus (mem_io_in/mem_io_out). A
 * device may ask the vCPU to stop (the exit port does): the instruction
 * then completes and returns EXEC_STOP so the machine sees it at once.
 */
#include "cpu/exec.h"

#include "mem/mem.h"

/*
 * CPUID: exactly what Facet implements (SDM Vol. 2A CPUID, its tables of
 * leaves and feature flags). Bits not listed are zero.
 *
 *   leaf         reg  value
 *   0            EAX  7, the highest basic leaf
 *                EBX EDX ECX  vendor "FacetVirtCPU" (no real CPU's: no
 *                     software applies another vendor's quirks)
 *   1            EAX  signature: stepping 1, model 1, family 6 (0x611),
 *                     chosen arbitrarily
 *                EBX  31:24 initial APIC ID = vCPU index; no CLFLUSH
 *                     size and no logical-processor count (no HTT)
 *                ECX  13 CX16 (CMPXCHG16B), 17 PCID (mmu), 21 x2APIC
 *                     (apic), 22 MOVBE, 23 POPCNT
 *                EDX  2 DE (CR4.DE: DR4/DR5 raise #UD), 4 TSC, 5 MSR
 *                     (RDMSR/WRMSR, msr.c), 6 PAE (the paging format),
 *                     8 CX8 (CMPXCHG8B), 9 APIC (on-chip, in x2APIC
 *                     mode), 13 PGE (mmu: global pages), 15 CMOV,
 *                     16 PAT (the MSR; no cache model behind it)
 *   2-6          all zero: no cache, monitor or power information
 *   7 (ECX=0)    EBX  3 BMI1, 7 SMEP (mmu), 8 BMI2, 10 INVPCID (mmu),
 *                     20 SMAP with STAC/CLAC (mmu); EAX = 0: no further
 *                     subleaves
 *   0x80000000   EAX  0x80000008, the highest extended leaf
 *   0x80000001   ECX  0 LAHF/SAHF in 64-bit mode, 5 ABM (LZCNT)
 *                EDX  11 SYSCALL/SYSRET, 20 NX, 26 1-GiB pages,
 *                     27 RDTSCP (with IA32_TSC_AUX), 29 LM
 *   0x80000002-4      brand string "Facet virtual x86-64 CPU"
 *   0x80000005-7 all zero
 *   0x80000008   EAX  7:0 MAXPHYADDR (mmu.h), 15:8 48 linear-address bits
 *
 * The CR4 bits MOV to CR4 accepts (exec_priv.c: CR4_VALID) are the ones
 * these features enable: TSD, DE, PAE, PGE, PCE, PCIDE, SMEP, SMAP. A
 * feature another part of Facet implements is listed here (with its
 * owner) when it lands, and its CR4 bit, if any, added to CR4_VALID.
 *
 * Deliberately absent: FPU, MMX, SSE and later (no x87 or vector state
 * yet: guests build with -mgeneral-regs-only, so CR4.OSFXSR is
 * reserved), PSE (4-MiB pages of 32-bit paging), MCE and MCA (no machine
 * checks), MTRR, SEP (SYSENTER), CLFSH, FXSR, FSGSBASE, UMIP, VMX, the
 * x2APIC topology leaf 0Bh, the hypervisor-present bit. A leaf above
 * the highest basic or extended leaf returns the highest basic leaf, as
 * Intel processors do (SDM Vol. 2A CPUID: "the data for the highest
 * basic information leaf is returned").
 */
#define CPUID_MAX_BASIC 0x7u
#define CPUID_MAX_EXT 0x80000008u
#define CPUID_SIGNATURE 0x611u
#define CPUID_1_ECX ((1u << 13) | (1u << 17) | (1u << 21) | (1u << 22) | (1u << 23))
#define CPUID_1_EDX ((1u << 2) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 9) | (1u << 13) | \
		     (1u << 15) | (1u << 16))
#define CPUID_7_EBX ((1u << 3) | (1u << 7) | (1u << 8) | (1u << 10) | (1u << 20))
#define CPUID_X1_ECX ((1u << 0) | (1u << 5))
#define CPUID_X1_EDX ((1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29))
#define LINEAR_BITS 48

static const char cpuid_vendor[12] = "FacetVirtCPU";
static const char cpuid_brand[48] = "Facet virtual x86-64 CPU";

/* Copies 4 bytes of a string into a register value, in CPUID's little-endian order. */
static u32 str4(const char *s)
{
	return (u32)(u8)s[0] | (u32)(u8)s[1] << 8 | (u32)(u8)s[2] << 16 | (u32)(u8)s[3] << 24;
}

/* Fills out[] (EAX, EBX, ECX, EDX) for leaf/subleaf on vCPU c. */
static void cpuid_query(const struct cpu *c, u32 leaf, u32 subleaf, u32 out[4])
{
	out[0] = out[1] = out[2] = out[3] = 0;
	if ((leaf > CPUID_MAX_BASIC && leaf < 0x80000000u) || leaf > CPUID_MAX_EXT)
		leaf = CPUID_MAX_BASIC;
	switch (leaf) {
	case 0:
		out[0] = CPUID_MAX_BASIC;
		out[1] = str4(cpuid_vendor), out[3] = str4(cpuid_vendor + 4), out[2] = str4(cpuid_vendor + 8);
		break;
	case 1:
		out[0] = CPUID_SIGNATURE, out[1] = c->id << 24, out[2] = CPUID_1_ECX, out[3] = CPUID_1_EDX;
		break;
	case 7:
		if (subleaf == 0)
			out[1] = CPUID_7_EBX;
		break;
	case 0x80000000u: out[0] = CPUID_MAX_EXT; break;
	case 0x80000001u: out[2] = CPUID_X1_ECX, out[3] = CPUID_X1_EDX; break;
	case 0x80000002u:
	case 0x80000003u:
	case 0x80000004u:
		for (unsigned k = 0; k < 4; k++)
			out[k] = str4(cpuid_brand + (leaf - 0x80000002u) * 16 + k * 4);
		break;
	case 0x80000008u: out[0] = MAXPHYADDR | LINEAR_BITS << 8; break;
	}
}

/*
 * NOP, 66 NOP, the hint NOPs 0F 18-1F r/m (no memory access, so no
 * fault), PREFETCHh (0F 18 /0-3: a hint with no architectural effect,
 * which never faults), PAUSE, ENDBR32/64 (CET is off: NOP).
 */
static int op_nop(struct cpu *c, const struct insn *i)
{
	return EXEC_NEXT;
}

/* CPUID (0F A2): leaf in EAX, subleaf in ECX; the 32-bit results zero the upper halves. */
static int op_cpuid(struct cpu *c, const struct insn *i)
{
	u32 v[4];
	cpuid_query(c, (u32)c->r[RAX], (u32)c->r[RCX], v);
	c->r[RAX] = v[0], c->r[RBX] = v[1], c->r[RCX] = v[2], c->r[RDX] = v[3];
	return EXEC_NEXT;
}

/*
 * RDTSC (0F 31): EDX:EAX = cpu_time() + tsc_offset, upper halves zeroed.
 * #GP(0) at CPL > 0 when CR4.TSD is set. cpu_run adds a block's
 * instructions to icount when the block ends; RDTSC is INSN_SYNC, so it
 * always starts its own block and icount is exact when it runs.
 */
static int op_rdtsc(struct cpu *c, const struct insn *i)
{
	if ((c->cr4 & CR4_TSD) && c->cpl != 0)
		return cpu_raise(c, VEC_GP, true, 0);
	u64 tsc = cpu_time(c) + c->tsc_offset;
	c->r[RAX] = (u32)tsc;
	c->r[RDX] = tsc >> 32;
	return EXEC_NEXT;
}

/* UD2 (0F 0B): the architecturally undefined instruction. */
static int op_ud2(struct cpu *c, const struct insn *i)
{
	return cpu_raise(c, VEC_UD, false, 0);
}

/*
 * HLT (F4): CPL 0 only, else #GP(0). The vCPU halts with RIP after HLT,
 * where an interrupt handler returns to. The run loop wakes it when an
 * interrupt can be delivered (RFLAGS.IF = 1, the APIC has one), at once
 * if one is already pending; otherwise cpu_run returns CPU_STOP_HLT and
 * the machine lets time pass (idle) until the APIC timer or another
 * vCPU's IPI brings one. With IF = 0 nothing can, and the machine ends
 * the run when no vCPU can go on.
 */
static int op_hlt(struct cpu *c, const struct insn *i)
{
	if (c->cpl != 0)
		return cpu_raise(c, VEC_GP, true, 0);
	c->halted = true;
	c->r[REG_RIP] += i->len;
	return EXEC_STOP;
}

/* True when CPL <= IOPL: CLI, STI and port I/O are allowed (SDM Vol. 1, "I/O Privilege Level"). */
static inline bool iopl_ok(const struct cpu *c)
{
	return c->cpl <= (c->rflags & RFLAGS_IOPL) >> 12;
}

/*
 * CLI (FA) and STI (FB), allowed when CPL <= IOPL, else #GP(0). IF is not
 * a lazy flag, so RFLAGS is edited directly. STI that sets IF holds
 * interrupts off until the next instruction has retired (SDM Vol. 2B
 * STI: so `STI; HLT` cannot lose a wake-up and `STI; RET` returns
 * first): the selector makes STI start its own block, so icount is exact
 * here and shadow_at is the count once STI has retired.
 */
static int op_cli(struct cpu *c, const struct insn *i)
{
	if (!iopl_ok(c))
		return cpu_raise(c, VEC_GP, true, 0);
	c->rflags &= ~RFLAGS_IF;
	return EXEC_NEXT;
}

static int op_sti(struct cpu *c, const struct insn *i)
{
	if (!iopl_ok(c))
		return cpu_raise(c, VEC_GP, true, 0);
	if (!(c->rflags & RFLAGS_IF)) {
		c->rflags |= RFLAGS_IF;
		c->shadow_at = c->icount + 1;
		cpu_kick(c);
	}
	return EXEC_NEXT;
}

/* Ends a port access: stops the vCPU after this instruction if a device asked for it. */
static inline int io_done(struct cpu *c, const struct insn *i)
{
	if (unlikely(c->stop_request)) {
		c->r[REG_RIP] += i->len;
		return EXEC_STOP;
	}
	return EXEC_NEXT;
}

/* IN AL/AX/EAX from port `port`: writing EAX zeroes RAX's upper half, AL and AX keep the rest. */
static inline int in_common(struct cpu *c, const struct insn *i, u16 port)
{
	if (!iopl_ok(c))
		return cpu_raise(c, VEC_GP, true, 0);
	cpu_reg_set(c, RAX, i->osz, mem_io_in(c->mem, port, i->osz));
	return io_done(c, i);
}

/* OUT AL/AX/EAX to port `port`. */
static inline int out_common(struct cpu *c, const struct insn *i, u16 port)
{
	if (!iopl_ok(c))
		return cpu_raise(c, VEC_GP, true, 0);
	mem_io_out(c->mem, port, i->osz, (u32)cpu_reg_get(c, RAX, i->osz));
	return io_done(c, i);
}

/* IN AL/eAX, imm8 (E4, E5) and IN AL/eAX, DX (EC, ED). */
static int op_in_eAX_Ib(struct cpu *c, const struct insn *i)
{
	return in_common(c, i, (u8)i->imm);
}
static int op_in_eAX_DX(struct cpu *c, const struct insn *i)
{
	return in_common(c, i, (u16)c->r[RDX]);
}

/* OUT imm8, AL/eAX (E6, E7) and OUT DX, AL/eAX (EE, EF). */
static int op_out_Ib_eAX(struct cpu *c, const struct insn *i)
{
	return out_common(c, i, (u8)i->imm);
}
static int op_out_DX_eAX(struct cpu *c, const struct insn *i)
{
	return out_common(c, i, (u16)c->r[RDX]);
}

/*
 * INS and OUTS (SDM Vol. 2A INS/INSB/INSW/INSD, Vol. 2B OUTS): string
 * port I/O through RDI (INS, ES:, no override: ES's base is 0 in 64-bit
 * mode) or RSI (OUTS, DS: or an FS/GS override), stepping by the operand
 * size, backwards when RFLAGS.DF is set. With 67h the pointers and the
 * count are ESI/EDI/ECX, written back zero-extended.
 *
 * With REP (F3, or F2, which the processor treats alike here) the count
 * is RCX; each iteration commits its pointer and count updates, so a
 * fault in iteration k leaves RIP at the instruction and the registers
 * describing k completed iterations, as the SDM's REP description
 * requires. INS probes its memory write before reading the port, so a
 * fault does not consume device input. Between chunks of STRIO_CHUNK
 * iterations, or after a device asked to stop, the handler returns
 * EXEC_RETRY with RIP unchanged, and the instruction resumes later.
 */
#define STRIO_CHUNK 1024

/* Adds delta to the pointer register n at the instruction's address size. */
static inline void strio_advance(struct cpu *c, const struct insn *i, unsigned n, s64 delta)
{
	u64 v = c->r[n] + (u64)delta;
	c->r[n] = (i->flags & INSN_ADDR32) ? (u32)v : v;
}

static inline u64 strio_addr(const struct cpu *c, const struct insn *i, unsigned n)
{
	return (i->flags & INSN_ADDR32) ? (u32)c->r[n] : c->r[n];
}

/* One INS iteration. */
static int ins_once(struct cpu *c, const struct insn *i, s64 delta)
{
	gva_t dst = strio_addr(c, i, RDI);
	if (cpu_probe(c, dst, i->osz, ACC_WRITE))
		return EXEC_FAULT;
	u32 v = mem_io_in(c->mem, (u16)c->r[RDX], i->osz);
	if (cpu_write(c, dst, i->osz, v))
		return EXEC_FAULT;
	strio_advance(c, i, RDI, delta);
	return 0;
}

/* One OUTS iteration. */
static int outs_once(struct cpu *c, const struct insn *i, s64 delta)
{
	u64 v;
	if (cpu_read(c, strio_addr(c, i, RSI) + c->seg_base[i->seg], i->osz, &v))
		return EXEC_FAULT;
	mem_io_out(c->mem, (u16)c->r[RDX], i->osz, (u32)v);
	strio_advance(c, i, RSI, delta);
	return 0;
}

typedef int (*strio_fn)(struct cpu *c, const struct insn *i, s64 delta);

/* Runs one string I/O instruction, repeated or not (see above). */
static int strio_run(struct cpu *c, const struct insn *i, strio_fn once)
{
	if (!iopl_ok(c))
		return cpu_raise(c, VEC_GP, true, 0);
	s64 delta = (c->rflags & RFLAGS_DF) ? -(s64)i->osz : (s64)i->osz;
	if (!(i->flags & (INSN_REP | INSN_REPNE))) {
		if (once(c, i, delta))
			return EXEC_FAULT;
		return io_done(c, i);
	}
	u64 cmask = (i->flags & INSN_ADDR32) ? 0xffffffffULL : ~0ULL;
	for (unsigned n = 0; c->r[RCX] & cmask; n++) {
		if (n == STRIO_CHUNK || c->stop_request) {
			if (c->stop_request)
				cpu_kick(c); // the run loop sees stop requests when it services events
			return EXEC_RETRY;
		}
		if (once(c, i, delta))
			return EXEC_FAULT;
		c->r[RCX] = (c->r[RCX] - 1) & cmask;
	}
	return io_done(c, i);
}

static int op_ins_Y_DX(struct cpu *c, const struct insn *i)
{
	return strio_run(c, i, ins_once);
}

static int op_outs_DX_X(struct cpu *c, const struct insn *i)
{
	return strio_run(c, i, outs_once);
}

static insn_fn sel_nop(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	return op_nop;
}

static insn_fn sel_one(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_CPUID: return op_cpuid;
	case ZYDIS_MNEMONIC_RDTSC: i->flags |= INSN_SYNC | INSN_TERM; return op_rdtsc;
	case ZYDIS_MNEMONIC_UD2: return op_ud2;
	case ZYDIS_MNEMONIC_HLT: return op_hlt;
	case ZYDIS_MNEMONIC_CLI: return op_cli;
	case ZYDIS_MNEMONIC_STI: i->flags |= INSN_SYNC | INSN_TERM; return op_sti;
	default: return NULL;
	}
}

/* Port accesses are at most 32 bits: REX.W does not widen them (SDM Vol. 2 IN, OUT, INS, OUTS). */
static void clamp_port_size(struct insn *i)
{
	if (i->osz > 4)
		i->osz = 4;
}

/* IN: operand 0 is AL/AX/EAX, operand 1 imm8 or DX. */
static insn_fn sel_in(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	clamp_port_size(i);
	return i->k[1] == OPK_IMM ? op_in_eAX_Ib : op_in_eAX_DX;
}

/* OUT: operand 0 is imm8 or DX, operand 1 AL/AX/EAX. */
static insn_fn sel_out(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	clamp_port_size(i);
	return i->k[0] == OPK_IMM ? op_out_Ib_eAX : op_out_DX_eAX;
}

/*
 * INS*, OUTS*: the memory operand is hidden, so the decoder's common
 * path did not record the segment override or the address size; this
 * selector does (the override matters for OUTS only).
 */
static insn_fn sel_strio(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	clamp_port_size(i);
	if (zi->address_width == 32)
		i->flags |= INSN_ADDR32;
	for (unsigned n = 0; n < zi->operand_count; n++) {
		if (zo[n].type != ZYDIS_OPERAND_TYPE_MEMORY)
			continue;
		if (zo[n].mem.segment == ZYDIS_REGISTER_FS)
			i->seg = SEG_FS;
		else if (zo[n].mem.segment == ZYDIS_REGISTER_GS)
			i->seg = SEG_GS;
	}
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_INSB:
	case ZYDIS_MNEMONIC_INSW:
	case ZYDIS_MNEMONIC_INSD: return op_ins_Y_DX;
	default: return op_outs_DX_X;
	}
}

const struct op_entry exec_sys_ops[] = {
	{ ZYDIS_MNEMONIC_NOP, sel_nop },     { ZYDIS_MNEMONIC_PAUSE, sel_nop },
	{ ZYDIS_MNEMONIC_ENDBR64, sel_nop }, { ZYDIS_MNEMONIC_ENDBR32, sel_nop },
	{ ZYDIS_MNEMONIC_PREFETCHNTA, sel_nop }, { ZYDIS_MNEMONIC_PREFETCHT0, sel_nop },
	{ ZYDIS_MNEMONIC_PREFETCHT1, sel_nop }, { ZYDIS_MNEMONIC_PREFETCHT2, sel_nop },
	{ ZYDIS_MNEMONIC_CPUID, sel_one },   { ZYDIS_MNEMONIC_RDTSC, sel_one },
	{ ZYDIS_MNEMONIC_UD2, sel_one },
	{ ZYDIS_MNEMONIC_HLT, sel_one },     { ZYDIS_MNEMONIC_CLI, sel_one },
	{ ZYDIS_MNEMONIC_STI, sel_one },     { ZYDIS_MNEMONIC_IN, sel_in },
	{ ZYDIS_MNEMONIC_OUT, sel_out },     { ZYDIS_MNEMONIC_INSB, sel_strio },
	{ ZYDIS_MNEMONIC_INSW, sel_strio },  { ZYDIS_MNEMONIC_INSD, sel_strio },
	{ ZYDIS_MNEMONIC_OUTSB, sel_strio }, { ZYDIS_MNEMONIC_OUTSW, sel_strio },
	{ ZYDIS_MNEMONIC_OUTSD, sel_strio }, { ZYDIS_MNEMONIC_INVALID, NULL },
};
