/* SPDX-License-Identifier: MIT */
/*
 * The sha256 guest (guest/apps/sha256.c) under `facet run`, in every
 * build variant: its digests must be the published ones (FIPS 180-2
 * appendix B, NIST's 896-bit example, and for "bytes1k", bytes 0..255
 * four times, the digest Python's hashlib gives).
 */
#include "../unit/test.h"
#include "guest_run.h"

static void check_sha256(const char *run, const char *out)
{
	static const char *const want[] = {
		"sha256 abc ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"sha256 empty e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"sha256 448bit 248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		"sha256 896bit cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
		"sha256 million_a cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
		"sha256 bytes1k 785b0751fc2c53dc14a4ce3d800e69ef9ce1009eb327ccf458afe09c242c26c9",
		"sha256 pieces 10/10 ok",
		"sha256: 6/6 ok",
	};
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		EXPECT_LINE(run, out, want[k]);
}

TEST(guest, sha256)
{
	guest_app_run("sha256", NULL, check_sha256);
}
