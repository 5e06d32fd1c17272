/* SPDX-License-Identifier: MIT */
/*
 * The native half of the differential harness: a sandbox at the fixture
 * machine's addresses (code at SB_CODE, data and stack windows), so that
 * absolute and RIP-relative addresses mean the same natively and in Facet.
 *
 * A case runs through generated stubs: the prologue saves the host's
 * callee-saved registers and RSP in the control block, loads RFLAGS
 * (popfq) and all sixteen GPRs, and jumps to the instruction at SB_INSN.
 * Every place the instruction can continue at (the next instruction, a
 * branch target, SB_PAD_INDIRECT) holds a landing pad that records its own
 * address as the RIP reached and jumps to the epilogue, which stores the
 * GPRs and RFLAGS and returns to C. A fault (SIGFPE, SIGSEGV, SIGBUS,
 * SIGILL, SIGTRAP) is caught on an alternate stack: the handler records the
 * vector (the kernel's trap number), the registers at the fault and CR2,
 * then resumes at a recovery stub that returns to C. Nothing is longjmp'd,
 * so the sanitizers see an ordinary return.
 */
#define _GNU_SOURCE
#include "diff.h"

#include <asm/prctl.h>
#include <errno.h>
#include <cpuid.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

/* Control block (native only). */
#define CTL_IN (SB_CTL + 0x000)        // r[16], then RFLAGS at +0x80
#define CTL_IN_FLAGS (SB_CTL + 0x080)
#define CTL_OUT (SB_CTL + 0x100)       // r[16]
#define CTL_OUT_FLAGS (SB_CTL + 0x180)
#define CTL_OUT_RIP (SB_CTL + 0x188)   // written by the landing pads
#define CTL_HOST_RSP (SB_CTL + 0x190)
#define CTL_SCRATCH_TOP (SB_CTL + 0x800) // the epilogue's pushfq goes below this

#define SB_PROLOGUE SB_CODE
#define SB_EPILOGUE (SB_CODE + 0x200)
#define SB_RECOVER (SB_CODE + 0x300)
#define PAD_LEN 17

static bool mapped;
static volatile sig_atomic_t in_sandbox;
static struct sigaction old_act[SIGSYS + 1];
static stack_t old_altstack;
static u64 old_gsbase, host_fsbase;
static u8 altstack[64 * 1024] __attribute__((aligned(16)));
static const int fault_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };

/* What the signal handler saw. */
static volatile struct {
	bool hit;
	u8 vec;
	u64 r[16], rip, rflags, cr2;
} fault_rec;

static const int greg_of[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
				 REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15 };

static u8 *put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
	return p + 4;
}

/* mov reg64, [abs32] (load) or mov [abs32], reg64 (store): REX.W 8B/89 /r with SIB 25 (disp32 only). */
static u8 *put_abs(u8 *p, u8 opcode, int reg, u64 addr)
{
	*p++ = (u8)(0x48 | (reg >= 8 ? 4 : 0));
	*p++ = opcode;
	*p++ = (u8)(0x04 | ((reg & 7) << 3));
	*p++ = 0x25;
	return put32(p, (u32)addr);
}

static u8 *put_jmp(u8 *p, u64 to)
{
	*p++ = 0xe9;
	return put32(p, (u32)(to - ((u64)(uintptr_t)p + 4)));
}

/* Restores the host's RSP and callee-saved registers and returns to C. */
static u8 *put_return(u8 *p)
{
	static const u8 pops[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3 };
	p = put_abs(p, 0x8b, 4, CTL_HOST_RSP);
	memcpy(p, pops, sizeof(pops));
	return p + sizeof(pops);
}

static void write_prologue(void)
{
	static const u8 pushes[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57 };
	u8 *p = (u8 *)(uintptr_t)SB_PROLOGUE;
	memcpy(p, pushes, sizeof(pushes));
	p += sizeof(pushes);
	p = put_abs(p, 0x89, 4, CTL_HOST_RSP);
	*p++ = 0xbc; // mov esp, imm32: RSP points at the input RFLAGS
	p = put32(p, (u32)CTL_IN_FLAGS);
	*p++ = 0x9d; // popfq
	for (int r = 0; r < 16; r++)
		if (r != 4)
			p = put_abs(p, 0x8b, r, CTL_IN + 8 * r);
	p = put_abs(p, 0x8b, 4, CTL_IN + 8 * 4);
	put_jmp(p, SB_INSN);
}

static void write_epilogue(void)
{
	u8 *p = (u8 *)(uintptr_t)SB_EPILOGUE;
	p = put_abs(p, 0x89, 4, CTL_OUT + 8 * 4);
	*p++ = 0xbc;
	p = put32(p, (u32)CTL_SCRATCH_TOP);
	*p++ = 0x9c;                         // pushfq
	*p++ = 0x8f, *p++ = 0x04, *p++ = 0x25; // pop qword [CTL_OUT_FLAGS]
	p = put32(p, (u32)CTL_OUT_FLAGS);
	for (int r = 0; r < 16; r++)
		if (r != 4)
			p = put_abs(p, 0x89, r, CTL_OUT + 8 * r);
	*p++ = 0x68; // push 0x202; popfq: DF, AC and the rest back to what C expects
	p = put32(p, 0x202);
	*p++ = 0x9d;
	put_return(p);
	put_return((u8 *)(uintptr_t)SB_RECOVER);
}

/* A landing pad at `at`: mov qword [CTL_OUT_RIP], at; jmp epilogue. */
static void write_pad(u64 at)
{
	u8 *p = (u8 *)(uintptr_t)at;
	*p++ = 0x48, *p++ = 0xc7, *p++ = 0x04, *p++ = 0x25;
	p = put32(p, (u32)CTL_OUT_RIP);
	p = put32(p, (u32)at);
	put_jmp(p, SB_EPILOGUE);
}

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	u64 rip = (u64)g[REG_RIP];
	(void)si;
	if (!in_sandbox || rip < SB_CODE || rip >= SB_CODE + SB_CODE_SIZE) {
		/* Not ours: put the previous handler back and let the fault happen again. */
		sigaction(sig, &old_act[sig], NULL);
		return;
	}
	fault_rec.hit = true;
	fault_rec.vec = (u8)g[REG_TRAPNO];
	for (int r = 0; r < 16; r++)
		fault_rec.r[r] = (u64)g[greg_of[r]];
	fault_rec.rip = rip;
	fault_rec.rflags = (u64)g[REG_EFL];
	fault_rec.cr2 = (u64)g[REG_CR2];
	g[REG_RIP] = (greg_t)SB_RECOVER;
	g[REG_EFL] = 0x202;
}

static int map_fixed(u64 addr, u64 len, int prot, char *err, size_t errlen)
{
	void *p = mmap((void *)(uintptr_t)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == (void *)(uintptr_t)addr)
		return 0;
	snprintf(err, errlen, "cannot map the sandbox at %#llx (%s)", (unsigned long long)addr,
		 p == MAP_FAILED ? strerror(errno) : "placed elsewhere");
	if (p != MAP_FAILED)
		munmap(p, len);
	return -1;
}

static int map_sandbox(char *err, size_t errlen)
{
	if (mapped)
		return 0;
	if (map_fixed(SB_CODE, SB_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, err, errlen) ||
	    map_fixed(SB_CTL, PAGE_SIZE, PROT_READ | PROT_WRITE, err, errlen) ||
	    map_fixed(SB_DATA_MAP, SB_DATA_MAP_SIZE, PROT_READ | PROT_WRITE, err, errlen) ||
	    map_fixed(SB_STACK_MAP, SB_STACK_MAP_SIZE, PROT_READ | PROT_WRITE, err, errlen))
		return -1;
	memset((void *)(uintptr_t)SB_CODE, 0xcc, SB_CODE_SIZE);
	write_prologue();
	write_epilogue();
	mapped = true;
	return 0;
}

int native_init(char *err, size_t errlen)
{
	if (map_sandbox(err, errlen))
		return -1;
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	sigemptyset(&sa.sa_mask);
	sigaltstack(&ss, &old_altstack);
	for (size_t k = 0; k < ARRAY_SIZE(fault_signals); k++)
		sigaction(fault_signals[k], &sa, &old_act[fault_signals[k]]);
	syscall(SYS_arch_prctl, ARCH_GET_FS, &host_fsbase);
	syscall(SYS_arch_prctl, ARCH_GET_GS, &old_gsbase);
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, SB_GSBASE)) {
		snprintf(err, errlen, "cannot set the GS base (%s)", strerror(errno));
		native_fini();
		return -1;
	}
	return 0;
}

void native_fini(void)
{
	for (size_t k = 0; k < ARRAY_SIZE(fault_signals); k++)
		sigaction(fault_signals[k], &old_act[fault_signals[k]], NULL);
	sigaltstack(&old_altstack, NULL);
	syscall(SYS_arch_prctl, ARCH_SET_GS, old_gsbase);
}

u64 native_fsbase(void)
{
	return host_fsbase;
}

void native_load(const u8 *bytes, unsigned len, const u64 *targets, unsigned n)
{
	memset((void *)(uintptr_t)SB_CLEAR_LO, 0xcc, SB_CLEAR_LEN);
	memcpy((void *)(uintptr_t)SB_INSN, bytes, len);
	write_pad(SB_INSN + len);
	write_pad(SB_PAD_INDIRECT);
	for (unsigned k = 0; k < n; k++) {
		u64 t = targets[k];
		bool clash = t < SB_INSN + len + PAD_LEN && t + PAD_LEN > SB_INSN;
		if (t >= SB_CLEAR_LO && t + PAD_LEN <= SB_CLEAR_LO + SB_CLEAR_LEN && !clash)
			write_pad(t);
	}
}

void native_patch(const u8 *bytes, unsigned len)
{
	memcpy((void *)(uintptr_t)SB_INSN, bytes, len);
}

void native_run(const struct dstate *in, struct dstate *out)
{
	u64 *ctl = (u64 *)(uintptr_t)SB_CTL;
	memcpy(ctl, in->r, sizeof(in->r));
	ctl[16] = in->rflags;
	*(u64 *)(uintptr_t)CTL_OUT_RIP = 0;
	fault_rec.hit = false;
	in_sandbox = 1;
	((void (*)(void))(uintptr_t)SB_PROLOGUE)();
	in_sandbox = 0;
	memset(out, 0, sizeof(*out));
	if (fault_rec.hit) {
		for (int r = 0; r < 16; r++)
			out->r[r] = fault_rec.r[r];
		out->rip = fault_rec.rip;
		out->rflags = fault_rec.rflags;
		out->fault = true;
		out->vec = fault_rec.vec;
		out->cr2 = fault_rec.cr2;
		return;
	}
	memcpy(out->r, (const void *)(uintptr_t)CTL_OUT, sizeof(out->r));
	out->rflags = *(const u64 *)(uintptr_t)CTL_OUT_FLAGS;
	out->rip = *(const u64 *)(uintptr_t)CTL_OUT_RIP;
}

bool native_has(enum dfeat f)
{
	unsigned a, b, c, d;
	switch (f) {
	case FEAT_NONE: return true;
	case FEAT_POPCNT: return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 23));
	case FEAT_CX16: return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 13));
	case FEAT_BMI1: return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 3));
	case FEAT_BMI2: return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 8));
	case FEAT_LZCNT: return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 5));
	case FEAT_LAHF: return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & 1u);
	case FEAT_MOVBE: return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 22));
	default: return false;
	}
}

const char *native_feat_name(enum dfeat f)
{
	static const char *const names[FEAT_COUNT] = { "", "BMI1", "BMI2", "LZCNT", "POPCNT", "CMPXCHG16B",
						       "LAHF/SAHF", "MOVBE" };
	return f < FEAT_COUNT ? names[f] : "?";
}
