/* SPDX-License-Identifier: MIT */
/*
 * VM-entry checks (SDM Vol. 3C 26.2, 26.3.1) on a VMCS, for every field
 * Facet models, in the SDM's three groups and with its three outcomes:
 *   - VM-execution, VM-exit and VM-entry control fields (26.2.1): VMLAUNCH/
 *     VMRESUME fail with VM-instruction error 7 (VMfailValid);
 *   - host-state area (26.2.2-26.2.4): VM-instruction error 8;
 *   - guest-state area of a 64-bit guest (26.3.1): a VM-entry failure, i.e.
 *     a VM exit with exit reason 33 and bit 31 set (26.8), exit
 *     qualification 0, 3 (NMI injected under blocking by STI) or 4 (VMCS
 *     link pointer).
 * The groups are checked in that order and the first failing check is
 * reported, with the field it concerns (for traces and tests). The checks
 * read only the VMCS and the capability MSRs (caps.h): nothing here knows
 * about a vCPU, so a later VMLAUNCH/VMRESUME and the VMM can both use it.
 * Not modeled (their fields do not exist): MSR load/store areas, TPR
 * shadow and APIC virtualization, VMCS shadowing, unrestricted guest,
 * SMM, PDPTEs (no PAE-paging guests). The VMCS link pointer must be all
 * ones (VMCS shadowing is not supported, so nothing else can be valid).
 * EPTP validity is mmu/ept.h's ept_eptp_valid, shared with VMFUNC(0).
 */
#ifndef FACET_VMX_ENTRY_CHECK_H
#define FACET_VMX_ENTRY_CHECK_H

#include "lib/types.h"
#include "vmx/vmcs.h"

/* Interruption-information format, VM entry and VM exit (SDM Vol. 3C table 24-16). */
#define INTR_INFO_VECTOR_MASK 0xffu        // bits 7:0
#define INTR_INFO_TYPE_SHIFT 8             // bits 10:8
#define INTR_INFO_DELIVER_CODE (1u << 11)  // deliver error code
#define INTR_INFO_RESERVED 0x7ffff000u     // bits 30:12
#define INTR_INFO_VALID (1u << 31)

enum intr_type {
	INTR_TYPE_EXTERNAL_INTERRUPT = 0,
	INTR_TYPE_RESERVED = 1,
	INTR_TYPE_NMI = 2,
	INTR_TYPE_HARDWARE_EXCEPTION = 3,
	INTR_TYPE_SOFTWARE_INTERRUPT = 4,
	INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION = 5,
	INTR_TYPE_SOFTWARE_EXCEPTION = 6,
	INTR_TYPE_OTHER_EVENT = 7,
};

/* Guest interruptibility state (table 24-3). */
#define GUEST_INTR_STATE_STI (1u << 0)
#define GUEST_INTR_STATE_MOV_SS (1u << 1)
#define GUEST_INTR_STATE_SMI (1u << 2)
#define GUEST_INTR_STATE_NMI (1u << 3)

/* Guest activity state (24.4.2). */
enum guest_activity_state {
	GUEST_ACTIVITY_ACTIVE = 0,
	GUEST_ACTIVITY_HLT = 1,
	GUEST_ACTIVITY_SHUTDOWN = 2,
	GUEST_ACTIVITY_WAIT_SIPI = 3,
};

/* Segment access rights in the guest-state area (table 24-2). */
#define SEG_AR_TYPE 0xfu
#define SEG_AR_S (1u << 4)
#define SEG_AR_DPL_SHIFT 5 // bits 6:5
#define SEG_AR_P (1u << 7)
#define SEG_AR_RESERVED_LO 0xf00u // bits 11:8
#define SEG_AR_L (1u << 13)
#define SEG_AR_DB (1u << 14)
#define SEG_AR_G (1u << 15)
#define SEG_AR_UNUSABLE (1u << 16)
#define SEG_AR_RESERVED_HI 0xfffe0000u // bits 31:17

/* VMCS link pointer value that means "no shadow VMCS" (24.4.2). */
#define VMCS_LINK_POINTER_NONE (~0ULL)

/* Exit reasons used by VM-entry failures (appendix C) and bit 31 of the exit reason (26.8). */
#define EXIT_REASON_INVALID_GUEST_STATE 33u
#define EXIT_REASON_FAILED_VMENTRY (1u << 31)

/* Exit qualification of a VM-entry failure due to invalid guest state (26.8). */
enum entry_failure_qual {
	ENTRY_FAIL_QUAL_DEFAULT = 0,
	ENTRY_FAIL_QUAL_PDPTE = 2,
	ENTRY_FAIL_QUAL_NMI_BLOCKED_BY_STI = 3,
	ENTRY_FAIL_QUAL_VMCS_LINK_POINTER = 4,
};

enum entry_check_kind {
	ENTRY_CHECK_OK = 0,
	ENTRY_CHECK_CONTROL, // VMfailValid(7)
	ENTRY_CHECK_HOST,    // VMfailValid(8)
	ENTRY_CHECK_GUEST,   // VM-entry failure: exit reason 33 | bit 31
};

struct entry_check_result {
	enum entry_check_kind kind;
	enum vmx_insn_error insn_error; // 7 or 8 for CONTROL and HOST; VMXERR_NONE otherwise
	u32 exit_reason;                // GUEST: EXIT_REASON_FAILED_VMENTRY | EXIT_REASON_INVALID_GUEST_STATE
	u64 qualification;              // GUEST: enum entry_failure_qual
	enum vmcs_field field;          // the field that failed its check (unset when OK)
	const char *why;                // the check, in a few words (static string; NULL when OK)
};

/*
 * Runs the VM-entry checks on v and fills *r with the first failure, or
 * r->kind = ENTRY_CHECK_OK. Returns r->kind. Does not change v: the caller
 * (VMLAUNCH/VMRESUME) writes VM_INSTRUCTION_ERROR or the exit fields.
 */
must_check enum entry_check_kind entry_check_vmcs(const struct vmcs *v, struct entry_check_result *r);

#endif
