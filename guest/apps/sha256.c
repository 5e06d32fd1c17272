/* SPDX-License-Identifier: MIT */
/*
 * Guest program: SHA-256 of published test vectors (FIPS 180-2 appendix
 * B: "abc", the 448-bit message and one million 'a'; the empty message and
 * NIST's 896-bit message), each printed as "sha256 NAME DIGEST" and
 * compared with the published digest. Then the same 1 KiB message fed in
 * pieces of many sizes must give its one-shot digest, which exercises the
 * partial-block paths. Ends with "sha256: N/N ok" and status 0, or status
 * 1 when anything differed. tests/guest/sha256_test.c checks the lines.
 */
#include "libc.h"
#include "sha256.h"

struct vector {
	const char *name;
	const char *text;   // the message, or one chunk of it
	unsigned repeat;    // how many times text is repeated
	const char *digest; // published SHA-256
};

static const struct vector vectors[] = {
	{ "abc", "abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "empty", "", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "448bit", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "896bit",
	  "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  1, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	{ "million_a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  10000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
};

static bool check_vector(const struct vector *v)
{
	struct sha256 s;
	uint8_t d[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	size_t len = strlen(v->text);
	sha256_init(&s);
	for (unsigned r = 0; r < v->repeat; r++)
		sha256_update(&s, v->text, len);
	sha256_final(&s, d);
	sha256_to_hex(d, hex);
	bool ok = strcmp(hex, v->digest) == 0;
	printf("sha256 %s %s%s\n", v->name, hex, ok ? "" : " MISMATCH");
	return ok;
}

/* Feeds a 1 KiB message in pieces of `step` bytes; returns whether the digest matches `want`. */
static bool check_pieces(const uint8_t *msg, size_t len, size_t step, const char *want)
{
	struct sha256 s;
	uint8_t d[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	sha256_init(&s);
	for (size_t off = 0; off < len; off += step)
		sha256_update(&s, msg + off, len - off < step ? len - off : step);
	sha256_final(&s, d);
	sha256_to_hex(d, hex);
	if (strcmp(hex, want)) {
		printf("sha256 pieces of %zu: %s, want %s\n", step, hex, want);
		return false;
	}
	return true;
}

static unsigned check_chunking(void)
{
	static const size_t steps[] = { 1, 3, 55, 56, 63, 64, 65, 127, 500, 1024 };
	static uint8_t msg[1024];
	char whole[2 * SHA256_DIGEST_SIZE + 1];
	unsigned ok = 0;
	for (size_t j = 0; j < sizeof(msg); j++)
		msg[j] = (uint8_t)j;
	sha256_hex(msg, sizeof(msg), whole);
	printf("sha256 bytes1k %s\n", whole);
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
		ok += check_pieces(msg, sizeof(msg), steps[k], whole);
	printf("sha256 pieces %u/%zu ok\n", ok, sizeof(steps) / sizeof(steps[0]));
	return ok == sizeof(steps) / sizeof(steps[0]);
}

int main(const struct facet_bootinfo *bi)
{
	unsigned n = sizeof(vectors) / sizeof(vectors[0]), ok = 0;
	for (unsigned k = 0; k < n; k++)
		ok += check_vector(&vectors[k]);
	ok += check_chunking();
	printf("sha256: %u/%u ok\n", ok, n + 1);
	return ok == n + 1 ? 0 : 1;
}
