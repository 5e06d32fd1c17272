/* SPDX-License-Identifier: MIT */
/*
 * The sort guest (guest/apps/sort.c) under `facet run`, in every build
 * variant. The guest checks its two sorts element by element itself; this
 * test regenerates each array natively (same generator, rand.h), sorts it
 * with the host C library's qsort and requires the guest's checksum line.
 */
#include <stdlib.h>

#include "../../guest/apps/sort_cases.h"
#include "../../guest/lib/rand.h"
#include "../unit/test.h"
#include "guest_run.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Formats the line the guest prints for case idx, computed on the host. */
static void expected_line(char *line, size_t len, unsigned idx, unsigned n, uint64_t seed, uint64_t modulus,
			  int is_signed)
{
	static uint64_t v[SORT_MAX_N];
	struct rng r;
	rng_seed(&r, seed);
	for (unsigned j = 0; j < n; j++) {
		uint64_t x = rng_next(&r);
		v[j] = modulus ? x % modulus : x;
	}
	qsort(v, n, sizeof(v[0]), is_signed ? cmp_i64 : cmp_u64);
	uint64_t sum = CHECKSUM_INIT;
	for (unsigned j = 0; j < n; j++)
		sum = checksum_add(sum, v[j]);
	snprintf(line, len, "sort %u n=%u seed=%llu signed=%d checksum=%016llx ok", idx, n, (unsigned long long)seed,
		 is_signed, (unsigned long long)sum);
}

static void check_sort(const char *run, const char *out)
{
	char line[200];
	unsigned idx = 0;
#define SORT_CHECK(n, seed, modulus, is_signed)                                \
	expected_line(line, sizeof(line), idx++, n, seed, modulus, is_signed); \
	EXPECT_LINE(run, out, line);
	SORT_CASES(SORT_CHECK)
#undef SORT_CHECK
	snprintf(line, sizeof(line), "sort: %u/%u ok", idx, idx);
	EXPECT_LINE(run, out, line);
}

TEST(guest, sort)
{
	guest_app_run("sort", NULL, check_sort);
}
