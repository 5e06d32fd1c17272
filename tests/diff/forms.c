/* SPDX-License-Identifier: MIT */
/*
 * The instruction forms the differential test covers, generated from
 * opcode templates rather than listed byte by byte. A template is an
 * opcode with its ModRM use, immediate and operand sizes; expanding it
 * gives one form per operand size (66h, none, REX.W; for byte forms the
 * legacy AH-BH registers without REX and SPL-DIL/R8B-R15B with it) and per
 * operand kind: register forms with low and high (REX.R/REX.B) registers,
 * the same register twice, a memory form and its LOCK variant. Memory forms
 * take the next addressing mode of a rotating list, so every mode (SIB,
 * disp8/disp32, RIP-relative, absolute, [rbp]/[r13]/[r12]/[rsp] special
 * cases, REX.X index, FS/GS, 67h) meets every family.
 *
 * Besides the templates: string instructions (every size, REP/REPE/REPNE,
 * 67h, segment overrides), relative branches forward and backward, MOV
 * with a 64-bit absolute address, stack-pointer corner cases, invalid
 * encodings, flag producer/consumer pairs (FAM_SEQ) and non-canonical
 * addresses (FAM_FAULT).
 *
 * Immediates and displacements here are placeholders: state.c rewrites
 * them per case (relative branch displacements excepted, which fix where
 * the landing pads go).
 */
#include <stdlib.h>
#include <string.h>

#include "diff.h"

enum { G = -1, NM = -2, OPR = -3 }; // ModRM.reg is a register; no ModRM; register in the opcode

#define SZ_B 0x01
#define SZ_W 0x02
#define SZ_D 0x04
#define SZ_Q 0x08
#define SZ_V (SZ_W | SZ_D | SZ_Q)
#define SZ_D64 0x10 // stack operand size: 64 without prefix, 16 with 66h
#define SZ_NONE 0x20

#define K_R 0x01   // register in ModRM.rm
#define K_M 0x02   // memory in ModRM.rm
#define K_L 0x04   // also a LOCK-prefixed memory form
#define K_S 0x08   // also the same register in reg and rm
#define K_RMB 0x10 // ModRM.rm is a byte register although the operand size is v (MOVZX/MOVSX Gv,Eb)
#define K_NA 0x20  // the register operand never takes part in the address (BT*: it is a bit offset)

#define IMM_Z 5     // 2 bytes with 66h, else 4
#define IMM_V 6     // 2, 4 or 8 bytes (MOV r, imm)
#define IMM_ENTER 7 // iw then ib

struct tmpl {
	u8 op[3];
	u8 oplen;
	s8 modrm; // G, NM, OPR or the /digit
	u8 imm;
	u8 sizes;
	u8 kinds;
	u8 mand;  // mandatory prefix (66, F2, F3) or 0
	u8 feat;
};

struct amode {
	s8 base;  // GPR, -1 none, 16 RIP
	s8 index; // GPR other than RSP, -1 none
	u8 scale; // log2
	u8 dsz;   // displacement bytes (0, 1, 4); [rbp]/[r13] get a disp8 anyway
	u8 seg;   // segment override prefix or 0
	bool a32; // 67h
};

/* The rotating addressing modes (SDM Vol. 2A 2.1.5, tables 2-2 and 2-3, and 2.2.1.6 for RIP). */
static const struct amode amodes[] = {
	{ 3, -1, 0, 0, 0, false },    // [rbx]
	{ 6, -1, 0, 1, 0, false },    // [rsi+d8]
	{ 0, 1, 2, 0, 0, false },     // [rax+rcx*4]
	{ 16, -1, 0, 4, 0, false },   // [rip+d32]
	{ 7, -1, 0, 4, 0, false },    // [rdi+d32]
	{ 8, 9, 3, 1, 0, false },     // [r8+r9*8+d8]
	{ 5, -1, 0, 0, 0, false },    // [rbp] (mod 01, disp8 0)
	{ -1, -1, 0, 4, 0, false },   // [d32] (SIB, no base, no index)
	{ 13, -1, 0, 0, 0, false },   // [r13] (mod 01, disp8 0)
	{ 2, 12, 1, 4, 0, false },    // [rdx+r12*2+d32] (REX.X)
	{ 12, -1, 0, 0, 0, false },   // [r12] (SIB)
	{ 4, -1, 0, 1, 0, false },    // [rsp+d8]
	{ -1, 6, 3, 4, 0, false },    // [rsi*8+d32]
	{ 3, 5, 0, 1, 0x64, false },  // fs:[rbx+rbp+d8]
	{ 15, -1, 0, 4, 0x65, false },// gs:[r15+d32]
	{ 16, -1, 0, 4, 0x65, false },// gs:[rip+d32]
	{ 3, 1, 1, 1, 0, true },      // [ebx+ecx*2+d8]
	{ 16, -1, 0, 4, 0, true },    // [eip+d32]
	{ 10, -1, 0, 4, 0, true },    // [r10d+d32]
	{ -1, 2, 2, 4, 0, true },     // [edx*4+d32]
	{ 6, -1, 0, 0, 0x65, true },  // gs:[esi]
	{ 11, 14, 0, 0, 0, false },   // [r11+r14]
	{ 1, 1, 3, 1, 0, false },     // [rcx+rcx*8+d8]
	{ 4, 7, 2, 0, 0, false },     // [rsp+rdi*4]
	{ 9, -1, 0, 1, 0x3e, false }, // ds:[r9+d8] (ignored override)
	{ 0, -1, 0, 4, 0x2e, false }, // cs:[rax+d32] (ignored override)
};

/* Everything that goes into one encoding. */
struct enc {
	u8 lock, rep, seg, mand; // prefix bytes or 0
	bool o16, a32, rexw, rex_force;
	u8 op[3], oplen;
	int reg;   // ModRM.reg (register or digit), -1 without ModRM
	int rm;    // register in ModRM.rm, -1 for memory
	int opreg; // register in the opcode's low bits, -1 none
	const struct amode *am;
	s32 disp;
	u8 immsz, imm2sz;
	u64 imm;
};

struct builder {
	struct dform *v;
	size_t n, cap;
	unsigned fam;
	unsigned amode_next;
	u64 rng;
};

static u64 brand(struct builder *b)
{
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return b->rng;
}

/* Returns a register in [lo, hi] other than those in `avoid` (a bit mask). */
static int pick_reg(struct builder *b, int lo, int hi, unsigned avoid)
{
	for (;;) {
		int r = lo + (int)(brand(b) % (u64)(hi - lo + 1));
		if (!(avoid & (1u << r)))
			return r;
	}
}

static void add_form(struct builder *b, const u8 *bytes, unsigned len, u8 feat, bool invalid)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->v = realloc(b->v, b->cap * sizeof(*b->v));
		if (!b->v)
			abort();
	}
	struct dform *f = &b->v[b->n++];
	memset(f, 0, sizeof(*f));
	memcpy(f->bytes, bytes, len);
	f->len = (u8)len;
	f->ninsn = 1;
	f->fam = (u8)b->fam;
	f->feat = feat;
	f->invalid = invalid;
}

/* Encodes the memory operand's ModRM, SIB and displacement; returns REX.X/B bits. */
static unsigned enc_mem(const struct enc *e, u8 *p, unsigned *n)
{
	const struct amode *a = e->am;
	unsigned rex = 0, reg3 = (unsigned)(e->reg & 7);
	int dsz = a->dsz;
	if (a->base == 16 || a->base < 0) {
		p[(*n)++] = (u8)((reg3 << 3) | (a->base == 16 ? 5 : 4));
		if (a->base < 0)
			p[(*n)++] = (u8)((a->scale << 6) | ((a->index < 0 ? 4 : a->index & 7) << 3) | 5);
		rex |= a->index >= 8 ? 2 : 0;
		dsz = 4;
	} else {
		bool sib = a->index >= 0 || (a->base & 7) == 4;
		if (dsz == 0 && (a->base & 7) == 5)
			dsz = 1;
		p[(*n)++] = (u8)(((dsz == 0 ? 0 : dsz == 1 ? 1 : 2) << 6) | (reg3 << 3) | (sib ? 4 : (unsigned)(a->base & 7)));
		if (sib)
			p[(*n)++] = (u8)((a->scale << 6) | ((a->index < 0 ? 4 : a->index & 7) << 3) | (a->base & 7));
		rex |= (a->index >= 8 ? 2 : 0) | (a->base >= 8 ? 1 : 0);
	}
	if (dsz == 1)
		p[(*n)++] = (u8)e->disp;
	if (dsz == 4)
		memcpy(p + *n, &e->disp, 4), *n += 4;
	return rex;
}

/* Encodes e into out (prefixes, REX, opcode, ModRM/SIB/disp, immediates); returns the length. */
static unsigned encode(const struct enc *e, u8 *out)
{
	u8 tail[16];
	unsigned n = 0, t = 0, rex = e->rexw ? 8 : 0;
	const u8 pfx[] = { e->lock, e->rep, e->seg, e->o16 ? 0x66 : 0, e->a32 ? 0x67 : 0, e->mand };
	for (size_t k = 0; k < sizeof(pfx); k++)
		if (pfx[k])
			out[n++] = pfx[k];
	memcpy(tail, e->op, e->oplen);
	t = e->oplen;
	if (e->opreg >= 0)
		tail[t - 1] = (u8)(tail[t - 1] + (e->opreg & 7)), rex |= e->opreg >= 8 ? 1 : 0;
	if (e->reg >= 0) {
		rex |= e->reg >= 8 ? 4 : 0;
		if (e->rm >= 0)
			tail[t++] = (u8)(0xc0 | ((e->reg & 7) << 3) | (e->rm & 7)), rex |= e->rm >= 8 ? 1 : 0;
		else
			rex |= enc_mem(e, tail, &t);
	}
	if (rex || e->rex_force)
		out[n++] = (u8)(0x40 | rex);
	memcpy(out + n, tail, t);
	n += t;
	memcpy(out + n, &e->imm, e->immsz);
	n += e->immsz;
	if (e->imm2sz)
		out[n++] = 0;
	return n;
}

/* Prepares e from a template at operand size sz (1, 2, 4, 8; 0 for none). */
static void enc_from(struct enc *e, const struct tmpl *t, unsigned sz, bool d64)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->op, t->op, t->oplen);
	e->oplen = t->oplen;
	e->mand = t->mand;
	e->o16 = sz == 2;
	e->rexw = sz == 8 && !d64;
	e->reg = t->modrm >= 0 ? t->modrm : -1;
	e->rm = -1;
	e->opreg = -1;
	unsigned isz = t->imm == IMM_Z ? (sz == 2 ? 2 : 4) : t->imm == IMM_V ? (sz ? sz : 4) : t->imm;
	if (t->imm == IMM_ENTER)
		isz = 2, e->imm2sz = 1;
	e->immsz = (u8)isz;
	e->imm = 0x11;
}

static void emit(struct builder *b, const struct enc *e, u8 feat)
{
	u8 bytes[16];
	unsigned len = encode(e, bytes);
	add_form(b, bytes, len, feat, false);
}

/* The next addressing mode of the rotation, with a displacement fitting its base. */
static void set_mem(struct builder *b, struct enc *e)
{
	e->am = &amodes[b->amode_next++ % ARRAY_SIZE(amodes)];
	e->rm = -1;
	e->seg = e->am->seg;
	e->a32 = e->am->a32;
	if (e->am->base == 4)
		e->disp = (s32)(8 * (brand(b) % 8)); // stack-relative: stay inside the stack window
	else if (e->am->dsz == 1)
		e->disp = (s8)brand(b);
	else
		e->disp = (s32)brand(b);
}

/* Register forms of a ModRM template at byte size: legacy AH-BH registers, then REX registers. */
static void expand_byte_regs(struct builder *b, const struct tmpl *t, struct enc *e)
{
	bool gx = t->modrm == G;
	e->reg = gx ? pick_reg(b, 4, 7, 0) : t->modrm; // AH..BH in reg
	e->rm = pick_reg(b, 0, 3, 0);
	emit(b, e, t->feat);
	e->reg = gx ? pick_reg(b, 0, 3, 0) : t->modrm; // AH..BH in rm
	e->rm = pick_reg(b, 4, 7, 0);
	emit(b, e, t->feat);
	e->rex_force = true; // SPL..DIL and R8B..R15B
	e->reg = gx ? pick_reg(b, 4, 15, 0) : t->modrm;
	e->rm = pick_reg(b, 4, 15, 0);
	emit(b, e, t->feat);
	e->rex_force = false;
}

/* Register forms at word/dword/qword size: low reg with high rm, then the reverse. */
static void expand_regs(struct builder *b, const struct tmpl *t, struct enc *e)
{
	bool gx = t->modrm == G;
	bool rmb = t->kinds & K_RMB;
	e->reg = gx ? pick_reg(b, 0, 7, 0) : t->modrm;
	e->rm = rmb ? pick_reg(b, 4, 7, 0) : pick_reg(b, 8, 15, 0);
	emit(b, e, t->feat);
	e->reg = gx ? pick_reg(b, 8, 15, 0) : t->modrm;
	e->rm = rmb ? pick_reg(b, 0, 15, 0) : pick_reg(b, 0, 7, 0);
	emit(b, e, t->feat);
}

/* The memory form of a ModRM template (with the next addressing mode), optionally LOCK-prefixed. */
static void emit_mem(struct builder *b, const struct tmpl *t, struct enc *e, unsigned sz, bool lock)
{
	set_mem(b, e);
	unsigned avoid = 0;
	if (t->kinds & K_NA) // a bit offset in an address register would address outside the windows
		avoid = (e->am->base >= 0 && e->am->base < 16 ? 1u << e->am->base : 0) |
			(e->am->index >= 0 ? 1u << e->am->index : 0);
	if (t->modrm == G)
		e->reg = pick_reg(b, 0, sz == 1 ? 7 : 15, avoid);
	e->lock = lock ? 0xf0 : 0;
	emit(b, e, t->feat);
	e->lock = 0, e->seg = 0, e->a32 = false, e->am = NULL;
}

/* Every kind of one ModRM template at one operand size. */
static void expand_modrm(struct builder *b, const struct tmpl *t, struct enc *e, unsigned sz)
{
	if (t->kinds & K_R) {
		if (sz == 1)
			expand_byte_regs(b, t, e);
		else
			expand_regs(b, t, e);
	}
	if (t->kinds & K_S) {
		e->reg = e->rm = pick_reg(b, 0, sz == 1 ? 7 : 15, 0);
		emit(b, e, t->feat);
	}
	if (t->kinds & (K_M | K_L))
		emit_mem(b, t, e, sz, false);
	if (t->kinds & K_L)
		emit_mem(b, t, e, sz, true);
}

/* Register-in-opcode templates (PUSH r, MOV r, imm, BSWAP, XCHG rAX, r). */
static void expand_opreg(struct builder *b, const struct tmpl *t, struct enc *e, unsigned sz)
{
	bool xchg = t->op[0] == 0x90;
	e->opreg = pick_reg(b, xchg ? 1 : 0, 7, 0);
	emit(b, e, t->feat);
	e->opreg = pick_reg(b, 8, 15, 0);
	emit(b, e, t->feat);
	if (sz == 1) { // SPL..DIL need REX
		e->rex_force = true;
		e->opreg = pick_reg(b, 4, 7, 0);
		emit(b, e, t->feat);
		e->rex_force = false;
	}
}

static void expand(struct builder *b, const struct tmpl *t)
{
	static const u8 sizes[] = { 1, 2, 4, 8 };
	struct enc e;
	if (t->sizes & (SZ_NONE | SZ_D64)) {
		unsigned n = t->sizes & SZ_D64 ? 2 : 1;
		for (unsigned k = 0; k < n; k++) {
			unsigned sz = t->sizes & SZ_D64 ? (k ? 2 : 8) : 0;
			enc_from(&e, t, sz, true);
			if (t->modrm == NM)
				emit(b, &e, t->feat);
			else if (t->modrm == OPR)
				expand_opreg(b, t, &e, sz);
			else
				expand_modrm(b, t, &e, sz);
		}
		return;
	}
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		if (!(t->sizes & sizes[k]))
			continue;
		enc_from(&e, t, sizes[k], false);
		if (t->modrm == NM)
			emit(b, &e, t->feat);
		else if (t->modrm == OPR)
			expand_opreg(b, t, &e, sizes[k]);
		else
			expand_modrm(b, t, &e, sizes[k]);
	}
}

static void expand_all(struct builder *b, const struct tmpl *t, size_t n)
{
	for (size_t k = 0; k < n; k++)
		expand(b, &t[k]);
}

#define T1(o, m, i, s, k) { { o }, 1, m, i, s, k, 0, FEAT_NONE }
#define T2(o, m, i, s, k) { { 0x0f, o }, 2, m, i, s, k, 0, FEAT_NONE }
#define TF(p, o, s, k, f) { { 0x0f, o }, 2, G, 0, s, k, p, f }

/* ADD OR ADC SBB AND SUB XOR CMP in all nine encodings each (SDM Vol. 2 appendix A, table A-2). */
static void gen_alu_group(struct builder *b)
{
	for (int op = 0; op < 8; op++) {
		u8 lk = op == 7 ? 0 : K_L; // CMP does not write: LOCK CMP is #UD
		u8 o = (u8)(op * 8);
		const struct tmpl t[] = {
			T1(o + 0, G, 0, SZ_B, K_R | K_S | K_M | lk), T1(o + 1, G, 0, SZ_V, K_R | K_S | K_M | lk),
			T1(o + 2, G, 0, SZ_B, K_R | K_M),            T1(o + 3, G, 0, SZ_V, K_R | K_M),
			T1(o + 4, NM, 1, SZ_B, 0),                   T1(o + 5, NM, IMM_Z, SZ_V, 0),
			T1(0x80, op, 1, SZ_B, K_R | K_M | lk),       T1(0x81, op, IMM_Z, SZ_V, K_R | K_M | lk),
			T1(0x83, op, 1, SZ_V, K_R | K_M | lk),
		};
		expand_all(b, t, ARRAY_SIZE(t));
	}
}

static const struct tmpl alu_rest[] = {
	T1(0x84, G, 0, SZ_B, K_R | K_S | K_M), T1(0x85, G, 0, SZ_V, K_R | K_S | K_M),
	T1(0xa8, NM, 1, SZ_B, 0),              T1(0xa9, NM, IMM_Z, SZ_V, 0),
	T1(0xf6, 0, 1, SZ_B, K_R | K_M),       T1(0xf7, 0, IMM_Z, SZ_V, K_R | K_M),
	T1(0xf6, 1, 1, SZ_B, K_R),             T1(0xf7, 1, IMM_Z, SZ_V, K_R), // TEST's /1 alias
	T1(0xfe, 0, 0, SZ_B, K_R | K_M | K_L), T1(0xfe, 1, 0, SZ_B, K_R | K_M | K_L),
	T1(0xff, 0, 0, SZ_V, K_R | K_M | K_L), T1(0xff, 1, 0, SZ_V, K_R | K_M | K_L),
	T1(0xf6, 2, 0, SZ_B, K_R | K_M | K_L), T1(0xf6, 3, 0, SZ_B, K_R | K_M | K_L),
	T1(0xf7, 2, 0, SZ_V, K_R | K_M | K_L), T1(0xf7, 3, 0, SZ_V, K_R | K_M | K_L),
	T1(0xf6, 4, 0, SZ_B, K_R | K_M),       T1(0xf6, 5, 0, SZ_B, K_R | K_M),
	T1(0xf6, 6, 0, SZ_B, K_R | K_M),       T1(0xf6, 7, 0, SZ_B, K_R | K_M),
	T1(0xf7, 4, 0, SZ_V, K_R | K_M),       T1(0xf7, 5, 0, SZ_V, K_R | K_M),
	T1(0xf7, 6, 0, SZ_V, K_R | K_M),       T1(0xf7, 7, 0, SZ_V, K_R | K_M),
	T2(0xaf, G, 0, SZ_V, K_R | K_S | K_M), T1(0x69, G, IMM_Z, SZ_V, K_R | K_S | K_M),
	T1(0x6b, G, 1, SZ_V, K_R | K_S | K_M), T1(0x98, NM, 0, SZ_V, 0),
	T1(0x99, NM, 0, SZ_V, 0),
};

/* Shifts and rotates: C0/C1 (imm8), D0/D1 (by 1), D2/D3 (by CL) for /0-/7 (/6 is SAL's alias), SHLD/SHRD. */
static void gen_shift(struct builder *b)
{
	for (int d = 0; d < 8; d++) {
		const struct tmpl t[] = {
			T1(0xc0, d, 1, SZ_B, K_R | K_M), T1(0xc1, d, 1, SZ_V, K_R | K_M),
			T1(0xd0, d, 0, SZ_B, K_R | K_M), T1(0xd1, d, 0, SZ_V, K_R | K_M),
			T1(0xd2, d, 0, SZ_B, K_R | K_M), T1(0xd3, d, 0, SZ_V, K_R | K_M),
		};
		expand_all(b, t, ARRAY_SIZE(t));
	}
	static const struct tmpl dbl[] = {
		T2(0xa4, G, 1, SZ_V, K_R | K_S | K_M), T2(0xa5, G, 0, SZ_V, K_R | K_S | K_M),
		T2(0xac, G, 1, SZ_V, K_R | K_S | K_M), T2(0xad, G, 0, SZ_V, K_R | K_S | K_M),
	};
	expand_all(b, dbl, ARRAY_SIZE(dbl));
}

static const struct tmpl bit_ops[] = {
	T2(0xa3, G, 0, SZ_V, K_NA | K_R | K_S | K_M), T2(0xab, G, 0, SZ_V, K_NA | K_R | K_S | K_M | K_L),
	T2(0xb3, G, 0, SZ_V, K_NA | K_R | K_S | K_M | K_L), T2(0xbb, G, 0, SZ_V, K_NA | K_R | K_S | K_M | K_L),
	T2(0xba, 4, 1, SZ_V, K_R | K_M),       T2(0xba, 5, 1, SZ_V, K_R | K_M | K_L),
	T2(0xba, 6, 1, SZ_V, K_R | K_M | K_L), T2(0xba, 7, 1, SZ_V, K_R | K_M | K_L),
	T2(0xbc, G, 0, SZ_V, K_R | K_S | K_M), T2(0xbd, G, 0, SZ_V, K_R | K_S | K_M),
	TF(0xf3, 0xb8, SZ_V, K_R | K_M, FEAT_POPCNT), TF(0xf3, 0xbd, SZ_V, K_R | K_M, FEAT_LZCNT),
	TF(0xf3, 0xbc, SZ_V, K_R | K_M, FEAT_BMI1),
};

/* A VEX-encoded BMI instruction (SDM Vol. 2A 2.3.5): map, opcode, pp, ModRM digit or G, feature. */
struct vex_tmpl {
	u8 map, op, pp;
	s8 modrm;
	bool imm8;
	u8 feat;
};

static const struct vex_tmpl bmi_ops[] = {
	{ 2, 0xf2, 0, G, false, FEAT_BMI1 }, // ANDN Gy, By, Ey
	{ 2, 0xf7, 0, G, false, FEAT_BMI1 }, // BEXTR Gy, Ey, By
	{ 2, 0xf3, 0, 3, false, FEAT_BMI1 }, // BLSI By, Ey
	{ 2, 0xf3, 0, 2, false, FEAT_BMI1 }, // BLSMSK
	{ 2, 0xf3, 0, 1, false, FEAT_BMI1 }, // BLSR
	{ 2, 0xf5, 0, G, false, FEAT_BMI2 }, // BZHI Gy, Ey, By
	{ 2, 0xf6, 3, G, false, FEAT_BMI2 }, // MULX Gy, By, Ey (RDX implicit)
	{ 2, 0xf5, 3, G, false, FEAT_BMI2 }, // PDEP
	{ 2, 0xf5, 2, G, false, FEAT_BMI2 }, // PEXT
	{ 3, 0xf0, 3, G, true, FEAT_BMI2 },  // RORX Gy, Ey, ib
	{ 2, 0xf7, 2, G, false, FEAT_BMI2 }, // SARX Gy, Ey, By
	{ 2, 0xf7, 1, G, false, FEAT_BMI2 }, // SHLX
	{ 2, 0xf7, 3, G, false, FEAT_BMI2 }, // SHRX
};

/* Encodes one VEX form: C4 RXB.map W.vvvv.L.pp, opcode, ModRM (register rm or memory), [ib]. */
static void emit_vex(struct builder *b, const struct vex_tmpl *t, bool w, int reg, int vvvv, int rm)
{
	struct enc e = { .reg = reg, .rm = rm, .opreg = -1 };
	u8 body[16], out[16];
	unsigned n = 0, rex;
	if (rm < 0) {
		set_mem(b, &e);
		while (e.am->a32 || e.am->seg)
			set_mem(b, &e); // prefixes before VEX are legal, but keep these plain
	}
	rex = rm >= 0 ? (rm >= 8 ? 1u : 0u) : enc_mem(&e, body, &n);
	if (rm >= 0)
		body[n++] = (u8)(0xc0 | ((reg & 7) << 3) | (rm & 7));
	unsigned len = 0;
	out[len++] = 0xc4;
	out[len++] = (u8)((reg >= 8 ? 0 : 0x80) | (rex & 2 ? 0 : 0x40) | (rex & 1 ? 0 : 0x20) | t->map);
	out[len++] = (u8)((w ? 0x80 : 0) | ((~vvvv & 15) << 3) | t->pp);
	out[len++] = t->op;
	memcpy(out + len, body, n);
	len += n;
	if (t->imm8)
		out[len++] = 0x11;
	add_form(b, out, len, t->feat, false);
}

static void gen_bmi(struct builder *b)
{
	for (size_t k = 0; k < ARRAY_SIZE(bmi_ops); k++) {
		const struct vex_tmpl *t = &bmi_ops[k];
		for (int w = 0; w < 2; w++) {
			int nv = t->imm8 ? 0 : 0xf; // RORX has no VEX.vvvv operand: it must be 1111b (encoded 0)
			int reg = t->modrm >= 0 ? t->modrm : pick_reg(b, 0, 7, 0);
			emit_vex(b, t, w, reg, (pick_reg(b, 8, 15, 0) & nv), pick_reg(b, 0, 15, 0));
			reg = t->modrm >= 0 ? t->modrm : pick_reg(b, 8, 15, 0);
			emit_vex(b, t, w, reg, (pick_reg(b, 0, 7, 0) & nv), pick_reg(b, 0, 15, 0));
			int same = pick_reg(b, 0, 15, 0);
			emit_vex(b, t, w, t->modrm >= 0 ? t->modrm : same, (same & nv), same);
			emit_vex(b, t, w, t->modrm >= 0 ? t->modrm : pick_reg(b, 0, 15, 0), (pick_reg(b, 0, 15, 0) & nv), -1);
		}
	}
}

static const struct tmpl mov_ops[] = {
	T1(0x88, G, 0, SZ_B, K_R | K_M),  T1(0x89, G, 0, SZ_V, K_R | K_M),
	T1(0x8a, G, 0, SZ_B, K_R | K_M),  T1(0x8b, G, 0, SZ_V, K_R | K_M),
	T1(0xc6, 0, 1, SZ_B, K_R | K_M),  T1(0xc7, 0, IMM_Z, SZ_V, K_R | K_M),
	T1(0xb0, OPR, 1, SZ_B, 0),        T1(0xb8, OPR, IMM_V, SZ_V, 0),
	T2(0xb6, G, 0, SZ_V, K_R | K_M | K_RMB), T2(0xb7, G, 0, SZ_D | SZ_Q, K_R | K_M),
	T2(0xbe, G, 0, SZ_V, K_R | K_M | K_RMB), T2(0xbf, G, 0, SZ_D | SZ_Q, K_R | K_M),
	T1(0x63, G, 0, SZ_V, K_R | K_M),
	T1(0x86, G, 0, SZ_B, K_R | K_S | K_M | K_L), T1(0x87, G, 0, SZ_V, K_R | K_S | K_M | K_L),
	T1(0x90, OPR, 0, SZ_V, 0),        T2(0xc8, OPR, 0, SZ_D | SZ_Q, 0),
	T1(0x8d, G, 0, SZ_V, K_M),
	T2(0xb0, G, 0, SZ_B, K_R | K_S | K_M | K_L), T2(0xb1, G, 0, SZ_V, K_R | K_S | K_M | K_L),
	T2(0xc0, G, 0, SZ_B, K_R | K_S | K_M | K_L), T2(0xc1, G, 0, SZ_V, K_R | K_S | K_M | K_L),
	{ { 0x0f, 0xc7 }, 2, 1, 0, SZ_Q, K_M | K_L, 0, FEAT_CX16 }, // CMPXCHG16B
	{ { 0x9f }, 1, NM, 0, SZ_NONE, 0, 0, FEAT_LAHF },          // LAHF
	{ { 0x9e }, 1, NM, 0, SZ_NONE, 0, 0, FEAT_LAHF },          // SAHF
	T1(0xf8, NM, 0, SZ_NONE, 0), T1(0xf9, NM, 0, SZ_NONE, 0), T1(0xf5, NM, 0, SZ_NONE, 0),
	T1(0xfc, NM, 0, SZ_NONE, 0), T1(0xfd, NM, 0, SZ_NONE, 0),
	T1(0x90, NM, 0, SZ_V, 0),         { { 0x90 }, 1, NM, 0, SZ_NONE, 0, 0xf3, FEAT_NONE }, // NOP, PAUSE
	T2(0x1f, 0, 0, SZ_V, K_R | K_M),
	{ { 0x0f, 0xc7 }, 2, 1, 0, SZ_D, K_M | K_L, 0, FEAT_NONE },             // CMPXCHG8B
	{ { 0x0f, 0x38, 0xf0 }, 3, G, 0, SZ_V, K_M, 0, FEAT_MOVBE },          // MOVBE Gv, Mv
	{ { 0x0f, 0x38, 0xf1 }, 3, G, 0, SZ_V, K_M, 0, FEAT_MOVBE },          // MOVBE Mv, Gv
	T1(0xd7, NM, 0, SZ_NONE, 0), T1(0xd7, NM, 0, SZ_Q, 0),              // XLAT (REX.W changes nothing)
	T2(0x18, 0, 0, SZ_NONE, K_M), T2(0x18, 1, 0, SZ_NONE, K_M),         // PREFETCHNTA, PREFETCHT0
	T2(0x18, 2, 0, SZ_NONE, K_M), T2(0x18, 3, 0, SZ_NONE, K_M),         // PREFETCHT1, PREFETCHT2
	{ { 0x0f, 0x1e, 0xfa }, 3, NM, 0, SZ_NONE, 0, 0xf3, FEAT_NONE },      // ENDBR64
	{ { 0x0f, 0x1e, 0xfb }, 3, NM, 0, SZ_NONE, 0, 0xf3, FEAT_NONE },      // ENDBR32
};

/* XLAT with 67h (EBX) and with a segment override. */
static void gen_xlat(struct builder *b)
{
	static const u8 forms[][4] = { { 2, 0x67, 0xd7 }, { 2, 0x64, 0xd7 }, { 3, 0x65, 0x67, 0xd7 } };
	for (size_t k = 0; k < ARRAY_SIZE(forms); k++)
		add_form(b, forms[k] + 1, forms[k][0], FEAT_NONE, false);
}

/* CMOVcc and SETcc for all sixteen conditions. */
static void gen_cond(struct builder *b)
{
	for (int cc = 0; cc < 16; cc++) {
		const struct tmpl t[] = { T2(0x40 + cc, G, 0, SZ_V, K_R | K_M), T2(0x90 + cc, 0, 0, SZ_B, K_R | K_M) };
		expand_all(b, t, ARRAY_SIZE(t));
	}
}

/* MOV with a 64-bit absolute address (A0-A3, SDM "MOV moffs"), plain and with FS/GS. */
static void gen_moffs(struct builder *b)
{
	static const u8 segs[] = { 0, 0x64, 0x65 };
	for (u8 op = 0xa0; op <= 0xa3; op++)
		for (unsigned sz = 1; sz <= 8; sz *= 2) {
			if ((op & 1) != (sz != 1))
				continue;
			for (size_t s = 0; s < ARRAY_SIZE(segs); s++) {
				struct enc e = { .seg = segs[s], .o16 = sz == 2, .rexw = sz == 8, .op = { op }, .oplen = 1,
						 .reg = -1, .rm = -1, .opreg = -1, .immsz = 8, .imm = SB_DATA };
				emit(b, &e, FEAT_NONE);
			}
		}
}

static const struct tmpl stack_ops[] = {
	T1(0x50, OPR, 0, SZ_D64, 0),     T1(0x58, OPR, 0, SZ_D64, 0),
	T1(0xff, 6, 0, SZ_D64, K_R | K_M), T1(0x8f, 0, 0, SZ_D64, K_R | K_M),
	T1(0x6a, NM, 1, SZ_D64, 0),      T1(0x68, NM, IMM_Z, SZ_D64, 0),
	T1(0xc8, NM, IMM_ENTER, SZ_D64, 0), T1(0xc9, NM, 0, SZ_D64, 0),
	T1(0x9c, NM, 0, SZ_D64, 0),      T1(0x9d, NM, 0, SZ_D64, 0),
};

/* Stack forms whose operand is the stack pointer itself (SDM PUSH/POP: the value or address before/after). */
static void gen_stack_special(struct builder *b)
{
	static const u8 forms[][5] = {
		{ 1, 0x54 },                   // push rsp
		{ 1, 0x5c },                   // pop rsp
		{ 2, 0x66, 0x54 },             // push sp
		{ 3, 0x8f, 0x04, 0x24 },       // pop [rsp]
		{ 4, 0x8f, 0x44, 0x24, 0x08 }, // pop [rsp+8]
		{ 3, 0xff, 0x34, 0x24 },       // push [rsp]
		{ 4, 0xff, 0x74, 0x24, 0x08 }, // push [rsp+8]
		{ 3, 0xff, 0x14, 0x24 },       // call [rsp]
		{ 4, 0xff, 0x64, 0x24, 0x08 }, // jmp [rsp+8]
	};
	for (size_t k = 0; k < ARRAY_SIZE(forms); k++)
		add_form(b, forms[k] + 1, forms[k][0], FEAT_NONE, false);
}

/* Relative branches: a forward and a backward displacement for each encoding. */
static void gen_rel(struct builder *b, const u8 *op, unsigned oplen, bool rel32, bool a32)
{
	static const s32 d8[] = { 0x20, -0x50 }, d32[] = { 0x120, -0x700 };
	for (int k = 0; k < 2; k++) {
		u8 bytes[8];
		unsigned n = 0;
		if (a32)
			bytes[n++] = 0x67;
		memcpy(bytes + n, op, oplen);
		n += oplen;
		s32 d = rel32 ? d32[k] : d8[k];
		memcpy(bytes + n, &d, rel32 ? 4 : 1);
		add_form(b, bytes, n + (rel32 ? 4 : 1), FEAT_NONE, false);
	}
}

static void gen_branches(struct builder *b)
{
	for (u8 cc = 0; cc < 16; cc++) {
		u8 j8 = (u8)(0x70 + cc), j32[2] = { 0x0f, (u8)(0x80 + cc) };
		gen_rel(b, &j8, 1, false, false);
		gen_rel(b, j32, 2, true, false);
	}
	static const u8 jmp8 = 0xeb, jmp32 = 0xe9, call = 0xe8, loops[] = { 0xe0, 0xe1, 0xe2, 0xe3 };
	gen_rel(b, &jmp8, 1, false, false);
	gen_rel(b, &jmp32, 1, true, false);
	gen_rel(b, &call, 1, true, false);
	for (size_t k = 0; k < ARRAY_SIZE(loops); k++) {
		gen_rel(b, &loops[k], 1, false, false);
		gen_rel(b, &loops[k], 1, false, true); // ECX-based with 67h
	}
	static const struct tmpl ind[] = {
		T1(0xff, 2, 0, SZ_NONE, K_R | K_M), T1(0xff, 4, 0, SZ_NONE, K_R | K_M),
		T1(0xc3, NM, 0, SZ_NONE, 0),        T1(0xc2, NM, 2, SZ_NONE, 0),
	};
	expand_all(b, ind, ARRAY_SIZE(ind));
	expand_all(b, ind, 2); // a second round of indirect forms with other registers and modes
}

/* String instructions in every size, with REP/REPE/REPNE, 67h, and a source segment override. */
static void gen_strings(struct builder *b)
{
	static const u8 ops[] = { 0xa4, 0xa6, 0xaa, 0xac, 0xae }; // MOVS CMPS STOS LODS SCAS
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (size_t o = 0; o < ARRAY_SIZE(ops); o++) {
		bool src = ops[o] != 0xaa && ops[o] != 0xae;
		for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
			unsigned sz = sizes[s];
			const u8 reps[] = { 0, 0xf3, 0xf2 }; // F2 on MOVS/LODS/STOS repeats like F3
			for (size_t r = 0; r < ARRAY_SIZE(reps); r++) {
				for (int a32 = 0; a32 < 2; a32++) {
					struct enc e = { .rep = reps[r], .o16 = sz == 2, .rexw = sz == 8, .a32 = a32,
							 .op = { (u8)(ops[o] + (sz != 1)) }, .oplen = 1, .reg = -1, .rm = -1,
							 .opreg = -1 };
					emit(b, &e, FEAT_NONE);
					if (src && reps[r] != 0xf2 && (a32 || reps[r])) {
						e.seg = a32 ? 0x65 : 0x64; // FS needs 64-bit addressing (its base is high)
						emit(b, &e, FEAT_NONE);
					}
				}
			}
		}
	}
}

/* Every addressing mode with MOV load, ADD store and LEA at three sizes, plus prefix corner cases. */
static void gen_addr(struct builder *b)
{
	static const struct tmpl t[] = {
		T1(0x8b, G, 0, SZ_Q, K_M), T1(0x01, G, 0, SZ_D, K_M), T1(0x8d, G, 0, SZ_V, K_M),
	};
	for (size_t m = 0; m < ARRAY_SIZE(amodes); m++)
		expand_all(b, t, ARRAY_SIZE(t));
	static const u8 odd[][6] = {
		{ 4, 0x66, 0x48, 0x01, 0xc8 }, // REX.W wins over 66h: add rax, rcx
		{ 3, 0x40, 0x01, 0xc8 },       // redundant REX
		{ 4, 0x66, 0x66, 0x01, 0xc8 }, // repeated 66h
		{ 3, 0x26, 0x8b, 0x03 },       // es: ignored in 64-bit mode
		{ 5, 0x36, 0x8b, 0x44, 0x24, 0x08 }, // ss:[rsp+8]
		{ 3, 0x2e, 0x74, 0x30 },       // branch hint on Jcc
		{ 3, 0x3e, 0x75, 0x30 },
		{ 4, 0x67, 0x8d, 0x04, 0x24 }, // lea eax, [esp] with 67h
	};
	for (size_t k = 0; k < ARRAY_SIZE(odd); k++)
		add_form(b, odd[k] + 1, odd[k][0], FEAT_NONE, false);
}

/* Encodings that are invalid in 64-bit mode, and LOCK where it is not allowed: #UD in both worlds. */
static void gen_invalid(struct builder *b)
{
	static const u8 bad[][5] = {
		{ 1, 0x06 }, { 1, 0x07 }, { 1, 0x0e }, { 1, 0x16 }, { 1, 0x17 }, { 1, 0x1e }, { 1, 0x1f },
		{ 1, 0x27 }, { 1, 0x2f }, { 1, 0x37 }, { 1, 0x3f }, { 1, 0x60 }, { 1, 0x61 }, { 1, 0xce },
		{ 2, 0xd4, 0x0a }, { 2, 0xd5, 0x0a }, { 1, 0xd6 }, { 3, 0x82, 0xc0, 0x01 },
		{ 3, 0xf0, 0x01, 0xc8 },       // lock add eax, ecx
		{ 3, 0xf0, 0x89, 0x03 },       // lock mov [rbx], eax
		{ 4, 0xf0, 0x0f, 0xa3, 0x03 }, // lock bt [rbx], eax
		{ 3, 0xf0, 0x39, 0x03 },       // lock cmp [rbx], eax
		{ 3, 0xf0, 0x85, 0x03 },       // lock test [rbx], eax
		{ 4, 0x48, 0x0f, 0xc7, 0xc8 }, // cmpxchg16b with a register operand
		{ 2, 0x8d, 0xc1 },             // lea with a register operand
	};
	for (size_t k = 0; k < ARRAY_SIZE(bad); k++)
		add_form(b, bad[k] + 1, bad[k][0], FEAT_NONE, true);
}

/* Encodes a register-register (or register-only) instruction; returns its length. */
static unsigned enc_rr(u8 *out, u8 op0, u8 op1, int reg, int rm, unsigned sz)
{
	struct enc e = { .op = { op0, op1 }, .oplen = op0 == 0x0f ? 2 : 1, .reg = reg, .rm = rm, .opreg = -1,
			 .o16 = sz == 2, .rexw = sz == 8 };
	return encode(&e, out);
}

/* Flag producers for the sequences: byte and v opcodes, ModRM digit or G, all flags defined. */
static const struct {
	u8 opb, opv;
	s8 modrm;
	bool defined;
} producers[] = {
	{ 0x00, 0x01, G, true },  { 0x28, 0x29, G, true },  { 0x38, 0x39, G, true }, // ADD SUB CMP
	{ 0x10, 0x11, G, true },  { 0x18, 0x19, G, true },                          // ADC SBB
	{ 0x20, 0x21, G, false }, { 0x08, 0x09, G, false }, { 0x30, 0x31, G, false }, // AND OR XOR (AF undefined)
	{ 0x84, 0x85, G, false },                                                   // TEST
	{ 0xfe, 0xff, 0, true },  { 0xfe, 0xff, 1, true },  { 0xf6, 0xf7, 3, true }, // INC DEC NEG
	{ 0xd0, 0xd1, 4, false }, { 0xd0, 0xd1, 5, false }, { 0xd0, 0xd1, 7, false }, // SHL SHR SAR by 1
};

/* A byte register that needs no REX decision: AL..BL or R8B..R15B. */
static int byte_reg(struct builder *b)
{
	int r = pick_reg(b, 0, 11, 0);
	return r < 4 ? r : r + 4;
}

static void add_seq(struct builder *b, const u8 *p, unsigned plen, const u8 *c, unsigned clen, u8 feat)
{
	u8 bytes[16];
	memcpy(bytes, p, plen);
	memcpy(bytes + plen, c, clen);
	add_form(b, bytes, plen + clen, feat, false);
	b->v[b->n - 1].ninsn = 2;
}

/* The consumers of one condition code: SETcc, Jcc (forward or backward), CMOVcc. */
static void seq_cond(struct builder *b, const u8 *p, unsigned plen, unsigned cc)
{
	u8 c[8];
	add_seq(b, p, plen, c, enc_rr(c, 0x0f, (u8)(0x90 + cc), 0, byte_reg(b), 1), FEAT_NONE);
	c[0] = (u8)(0x70 + cc), c[1] = cc & 1 ? 0x20 : 0xb0;
	add_seq(b, p, plen, c, 2, FEAT_NONE);
	add_seq(b, p, plen, c,
		enc_rr(c, 0x0f, (u8)(0x40 + cc), pick_reg(b, 0, 15, 0), pick_reg(b, 0, 15, 0), cc & 1 ? 8 : 4),
		FEAT_NONE);
}

/* Consumers of all arithmetic flags: ADC/SBB chains, RCL, PUSHFQ, LAHF, SBB r, r. */
static void seq_full(struct builder *b, const u8 *p, unsigned plen)
{
	u8 c[8];
	unsigned sz = 4u << (brand(b) & 1);
	add_seq(b, p, plen, c, enc_rr(c, 0x11, 0, pick_reg(b, 0, 15, 0), pick_reg(b, 0, 15, 0), sz), FEAT_NONE);
	add_seq(b, p, plen, c, enc_rr(c, 0x19, 0, pick_reg(b, 0, 15, 0), pick_reg(b, 0, 15, 0), sz), FEAT_NONE);
	add_seq(b, p, plen, c, enc_rr(c, 0xd1, 0, 2, pick_reg(b, 0, 15, 0), sz), FEAT_NONE);
	int r = pick_reg(b, 0, 15, 0);
	add_seq(b, p, plen, c, enc_rr(c, 0x19, 0, r, r, sz), FEAT_NONE);
	c[0] = 0x9c;
	add_seq(b, p, plen, c, 1, FEAT_NONE);
	c[0] = 0x9f;
	add_seq(b, p, plen, c, 1, FEAT_LAHF);
}

/*
 * Flag producer followed by a consumer. Facet's flags are lazy: a single
 * instruction starting from eager flags never meets the fast condition
 * paths or a lazily carried CF, a producer/consumer pair does.
 */
static void gen_seq(struct builder *b)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (size_t k = 0; k < ARRAY_SIZE(producers); k++)
		for (unsigned cc = 0; cc <= 16; cc++) {
			unsigned sz = sizes[(k + cc) % 4];
			bool gx = producers[k].modrm == G;
			int reg = gx ? (sz == 1 ? byte_reg(b) : pick_reg(b, 0, 15, 0)) : producers[k].modrm;
			int rm = sz == 1 ? byte_reg(b) : pick_reg(b, 0, 15, 0);
			u8 p[8];
			unsigned plen = enc_rr(p, sz == 1 ? producers[k].opb : producers[k].opv, 0, reg, rm, sz);
			if (cc < 16)
				seq_cond(b, p, plen, cc);
			else if (producers[k].defined)
				seq_full(b, p, plen);
		}
}

/*
 * Non-canonical addresses in every case: through DS (#GP) and through SS,
 * that is an RSP or RBP base or the stack itself (#SS, SDM Vol. 3A 6.15
 * "Interrupt 12": "a memory address referencing the SS segment is in a
 * non-canonical form").
 */
static void gen_fault(struct builder *b)
{
	static const u8 forms[][6] = {
		{ 2, 0x8b, 0x03 },             // mov eax, [rbx]: #GP
		{ 3, 0x48, 0x89, 0x06 },       // mov [rsi], rax: #GP
		{ 1, 0xa4 },                   // movsb: #GP
		{ 4, 0x8b, 0x44, 0x24, 0x08 }, // mov eax, [rsp+8]: #SS
		{ 4, 0x48, 0x89, 0x45, 0xf8 }, // mov [rbp-8], rax: #SS
		{ 4, 0x01, 0x44, 0x8c, 0x10 }, // add [rsp+rcx*4+0x10], eax: #SS
		{ 4, 0xff, 0x64, 0x24, 0x08 }, // jmp [rsp+8]: #SS
		{ 1, 0x50 },                   // push rax: #SS
		{ 1, 0x58 },                   // pop rax: #SS
		{ 1, 0xc3 },                   // ret: #SS
		{ 1, 0xc9 },                   // leave: #SS
		{ 5, 0xe8, 0x20, 0x01, 0x00, 0x00 }, // call: #SS
	};
	for (size_t k = 0; k < ARRAY_SIZE(forms); k++) {
		add_form(b, forms[k] + 1, forms[k][0], FEAT_NONE, false);
		b->v[b->n - 1].noncanon = true;
	}
}

struct dform *forms_build(size_t *n)
{
	struct builder b = { .rng = 0x9e3779b97f4a7c15ULL };
	b.fam = FAM_ALU;
	gen_alu_group(&b);
	expand_all(&b, alu_rest, ARRAY_SIZE(alu_rest));
	b.fam = FAM_SHIFT;
	gen_shift(&b);
	b.fam = FAM_BIT;
	expand_all(&b, bit_ops, ARRAY_SIZE(bit_ops));
	gen_bmi(&b);
	b.fam = FAM_MOV;
	expand_all(&b, mov_ops, ARRAY_SIZE(mov_ops));
	gen_cond(&b);
	gen_moffs(&b);
	gen_xlat(&b);
	b.fam = FAM_STACK;
	expand_all(&b, stack_ops, ARRAY_SIZE(stack_ops));
	gen_stack_special(&b);
	b.fam = FAM_STR;
	gen_strings(&b);
	b.fam = FAM_CTL;
	gen_branches(&b);
	b.fam = FAM_ADDR;
	gen_addr(&b);
	b.fam = FAM_INVALID;
	gen_invalid(&b);
	b.fam = FAM_SEQ;
	gen_seq(&b);
	b.fam = FAM_FAULT;
	gen_fault(&b);
	*n = b.n;
	return b.v;
}
