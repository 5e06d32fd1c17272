/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the privileged architecture (issue 3, bad input;
 * DESIGN section 7: a bad guest gets a guest fault or a triple fault,
 * never a host crash or hang). The input drives a generator that builds a
 * machine at CPL 0 with plausible but often broken system state: page
 * tables (reserved bits, loops, tables outside RAM, misaligned large
 * pages), a GDT and LDT, an IDT, TSSs, MSRs and the APIC timer; and a code
 * area of 64-byte slots, each holding one template: LGDT/LIDT/LTR, MOV
 * CR/DR/Sreg, far JMP/CALL/RET, IRETQ, SYSCALL/SYSRET, SWAPGS, RDMSR/
 * WRMSR (the x2APIC range too), INT n, INVLPG/INVPCID, CLI/STI/HLT,
 * POPF, stores into the tables themselves, ordinary instructions and raw
 * input bytes. Gates, far pointers and frames point at slot starts, so
 * control keeps moving through the templates.
 *
 * It runs the guest one of three ways (cpu_run rounds, cpu_step, or a
 * 2-vCPU machine_run with an instruction limit) and after every stop
 * checks what the SDM guarantees of any reachable state: the VM-entry
 * guest-state rules of Vol. 3C 27.3.1 (26.3.1 in older editions) for a
 * 64-bit guest (CR0/CR4/EFER, RFLAGS, CS/SS/TR/LDTR and data segment
 * caches, canonical bases), CPL = CS.RPL = SS.DPL, and that stops are
 * reported consistently (exception.h: CPU_STOP_EXCEPTION only without an
 * IDT, triple fault = shutdown), within the instruction bound; a second
 * machine built from the same input must run the same way (issue 3,
 * determinism). CPL 1 and 2 are reachable (a far return to conforming
 * code), as on hardware, so the CPL is checked against CS, not for 0/3.
 *
 * Input: consumed byte by byte; the first picks the run mode (0, 1, 2).
 * Where bytes run out they read as zeros, and zeros make every choice
 * the sane one, so a short input is a working kernel-like machine.
 * tests/unit/garbage_test.c includes this file and feeds it seeded random
 * inputs, so `make test` runs the same generator without libFuzzer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/dcache.h"
#include "cpu/flags.h"
#include "cpu/msr.h"
#include "cpu/segment.h"
#include "mem/mem.h"
#include "mmu/tlb.h"
#include "vmm/machine.h"

/* Guest-physical layout; the generated tables map it 1:1 (and again at 1 GiB). */
#define GP_MEM (16ULL << 20)
#define GP_CODE 0x200020ULL    // code slots: slot 63 straddles the page boundary at 0x201000
#define GP_SLOTS 96            // 64-byte slots: 6 KiB
#define GP_SLOT 64
#define GP_DATA 0x300000ULL    // 32 bytes of operands per slot (far pointers, DTR images)
#define GP_STACK0 0x3f0000ULL  // vCPU 0's RSP
#define GP_STACK1 0x3e0000ULL  // vCPU 1's RSP
#define GP_RSP0 0x3d0000ULL    // TSS.RSP0 (TSS 2: 0x3c8000)
#define GP_IST 0x3c0000ULL     // IST n at GP_IST - n * 0x2000
#define GP_GDT 0x500000ULL
#define GP_LDT 0x500800ULL
#define GP_IDT 0x501000ULL
#define GP_TSS 0x502000ULL
#define GP_TSS2 0x503000ULL
#define GP_PT 0x600000ULL      // page tables: see build_paging
#define ALIAS 0x40000000ULL    // the 1 GiB page of PDPT[1] maps physical 0 again here

#define PT_PML4 (GP_PT + 0x0000)
#define PT_PDPT (GP_PT + 0x1000)
#define PT_PD (GP_PT + 0x2000)
#define PT_CODE (GP_PT + 0x3000) // 4 KiB pages of 0x200000-0x3fffff
#define PT_SELF (GP_PT + 0x4000) // 4 KiB pages of 0x600000-0x7fffff (the tables)
#define PT_PML4B (GP_PT + 0x5000) // the other address space's PML4
#define PT_TABLES 6

#define PG_P 0x1ULL
#define PG_RW 0x2ULL
#define PG_US 0x4ULL
#define PG_PS 0x80ULL
#define PG_G 0x100ULL
#define PG_NX (1ULL << 63)

/* GDT selectors (LDT ones have TI set). */
#define S_KCODE 0x08
#define S_KDATA 0x10
#define S_UCODE32 0x18
#define S_UDATA 0x20
#define S_UCODE 0x28
#define S_TSS 0x30
#define S_TSS2 0x40
#define S_CONF 0x50
#define S_LDT 0x58
#define S_KCODE_NP 0x68
#define S_RODATA 0x70
#define S_RANDOM 0x78 // 0x78-0xf8: descriptors taken from the input
#define GDT_ENTRIES 32

#define RUN_ROUNDS 6      // cpu_run mode: rounds of ...
#define RUN_BUDGET 400    // ... this many instructions
#define STEP_MAX 1500     // cpu_step mode: steps
#define MACHINE_MAX 3000  // machine mode: instruction limit of machine_run

/* Builds and runs the machine of one input; returns NULL, or why (the first violation found). */
const char *fuzz_priv_one(const u8 *data, size_t size, char *why, size_t len);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

/* The input, consumed from the front; zeros once it runs out. */
struct src {
	const u8 *p;
	size_t n, at;
};

static u64 take(struct src *s, unsigned bytes)
{
	u64 v = 0;
	for (unsigned k = 0; k < bytes; k++)
		v |= (u64)(s->at < s->n ? s->p[s->at++] : 0) << (8 * k);
	return v;
}

/* Returns a number below n (n <= 65536). */
static unsigned below(struct src *s, unsigned n)
{
	return (unsigned)(take(s, n > 256 ? 2 : 1) % n);
}

/* True with probability k/256. */
static bool chance(struct src *s, unsigned k)
{
	return take(s, 1) < k;
}

static u64 slot_addr(unsigned k)
{
	return GP_CODE + (u64)(k % GP_SLOTS) * GP_SLOT;
}

static u64 data_addr(unsigned k)
{
	return GP_DATA + (u64)k * 32;
}

/* The generator's state: input, RAM, the slot being written. */
struct gen {
	struct src in;
	u8 *ram;
	u8 *out;      // host pointer to the current slot
	unsigned len; // bytes written in it
	unsigned slot;
};

static void emit(struct gen *g, const u8 *b, unsigned n)
{
	if (g->len + n > GP_SLOT - 5) // keep room for the jump that ends the slot
		return;
	memcpy(g->out + g->len, b, n);
	g->len += n;
}

#define EMIT(g, ...) emit(g, (const u8[]){ __VA_ARGS__ }, sizeof((const u8[]){ __VA_ARGS__ }))

static void put64(u8 *ram, u64 pa, u64 v)
{
	memcpy(ram + pa, &v, 8);
}

static u64 get64(const u8 *ram, u64 pa)
{
	u64 v;
	memcpy(&v, ram + pa, 8);
	return v;
}

/* MOV r64, imm64 (REX.W B8+r). */
static void mov_imm(struct gen *g, unsigned r, u64 v)
{
	u8 b[10] = { (u8)(0x48 | (r >> 3)), (u8)(0xb8 + (r & 7)) };
	memcpy(b + 2, &v, 8);
	emit(g, b, 10);
}

/* PUSH of a 64-bit value: PUSH imm32 when it sign-extends to v, else through RAX. */
static void push_val(struct gen *g, u64 v)
{
	if ((u64)(s64)(s32)v == v) {
		u8 b[5] = { 0x68 };
		u32 w = (u32)v;
		memcpy(b + 1, &w, 4);
		emit(g, b, 5);
		return;
	}
	mov_imm(g, RAX, v);
	EMIT(g, 0x50);
}

/* Values a random 64-bit operand is drawn from: edge cases, slot addresses, garbage. */
static u64 any_value(struct src *s)
{
	static const u64 edge[] = { 0, 1, ~0ULL, 0x8000000000000000ULL, 0x00007fffffffffffULL, 0x0000800000000000ULL,
				    0xffff800000000000ULL, 0xffffffffULL, 0x100000000ULL, GP_MEM, 1ULL << 40 };
	switch (below(s, 4)) {
	case 0: return edge[below(s, ARRAY_SIZE(edge))];
	case 1: return slot_addr(below(s, GP_SLOTS));
	case 2: return take(s, 1) << below(s, 64);
	default: return take(s, 8);
	}
}

/* A RIP to go to: mostly a slot start, sometimes its 1 GiB alias, a non-canonical or unmapped address. */
static u64 any_rip(struct src *s)
{
	u64 slot = slot_addr(below(s, GP_SLOTS));
	switch (below(s, 8)) {
	case 6: return slot + ALIAS;
	case 7: return any_value(s);
	default: return slot;
	}
}

/* A selector: one of the GDT's (with any RPL), an LDT one, null, or random. */
static u16 any_sel(struct src *s)
{
	static const u16 sels[] = { 0, S_KCODE, S_KDATA, S_UCODE32 | 3, S_UDATA | 3, S_UCODE | 3, S_TSS, S_TSS2,
				    S_CONF, S_LDT, S_KCODE_NP, S_RODATA, 0x0c, 0x14 | 3, 0x1c };
	switch (below(s, 6)) {
	case 5: return (u16)take(s, 2);
	case 4: return (u16)(S_RANDOM + 8 * below(s, GDT_ENTRIES - S_RANDOM / 8)) | (u16)below(s, 4);
	case 3: return sels[below(s, ARRAY_SIZE(sels))] | (u16)below(s, 4);
	default: return sels[1 + below(s, ARRAY_SIZE(sels) - 1)];
	}
}

/*
 * The address of a paging-structure entry, mostly in the page tables (an
 * upper-level entry breaks everything, so those are picked less often).
 */
static u64 any_pte(struct src *s)
{
	static const u64 tables[16] = { PT_PML4, PT_PDPT, PT_PD, PT_PD, PT_PML4B, PT_CODE, PT_CODE, PT_CODE, PT_CODE,
					PT_CODE, PT_CODE, PT_SELF, PT_SELF, PT_SELF, PT_SELF, PT_SELF };
	u64 t = tables[below(s, 16)];
	if (t == PT_CODE || t == PT_SELF)
		return t + 8 * below(s, 512);
	return t + 8 * (chance(s, 192) ? below(s, 8) : below(s, 512));
}

/* The address of an entry in one of the generated tables (paging, GDT, IDT, TSS). */
static u64 any_table_entry(struct src *s)
{
	switch (below(s, 4)) {
	case 0: return GP_GDT + 8 * below(s, GDT_ENTRIES);
	case 1: return GP_IDT + 8 * below(s, 512);
	case 2: return (below(s, 2) ? GP_TSS : GP_TSS2) + 4 + 8 * below(s, 12);
	default: return any_pte(s);
	}
}

/* Breaks a paging-structure entry the ways the SDM's walk must catch (Vol. 3A 4.5, tables 4-15 to 4-20). */
static u64 mutate_pte(struct src *s, u64 e)
{
	switch (below(s, 9)) {
	case 0: return e & ~PG_P;
	case 1: return e | 1ULL << (40 + below(s, 12)); // reserved: above MAXPHYADDR
	case 2: return e | PG_PS;                       // PS at the wrong level, or over a table
	case 3: return e | 1ULL << (12 + below(s, 9));  // misaligns a large page
	case 4: return (e & 0xfff) | (GP_PT + 0x1000 * below(s, PT_TABLES)); // loops through the tables
	case 5: return (e & 0xfff) | ((take(s, 5) << 12) & 0xffffffffff000ULL); // often outside RAM
	case 6: return e ^ (PG_RW << below(s, 8)) ^ (below(s, 4) ? 0 : PG_NX);
	case 7: return take(s, 8);
	default: return e | PG_G;
	}
}

/* Breaks a descriptor or gate: flips access-byte and flag bits, or replaces it. */
static u64 mutate_desc(struct src *s, u64 d)
{
	switch (below(s, 4)) {
	case 0: return d ^ 1ULL << (40 + below(s, 16)); // type, S, DPL, P, limit 19:16, AVL, L, D, G
	case 1: return d ^ 1ULL << below(s, 64);
	case 2: return take(s, 8);
	default: return d & ~(1ULL << 47); // not present
	}
}

/* Sane 4-level tables for the layout above, with U/S as `user`. */
static void build_paging(struct gen *g, bool user)
{
	u64 f = PG_P | PG_RW | (user ? PG_US : 0);
	memset(g->ram + GP_PT, 0, PT_TABLES * 0x1000);
	put64(g->ram, PT_PML4, PT_PDPT | f);
	put64(g->ram, PT_PDPT, PT_PD | f);
	put64(g->ram, PT_PDPT + 8, 0 | f | PG_PS); // 1 GiB page at ALIAS -> physical 0
	for (u64 k = 0; k < 8; k++)
		put64(g->ram, PT_PD + 8 * k, (k << 21) | f | PG_PS);
	put64(g->ram, PT_PD + 8 * 1, PT_CODE | f);
	put64(g->ram, PT_PD + 8 * 3, PT_SELF | f);
	for (u64 k = 0; k < 512; k++) {
		put64(g->ram, PT_CODE + 8 * k, (0x200000 + (k << 12)) | f);
		put64(g->ram, PT_SELF + 8 * k, (0x600000 + (k << 12)) | f);
	}
	put64(g->ram, PT_PML4B, PT_PDPT | f);
	put64(g->ram, PT_PML4B + 8, PT_PDPT | f); // the same 512 GiB again
}

/* A 16-byte system descriptor (TSS or LDT, SDM Vol. 3A figure 8-4) at GDT offset sel. */
static void put_sysdesc(struct gen *g, unsigned sel, u64 base, u32 limit, unsigned type)
{
	u64 lo = (limit & 0xffff) | (base & 0xffffff) << 16 | (u64)(0x80 | type) << 40 | (u64)(limit >> 16 & 0xf) << 48 |
		 ((base >> 24) & 0xff) << 56;
	put64(g->ram, GP_GDT + sel, lo);
	put64(g->ram, GP_GDT + sel + 8, base >> 32);
}

static const u64 flat_desc[] = { 0, 0x00af9a000000ffffULL, 0x00cf92000000ffffULL, 0x00cffa000000ffffULL,
				 0x00cff2000000ffffULL, 0x00affa000000ffffULL };

/* The GDT of the selectors above and an LDT; S_RANDOM and up are filled by break_gdt. */
static void build_gdt(struct gen *g)
{
	memset(g->ram + GP_GDT, 0, 0x1000);
	memcpy(g->ram + GP_GDT, flat_desc, sizeof(flat_desc));
	put_sysdesc(g, S_TSS, GP_TSS, 0x67, DESC_TSS_AVAIL);
	put_sysdesc(g, S_TSS2, GP_TSS2, 0x67, DESC_TSS_AVAIL);
	put64(g->ram, GP_GDT + S_CONF, 0x00af9e000000ffffULL);
	put_sysdesc(g, S_LDT, GP_LDT, 0x1f, DESC_LDT);
	put64(g->ram, GP_GDT + S_KCODE_NP, 0x00af1a000000ffffULL);
	put64(g->ram, GP_GDT + S_RODATA, 0x00cf90000000ffffULL);
	put64(g->ram, GP_LDT + 8, flat_desc[2]);
	put64(g->ram, GP_LDT + 16, flat_desc[4]);
}

/* A 64-bit TSS (SDM Vol. 3A figure 8-11) with RSP0-2 and IST1-7 on mapped stacks. */
static void build_tss(struct gen *g, u64 tss, u64 rsp0)
{
	memset(g->ram + tss, 0, 0x68);
	for (unsigned k = 0; k < 3; k++)
		put64(g->ram, tss + 4 + 8 * k, rsp0 - 0x1000 * k);
	for (unsigned k = 1; k <= 7; k++)
		put64(g->ram, tss + 36 + 8 * (k - 1), GP_IST - 0x2000ULL * k);
}

/* An IDT gate (SDM Vol. 3A figure 6-8). */
static void put_gate(struct gen *g, unsigned v, u64 off, u16 sel, unsigned ist, unsigned type, unsigned dpl)
{
	u64 lo = (off & 0xffff) | (u64)sel << 16 | (u64)ist << 32 | (u64)(0x80 | dpl << 5 | type) << 40 |
		 ((off >> 16) & 0xffff) << 48;
	put64(g->ram, GP_IDT + 16ULL * v, lo);
	put64(g->ram, GP_IDT + 16ULL * v + 8, off >> 32);
}

/* 256 interrupt gates to kernel code in the slots (spread over them); INT3 and 0x80 callable from CPL 3. */
static void build_idt(struct gen *g)
{
	for (unsigned v = 0; v < 256; v++)
		put_gate(g, v, slot_addr(v * 37), S_KCODE, 0, DESC_INT_GATE, v == VEC_BP || v == 0x80 ? 3 : 0);
}

/*
 * Breaks what the builders made, after the code is generated (so the
 * input's first bytes go to the code, and a short input leaves sane
 * tables): page-table entries, random descriptors at S_RANDOM and up and
 * a few broken ones, TSS fields, odd gates (another slot or any RIP,
 * selector, IST, trap type, DPL) and broken ones.
 */
static void break_tables(struct gen *g)
{
	struct src *s = &g->in;
	unsigned n = below(s, 4) ? below(s, 4) : below(s, 24);
	for (unsigned k = 0; k < n; k++) {
		u64 at = any_pte(s);
		put64(g->ram, at, mutate_pte(s, get64(g->ram, at)));
	}
	for (unsigned k = S_RANDOM / 8; k < GDT_ENTRIES; k++)
		put64(g->ram, GP_GDT + 8 * k, chance(s, 128) ? mutate_desc(s, flat_desc[1 + below(s, 5)]) : take(s, 8));
	put64(g->ram, GP_LDT + 24, take(s, 8));
	for (unsigned k = below(s, 3) ? 0 : below(s, 6); k > 0; k--) {
		u64 at = GP_GDT + 8 * below(s, GDT_ENTRIES);
		put64(g->ram, at, mutate_desc(s, get64(g->ram, at)));
	}
	for (unsigned k = below(s, 3) ? 0 : below(s, 8); k > 0; k--)
		put64(g->ram, (below(s, 2) ? GP_TSS : GP_TSS2) + 4 + 8 * below(s, 12), any_value(s));
	for (unsigned k = below(s, 16); k > 0; k--)
		put_gate(g, below(s, 256), chance(s, 192) ? slot_addr(below(s, GP_SLOTS)) : any_rip(s),
			 chance(s, 192) ? S_KCODE : any_sel(s), chance(s, 192) ? 0 : below(s, 8),
			 chance(s, 128) ? DESC_TRAP_GATE : DESC_INT_GATE, below(s, 4));
	for (unsigned k = below(s, 3) ? 0 : below(s, 8); k > 0; k--) {
		u64 at = GP_IDT + 8 * below(s, 512);
		put64(g->ram, at, mutate_desc(s, get64(g->ram, at)));
	}
}

/* Templates: each writes one slot's instructions (and its data slot). */
typedef void (*template_fn)(struct gen *g);

/* MOV CRn, RAX with a value near the legal ones, or MOV RAX, CRn. */
static void t_mov_cr(struct gen *g)
{
	static const unsigned crs[] = { 0, 2, 3, 4, 8, 1, 5 };
	struct src *s = &g->in;
	unsigned n = crs[below(s, ARRAY_SIZE(crs))];
	if (chance(s, 64)) {
		EMIT(g, n >= 8 ? 0x44 : 0x40, 0x0f, 0x20, (u8)(0xc0 | (n & 7) << 3));
		return;
	}
	u64 v;
	switch (n) {
	case 0: v = (CR0_PE | CR0_PG | CR0_ET | CR0_WP) ^ (1ULL << below(s, 33)); break;
	case 3: v = below(s, 2) ? (below(s, 2) ? PT_PML4 : PT_PML4B) | (take(s, 2) & 0xfff) : any_value(s); break;
	case 4: v = (CR4_PAE | (take(s, 3) & (CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_TSD | CR4_DE))) ^
		    (chance(s, 32) ? 1ULL << below(s, 64) : 0); break;
	case 8: v = chance(s, 200) ? below(s, 16) : any_value(s); break;
	default: v = any_value(s); break;
	}
	if (n == 3 && chance(s, 64))
		v |= 1ULL << 63; // the PCID no-flush bit
	mov_imm(g, RAX, v);
	EMIT(g, n >= 8 ? 0x44 : 0x40, 0x0f, 0x22, (u8)(0xc0 | (n & 7) << 3));
}

/* MOV DRn, RAX or MOV RAX, DRn (DR4/DR5 alias DR6/DR7 or #UD with CR4.DE). */
static void t_mov_dr(struct gen *g)
{
	unsigned n = below(&g->in, 8);
	if (chance(&g->in, 128)) {
		mov_imm(g, RAX, any_value(&g->in));
		EMIT(g, 0x0f, 0x23, (u8)(0xc0 | n << 3));
	} else {
		EMIT(g, 0x0f, 0x21, (u8)(0xc0 | n << 3));
	}
}

/* LGDT/LIDT [RBX] from the data slot (a sane image, an odd limit or a bad base), or SGDT/SIDT. */
static void t_dtr(struct gen *g)
{
	struct src *s = &g->in;
	unsigned op = below(s, 4); // LGDT, LIDT, SGDT, SIDT: ModRM reg 2, 3, 0, 1
	u64 d = data_addr(g->slot);
	bool idt = op == 1;
	u16 limit = chance(s, 160) ? (idt ? 0xfff : GDT_ENTRIES * 8 - 1) : (u16)(chance(s, 64) ? 0 : take(s, 2));
	u64 base = chance(s, 160) ? (idt ? GP_IDT : GP_GDT) : any_value(s);
	memcpy(g->ram + d, &limit, 2);
	put64(g->ram, d + 2, base);
	mov_imm(g, RBX, d);
	static const u8 reg[4] = { 2, 3, 0, 1 };
	EMIT(g, 0x0f, 0x01, (u8)(reg[op] << 3 | 3));
}

/* LTR, LLDT, STR or SLDT with a random selector in AX. */
static void t_ltr(struct gen *g)
{
	static const u8 modrm[] = { 0xd8, 0xd0, 0xc8, 0xc0 }; // 0F 00 /3 LTR, /2 LLDT, /1 STR, /0 SLDT
	mov_imm(g, RAX, chance(&g->in, 64) ? (below(&g->in, 2) ? S_TSS : S_LDT) : any_sel(&g->in));
	EMIT(g, 0x0f, 0x00, modrm[below(&g->in, 4)]);
}

/* MOV Sreg, AX (ES, CS (#UD), SS, DS, FS, GS) with a random selector, or MOV AX, Sreg. */
static void t_mov_sreg(struct gen *g)
{
	unsigned sr = below(&g->in, 6);
	if (chance(&g->in, 32)) {
		EMIT(g, 0x8c, (u8)(0xc0 | sr << 3));
		return;
	}
	mov_imm(g, RAX, any_sel(&g->in));
	EMIT(g, 0x8e, (u8)(0xc0 | sr << 3));
	if (sr == SREG_SS && chance(&g->in, 128))
		EMIT(g, 0x0f, 0x05); // SYSCALL in the MOV SS shadow
}

/* Far JMP or CALL through m16:64 or m16:32 in the data slot. */
static void t_far(struct gen *g)
{
	struct src *s = &g->in;
	u64 d = data_addr(g->slot), off = any_rip(s);
	u16 sel = chance(s, 128) ? (below(s, 2) ? S_KCODE : S_CONF) : any_sel(s);
	bool w = chance(s, 208);
	put64(g->ram, d, off);
	memcpy(g->ram + d + (w ? 8 : 4), &sel, 2);
	mov_imm(g, RBX, d);
	if (w)
		EMIT(g, 0x48);
	EMIT(g, 0xff, below(s, 2) ? 0x2b : 0x1b); // /5 JMP far, /3 CALL far
}

/* A stack pointer for a frame: a mapped stack, or anything. */
static u64 any_rsp(struct src *s)
{
	return chance(s, 192) ? GP_STACK0 - 0x800 * below(s, 8) : any_value(s);
}

/* RETF/LRETQ to the same level or (with an SS:RSP pair) an outer one. */
static void t_retf(struct gen *g)
{
	struct src *s = &g->in;
	bool user = chance(s, 128);
	u16 cs = chance(s, 160) ? (user ? S_UCODE | 3 : S_KCODE) : any_sel(s);
	if (user) {
		push_val(g, chance(s, 192) ? S_UDATA | 3 : any_sel(s));
		push_val(g, any_rsp(s));
	}
	push_val(g, cs);
	push_val(g, any_rip(s));
	EMIT(g, 0x48, 0xcb);
}

/* IRETQ (rarely IRETD) to kernel or user code with a random RFLAGS image. */
static void t_iret(struct gen *g)
{
	struct src *s = &g->in;
	bool user = chance(s, 128);
	u16 cs = chance(s, 192) ? (user ? S_UCODE | 3 : S_KCODE) : any_sel(s);
	u16 ss = chance(s, 192) ? (user ? S_UDATA | 3 : (below(s, 2) ? 0 : S_KDATA)) : any_sel(s);
	u64 fl = RFLAGS_FIXED1 | (take(s, 1) & 1 ? RFLAGS_IF : 0) | (chance(s, 16) ? take(s, 4) : 0);
	push_val(g, ss);
	push_val(g, any_rsp(s));
	push_val(g, fl);
	push_val(g, cs);
	push_val(g, any_rip(s));
	if (chance(s, 240))
		EMIT(g, 0x48);
	EMIT(g, 0xcf);
}

/* SYSCALL, or SYSRET with RCX (target) and R11 (RFLAGS) set; sometimes the #UD-form without REX.W. */
static void t_sys(struct gen *g)
{
	struct src *s = &g->in;
	if (below(s, 2)) {
		EMIT(g, 0x0f, 0x05);
		return;
	}
	mov_imm(g, RCX, any_rip(s));
	mov_imm(g, R11, RFLAGS_FIXED1 | (take(s, 1) & 1 ? RFLAGS_IF : 0) | (chance(s, 32) ? take(s, 4) : 0));
	if (chance(s, 232))
		EMIT(g, 0x48);
	EMIT(g, 0x0f, 0x07);
}

/* An MSR number: the modeled ones, the x2APIC range, or anything. */
static u32 any_msr(struct src *s)
{
	static const u32 msrs[] = { MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_FS_BASE, MSR_GS_BASE,
				    MSR_KERNEL_GS_BASE, MSR_TSC_AUX, MSR_TSC, MSR_APIC_BASE, MSR_MISC_ENABLE, MSR_PAT };
	static const u32 apic[] = { 0x808, 0x80b, 0x80f, 0x830, 0x832, 0x838, 0x83e, 0x83f, 0x828 };
	switch (below(s, 5)) {
	case 0: return (u32)take(s, 4);
	case 1: return APIC_MSR_FIRST + below(s, 256);
	case 2: return apic[below(s, ARRAY_SIZE(apic))];
	default: return msrs[below(s, ARRAY_SIZE(msrs))];
	}
}

/* A value for an MSR: near its legal ones (EFER bits, vectors, small counts) or anything. */
static u64 msr_value(struct src *s, u32 msr)
{
	if (!chance(s, 160))
		return any_value(s);
	switch (msr) {
	case MSR_EFER: return EFER_LME | EFER_LMA | (take(s, 1) & (EFER_SCE | EFER_NXE));
	case 0x830: return (u64)below(s, 3) << 32 | (u64)below(s, 4) << 18 | (u64)below(s, 8) << 8 | take(s, 1);
	case 0x832: return take(s, 1) | (u64)below(s, 4) << 16 | (chance(s, 128) ? 0 : 1ULL << 17);
	case 0x838: return below(s, 4096);
	default: return take(s, 1) << below(s, 48);
	}
}

/* WRMSR or RDMSR with ECX, EAX, EDX set. */
static void t_msr(struct gen *g)
{
	struct src *s = &g->in;
	u32 msr = any_msr(s);
	mov_imm(g, RCX, msr);
	if (chance(s, 64)) {
		EMIT(g, 0x0f, 0x32);
		return;
	}
	u64 v = msr_value(s, msr);
	mov_imm(g, RAX, (u32)v);
	mov_imm(g, RDX, v >> 32);
	EMIT(g, 0x0f, 0x30);
}

/* INT n (often an exception vector or a common system-call one), INT3, INT1. */
static void t_int(struct gen *g)
{
	switch (below(&g->in, 4)) {
	case 0: EMIT(g, 0xcc); break;
	case 1: EMIT(g, 0xf1); break;
	case 2: EMIT(g, 0xcd, (u8)below(&g->in, 32)); break;
	default: EMIT(g, 0xcd, (u8)take(&g->in, 1)); break;
	}
}

/* INVLPG [RBX], or INVPCID RAX, [RBX] with a random type and descriptor. */
static void t_inval(struct gen *g)
{
	struct src *s = &g->in;
	if (below(s, 2)) {
		mov_imm(g, RBX, below(s, 2) ? any_table_entry(s) : any_value(s));
		EMIT(g, 0x0f, 0x01, 0x3b);
		return;
	}
	u64 d = data_addr(g->slot);
	put64(g->ram, d, chance(s, 192) ? below(s, 4096) : take(s, 8));
	put64(g->ram, d + 8, any_value(s));
	mov_imm(g, RAX, below(s, 5));
	mov_imm(g, RBX, d);
	EMIT(g, 0x66, 0x0f, 0x38, 0x82, 0x03);
}

/* CLI, STI, HLT, STI;HLT, SWAPGS, STAC, CLAC, CLTS, WBINVD. */
static void t_plain(struct gen *g)
{
	switch (below(&g->in, 10)) {
	case 0: EMIT(g, 0xfa); break;
	case 1: EMIT(g, 0xfb); break;
	case 2: EMIT(g, 0xf4); break;
	case 3: EMIT(g, 0xfb, 0xf4); break;
	case 4: EMIT(g, 0x0f, 0x01, 0xf8); break;
	case 5: EMIT(g, 0x0f, 0x01, 0xcb); break;
	case 6: EMIT(g, 0x0f, 0x01, 0xca); break;
	case 7: EMIT(g, 0x0f, 0x06); break;
	case 8: EMIT(g, 0x0f, 0x09); break;
	default: EMIT(g, 0x0f, 0x01, 0xf9); break; // RDTSCP
	}
}

/* A store into the page tables, GDT, IDT or a TSS: a broken copy of what is there, or anything. */
static void t_poke(struct gen *g)
{
	struct src *s = &g->in;
	u64 at = any_table_entry(s), old = get64(g->ram, at & ~7ULL);
	u64 v = at >= GP_PT ? mutate_pte(s, old) : chance(s, 128) ? mutate_desc(s, old) : any_value(s);
	mov_imm(g, RBX, at);
	mov_imm(g, RAX, v);
	EMIT(g, 0x48, 0x89, 0x03); // mov [rbx], rax
}

/* POPFQ with a random image (IF, IOPL, AC, TF, NT, reserved bits), or PUSHFQ. */
static void t_popf(struct gen *g)
{
	if (chance(&g->in, 32)) {
		EMIT(g, 0x9c);
		return;
	}
	push_val(g, chance(&g->in, 192) ? RFLAGS_FIXED1 | (take(&g->in, 3) & 0x247fd5) : take(&g->in, 8));
	EMIT(g, 0x9d);
}

/* Handler-like code: skip an error code and IRETQ, or IRETQ, or change RSP. */
static void t_handler(struct gen *g)
{
	switch (below(&g->in, 4)) {
	case 0: EMIT(g, 0x48, 0x83, 0xc4, 0x08, 0x48, 0xcf); break; // add rsp, 8; iretq
	case 1: EMIT(g, 0x48, 0xcf); break;
	case 2: mov_imm(g, RSP, any_rsp(&g->in)); break;
	default: EMIT(g, 0x0f, 0x20, 0xd0, 0x0f, 0x22, 0xd8); break; // mov rax, cr2; mov cr3, rax
	}
}

/* Ordinary instructions: system-state reads, branches through registers, port I/O, CPUID, RDTSC. */
static void t_ordinary(struct gen *g)
{
	struct src *s = &g->in;
	switch (below(s, 8)) {
	case 0: mov_imm(g, RAX, any_rip(s)); EMIT(g, 0xff, below(s, 2) ? 0xd0 : 0xe0); break; // call/jmp rax
	case 1: EMIT(g, 0xc3); break;
	case 2: mov_imm(g, RAX, below(s, 0x20)); EMIT(g, 0x0f, 0xa2); break;
	case 3: EMIT(g, 0x0f, 0x31, 0x0f, 0x01, 0xe0); break; // rdtsc; smsw eax
	case 4: EMIT(g, 0xe6, 0xe9); break; // out 0xe9, al
	case 5: mov_imm(g, RAX, take(s, 2)); EMIT(g, 0x0f, 0x01, 0xf0); break; // lmsw ax
	case 6: mov_imm(g, RBX, any_value(s)); EMIT(g, 0x48, 0x8b, 0x03, 0x48, 0x89, 0x03); break; // load, store
	default: EMIT(g, 0x48, 0x01, 0xc8, 0x50, 0x59); break; // add rax, rcx; push rax; pop rcx
	}
}

/* Raw input bytes: whatever they decode to. */
static void t_raw(struct gen *g)
{
	u8 b[16];
	unsigned n = 1 + below(&g->in, 15);
	for (unsigned k = 0; k < n; k++)
		b[k] = (u8)take(&g->in, 1);
	emit(g, b, n);
}

static const template_fn templates[] = {
	t_mov_cr, t_mov_dr, t_dtr, t_ltr, t_mov_sreg, t_far, t_retf, t_iret, t_sys, t_msr, t_msr,
	t_int, t_inval, t_plain, t_plain, t_poke, t_poke, t_popf, t_handler, t_ordinary, t_raw,
};

/* Fills every slot with a template and a jump to the next slot (or, sometimes, another one). */
static void build_code(struct gen *g)
{
	for (unsigned k = 0; k < GP_SLOTS; k++) {
		g->slot = k;
		g->out = g->ram + slot_addr(k);
		g->len = 0;
		memset(g->out, 0x90, GP_SLOT);
		templates[below(&g->in, ARRAY_SIZE(templates))](g);
		unsigned next = chance(&g->in, 224) ? k + 1 : below(&g->in, GP_SLOTS);
		s32 rel = (s32)(slot_addr(next) - (slot_addr(k) + g->len + 5));
		u8 jmp[5] = { 0xe9 };
		memcpy(jmp + 1, &rel, 4);
		memcpy(g->out + g->len, jmp, 5);
	}
}

/* System state shared by the vCPUs, drawn once per input. */
struct plan {
	u64 cr0, cr3, cr4, efer;
	struct dtr gdtr, idtr;
	u64 msr[7];       // STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE, GS_BASE, FS_BASE
	u64 apic[5];      // SVR, divide, LVT timer, initial count, TPR
	unsigned mode;    // how to run: enum run_mode
	u64 quantum;      // machine mode
};

enum run_mode { MODE_RUN, MODE_STEP, MODE_MACHINE, MODE_N };

static const u32 plan_msrs[7] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE, MSR_GS_BASE, MSR_FS_BASE };
static const u32 plan_apic[5] = { 0x80f, 0x83e, 0x832, 0x838, 0x808 };

/* Control registers of a 64-bit kernel with random protection features; CR3 now and then garbage. */
static void plan_cregs(struct src *s, struct plan *p)
{
	p->cr0 = CR0_PE | CR0_PG | CR0_ET | (take(s, 1) & 1 ? CR0_WP : 0) | (take(s, 1) & 1 ? CR0_AM : 0) |
		 (chance(s, 224) ? 0 : CR0_TS | CR0_MP) | (chance(s, 240) ? 0 : CR0_CD | (below(s, 2) ? CR0_NW : 0));
	/* SMEP and SMAP are rare: with user pages (the common case) they fault at the first fetch or delivery. */
	p->cr4 = CR4_PAE | (take(s, 1) & (CR4_PGE | CR4_TSD | CR4_DE)) | (chance(s, 64) ? CR4_PCIDE : 0) |
		 (chance(s, 248) ? 0 : CR4_SMEP) | (chance(s, 248) ? 0 : CR4_SMAP);
	switch (below(s, 32)) {
	case 31: p->cr3 = (take(s, 3) << 12) & 0xffffffffffULL; break; // anywhere, often beyond RAM
	case 30: case 29: case 28: p->cr3 = PT_PML4B; break;
	default: p->cr3 = PT_PML4; break;
	}
	p->efer = EFER_LME | EFER_LMA | (chance(s, 192) ? EFER_SCE : 0) | (chance(s, 192) ? EFER_NXE : 0);
}

/* GDTR and IDTR (no IDT now and then), the SYSCALL and base MSRs, and the APIC timer. */
static void plan_system(struct src *s, struct plan *p)
{
	p->gdtr = (struct dtr){ .base = GP_GDT, .limit = chance(s, 224) ? GDT_ENTRIES * 8 - 1 : (u16)take(s, 1) };
	u16 idt_limit = !chance(s, 240) ? 0 : chance(s, 224) ? 0xfff : (u16)take(s, 2); // 0: no IDT (exception.h)
	p->idtr = (struct dtr){ .base = chance(s, 240) ? GP_IDT : any_value(s) & 0x7fffffffffffULL, .limit = idt_limit };
	p->msr[0] = chance(s, 192) ? (u64)S_UCODE32 << 48 | (u64)S_KCODE << 32 : take(s, 8);
	p->msr[1] = any_rip(s);
	p->msr[2] = any_rip(s);
	p->msr[3] = chance(s, 192) ? RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC : take(s, 4);
	p->msr[4] = any_value(s);
	p->msr[5] = any_value(s);
	p->msr[6] = any_value(s);
	p->apic[0] = chance(s, 224) ? 0x1ff : take(s, 2);
	p->apic[1] = take(s, 1) & 0xb;
	p->apic[2] = (32 + below(s, 224)) | (chance(s, 64) ? 1u << 16 : 0) | (chance(s, 128) ? 1u << 17 : 0);
	p->apic[3] = chance(s, 64) ? 0 : 1 + below(s, 3000);
	p->apic[4] = chance(s, 200) ? 0 : take(s, 1);
}

/* Writes an MSR for the initial state; a value the MSR refuses leaves it at its reset value. */
static void init_msr(struct cpu *c, u32 msr, u64 v)
{
	if (msr_write(c, msr, v))
		c->exc = (struct exception){ 0 };
}

/* Puts vCPU c in the planned state at CPL 0: RIP on a slot, RSP on its stack, TR loaded when the GDT allows. */
static void apply_plan(struct gen *g, struct cpu *c, const struct plan *p)
{
	c->cr0 = p->cr0, c->cr4 = p->cr4, c->efer = p->efer;
	c->cr3 = (p->cr4 & CR4_PCIDE) ? p->cr3 & ~0xfffULL : p->cr3;
	tlb_flush_all(&c->tlb);
	c->gdtr = p->gdtr, c->idtr = p->idtr;
	if (seg_load_tr(c, c->id ? S_TSS2 : S_TSS))
		c->exc = (struct exception){ 0 };
	for (unsigned k = 0; k < ARRAY_SIZE(plan_msrs); k++)
		init_msr(c, plan_msrs[k], p->msr[k]);
	for (unsigned k = 0; k < ARRAY_SIZE(plan_apic); k++)
		init_msr(c, plan_apic[k], p->apic[k]);
	struct src *s = &g->in;
	for (unsigned r = 0; r < 16; r++)
		c->r[r] = chance(s, 128) ? any_value(s) : take(s, 1);
	c->r[RSP] = c->id ? GP_STACK1 : GP_STACK0;
	c->r[REG_RIP] = slot_addr(c->id ? below(s, GP_SLOTS) : 0);
	u64 fl = RFLAGS_FIXED1 | (take(s, 3) & (RFLAGS_ARITH | RFLAGS_IF | RFLAGS_DF | RFLAGS_AC | RFLAGS_IOPL));
	flags_set(c, fl);
}

/* Builds the machine the input describes; NULL when out of memory. */
static struct machine *generate(struct src *in, struct plan *p)
{
	p->mode = below(in, MODE_N);
	p->quantum = 16 + below(in, 1024);
	struct machine_config cfg = { .mem_size = GP_MEM, .ncpus = p->mode == MODE_MACHINE ? 2 : 1, .quantum = p->quantum };
	struct machine *mc = machine_new(&cfg);
	if (!mc)
		return NULL;
	struct gen g = { .in = *in, .ram = mc->mem.ram };
	plan_cregs(&g.in, p);
	plan_system(&g.in, p);
	build_paging(&g, chance(&g.in, 160));
	build_gdt(&g);
	build_tss(&g, GP_TSS, GP_RSP0);
	build_tss(&g, GP_TSS2, GP_RSP0 - 0x8000);
	build_idt(&g);
	build_code(&g);
	break_tables(&g);
	for (unsigned k = 0; k < mc->ncpus; k++)
		apply_plan(&g, &mc->cpus[k], p);
	*in = g.in;
	return mc;
}

/* Where an invariant check writes its finding. */
struct verdict {
	char *why;
	size_t len;
	bool bad;
};

static bool __attribute__((format(printf, 2, 3))) fail(struct verdict *v, const char *fmt, ...)
{
	if (!v->bad) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(v->why, v->len, fmt, ap);
		va_end(ap);
	}
	v->bad = true;
	return false;
}

#define EXPECT(v, cond, ...) ((cond) || fail(v, __VA_ARGS__))

/* True for the vectors whose exceptions push an error code (SDM Vol. 3A table 6-1). */
static bool has_error_code(u8 vec)
{
	return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30;
}

/*
 * The error code of an exception that reports one (SDM Vol. 3A 6.13,
 * 4.7, chapter 6 "Exception and Interrupt Reference"): a #PF's has no
 * bits above I/D (no protection keys, shadow stacks or SGX here); #DF
 * and #AC push 0; the selector-format ones have bits 31:16 reserved.
 */
static bool error_code_ok(const struct exception *e)
{
	if (!e->has_error)
		return true;
	if (!has_error_code(e->vector))
		return false;
	switch (e->vector) {
	case VEC_PF: return !(e->error & ~0x1fu);
	case VEC_DF: case VEC_AC: return e->error == 0;
	default: return e->error <= 0xffff;
	}
}

/*
 * CR0, CR3, CR4, EFER and RFLAGS of a 64-bit-mode guest (SDM Vol. 3C
 * 27.3.1.1 and 27.3.1.4 "Checks on Guest Control Registers ... RFLAGS"):
 * leaving IA-32e mode is refused with #GP (Vol. 3A 9.8.5.4), so PE, PG,
 * PAE, LME and LMA stay set.
 */
static bool check_control(struct verdict *v, struct cpu *c)
{
	u64 fl = flags_get(c);
	const u64 efer_bits = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	return EXPECT(v, (c->cr0 & (CR0_PE | CR0_PG | CR0_ET)) == (CR0_PE | CR0_PG | CR0_ET) && !(c->cr0 >> 32),
		      "CR0 %#llx: not 64-bit mode, or reserved bits", (unsigned long long)c->cr0) &&
	       EXPECT(v, !(c->cr0 & CR0_NW) || (c->cr0 & CR0_CD), "CR0 %#llx: NW without CD", (unsigned long long)c->cr0) &&
	       EXPECT(v, (c->cr4 & CR4_PAE) && !(c->cr4 >> 32), "CR4 %#llx: PAE clear or reserved bits", (unsigned long long)c->cr4) &&
	       EXPECT(v, !(c->cr3 >> MAXPHYADDR), "CR3 %#llx: bits above MAXPHYADDR", (unsigned long long)c->cr3) &&
	       EXPECT(v, (c->efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA) && !(c->efer & ~efer_bits),
		      "EFER %#llx: LME/LMA clear or reserved bits", (unsigned long long)c->efer) &&
	       EXPECT(v, (fl & RFLAGS_FIXED1) && !(fl & (0xffffffffffc08028ULL | RFLAGS_VM)),
		      "RFLAGS %#llx: bit 1 clear, reserved bits or VM set", (unsigned long long)fl) &&
	       EXPECT(v, !(c->dr[6] >> 32) && !(c->dr[7] >> 32), "DR6/DR7 bits 63:32 set");
}

static unsigned ar_dpl(u32 attr)
{
	return (attr >> AR_DPL_SHIFT) & 3;
}

/*
 * CS and SS (SDM Vol. 3C 27.3.1.2, Vol. 3A 5.5): CPL = CS.RPL; CS is
 * accessed, present, 64-bit code (L = 1, D = 0) with DPL = CPL, or DPL <=
 * CPL when conforming; SS, when usable, is accessed writable data with
 * DPL = CPL; a null SS only below CPL 3 (64-bit mode).
 */
static bool check_cs_ss(struct verdict *v, struct cpu *c)
{
	const struct segment *cs = &c->seg[SREG_CS], *ss = &c->seg[SREG_SS];
	u32 code = AR_S | AR_TYPE_CODE | AR_TYPE_A | AR_P, data = AR_S | AR_TYPE_RW | AR_TYPE_A | AR_P;
	bool dpl_ok = (cs->attr & AR_TYPE_CONF) ? ar_dpl(cs->attr) <= c->cpl : ar_dpl(cs->attr) == c->cpl;
	if (!EXPECT(v, c->cpl <= 3 && c->cpl == (cs->sel & SEL_RPL), "CPL %u with CS %#x", c->cpl, cs->sel) ||
	    !EXPECT(v, (cs->attr & (code | AR_UNUSABLE | AR_L | AR_DB)) == (code | AR_L) && dpl_ok,
		    "CS %#x attr %#x at CPL %u: not 64-bit code of that privilege", cs->sel, cs->attr, c->cpl))
		return false;
	if (ss->attr & AR_UNUSABLE)
		return EXPECT(v, c->cpl < 3, "null SS %#x at CPL 3", ss->sel);
	return EXPECT(v, (ss->attr & (data | AR_TYPE_CODE)) == data && ar_dpl(ss->attr) == c->cpl,
		      "SS %#x attr %#x at CPL %u: not writable data of that privilege", ss->sel, ss->attr, c->cpl);
}

/*
 * DS, ES, FS, GS: usable ones are accessed, present, data or readable
 * code. TR is a usable busy 64-bit TSS, LDTR an LDT when usable; their
 * bases, GDTR, IDTR and the MSR-held addresses are canonical (SDM Vol. 3C
 * 27.3.1.2-3, Vol. 4 WRMSR of FS_BASE, GS_BASE, KERNEL_GS_BASE, LSTAR,
 * CSTAR).
 */
static bool check_system(struct verdict *v, struct cpu *c)
{
	static const enum sreg data_regs[] = { SREG_ES, SREG_DS, SREG_FS, SREG_GS };
	for (unsigned k = 0; k < ARRAY_SIZE(data_regs); k++) {
		const struct segment *sg = &c->seg[data_regs[k]];
		bool ok = (sg->attr & AR_UNUSABLE) || ((sg->attr & (AR_S | AR_TYPE_A | AR_P)) == (AR_S | AR_TYPE_A | AR_P) &&
						      (!(sg->attr & AR_TYPE_CODE) || (sg->attr & AR_TYPE_RW)));
		if (!EXPECT(v, ok, "segment %u sel %#x attr %#x: unusable descriptor cached", data_regs[k], sg->sel, sg->attr))
			return false;
	}
	const struct segment *tr = &c->seg[SREG_TR], *ldt = &c->seg[SREG_LDTR];
	bool ldt_ok = (ldt->attr & AR_UNUSABLE) || ((ldt->attr & (AR_S | AR_TYPE | AR_P)) == (DESC_LDT | AR_P) && mmu_is_canonical(ldt->base));
	bool addrs = mmu_is_canonical(c->gdtr.base) && mmu_is_canonical(c->idtr.base) && mmu_is_canonical(c->seg_base[SEG_FS]) &&
		     mmu_is_canonical(c->seg_base[SEG_GS]) && mmu_is_canonical(c->kernel_gs_base) && mmu_is_canonical(c->lstar) &&
		     mmu_is_canonical(c->cstar);
	return EXPECT(v, (tr->attr & (AR_UNUSABLE | AR_S | AR_TYPE | AR_P)) == (DESC_TSS_BUSY | AR_P) && mmu_is_canonical(tr->base),
		      "TR %#x attr %#x base %#llx: not a busy 64-bit TSS", tr->sel, tr->attr, (unsigned long long)tr->base) &&
	       EXPECT(v, ldt_ok, "LDTR %#x attr %#x: not an LDT", ldt->sel, ldt->attr) &&
	       EXPECT(v, addrs, "a non-canonical GDTR/IDTR/FS/GS/KERNEL_GS/LSTAR/CSTAR base") &&
	       EXPECT(v, !(c->sfmask >> 32) && !(c->tsc_aux >> 32), "SFMASK or TSC_AUX bits 63:32 set");
}

/*
 * How a stop is reported (exception.h): CPU_STOP_EXCEPTION only while
 * there is no IDT, a triple fault shuts the vCPU down, with a processor
 * exception as the last fault; an error code only with a vector that has
 * one. RIP is canonical: every transfer checks its target first.
 */
static bool check_stop(struct verdict *v, struct cpu *c, enum cpu_stop s)
{
	const struct exception *e = &c->exc, *f = &c->exc_first;
	if (!EXPECT(v, s <= CPU_STOP_TRIPLE_FAULT, "stop %d out of range", s) ||
	    !EXPECT(v, mmu_is_canonical(c->r[REG_RIP]), "RIP %#llx not canonical", (unsigned long long)c->r[REG_RIP]) ||
	    !EXPECT(v, c->shutdown == (s == CPU_STOP_TRIPLE_FAULT), "stop %d with shutdown %d", s, c->shutdown))
		return false;
	if (s == CPU_STOP_EXCEPTION)
		return EXPECT(v, c->idtr.limit == 0, "exception stop (vector %u) with IDT limit %#x", e->vector, c->idtr.limit) &&
		       EXPECT(v, error_code_ok(e), "vector %u with error code %#x", e->vector, e->error);
	if (s == CPU_STOP_TRIPLE_FAULT)
		return EXPECT(v, e->vector < 32 && error_code_ok(e), "triple fault with last fault %u (error %d: %#x)",
			      e->vector, e->has_error, e->error) &&
		       EXPECT(v, error_code_ok(f), "first event %u with error code %#x", f->vector, f->error);
	return EXPECT(v, s != CPU_STOP_HLT || c->halted, "HLT stop while not halted");
}

/* Checks vCPU c after a stop s; the first violation goes to v. */
static bool check_cpu(struct verdict *v, struct cpu *c, enum cpu_stop s)
{
	return check_stop(v, c, s) && check_control(v, c) && check_cs_ss(v, c) && check_system(v, c);
}

/* After a triple fault the vCPU stays shut down: nothing runs. */
static bool check_shutdown_stays(struct verdict *v, struct cpu *c)
{
	u64 n = c->icount;
	enum cpu_stop s = cpu_run(c, 100);
	return EXPECT(v, s == CPU_STOP_TRIPLE_FAULT && c->icount == n, "shut-down vCPU ran (stop %d)", s);
}

/* cpu_run in rounds; a halt lets some time pass, as the machine would. */
static void run_blocks(struct verdict *v, struct cpu *c)
{
	for (unsigned r = 0; r < RUN_ROUNDS && !v->bad; r++) {
		u64 n = c->icount;
		enum cpu_stop s = cpu_run(c, RUN_BUDGET);
		if (!EXPECT(v, c->icount - n <= RUN_BUDGET + BLOCK_MAX, "cpu_run(%d) retired %llu", RUN_BUDGET,
			    (unsigned long long)(c->icount - n)) ||
		    !check_cpu(v, c, s))
			return;
		if (s == CPU_STOP_TRIPLE_FAULT)
			check_shutdown_stays(v, c);
		if (s == CPU_STOP_EXCEPTION || s == CPU_STOP_TRIPLE_FAULT || (s == CPU_STOP_HLT && !(c->rflags & RFLAGS_IF)))
			return;
		if (s == CPU_STOP_HLT)
			c->idle += 100;
	}
}

/* cpu_step, checking after every instruction. */
static void run_steps(struct verdict *v, struct cpu *c)
{
	for (unsigned k = 0; k < STEP_MAX && !v->bad; k++) {
		u64 n = c->icount;
		enum cpu_stop s = cpu_step(c);
		if (!EXPECT(v, c->icount - n <= 1, "cpu_step retired %llu", (unsigned long long)(c->icount - n)) ||
		    !check_cpu(v, c, s))
			return;
		if (s == CPU_STOP_TRIPLE_FAULT)
			check_shutdown_stays(v, c);
		if (s == CPU_STOP_EXCEPTION || s == CPU_STOP_TRIPLE_FAULT || (s == CPU_STOP_HLT && !(c->rflags & RFLAGS_IF)))
			return;
		if (s == CPU_STOP_HLT)
			c->idle += 20;
	}
}

/* Returns the stop vCPU k would report for machine result r. */
static enum cpu_stop stop_of(const struct machine *mc, unsigned k, enum run_result r)
{
	if (k != mc->stopped_cpu)
		return CPU_STOP_BUDGET;
	return r == RUN_TRIPLE_FAULT ? CPU_STOP_TRIPLE_FAULT : r == RUN_EXCEPTION ? CPU_STOP_EXCEPTION : CPU_STOP_BUDGET;
}

/* What a run must reproduce exactly (issue 3: the same run twice gives the same instruction counts). */
static bool same_run(const struct cpu *a, const struct cpu *b)
{
	return a->icount == b->icount && a->stalls == b->stalls && a->idle == b->idle && !memcmp(a->r, b->r, sizeof(a->r)) &&
	       a->rflags == b->rflags && a->cr0 == b->cr0 && a->cr2 == b->cr2 && a->cr3 == b->cr3 && a->cr4 == b->cr4 &&
	       a->cpl == b->cpl && a->shutdown == b->shutdown && a->halted == b->halted;
}

/*
 * machine_run with an instruction limit on 2 vCPUs; the result must match
 * the vCPUs' state, and a second machine built from the same input must
 * run the same way (deterministic scheduling).
 */
static void run_machine(struct verdict *v, struct machine *mc, struct machine *twin)
{
	enum run_result r = machine_run(mc, MACHINE_MAX);
	if (twin) {
		enum run_result r2 = machine_run(twin, MACHINE_MAX);
		bool same = r == r2 && same_run(&mc->cpus[0], &twin->cpus[0]) && same_run(&mc->cpus[1], &twin->cpus[1]);
		if (!EXPECT(v, same, "two runs of one input differ (results %d, %d; icounts %llu, %llu)", r, r2,
			    (unsigned long long)machine_icount(mc), (unsigned long long)machine_icount(twin)))
			return;
	}
	u64 n = machine_icount(mc) + mc->cpus[0].stalls + mc->cpus[1].stalls; // what the limit counts
	if (!EXPECT(v, r <= RUN_TRIPLE_FAULT && mc->stopped_cpu < mc->ncpus, "run result %d on vCPU %u", r, mc->stopped_cpu) ||
	    !EXPECT(v, n <= MACHINE_MAX + mc->ncpus * BLOCK_MAX, "machine_run(%d) retired %llu", MACHINE_MAX, (unsigned long long)n) ||
	    !EXPECT(v, r != RUN_LIMIT || n >= MACHINE_MAX, "RUN_LIMIT after %llu instructions", (unsigned long long)n))
		return;
	for (unsigned k = 0; k < mc->ncpus; k++) {
		struct cpu *c = &mc->cpus[k];
		if (!check_cpu(v, c, stop_of(mc, k, r)) || !EXPECT(v, r != RUN_HALT || c->halted, "RUN_HALT with vCPU %u running", k))
			return;
	}
}

const char *fuzz_priv_one(const u8 *data, size_t size, char *why, size_t len)
{
	struct src in = { .p = data, .n = size }, again = in;
	struct plan p;
	struct machine *mc = generate(&in, &p), *twin = NULL;
	if (mc && p.mode == MODE_MACHINE && !(twin = generate(&again, &p))) {
		machine_free(mc);
		mc = NULL;
	}
	if (!mc) {
		snprintf(why, len, "out of memory");
		return why;
	}
	struct verdict v = { .why = why, .len = len };
	switch (p.mode) {
	case MODE_RUN: run_blocks(&v, &mc->cpus[0]); break;
	case MODE_STEP: run_steps(&v, &mc->cpus[0]); break;
	default: run_machine(&v, mc, twin); break;
	}
	machine_free(mc);
	machine_free(twin);
	return v.bad ? why : NULL;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	char why[256];
	if (fuzz_priv_one(data, size, why, sizeof(why))) {
		fprintf(stderr, "fuzz_priv: %s\n", why);
		abort();
	}
	return 0;
}
