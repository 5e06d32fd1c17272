/* SPDX-License-Identifier: MIT */
/*
 * VM-entry checks (src/vmx/entry_check.c). One VMCS that a 64-bit host
 * would build for a 64-bit guest passes; each row of the tables below
 * changes one to five fields of it and expects the outcome the SDM Vol. 3C
 * gives: VMfailValid with VM-instruction error 7 for control fields
 * (26.2.1), 8 for host state (26.2.2-26.2.4), and for guest state (26.3.1)
 * a VM-entry failure, exit reason 33 with bit 31 set (0x80000021) and exit
 * qualification 0, 3 (NMI injected under blocking by STI) or 4 (VMCS link
 * pointer) (26.8). Rows with kind OK are the valid neighbours of a failing
 * row: they show the check is not stricter than the SDM. The expected
 * field is this model's diagnostic; the kind and numbers are the SDM's.
 */
#include "test.h"
#include "vmx/caps.h"
#include "vmx/entry_check.h"
#include "vmx/vmcs.h"

/* Rows leave trailing members (field, qualification) implicit: zero when a row passes. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define PIN0 0x17u          // default1 bits 1, 2, 4 + external-interrupt exiting
#define CPU0 0x960061f2u    // TRUE must-be-1 bits + HLT exiting, I/O and MSR bitmaps, secondary
#define SEC0 0x22u          // enable EPT, enable VPID
#define EXIT0 0x002b6fffu   // default1 + host address-space size, load PAT, load EFER
#define ENTRY0 0x0000d3ffu  // default1 + IA-32e mode guest, load PAT, load EFER
#define EPTP0 0x5000 | 6 | 3 << 3 // WB, 4-level
#define CR0_64 0x80000031ULL      // PG NE ET PE
#define CR4_64 0x2020ULL          // VMXE PAE
#define EFER_64 0xd01ULL          // NXE LMA LME SCE
#define PAT0 0x0007040600070406ULL
#define CS_AR 0xa09bu   // code, execute/read, accessed; S, P, L, G
#define DS_AR 0xc093u   // data, read/write, accessed; S, P, D/B, G
#define TR_AR 0x008bu   // busy 64-bit TSS, P
#define UNUSABLE 0x10000u
#define NONCANON 0x0000800000000000ULL

static void set(struct vmcs *v, enum vmcs_field f, u64 val)
{
	EXPECT_EQ(0, vmcs_write(v, f, val));
}

static void set_controls(struct vmcs *v)
{
	set(v, PIN_BASED_VM_EXEC_CONTROL, PIN0);
	set(v, CPU_BASED_VM_EXEC_CONTROL, CPU0);
	set(v, SECONDARY_VM_EXEC_CONTROL, SEC0);
	set(v, VM_EXIT_CONTROLS, EXIT0);
	set(v, VM_ENTRY_CONTROLS, ENTRY0);
	set(v, EPT_POINTER, EPTP0);
	set(v, VIRTUAL_PROCESSOR_ID, 1);
	set(v, IO_BITMAP_A, 0x1000);
	set(v, IO_BITMAP_B, 0x2000);
	set(v, MSR_BITMAP, 0x3000);
}

static void set_host(struct vmcs *v)
{
	set(v, HOST_CR0, CR0_64);
	set(v, HOST_CR3, 0x10000);
	set(v, HOST_CR4, CR4_64);
	set(v, HOST_CS_SELECTOR, 0x08);
	set(v, HOST_SS_SELECTOR, 0x10);
	set(v, HOST_TR_SELECTOR, 0x18);
	set(v, HOST_TR_BASE, 0xffff800000003000ULL);
	set(v, HOST_RIP, 0xffffffff81000000ULL);
	set(v, HOST_RSP, 0xffffffff81200000ULL);
	set(v, HOST_IA32_EFER, EFER_64);
	set(v, HOST_IA32_PAT, PAT0);
}

static void set_guest_segs(struct vmcs *v)
{
	static const enum vmcs_field data_sel[] = { GUEST_ES_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR };
	for (size_t i = 0; i < ARRAY_SIZE(data_sel); i++) {
		set(v, data_sel[i], 0x10);
		set(v, data_sel[i] - GUEST_ES_SELECTOR + GUEST_ES_LIMIT, 0xffffffff);
		set(v, data_sel[i] - GUEST_ES_SELECTOR + GUEST_ES_ACCESS_RIGHTS, DS_AR);
	}
	set(v, GUEST_CS_SELECTOR, 0x08);
	set(v, GUEST_CS_LIMIT, 0xffffffff);
	set(v, GUEST_CS_ACCESS_RIGHTS, CS_AR);
	set(v, GUEST_FS_ACCESS_RIGHTS, UNUSABLE);
	set(v, GUEST_GS_ACCESS_RIGHTS, UNUSABLE);
	set(v, GUEST_LDTR_ACCESS_RIGHTS, UNUSABLE);
	set(v, GUEST_TR_SELECTOR, 0x18);
	set(v, GUEST_TR_BASE, 0x3000);
	set(v, GUEST_TR_LIMIT, 0x67);
	set(v, GUEST_TR_ACCESS_RIGHTS, TR_AR);
	set(v, GUEST_GDTR_BASE, 0x4000);
	set(v, GUEST_GDTR_LIMIT, 0x27);
	set(v, GUEST_IDTR_BASE, 0x5000);
	set(v, GUEST_IDTR_LIMIT, 0xfff);
}

static void set_guest(struct vmcs *v)
{
	set(v, GUEST_CR0, CR0_64);
	set(v, GUEST_CR3, 0x20000);
	set(v, GUEST_CR4, CR4_64);
	set(v, GUEST_DR7, 0x400);
	set(v, GUEST_RIP, 0x100000);
	set(v, GUEST_RSP, 0x200000);
	set(v, GUEST_RFLAGS, 0x2);
	set(v, GUEST_IA32_EFER, EFER_64);
	set(v, GUEST_IA32_PAT, PAT0);
	set(v, VMCS_LINK_POINTER, ~0ULL);
	set_guest_segs(v);
}

/* Returns a VMCS that passes every check; the caller frees it. */
static struct vmcs *valid_vmcs(void)
{
	struct vmcs *v = vmcs_new();
	if (!v)
		return NULL;
	set_controls(v);
	set_host(v);
	set_guest(v);
	return v;
}

struct mutation {
	const char *what;
	struct { enum vmcs_field f; u64 val; bool on; } set[5]; // the changes, each written with S()
	enum entry_check_kind kind;
	enum vmcs_field field; // expected diagnostic field when failing
	u64 qual;              // expected exit qualification for guest-state failures
};

#define OK ENTRY_CHECK_OK
#define CTL ENTRY_CHECK_CONTROL
#define HST ENTRY_CHECK_HOST
#define GST ENTRY_CHECK_GUEST
#define INTR(type, vec) (0x80000000u | (type) << 8 | (vec))
#define EC 0x800u
#define S(f, v) { f, v, true }

/* Runs row m on a fresh valid VMCS and checks the outcome against the SDM's numbers. */
static void run(const struct mutation *m)
{
	struct vmcs *v = valid_vmcs();
	ASSERT_TRUE(v != NULL);
	for (int i = 0; i < 5 && m->set[i].on; i++)
		vmcs_set(v, m->set[i].f, m->set[i].val);
	struct entry_check_result r;
	enum entry_check_kind k = entry_check_vmcs(v, &r);
	if (k != m->kind)
		test_fail(__FILE__, __LINE__, "%s: kind %d, want %d (%s)", m->what, k, m->kind, r.why ? r.why : "ok");
	EXPECT_EQ(k, r.kind);
	if (m->kind == CTL)
		EXPECT_EQ(7, r.insn_error);
	if (m->kind == HST)
		EXPECT_EQ(8, r.insn_error);
	if (m->kind == GST) {
		EXPECT_EQ(0x80000021u, r.exit_reason);
		EXPECT_EQ(m->qual, r.qualification);
		EXPECT_EQ(0, r.insn_error);
	}
	if (m->kind != OK && k == m->kind && m->field != r.field)
		test_fail(__FILE__, __LINE__, "%s: field %s, want %s", m->what, vmcs_field_name(r.field),
			  vmcs_field_name(m->field));
	vmcs_free(v);
}

TEST(entry_check, valid_vmcs_passes)
{
	struct vmcs *v = valid_vmcs();
	ASSERT_TRUE(v != NULL);
	struct entry_check_result r;
	EXPECT_EQ(ENTRY_CHECK_OK, entry_check_vmcs(v, &r));
	EXPECT_TRUE(r.why == NULL);
	vmcs_free(v);
}

static const struct mutation control_rows[] = {
	{ "virtual NMIs unsupported", { S(PIN_BASED_VM_EXEC_CONTROL, PIN0 | 0x20) }, CTL, PIN_BASED_VM_EXEC_CONTROL },
	{ "pin default1 cleared", { S(PIN_BASED_VM_EXEC_CONTROL, 0x1) }, CTL, PIN_BASED_VM_EXEC_CONTROL },
	{ "preemption timer", { S(PIN_BASED_VM_EXEC_CONTROL, PIN0 | 0x40) }, OK },
	{ "primary reserved bit 0", { S(CPU_BASED_VM_EXEC_CONTROL, CPU0 | 1) }, CTL, CPU_BASED_VM_EXEC_CONTROL },
	{ "MOV-DR exiting unsupported", { S(CPU_BASED_VM_EXEC_CONTROL, CPU0 | 1u << 23) }, CTL, CPU_BASED_VM_EXEC_CONTROL },
	{ "CR3 exiting on (TRUE allows both)", { S(CPU_BASED_VM_EXEC_CONTROL, CPU0 | 3u << 15) }, OK },
	{ "unrestricted guest unsupported", { S(SECONDARY_VM_EXEC_CONTROL, SEC0 | 0x80) }, CTL, SECONDARY_VM_EXEC_CONTROL },
	{ "secondary ignored when not activated",
	  { S(CPU_BASED_VM_EXEC_CONTROL, CPU0 & ~0x80000000u), S(SECONDARY_VM_EXEC_CONTROL, 0x80) }, OK },
	{ "CR3-target count 5", { S(CR3_TARGET_COUNT, 5) }, CTL, CR3_TARGET_COUNT },
	{ "CR3-target count 4", { S(CR3_TARGET_COUNT, 4) }, OK },
	{ "I/O bitmap A unaligned", { S(IO_BITMAP_A, 0x1008) }, CTL, IO_BITMAP_A },
	{ "I/O bitmap B above MAXPHYADDR", { S(IO_BITMAP_B, 1ULL << 40) }, CTL, IO_BITMAP_B },
	{ "MSR bitmap unaligned", { S(MSR_BITMAP, 0x3800) }, CTL, MSR_BITMAP },
	{ "bitmaps unchecked when unused",
	  { S(CPU_BASED_VM_EXEC_CONTROL, CPU0 & ~(1u << 25 | 1u << 28)), S(IO_BITMAP_A, 1), S(MSR_BITMAP, 1) }, OK },
	{ "EPTP memory type WC", { S(EPT_POINTER, 0x5000 | 1 | 3 << 3) }, CTL, EPT_POINTER },
	{ "EPTP memory type UC", { S(EPT_POINTER, 0x5000 | 0 | 3 << 3) }, OK },
	{ "EPTP walk length 3", { S(EPT_POINTER, 0x5000 | 6 | 2 << 3) }, CTL, EPT_POINTER },
	{ "EPTP A/D enabled", { S(EPT_POINTER, EPTP0 | 0x40) }, OK },
	{ "EPTP bit 7", { S(EPT_POINTER, EPTP0 | 0x80) }, CTL, EPT_POINTER },
	{ "EPTP bit 11", { S(EPT_POINTER, EPTP0 | 0x800) }, CTL, EPT_POINTER },
	{ "EPTP above MAXPHYADDR", { S(EPT_POINTER, EPTP0 | 1ULL << 40) }, CTL, EPT_POINTER },
	{ "VPID 0", { S(VIRTUAL_PROCESSOR_ID, 0) }, CTL, VIRTUAL_PROCESSOR_ID },
	{ "VPID 0 without enable VPID", { S(VIRTUAL_PROCESSOR_ID, 0), S(SECONDARY_VM_EXEC_CONTROL, 0x2) }, OK },
	{ "EPTP switching", { S(SECONDARY_VM_EXEC_CONTROL, SEC0 | 1u << 13), S(VM_FUNCTION_CONTROL, 1),
	  S(EPTP_LIST_ADDRESS, 0x6000) }, OK },
	{ "VM function 1 unsupported", { S(SECONDARY_VM_EXEC_CONTROL, SEC0 | 1u << 13), S(VM_FUNCTION_CONTROL, 2) },
	  CTL, VM_FUNCTION_CONTROL },
	{ "EPTP list unaligned", { S(SECONDARY_VM_EXEC_CONTROL, SEC0 | 1u << 13), S(VM_FUNCTION_CONTROL, 1),
	  S(EPTP_LIST_ADDRESS, 0x6010) }, CTL, EPTP_LIST_ADDRESS },
	{ "EPTP switching without EPT", { S(SECONDARY_VM_EXEC_CONTROL, 0x20 | 1u << 13), S(VM_FUNCTION_CONTROL, 1),
	  S(EPTP_LIST_ADDRESS, 0x6000) }, CTL, SECONDARY_VM_EXEC_CONTROL },
	{ "MBEC without EPT", { S(SECONDARY_VM_EXEC_CONTROL, 0x20 | 1u << 22) }, CTL, SECONDARY_VM_EXEC_CONTROL },
	{ "#VE area unaligned", { S(SECONDARY_VM_EXEC_CONTROL, SEC0 | 1u << 18), S(VE_INFORMATION_ADDRESS, 0x7004) },
	  CTL, VE_INFORMATION_ADDRESS },
	{ "#VE area aligned", { S(SECONDARY_VM_EXEC_CONTROL, SEC0 | 1u << 18), S(VE_INFORMATION_ADDRESS, 0x7000) }, OK },
	{ "save timer without timer", { S(VM_EXIT_CONTROLS, EXIT0 | 1u << 22) }, CTL, VM_EXIT_CONTROLS },
	{ "save timer with timer", { S(VM_EXIT_CONTROLS, EXIT0 | 1u << 22), S(PIN_BASED_VM_EXEC_CONTROL, PIN0 | 0x40) },
	  OK },
	{ "host address-space size 0", { S(VM_EXIT_CONTROLS, EXIT0 & ~0x200u) }, CTL, VM_EXIT_CONTROLS },
	{ "load PERF_GLOBAL_CTRL on exit", { S(VM_EXIT_CONTROLS, EXIT0 | 1u << 12) }, CTL, VM_EXIT_CONTROLS },
	{ "IA-32e mode guest 0", { S(VM_ENTRY_CONTROLS, ENTRY0 & ~0x200u) }, CTL, VM_ENTRY_CONTROLS },
	{ "entry to SMM", { S(VM_ENTRY_CONTROLS, ENTRY0 | 1u << 10) }, CTL, VM_ENTRY_CONTROLS },
	{ "load debug controls off (TRUE)", { S(VM_ENTRY_CONTROLS, ENTRY0 & ~4u) }, OK },
};

TEST(entry_check, control_fields_fail_with_error_7)
{
	for (size_t i = 0; i < ARRAY_SIZE(control_rows); i++)
		run(&control_rows[i]);
}

static const struct mutation event_rows[] = {
	{ "#PF with error code", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(3, 14) | EC), S(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x8002) },
	  OK },
	{ "reserved type 1", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(1, 0x20)) }, CTL, VM_ENTRY_INTR_INFO_FIELD },
	{ "NMI vector 3", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(2, 3)) }, CTL, VM_ENTRY_INTR_INFO_FIELD },
	{ "NMI vector 2", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(2, 2)) }, OK },
	{ "hardware exception 32", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(3, 32)) }, CTL, VM_ENTRY_INTR_INFO_FIELD },
	{ "other event vector 1", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(7, 1)) }, CTL, VM_ENTRY_INTR_INFO_FIELD },
	{ "pending MTF (other event 0)", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(7, 0)) }, OK },
	{ "#GP without error code", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(3, 13)) }, CTL, VM_ENTRY_INTR_INFO_FIELD },
	{ "#UD with error code", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(3, 6) | EC) }, CTL, VM_ENTRY_INTR_INFO_FIELD },
	{ "software interrupt with error code", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(4, 13) | EC),
	  S(VM_ENTRY_INSTRUCTION_LEN, 2) }, CTL, VM_ENTRY_INTR_INFO_FIELD },
	{ "reserved bit 12", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(2, 2) | 1u << 12) }, CTL, VM_ENTRY_INTR_INFO_FIELD },
	{ "error code bit 16", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(3, 14) | EC), S(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000) },
	  CTL, VM_ENTRY_EXCEPTION_ERROR_CODE },
	{ "INT n length 0", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(4, 0x80)), S(VM_ENTRY_INSTRUCTION_LEN, 0) }, CTL,
	  VM_ENTRY_INSTRUCTION_LEN },
	{ "INT3 length 16", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(6, 3)), S(VM_ENTRY_INSTRUCTION_LEN, 16) }, CTL,
	  VM_ENTRY_INSTRUCTION_LEN },
	{ "INT1 length 1", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(5, 1)), S(VM_ENTRY_INSTRUCTION_LEN, 1) }, OK },
	{ "invalid bit clear: rest ignored", { S(VM_ENTRY_INTR_INFO_FIELD, 0x7fffffff) }, OK },
};

TEST(entry_check, event_injection_fields_fail_with_error_7)
{
	for (size_t i = 0; i < ARRAY_SIZE(event_rows); i++)
		run(&event_rows[i]);
}

static const struct mutation host_rows[] = {
	{ "CR0.NE clear", { S(HOST_CR0, CR0_64 & ~0x20) }, HST, HOST_CR0 },
	{ "CR0 bit 32", { S(HOST_CR0, CR0_64 | 1ULL << 32) }, HST, HOST_CR0 },
	{ "CR4.VMXE clear", { S(HOST_CR4, 0x20) }, HST, HOST_CR4 },
	{ "CR4.LA57 unsupported", { S(HOST_CR4, CR4_64 | 1u << 12) }, HST, HOST_CR4 },
	{ "CR4.PAE clear", { S(HOST_CR4, 0x2000) }, HST, HOST_CR4 },
	{ "CR3 above MAXPHYADDR", { S(HOST_CR3, 1ULL << 40) }, HST, HOST_CR3 },
	{ "SYSENTER_EIP non-canonical", { S(HOST_IA32_SYSENTER_EIP, NONCANON) }, HST, HOST_IA32_SYSENTER_EIP },
	{ "PAT type 2", { S(HOST_IA32_PAT, PAT0 | 2ULL << 56) }, HST, HOST_IA32_PAT },
	{ "PAT type 8", { S(HOST_IA32_PAT, 8) }, HST, HOST_IA32_PAT },
	{ "PAT unchecked without load PAT", { S(HOST_IA32_PAT, 2), S(VM_EXIT_CONTROLS, EXIT0 & ~(1u << 19)) }, OK },
	{ "EFER.LMA clear", { S(HOST_IA32_EFER, EFER_64 & ~0x400) }, HST, HOST_IA32_EFER },
	{ "EFER reserved bit 1", { S(HOST_IA32_EFER, EFER_64 | 2) }, HST, HOST_IA32_EFER },
	{ "EFER unchecked without load EFER", { S(HOST_IA32_EFER, 0), S(VM_EXIT_CONTROLS, EXIT0 & ~(1u << 21)) }, OK },
	{ "CS RPL 3", { S(HOST_CS_SELECTOR, 0x0b) }, HST, HOST_CS_SELECTOR },
	{ "DS TI set", { S(HOST_DS_SELECTOR, 0x04) }, HST, HOST_DS_SELECTOR },
	{ "CS null", { S(HOST_CS_SELECTOR, 0) }, HST, HOST_CS_SELECTOR },
	{ "TR null", { S(HOST_TR_SELECTOR, 0) }, HST, HOST_TR_SELECTOR },
	{ "SS null (64-bit host)", { S(HOST_SS_SELECTOR, 0) }, OK },
	{ "FS base non-canonical", { S(HOST_FS_BASE, NONCANON) }, HST, HOST_FS_BASE },
	{ "TR base non-canonical", { S(HOST_TR_BASE, NONCANON) }, HST, HOST_TR_BASE },
	{ "RIP non-canonical", { S(HOST_RIP, NONCANON) }, HST, HOST_RIP },
	{ "controls are checked first", { S(HOST_RIP, NONCANON), S(VIRTUAL_PROCESSOR_ID, 0) }, CTL, VIRTUAL_PROCESSOR_ID },
};

TEST(entry_check, host_state_fails_with_error_8)
{
	for (size_t i = 0; i < ARRAY_SIZE(host_rows); i++)
		run(&host_rows[i]);
}

#define CS_AR_DPL3 (CS_AR | 3u << 5)
#define DS_AR_DPL3 (DS_AR | 3u << 5)

static const struct mutation guest_reg_rows[] = {
	{ "CR0.NE clear", { S(GUEST_CR0, CR0_64 & ~0x20) }, GST, GUEST_CR0 },
	{ "CR0.PG clear", { S(GUEST_CR0, CR0_64 & ~0x80000000ULL) }, GST, GUEST_CR0 },
	{ "CR4.VMXE clear", { S(GUEST_CR4, 0x20) }, GST, GUEST_CR4 },
	{ "CR4.PAE clear", { S(GUEST_CR4, 0x2000) }, GST, GUEST_CR4 },
	{ "CR4.PCIDE, SMEP, SMAP", { S(GUEST_CR4, CR4_64 | 1u << 17 | 3u << 20) }, OK },
	{ "CR3 above MAXPHYADDR", { S(GUEST_CR3, 1ULL << 45) }, GST, GUEST_CR3 },
	{ "DEBUGCTL bit 2", { S(GUEST_IA32_DEBUGCTL, 4) }, GST, GUEST_IA32_DEBUGCTL },
	{ "DR7 bit 32", { S(GUEST_DR7, 0x400 | 1ULL << 32) }, GST, GUEST_DR7 },
	{ "DR7 unchecked without load debug controls", { S(GUEST_DR7, 1ULL << 32), S(VM_ENTRY_CONTROLS, ENTRY0 & ~4u) },
	  OK },
	{ "SYSENTER_ESP non-canonical", { S(GUEST_IA32_SYSENTER_ESP, NONCANON) }, GST, GUEST_IA32_SYSENTER_ESP },
	{ "PAT type 3", { S(GUEST_IA32_PAT, 3) }, GST, GUEST_IA32_PAT },
	{ "EFER.LMA clear", { S(GUEST_IA32_EFER, EFER_64 & ~0x400) }, GST, GUEST_IA32_EFER },
	{ "EFER.LME clear", { S(GUEST_IA32_EFER, EFER_64 & ~0x100) }, GST, GUEST_IA32_EFER },
	{ "EFER reserved bit 9", { S(GUEST_IA32_EFER, EFER_64 | 0x200) }, GST, GUEST_IA32_EFER },
	{ "GDTR limit bit 16", { S(GUEST_GDTR_LIMIT, 0x10000) }, GST, GUEST_GDTR_LIMIT },
	{ "IDTR base non-canonical", { S(GUEST_IDTR_BASE, NONCANON) }, GST, GUEST_IDTR_BASE },
	{ "RIP non-canonical in 64-bit code", { S(GUEST_RIP, NONCANON) }, GST, GUEST_RIP },
	{ "RIP above 4G in compatibility mode", { S(GUEST_RIP, 1ULL << 32), S(GUEST_CS_ACCESS_RIGHTS, 0xc09b) }, GST,
	  GUEST_RIP },
	{ "RIP above 4G in 64-bit code", { S(GUEST_RIP, 1ULL << 32) }, OK },
	{ "RFLAGS bit 1 clear", { S(GUEST_RFLAGS, 0) }, GST, GUEST_RFLAGS },
	{ "RFLAGS bit 3", { S(GUEST_RFLAGS, 0xa) }, GST, GUEST_RFLAGS },
	{ "RFLAGS bit 22", { S(GUEST_RFLAGS, 2 | 1u << 22) }, GST, GUEST_RFLAGS },
	{ "RFLAGS.VM", { S(GUEST_RFLAGS, 2 | 1u << 17) }, GST, GUEST_RFLAGS },
	{ "external interrupt with IF 0", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(0, 0x20)) }, GST, GUEST_RFLAGS },
	{ "external interrupt with IF 1", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(0, 0x20)), S(GUEST_RFLAGS, 0x202) }, OK },
};

TEST(entry_check, guest_registers_fail_as_entry_failure_33)
{
	for (size_t i = 0; i < ARRAY_SIZE(guest_reg_rows); i++)
		run(&guest_reg_rows[i]);
}

static const struct mutation guest_seg_rows[] = {
	{ "CS data type", { S(GUEST_CS_ACCESS_RIGHTS, (CS_AR & ~0xfu) | 3) }, GST, GUEST_CS_ACCESS_RIGHTS },
	{ "CS not accessed", { S(GUEST_CS_ACCESS_RIGHTS, CS_AR & ~1u) }, GST, GUEST_CS_ACCESS_RIGHTS },
	{ "CS.L and CS.D", { S(GUEST_CS_ACCESS_RIGHTS, CS_AR | 1u << 14) }, GST, GUEST_CS_ACCESS_RIGHTS },
	{ "CS not present", { S(GUEST_CS_ACCESS_RIGHTS, CS_AR & ~0x80u) }, GST, GUEST_CS_ACCESS_RIGHTS },
	{ "CS.G with limit[11:0] not all ones", { S(GUEST_CS_LIMIT, 0xffffe) }, GST, GUEST_CS_ACCESS_RIGHTS },
	{ "CS base bit 32", { S(GUEST_CS_BASE, 1ULL << 32) }, GST, GUEST_CS_BASE },
	{ "CS.DPL 3, SS.DPL 0, non-conforming", { S(GUEST_CS_ACCESS_RIGHTS, CS_AR_DPL3) }, GST, GUEST_CS_ACCESS_RIGHTS },
	{ "conforming CS.DPL 0 <= SS.DPL 0", { S(GUEST_CS_ACCESS_RIGHTS, CS_AR | 4) }, OK },
	{ "user mode: CPL 3", { S(GUEST_CS_SELECTOR, 0x2b), S(GUEST_CS_ACCESS_RIGHTS, CS_AR_DPL3),
	  S(GUEST_SS_SELECTOR, 0x23), S(GUEST_SS_ACCESS_RIGHTS, DS_AR_DPL3) }, OK },
	{ "CPL 3 with SS.DPL 0", { S(GUEST_CS_SELECTOR, 0x2b), S(GUEST_CS_ACCESS_RIGHTS, CS_AR_DPL3),
	  S(GUEST_SS_SELECTOR, 0x23) }, GST, GUEST_CS_ACCESS_RIGHTS }, // CS.DPL must equal SS.DPL first
	{ "SS.RPL differs from CS.RPL", { S(GUEST_SS_SELECTOR, 0x13) }, GST, GUEST_SS_SELECTOR },
	{ "SS.DPL differs from SS.RPL", { S(GUEST_CS_ACCESS_RIGHTS, CS_AR | 4), S(GUEST_SS_ACCESS_RIGHTS, DS_AR_DPL3) },
	  GST, GUEST_SS_ACCESS_RIGHTS },
	{ "SS read-only", { S(GUEST_SS_ACCESS_RIGHTS, DS_AR & ~2u) }, GST, GUEST_SS_ACCESS_RIGHTS },
	{ "SS unusable", { S(GUEST_SS_ACCESS_RIGHTS, UNUSABLE) }, OK },
	{ "DS not accessed", { S(GUEST_DS_ACCESS_RIGHTS, DS_AR & ~1u) }, GST, GUEST_DS_ACCESS_RIGHTS },
	{ "DS execute-only code", { S(GUEST_DS_ACCESS_RIGHTS, (DS_AR & ~0xfu) | 9) }, GST, GUEST_DS_ACCESS_RIGHTS },
	{ "DS readable code", { S(GUEST_DS_ACCESS_RIGHTS, (DS_AR & ~0xfu) | 11) }, OK },
	{ "DS.DPL below RPL", { S(GUEST_DS_SELECTOR, 0x13) }, GST, GUEST_DS_ACCESS_RIGHTS },
	{ "DS conforming code below RPL", { S(GUEST_DS_SELECTOR, 0x13), S(GUEST_DS_ACCESS_RIGHTS, (DS_AR & ~0xfu) | 15) },
	  OK },
	{ "DS system segment", { S(GUEST_DS_ACCESS_RIGHTS, DS_AR & ~0x10u) }, GST, GUEST_DS_ACCESS_RIGHTS },
	{ "DS reserved bit 8", { S(GUEST_DS_ACCESS_RIGHTS, DS_AR | 0x100) }, GST, GUEST_DS_ACCESS_RIGHTS },
	{ "DS reserved bit 17", { S(GUEST_DS_ACCESS_RIGHTS, DS_AR | 1u << 17) }, GST, GUEST_DS_ACCESS_RIGHTS },
	{ "ES G clear with 4G limit", { S(GUEST_ES_ACCESS_RIGHTS, DS_AR & ~0x8000u) }, GST, GUEST_ES_ACCESS_RIGHTS },
	{ "ES G clear with 1M limit", { S(GUEST_ES_ACCESS_RIGHTS, DS_AR & ~0x8000u), S(GUEST_ES_LIMIT, 0xfffff) }, OK },
	{ "ES base bit 32", { S(GUEST_ES_BASE, 1ULL << 32) }, GST, GUEST_ES_BASE },
	{ "ES unusable with garbage", { S(GUEST_ES_ACCESS_RIGHTS, UNUSABLE | 0x0f00), S(GUEST_ES_BASE, 1ULL << 32) }, OK },
	{ "FS base non-canonical while unusable", { S(GUEST_FS_BASE, NONCANON) }, GST, GUEST_FS_BASE },
	{ "GS base canonical high", { S(GUEST_GS_BASE, 0xffff800000000000ULL) }, OK },
	{ "TR type 3 (busy 16-bit TSS)", { S(GUEST_TR_ACCESS_RIGHTS, 0x83) }, GST, GUEST_TR_ACCESS_RIGHTS },
	{ "TR unusable", { S(GUEST_TR_ACCESS_RIGHTS, TR_AR | UNUSABLE) }, GST, GUEST_TR_ACCESS_RIGHTS },
	{ "TR with S set", { S(GUEST_TR_ACCESS_RIGHTS, TR_AR | 0x10) }, GST, GUEST_TR_ACCESS_RIGHTS },
	{ "TR selector TI", { S(GUEST_TR_SELECTOR, 0x1c) }, GST, GUEST_TR_SELECTOR },
	{ "TR base non-canonical", { S(GUEST_TR_BASE, NONCANON) }, GST, GUEST_TR_BASE },
	{ "LDTR usable", { S(GUEST_LDTR_SELECTOR, 0x20), S(GUEST_LDTR_ACCESS_RIGHTS, 0x82), S(GUEST_LDTR_LIMIT, 0xff) },
	  OK },
	{ "LDTR type 3", { S(GUEST_LDTR_SELECTOR, 0x20), S(GUEST_LDTR_ACCESS_RIGHTS, 0x83) }, GST, GUEST_LDTR_ACCESS_RIGHTS },
	{ "LDTR selector TI", { S(GUEST_LDTR_SELECTOR, 0x24), S(GUEST_LDTR_ACCESS_RIGHTS, 0x82) }, GST,
	  GUEST_LDTR_SELECTOR },
};

TEST(entry_check, guest_segments_fail_as_entry_failure_33)
{
	for (size_t i = 0; i < ARRAY_SIZE(guest_seg_rows); i++)
		run(&guest_seg_rows[i]);
}

#define STI 1u
#define MOVSS 2u

static const struct mutation guest_state_rows[] = {
	{ "HLT", { S(GUEST_ACTIVITY_STATE, 1) }, OK },
	{ "shutdown unsupported", { S(GUEST_ACTIVITY_STATE, 2) }, GST, GUEST_ACTIVITY_STATE },
	{ "wait-for-SIPI unsupported", { S(GUEST_ACTIVITY_STATE, 3) }, GST, GUEST_ACTIVITY_STATE },
	{ "HLT at CPL 3", { S(GUEST_ACTIVITY_STATE, 1), S(GUEST_CS_SELECTOR, 0x2b), S(GUEST_CS_ACCESS_RIGHTS, CS_AR_DPL3),
	  S(GUEST_SS_SELECTOR, 0x23), S(GUEST_SS_ACCESS_RIGHTS, DS_AR_DPL3) }, GST, GUEST_ACTIVITY_STATE },
	{ "HLT with STI blocking", { S(GUEST_ACTIVITY_STATE, 1), S(GUEST_INTERRUPTIBILITY_STATE, STI),
	  S(GUEST_RFLAGS, 0x202) }, GST, GUEST_ACTIVITY_STATE },
	{ "HLT with #GP injected", { S(GUEST_ACTIVITY_STATE, 1), S(VM_ENTRY_INTR_INFO_FIELD, INTR(3, 13) | EC) }, GST,
	  GUEST_ACTIVITY_STATE },
	{ "HLT with #MC injected", { S(GUEST_ACTIVITY_STATE, 1), S(VM_ENTRY_INTR_INFO_FIELD, INTR(3, 18)) }, OK },
	{ "HLT with NMI injected", { S(GUEST_ACTIVITY_STATE, 1), S(VM_ENTRY_INTR_INFO_FIELD, INTR(2, 2)) }, OK },
	{ "interruptibility bit 4", { S(GUEST_INTERRUPTIBILITY_STATE, 0x10) }, GST, GUEST_INTERRUPTIBILITY_STATE },
	{ "STI and MOV SS", { S(GUEST_INTERRUPTIBILITY_STATE, STI | MOVSS), S(GUEST_RFLAGS, 0x202) }, GST,
	  GUEST_INTERRUPTIBILITY_STATE },
	{ "STI blocking with IF 0", { S(GUEST_INTERRUPTIBILITY_STATE, STI) }, GST, GUEST_INTERRUPTIBILITY_STATE },
	{ "STI blocking with IF 1", { S(GUEST_INTERRUPTIBILITY_STATE, STI), S(GUEST_RFLAGS, 0x202) }, OK },
	{ "SMI blocking outside SMM", { S(GUEST_INTERRUPTIBILITY_STATE, 4) }, GST, GUEST_INTERRUPTIBILITY_STATE },
	{ "NMI blocking", { S(GUEST_INTERRUPTIBILITY_STATE, 8) }, OK },
	{ "external interrupt under MOV SS", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(0, 0x20)), S(GUEST_RFLAGS, 0x202),
	  S(GUEST_INTERRUPTIBILITY_STATE, MOVSS) }, GST, GUEST_INTERRUPTIBILITY_STATE },
	{ "NMI under MOV SS", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(2, 2)), S(GUEST_INTERRUPTIBILITY_STATE, MOVSS) }, GST,
	  GUEST_INTERRUPTIBILITY_STATE },
	{ "NMI under NMI blocking", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(2, 2)), S(GUEST_INTERRUPTIBILITY_STATE, 8) }, GST,
	  GUEST_INTERRUPTIBILITY_STATE },
	{ "NMI under STI blocking", { S(VM_ENTRY_INTR_INFO_FIELD, INTR(2, 2)), S(GUEST_INTERRUPTIBILITY_STATE, STI),
	  S(GUEST_RFLAGS, 0x202) }, GST, GUEST_INTERRUPTIBILITY_STATE, 3 },
	{ "pending debug bit 4", { S(GUEST_PENDING_DBG_EXCEPTIONS, 0x10) }, GST, GUEST_PENDING_DBG_EXCEPTIONS },
	{ "pending debug bit 16 (no RTM)", { S(GUEST_PENDING_DBG_EXCEPTIONS, 1u << 16) }, GST,
	  GUEST_PENDING_DBG_EXCEPTIONS },
	{ "pending B0 and enabled breakpoint", { S(GUEST_PENDING_DBG_EXCEPTIONS, 0x1001) }, OK },
	{ "STI, TF 1, BS 0", { S(GUEST_INTERRUPTIBILITY_STATE, STI), S(GUEST_RFLAGS, 0x302) }, GST,
	  GUEST_PENDING_DBG_EXCEPTIONS },
	{ "STI, TF 1, BS 1", { S(GUEST_INTERRUPTIBILITY_STATE, STI), S(GUEST_RFLAGS, 0x302),
	  S(GUEST_PENDING_DBG_EXCEPTIONS, 1u << 14) }, OK },
	{ "STI, TF 0, BS 1", { S(GUEST_INTERRUPTIBILITY_STATE, STI), S(GUEST_RFLAGS, 0x202),
	  S(GUEST_PENDING_DBG_EXCEPTIONS, 1u << 14) }, GST, GUEST_PENDING_DBG_EXCEPTIONS },
	{ "TF 0, BS 1, not blocked", { S(GUEST_PENDING_DBG_EXCEPTIONS, 1u << 14) }, OK },
	{ "VMCS link pointer 0", { S(VMCS_LINK_POINTER, 0) }, GST, VMCS_LINK_POINTER, 4 },
	{ "VMCS link pointer aligned", { S(VMCS_LINK_POINTER, 0x9000) }, GST, VMCS_LINK_POINTER, 4 },
	{ "host state is checked before guest state", { S(VMCS_LINK_POINTER, 0), S(HOST_TR_SELECTOR, 0) }, HST,
	  HOST_TR_SELECTOR },
};

TEST(entry_check, guest_non_register_state_fails_as_entry_failure_33)
{
	for (size_t i = 0; i < ARRAY_SIZE(guest_state_rows); i++)
		run(&guest_state_rows[i]);
}
