/* SPDX-License-Identifier: MIT */
/*
 * The VMCS: storage for the fields of vmcs_fields.def, addressed by their
 * SDM encodings (Vol. 3C 24.11.2, appendix B), with the semantics VMREAD
 * and VMWRITE give them (Vol. 3C 30.3): a field that is not modeled is an
 * unsupported component (VM-instruction error 12), the VM-exit information
 * fields are read-only (error 13, since IA32_VMX_MISC bit 29 is 0), 16- and
 * 32-bit fields keep the low bits of what is written and read back
 * zero-extended, and a 64-bit field also has a "high" encoding (access type,
 * bit 0, = 1) that reads and writes its bits 63:32.
 *
 * vmcs_read/vmcs_write are the instruction semantics, for a later VMREAD/
 * VMWRITE and for the VMM API. vmcs_get/vmcs_set are the processor's own
 * access (VM entry loads guest state, a VM exit fills the exit-information
 * fields): no read-only rule, and the caller names a modeled field.
 */
#ifndef FACET_VMX_VMCS_H
#define FACET_VMX_VMCS_H

#include "lib/types.h"

/* Field encodings, named as in the SDM appendix B (GUEST_RIP = 0x681e). */
enum vmcs_field {
#define X(name, enc, width, type) name = enc,
#include "vmx/vmcs_fields.def"
#undef X
};

/* Bits 14:13 of an encoding (SDM Vol. 3C table 24-21). */
enum vmcs_width {
	VMCS_WIDTH_16 = 0,
	VMCS_WIDTH_64 = 1,
	VMCS_WIDTH_32 = 2,
	VMCS_WIDTH_NATURAL = 3,
};

/* Bits 11:10 of an encoding. */
enum vmcs_type {
	VMCS_TYPE_CONTROL = 0,
	VMCS_TYPE_EXIT_INFO = 1, // "VM-exit information" (read-only data)
	VMCS_TYPE_GUEST = 2,
	VMCS_TYPE_HOST = 3,
};

#define VMCS_ENC_ACCESS_HIGH 0x1u    // bit 0: access type (1 = high 32 bits of a 64-bit field)
#define VMCS_ENC_INDEX(e) (((e) >> 1) & 0x1ffu) // bits 9:1
#define VMCS_ENC_TYPE(e) (((e) >> 10) & 3u)     // bits 11:10
#define VMCS_ENC_RESERVED12 0x1000u  // bit 12: reserved, 0
#define VMCS_ENC_WIDTH(e) (((e) >> 13) & 3u)    // bits 14:13
#define VMCS_ENC_RESERVED_HI 0xffff8000u // bits 31:15: reserved, 0

/* VM-instruction error numbers (SDM Vol. 3C 30.4, table 30-1). */
enum vmx_insn_error {
	VMXERR_NONE = 0,
	VMXERR_VMCALL_IN_ROOT = 1,
	VMXERR_VMCLEAR_INVALID_ADDRESS = 2,
	VMXERR_VMCLEAR_VMXON_POINTER = 3,
	VMXERR_VMLAUNCH_NONCLEAR_VMCS = 4,
	VMXERR_VMRESUME_NONLAUNCHED_VMCS = 5,
	VMXERR_VMRESUME_AFTER_VMXOFF = 6,
	VMXERR_ENTRY_INVALID_CONTROL_FIELD = 7,
	VMXERR_ENTRY_INVALID_HOST_STATE_FIELD = 8,
	VMXERR_VMPTRLD_INVALID_ADDRESS = 9,
	VMXERR_VMPTRLD_VMXON_POINTER = 10,
	VMXERR_VMPTRLD_INCORRECT_REVISION_ID = 11,
	VMXERR_UNSUPPORTED_VMCS_COMPONENT = 12,
	VMXERR_VMWRITE_READ_ONLY_COMPONENT = 13,
	VMXERR_VMXON_IN_ROOT = 15,
	VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS = 26,
	VMXERR_INVALID_INVEPT_INVVPID_OPERAND = 28,
};

struct vmcs;

/* Allocates a VMCS with every field 0 (as after VMCLEAR of zeroed memory); NULL on ENOMEM. */
struct vmcs *vmcs_new(void);
/* Frees a VMCS from vmcs_new; NULL is allowed. */
void vmcs_free(struct vmcs *v);

/*
 * Reads field enc as VMREAD does into *val: zero-extended for 16- and
 * 32-bit fields, bits 63:32 for the high encoding of a 64-bit field.
 * Returns VMXERR_NONE, or VMXERR_UNSUPPORTED_VMCS_COMPONENT (12) if enc
 * names no modeled field (then *val is untouched).
 */
must_check enum vmx_insn_error vmcs_read(const struct vmcs *v, u64 enc, u64 *val);
/*
 * Writes field enc as VMWRITE does: the low 16 or 32 bits of val for those
 * widths, val[31:0] into bits 63:32 for a high encoding. Returns
 * VMXERR_NONE, VMXERR_UNSUPPORTED_VMCS_COMPONENT (12) or
 * VMXERR_VMWRITE_READ_ONLY_COMPONENT (13, an exit-information field); on
 * an error nothing is written.
 */
must_check enum vmx_insn_error vmcs_write(struct vmcs *v, u64 enc, u64 val);

/* Returns field f (a full encoding of a modeled field; asserts it is one). */
u64 vmcs_get(const struct vmcs *v, enum vmcs_field f);
/* Sets field f as the processor does (read-only fields too), truncated to its width. */
void vmcs_set(struct vmcs *v, enum vmcs_field f, u64 val);

/* Returns true if enc (full or high) names a field of vmcs_fields.def. */
bool vmcs_field_is_supported(u64 enc);
/* Returns the SDM name of enc ("GUEST_RIP", "EPT_POINTER_HIGH"), or NULL if it is not supported. */
const char *vmcs_field_name(u64 enc);
/* Returns the number of modeled fields (rows of vmcs_fields.def). */
size_t vmcs_field_count(void);
/* Returns the encoding of the n-th row of vmcs_fields.def (n < vmcs_field_count()). */
u32 vmcs_field_at(size_t n);
/* Returns the width the table declares for field n (not decoded from the encoding). */
enum vmcs_width vmcs_field_declared_width(size_t n);
/* Returns the type the table declares for field n. */
enum vmcs_type vmcs_field_declared_type(size_t n);
/* Returns the highest index (encoding bits 9:1) of any modeled field, for IA32_VMX_VMCS_ENUM. */
u32 vmcs_max_index(void);

#endif
