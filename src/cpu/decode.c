/* SPDX-License-Identifier: MIT */
/*
 * Bytes -> Zydis -> struct insn (see decode.h). Zydis runs once per
 * instruction per decoded block; this file only normalizes its answer
 * into the compact form the handlers read and asks the instruction's
 * family for the handler.
 */
#include "cpu/decode.h"

#include <string.h>

#include "cpu/cpu.h"

static const struct op_entry *const families[] = {
	exec_alu_ops, exec_muldiv_ops, exec_shift_ops, exec_bit_ops, exec_mov_ops, exec_stack_ops, exec_atomic_ops, exec_str_ops, exec_ctl_ops,
	exec_sys_ops,
	exec_tlb_ops,
	exec_priv_ops, exec_far_ops, exec_int_ops,
};

void decoder_init(struct decoder *d)
{
	memset(d, 0, sizeof(*d));
	ZydisDecoderInit(&d->zd, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (size_t f = 0; f < ARRAY_SIZE(families); f++)
		for (const struct op_entry *e = families[f]; e->mnemonic != ZYDIS_MNEMONIC_INVALID; e++)
			d->select[e->mnemonic] = e->select;
}

int op_ud(struct cpu *c, const struct insn *i)
{
	(void)i;
	return cpu_raise(c, VEC_UD, false, 0);
}

/* Maps a Zydis general-purpose register to the insn.h numbering; -1 if it is not one. */
static int gpr_number(ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_BL)
		return r - ZYDIS_REGISTER_AL;
	if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH)
		return REG_AH + (r - ZYDIS_REGISTER_AH);
	if (r >= ZYDIS_REGISTER_SPL && r <= ZYDIS_REGISTER_R15B)
		return 4 + (r - ZYDIS_REGISTER_SPL);
	if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_R15W)
		return r - ZYDIS_REGISTER_AX;
	if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_R15D)
		return r - ZYDIS_REGISTER_EAX;
	if (r >= ZYDIS_REGISTER_RAX && r <= ZYDIS_REGISTER_R15)
		return r - ZYDIS_REGISTER_RAX;
	return -1;
}

/* Fills the memory-operand fields; false when the form cannot be expressed (then #UD). */
static bool set_mem(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *o)
{
	i->flags |= INSN_MEM;
	i->seg = o->mem.segment == ZYDIS_REGISTER_FS ? SEG_FS : o->mem.segment == ZYDIS_REGISTER_GS ? SEG_GS : SEG_NONE;
	i->disp = o->mem.disp.has_displacement ? o->mem.disp.value : 0;
	i->scale = 0;
	i->index = REG_NONE;
	if (o->mem.base == ZYDIS_REGISTER_RIP || o->mem.base == ZYDIS_REGISTER_EIP) {
		i->base = REG_RIP;
		i->disp += zi->length;
	} else if (o->mem.base == ZYDIS_REGISTER_NONE) {
		i->base = REG_NONE;
	} else {
		int b = gpr_number(o->mem.base);
		if (b < 0)
			return false;
		i->base = (u8)b;
	}
	if (o->mem.index != ZYDIS_REGISTER_NONE) {
		int x = gpr_number(o->mem.index);
		if (x < 0)
			return false;
		i->index = (u8)x;
		i->scale = (u8)__builtin_ctz(o->mem.scale ? o->mem.scale : 1);
	}
	if (zi->address_width == 32) {
		i->flags |= INSN_ADDR32;
		/*
		 * Zydis 4.0 decodes mod 00 + SIB base 101 with REX.B under 67h as
		 * [r13d] and drops the disp32 (zydis#592, fixed upstream by #593);
		 * the SDM form is "no base, disp32" whatever REX.B says.
		 */
		if ((zi->attributes & ZYDIS_ATTRIB_HAS_SIB) && zi->raw.modrm.mod == 0 && zi->raw.sib.base == 5) {
			i->base = REG_NONE;
			i->disp = zi->raw.disp.value;
		}
	}
	return true;
}

/* Records visible operand n; false when it is of a kind the handlers cannot take. */
static bool set_operand(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *o, unsigned n)
{
	switch (o->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER: {
		int r = gpr_number(o->reg.value);
		i->k[n] = r < 0 ? OPK_OTHER : OPK_REG;
		i->r[n] = r < 0 ? 0 : (u8)r;
		return true;
	}
	case ZYDIS_OPERAND_TYPE_MEMORY:
		i->k[n] = OPK_MEM;
		return set_mem(i, zi, o);
	case ZYDIS_OPERAND_TYPE_IMMEDIATE:
		i->k[n] = OPK_IMM;
		if (n > 0 && i->k[n - 1] == OPK_IMM) // ENTER: the second immediate
			i->imm2 = (u16)o->imm.value.u;
		else
			i->imm = o->imm.is_signed ? (u64)o->imm.value.s : o->imm.value.u;
		return true;
	default:
		i->k[n] = OPK_OTHER;
		return true;
	}
}

/*
 * Records which memory accesses go through SS: a non-canonical address
 * there raises #SS(0) instead of #GP(0) (SDM Vol. 3A 6.15, interrupt 12),
 * which cpu_fixup_stack_fault() applies when such a fault happens.
 */
static void mark_stack_accesses(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	for (unsigned n = 0; n < zi->operand_count; n++) {
		if (zo[n].type != ZYDIS_OPERAND_TYPE_MEMORY || zo[n].mem.segment != ZYDIS_REGISTER_SS)
			continue;
		i->flags |= zo[n].visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT ? INSN_SS_MEM : INSN_STACK;
	}
}

/* Control transfers and system instructions end a decoded block. */
static bool ends_block(const ZydisDecodedInstruction *zi)
{
	switch (zi->meta.category) {
	case ZYDIS_CATEGORY_COND_BR:
	case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_CALL:
	case ZYDIS_CATEGORY_RET:
	case ZYDIS_CATEGORY_SYSCALL:
	case ZYDIS_CATEGORY_SYSRET:
	case ZYDIS_CATEGORY_INTERRUPT:
	case ZYDIS_CATEGORY_IO:
	case ZYDIS_CATEGORY_IOSTRINGOP:
	case ZYDIS_CATEGORY_SYSTEM:
		return true;
	default:
		return zi->meta.branch_type != ZYDIS_BRANCH_TYPE_NONE;
	}
}

static void fill(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	memset(i, 0, sizeof(*i));
	i->len = zi->length;
	i->mnemonic = (u16)zi->mnemonic;
	i->osz = (u8)(zi->operand_width / 8);
	i->base = i->index = REG_NONE;
	if (zi->attributes & ZYDIS_ATTRIB_HAS_LOCK)
		i->flags |= INSN_LOCK;
	if (zi->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
		i->flags |= INSN_REP;
	if (zi->attributes & ZYDIS_ATTRIB_HAS_REPNE)
		i->flags |= INSN_REPNE;
	if (ends_block(zi))
		i->flags |= INSN_TERM;
	i->cc = zi->opcode & 0xf;
}

enum decode_status decode_one(const struct decoder *d, const u8 *bytes, size_t avail, struct insn *out)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	ZyanStatus st = ZydisDecoderDecodeFull(&d->zd, bytes, avail, &zi, zo);
	if (st == ZYDIS_STATUS_NO_MORE_DATA && avail < ZYDIS_MAX_INSTRUCTION_LENGTH)
		return DECODE_SHORT;
	if (!ZYAN_SUCCESS(st)) {
		memset(out, 0, sizeof(*out));
		out->fn = op_ud;
		out->len = 1;
		out->flags = INSN_TERM;
		out->base = out->index = REG_NONE;
		return DECODE_INVALID;
	}
	fill(out, &zi, zo);
	bool ok = zi.operand_count_visible <= 3;
	for (unsigned n = 0; ok && n < zi.operand_count_visible; n++) {
		ok = set_operand(out, &zi, &zo[n], n);
		out->nops = (u8)(n + 1);
	}
	mark_stack_accesses(out, &zi, zo);
	select_fn sel = d->select[zi.mnemonic];
	out->fn = ok && sel ? sel(out, &zi, zo) : NULL;
	if (!out->fn) {
		out->fn = op_ud;
		out->flags |= INSN_TERM;
	}
	return DECODE_OK;
}
