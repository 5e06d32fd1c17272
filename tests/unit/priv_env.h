/* SPDX-License-Identifier: MIT */
/*
 * A kernel-like environment for the privilege tests (priv_*_test.c), on
 * the test fixture: a GDT laid out as below, a full 256-entry IDT whose
 * gates all point at handler stubs (each a HLT, so a delivered event
 * stops the run at a known address with the frame on the stack), a
 * 64-bit TSS with RSP0 and IST1-7, user-accessible pages, and helpers to
 * enter CPL 3. Every value a test expects is derived from the SDM, not
 * from running Facet.
 *
 * GDT (selectors):
 *   0x08 kernel code, 64-bit, DPL 0      0x10 kernel data, DPL 0
 *   0x18 user code, 32-bit (L = 0), DPL 3 0x20 user data, DPL 3
 *   0x28 user code, 64-bit, DPL 3        0x30 the TSS (16 bytes, 0x30-0x3f)
 *   0x40 conforming code, 64-bit, DPL 0  0x48 kernel code, not present
 *   0x50 kernel data, not present        0x58 kernel code, 32-bit (L = 0)
 *   0x60 read-only data, DPL 0           0x68 data with base 0x12345678, DPL 3
 * STAR = 0x0018_0008 << 32: SYSCALL loads CS 0x08/SS 0x10, SYSRET CS
 * 0x2b/SS 0x23, as Linux lays its GDT out.
 */
#ifndef FACET_PRIV_ENV_H
#define FACET_PRIV_ENV_H

#include "fixture.h"

#include "cpu/segment.h"

#define P_GDT 0x500000ULL
#define P_IDT 0x501000ULL
#define P_TSS 0x502000ULL
#define P_HANDLERS 0x510000ULL // vector v's handler: P_HANDLERS + 16 v, a HLT
#define P_RSP0 0x580000ULL     // TSS.RSP0
#define P_IST(n) (0x590000ULL + 0x1000ULL * (n)) // TSS.IST1-7 (n = 1..7)
#define P_UCODE 0x610000ULL    // user code
#define P_USTACK 0x620000ULL   // user stack top
#define P_KCODE 0x630000ULL    // extra kernel code (SYSCALL entry...)

#define KCS 0x08
#define KDS 0x10
#define UCS32 0x1b
#define UDS 0x23
#define UCS 0x2b
#define TSS_SEL 0x30
#define CONF_CS 0x40
#define NP_CS 0x48
#define NP_DS 0x50
#define CS32 0x58
#define RO_DS 0x60
#define BASE_DS 0x6b
#define GDT_LIMIT 0x6f

/* Access rights the SDM gives these descriptors (for checking caches). */
#define AR_KCODE (0xbu | AR_S | AR_P | AR_L | AR_G)
#define AR_UCODE (AR_KCODE | 3u << AR_DPL_SHIFT)

/* Creates the fixture with the tables loaded (GDTR, IDTR, TR) at CPL 0; NULL when out of memory. */
struct machine *penv_new(void);

/* Returns the address of vector v's handler stub. */
static inline u64 penv_handler(unsigned v)
{
	return P_HANDLERS + 16ULL * v;
}

/* Rewrites IDT gate v: handler offset, selector, IST, type (0xE interrupt, 0xF trap), DPL, present. */
void penv_gate(struct machine *mc, unsigned v, u64 off, u16 sel, unsigned ist, unsigned type, unsigned dpl,
	       bool present);

/* Returns the raw 8 bytes of GDT entry sel. */
u64 penv_gdt_get(struct machine *mc, u16 sel);
void penv_gdt_set(struct machine *mc, u16 sel, u64 desc);

/* Copies code to a guest-physical address. */
void penv_put(struct machine *mc, u64 gpa, const void *code, size_t len);
u64 penv_rd64(struct machine *mc, u64 gpa);
void penv_wr64(struct machine *mc, u64 gpa, u64 v);

/* Puts the vCPU at CPL 3 (CS 0x2b, SS 0x23, DS/ES null) at rip with RSP rsp and RFLAGS rflags. */
void penv_enter_user(struct machine *mc, u64 rip, u64 rsp, u64 rflags);

/* Loads code at P_UCODE and enters CPL 3 there with RSP = P_USTACK, IF set. */
void penv_user_code(struct machine *mc, const void *code, size_t len);

/* Executes one instruction given as bytes at FIX_CODE (kernel) or P_UCODE (at CPL 3) by single step. */
enum cpu_stop penv_exec_user(struct machine *mc, const void *code, size_t len);

#endif
