/* SPDX-License-Identifier: MIT */
/*
 * Running the cases of a family in both worlds and judging them.
 *
 * Facet runs each case with cpu_step on the fixture machine, from the same
 * registers, RFLAGS (IF set, as in user space), FS base (the host's), GS
 * base and memory windows as the native run. A REP string instruction may
 * pause between iterations (EXEC_RETRY), so steps repeat until RIP leaves
 * the instruction. The verdict of a case is one of: agree; "unimplemented"
 * (Facet raises #UD where the host executes the instruction: the handler
 * is missing); mismatch. Flags the SDM leaves undefined are masked: Zydis's
 * undefined set, narrowed where the SDM ties it to the count (shifts and
 * rotates: no flag changes for a zero count, OF only undefined beyond 1,
 * CF undefined for SHL/SHR counts of at least the width), and widened to
 * the destination where the SDM says the result itself is undefined (BSF
 * and BSR of zero, SHLD/SHRD with a count above the operand size).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/fixture.h"
#include "../unit/test.h"
#include "cpu/cpu.h"
#include "cpu/dcache.h"
#include "cpu/dis.h"
#include "cpu/flags.h"
#include "diff.h"

#define FLAGS_ALL_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)
#define STEP_LIMIT 100000
#define DETAILS_DEFAULT 12
#define WATCHDOG_SECONDS 300 // a whole family takes a few seconds even under ASan

static char current_form[192]; // for the watchdog's message

struct mstat {
	u32 forms, bad_forms, unimpl_forms;
	u64 cases, bad_cases;
};

/* Everything one family run needs. */
struct run {
	struct machine *mc;
	struct cpu *c;
	struct dmem in;
	struct mstat *ms;   // per mnemonic (owned)
	u64 base_seed;
	unsigned cases;
	unsigned details;   // mismatch reports left to print
	const char *only;   // FACET_DIFF_ONLY
	bool verbose;
	bool trace;         // FACET_DIFF_TRACE: print the first two cases of every form
	bool list;          // FACET_DIFF_LIST: print every form
	unsigned skipped[FEAT_COUNT];
	enum inject inject; // self-check only: a difference planted in Facet's outcome
	u64 inject_flags;   // INJECT_FLAGS: the RFLAGS bits to flip
};

/* What a case came to, and the masks it was judged under. */
struct judged {
	struct dstate host, facet;
	u64 undef;          // masked RFLAGS bits
	u32 regmask;        // registers whose value is undefined
	u64 mem_lo, mem_hi; // undefined memory bytes [lo, hi)
};

static u64 env_u64(const char *name, u64 dflt)
{
	const char *s = getenv(name);
	return s && *s ? strtoull(s, NULL, 0) : dflt;
}

static u8 *ram(struct run *r, u64 addr)
{
	return fixture_ptr(r->mc, addr);
}

static void load_windows(struct run *r)
{
	memcpy((void *)(uintptr_t)SB_DATA, r->in.data, SB_DATA_SIZE);
	memcpy((void *)(uintptr_t)SB_STACK, r->in.stack, SB_STACK_SIZE);
	memcpy(ram(r, SB_DATA), r->in.data, SB_DATA_SIZE);
	memcpy(ram(r, SB_STACK), r->in.stack, SB_STACK_SIZE);
}

/* Puts the form into guest RAM: the bytes at SB_INSN and a HLT wherever the native side has a landing pad. */
static void facet_load(struct run *r, const struct dform *f, const struct dform_info *fi)
{
	memset(ram(r, SB_CLEAR_LO), 0xcc, SB_CLEAR_LEN);
	memcpy(ram(r, SB_INSN), f->bytes, f->len);
	*ram(r, SB_INSN + f->len) = 0xf4;
	*ram(r, SB_PAD_INDIRECT) = 0xf4;
	for (unsigned k = 0; k < fi->ntargets; k++)
		if (fi->targets[k] >= SB_CLEAR_LO && fi->targets[k] < SB_CLEAR_LO + SB_CLEAR_LEN &&
		    (fi->targets[k] < SB_INSN || fi->targets[k] >= SB_INSN + f->len))
			*ram(r, fi->targets[k]) = 0xf4;
}

/*
 * Runs the case in Facet: single steps (cpu_step) for even cases, the
 * decoded-block path (cpu_run, with the HLTs of facet_load ending the
 * block) for odd ones. The code may have changed since the last case
 * (immediates), so the decode cache forgets the code pages first.
 */
static void facet_run(struct run *r, const struct dform *f, bool block, const struct dstate *in, struct dstate *out)
{
	struct cpu *c = r->c;
	memcpy(c->r, in->r, sizeof(in->r));
	c->r[REG_RIP] = SB_INSN;
	flags_set(c, in->rflags);
	c->seg_base[SEG_FS] = native_fsbase();
	c->seg_base[SEG_GS] = SB_GSBASE;
	c->exc = (struct exception){ 0 };
	c->halted = c->stop_request = false;
	memset(out, 0, sizeof(*out));
	unsigned steps = 0;
	enum cpu_stop s;
	if (block) {
		dcache_invalidate_page(r->mc->dc, SB_CLEAR_LO & PAGE_MASK);
		dcache_invalidate_page(r->mc->dc, (SB_CLEAR_LO + SB_CLEAR_LEN - 1) & PAGE_MASK);
		s = cpu_run(c, f->ninsn);
		while (s == CPU_STOP_BUDGET && c->r[REG_RIP] - SB_INSN < f->len && ++steps < STEP_LIMIT)
			s = cpu_run(c, 1); // a REP instruction retired a chunk of its iterations
		if (s == CPU_STOP_HLT) // the HLT at a landing pad: RIP is past it
			c->r[REG_RIP]--;
	} else {
		do
			s = cpu_step(c);
		while (s == CPU_STOP_BUDGET && c->r[REG_RIP] - SB_INSN < f->len && ++steps < STEP_LIMIT);
	}
	memcpy(out->r, c->r, sizeof(out->r));
	out->rip = c->r[REG_RIP];
	out->rflags = flags_get(c);
	out->fault = s == CPU_STOP_EXCEPTION;
	out->vec = c->exc.vector;
	out->cr2 = c->cr2;
	out->hang = steps >= STEP_LIMIT || s == CPU_STOP_REQUEST || (!out->fault && out->rip - SB_INSN < f->len);
}

/* Value of operand n in the input: register, memory (input window), or immediate (per-case bytes). */
static u64 input_operand(const struct dform_info *fi, const struct dmemop *mem, const struct dstate *in,
			 struct dmem *m, const u8 *code, int n)
{
	const ZydisDecodedOperand *o = &fi->zo[n];
	u64 v = 0;
	if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, o->reg.value);
		unsigned shift = o->reg.value >= ZYDIS_REGISTER_AH && o->reg.value <= ZYDIS_REGISTER_BH ? 8 : 0;
		v = in->r[big - ZYDIS_REGISTER_RAX] >> shift;
	} else if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) {
		const u8 *p = fi->nmem ? dmem_at(m, mem[0].ea, o->size / 8) : NULL;
		if (p)
			memcpy(&v, p, o->size / 8 > 8 ? 8 : o->size / 8);
	} else if (o->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT) {
		memcpy(&v, code + fi->zi.raw.imm[0].offset, fi->zi.raw.imm[0].size / 8);
	} else {
		v = o->imm.value.u;
	}
	return o->size >= 64 ? v : v & ((1ULL << o->size) - 1);
}

/* Marks operand 0 (the destination) as undefined. */
static void undef_dest(const struct dform_info *fi, const struct dmemop *mem, struct judged *j)
{
	const ZydisDecodedOperand *o = &fi->zo[0];
	if (o->type == ZYDIS_OPERAND_TYPE_REGISTER)
		j->regmask |= 1u << (ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, o->reg.value) -
				     ZYDIS_REGISTER_RAX);
	else if (fi->nmem)
		j->mem_lo = mem[0].ea, j->mem_hi = mem[0].ea + o->size / 8;
}

/* The SDM's undefined flags (and results) for this instruction and these operands. */
static void undefined(const struct dform_info *fi, const struct dmemop *mem, const struct dstate *in, struct dmem *m,
		      const u8 *code, struct judged *j)
{
	ZydisMnemonic mn = fi->zi.mnemonic;
	unsigned w = fi->zi.operand_width, cmask = w == 64 ? 63 : 31, cnt;
	j->undef = fi->zi.cpu_flags ? fi->zi.cpu_flags->undefined : 0;
	j->regmask = 0;
	j->mem_lo = j->mem_hi = 0;
	switch (mn) {
	case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR:
		cnt = (unsigned)input_operand(fi, mem, in, m, code, 1) & cmask;
		j->undef = cnt == 0 ? 0 : RFLAGS_AF | (cnt != 1 ? RFLAGS_OF : 0);
		if (mn != ZYDIS_MNEMONIC_SAR && cnt >= w)
			j->undef |= RFLAGS_CF; // SDM SAL/SAR/SHL/SHR: CF undefined when the count >= the width
		break;
	case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL: case ZYDIS_MNEMONIC_RCR:
		cnt = (unsigned)input_operand(fi, mem, in, m, code, 1) & cmask;
		j->undef = cnt > 1 ? RFLAGS_OF : 0;
		break;
	case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
		cnt = (unsigned)input_operand(fi, mem, in, m, code, 2) & cmask;
		j->undef = cnt == 0 ? 0 : RFLAGS_AF | (cnt != 1 ? RFLAGS_OF : 0);
		if (cnt > w) { // SDM SHLD: "If the count is greater than the operand size, the result is undefined"
			j->undef = FLAGS_ALL_ARITH;
			undef_dest(fi, mem, j);
		}
		break;
	case ZYDIS_MNEMONIC_BSF: case ZYDIS_MNEMONIC_BSR:
		if (input_operand(fi, mem, in, m, code, 1) == 0)
			undef_dest(fi, mem, j); // SDM BSF: "the content of the destination operand is undefined"
		break;
	case ZYDIS_MNEMONIC_BEXTR:
		j->undef = RFLAGS_AF | RFLAGS_SF | RFLAGS_PF; // SDM BEXTR: CF and OF are cleared, not undefined
		break;
	default: break;
	}
}

static const char *reg_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
				     "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };

static const char *vec_name(u8 v)
{
	static const char *const names[21] = { "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "?",
					       "#TS", "#NP", "#SS", "#GP", "#PF", "?", "#MF", "#AC", "#MC", "#XM",
					       "#VE" };
	return v < 21 ? names[v] : "?";
}

/* Compares the two outcomes under the masks; returns a short description of what differs, or "" when they agree. */
static const char *differences(struct run *r, const struct judged *j, char *buf, size_t len)
{
	const struct dstate *h = &j->host, *f = &j->facet;
	size_t n = 0;
	buf[0] = 0;
	if (f->hang)
		n += (size_t)snprintf(buf + n, len - n, "facet never finished ");
	if (h->fault != f->fault || (h->fault && h->vec != f->vec))
		n += (size_t)snprintf(buf + n, len - n, "fault ");
	for (int k = 0; k < 16 && n < len; k++)
		if (!(j->regmask & (1u << k)) && h->r[k] != f->r[k])
			n += (size_t)snprintf(buf + n, len - n, "%s ", reg_names[k]);
	if (n < len && h->rip != f->rip)
		n += (size_t)snprintf(buf + n, len - n, "rip ");
	u64 fmask = h->fault ? ~RFLAGS_RF : ~j->undef; // the kernel's saved RFLAGS of a fault has RF set
	if (n < len && ((h->rflags ^ f->rflags) & fmask))
		n += (size_t)snprintf(buf + n, len - n, "rflags(%#llx) ", (unsigned long long)((h->rflags ^ f->rflags) & fmask));
	if (n < len && h->fault && h->vec == VEC_PF && h->cr2 != f->cr2)
		n += (size_t)snprintf(buf + n, len - n, "cr2 ");
	if (j->mem_hi > j->mem_lo && dmem_at(&r->in, j->mem_lo, (unsigned)(j->mem_hi - j->mem_lo)))
		memcpy(ram(r, j->mem_lo), (void *)(uintptr_t)j->mem_lo, j->mem_hi - j->mem_lo); // undefined: take the host's
	if (n < len && memcmp((void *)(uintptr_t)SB_DATA, ram(r, SB_DATA), SB_DATA_SIZE))
		n += (size_t)snprintf(buf + n, len - n, "data-memory ");
	if (n < len && memcmp((void *)(uintptr_t)SB_STACK, ram(r, SB_STACK), SB_STACK_SIZE))
		n += (size_t)snprintf(buf + n, len - n, "stack-memory ");
	return buf;
}

static void print_state(const char *who, const struct dstate *s)
{
	printf("  %-6s", who);
	for (int k = 0; k < 16; k++)
		printf("%s%s=%016llx", k % 4 == 0 && k ? "\n        " : " ", reg_names[k], (unsigned long long)s->r[k]);
	printf("\n         rip=%016llx rflags=%#llx", (unsigned long long)s->rip, (unsigned long long)s->rflags);
	if (s->fault)
		printf(" fault=%s", vec_name(s->vec));
	if (s->fault && s->vec == VEC_PF)
		printf(" cr2=%#llx", (unsigned long long)s->cr2);
	if (s->hang)
		printf(" (did not finish)");
	printf("\n");
}

/* Prints the first differing bytes of a window (host vs Facet) and the memory operand's input. */
static void print_memory(struct run *r, const struct dmemop *mem, unsigned nmem)
{
	static const struct { u64 base, size; const char *name; } win[] = {
		{ SB_DATA, SB_DATA_SIZE, "data" }, { SB_STACK, SB_STACK_SIZE, "stack" } };
	for (unsigned k = 0; k < nmem; k++) {
		const u8 *p = dmem_at(&r->in, mem[k].ea, mem[k].size);
		printf("  mem operand %u at %#llx:", k, (unsigned long long)mem[k].ea);
		for (unsigned b = 0; p && b < mem[k].size && b < 16; b++)
			printf(" %02x", p[b]);
		printf("%s\n", p ? " (input)" : " (outside the windows)");
	}
	for (size_t w = 0; w < ARRAY_SIZE(win); w++) {
		const u8 *h = (const u8 *)(uintptr_t)win[w].base, *f = ram(r, win[w].base);
		for (u64 o = 0; o < win[w].size; o++)
			if (h[o] != f[o]) {
				u64 e = o + 16 < win[w].size ? o + 16 : win[w].size;
				printf("  %s memory differs at %#llx: host", win[w].name, (unsigned long long)(win[w].base + o));
				for (u64 b = o; b < e; b++)
					printf(" %02x", h[b]);
				printf(" / facet");
				for (u64 b = o; b < e; b++)
					printf(" %02x", f[b]);
				printf("\n");
				break;
			}
	}
}

/* Formats every instruction in code[0..len) (a sequence has two), separated by "; ". */
static void format_code(const u8 *code, unsigned len, char *out, size_t outlen)
{
	size_t n = 0;
	out[0] = 0;
	for (unsigned off = 0; off < len && n + 1 < outlen;) {
		unsigned l = dis_format(code + off, len - off, SB_INSN + off, out + n, outlen - n);
		n += strlen(out + n);
		if (!l)
			break;
		off += l;
		if (off < len && n + 3 < outlen)
			n += (size_t)snprintf(out + n, outlen - n, "; ");
	}
}

static void report(struct run *r, const u8 *code, unsigned len, u64 seed, unsigned k, const struct dstate *in,
		   const struct judged *j, const struct dmemop *mem, unsigned nmem, const char *what)
{
	char text[192];
	format_code(code, len, text, sizeof(text));
	printf("diff %s: %s  [", what[0] ? "mismatch" : "case (agrees)", text);
	for (unsigned b = 0; b < len; b++)
		printf("%s%02x", b ? " " : "", code[b]);
	printf("]\n  base seed %#llx, form seed %#llx, case %u (%s); differs: %s; undefined flags masked %#llx\n",
	       (unsigned long long)r->base_seed, (unsigned long long)seed, k, k & 1 ? "cpu_run" : "cpu_step",
	       what[0] ? what : "nothing", (unsigned long long)j->undef);
	print_state("input", in);
	print_state("host", &j->host);
	print_state("facet", &j->facet);
	print_memory(r, mem, nmem);
}

static u64 form_hash(const struct dform *f)
{
	u64 h = f->len;
	for (unsigned b = 0; b < f->len; b++)
		h = mix64(h, f->bytes[b]);
	return h;
}

/* After a form: nothing outside the windows may differ (a stray write by either side). */
static bool outside_agrees(struct run *r, const u8 *code, unsigned len)
{
	static const struct { u64 base, size; } maps[] = { { SB_DATA_MAP, SB_DATA_MAP_SIZE },
							   { SB_STACK_MAP, SB_STACK_MAP_SIZE } };
	bool ok = true;
	for (size_t k = 0; k < ARRAY_SIZE(maps); k++) {
		const u8 *h = (const u8 *)(uintptr_t)maps[k].base;
		u8 *f = ram(r, maps[k].base);
		if (!memcmp(h, f, maps[k].size))
			continue;
		char text[192];
		format_code(code, len, text, sizeof(text));
		printf("diff mismatch: %s wrote memory outside the windows (%#llx..%#llx)\n", text,
		       (unsigned long long)maps[k].base, (unsigned long long)(maps[k].base + maps[k].size));
		memcpy(f, h, maps[k].size);
		ok = false;
	}
	return ok;
}

/* Plants a difference in Facet's outcome, to prove that the comparison catches it (STYLE T4). */
static void inject(struct run *r, struct judged *j)
{
	switch (r->inject) {
	case INJECT_REG: j->facet.r[RAX] ^= 1; break;
	case INJECT_MEM: ram(r, SB_DATA + 0x800)[0] ^= 1; break;
	case INJECT_FLAGS: j->facet.rflags ^= r->inject_flags; break;
	case INJECT_UNDEF_FLAGS: j->facet.rflags ^= j->undef; break;
	case INJECT_UD: j->facet.fault = true, j->facet.vec = VEC_UD; break;
	default: break;
	}
}

/* The verdict of one case: 0 agree, 1 mismatch, 2 not implemented in Facet. */
static int run_case(struct run *r, const struct dform *f, const struct dform_info *fi, bool decoded, u64 seed,
		    unsigned k, bool first_bad)
{
	u8 code[16];
	struct dmemop mem[2];
	struct dstate in;
	struct judged j;
	char what[256];
	memcpy(code, f->bytes, f->len);
	state_gen(fi, mem, seed, k, &in, &r->in, code);
	native_patch(code, f->len);
	memcpy(ram(r, SB_INSN), code, f->len);
	load_windows(r);
	native_run(&in, &j.host);
	facet_run(r, f, k & 1, &in, &j.facet);
	j.undef = j.mem_lo = j.mem_hi = 0;
	j.regmask = 0;
	if (decoded)
		undefined(fi, mem, &in, &r->in, code, &j);
	if (r->inject)
		inject(r, &j);
	differences(r, &j, what, sizeof(what));
	if (r->trace && k < 2)
		report(r, code, f->len, seed, k, &in, &j, mem, fi->nmem, what);
	if (!what[0])
		return 0;
	if (j.facet.fault && j.facet.vec == VEC_UD && !(j.host.fault && j.host.vec == VEC_UD))
		return 2;
	if (r->details && (first_bad || r->verbose)) {
		r->details -= r->verbose ? 0 : 1;
		report(r, code, f->len, seed, k, &in, &j, mem, fi->nmem, what);
	}
	return 1;
}

/* Runs every case of one form and records the result under its mnemonic. */
static void run_form(struct run *r, const struct dform *f, struct dtotals *t)
{
	struct dform_info fi;
	char text[192];
	bool decoded = info_init(&fi, f, native_fsbase());
	format_code(f->bytes, f->len, text, sizeof(text));
	if (r->only && !strstr(text, r->only))
		return;
	snprintf(current_form, sizeof(current_form), "%s", text);
	if (!native_has(f->feat)) {
		r->skipped[f->feat]++, t->skipped_forms++;
		return;
	}
	if (!decoded && !f->invalid) {
		printf("diff: generator bug: form [");
		for (unsigned b = 0; b < f->len; b++)
			printf("%s%02x", b ? " " : "", f->bytes[b]);
		printf("] does not decode\n");
		t->bad_forms++;
		return;
	}
	struct mstat *ms = &r->ms[decoded ? fi.zi.mnemonic : ZYDIS_MNEMONIC_INVALID];
	if (r->list)
		printf("form %s\n", text);
	unsigned ncases = f->invalid ? 16 : r->cases, bad = 0, unimpl = 0;
	u64 seed = mix64(r->base_seed, form_hash(f));
	native_load(f->bytes, f->len, fi.targets, fi.ntargets);
	facet_load(r, f, &fi);
	for (unsigned k = 0; k < ncases; k++) {
		int v = run_case(r, f, &fi, decoded, seed, k, bad == 0);
		bad += v == 1, unimpl += v == 2;
	}
	if (!outside_agrees(r, f->bytes, f->len))
		bad++;
	ms->forms++, ms->cases += ncases;
	ms->bad_forms += bad != 0, ms->bad_cases += bad;
	ms->unimpl_forms += unimpl != 0 && bad == 0;
	t->forms++, t->cases += ncases, t->mismatches += bad;
	t->bad_forms += bad != 0;
	t->unimpl_forms += unimpl != 0 && bad == 0;
}

static const char *mnemonic_name(unsigned m)
{
	return m == ZYDIS_MNEMONIC_INVALID ? "(invalid)" : ZydisMnemonicGetString((ZydisMnemonic)m);
}

static void print_summary(struct run *r, enum dfam fam, const struct dtotals *t)
{
	static const char *const names[FAM_COUNT] = { "alu", "shift", "bit", "mov", "stack", "str", "ctl", "addr",
						      "invalid", "seq", "fault" };
	printf("diff.%s: %lu forms, %lu cases, %lu mismatching cases in %lu forms, %lu forms not implemented\n",
	       names[fam], t->forms, t->cases, t->mismatches, t->bad_forms, t->unimpl_forms);
	for (unsigned m = 0; m <= ZYDIS_MNEMONIC_MAX_VALUE; m++) {
		const struct mstat *s = &r->ms[m];
		if (!s->forms || (!r->verbose && !s->bad_forms && !s->unimpl_forms))
			continue;
		printf("  %-12s %4u forms %7llu cases", mnemonic_name(m), s->forms, (unsigned long long)s->cases);
		if (s->bad_forms)
			printf("  MISMATCH in %u forms (%llu cases)", s->bad_forms, (unsigned long long)s->bad_cases);
		if (s->unimpl_forms)
			printf("  NOT IMPLEMENTED: %u of %u forms raise #UD in Facet", s->unimpl_forms, s->forms);
		printf("\n");
	}
	for (unsigned fe = 1; fe < FEAT_COUNT; fe++)
		if (r->skipped[fe])
			printf("  note: %u forms skipped, the host has no %s\n", r->skipped[fe], native_feat_name(fe));
}

/* A hang (Facet never finishing an instruction) would stall the whole runner: say where, and stop. */
static void on_watchdog(int sig)
{
	static const char msg[] = "diff: watchdog: no progress, stuck in form ";
	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) > 0 && write(1, current_form, strlen(current_form)) > 0)
		(void)!write(1, "\n", 1);
	_exit(3);
}

/* Zeroes the native maps and the same ranges of guest RAM, so that both worlds start equal. */
static void clear_worlds(struct run *r)
{
	memset((void *)(uintptr_t)SB_DATA_MAP, 0, SB_DATA_MAP_SIZE);
	memset((void *)(uintptr_t)SB_STACK_MAP, 0, SB_STACK_MAP_SIZE);
	memset(ram(r, SB_DATA_MAP), 0, SB_DATA_MAP_SIZE);
	memset(ram(r, SB_STACK_MAP), 0, SB_STACK_MAP_SIZE);
}

/* Reads the environment (see diff.h) and makes both worlds' memory equal. */
static void run_setup(struct run *r)
{
	r->c = fixture_cpu(r->mc);
	r->base_seed = env_u64("FACET_DIFF_SEED", 0x5eed);
	r->cases = (unsigned)env_u64("FACET_DIFF_CASES", 400);
	r->verbose = env_u64("FACET_DIFF_VERBOSE", 0) != 0;
	r->trace = env_u64("FACET_DIFF_TRACE", 0) != 0;
	r->list = env_u64("FACET_DIFF_LIST", 0) != 0;
	r->only = getenv("FACET_DIFF_ONLY");
	r->details = DETAILS_DEFAULT;
	state_pool_init(r->base_seed);
	clear_worlds(r);
}

unsigned check_family(enum dfam fam, struct dtotals *t)
{
	char err[160];
	struct run r = { 0 };
	struct dtotals ft = { 0 };
	size_t n;
	if (native_init(err, sizeof(err))) {
		printf("diff: %s\n", err);
		return 1;
	}
	r.mc = fixture_new();
	r.ms = calloc(ZYDIS_MNEMONIC_MAX_VALUE + 1, sizeof(*r.ms));
	if (!r.mc || !r.ms) {
		printf("diff: out of memory\n");
		free(r.ms);
		if (r.mc)
			fixture_free(r.mc);
		native_fini();
		return 1;
	}
	struct dform *forms = forms_build(&n);
	run_setup(&r);
	signal(SIGALRM, on_watchdog);
	alarm(WATCHDOG_SECONDS);
	for (size_t k = 0; k < n; k++)
		if (forms[k].fam == fam)
			run_form(&r, &forms[k], &ft);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	print_summary(&r, fam, &ft);
	free(forms);
	free(r.ms);
	fixture_free(r.mc);
	native_fini();
	t->forms += ft.forms, t->cases += ft.cases, t->mismatches += ft.mismatches;
	t->bad_forms += ft.bad_forms, t->unimpl_forms += ft.unimpl_forms, t->skipped_forms += ft.skipped_forms;
	return (unsigned)(ft.bad_forms + ft.unimpl_forms);
}

unsigned check_selftest(const u8 *bytes, unsigned len, enum inject kind, u64 flags, unsigned *ncases)
{
	char err[160] = "out of memory";
	struct run r = { .base_seed = 0x5e1f, .cases = 240, .inject = kind, .inject_flags = flags };
	struct dform f = { .len = (u8)len, .ninsn = 1 };
	struct dform_info fi;
	unsigned bad = 0;
	memcpy(f.bytes, bytes, len);
	*ncases = r.cases;
	if (native_init(err, sizeof(err))) {
		printf("diff self-check: cannot run (%s)\n", err);
		return ~0u;
	}
	if (!(r.mc = fixture_new()) || !info_init(&fi, &f, native_fsbase())) {
		printf("diff self-check: cannot run (no machine, or the form does not decode)\n");
		if (r.mc)
			fixture_free(r.mc);
		native_fini();
		return ~0u;
	}
	r.c = fixture_cpu(r.mc);
	state_pool_init(r.base_seed);
	clear_worlds(&r);
	native_load(f.bytes, f.len, fi.targets, fi.ntargets);
	facet_load(&r, &f, &fi);
	for (unsigned k = 0; k < r.cases; k++)
		bad += run_case(&r, &f, &fi, true, 0x5e1f, k, false) != 0;
	fixture_free(r.mc);
	native_fini();
	return bad;
}
