/* SPDX-License-Identifier: MIT */
/*
 * Tests of the near control transfers (exec_ctl.c). Conditions are
 * checked against the host: the same flags are loaded with POPFQ and the
 * host's own Jcc decides. Other expectations are computed by hand from
 * the SDM. The 66h forms follow Intel (see exec_ctl.c), which the AMD
 * host does not, so they are checked against the SDM only.
 */
#include "fixture.h"
#include "test.h"

#include "cpu/flags.h"

#define NONCANON 0x0000800000000000ULL // first non-canonical address above the lower half

/* Creates the test machine with code at FIX_CODE; NULL only when out of memory. */
static struct machine *setup(const u8 *code, size_t n)
{
	struct machine *mc = fixture_new();
	if (mc)
		fixture_load(mc, code, n);
	return mc;
}

static u64 peek64(struct machine *mc, u64 gpa)
{
	u64 v;
	memcpy(&v, fixture_ptr(mc, gpa), 8);
	return v;
}

static void poke64(struct machine *mc, u64 gpa, u64 v)
{
	memcpy(fixture_ptr(mc, gpa), &v, 8);
}

/*
 * Host Jcc: loads `fl` into RFLAGS and reports whether the host took the
 * branch. The stack pointer moves below the red zone first, so the
 * PUSH cannot clobber locals the compiler keeps there.
 */
#define HOST_JCC(cc)                                                                        \
	static int host_##cc(u64 fl)                                                            \
	{                                                                                       \
		int t;                                                                              \
		__asm__ volatile("lea -128(%%rsp), %%rsp\n\tpush %1\n\tpopfq\n\t" #cc " 1f\n\t"     \
				 "mov $0, %0\n\tjmp 2f\n1:\tmov $1, %0\n2:\tlea 128(%%rsp), %%rsp"          \
				 : "=r"(t)                                                                  \
				 : "r"(fl)                                                                  \
				 : "cc", "memory");                                                         \
		return t;                                                                           \
	}
HOST_JCC(jo)
HOST_JCC(jno)
HOST_JCC(jb)
HOST_JCC(jae)
HOST_JCC(je)
HOST_JCC(jne)
HOST_JCC(jbe)
HOST_JCC(ja)
HOST_JCC(js)
HOST_JCC(jns)
HOST_JCC(jp)
HOST_JCC(jnp)
HOST_JCC(jl)
HOST_JCC(jge)
HOST_JCC(jle)
HOST_JCC(jg)

static int (*const host_jcc[16])(u64) = {
	host_jo, host_jno, host_jb, host_jae, host_je, host_jne, host_jbe, host_ja,
	host_js, host_jns, host_jp, host_jnp, host_jl, host_jge, host_jle, host_jg,
};

/* Runs Jcc cc (rel8 or rel32 form) once with the flags already in the vCPU; 1 taken, 0 not, -1 surprise. */
static int facet_jcc(struct machine *mc, unsigned cc, bool rel32)
{
	u8 code[6] = { 0x0f, (u8)(0x80 | cc), 0x40, 0, 0, 0 };
	unsigned len = 6;
	if (!rel32)
		code[0] = (u8)(0x70 | cc), code[1] = 0x40, len = 2;
	fixture_load(mc, code, len);
	struct cpu *c = fixture_cpu(mc);
	struct lazy_flags saved = c->lf;
	u64 saved_rflags = c->rflags;
	if (fixture_step(mc, 1) != CPU_STOP_BUDGET)
		return -1;
	c->lf = saved, c->rflags = saved_rflags; // evaluating a condition may fold lazy flags
	if (c->r[REG_RIP] == FIX_CODE + len + 0x40)
		return 1;
	return c->r[REG_RIP] == FIX_CODE + len ? 0 : -1;
}

TEST(ctl, jcc_all_conditions_match_host)
{
	static const u64 bits[5] = { RFLAGS_CF, RFLAGS_PF, RFLAGS_ZF, RFLAGS_SF, RFLAGS_OF };
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	for (unsigned combo = 0; combo < 32; combo++) {
		u64 fl = RFLAGS_FIXED1;
		for (unsigned b = 0; b < 5; b++)
			fl |= (combo >> b & 1) ? bits[b] : 0;
		flags_set(fixture_cpu(mc), fl);
		for (unsigned cc = 0; cc < 16; cc++) {
			EXPECT_EQ(host_jcc[cc](fl), facet_jcc(mc, cc, false));
			EXPECT_EQ(host_jcc[cc](fl), facet_jcc(mc, cc, true));
		}
	}
	fixture_free(mc);
}

/* Host flags of `cmp a, b` (a - b) at operand size `size`. */
static u64 host_cmp_flags(u64 a, u64 b, unsigned size)
{
	u64 fl;
	switch (size) {
	case 1: __asm__ volatile("cmp %b2, %b1\n\tpushfq\n\tpop %0" : "=r"(fl) : "q"(a), "q"(b) : "cc"); break;
	case 2: __asm__ volatile("cmp %w2, %w1\n\tpushfq\n\tpop %0" : "=r"(fl) : "r"(a), "r"(b) : "cc"); break;
	case 4: __asm__ volatile("cmp %k2, %k1\n\tpushfq\n\tpop %0" : "=r"(fl) : "r"(a), "r"(b) : "cc"); break;
	default: __asm__ volatile("cmp %2, %1\n\tpushfq\n\tpop %0" : "=r"(fl) : "r"(a), "r"(b) : "cc"); break;
	}
	return fl;
}

/* Jcc reading flags that are still lazy, as a CMP leaves them, at each operand size. */
TEST(ctl, jcc_after_lazy_cmp_matches_host)
{
	static const u64 vals[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0x7fffffff, 0x80000000,
				    0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, 0x1234 };
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (unsigned x = 0; x < ARRAY_SIZE(vals); x++) {
		for (unsigned y = 0; y < ARRAY_SIZE(vals); y++) {
			for (unsigned size = 1; size <= 8; size *= 2) {
				u64 m = size_mask(size), a = vals[x] & m, b = vals[y] & m;
				u64 fl = host_cmp_flags(a, b, size);
				lf_set(c, LF_SUB, size, a, b, (a - b) & m);
				for (unsigned cc = 0; cc < 16; cc++)
					EXPECT_EQ(host_jcc[cc](fl), facet_jcc(mc, cc, false));
			}
		}
	}
	fixture_free(mc);
}

TEST(ctl, jmp_relative_forms)
{
	static const u8 fwd8[] = { 0xeb, 0x10 };                   // jmp +0x10
	static const u8 self8[] = { 0xeb, 0xfe };                  // jmp $
	static const u8 back32[] = { 0xe9, 0x00, 0xf0, 0xff, 0xff }; // jmp -0x1000
	struct machine *mc = setup(fwd8, sizeof(fwd8));
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 2 + 0x10, c->r[REG_RIP]);
	fixture_load(mc, self8, sizeof(self8));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 3));
	EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);
	fixture_load(mc, back32, sizeof(back32));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 5 - 0x1000, c->r[REG_RIP]);
	fixture_free(mc);
}

TEST(ctl, jmp_indirect_register_and_memory)
{
	static const u8 jmp_r11[] = { 0x41, 0xff, 0xe3 };                         // jmp r11
	static const u8 jmp_mrax[] = { 0xff, 0x20 };                              // jmp [rax]
	static const u8 jmp_rip[] = { 0xff, 0x25, 0x10, 0x00, 0x00, 0x00 };       // jmp [rip+0x10]
	static const u8 jmp_sib[] = { 0xff, 0x64, 0xcb, 0x08 };                   // jmp [rbx+rcx*8+8]
	struct machine *mc = setup(jmp_r11, sizeof(jmp_r11));
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[R11] = 0x123456;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x123456, c->r[REG_RIP]);

	fixture_load(mc, jmp_mrax, sizeof(jmp_mrax));
	poke64(mc, FIX_DATA, 0xabcdef);
	c->r[RAX] = FIX_DATA;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0xabcdef, c->r[REG_RIP]);

	fixture_load(mc, jmp_rip, sizeof(jmp_rip));
	poke64(mc, FIX_CODE + 6 + 0x10, 0x2468ac);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x2468ac, c->r[REG_RIP]);

	fixture_load(mc, jmp_sib, sizeof(jmp_sib));
	c->r[RBX] = FIX_DATA, c->r[RCX] = 3;
	poke64(mc, FIX_DATA + 32, 0x13579b);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x13579b, c->r[REG_RIP]);
	fixture_free(mc);
}

/* A non-canonical target faults on the branch (Intel): RIP and everything else unchanged. */
TEST(ctl, noncanonical_targets_raise_gp_on_the_branch)
{
	static const u8 jmp_rax[] = { 0xff, 0xe0 };  // jmp rax
	static const u8 call_rax[] = { 0xff, 0xd0 }; // call rax
	static const u8 ret[] = { 0xc3 };
	static const u64 bad[] = { NONCANON, 0xffff7fffffffffffULL, 0x0123456789abcdefULL };
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (unsigned k = 0; k < ARRAY_SIZE(bad); k++) {
		fixture_load(mc, jmp_rax, sizeof(jmp_rax));
		c->r[RAX] = bad[k];
		EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
		EXPECT_EQ(VEC_GP, c->exc.vector);
		EXPECT_TRUE(c->exc.has_error && c->exc.error == 0);
		EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);

		fixture_load(mc, call_rax, sizeof(call_rax));
		poke64(mc, FIX_STACK - 8, 0x5a5a);
		EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
		EXPECT_EQ(VEC_GP, c->exc.vector);
		EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);
		EXPECT_EQ(FIX_STACK, c->r[RSP]);
		EXPECT_EQ(0x5a5a, peek64(mc, FIX_STACK - 8));

		fixture_load(mc, ret, sizeof(ret));
		c->r[RSP] = FIX_STACK - 8;
		poke64(mc, FIX_STACK - 8, bad[k]);
		EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
		EXPECT_EQ(VEC_GP, c->exc.vector);
		EXPECT_EQ(FIX_STACK - 8, c->r[RSP]);
		c->r[RSP] = FIX_STACK;
	}
	/* The canonical upper half is fine to jump to (the fetch there faults later, not the branch). */
	fixture_load(mc, jmp_rax, sizeof(jmp_rax));
	c->r[RAX] = 0xffff800000000000ULL;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0xffff800000000000ULL, c->r[REG_RIP]);
	fixture_free(mc);
}

TEST(ctl, call_and_ret)
{
	/* call +0x20 ; ... ; at +0x25: ret 0x10 */
	u8 code[0x28] = { 0xe8, 0x20, 0x00, 0x00, 0x00 };
	code[0x25] = 0xc2, code[0x26] = 0x10, code[0x27] = 0x00;
	struct machine *mc = setup(code, sizeof(code));
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 0x25, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK - 8, c->r[RSP]);
	EXPECT_EQ(FIX_CODE + 5, peek64(mc, FIX_STACK - 8));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 5, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK + 0x10, c->r[RSP]);
	fixture_free(mc);
}

TEST(ctl, call_indirect_forms)
{
	static const u8 call_rsp[] = { 0xff, 0xd4 };             // call rsp: the target is the old RSP
	static const u8 call_mrsp[] = { 0xff, 0x14, 0x24 };      // call [rsp]: address from the old RSP
	static const u8 call_r9[] = { 0x41, 0xff, 0xd1 };        // call r9
	struct machine *mc = setup(call_rsp, sizeof(call_rsp));
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_STACK, c->r[REG_RIP]);
	EXPECT_EQ(FIX_CODE + 2, peek64(mc, FIX_STACK - 8));

	fixture_load(mc, call_mrsp, sizeof(call_mrsp));
	c->r[RSP] = FIX_STACK;
	poke64(mc, FIX_STACK, 0x777000);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x777000, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK - 8, c->r[RSP]);
	EXPECT_EQ(FIX_CODE + 3, peek64(mc, FIX_STACK - 8));

	fixture_load(mc, call_r9, sizeof(call_r9));
	c->r[RSP] = FIX_STACK;
	c->r[R9] = 0x31337;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x31337, c->r[REG_RIP]);
	EXPECT_EQ(FIX_CODE + 3, peek64(mc, FIX_STACK - 8));
	fixture_free(mc);
}

/* Faults in the target load or the push leave RIP, RSP and memory as they were. */
TEST(ctl, call_faults_before_commit)
{
	static const u8 call_rel[] = { 0xe8, 0x00, 0x01, 0x00, 0x00 };
	static const u8 call_mrax[] = { 0xff, 0x10 }; // call [rax]
	static const u8 ret[] = { 0xc3 };
	struct machine *mc = setup(call_rel, sizeof(call_rel));
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[RSP] = 0x10; // page 0 is not mapped
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(0x10, c->r[RSP]);
	EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);

	fixture_load(mc, call_mrax, sizeof(call_mrax));
	c->r[RSP] = FIX_STACK;
	c->r[RAX] = 0x20;
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(FIX_STACK, c->r[RSP]);
	EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);

	fixture_load(mc, ret, sizeof(ret));
	c->r[RSP] = 0x18;
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(VEC_PF, c->exc.vector);
	EXPECT_EQ(0x18, c->r[RSP]);
	fixture_free(mc);
}

/*
 * Intel ignores 66h on near branches in 64-bit mode (SDM Vol. 2A CALL,
 * JMP, RET, Jcc): 66 E8 still takes a rel32 and pushes 8 bytes, targets
 * are not truncated to 16 bits. (The AMD host truncates: not compared.)
 */
TEST(ctl, operand_size_prefix_is_ignored_like_intel)
{
	static const u8 call66[] = { 0x66, 0xe8, 0x00, 0x01, 0x00, 0x00 };
	static const u8 ret66[] = { 0x66, 0xc3 };
	static const u8 jmp66[] = { 0x66, 0xeb, 0x10 };
	static const u8 jz66[] = { 0x66, 0x0f, 0x84, 0x00, 0x02, 0x00, 0x00 };
	static const u8 jmprax66[] = { 0x66, 0xff, 0xe0 };
	struct machine *mc = setup(call66, sizeof(call66));
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 6 + 0x100, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK - 8, c->r[RSP]);
	EXPECT_EQ(FIX_CODE + 6, peek64(mc, FIX_STACK - 8));

	fixture_load(mc, ret66, sizeof(ret66));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 6, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK, c->r[RSP]);

	fixture_load(mc, jmp66, sizeof(jmp66));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 3 + 0x10, c->r[REG_RIP]);

	fixture_load(mc, jz66, sizeof(jz66));
	flags_set(c, RFLAGS_ZF);
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 7 + 0x200, c->r[REG_RIP]);

	fixture_load(mc, jmprax66, sizeof(jmprax66));
	c->r[RAX] = 0x0000001234567890ULL;
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(0x0000001234567890ULL, c->r[REG_RIP]);
	fixture_free(mc);
}

TEST(ctl, jrcxz_and_jecxz)
{
	static const u8 jrcxz[] = { 0xe3, 0x10 };
	static const u8 jecxz[] = { 0x67, 0xe3, 0x10 };
	struct machine *mc = setup(jrcxz, sizeof(jrcxz));
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[RCX] = 0x100000000ULL; // ECX == 0, RCX != 0
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 2, c->r[REG_RIP]);
	fixture_load(mc, jecxz, sizeof(jecxz));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 3 + 0x10, c->r[REG_RIP]);
	EXPECT_EQ(0x100000000ULL, c->r[RCX]);
	c->r[RCX] = 0;
	fixture_load(mc, jrcxz, sizeof(jrcxz));
	EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
	EXPECT_EQ(FIX_CODE + 2 + 0x10, c->r[REG_RIP]);
	fixture_free(mc);
}

/* LOOP family cases; expectations from the SDM and, for 67h counts, the host (zero-extending). */
struct loop_case {
	u8 code[3];
	u8 len;
	u64 rcx, zf;
	u64 want_rcx;
	bool taken;
};

TEST(ctl, loop_family)
{
	static const struct loop_case cases[] = {
		{ { 0xe2, 0x10 }, 2, 3, 0, 2, true },
		{ { 0xe2, 0x10 }, 2, 1, 0, 0, false },
		{ { 0xe2, 0x10 }, 2, 0, 0, ~0ULL, true },
		{ { 0xe2, 0x10 }, 2, 0x100000000ULL, 0, 0xffffffffULL, true },
		{ { 0x67, 0xe2, 0x10 }, 3, 0xffffffff00000001ULL, 0, 0, false },
		{ { 0x67, 0xe2, 0x10 }, 3, 0xabc00000000ULL, 0, 0xffffffffULL, true },
		{ { 0x67, 0xe2, 0x10 }, 3, 0xabc00000005ULL, 0, 4, true },
		{ { 0xe1, 0x10 }, 2, 5, RFLAGS_ZF, 4, true },  // loope, ZF=1
		{ { 0xe1, 0x10 }, 2, 5, 0, 4, false },         // loope, ZF=0
		{ { 0xe1, 0x10 }, 2, 1, RFLAGS_ZF, 0, false }, // loope, count ends
		{ { 0xe0, 0x10 }, 2, 5, 0, 4, true },          // loopne, ZF=0
		{ { 0xe0, 0x10 }, 2, 5, RFLAGS_ZF, 4, false }, // loopne, ZF=1
		{ { 0x67, 0xe0, 0x10 }, 3, 0x700000001ULL, 0, 0, false },
		{ { 0x67, 0xe1, 0x10 }, 3, 0x700000002ULL, RFLAGS_ZF, 1, true },
	};
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		const struct loop_case *t = &cases[k];
		fixture_load(mc, t->code, t->len);
		c->r[RCX] = t->rcx;
		flags_set(c, t->zf | RFLAGS_CF);
		EXPECT_EQ(CPU_STOP_BUDGET, fixture_step(mc, 1));
		EXPECT_EQ(t->want_rcx, c->r[RCX]);
		EXPECT_EQ(FIX_CODE + t->len + (t->taken ? 0x10 : 0), c->r[REG_RIP]);
		EXPECT_EQ(t->zf | RFLAGS_CF | RFLAGS_FIXED1, flags_get(c)); // LOOP changes no flag
	}
	fixture_free(mc);
}

/*
 * Far forms go through the GDT (exec_far.c, tests in priv_far_test.c);
 * here the pointer and the stack hold a null selector: #GP(0) (SDM JMP,
 * CALL, RET: "IF segment selector in target operand NULL"), nothing changed.
 */
TEST(ctl, far_forms_with_null_selector_raise_gp)
{
	static const u8 forms[][3] = {
		{ 0xff, 0x28 }, // jmp far [rax]
		{ 0xff, 0x18 }, // call far [rax]
		{ 0xcb },       // retf
		{ 0xca, 0x08, 0x00 }, // retf 8
	};
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	for (unsigned k = 0; k < ARRAY_SIZE(forms); k++) {
		fixture_load(mc, forms[k], 3);
		c->r[RAX] = FIX_DATA;
		EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
		EXPECT_EQ(VEC_GP, c->exc.vector);
		EXPECT_TRUE(c->exc.has_error && c->exc.error == 0);
		EXPECT_EQ(FIX_CODE, c->r[REG_RIP]);
		EXPECT_EQ(FIX_STACK, c->r[RSP]);
	}
	fixture_free(mc);
}

/* The decoded-block path: a LOOP spinning on itself, then a CALL/RET pair, ending at HLT. */
TEST(ctl, block_path_loop_call_ret)
{
	static const u8 code[] = {
		0xe2, 0xfe,                   // 0: loop 0
		0xe8, 0x01, 0x00, 0x00, 0x00, // 2: call 8
		0xf4,                         // 7: hlt
		0xc3,                         // 8: ret
	};
	struct machine *mc = setup(code, sizeof(code));
	ASSERT_TRUE(mc != NULL);
	struct cpu *c = fixture_cpu(mc);
	c->r[RCX] = 5;
	EXPECT_EQ(CPU_STOP_HLT, fixture_run(mc, 1000));
	EXPECT_EQ(0, c->r[RCX]);
	EXPECT_EQ(FIX_CODE + 8, c->r[REG_RIP]);
	EXPECT_EQ(FIX_STACK, c->r[RSP]);
	EXPECT_EQ(5 + 3, c->icount);
	fixture_free(mc);
}
