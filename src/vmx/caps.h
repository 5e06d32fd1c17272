/* SPDX-License-Identifier: MIT */
/*
 * The VMX capability MSRs (SDM Vol. 3C appendix A) reporting what Facet's
 * VT-x model supports, and the one list of supported controls they are
 * built from. A *_CTLS MSR holds the allowed 0-settings in bits 31:0 (a 1
 * there means the control must be 1) and the allowed 1-settings in bits
 * 63:32 (a 0 there means the control must be 0) (A.3). IA32_VMX_BASIC[55]
 * is 1, so VM entry checks controls against the TRUE_ MSRs (26.2.1); the
 * plain MSRs also report each "default1" reserved control as fixed to 1.
 *
 * The model is 64-bit only (DESIGN.md section 4): "IA-32e mode guest" and
 * "host address-space size" are reported as fixed to 1. Only active and
 * HLT activity states, no MSR load/store areas, no unrestricted guest.
 * Adding a control means: define its bit here, add it to *_SUPPORTED,
 * implement it, and add a test in tests/unit/vmcs_test.c.
 */
#ifndef FACET_VMX_CAPS_H
#define FACET_VMX_CAPS_H

#include "lib/types.h"

#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_MISC 0x485
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_VMCS_ENUM 0x48a
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490
#define MSR_IA32_VMX_VMFUNC 0x491

/* Pin-based VM-execution controls (SDM Vol. 3C table 24-5). */
#define PIN_BASED_EXTERNAL_INTERRUPT_EXITING (1u << 0)
#define PIN_BASED_NMI_EXITING (1u << 3)
#define PIN_BASED_VIRTUAL_NMIS (1u << 5)
#define PIN_BASED_ACTIVATE_VMX_PREEMPTION_TIMER (1u << 6)
#define PIN_BASED_PROCESS_POSTED_INTERRUPTS (1u << 7)
#define PIN_BASED_DEFAULT1 0x00000016u // bits 1, 2, 4 (A.3.1)

/* Primary processor-based VM-execution controls (table 24-6). */
#define CPU_BASED_INTERRUPT_WINDOW_EXITING (1u << 2)
#define CPU_BASED_USE_TSC_OFFSETTING (1u << 3)
#define CPU_BASED_HLT_EXITING (1u << 7)
#define CPU_BASED_INVLPG_EXITING (1u << 9)
#define CPU_BASED_MWAIT_EXITING (1u << 10)
#define CPU_BASED_RDPMC_EXITING (1u << 11)
#define CPU_BASED_RDTSC_EXITING (1u << 12)
#define CPU_BASED_CR3_LOAD_EXITING (1u << 15)
#define CPU_BASED_CR3_STORE_EXITING (1u << 16)
#define CPU_BASED_CR8_LOAD_EXITING (1u << 19)
#define CPU_BASED_CR8_STORE_EXITING (1u << 20)
#define CPU_BASED_USE_TPR_SHADOW (1u << 21)
#define CPU_BASED_NMI_WINDOW_EXITING (1u << 22)
#define CPU_BASED_MOV_DR_EXITING (1u << 23)
#define CPU_BASED_UNCONDITIONAL_IO_EXITING (1u << 24)
#define CPU_BASED_USE_IO_BITMAPS (1u << 25)
#define CPU_BASED_MONITOR_TRAP_FLAG (1u << 27)
#define CPU_BASED_USE_MSR_BITMAPS (1u << 28)
#define CPU_BASED_MONITOR_EXITING (1u << 29)
#define CPU_BASED_PAUSE_EXITING (1u << 30)
#define CPU_BASED_ACTIVATE_SECONDARY_CONTROLS (1u << 31)
#define CPU_BASED_DEFAULT1 0x0401e172u // bits 1, 4-6, 8, 13-16, 26 (A.3.2)

/* Secondary processor-based VM-execution controls (table 24-7). */
#define SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES (1u << 0)
#define SECONDARY_EXEC_ENABLE_EPT (1u << 1)
#define SECONDARY_EXEC_DESCRIPTOR_TABLE_EXITING (1u << 2)
#define SECONDARY_EXEC_ENABLE_RDTSCP (1u << 3)
#define SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE (1u << 4)
#define SECONDARY_EXEC_ENABLE_VPID (1u << 5)
#define SECONDARY_EXEC_WBINVD_EXITING (1u << 6)
#define SECONDARY_EXEC_UNRESTRICTED_GUEST (1u << 7)
#define SECONDARY_EXEC_ENABLE_INVPCID (1u << 12)
#define SECONDARY_EXEC_ENABLE_VM_FUNCTIONS (1u << 13)
#define SECONDARY_EXEC_VMCS_SHADOWING (1u << 14)
#define SECONDARY_EXEC_EPT_VIOLATION_VE (1u << 18)
#define SECONDARY_EXEC_MODE_BASED_EPT_EXECUTE (1u << 22)

/* VM-exit controls (table 24-13). */
#define VM_EXIT_SAVE_DEBUG_CONTROLS (1u << 2)
#define VM_EXIT_HOST_ADDRESS_SPACE_SIZE (1u << 9)
#define VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL (1u << 12)
#define VM_EXIT_ACKNOWLEDGE_INTERRUPT_ON_EXIT (1u << 15)
#define VM_EXIT_SAVE_IA32_PAT (1u << 18)
#define VM_EXIT_LOAD_IA32_PAT (1u << 19)
#define VM_EXIT_SAVE_IA32_EFER (1u << 20)
#define VM_EXIT_LOAD_IA32_EFER (1u << 21)
#define VM_EXIT_SAVE_VMX_PREEMPTION_TIMER (1u << 22)
#define VM_EXIT_DEFAULT1 0x00036dffu // bits 0-8, 10, 11, 13, 14, 16, 17 (A.4)

/* VM-entry controls (table 24-15). */
#define VM_ENTRY_LOAD_DEBUG_CONTROLS (1u << 2)
#define VM_ENTRY_IA32E_MODE_GUEST (1u << 9)
#define VM_ENTRY_TO_SMM (1u << 10)
#define VM_ENTRY_DEACTIVATE_DUAL_MONITOR (1u << 11)
#define VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL (1u << 13)
#define VM_ENTRY_LOAD_IA32_PAT (1u << 14)
#define VM_ENTRY_LOAD_IA32_EFER (1u << 15)
#define VM_ENTRY_DEFAULT1 0x000011ffu // bits 0-8, 12 (A.5)

/* VM-function controls (table 24-10). */
#define VMFUNC_EPTP_SWITCHING (1ULL << 0)

/*
 * What the model supports: the controls that may be 1 (allowed-1) and,
 * of those, the ones that must be 1 (allowed-0 = 1 in the TRUE_ MSRs).
 * Default1 bits not listed as supported are reserved and fixed to 1.
 */
#define PIN_BASED_SUPPORTED (PIN_BASED_EXTERNAL_INTERRUPT_EXITING | PIN_BASED_NMI_EXITING | \
			     PIN_BASED_ACTIVATE_VMX_PREEMPTION_TIMER)
#define CPU_BASED_SUPPORTED (CPU_BASED_INTERRUPT_WINDOW_EXITING | CPU_BASED_HLT_EXITING | \
			     CPU_BASED_INVLPG_EXITING | CPU_BASED_RDTSC_EXITING | CPU_BASED_CR3_LOAD_EXITING | \
			     CPU_BASED_CR3_STORE_EXITING | CPU_BASED_UNCONDITIONAL_IO_EXITING | \
			     CPU_BASED_USE_IO_BITMAPS | CPU_BASED_MONITOR_TRAP_FLAG | CPU_BASED_USE_MSR_BITMAPS | \
			     CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
#define SECONDARY_EXEC_SUPPORTED (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_RDTSCP | \
				  SECONDARY_EXEC_ENABLE_VPID | SECONDARY_EXEC_ENABLE_INVPCID | \
				  SECONDARY_EXEC_ENABLE_VM_FUNCTIONS | SECONDARY_EXEC_EPT_VIOLATION_VE | \
				  SECONDARY_EXEC_MODE_BASED_EPT_EXECUTE)
#define VM_EXIT_SUPPORTED (VM_EXIT_SAVE_DEBUG_CONTROLS | VM_EXIT_HOST_ADDRESS_SPACE_SIZE | \
			   VM_EXIT_ACKNOWLEDGE_INTERRUPT_ON_EXIT | VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT | \
			   VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)
#define VM_EXIT_REQUIRED VM_EXIT_HOST_ADDRESS_SPACE_SIZE // 64-bit hosts only
#define VM_ENTRY_SUPPORTED (VM_ENTRY_LOAD_DEBUG_CONTROLS | VM_ENTRY_IA32E_MODE_GUEST | \
			    VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER)
#define VM_ENTRY_REQUIRED VM_ENTRY_IA32E_MODE_GUEST // 64-bit guests only
#define VMFUNC_SUPPORTED VMFUNC_EPTP_SWITCHING

/* IA32_VMX_BASIC (A.1). */
#define VMX_BASIC_REVISION_ID 0x00000001u // bits 30:0: Facet's VMCS revision identifier
#define VMX_BASIC_VMCS_SIZE 4096ULL       // bits 44:32
#define VMX_BASIC_MEMTYPE_WB 6ULL         // bits 53:50
#define VMX_BASIC_INOUT (1ULL << 54)      // INS/OUTS report instruction information
#define VMX_BASIC_TRUE_CTLS (1ULL << 55)  // the TRUE_ MSRs exist

/* IA32_VMX_MISC (A.6). */
#define VMX_MISC_PREEMPTION_TIMER_RATE 0u  // bits 4:0: timer ticks every 2^0 TSC ticks
#define VMX_MISC_STORE_LMA (1ULL << 5)     // exits store EFER.LMA into "IA-32e mode guest"
#define VMX_MISC_ACTIVITY_HLT (1ULL << 6)  // bits 8:6: HLT supported; shutdown, wait-for-SIPI not
#define VMX_MISC_CR3_TARGETS 4u            // bits 24:16
#define VMX_MISC_VMWRITE_ANY (1ULL << 29)  // not reported: exit-information fields stay read-only
#define VMX_MISC_INJECT_LEN0 (1ULL << 30)  // not reported: instruction length 0 is invalid

#define CR4_VMXE (1ULL << 13) // VMX enable: fixed to 1 in VMX operation (A.8)

/*
 * IA32_VMX_EPT_VPID_CAP (A.10): the EPT-walk bits are mmu/ept.h's
 * EPT_CAP_MODELED (the EPT layer says what it walks); the INVEPT and INVVPID
 * bits are the instructions' and are listed here.
 */
#define VMX_EPT_INVEPT (1ULL << 20)
#define VMX_EPT_AD (1ULL << 21)
#define VMX_EPT_INVEPT_SINGLE_CONTEXT (1ULL << 25)
#define VMX_EPT_INVEPT_ALL_CONTEXT (1ULL << 26)
#define VMX_VPID_INVVPID (1ULL << 32)
#define VMX_VPID_INVVPID_INDIVIDUAL_ADDRESS (1ULL << 40)
#define VMX_VPID_INVVPID_SINGLE_CONTEXT (1ULL << 41)
#define VMX_VPID_INVVPID_ALL_CONTEXT (1ULL << 42)
#define VMX_VPID_INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS (1ULL << 43)

/*
 * Reads VMX capability MSR msr (0x480-0x491) into *val. Returns false, and
 * leaves *val alone, for any other MSR (the caller raises #GP).
 */
must_check bool caps_read_msr(u32 msr, u64 *val);
/* Returns true if ctl is allowed by the *_CTLS value msr_val (allowed-0 and allowed-1 halves). */
bool caps_ctls_allow(u64 msr_val, u32 ctl);

#endif
