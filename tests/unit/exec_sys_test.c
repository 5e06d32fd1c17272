/* SPDX-License-Identifier: MIT */
/*
 * Tests of the system instructions (exec_sys.c): NOP forms, CPUID,
 * RDTSC, UD2, INT3, HLT, CLI/STI and port I/O, on the test fixture with
 * a logging device on a few ports; expectations come from the SDM and
 * from the CPUID table Facet documents. At the end, two hand-assembled
 * guests (tests/guest/hello.S, ud2.S) run under `facet run` end to end.
 */
#include <stdlib.h>
#include <sys/wait.h>

#include "fixture.h"
#include "test.h"

#include "cpu/dcache.h"
#include "cpu/flags.h"
#include "mem/mem.h"

#define LOG_PORT 0x80 // ports LOG_PORT..LOG_PORT+3 and 0x1234 go to the log device

/* A device that records every access; IN returns next_in and increments it. */
struct iolog {
	unsigned n_in, n_out;
	u16 in_port;
	unsigned in_size;
	u16 out_port[64];
	u8 out_size[64];
	u32 out_val[64];
	u32 next_in;
};

static u32 log_in(void *opaque, u16 port, unsigned size)
{
	struct iolog *l = opaque;
	l->n_in++, l->in_port = port, l->in_size = size;
	return l->next_in++;
}

static void log_out(void *opaque, u16 port, unsigned size, u32 val)
{
	struct iolog *l = opaque;
	if (l->n_out < 64)
		l->out_port[l->n_out] = port, l->out_size[l->n_out] = (u8)size, l->out_val[l->n_out] = val;
	l->n_out++;
}

static struct machine *setup(const u8 *code, size_t n, struct iolog *log)
{
	struct machine *mc = fixture_new();
	if (!mc)
		return NULL;
	fixture_load(mc, code, n);
	if (log) {
		memset(log, 0, sizeof(*log));
		mem_io_attach(&mc->mem, LOG_PORT, 4, log_in, log_out, log);
		mem_io_attach(&mc->mem, 0x1234, 1, log_in, log_out, log);
	}
	return mc;
}

/* Decodes code and calls its handler directly (for states the fixture cannot fetch in, such as CPL 3). */
static int exec_direct(struct machine *mc, const u8 *code, size_t n)
{
	struct insn i;
	if (decode_one(dcache_decoder(mc->dc), code, n, &i) != DECODE_OK)
		return -1;
	return i.fn(fixture_cpu(mc), &i);
}

TEST(sys, nop_forms_change_nothing_but_rip)
{
	static const struct {
		u8 b[9], len;
	} forms[] = {
		{ { 0x90 }, 1 },
		{ { 0x66, 0x90 }, 2 },
		{ { 0x48, 0x90 }, 2 },                                        // REX.W 90 is still NOP
		{ { 0x0f, 0x1f, 0x00 }, 3 },                                  // nop [rax]: rax = 0 is unmapped
		{ { 0x0f, 0x1f, 0x40, 0x00 }, 4 },
		{ { 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 5 },
		{ { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 6 },
		{ { 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 }, 7 },
		{ { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 }, 8 },
		{ { 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 }, 9 },
		{ { 0x0f, 0x19, 0x04, 0x24 }, 4 },                            // hint nop [rsp]
		{ { 0x0f, 0x18, 0x08 }, 3 },                                  // prefetcht0 [rax]: no fault
		{ { 0x0f, 0x18, 0x00 }, 3 },                                  // prefetchnta [rax]
		{ { 0xf3, 0x90 }, 2 },                                        // pause
		{ { 0xf3, 0x0f, 0x1e, 0xfa }, 4 },                            // endbr64
		{ { 0xf3, 0x0f, 0x1e, 0xfb }, 4 },                            // endbr32
	};
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (unsigned k = 0; k < ARRAY_SIZE(forms); k++) {
		fixture_load(mc, forms[k].b, forms[k].len);
		for (unsigned r = 0; r < 16; r++)
			c->r[r] = r == RSP ? FIX_STACK : 0;
		flags_set(c, RFLAGS_CF | RFLAGS_ZF);
		EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
		EXPECT_EQ(FIX_CODE + forms[k].len, c->r[REG_RIP]);
		EXPECT_EQ(RFLAGS_CF | RFLAGS_ZF | RFLAGS_FIXED1, flags_get(c));
		for (unsigned r = 0; r < 16; r++)
			EXPECT_EQ(r == RSP ? FIX_STACK : 0, c->r[r]);
	}
	fixture_free(mc);
}

/* Runs CPUID with EAX = leaf, ECX = subleaf (upper halves dirty); out = EAX EBX ECX EDX. */
static void run_cpuid(struct machine *mc, u32 leaf, u32 subleaf, u64 out[4])
{
	static const u8 cpuid[] = { 0x0f, 0xa2 };
	struct cpu *c = fixture_cpu(mc);
	fixture_load(mc, cpuid, sizeof(cpuid));
	c->r[RAX] = 0xdead000000000000ULL | leaf;
	c->r[RCX] = 0xbeef000000000000ULL | subleaf;
	c->r[RBX] = c->r[RDX] = ~0ULL;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	out[0] = c->r[RAX], out[1] = c->r[RBX], out[2] = c->r[RCX], out[3] = c->r[RDX];
}

TEST(sys, cpuid_vendor_and_limits)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	u64 v[4];
	run_cpuid(mc, 0, 0, v);
	EXPECT_EQ(7, v[0]);
	char vendor[13] = { 0 };
	u32 parts[3] = { (u32)v[1], (u32)v[3], (u32)v[2] }; // EBX, EDX, ECX
	memcpy(vendor, parts, 12);
	EXPECT_STREQ("FacetVirtCPU", vendor);
	EXPECT_EQ(0, v[1] >> 32); // 32-bit results zero the upper halves
	run_cpuid(mc, 0x80000000u, 0, v);
	EXPECT_EQ(0x80000008u, v[0]);
	run_cpuid(mc, 0x80000008u, 0, v);
	EXPECT_EQ(MAXPHYADDR | 48 << 8, v[0]);
	char brand[49] = { 0 };
	for (u32 leaf = 0; leaf < 3; leaf++) {
		run_cpuid(mc, 0x80000002u + leaf, 0, v);
		for (unsigned k = 0; k < 4; k++) {
			u32 w = (u32)v[k];
			memcpy(brand + leaf * 16 + k * 4, &w, 4);
		}
	}
	EXPECT_STREQ("Facet virtual x86-64 CPU", brand);
	fixture_free(mc);
}

TEST(sys, cpuid_features_are_what_facet_implements)
{
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	u64 v[4];
	run_cpuid(mc, 1, 0, v);
	EXPECT_EQ(0x611, v[0]);
	EXPECT_EQ(0, v[1]); // APIC ID of vCPU 0, nothing else
	EXPECT_EQ((1u << 13) | (1u << 17) | (1u << 21) | (1u << 22) | (1u << 23), v[2]); // CX16 PCID x2APIC MOVBE POPCNT
	EXPECT_EQ((1u << 2) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 9) | (1u << 13) | (1u << 15) |
			  (1u << 16),
		  v[3]); // DE TSC MSR PAE CX8 APIC PGE CMOV PAT
	EXPECT_EQ(0, v[3] & 1);                                           // no FPU
	EXPECT_EQ(0, v[3] & (3u << 25));                                  // no SSE, SSE2
	run_cpuid(mc, 7, 0, v);
	EXPECT_EQ(0, v[0]);
	EXPECT_EQ((1u << 3) | (1u << 7) | (1u << 8) | (1u << 10) | (1u << 20), v[1]); // BMI1 SMEP BMI2 INVPCID SMAP
	EXPECT_EQ(0, v[2] | v[3]);
	run_cpuid(mc, 7, 1, v);
	EXPECT_EQ(0, v[0] | v[1] | v[2] | v[3]);
	run_cpuid(mc, 0x80000001u, 0, v);
	EXPECT_EQ((1u << 0) | (1u << 5), v[2]);                 // LAHF/SAHF, ABM (LZCNT)
	EXPECT_EQ((1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29), v[3]); // SYSCALL NX 1-GiB RDTSCP LM
	run_cpuid(mc, 4, 0, v);
	EXPECT_EQ(0, v[0] | v[1] | v[2] | v[3]);
	/* Out of range: the highest basic leaf (7) answers, as on Intel. */
	u64 w[4];
	run_cpuid(mc, 7, 0, w);
	for (u32 leaf = 8; leaf; leaf = leaf == 8 ? 0x40000000u : leaf == 0x40000000u ? 0x80000009u : 0) {
		run_cpuid(mc, leaf, 0, v);
		for (unsigned k = 0; k < 4; k++)
			EXPECT_EQ(w[k], v[k]);
	}
	fixture_free(mc);
}

TEST(sys, rdtsc_counts_instructions)
{
	static const u8 rdtsc[] = { 0x0f, 0x31 };
	struct machine *mc = setup(rdtsc, sizeof(rdtsc), NULL);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->icount = 0x00000001fffffff0ULL;
	c->tsc_offset = 0x0000000300000020ULL;
	c->r[RAX] = c->r[RDX] = ~0ULL;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x10, c->r[RAX]); // 0x500000010: EAX = low half, EDX = high half, upper halves zero
	EXPECT_EQ(0x5, c->r[RDX]);
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	/* CR4.TSD makes it CPL 0 only. */
	c->cr4 |= 1ULL << 2;
	EXPECT_EQ(EXEC_NEXT, exec_direct(mc, rdtsc, sizeof(rdtsc)));
	c->cpl = 3;
	EXPECT_EQ(EXEC_FAULT, exec_direct(mc, rdtsc, sizeof(rdtsc)));
	EXPECT_EQ(VEC_GP, c->exc.vector);
	fixture_free(mc);
}

TEST(sys, ud2_and_int3)
{
	static const u8 ud2[] = { 0x0f, 0x0b };
	static const u8 int3[] = { 0xcc };
	struct machine *mc = setup(ud2, sizeof(ud2), NULL);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(VEC_UD, c->exc.vector);
	EXPECT_TRUE(!c->exc.has_error);
	EXPECT_EQ(FIX_CODE, c->r[REG_RIP]); // a fault: RIP stays on UD2
	fixture_load(mc, int3, sizeof(int3));
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(VEC_BP, c->exc.vector);
	EXPECT_TRUE(!c->exc.has_error);
	EXPECT_EQ(FIX_CODE + 1, c->r[REG_RIP]); // a trap: RIP after INT3
	fixture_free(mc);
}

TEST(sys, hlt_halts_at_cpl0_only)
{
	static const u8 hlt[] = { 0xf4, 0x90 };
	struct machine *mc = setup(hlt, sizeof(hlt), NULL);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_HLT, fixture_step(mc, 1));
	EXPECT_TRUE(c->halted);
	EXPECT_EQ(FIX_CODE + 1, c->r[REG_RIP]);
	EXPECT_EQ(1, c->icount);
	EXPECT_EQ(CPU_STOP_HLT, fixture_step(mc, 1)); // stays halted
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 10));
	EXPECT_EQ(FIX_CODE + 1, c->r[REG_RIP]);
	c->halted = false;
	c->cpl = 3;
	EXPECT_EQ(EXEC_FAULT, exec_direct(mc, hlt, 1));
	EXPECT_EQ(VEC_GP, c->exc.vector);
	EXPECT_TRUE(c->exc.has_error && c->exc.error == 0);
	EXPECT_TRUE(!c->halted);
	fixture_free(mc);
}

TEST(sys, cli_sti_follow_iopl)
{
	static const u8 cli[] = { 0xfa }, sti[] = { 0xfb };
	struct machine *mc = setup(sti, 1, NULL);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	flags_set(c, RFLAGS_CF);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(RFLAGS_IF | RFLAGS_CF | RFLAGS_FIXED1, flags_get(c));
	fixture_load(mc, cli, 1);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(RFLAGS_CF | RFLAGS_FIXED1, flags_get(c));
	c->cpl = 3;
	EXPECT_EQ(EXEC_FAULT, exec_direct(mc, sti, 1));
	EXPECT_EQ(VEC_GP, c->exc.vector);
	EXPECT_EQ(0, c->rflags & RFLAGS_IF);
	flags_set(c, RFLAGS_IOPL);
	EXPECT_EQ(EXEC_NEXT, exec_direct(mc, sti, 1));
	EXPECT_EQ(RFLAGS_IF, c->rflags & RFLAGS_IF);
	fixture_free(mc);
}

TEST(sys, in_sizes_and_register_rules)
{
	static const u8 code[] = {
		0xe4, 0x80,       // in al, 0x80
		0x66, 0xe5, 0x81, // in ax, 0x81
		0xe5, 0x82,       // in eax, 0x82
		0xec,             // in al, dx
		0xed,             // in eax, dx (unattached port: all ones)
	};
	struct iolog log;
	struct machine *mc = setup(code, sizeof(code), &log);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	log.next_in = 0x11223344;
	c->r[RAX] = 0xaaaaaaaaaaaaaaaaULL;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0xaaaaaaaaaaaaaa44ULL, c->r[RAX]);
	EXPECT_TRUE(log.in_port == 0x80 && log.in_size == 1);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0xaaaaaaaaaaaa3345ULL, c->r[RAX]);
	EXPECT_TRUE(log.in_port == 0x81 && log.in_size == 2);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x11223346ULL, c->r[RAX]); // 32-bit write zeroes the upper half
	EXPECT_TRUE(log.in_port == 0x82 && log.in_size == 4);
	c->r[RDX] = 0xffff0083; // only DX counts
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x11223347ULL, c->r[RAX]);
	EXPECT_EQ(0x83, log.in_port);
	c->r[RDX] = 0x300;
	c->r[RAX] = ~0ULL << 8;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0xffffffffULL, c->r[RAX]);
	EXPECT_EQ(4, log.n_in);
	EXPECT_EQ(FIX_CODE + sizeof(code), c->r[REG_RIP]);
	fixture_free(mc);
}

TEST(sys, out_sizes)
{
	static const u8 code[] = {
		0xe6, 0x80,       // out 0x80, al
		0x66, 0xe7, 0x81, // out 0x81, ax
		0xe7, 0x82,       // out 0x82, eax
		0xee,             // out dx, al
		0x66, 0xef,       // out dx, ax
	};
	struct iolog log;
	struct machine *mc = setup(code, sizeof(code), &log);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[RAX] = 0x1122334455667788ULL;
	c->r[RDX] = 0xabcd1234;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 5));
	EXPECT_EQ(5, log.n_out);
	static const u16 ports[5] = { 0x80, 0x81, 0x82, 0x1234, 0x1234 };
	static const u8 sizes[5] = { 1, 2, 4, 1, 2 };
	static const u32 vals[5] = { 0x88, 0x7788, 0x55667788, 0x88, 0x7788 };
	for (unsigned k = 0; k < 5; k++) {
		EXPECT_EQ(ports[k], log.out_port[k]);
		EXPECT_EQ(sizes[k], log.out_size[k]);
		EXPECT_EQ(vals[k], log.out_val[k]);
	}
	EXPECT_EQ(0x1122334455667788ULL, c->r[RAX]);
	fixture_free(mc);
}

/* Port I/O at CPL 3 with IOPL 0 raises #GP(0) without touching the device (no TSS bitmap). */
TEST(sys, io_needs_iopl)
{
	static const u8 forms[][2] = { { 0xe4, 0x80 }, { 0xee }, { 0x6c }, { 0x6e } };
	struct iolog log;
	struct machine *mc = setup(forms[0], 2, &log);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->cpl = 3;
	c->r[RDX] = LOG_PORT;
	c->r[RSI] = c->r[RDI] = FIX_DATA;
	for (unsigned k = 0; k < ARRAY_SIZE(forms); k++) {
		EXPECT_EQ(EXEC_FAULT, exec_direct(mc, forms[k], 2));
		EXPECT_EQ(VEC_GP, c->exc.vector);
	}
	EXPECT_EQ(0, log.n_in + log.n_out);
	flags_set(c, RFLAGS_IOPL);
	EXPECT_EQ(EXEC_NEXT, exec_direct(mc, forms[0], 2));
	EXPECT_EQ(1, log.n_in);
	fixture_free(mc);
}

/* The exit port asks the vCPU to stop: the OUT completes, RIP moves past it, and nothing after runs. */
TEST(sys, exit_port_stops_after_out)
{
	static const u8 code[] = { 0xe6, 0xf4, 0x0f, 0x0b }; // out 0xf4, al; ud2
	struct machine *mc = setup(code, sizeof(code), NULL);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[RAX] = 7;
	EXPECT_EQ(CPU_STOP_REQUEST, fixture_step(mc, 1));
	EXPECT_TRUE(mc->exited);
	EXPECT_EQ(7, mc->exit_status);
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	/* Same through the decoded-block path. */
	mc->exited = false;
	fixture_load(mc, code, sizeof(code));
	c->r[RAX] = 9;
	EXPECT_EQ(CPU_STOP_REQUEST, fixture_run(mc, 100));
	EXPECT_TRUE(mc->exited);
	EXPECT_EQ(9, mc->exit_status);
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	EXPECT_EQ(2, c->icount); // one instruction in each run
	fixture_free(mc);
}

TEST(sys, console_port_writes_bytes)
{
	static const u8 code[] = { 0xe6, 0xe9, 0xee, 0xe4, 0xe9 }; // out 0xe9, al; out dx, al; in al, 0xe9
	char *buf = NULL;
	size_t len = 0;
	struct machine *mc = setup(code, sizeof(code), NULL);
	ASSERT_TRUE(mc != NULL);
	mc->console = open_memstream(&buf, &len);
	ASSERT_TRUE(mc->console != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[RAX] = 'h';
	c->r[RDX] = 0xe9;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	c->r[RAX] = 'i';
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 2));
	EXPECT_EQ(0xe9, c->r[RAX]); // the debug port reads back as 0xE9
	fclose(mc->console);
	EXPECT_STREQ("hi", buf);
	free(buf);
	fixture_free(mc);
}

/* Fills FIX_DATA with "abcdefgh..." for string output tests. */
static void fill_data(struct machine *mc)
{
	u8 *p = fixture_ptr(mc, FIX_DATA);
	for (unsigned k = 0; k < 64; k++)
		p[k] = (u8)('a' + k % 26);
}

TEST(sys, rep_outs_forward_and_backward)
{
	static const u8 rep_outsb[] = { 0xf3, 0x6e };
	static const u8 rep_outsd_fs[] = { 0x64, 0xf3, 0x6f };
	struct iolog log;
	struct machine *mc = setup(rep_outsb, sizeof(rep_outsb), &log);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	fill_data(mc);
	c->r[RSI] = FIX_DATA, c->r[RCX] = 5, c->r[RDX] = LOG_PORT;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(5, log.n_out);
	for (unsigned k = 0; k < 5; k++)
		EXPECT_EQ('a' + k, log.out_val[k]);
	EXPECT_EQ(FIX_DATA + 5, c->r[RSI]);
	EXPECT_EQ(0, c->r[RCX]);
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);

	/* Backwards, dwords, through an FS override. */
	fixture_load(mc, rep_outsd_fs, sizeof(rep_outsd_fs));
	log.n_out = 0;
	c->seg_base[SEG_FS] = FIX_DATA;
	c->r[RSI] = 8, c->r[RCX] = 3;
	flags_set(c, RFLAGS_DF);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(3, log.n_out);
	EXPECT_EQ(0x6c6b6a69, log.out_val[0]); // "ijkl" at FIX_DATA + 8
	EXPECT_EQ(0x68676665, log.out_val[1]);
	EXPECT_EQ(0x64636261, log.out_val[2]);
	EXPECT_EQ(4, log.out_size[2]);
	EXPECT_EQ((u64)-4, c->r[RSI]);
	EXPECT_EQ(0, c->r[RCX]);
	fixture_free(mc);
}

TEST(sys, rep_ins_words)
{
	static const u8 rep_insw[] = { 0x66, 0xf3, 0x6d };
	struct iolog log;
	struct machine *mc = setup(rep_insw, sizeof(rep_insw), &log);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	log.next_in = 0x1000;
	c->r[RDI] = FIX_DATA + 0x10, c->r[RCX] = 4, c->r[RDX] = 0x1234;
	flags_set(c, RFLAGS_DF);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	u16 w[5];
	memcpy(w, fixture_ptr(mc, FIX_DATA + 8), sizeof(w));
	EXPECT_EQ(0x1003, w[1]);
	EXPECT_EQ(0x1002, w[2]);
	EXPECT_EQ(0x1001, w[3]);
	EXPECT_EQ(0x1000, w[4]);
	EXPECT_EQ(0, w[0]);
	EXPECT_EQ(FIX_DATA + 8, c->r[RDI]);
	EXPECT_TRUE(log.in_port == 0x1234 && log.in_size == 2 && log.n_in == 4);
	fixture_free(mc);
}

/* 67h: ESI and ECX, written back zero-extended (as the host does for REP MOVS with 67h). */
TEST(sys, string_io_address_size_32)
{
	static const u8 code[] = { 0x67, 0xf3, 0x6e, 0x67, 0x6c }; // rep outsb (a32); insb (a32, no rep)
	struct iolog log;
	struct machine *mc = setup(code, sizeof(code), &log);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	fill_data(mc);
	c->r[RSI] = 0xdead000000000000ULL | FIX_DATA;
	c->r[RCX] = 0x5555555500000002ULL;
	c->r[RDI] = 0xbeef000000000000ULL | (FIX_DATA + 0x40);
	c->r[RDX] = LOG_PORT;
	log.next_in = 0x5a;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 2));
	EXPECT_EQ(2, log.n_out);
	EXPECT_EQ('b', log.out_val[1]);
	EXPECT_EQ(FIX_DATA + 2, c->r[RSI]);
	EXPECT_EQ(0, c->r[RCX]);
	EXPECT_EQ(FIX_DATA + 0x41, c->r[RDI]);
	EXPECT_EQ(0x5a, *(u8 *)fixture_ptr(mc, FIX_DATA + 0x40));
	/* A zero count does nothing at all, not even to RCX's upper half. */
	fixture_load(mc, code, 3);
	c->r[RCX] = 0x5555555500000000ULL;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x5555555500000000ULL, c->r[RCX]);
	EXPECT_EQ(FIX_DATA + 2, c->r[RSI]);
	EXPECT_EQ(2, log.n_out);
	fixture_free(mc);
}

/* A fault in iteration k leaves RIP on the instruction and the registers after k-1 iterations. */
TEST(sys, rep_string_io_fault_keeps_progress)
{
	static const u8 rep_outsb[] = { 0xf3, 0x6e };
	static const u8 rep_insb[] = { 0xf3, 0x6c };
	struct iolog log;
	struct machine *mc = setup(rep_outsb, sizeof(rep_outsb), &log);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[RSI] = 0x1002, c->r[RCX] = 10, c->r[RDX] = LOG_PORT; // 0x1000.. mapped, page 0 not
	flags_set(c, RFLAGS_DF);
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(3, log.n_out);
	EXPECT_EQ(7, c->r[RCX]);
	EXPECT_EQ(0xfff, c->r[RSI]);
	EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);
	/* INS checks the destination before reading the port: no input is lost. */
	fixture_load(mc, rep_insb, sizeof(rep_insb));
	flags_set(c, 0);
	c->r[RDI] = 0x10, c->r[RCX] = 2;
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(0, log.n_in);
	EXPECT_EQ(2, c->r[RCX]);
	fixture_free(mc);
}

/* Long REP runs pause in chunks (EXEC_RETRY, RIP unchanged) and resume where they were. */
TEST(sys, rep_string_io_resumes_in_chunks)
{
	static const u8 code[] = { 0xf3, 0x6c, 0xf4 }; // rep insb; hlt
	struct iolog log;
	struct machine *mc = setup(code, sizeof(code), &log);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[RDI] = FIX_DATA, c->r[RCX] = 3000, c->r[RDX] = LOG_PORT;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);
	EXPECT_TRUE(c->r[RCX] > 0 && c->r[RCX] < 3000);
	EXPECT_EQ(3000 - c->r[RCX], log.n_in);
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 100));
	EXPECT_EQ(3000, log.n_in);
	EXPECT_EQ(0, c->r[RCX]);
	EXPECT_EQ(FIX_DATA + 3000, c->r[RDI]);
	EXPECT_EQ((u8)2999, *(u8 *)fixture_ptr(mc, FIX_DATA + 2999));
	fixture_free(mc);
}

/* REP OUTSB to the exit port stops after the first byte, with the rest of the count left. */
TEST(sys, rep_outs_to_exit_port_stops)
{
	static const u8 code[] = { 0xf3, 0x6e };
	struct machine *mc = setup(code, sizeof(code), NULL);
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	*(u8 *)fixture_ptr(mc, FIX_DATA) = 42;
	c->r[RSI] = FIX_DATA, c->r[RCX] = 3, c->r[RDX] = 0xf4;
	EXPECT_EQ(CPU_STOP_REQUEST, fixture_step(mc, 1));
	EXPECT_EQ(42, mc->exit_status);
	EXPECT_EQ(2, c->r[RCX]);
	EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);
	fixture_free(mc);
}

/* Runs `facet run` on a guest built from tests/guest/NAME.S; returns its exit status, output in out. */
static int run_guest(const char *name, char *out, size_t outlen)
{
	char cmd[512];
	const char *dir = test_build_dir();
	snprintf(cmd, sizeof(cmd), "%s/facet run %s/tests/guest/%s.elf 2>&1", dir, dir, name);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t n = fread(out, 1, outlen - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(sys, guest_hello_prints_and_exits_7)
{
	char out[4096];
	EXPECT_EQ(7, run_guest("hello", out, sizeof(out)));
	EXPECT_STREQ("hello\n", out);
}

TEST(sys, guest_ud2_is_reported)
{
	char out[8192];
	EXPECT_EQ(3, run_guest("ud2", out, sizeof(out)));
	EXPECT_TRUE(strstr(out, "#UD") != NULL);
	EXPECT_TRUE(strstr(out, "rip 0x100001: ud2") != NULL);
	if (test_failures())
		printf("facet run output:\n%s", out);
}
