/* SPDX-License-Identifier: MIT */
/*
 * VMCS storage and VMREAD/VMWRITE semantics (SDM Vol. 3C 24.11.2, 30.3).
 * The VMCS is an array of u64, one slot per row of vmcs_fields.def; an
 * encoding is mapped to its slot by a switch the table generates. The
 * in-memory layout of a real VMCS is implementation-specific (24.2), so
 * nothing outside this file may depend on it; struct vmcs is opaque
 * (STYLE I2). Invariant: each slot holds a value already truncated to its
 * field's width, so vmcs_get never needs to mask.
 */
#include <assert.h>
#include <stdlib.h>

#include "vmx/vmcs.h"

enum vmcs_slot {
#define X(name, enc, width, type) SLOT_##name,
#include "vmx/vmcs_fields.def"
#undef X
	VMCS_NSLOTS
};

struct vmcs {
	u64 val[VMCS_NSLOTS]; // indexed by enum vmcs_slot; truncated to the field's width
};

struct field_row {
	u32 enc;
	u8 width; // enum vmcs_width, as the table declares it
	u8 type;  // enum vmcs_type, as the table declares it
	const char *name, *name_high;
};

static const struct field_row rows[VMCS_NSLOTS] = {
#define X(name, enc, width, type) \
	{ enc, VMCS_WIDTH_##width, VMCS_TYPE_##type, #name, #name "_HIGH" },
#include "vmx/vmcs_fields.def"
#undef X
};

/* Returns the slot of a full encoding, or -1. */
static int slot_of_full(u32 enc)
{
	switch (enc) {
#define X(name, enc, width, type) \
	case enc: return SLOT_##name;
#include "vmx/vmcs_fields.def"
#undef X
	default: return -1;
	}
}

/*
 * Returns the slot enc names (full, or high for a 64-bit field), or -1.
 * Sets *high for a high access. Bits 63:15 and 12 of a valid encoding are 0.
 */
static int slot_of(u64 enc, bool *high)
{
	if (enc > 0x7fff || (enc & VMCS_ENC_RESERVED12))
		return -1;
	*high = enc & VMCS_ENC_ACCESS_HIGH;
	if (*high && VMCS_ENC_WIDTH(enc) != VMCS_WIDTH_64)
		return -1; // only 64-bit fields have a high access type (24.11.2)
	return slot_of_full((u32)enc & ~VMCS_ENC_ACCESS_HIGH);
}

static u64 width_mask(enum vmcs_width w)
{
	switch (w) {
	case VMCS_WIDTH_16: return 0xffff;
	case VMCS_WIDTH_32: return 0xffffffff;
	default: return ~0ULL; // 64-bit and natural width (64 bits: Facet runs 64-bit hosts only)
	}
}

struct vmcs *vmcs_new(void)
{
	return calloc(1, sizeof(struct vmcs));
}

void vmcs_free(struct vmcs *v)
{
	free(v);
}

enum vmx_insn_error vmcs_read(const struct vmcs *v, u64 enc, u64 *val)
{
	bool high;
	int s = slot_of(enc, &high);
	if (s < 0)
		return VMXERR_UNSUPPORTED_VMCS_COMPONENT;
	*val = high ? v->val[s] >> 32 : v->val[s];
	return VMXERR_NONE;
}

enum vmx_insn_error vmcs_write(struct vmcs *v, u64 enc, u64 val)
{
	bool high;
	int s = slot_of(enc, &high);
	if (s < 0)
		return VMXERR_UNSUPPORTED_VMCS_COMPONENT;
	if (rows[s].type == VMCS_TYPE_EXIT_INFO)
		return VMXERR_VMWRITE_READ_ONLY_COMPONENT; // IA32_VMX_MISC[29] = 0 (caps.c)
	if (high)
		v->val[s] = (v->val[s] & 0xffffffffULL) | (val << 32);
	else
		v->val[s] = val & width_mask(rows[s].width);
	return VMXERR_NONE;
}

u64 vmcs_get(const struct vmcs *v, enum vmcs_field f)
{
	int s = slot_of_full(f);
	assert(s >= 0);
	return v->val[s];
}

void vmcs_set(struct vmcs *v, enum vmcs_field f, u64 val)
{
	int s = slot_of_full(f);
	assert(s >= 0);
	v->val[s] = val & width_mask(rows[s].width);
}

bool vmcs_field_is_supported(u64 enc)
{
	bool high;
	return slot_of(enc, &high) >= 0;
}

const char *vmcs_field_name(u64 enc)
{
	bool high;
	int s = slot_of(enc, &high);
	if (s < 0)
		return NULL;
	return high ? rows[s].name_high : rows[s].name;
}

size_t vmcs_field_count(void)
{
	return VMCS_NSLOTS;
}

u32 vmcs_field_at(size_t n)
{
	assert(n < VMCS_NSLOTS);
	return rows[n].enc;
}

enum vmcs_width vmcs_field_declared_width(size_t n)
{
	assert(n < VMCS_NSLOTS);
	return rows[n].width;
}

enum vmcs_type vmcs_field_declared_type(size_t n)
{
	assert(n < VMCS_NSLOTS);
	return rows[n].type;
}

u32 vmcs_max_index(void)
{
	u32 max = 0;
	for (size_t n = 0; n < VMCS_NSLOTS; n++)
		if (VMCS_ENC_INDEX(rows[n].enc) > max)
			max = VMCS_ENC_INDEX(rows[n].enc);
	return max;
}
