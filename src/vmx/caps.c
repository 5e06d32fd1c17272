/* SPDX-License-Identifier: MIT */
/*
 * The values of the VMX capability MSRs (SDM Vol. 3C appendix A), built
 * from the supported-control lists of caps.h so that the MSRs, the VM-entry
 * checks (entry_check.c) and the model cannot disagree. The values are
 * constants: the same for every vCPU and every run.
 */
#include "cpu/cpu.h"
#include "mmu/ept.h"
#include "vmx/caps.h"
#include "vmx/vmcs.h"

/* CR0 and CR4 bits the CPU model implements (cpu/exec_priv.c), plus CR4.VMXE. */
#define CR0_IMPLEMENTED (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | \
			 CR0_NW | CR0_CD | CR0_PG)
#define CR4_IMPLEMENTED (CR4_TSD | CR4_DE | CR4_PAE | CR4_PGE | CR4_PCE | CR4_PCIDE | CR4_SMEP | \
			 CR4_SMAP | CR4_VMXE)

/* Returns a *_CTLS value: allowed-0 settings in 31:0, allowed-1 settings in 63:32 (A.3). */
static u64 ctls(u32 must_be_1, u32 may_be_1)
{
	return (u64)(may_be_1 | must_be_1) << 32 | must_be_1;
}

static u64 vmx_basic(void)
{
	return VMX_BASIC_REVISION_ID | VMX_BASIC_VMCS_SIZE << 32 | VMX_BASIC_MEMTYPE_WB << 50 |
	       VMX_BASIC_INOUT | VMX_BASIC_TRUE_CTLS; // bit 48 = 0: addresses up to MAXPHYADDR
}

static u64 vmx_misc(void)
{
	return VMX_MISC_PREEMPTION_TIMER_RATE | VMX_MISC_STORE_LMA | VMX_MISC_ACTIVITY_HLT |
	       (u64)VMX_MISC_CR3_TARGETS << 16; // bits 27:25 = 0: no MSR lists are modeled
}

static u64 ept_vpid_cap(void)
{
	return EPT_CAP_MODELED | VMX_EPT_INVEPT | VMX_EPT_INVEPT_SINGLE_CONTEXT | VMX_EPT_INVEPT_ALL_CONTEXT | VMX_VPID_INVVPID |
	       VMX_VPID_INVVPID_INDIVIDUAL_ADDRESS | VMX_VPID_INVVPID_SINGLE_CONTEXT |
	       VMX_VPID_INVVPID_ALL_CONTEXT | VMX_VPID_INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS;
}

/*
 * The plain *_CTLS MSRs report every default1 bit as fixed to 1; the TRUE_
 * ones let a supported default1 control (CR3-load/store exiting, save/load
 * debug controls) be 0 (A.3.2, A.4, A.5).
 */
bool caps_read_msr(u32 msr, u64 *val)
{
	u64 v;
	switch (msr) {
	case MSR_IA32_VMX_BASIC: v = vmx_basic(); break;
	case MSR_IA32_VMX_PINBASED_CTLS:
	case MSR_IA32_VMX_TRUE_PINBASED_CTLS: v = ctls(PIN_BASED_DEFAULT1, PIN_BASED_SUPPORTED); break;
	case MSR_IA32_VMX_PROCBASED_CTLS: v = ctls(CPU_BASED_DEFAULT1, CPU_BASED_SUPPORTED); break;
	case MSR_IA32_VMX_TRUE_PROCBASED_CTLS:
		v = ctls(CPU_BASED_DEFAULT1 & ~CPU_BASED_SUPPORTED, CPU_BASED_SUPPORTED);
		break;
	case MSR_IA32_VMX_EXIT_CTLS: v = ctls(VM_EXIT_DEFAULT1 | VM_EXIT_REQUIRED, VM_EXIT_SUPPORTED); break;
	case MSR_IA32_VMX_TRUE_EXIT_CTLS:
		v = ctls((VM_EXIT_DEFAULT1 & ~VM_EXIT_SUPPORTED) | VM_EXIT_REQUIRED, VM_EXIT_SUPPORTED);
		break;
	case MSR_IA32_VMX_ENTRY_CTLS: v = ctls(VM_ENTRY_DEFAULT1 | VM_ENTRY_REQUIRED, VM_ENTRY_SUPPORTED); break;
	case MSR_IA32_VMX_TRUE_ENTRY_CTLS:
		v = ctls((VM_ENTRY_DEFAULT1 & ~VM_ENTRY_SUPPORTED) | VM_ENTRY_REQUIRED, VM_ENTRY_SUPPORTED);
		break;
	case MSR_IA32_VMX_MISC: v = vmx_misc(); break;
	case MSR_IA32_VMX_CR0_FIXED0: v = CR0_PE | CR0_NE | CR0_PG; break;
	case MSR_IA32_VMX_CR0_FIXED1: v = CR0_IMPLEMENTED; break;
	case MSR_IA32_VMX_CR4_FIXED0: v = CR4_VMXE; break;
	case MSR_IA32_VMX_CR4_FIXED1: v = CR4_IMPLEMENTED; break;
	case MSR_IA32_VMX_VMCS_ENUM: v = (u64)vmcs_max_index() << 1; break;
	case MSR_IA32_VMX_PROCBASED_CTLS2: v = ctls(0, SECONDARY_EXEC_SUPPORTED); break;
	case MSR_IA32_VMX_EPT_VPID_CAP: v = ept_vpid_cap(); break;
	case MSR_IA32_VMX_VMFUNC: v = VMFUNC_SUPPORTED; break;
	default: return false;
	}
	*val = v;
	return true;
}

bool caps_ctls_allow(u64 msr_val, u32 ctl)
{
	u32 must_be_1 = (u32)msr_val, may_be_1 = (u32)(msr_val >> 32);
	return (ctl & must_be_1) == must_be_1 && !(ctl & ~may_be_1);
}
