/* SPDX-License-Identifier: MIT */
/* The decoder's fallback: an instruction no family implements raises #UD without changing state. */
#include "fixture.h"
#include "test.h"

TEST(fixture, invalid_opcode_raises_ud)
{
	static const u8 code[] = { 0x0f, 0xff }; // UD0 without ModRM: invalid in 64-bit mode
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	fixture_load(mc, code, sizeof(code));
	EXPECT_EQ(CPU_STOP_EXCEPTION, fixture_step(mc, 1));
	EXPECT_EQ(VEC_UD, fixture_cpu(mc)->exc.vector);
	EXPECT_EQ(FIX_CODE, fixture_cpu(mc)->r[REG_RIP]);
	fixture_free(mc);
}

/* The decoded-block path counts instructions exactly where RDTSC reads them. */
TEST(fixture, rdtsc_sees_exact_count_in_blocks)
{
	static const u8 code[] = { 0x90, 0x90, 0x90, 0x0f, 0x31, 0xeb, 0xfe }; // nop x3; rdtsc; jmp $
	struct machine *mc = fixture_new();
	ASSERT_TRUE(mc != NULL);
	fixture_load(mc, code, sizeof(code));
	fixture_run(mc, 4);
	EXPECT_EQ(4, fixture_cpu(mc)->icount);
	EXPECT_EQ(3, fixture_cpu(mc)->r[RAX]);
	EXPECT_EQ(0, fixture_cpu(mc)->r[RDX]);
	fixture_free(mc);
}
