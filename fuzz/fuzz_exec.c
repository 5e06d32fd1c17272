/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for execution (DESIGN section 7: the host never
 * crashes, hangs or corrupts its memory whatever the guest does): random
 * instruction bytes with a random register state, run in the test machine
 * of tests/unit/fixture.c for a bounded number of instructions, once by
 * single steps (cpu_step) and once through decoded blocks (cpu_run).
 * Unimplemented instructions raise #UD, faults stop the run: both are fine.
 *
 * Input: a header (struct fuzz_hdr) that chooses the registers, RFLAGS
 * and where the code goes, then up to MAX_CODE code bytes. Code can also
 * be placed to end just before a page that is mapped, not present or
 * not executable, so instructions straddle a page boundary.
 *
 * With FACET_FUZZ_COMPARE=1 in the environment the two runs are also
 * compared: same stop reason, instruction count, registers, RFLAGS and
 * exception, or the target aborts after printing both states. This is
 * off by default because RDTSC legitimately differs between the paths
 * (the block path retires a block's instructions at its end).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/fixture.h"
#include "cpu/flags.h"
#include "mem/mem.h"

#define BUDGET 256          // instructions per run
#define MAX_CODE 1024       // code bytes taken from the input
#define MAX_STEPS (4 * BUDGET)  // cpu_step calls per run
#define MAX_STEPS_COMPARE (1ULL << 24)
#define CROSS_PAGE 0x100000 // the page code runs into when placed across a boundary
#define PTE_P (1ULL << 0)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

struct fuzz_hdr {
	u8 sel[18];  // RAX..R15, FS.base, GS.base: how each value is formed (reg_value)
	u8 flags;    // bits 0-6: CF PF AF ZF SF DF OF
	u8 place;    // bits 0-1: enum place; bits 2-5: bytes before the page boundary - 1
	u8 extra[8]; // a free 64-bit value for selector class 3
};

enum place {
	PLACE_CODE = 0, // at FIX_CODE
	PLACE_CROSS,    // ending at CROSS_PAGE, which is mapped
	PLACE_ABSENT,   // ending at CROSS_PAGE, which is not present
	PLACE_NX,       // ending at CROSS_PAGE, which is not executable
};

static const u64 interesting[16] = {
	0, 1, FIX_CODE, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, 0x00007ffffffffff8ULL, 0x0000800000000000ULL,
};

/* Forms a register value: a data pointer, a small number, an edge value, or the free value rotated. */
static u64 reg_value(u8 sel, u64 extra)
{
	unsigned k = sel & 63;
	switch (sel >> 6) {
	case 0: return FIX_DATA + k * 0x3f1; // spread over 60 KiB, some near page ends
	case 1: return (u64)(s64)((int)k - 32);
	case 2: return interesting[k & 15];
	default: return k ? extra << k | extra >> (64 - k) : extra;
	}
}

/* Returns the host pointer to the 4 KiB page-table entry mapping va, or NULL (large page, absent). */
static u64 *pte_of(struct machine *mc, u64 va)
{
	u64 table = fixture_cpu(mc)->cr3 & PTE_ADDR;
	for (int level = 3; level >= 0; level--) {
		u64 *e = fixture_ptr(mc, table + ((va >> (12 + 9 * level)) & 511) * 8);
		if (level == 0)
			return e;
		if (!(*e & PTE_P) || (*e & 0x80) || (*e & PTE_ADDR) >= mc->mem.size)
			return NULL;
		table = *e & PTE_ADDR;
	}
	return NULL;
}

/* Builds a machine in the state the input describes; NULL when out of memory. */
static struct machine *setup(const struct fuzz_hdr *h, const u8 *code, size_t len)
{
	struct machine *mc = fixture_new();
	if (!mc)
		return NULL;
	struct cpu *c = fixture_cpu(mc);
	u64 extra;
	memcpy(&extra, h->extra, 8);
	for (unsigned n = 0; n < 16; n++)
		c->r[n] = reg_value(h->sel[n], extra);
	c->seg_base[SEG_FS] = reg_value(h->sel[16], extra);
	c->seg_base[SEG_GS] = reg_value(h->sel[17], extra);
	static const u64 bits[7] = { RFLAGS_CF, RFLAGS_PF, RFLAGS_AF, RFLAGS_ZF, RFLAGS_SF, RFLAGS_DF, RFLAGS_OF };
	u64 fl = RFLAGS_FIXED1;
	for (unsigned b = 0; b < 7; b++)
		fl |= (h->flags >> b & 1) ? bits[b] : 0;
	flags_set(c, fl);
	enum place p = h->place & 3;
	if (p == PLACE_CODE) {
		fixture_load(mc, code, len);
		return mc;
	}
	u64 start = CROSS_PAGE - 1 - (h->place >> 2 & 15);
	memcpy(fixture_ptr(mc, start), code, len);
	c->r[REG_RIP] = start;
	u64 *pte = pte_of(mc, CROSS_PAGE);
	if (pte && p == PLACE_ABSENT)
		*pte &= ~PTE_P;
	if (pte && p == PLACE_NX)
		*pte |= PTE_NX;
	return mc;
}

static void print_state(const char *what, struct machine *mc, enum cpu_stop s)
{
	struct cpu *c = fixture_cpu(mc);
	fprintf(stderr, "%s: stop %d, icount %llu, vector %u error %#x, rflags %#llx\n", what, s,
		(unsigned long long)c->icount, c->exc.vector, c->exc.error, (unsigned long long)flags_get(c));
	for (unsigned n = 0; n <= REG_RIP; n++)
		fprintf(stderr, "  r%-2u %016llx%s", n, (unsigned long long)c->r[n], n % 4 == 3 ? "\n" : "");
	fputc('\n', stderr);
}

/* Aborts when the block run (a) and the single-step run (b) disagree on architectural state. */
static void compare(struct machine *a, enum cpu_stop sa, struct machine *b, enum cpu_stop sb)
{
	struct cpu *ca = fixture_cpu(a), *cb = fixture_cpu(b);
	bool same = sa == sb && ca->icount == cb->icount && !memcmp(ca->r, cb->r, sizeof(u64) * (REG_RIP + 1)) &&
		    flags_get(ca) == flags_get(cb);
	if (same && sa == CPU_STOP_EXCEPTION)
		same = ca->exc.vector == cb->exc.vector && ca->exc.error == cb->exc.error;
	if (same)
		return;
	print_state("cpu_run", a, sa);
	print_state("cpu_step", b, sb);
	abort();
}

/*
 * Single-steps b until it has retired n instructions, and one step more
 * when the block run stopped early (sa), so that it reaches the same stop.
 * A REP instruction that pauses retires nothing, hence the separate bound
 * on steps.
 */
static enum cpu_stop step_like(struct machine *b, u64 n, enum cpu_stop sa, u64 max_steps)
{
	struct cpu *c = fixture_cpu(b);
	enum cpu_stop s = CPU_STOP_BUDGET;
	for (u64 k = 0; k < max_steps && s == CPU_STOP_BUDGET; k++) {
		if (c->icount > n || (c->icount == n && sa == CPU_STOP_BUDGET))
			break;
		s = cpu_step(c);
	}
	return s;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_hdr h;
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	const u8 *code = data + sizeof(h);
	size_t len = size - sizeof(h) < MAX_CODE ? size - sizeof(h) : MAX_CODE;
	struct machine *a = setup(&h, code, len), *b = setup(&h, code, len);
	if (!a || !b)
		abort();
	static int cmp = -1;
	if (cmp < 0)
		cmp = getenv("FACET_FUZZ_COMPARE") && !strcmp(getenv("FACET_FUZZ_COMPARE"), "1");
	enum cpu_stop sa = fixture_run(a, BUDGET);
	enum cpu_stop sb = step_like(b, fixture_cpu(a)->icount, sa, cmp ? MAX_STEPS_COMPARE : MAX_STEPS);
	if (cmp)
		compare(a, sa, b, sb);
	fixture_free(a);
	fixture_free(b);
	return 0;
}
