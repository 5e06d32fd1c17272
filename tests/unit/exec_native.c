/* SPDX-License-Identifier: MIT */
/*
 * Host-versus-Facet checker (see exec_native.h). The native side copies a
 * position-independent stub to an executable page, patches the
 * instruction into its 15-byte slot and calls it: the stub loads every
 * register but RSP and RFLAGS from the state, runs the slot, and stores
 * them back.
 */
#include "exec_native.h"

#include <cpuid.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/flags.h"
#include "fixture.h"
#include "test.h"

__asm__(".text\n"
	".globl xstub_begin, xstub_slot, xstub_end\n"
	"xstub_begin:\n"
	"push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"push %rdi\n"
	"pushq 128(%rdi)\n popfq\n"
	"mov 0(%rdi),%rax\n mov 8(%rdi),%rcx\n mov 16(%rdi),%rdx\n mov 24(%rdi),%rbx\n"
	"mov 40(%rdi),%rbp\n mov 48(%rdi),%rsi\n"
	"mov 64(%rdi),%r8\n mov 72(%rdi),%r9\n mov 80(%rdi),%r10\n mov 88(%rdi),%r11\n"
	"mov 96(%rdi),%r12\n mov 104(%rdi),%r13\n mov 112(%rdi),%r14\n mov 120(%rdi),%r15\n"
	"mov 56(%rdi),%rdi\n"
	"xstub_slot:\n"
	".fill 15,1,0x90\n"
	"pushfq\n push %rdi\n mov 16(%rsp),%rdi\n"
	"mov %rax,0(%rdi)\n mov %rcx,8(%rdi)\n mov %rdx,16(%rdi)\n mov %rbx,24(%rdi)\n"
	"mov %rbp,40(%rdi)\n mov %rsi,48(%rdi)\n"
	"mov %r8,64(%rdi)\n mov %r9,72(%rdi)\n mov %r10,80(%rdi)\n mov %r11,88(%rdi)\n"
	"mov %r12,96(%rdi)\n mov %r13,104(%rdi)\n mov %r14,112(%rdi)\n mov %r15,120(%rdi)\n"
	"pop %rax\n mov %rax,56(%rdi)\n pop %rax\n mov %rax,128(%rdi)\n"
	"pop %rdi\n pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n"
	"xstub_end:\n");
extern const u8 xstub_begin[], xstub_slot[], xstub_end[];

static u8 *stub_page;

bool xnative(const u8 *code, size_t len, struct xstate *s, int memreg)
{
	if (len > 15)
		return false;
	if (!stub_page) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return false;
		stub_page = p;
	}
	memcpy(stub_page, xstub_begin, (size_t)(xstub_end - xstub_begin));
	memcpy(stub_page + (xstub_slot - xstub_begin), code, len);
	u64 host = (u64)(uintptr_t)(s->mem + XSTATE_MEM_OFF);
	if (memreg >= 0)
		s->r[memreg] = host;
	s->rflags = (s->rflags & RFLAGS_ARITH) | RFLAGS_FIXED1; // no TF, AC or DF from a random state
	((void (*)(struct xstate *))(void *)stub_page)(s);
	if (memreg >= 0)
		s->r[memreg] = s->r[memreg] == host ? XSTATE_MEMREG_TOKEN : ~XSTATE_MEMREG_TOKEN;
	s->rflags &= RFLAGS_ARITH;
	return true;
}

int xfacet(struct machine *mc, const u8 *code, size_t len, struct xstate *s, int memreg)
{
	struct cpu *c = fixture_cpu(mc);
	for (int n = 0; n < 16; n++)
		if (n != RSP)
			c->r[n] = s->r[n];
	if (memreg >= 0)
		c->r[memreg] = FIX_DATA + XSTATE_MEM_OFF;
	flags_set(c, s->rflags & RFLAGS_ARITH);
	memcpy(fixture_ptr(mc, FIX_DATA), s->mem, XSTATE_MEM);
	fixture_load(mc, code, len);
	int stop = fixture_step(mc, 1);
	for (int n = 0; n < 16; n++)
		if (n != RSP)
			s->r[n] = c->r[n];
	if (memreg >= 0)
		s->r[memreg] = s->r[memreg] == FIX_DATA + XSTATE_MEM_OFF ? XSTATE_MEMREG_TOKEN : ~XSTATE_MEMREG_TOKEN;
	s->rflags = flags_get(c) & RFLAGS_ARITH;
	memcpy(s->mem, fixture_ptr(mc, FIX_DATA), XSTATE_MEM);
	if (stop == CPU_STOP_BUDGET && c->r[REG_RIP] != FIX_CODE + len)
		stop = -1;
	return stop;
}

static void dump(const char *tag, const struct xstate *s)
{
	printf("  %s:", tag);
	for (int n = 0; n < 16; n++)
		if (n != RSP)
			printf(" r%d=%" PRIx64, n, s->r[n]);
	printf(" fl=%03" PRIx64 "\n", s->rflags);
}

bool xcheck(struct machine *mc, const u8 *code, size_t len, const struct xstate *in, int memreg, u64 undef,
	    const char *what)
{
	struct xstate h = *in, f = *in;
	h.r[RSP] = f.r[RSP] = 0;
	if (!xnative(code, len, &h, memreg)) {
		test_fail(__FILE__, __LINE__, "%s: the host could not run it", what);
		return false;
	}
	int stop = xfacet(mc, code, len, &f, memreg);
	h.rflags &= ~undef;
	f.rflags &= ~undef;
	if (stop == CPU_STOP_BUDGET && !memcmp(h.r, f.r, sizeof(h.r)) && h.rflags == f.rflags &&
	    !memcmp(h.mem, f.mem, sizeof(h.mem)))
		return true;
	char bytes[64] = "";
	for (size_t k = 0; k < len; k++)
		snprintf(bytes + 3 * k, sizeof(bytes) - 3 * k, "%02x ", code[k]);
	test_fail(__FILE__, __LINE__, "%s [%s]: facet (stop %d) differs from the host%s", what, bytes, stop,
		  memcmp(h.mem, f.mem, sizeof(h.mem)) ? " (memory too)" : "");
	dump("in  ", in);
	dump("host", &h);
	dump("fct ", &f);
	return false;
}

static u64 rng_state = 0x9e3779b97f4a7c15ULL;

u64 xrand(void)
{
	u64 x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

u64 xvalue(unsigned sz)
{
	u64 r = xrand(), sign = 1ULL << (sz * 8 - 1);
	switch (r % 12) {
	case 0: return 0;
	case 1: return 1;
	case 2: return ~0ULL;
	case 3: return sign;
	case 4: return sign - 1;
	case 5: return sign + 1;
	case 6: return 1ULL << ((r >> 8) % 64);
	case 7: return (r >> 8) % 70;
	case 8: return -((r >> 8) % 70);
	case 9: return ~0ULL ^ (1ULL << ((r >> 8) % 64));
	default: return xrand();
	}
}

void xfill(struct xstate *s)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (int n = 0; n < 16; n++) {
		u64 v = xvalue(sizes[xrand() % 4]);
		s->r[n] = xrand() % 4 ? v : (v << 32) ^ xrand(); // upper halves that must be kept or zeroed
	}
	s->rflags = xrand() & RFLAGS_ARITH;
	for (int k = 0; k < XSTATE_MEM; k += 8) {
		u64 v = xvalue(sizes[xrand() % 4]);
		memcpy(s->mem + k, &v, 8);
	}
}

void xenc_modrm(struct xenc *e, unsigned sz, bool lock, const u8 *opc, unsigned opclen, unsigned reg, int rm,
		bool byte_rex, s8 disp)
{
	unsigned rmn = rm == XMEM ? RBX : (unsigned)rm;
	u8 rex = (u8)((sz == 8 ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((rmn & 8) ? 1 : 0));
	if (lock)
		e->b[e->n++] = 0xf0;
	if (sz == 2)
		e->b[e->n++] = 0x66;
	if (rex || byte_rex)
		e->b[e->n++] = 0x40 | rex;
	for (unsigned k = 0; k < opclen; k++)
		e->b[e->n++] = opc[k];
	if (rm == XMEM) {
		e->b[e->n++] = (u8)(0x40 | ((reg & 7) << 3) | RBX);
		e->b[e->n++] = (u8)disp;
	} else {
		e->b[e->n++] = (u8)(0xc0 | ((reg & 7) << 3) | (rmn & 7));
	}
}

void xenc_imm(struct xenc *e, u64 v, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		e->b[e->n++] = (u8)(v >> (8 * k));
}

unsigned xpick_reg(unsigned sz, bool byte_rex, bool mem)
{
	for (;;) {
		unsigned r = (unsigned)(xrand() % 16);
		bool high_byte = sz == 1 && !byte_rex && r >= 4 && r < 8; // AH..BH
		if (r == RSP && !high_byte)
			continue;
		if (mem && (r == RBX || (high_byte && r == 7)))
			continue;
		if (sz == 1 && !byte_rex && r >= 8)
			continue; // R8B.. need a REX prefix, which would turn AH..BH into SPL..DIL
		return r;
	}
}

bool xhost_has(enum xfeat f)
{
	unsigned a = 0, b = 0, c = 0, d = 0;
	switch (f) {
	case XF_BMI1: return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 3));
	case XF_BMI2: return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 8));
	case XF_LZCNT: return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 5));
	default: return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 23));
	}
}

bool xhost_amd(void)
{
	unsigned a = 0, b = 0, c = 0, d = 0;
	return __get_cpuid(0, &a, &b, &c, &d) && b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163; // AuthenticAMD
}

u64 xundef(u64 sdm_undef)
{
	return xhost_amd() ? 0 : sdm_undef;
}
