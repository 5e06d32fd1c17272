/* SPDX-License-Identifier: MIT */
/*
 * The arith guest (guest/apps/arith.c) under `facet run`, in every build
 * variant. The expressions of arith_ops.h are compiled here for the host
 * too and evaluated natively: the host CPU gives the expected checksum of
 * every operation, which the guest's line must match.
 */
#include "../../guest/apps/arith_ops.h"
#include "../unit/test.h"
#include "guest_run.h"

static void check_arith(const char *run, const char *out)
{
	char line[200];
	for (size_t k = 0; k < ARITH_NOPS; k++) {
		snprintf(line, sizeof(line), "arith %s %016llx", arith_ops[k].name,
			 (unsigned long long)arith_checksum(&arith_ops[k]));
		EXPECT_LINE(run, out, line);
	}
	snprintf(line, sizeof(line), "arith: %u ops, %u inputs, identities ok", (unsigned)ARITH_NOPS,
		 (unsigned)ARITH_NINPUTS);
	EXPECT_LINE(run, out, line);
}

TEST(guest, arith)
{
	guest_app_run("arith", NULL, check_arith);
}
