/* SPDX-License-Identifier: MIT */
/*
 * VM-entry checks, SDM Vol. 3C 26.2.1 (controls), 26.2.2-26.2.4 (host
 * state) and 26.3.1 (guest state), restricted to the fields Facet models
 * and to a 64-bit host and guest (caps.h reports "host address-space size"
 * and "IA-32e mode guest" as fixed to 1, and unrestricted guest as
 * unsupported, so the real-mode, virtual-8086 and PAE branches of the SDM
 * never apply). Each group is a function of small CHECK()s; the first
 * failing one records its field and a few words in the result.
 * Workload: once per VMLAUNCH/VMRESUME, so clarity beats speed.
 */
#include "cpu/cpu.h"
#include "mmu/ept.h"
#include "mmu/mmu.h"
#include "vmx/caps.h"
#include "vmx/entry_check.h"

struct ctx {
	const struct vmcs *v;
	struct entry_check_result *r;
	u32 pin, cpu, sec, exit, entry; // the controls; sec is 0 unless activated
};

/* Records the failure of the check on field f in group x->r->kind; returns false. */
static bool fail(struct ctx *x, enum vmcs_field f, const char *why, u64 qual)
{
	x->r->field = f;
	x->r->why = why;
	x->r->qualification = qual;
	return false;
}

#define CHECK_Q(cond, f, why, qual)                    \
	do {                                           \
		if (!(cond))                           \
			return fail(x, f, why, qual);  \
	} while (0)
#define CHECK(cond, f, why) CHECK_Q(cond, f, why, ENTRY_FAIL_QUAL_DEFAULT)
#define G(f) vmcs_get(x->v, f)

static u64 cap(u32 msr)
{
	u64 v = 0;
	bool ok = caps_read_msr(msr, &v);
	(void)ok; // every MSR asked for here is a VMX capability MSR
	return v;
}

static bool canonical(u64 a)
{
	return (u64)((s64)(a << 16) >> 16) == a; // 48-bit linear addresses
}

static bool phys_ok(u64 a)
{
	return !(a >> MAXPHYADDR);
}

/* A 4-KiB aligned physical address within MAXPHYADDR (bitmaps, EPTP list, #VE area). */
static bool page_ok(u64 a)
{
	return !(a & 0xfff) && phys_ok(a);
}

/* Each byte of a PAT value holds 0, 1, 4, 5, 6 or 7 (26.2.2, 26.3.1.1). */
static bool pat_ok(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = pat >> (8 * i);
		if (t > 7 || t == 2 || t == 3)
			return false;
	}
	return true;
}

/* A CR0 or CR4 value against IA32_VMX_CRn_FIXED0 (must be 1) and FIXED1 (may be 1) (A.7, A.8). */
static bool cr_fixed_ok(u64 cr, u32 fixed0_msr)
{
	u64 fixed0 = cap(fixed0_msr), fixed1 = cap(fixed0_msr + 1);
	return (cr & fixed0) == fixed0 && !(cr & ~fixed1);
}

#define EFER_VALID (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

/* VM-function controls and the EPTP list (26.2.1.1). */
static bool check_vmfunc(struct ctx *x)
{
	u64 f = G(VM_FUNCTION_CONTROL);
	CHECK(!(f & ~cap(MSR_IA32_VMX_VMFUNC)), VM_FUNCTION_CONTROL, "unsupported VM function");
	if (!(f & VMFUNC_EPTP_SWITCHING))
		return true;
	CHECK(x->sec & SECONDARY_EXEC_ENABLE_EPT, SECONDARY_VM_EXEC_CONTROL, "EPTP switching without EPT");
	CHECK(page_ok(G(EPTP_LIST_ADDRESS)), EPTP_LIST_ADDRESS, "EPTP-list address unaligned or too wide");
	return true;
}

/* VM-execution control fields (26.2.1.1). */
static bool check_exec_controls(struct ctx *x)
{
	CHECK(caps_ctls_allow(cap(MSR_IA32_VMX_TRUE_PINBASED_CTLS), x->pin), PIN_BASED_VM_EXEC_CONTROL,
	      "reserved pin-based control");
	CHECK(caps_ctls_allow(cap(MSR_IA32_VMX_TRUE_PROCBASED_CTLS), x->cpu), CPU_BASED_VM_EXEC_CONTROL,
	      "reserved processor-based control");
	CHECK(caps_ctls_allow(cap(MSR_IA32_VMX_PROCBASED_CTLS2), x->sec), SECONDARY_VM_EXEC_CONTROL,
	      "reserved secondary control");
	CHECK(G(CR3_TARGET_COUNT) <= VMX_MISC_CR3_TARGETS, CR3_TARGET_COUNT, "CR3-target count too large");
	if (x->cpu & CPU_BASED_USE_IO_BITMAPS) {
		CHECK(page_ok(G(IO_BITMAP_A)), IO_BITMAP_A, "I/O bitmap A unaligned or too wide");
		CHECK(page_ok(G(IO_BITMAP_B)), IO_BITMAP_B, "I/O bitmap B unaligned or too wide");
	}
	if (x->cpu & CPU_BASED_USE_MSR_BITMAPS)
		CHECK(page_ok(G(MSR_BITMAP)), MSR_BITMAP, "MSR bitmap unaligned or too wide");
	if (x->sec & SECONDARY_EXEC_ENABLE_EPT)
		CHECK(ept_eptp_valid(G(EPT_POINTER)), EPT_POINTER, "invalid EPTP");
	CHECK(!(x->sec & SECONDARY_EXEC_MODE_BASED_EPT_EXECUTE) || (x->sec & SECONDARY_EXEC_ENABLE_EPT),
	      SECONDARY_VM_EXEC_CONTROL, "mode-based execute control without EPT");
	if (x->sec & SECONDARY_EXEC_ENABLE_VPID)
		CHECK(G(VIRTUAL_PROCESSOR_ID) != 0, VIRTUAL_PROCESSOR_ID, "VPID 0 with enable VPID");
	if ((x->sec & SECONDARY_EXEC_ENABLE_VM_FUNCTIONS) && !check_vmfunc(x))
		return false;
	if (x->sec & SECONDARY_EXEC_EPT_VIOLATION_VE)
		CHECK(page_ok(G(VE_INFORMATION_ADDRESS)), VE_INFORMATION_ADDRESS,
		      "#VE information address unaligned or too wide");
	return true;
}

/* VM-exit control fields (26.2.1.2). */
static bool check_exit_controls(struct ctx *x)
{
	CHECK(caps_ctls_allow(cap(MSR_IA32_VMX_TRUE_EXIT_CTLS), x->exit), VM_EXIT_CONTROLS,
	      "reserved VM-exit control");
	CHECK((x->pin & PIN_BASED_ACTIVATE_VMX_PREEMPTION_TIMER) || !(x->exit & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER),
	      VM_EXIT_CONTROLS, "save preemption timer without the timer");
	return true;
}

/* Exceptions that push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC (26.2.1.3). */
static bool exception_has_error_code(u32 vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

/* The VM-entry interruption-information field and what goes with it (26.2.1.3). */
static bool check_entry_event(struct ctx *x)
{
	u32 info = G(VM_ENTRY_INTR_INFO_FIELD);
	if (!(info & INTR_INFO_VALID))
		return true;
	u32 type = (info >> INTR_INFO_TYPE_SHIFT) & 7, vec = info & INTR_INFO_VECTOR_MASK;
	/* Type 7 is reserved only without MTF support, which Facet has. */
	CHECK(type != INTR_TYPE_RESERVED, VM_ENTRY_INTR_INFO_FIELD, "reserved interruption type");
	CHECK(type != INTR_TYPE_NMI || vec == 2, VM_ENTRY_INTR_INFO_FIELD, "NMI with vector other than 2");
	CHECK(type != INTR_TYPE_HARDWARE_EXCEPTION || vec <= 31, VM_ENTRY_INTR_INFO_FIELD,
	      "hardware exception vector above 31");
	CHECK(type != INTR_TYPE_OTHER_EVENT || vec == 0, VM_ENTRY_INTR_INFO_FIELD, "other event with vector not 0");
	bool want_code = type == INTR_TYPE_HARDWARE_EXCEPTION && exception_has_error_code(vec);
	CHECK(!!(info & INTR_INFO_DELIVER_CODE) == want_code, VM_ENTRY_INTR_INFO_FIELD,
	      "deliver-error-code bit disagrees with the vector");
	CHECK(!(info & INTR_INFO_RESERVED), VM_ENTRY_INTR_INFO_FIELD, "reserved bits 30:12 set");
	if (info & INTR_INFO_DELIVER_CODE)
		CHECK(!(G(VM_ENTRY_EXCEPTION_ERROR_CODE) & 0xffff0000u), VM_ENTRY_EXCEPTION_ERROR_CODE,
		      "error code bits 31:16 set");
	if (type >= INTR_TYPE_SOFTWARE_INTERRUPT && type <= INTR_TYPE_SOFTWARE_EXCEPTION) {
		u64 len = G(VM_ENTRY_INSTRUCTION_LEN); // 0 is allowed only with IA32_VMX_MISC[30]
		CHECK(len >= 1 && len <= 15, VM_ENTRY_INSTRUCTION_LEN, "instruction length not 1-15");
	}
	return true;
}

/* VM-entry control fields (26.2.1.3). */
static bool check_entry_controls(struct ctx *x)
{
	CHECK(caps_ctls_allow(cap(MSR_IA32_VMX_TRUE_ENTRY_CTLS), x->entry), VM_ENTRY_CONTROLS,
	      "reserved VM-entry control");
	return check_entry_event(x);
}

/* Host control registers and MSRs (26.2.2) and the address-space size (26.2.4). */
static bool check_host_regs(struct ctx *x)
{
	CHECK(cr_fixed_ok(G(HOST_CR0), MSR_IA32_VMX_CR0_FIXED0), HOST_CR0, "CR0 fixed bits");
	CHECK(cr_fixed_ok(G(HOST_CR4), MSR_IA32_VMX_CR4_FIXED0), HOST_CR4, "CR4 fixed bits");
	CHECK(phys_ok(G(HOST_CR3)), HOST_CR3, "CR3 bits beyond MAXPHYADDR");
	CHECK(canonical(G(HOST_IA32_SYSENTER_ESP)), HOST_IA32_SYSENTER_ESP, "non-canonical SYSENTER_ESP");
	CHECK(canonical(G(HOST_IA32_SYSENTER_EIP)), HOST_IA32_SYSENTER_EIP, "non-canonical SYSENTER_EIP");
	if (x->exit & VM_EXIT_LOAD_IA32_PAT)
		CHECK(pat_ok(G(HOST_IA32_PAT)), HOST_IA32_PAT, "invalid PAT memory type");
	if (x->exit & VM_EXIT_LOAD_IA32_EFER) {
		u64 efer = G(HOST_IA32_EFER);
		bool wide = x->exit & VM_EXIT_HOST_ADDRESS_SPACE_SIZE;
		CHECK(!(efer & ~EFER_VALID), HOST_IA32_EFER, "EFER reserved bits");
		CHECK(!!(efer & EFER_LMA) == wide && !!(efer & EFER_LME) == wide, HOST_IA32_EFER,
		      "EFER.LMA/LME disagree with host address-space size");
	}
	/* 26.2.4: the processor is in IA-32e mode, so the host must be 64-bit too. */
	CHECK(x->exit & VM_EXIT_HOST_ADDRESS_SPACE_SIZE, VM_EXIT_CONTROLS, "host address-space size 0");
	CHECK(G(HOST_CR4) & CR4_PAE, HOST_CR4, "CR4.PAE 0 for a 64-bit host");
	CHECK(canonical(G(HOST_RIP)), HOST_RIP, "non-canonical RIP");
	return true;
}

/* Host segment and descriptor-table registers (26.2.3). */
static bool check_host_segs(struct ctx *x)
{
	static const enum vmcs_field sels[] = { HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR,
		HOST_DS_SELECTOR, HOST_FS_SELECTOR, HOST_GS_SELECTOR, HOST_TR_SELECTOR };
	static const enum vmcs_field bases[] = { HOST_FS_BASE, HOST_GS_BASE, HOST_GDTR_BASE, HOST_IDTR_BASE,
		HOST_TR_BASE };
	for (size_t i = 0; i < ARRAY_SIZE(sels); i++)
		CHECK(!(G(sels[i]) & 7), sels[i], "selector RPL or TI not 0");
	CHECK(G(HOST_CS_SELECTOR) != 0, HOST_CS_SELECTOR, "null CS selector");
	CHECK(G(HOST_TR_SELECTOR) != 0, HOST_TR_SELECTOR, "null TR selector");
	for (size_t i = 0; i < ARRAY_SIZE(bases); i++)
		CHECK(canonical(G(bases[i])), bases[i], "non-canonical base");
	return true;
}

/* Guest checks (26.3.1) for a 64-bit guest: IA-32e mode guest is fixed to 1 (caps.h). */

#define DEBUGCTL_VALID 0xffc3ULL // bits 0, 1, 6-15; 5:2 and 63:16 reserved (26.3.1.1)
#define DEBUGCTL_BTF (1ULL << 1)
#define RFLAGS_RESERVED (~0ULL << 22 | 1ULL << 15 | 1ULL << 5 | 1ULL << 3)
#define PENDING_DBG_VALID 0x500fULL // B3:B0, enabled breakpoint (12), BS (14); no RTM (26.3.1.5)
#define PENDING_DBG_BS (1ULL << 14)

enum guest_seg { GSEG_ES, GSEG_CS, GSEG_SS, GSEG_DS, GSEG_FS, GSEG_GS, GSEG_LDTR, GSEG_TR };

struct seg {
	u64 base;
	u32 limit, ar;
	u16 sel;
	enum vmcs_field ar_field; // the field named when a check on this register fails
};

/* Reads guest segment register s; its four fields are in ES..TR order, 2 apart, in each group. */
static struct seg seg_get(struct ctx *x, enum guest_seg s)
{
	return (struct seg){ .sel = G(GUEST_ES_SELECTOR + 2 * s), .base = G(GUEST_ES_BASE + 2 * s),
		.limit = G(GUEST_ES_LIMIT + 2 * s), .ar = G(GUEST_ES_ACCESS_RIGHTS + 2 * s),
		.ar_field = GUEST_ES_ACCESS_RIGHTS + 2 * s };
}

static u32 dpl(u32 ar)
{
	return (ar >> SEG_AR_DPL_SHIFT) & 3;
}

static bool usable(const struct seg *g)
{
	return !(g->ar & SEG_AR_UNUSABLE);
}

/* P set, reserved bits clear, G consistent with the limit: common to every usable register (26.3.1.2). */
static bool check_seg_common(struct ctx *x, const struct seg *g)
{
	CHECK(g->ar & SEG_AR_P, g->ar_field, "segment not present");
	CHECK(!(g->ar & (SEG_AR_RESERVED_LO | SEG_AR_RESERVED_HI)), g->ar_field, "access-rights reserved bits");
	CHECK((g->limit & 0xfff) == 0xfff || !(g->ar & SEG_AR_G), g->ar_field, "G set with limit[11:0] not all ones");
	CHECK(!(g->limit >> 20) || (g->ar & SEG_AR_G), g->ar_field, "G clear with limit[31:20] not 0");
	return true;
}

/* CS and SS (26.3.1.2): CS must be accessed code; SS's DPL is the CPL. */
static bool check_guest_cs_ss(struct ctx *x, const struct seg *cs, const struct seg *ss)
{
	u32 type = cs->ar & SEG_AR_TYPE;
	CHECK((ss->sel & 3) == (cs->sel & 3), GUEST_SS_SELECTOR, "SS.RPL differs from CS.RPL");
	CHECK(!(cs->base >> 32), GUEST_CS_BASE, "CS base bits 63:32 set");
	CHECK(type == 9 || type == 11 || type == 13 || type == 15, cs->ar_field, "CS type not accessed code");
	CHECK(cs->ar & SEG_AR_S, cs->ar_field, "CS is a system segment");
	if (type <= 11)
		CHECK(dpl(cs->ar) == dpl(ss->ar), cs->ar_field, "non-conforming CS.DPL differs from SS.DPL");
	else
		CHECK(dpl(cs->ar) <= dpl(ss->ar), cs->ar_field, "conforming CS.DPL above SS.DPL");
	CHECK(!((cs->ar & SEG_AR_L) && (cs->ar & SEG_AR_DB)), cs->ar_field, "CS.L and CS.D both set");
	if (!check_seg_common(x, cs))
		return false;
	CHECK(dpl(ss->ar) == (ss->sel & 3), ss->ar_field, "SS.DPL differs from SS.RPL");
	if (!usable(ss))
		return true;
	CHECK(!(ss->base >> 32), GUEST_SS_BASE, "SS base bits 63:32 set");
	CHECK((ss->ar & SEG_AR_TYPE) == 3 || (ss->ar & SEG_AR_TYPE) == 7, ss->ar_field, "SS type not read/write data");
	CHECK(ss->ar & SEG_AR_S, ss->ar_field, "SS is a system segment");
	return check_seg_common(x, ss);
}

/* DS, ES, FS, GS (26.3.1.2): accessed, readable if code, DPL >= RPL unless conforming code. */
static bool check_guest_data_seg(struct ctx *x, enum guest_seg s)
{
	struct seg g = seg_get(x, s);
	u32 type = g.ar & SEG_AR_TYPE;
	if (s == GSEG_FS || s == GSEG_GS)
		CHECK(canonical(g.base), GUEST_ES_BASE + 2 * s, "non-canonical FS/GS base");
	if (!usable(&g))
		return true;
	if (s == GSEG_ES || s == GSEG_DS)
		CHECK(!(g.base >> 32), GUEST_ES_BASE + 2 * s, "ES/DS base bits 63:32 set");
	CHECK(type & 1, g.ar_field, "segment not accessed");
	CHECK(!(type & 8) || (type & 2), g.ar_field, "unreadable code segment");
	CHECK(g.ar & SEG_AR_S, g.ar_field, "system segment in a data register");
	CHECK(type > 11 || dpl(g.ar) >= (g.sel & 3u), g.ar_field, "DPL below RPL");
	return check_seg_common(x, &g);
}

/* TR and LDTR (26.3.1.2): a busy 64-bit TSS (always usable) and an LDT if usable. */
static bool check_guest_tr_ldtr(struct ctx *x)
{
	struct seg tr = seg_get(x, GSEG_TR), ldtr = seg_get(x, GSEG_LDTR);
	CHECK(!(tr.sel & 4), GUEST_TR_SELECTOR, "TR selector TI set");
	CHECK(canonical(tr.base), GUEST_TR_BASE, "non-canonical TR base");
	CHECK((tr.ar & SEG_AR_TYPE) == 11, tr.ar_field, "TR type not busy 64-bit TSS");
	CHECK(!(tr.ar & SEG_AR_S), tr.ar_field, "TR is not a system segment");
	CHECK(usable(&tr), tr.ar_field, "TR unusable");
	if (!check_seg_common(x, &tr))
		return false;
	if (!usable(&ldtr))
		return true;
	CHECK(!(ldtr.sel & 4), GUEST_LDTR_SELECTOR, "LDTR selector TI set");
	CHECK(canonical(ldtr.base), GUEST_LDTR_BASE, "non-canonical LDTR base");
	CHECK((ldtr.ar & SEG_AR_TYPE) == 2, ldtr.ar_field, "LDTR type not LDT");
	CHECK(!(ldtr.ar & SEG_AR_S), ldtr.ar_field, "LDTR is not a system segment");
	return check_seg_common(x, &ldtr);
}

/* Guest control registers, debug registers and MSRs (26.3.1.1). */
static bool check_guest_regs(struct ctx *x)
{
	u64 cr4 = G(GUEST_CR4);
	CHECK(cr_fixed_ok(G(GUEST_CR0), MSR_IA32_VMX_CR0_FIXED0), GUEST_CR0, "CR0 fixed bits");
	CHECK(cr_fixed_ok(cr4, MSR_IA32_VMX_CR4_FIXED0), GUEST_CR4, "CR4 fixed bits");
	if (x->entry & VM_ENTRY_LOAD_DEBUG_CONTROLS) {
		CHECK(!(G(GUEST_IA32_DEBUGCTL) & ~DEBUGCTL_VALID), GUEST_IA32_DEBUGCTL, "DEBUGCTL reserved bits");
		CHECK(!(G(GUEST_DR7) >> 32), GUEST_DR7, "DR7 bits 63:32 set");
	}
	CHECK(cr4 & CR4_PAE, GUEST_CR4, "CR4.PAE 0 for an IA-32e mode guest"); // CR0.PG is in FIXED0
	CHECK(phys_ok(G(GUEST_CR3)), GUEST_CR3, "CR3 bits beyond MAXPHYADDR");
	CHECK(canonical(G(GUEST_IA32_SYSENTER_ESP)), GUEST_IA32_SYSENTER_ESP, "non-canonical SYSENTER_ESP");
	CHECK(canonical(G(GUEST_IA32_SYSENTER_EIP)), GUEST_IA32_SYSENTER_EIP, "non-canonical SYSENTER_EIP");
	if (x->entry & VM_ENTRY_LOAD_IA32_PAT)
		CHECK(pat_ok(G(GUEST_IA32_PAT)), GUEST_IA32_PAT, "invalid PAT memory type");
	if (x->entry & VM_ENTRY_LOAD_IA32_EFER) {
		u64 efer = G(GUEST_IA32_EFER);
		bool ia32e = x->entry & VM_ENTRY_IA32E_MODE_GUEST;
		CHECK(!(efer & ~EFER_VALID), GUEST_IA32_EFER, "EFER reserved bits");
		CHECK(!!(efer & EFER_LMA) == ia32e, GUEST_IA32_EFER, "EFER.LMA differs from IA-32e mode guest");
		CHECK(!!(efer & EFER_LME) == ia32e, GUEST_IA32_EFER, "EFER.LME differs from IA-32e mode guest");
	}
	return true;
}

/* GDTR and IDTR (26.3.1.3). */
static bool check_guest_dtrs(struct ctx *x)
{
	CHECK(canonical(G(GUEST_GDTR_BASE)), GUEST_GDTR_BASE, "non-canonical GDTR base");
	CHECK(canonical(G(GUEST_IDTR_BASE)), GUEST_IDTR_BASE, "non-canonical IDTR base");
	CHECK(!(G(GUEST_GDTR_LIMIT) >> 16), GUEST_GDTR_LIMIT, "GDTR limit bits 31:16 set");
	CHECK(!(G(GUEST_IDTR_LIMIT) >> 16), GUEST_IDTR_LIMIT, "IDTR limit bits 31:16 set");
	return true;
}

static bool injecting(struct ctx *x, enum intr_type type)
{
	u32 info = G(VM_ENTRY_INTR_INFO_FIELD);
	return (info & INTR_INFO_VALID) && ((info >> INTR_INFO_TYPE_SHIFT) & 7) == type;
}

/* RIP and RFLAGS (26.3.1.4). */
static bool check_guest_rip_rflags(struct ctx *x, const struct seg *cs)
{
	u64 rip = G(GUEST_RIP), rf = G(GUEST_RFLAGS);
	if (cs->ar & SEG_AR_L)
		CHECK(canonical(rip), GUEST_RIP, "non-canonical RIP in 64-bit code");
	else
		CHECK(!(rip >> 32), GUEST_RIP, "RIP bits 63:32 set outside 64-bit code");
	CHECK(!(rf & RFLAGS_RESERVED), GUEST_RFLAGS, "RFLAGS reserved bits set");
	CHECK(rf & RFLAGS_FIXED1, GUEST_RFLAGS, "RFLAGS bit 1 clear");
	CHECK(!(rf & RFLAGS_VM), GUEST_RFLAGS, "RFLAGS.VM set for an IA-32e mode guest");
	CHECK(!injecting(x, INTR_TYPE_EXTERNAL_INTERRUPT) || (rf & RFLAGS_IF), GUEST_RFLAGS,
	      "external interrupt injected with IF 0");
	return true;
}

/* Events injectable into the HLT state: external interrupt, NMI, #DB, #MC, pending MTF (26.3.1.5). */
static bool event_ok_in_hlt(u32 info)
{
	u32 type = (info >> INTR_INFO_TYPE_SHIFT) & 7, vec = info & INTR_INFO_VECTOR_MASK;
	return type == INTR_TYPE_EXTERNAL_INTERRUPT || type == INTR_TYPE_NMI ||
	       (type == INTR_TYPE_HARDWARE_EXCEPTION && (vec == 1 || vec == 18)) ||
	       (type == INTR_TYPE_OTHER_EVENT && vec == 0);
}

/* Activity state (26.3.1.5): active, or HLT at CPL 0; only some events may wake HLT. */
static bool check_guest_activity(struct ctx *x, const struct seg *ss)
{
	u64 act = G(GUEST_ACTIVITY_STATE), info = G(VM_ENTRY_INTR_INFO_FIELD);
	bool hlt_ok = cap(MSR_IA32_VMX_MISC) & VMX_MISC_ACTIVITY_HLT;
	CHECK(act == GUEST_ACTIVITY_ACTIVE || (act == GUEST_ACTIVITY_HLT && hlt_ok), GUEST_ACTIVITY_STATE,
	      "unsupported activity state");
	if (act == GUEST_ACTIVITY_ACTIVE)
		return true;
	CHECK(dpl(ss->ar) == 0, GUEST_ACTIVITY_STATE, "HLT with SS.DPL not 0");
	CHECK(!(G(GUEST_INTERRUPTIBILITY_STATE) & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)),
	      GUEST_ACTIVITY_STATE, "HLT with blocking by STI or MOV SS");
	CHECK(!(info & INTR_INFO_VALID) || event_ok_in_hlt(info), GUEST_ACTIVITY_STATE, "event cannot leave HLT");
	return true;
}

/* Interruptibility state (26.3.1.5), with the NMI-under-STI failure (qualification 3). */
static bool check_guest_intr_state(struct ctx *x)
{
	u64 s = G(GUEST_INTERRUPTIBILITY_STATE);
	CHECK(!(s >> 4), GUEST_INTERRUPTIBILITY_STATE, "reserved bits 31:4 set"); // bit 4 needs SGX
	CHECK((s & 3) != 3, GUEST_INTERRUPTIBILITY_STATE, "blocking by STI and by MOV SS");
	CHECK(!(s & GUEST_INTR_STATE_STI) || (G(GUEST_RFLAGS) & RFLAGS_IF), GUEST_INTERRUPTIBILITY_STATE,
	      "blocking by STI with IF 0");
	CHECK(!(s & GUEST_INTR_STATE_SMI), GUEST_INTERRUPTIBILITY_STATE, "blocking by SMI outside SMM");
	if (injecting(x, INTR_TYPE_EXTERNAL_INTERRUPT))
		CHECK(!(s & 3), GUEST_INTERRUPTIBILITY_STATE, "external interrupt under STI or MOV SS blocking");
	if (!injecting(x, INTR_TYPE_NMI))
		return true;
	CHECK(!(s & GUEST_INTR_STATE_MOV_SS), GUEST_INTERRUPTIBILITY_STATE, "NMI under MOV SS blocking");
	CHECK(!(s & GUEST_INTR_STATE_NMI), GUEST_INTERRUPTIBILITY_STATE, "NMI under NMI blocking"); // no virtual NMIs
	/* Implementation-specific in the SDM (26.3.1.5, 26.8); Facet's model performs this check. */
	CHECK_Q(!(s & GUEST_INTR_STATE_STI), GUEST_INTERRUPTIBILITY_STATE, "NMI under STI blocking",
		ENTRY_FAIL_QUAL_NMI_BLOCKED_BY_STI);
	return true;
}

/* Pending debug exceptions (26.3.1.5): BS must match a pending single step while events are blocked. */
static bool check_guest_pending_dbg(struct ctx *x)
{
	u64 p = G(GUEST_PENDING_DBG_EXCEPTIONS);
	CHECK(!(p & ~PENDING_DBG_VALID), GUEST_PENDING_DBG_EXCEPTIONS, "reserved bits set");
	bool blocked = G(GUEST_INTERRUPTIBILITY_STATE) & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	if (!blocked && G(GUEST_ACTIVITY_STATE) != GUEST_ACTIVITY_HLT)
		return true;
	bool step = (G(GUEST_RFLAGS) & RFLAGS_TF) && !(G(GUEST_IA32_DEBUGCTL) & DEBUGCTL_BTF);
	CHECK(!!(p & PENDING_DBG_BS) == step, GUEST_PENDING_DBG_EXCEPTIONS, "BS disagrees with RFLAGS.TF and BTF");
	return true;
}

/* Every guest-state check, in the SDM's order (26.3.1.1-26.3.1.5). */
static bool check_guest_state(struct ctx *x)
{
	struct seg cs = seg_get(x, GSEG_CS), ss = seg_get(x, GSEG_SS);
	if (!check_guest_regs(x) || !check_guest_cs_ss(x, &cs, &ss) || !check_guest_data_seg(x, GSEG_ES) ||
	    !check_guest_data_seg(x, GSEG_DS) || !check_guest_data_seg(x, GSEG_FS) ||
	    !check_guest_data_seg(x, GSEG_GS) || !check_guest_tr_ldtr(x) || !check_guest_dtrs(x) ||
	    !check_guest_rip_rflags(x, &cs) || !check_guest_activity(x, &ss) || !check_guest_intr_state(x) ||
	    !check_guest_pending_dbg(x))
		return false;
	/* No VMCS shadowing: a link pointer other than all ones can never name a valid VMCS here. */
	CHECK_Q(G(VMCS_LINK_POINTER) == VMCS_LINK_POINTER_NONE, VMCS_LINK_POINTER, "VMCS link pointer not all ones",
		ENTRY_FAIL_QUAL_VMCS_LINK_POINTER);
	return true;
}

enum entry_check_kind entry_check_vmcs(const struct vmcs *v, struct entry_check_result *r)
{
	struct ctx x = { .v = v, .r = r };
	*r = (struct entry_check_result){ .kind = ENTRY_CHECK_CONTROL, .insn_error = VMXERR_ENTRY_INVALID_CONTROL_FIELD };
	x.pin = vmcs_get(v, PIN_BASED_VM_EXEC_CONTROL);
	x.cpu = vmcs_get(v, CPU_BASED_VM_EXEC_CONTROL);
	x.sec = (x.cpu & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ? vmcs_get(v, SECONDARY_VM_EXEC_CONTROL) : 0;
	x.exit = vmcs_get(v, VM_EXIT_CONTROLS);
	x.entry = vmcs_get(v, VM_ENTRY_CONTROLS);
	if (!check_exec_controls(&x) || !check_exit_controls(&x) || !check_entry_controls(&x))
		return r->kind;
	*r = (struct entry_check_result){ .kind = ENTRY_CHECK_HOST, .insn_error = VMXERR_ENTRY_INVALID_HOST_STATE_FIELD };
	if (!check_host_regs(&x) || !check_host_segs(&x))
		return r->kind;
	*r = (struct entry_check_result){ .kind = ENTRY_CHECK_GUEST,
		.exit_reason = EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_INVALID_GUEST_STATE };
	if (!check_guest_state(&x))
		return r->kind;
	*r = (struct entry_check_result){ .kind = ENTRY_CHECK_OK };
	return ENTRY_CHECK_OK;
}
