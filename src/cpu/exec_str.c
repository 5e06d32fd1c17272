/* SPDX-License-Identifier: MIT */
/*
 * String instructions (SDM Vol. 2: MOVS, CMPS, SCAS, LODS, STOS, and REP
 * /REPE/REPNE). The source is seg:RSI, where seg is DS or an FS/GS
 * override; the destination is ES:RDI, which no prefix overrides (ES has
 * no base in 64-bit mode). Under 67h the pointers and the count are ESI,
 * EDI and ECX, and each update zero-extends the register as any 32-bit
 * write does (the host agrees). INS/OUTS are port I/O: exec_sys.c.
 *
 * A REP instruction runs a bounded chunk per call, so one guest
 * instruction never holds the host for long: when RCX is not exhausted at
 * the end of a chunk the handler returns EXEC_JUMP with RIP unchanged and
 * the run loop comes back to it (events and the instruction budget are
 * checked in between). Each iteration is fault-before-commit for its own
 * element: a fault leaves RCX, RSI and RDI at the faulting iteration, as
 * the SDM says for interrupted REP instructions (REP, "Operation").
 *
 * Workload: guest memcpy/memset use REP MOVSB/STOSB/MOVSQ/STOSQ with
 * DF = 0. Those take a page-run path that translates each page once and
 * copies a page-sized run with memmove/memset; writes still go through
 * the access layer (cpu_atomic_ptr), which drops decoded code on the
 * destination page first.
 */
#include "cpu/exec.h"

#define BODY static inline __attribute__((always_inline)) int

enum { STR_CHUNK = 1024 };           // iterations per call, element by element
enum { STR_FAST_BYTES = 64 << 10 };  // bytes per call on the page-run path

enum str_op { S_MOVS, S_CMPS, S_SCAS, S_LODS, S_STOS };

/*
 * Does one iteration of op on elements of sz bytes, with address mask
 * amask (67h) and pointer step (DF). Every access is made before RSI, RDI
 * or RAX changes. Returns 0 or EXEC_FAULT.
 */
BODY str_step(struct cpu *c, const struct insn *i, enum str_op op, unsigned sz, u64 amask, s64 step)
{
	u64 rsi = c->r[RSI], rdi = c->r[RDI], a = 0, b = 0;
	gva_t src = (rsi & amask) + c->seg_base[i->seg], dst = rdi & amask;
	if (op == S_MOVS || op == S_CMPS || op == S_LODS)
		if (cpu_read(c, src, sz, &a))
			return EXEC_FAULT;
	if (op == S_CMPS || op == S_SCAS)
		if (cpu_read(c, dst, sz, &b))
			return EXEC_FAULT;
	if (op == S_MOVS || op == S_STOS)
		if (cpu_write(c, dst, sz, op == S_MOVS ? a : c->r[RAX]))
			return EXEC_FAULT;
	if (op == S_SCAS)
		a = cpu_reg_get(c, RAX, sz);
	if (op == S_CMPS || op == S_SCAS)
		lf_set(c, LF_SUB, sz, a, b, a - b); // CMPS: [RSI] - [RDI]; SCAS: rAX - [RDI]
	if (op == S_LODS)
		cpu_reg_set(c, RAX, sz, a);
	if (op != S_SCAS && op != S_STOS)
		c->r[RSI] = (rsi + (u64)step) & amask;
	if (op != S_LODS)
		c->r[RDI] = (rdi + (u64)step) & amask;
	return 0;
}

/* Whole elements of sz bytes from gva to the end of its page. */
static inline u64 page_room(gva_t gva, unsigned sz)
{
	return (PAGE_SIZE - (gva & ~PAGE_MASK)) / sz;
}

/*
 * Copies `bytes` from s to d as MOVS does, element by element upwards: a
 * destination that starts inside the source run sees the elements already
 * copied (REP MOVSB with RDI = RSI + 1 replicates a byte), which memmove
 * would not do.
 */
static void copy_up(u8 *d, const u8 *s, u64 bytes, unsigned sz)
{
	if ((uintptr_t)d > (uintptr_t)s && (uintptr_t)d < (uintptr_t)s + bytes) {
		for (u64 k = 0; k < bytes; k += sz)
			store_le(d + k, sz, load_le(s + k, sz));
		return;
	}
	memmove(d, s, bytes);
}

static void fill_up(u8 *d, u64 n, unsigned sz, u64 v)
{
	if (sz == 1) {
		memset(d, (u8)v, n);
		return;
	}
	for (u64 k = 0; k < n; k++)
		store_le(d + k * sz, sz, v);
}

/*
 * REP MOVS / REP STOS with DF = 0 and 64-bit addresses: one run per page
 * pair. The source page is translated first (the read happens before the
 * write), then the destination run through cpu_atomic_ptr. An element
 * that crosses a page end, or a run the access layer cannot hand out as
 * one pointer, goes through str_step.
 */
static int rep_fast(struct cpu *c, const struct insn *i, enum str_op op, unsigned sz)
{
	for (u64 done = 0; c->r[RCX]; ) {
		if (done >= STR_FAST_BYTES)
			return EXEC_JUMP;
		gva_t src = c->r[RSI] + c->seg_base[i->seg], dst = c->r[RDI];
		u64 n = c->r[RCX], room = page_room(dst, sz);
		n = n < room ? n : room;
		if (op == S_MOVS)
			room = page_room(src, sz), n = n < room ? n : room;
		const u8 *s = NULL;
		u8 *d = NULL;
		int f = 0;
		if (n && op == S_MOVS && !(s = tlb_lookup(c, src, ACC_READ)) && !(s = mmu_translate(c, src, ACC_READ)))
			return EXEC_FAULT;
		if (n && !(d = cpu_atomic_ptr(c, dst, (unsigned)(n * sz), &f)) && f)
			return f;
		if (!d) {
			if (str_step(c, i, op, sz, ~0ULL, sz))
				return EXEC_FAULT;
			n = 1;
		} else if (op == S_MOVS) {
			copy_up(d, s, n * sz, sz);
			c->r[RSI] += n * sz;
			c->r[RDI] += n * sz;
		} else {
			fill_up(d, n, sz, c->r[RAX]);
			c->r[RDI] += n * sz;
		}
		c->r[RCX] -= n;
		done += n * sz;
	}
	return EXEC_NEXT;
}

/*
 * Runs op with its prefixes: once without REP; with REP up to STR_CHUNK
 * iterations while the count (RCX or ECX) is not zero, CMPS and SCAS
 * also stopping when ZF disagrees with REPE/REPNE. F2 on MOVS, LODS and
 * STOS repeats as F3 does.
 */
BODY str_run(struct cpu *c, const struct insn *i, enum str_op op, unsigned sz)
{
	bool a32 = i->flags & INSN_ADDR32, down = c->rflags & RFLAGS_DF;
	u64 amask = a32 ? 0xffffffffULL : ~0ULL;
	s64 step = down ? -(s64)sz : (s64)sz;
	if (!(i->flags & (INSN_REP | INSN_REPNE)))
		return str_step(c, i, op, sz, amask, step);
	if ((op == S_MOVS || op == S_STOS) && !a32 && !down)
		return rep_fast(c, i, op, sz);
	bool cmp = op == S_CMPS || op == S_SCAS, until_equal = i->flags & INSN_REPNE;
	for (unsigned n = 0; n < STR_CHUNK; n++) {
		if (!(c->r[RCX] & amask))
			return EXEC_NEXT;
		if (str_step(c, i, op, sz, amask, step))
			return EXEC_FAULT;
		c->r[RCX] = (c->r[RCX] - 1) & amask;
		if (cmp && ((c->lf.res & size_mask(sz)) == 0) == until_equal)
			return EXEC_NEXT;
	}
	return (c->r[RCX] & amask) ? EXEC_JUMP : EXEC_NEXT;
}

#define STR_ONE(name, op, sz) \
	static int name##_##sz(struct cpu *c, const struct insn *i) { return str_run(c, i, op, sz); }
#define STR_SIZED(name, op) STR_ONE(name, op, 1) STR_ONE(name, op, 2) STR_ONE(name, op, 4) STR_ONE(name, op, 8)
STR_SIZED(op_movs_Yv_Xv, S_MOVS)
STR_SIZED(op_cmps_Xv_Yv, S_CMPS)
STR_SIZED(op_scas_rAX_Yv, S_SCAS)
STR_SIZED(op_lods_rAX_Xv, S_LODS)
STR_SIZED(op_stos_Yv_rAX, S_STOS)

#define STR_ROW(name) { name##_1, name##_2, name##_4, name##_8 }
/* [enum str_op][size slot] */
static const insn_fn str_tab[5][4] = {
	STR_ROW(op_movs_Yv_Xv), STR_ROW(op_cmps_Xv_Yv), STR_ROW(op_scas_rAX_Yv), STR_ROW(op_lods_rAX_Xv),
	STR_ROW(op_stos_Yv_rAX),
};

/* The op and size slot of each string mnemonic. */
static const struct {
	ZydisMnemonic mnemonic;
	u8 op, slot;
} str_forms[] = {
	{ ZYDIS_MNEMONIC_MOVSB, S_MOVS, 0 }, { ZYDIS_MNEMONIC_MOVSW, S_MOVS, 1 },
	{ ZYDIS_MNEMONIC_MOVSD, S_MOVS, 2 }, { ZYDIS_MNEMONIC_MOVSQ, S_MOVS, 3 },
	{ ZYDIS_MNEMONIC_CMPSB, S_CMPS, 0 }, { ZYDIS_MNEMONIC_CMPSW, S_CMPS, 1 },
	{ ZYDIS_MNEMONIC_CMPSD, S_CMPS, 2 }, { ZYDIS_MNEMONIC_CMPSQ, S_CMPS, 3 },
	{ ZYDIS_MNEMONIC_SCASB, S_SCAS, 0 }, { ZYDIS_MNEMONIC_SCASW, S_SCAS, 1 },
	{ ZYDIS_MNEMONIC_SCASD, S_SCAS, 2 }, { ZYDIS_MNEMONIC_SCASQ, S_SCAS, 3 },
	{ ZYDIS_MNEMONIC_LODSB, S_LODS, 0 }, { ZYDIS_MNEMONIC_LODSW, S_LODS, 1 },
	{ ZYDIS_MNEMONIC_LODSD, S_LODS, 2 }, { ZYDIS_MNEMONIC_LODSQ, S_LODS, 3 },
	{ ZYDIS_MNEMONIC_STOSB, S_STOS, 0 }, { ZYDIS_MNEMONIC_STOSW, S_STOS, 1 },
	{ ZYDIS_MNEMONIC_STOSD, S_STOS, 2 }, { ZYDIS_MNEMONIC_STOSQ, S_STOS, 3 },
};

/* Records the source segment override: the segment of the operand addressed by RSI/ESI. */
static void set_source_seg(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	i->seg = SEG_NONE;
	for (unsigned n = 0; n < zi->operand_count; n++) {
		const ZydisDecodedOperand *o = &zo[n];
		if (o->type != ZYDIS_OPERAND_TYPE_MEMORY)
			continue;
		if (o->mem.base != ZYDIS_REGISTER_RSI && o->mem.base != ZYDIS_REGISTER_ESI)
			continue;
		i->seg = o->mem.segment == ZYDIS_REGISTER_FS ? SEG_FS : o->mem.segment == ZYDIS_REGISTER_GS ? SEG_GS : SEG_NONE;
	}
}

/*
 * Zydis names the SSE2 MOVSD/CMPSD (F2 0F 10, F2 0F C2) like the string
 * forms; only the one-byte-opcode, operand-less encodings are ours.
 */
static insn_fn sel_str(struct insn *i, const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	if ((i->flags & INSN_LOCK) || i->nops != 0 || zi->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT)
		return NULL;
	for (size_t k = 0; k < ARRAY_SIZE(str_forms); k++) {
		if (str_forms[k].mnemonic != zi->mnemonic)
			continue;
		set_source_seg(i, zi, zo);
		if (zi->address_width == 32)
			i->flags |= INSN_ADDR32;
		return str_tab[str_forms[k].op][str_forms[k].slot];
	}
	return NULL;
}

const struct op_entry exec_str_ops[] = {
	{ ZYDIS_MNEMONIC_MOVSB, sel_str }, { ZYDIS_MNEMONIC_MOVSW, sel_str },
	{ ZYDIS_MNEMONIC_MOVSD, sel_str }, { ZYDIS_MNEMONIC_MOVSQ, sel_str },
	{ ZYDIS_MNEMONIC_CMPSB, sel_str }, { ZYDIS_MNEMONIC_CMPSW, sel_str },
	{ ZYDIS_MNEMONIC_CMPSD, sel_str }, { ZYDIS_MNEMONIC_CMPSQ, sel_str },
	{ ZYDIS_MNEMONIC_SCASB, sel_str }, { ZYDIS_MNEMONIC_SCASW, sel_str },
	{ ZYDIS_MNEMONIC_SCASD, sel_str }, { ZYDIS_MNEMONIC_SCASQ, sel_str },
	{ ZYDIS_MNEMONIC_LODSB, sel_str }, { ZYDIS_MNEMONIC_LODSW, sel_str },
	{ ZYDIS_MNEMONIC_LODSD, sel_str }, { ZYDIS_MNEMONIC_LODSQ, sel_str },
	{ ZYDIS_MNEMONIC_STOSB, sel_str }, { ZYDIS_MNEMONIC_STOSW, sel_str },
	{ ZYDIS_MNEMONIC_STOSD, sel_str }, { ZYDIS_MNEMONIC_STOSQ, sel_str },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
