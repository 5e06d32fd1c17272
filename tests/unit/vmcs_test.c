/* SPDX-License-Identifier: MIT */
/*
 * The VMCS field table, VMREAD/VMWRITE semantics and the VMX capability
 * MSRs (src/vmx/vmcs.c, caps.c). Expected values are typed in from the
 * Intel SDM Vol. 3C: the encoding layout of 24.11.2 (bits 14:13 width,
 * 11:10 type, 0 access type, 12 and 31:15 reserved), the encodings of
 * appendix B, the VM-instruction errors of 30.4 (12: unsupported
 * component, 13: VMWRITE to a read-only component), and appendix A for
 * the MSR formats (allowed-0 settings in 31:0, allowed-1 in 63:32;
 * default1 classes A.3-A.5), applied to the controls issue 4 asks for.
 */
#include <stdlib.h>

#include "test.h"
#include "vmx/caps.h"
#include "vmx/vmcs.h"

/* Width (bits 14:13) and type (bits 11:10) of an encoding, decoded here from the SDM rule. */
static int sdm_width_bits(u32 enc)
{
	static const int bits[4] = { 16, 64, 32, 0 }; // 0: natural width
	return bits[(enc >> 13) & 3];
}

static int declared_width_bits(enum vmcs_width w)
{
	return w == VMCS_WIDTH_16 ? 16 : w == VMCS_WIDTH_32 ? 32 : w == VMCS_WIDTH_64 ? 64 : 0;
}

TEST(vmcs, encodings_follow_the_sdm_bit_layout)
{
	size_t n = vmcs_field_count();
	ASSERT_TRUE(n > 100);
	for (size_t i = 0; i < n; i++) {
		u32 enc = vmcs_field_at(i);
		EXPECT_EQ(0, enc & 1);            // full access type
		EXPECT_EQ(0, enc & 0x1000);       // bit 12 reserved
		EXPECT_EQ(0, enc & 0xffff8000u);  // bits 31:15 reserved
		EXPECT_EQ(sdm_width_bits(enc), declared_width_bits(vmcs_field_declared_width(i)));
		EXPECT_EQ((enc >> 10) & 3, vmcs_field_declared_type(i));
		for (size_t j = 0; j < i; j++)
			EXPECT_TRUE(vmcs_field_at(j) != enc);
		const char *name = vmcs_field_name(enc);
		ASSERT_TRUE(name != NULL);
		/* Names say the type: guest-state fields are GUEST_*, host-state HOST_*. */
		if (!strncmp(name, "HOST_", 5))
			EXPECT_EQ(3, (enc >> 10) & 3);
		if (!strncmp(name, "GUEST_", 6) && strcmp(name, "GUEST_PHYSICAL_ADDRESS") &&
		    strcmp(name, "GUEST_LINEAR_ADDRESS"))
			EXPECT_EQ(2, (enc >> 10) & 3);
	}
}

TEST(vmcs, encodings_match_appendix_b)
{
	/* A sample of each group of appendix B, as printed there. */
	EXPECT_EQ(0x0000, VIRTUAL_PROCESSOR_ID);
	EXPECT_EQ(0x0004, EPTP_INDEX);
	EXPECT_EQ(0x0802, GUEST_CS_SELECTOR);
	EXPECT_EQ(0x080e, GUEST_TR_SELECTOR);
	EXPECT_EQ(0x0c0c, HOST_TR_SELECTOR);
	EXPECT_EQ(0x2000, IO_BITMAP_A);
	EXPECT_EQ(0x2004, MSR_BITMAP);
	EXPECT_EQ(0x2018, VM_FUNCTION_CONTROL);
	EXPECT_EQ(0x201a, EPT_POINTER);
	EXPECT_EQ(0x2024, EPTP_LIST_ADDRESS);
	EXPECT_EQ(0x202a, VE_INFORMATION_ADDRESS);
	EXPECT_EQ(0x2400, GUEST_PHYSICAL_ADDRESS);
	EXPECT_EQ(0x2800, VMCS_LINK_POINTER);
	EXPECT_EQ(0x2806, GUEST_IA32_EFER);
	EXPECT_EQ(0x2c02, HOST_IA32_EFER);
	EXPECT_EQ(0x4000, PIN_BASED_VM_EXEC_CONTROL);
	EXPECT_EQ(0x4002, CPU_BASED_VM_EXEC_CONTROL);
	EXPECT_EQ(0x4004, EXCEPTION_BITMAP);
	EXPECT_EQ(0x400c, VM_EXIT_CONTROLS);
	EXPECT_EQ(0x4012, VM_ENTRY_CONTROLS);
	EXPECT_EQ(0x4016, VM_ENTRY_INTR_INFO_FIELD);
	EXPECT_EQ(0x401e, SECONDARY_VM_EXEC_CONTROL);
	EXPECT_EQ(0x4400, VM_INSTRUCTION_ERROR);
	EXPECT_EQ(0x4402, VM_EXIT_REASON);
	EXPECT_EQ(0x4408, IDT_VECTORING_INFO_FIELD);
	EXPECT_EQ(0x440e, VMX_INSTRUCTION_INFO);
	EXPECT_EQ(0x4816, GUEST_CS_ACCESS_RIGHTS);
	EXPECT_EQ(0x4824, GUEST_INTERRUPTIBILITY_STATE);
	EXPECT_EQ(0x4826, GUEST_ACTIVITY_STATE);
	EXPECT_EQ(0x482e, VMX_PREEMPTION_TIMER_VALUE);
	EXPECT_EQ(0x4c00, HOST_IA32_SYSENTER_CS);
	EXPECT_EQ(0x6000, CR0_GUEST_HOST_MASK);
	EXPECT_EQ(0x6006, CR4_READ_SHADOW);
	EXPECT_EQ(0x6400, EXIT_QUALIFICATION);
	EXPECT_EQ(0x640a, GUEST_LINEAR_ADDRESS);
	EXPECT_EQ(0x6800, GUEST_CR0);
	EXPECT_EQ(0x681e, GUEST_RIP);
	EXPECT_EQ(0x6820, GUEST_RFLAGS);
	EXPECT_EQ(0x6822, GUEST_PENDING_DBG_EXCEPTIONS);
	EXPECT_EQ(0x6c00, HOST_CR0);
	EXPECT_EQ(0x6c16, HOST_RIP);
}

TEST(vmcs, write_truncates_to_width_and_read_zero_extends)
{
	struct vmcs *v = vmcs_new();
	ASSERT_TRUE(v != NULL);
	u64 val = 0;
	EXPECT_EQ(0, vmcs_write(v, GUEST_CS_SELECTOR, 0xabcd12345ULL));
	EXPECT_EQ(0, vmcs_read(v, GUEST_CS_SELECTOR, &val));
	EXPECT_EQ(0x2345, val);
	EXPECT_EQ(0, vmcs_write(v, EXCEPTION_BITMAP, 0xffffffff00004000ULL));
	EXPECT_EQ(0, vmcs_read(v, EXCEPTION_BITMAP, &val));
	EXPECT_EQ(0x4000, val);
	EXPECT_EQ(0, vmcs_write(v, GUEST_RIP, 0xffffffff81000123ULL));
	EXPECT_EQ(0, vmcs_read(v, GUEST_RIP, &val));
	EXPECT_EQ(0xffffffff81000123ULL, val);
	EXPECT_EQ(0xffffffff81000123ULL, vmcs_get(v, GUEST_RIP));
	vmcs_free(v);
}

TEST(vmcs, high_access_type_reads_and_writes_bits_63_32)
{
	struct vmcs *v = vmcs_new();
	ASSERT_TRUE(v != NULL);
	u64 val = 0;
	EXPECT_EQ(0, vmcs_write(v, EPT_POINTER, 0x1111222233334444ULL));
	EXPECT_EQ(0, vmcs_read(v, 0x201b, &val));
	EXPECT_EQ(0x11112222, val);
	EXPECT_EQ(0, vmcs_write(v, 0x201b, 0xdeadbeefcafef00dULL)); // only bits 31:0 of the source
	EXPECT_EQ(0xcafef00d33334444ULL, vmcs_get(v, EPT_POINTER));
	EXPECT_STREQ("EPT_POINTER_HIGH", vmcs_field_name(0x201b));
	EXPECT_STREQ("GUEST_RIP", vmcs_field_name(0x681e));
	vmcs_free(v);
}

TEST(vmcs, unsupported_components_fail_with_error_12)
{
	struct vmcs *v = vmcs_new();
	ASSERT_TRUE(v != NULL);
	u64 val = 0x55;
	static const u64 bad[] = {
		0x4828,                   // guest SMBASE: exists in the SDM, not modeled
		0x2010,                   // TSC offset: not modeled
		0x681f,                   // high access to a natural-width field
		0x4403,                   // high access to a 32-bit field
		0x0801,                   // high access to a 16-bit field
		0x1000 | 0x0802,          // bit 12 set
		0x8000 | 0x0802,          // bit 15 set
		(1ULL << 32) | 0x681e,    // bits 63:32 of the register operand set
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(12, vmcs_read(v, bad[i], &val));
		EXPECT_EQ(12, vmcs_write(v, bad[i], 1));
		EXPECT_TRUE(!vmcs_field_is_supported(bad[i]));
		EXPECT_TRUE(vmcs_field_name(bad[i]) == NULL);
	}
	EXPECT_EQ(0x55, val);
	vmcs_free(v);
}

TEST(vmcs, exit_information_is_read_only_with_error_13)
{
	struct vmcs *v = vmcs_new();
	ASSERT_TRUE(v != NULL);
	static const u64 ro[] = { VM_EXIT_REASON, EXIT_QUALIFICATION, GUEST_LINEAR_ADDRESS, GUEST_PHYSICAL_ADDRESS,
		0x2401, VM_EXIT_INTR_INFO, VM_EXIT_INTR_ERROR_CODE, IDT_VECTORING_INFO_FIELD,
		IDT_VECTORING_ERROR_CODE, VM_EXIT_INSTRUCTION_LEN, VMX_INSTRUCTION_INFO, VM_INSTRUCTION_ERROR };
	for (size_t i = 0; i < ARRAY_SIZE(ro); i++) {
		EXPECT_EQ(13, vmcs_write(v, ro[i], 0x1234));
		u64 val = 1;
		EXPECT_EQ(0, vmcs_read(v, ro[i], &val));
		EXPECT_EQ(0, val);
	}
	/* The processor itself fills them (VM exit). */
	vmcs_set(v, VM_EXIT_REASON, 0x1ffffffffULL);
	EXPECT_EQ(0xffffffff, vmcs_get(v, VM_EXIT_REASON));
	vmcs_free(v);
}

static u64 msr(u32 index)
{
	u64 v = 0xbad;
	EXPECT_TRUE(caps_read_msr(index, &v));
	return v;
}

TEST(vmcs, ctls_msrs_report_the_modeled_controls)
{
	/* allowed-1 in 63:32, allowed-0 in 31:0. Pin-based: default1 1,2,4; ext-int 0, NMI 3, timer 6. */
	EXPECT_EQ(0x0000005f00000016ULL, msr(0x481));
	EXPECT_EQ(0x0000005f00000016ULL, msr(0x48d));
	/* Primary: default1 1,4-6,8,13-16,26; may be 1: 2,7,9,12,15,16,24,25,27,28,31. */
	EXPECT_EQ(0x9f01f3f60401e172ULL, msr(0x482));
	/* TRUE: CR3-load/store exiting (15, 16) may be 0. */
	EXPECT_EQ(0x9f01f3f604006172ULL, msr(0x48e));
	/* Secondary: EPT 1, RDTSCP 3, VPID 5, INVPCID 12, VM functions 13, #VE 18, MBEC 22. */
	EXPECT_EQ(0x0044302a00000000ULL, msr(0x48b));
	/* Exit: default1 0-8,10,11,13,14,16,17; host address-space size (9) fixed to 1; may be 1: 2,9,15,18-22. */
	EXPECT_EQ(0x007fefff00036fffULL, msr(0x483));
	EXPECT_EQ(0x007fefff00036ffbULL, msr(0x48f)); // TRUE: save debug controls (2) may be 0
	/* Entry: default1 0-8,12; IA-32e mode guest (9) fixed to 1; may be 1: 2,9,14,15. */
	EXPECT_EQ(0x0000d3ff000013ffULL, msr(0x484));
	EXPECT_EQ(0x0000d3ff000013fbULL, msr(0x490)); // TRUE: load debug controls (2) may be 0
	EXPECT_EQ(1, msr(0x491)); // VMFUNC: EPTP switching only
}

TEST(vmcs, ctls_msrs_are_self_consistent)
{
	static const u32 plain[] = { 0x481, 0x482, 0x483, 0x484 }, truth[] = { 0x48d, 0x48e, 0x48f, 0x490 };
	static const u32 default1[] = { 0x16, 0x0401e172, 0x36dff, 0x11ff };
	for (int i = 0; i < 4; i++) {
		u64 p = msr(plain[i]), t = msr(truth[i]);
		EXPECT_EQ((u32)p, (u32)p & (u32)(p >> 32));          // must-be-1 implies may-be-1
		EXPECT_EQ(default1[i], (u32)p & default1[i]);         // A.2: plain MSRs fix default1 to 1
		EXPECT_EQ((u32)t, (u32)t & (u32)p);                   // TRUE relaxes, never tightens
		EXPECT_EQ(p >> 32, t >> 32);
		EXPECT_TRUE(caps_ctls_allow(p, (u32)p));
		EXPECT_TRUE(caps_ctls_allow(p, (u32)(p >> 32)));
		EXPECT_TRUE(!caps_ctls_allow(p, (u32)(p >> 32) | ~(u32)(p >> 32)) || (u32)(p >> 32) == ~0u);
	}
	EXPECT_TRUE(!caps_ctls_allow(msr(0x481), 0x17 & ~0x2u)); // a must-be-1 bit cleared
}

TEST(vmcs, basic_misc_and_fixed_msrs)
{
	u64 basic = msr(0x480);
	EXPECT_TRUE((basic & 0x7fffffff) != 0); // revision identifier
	EXPECT_EQ(0, basic & (1ULL << 31));
	EXPECT_EQ(4096, (basic >> 32) & 0x1fff);
	EXPECT_EQ(0, basic & (1ULL << 48));  // physical addresses up to MAXPHYADDR
	EXPECT_EQ(6, (basic >> 50) & 0xf);   // write-back VMCS memory
	EXPECT_TRUE(basic & (1ULL << 55));   // TRUE_ MSRs exist
	u64 misc = msr(0x485);
	EXPECT_TRUE(misc & (1ULL << 5));     // LMA stored into "IA-32e mode guest" on exit
	EXPECT_EQ(1, (misc >> 6) & 7);       // activity states: HLT only
	EXPECT_EQ(4, (misc >> 16) & 0x1ff);  // CR3-target values
	EXPECT_EQ(0, misc & (1ULL << 29));   // VMWRITE to exit information: no (error 13)
	EXPECT_EQ(0, misc & (1ULL << 30));   // instruction length 0 on injection: no
	EXPECT_EQ(0x80000021ULL, msr(0x486)); // CR0: PE, NE, PG fixed to 1
	EXPECT_EQ(0xe005003fULL, msr(0x487)); // the CR0 bits the CPU implements
	EXPECT_EQ(0x2000ULL, msr(0x488));     // CR4.VMXE fixed to 1
	EXPECT_EQ(0x3221acULL, msr(0x489));   // TSD DE PAE PGE PCE VMXE PCIDE SMEP SMAP
	EXPECT_EQ(0x482e & 0x3fe, msr(0x48a)); // highest index: VMX-preemption timer value (0x482e)
}

TEST(vmcs, ept_vpid_cap_msr)
{
	u64 v = msr(0x48c);
	static const int set[] = { 0, 6, 8, 14, 16, 17, 20, 21, 22, 25, 26, 32, 40, 41, 42, 43 };
	u64 want = 0;
	for (size_t i = 0; i < ARRAY_SIZE(set); i++)
		want |= 1ULL << set[i];
	EXPECT_EQ(want, v);
}

TEST(vmcs, non_vmx_msrs_are_not_capabilities)
{
	u64 v = 7;
	EXPECT_TRUE(!caps_read_msr(0x47f, &v));
	EXPECT_TRUE(!caps_read_msr(0x492, &v));
	EXPECT_TRUE(!caps_read_msr(0xc0000080, &v));
	EXPECT_EQ(7, v);
}
