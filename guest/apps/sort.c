/* SPDX-License-Identifier: MIT */
/*
 * Guest program: sorts pseudo-random 64-bit arrays (rand.h) with a
 * quicksort (median of three, insertion sort for short ranges) and a
 * top-down mergesort, then checks in the guest, element by element, that
 * both results are ordered and equal to each other, and that sorting kept
 * the multiset (sum and xor unchanged). Signed and unsigned orders are
 * both used. Each case prints
 *   sort CASE n=N seed=S signed=B checksum=C ok
 * where C folds the sorted array with checksum_add(); the test
 * (tests/guest/sort_test.c) regenerates the array natively, sorts it
 * with the host's qsort and compares C. Exit status 0 when all passed.
 */
#include "libc.h"
#include "rand.h"
#include "sort_cases.h"

struct sort_case {
	unsigned n;
	uint64_t seed;
	uint64_t modulus; // 0: full 64-bit values; else values mod this (many duplicates)
	bool is_signed;
};

#define SORT_ROW(n, seed, modulus, is_signed) { n, seed, modulus, is_signed },
static const struct sort_case cases[] = { SORT_CASES(SORT_ROW) };

static uint64_t a[SORT_MAX_N], b[SORT_MAX_N], orig[SORT_MAX_N], tmp[SORT_MAX_N];

static bool less(uint64_t x, uint64_t y, bool is_signed)
{
	return is_signed ? (int64_t)x < (int64_t)y : x < y;
}

static void insertion_sort(uint64_t *v, long lo, long hi, bool sg)
{
	for (long j = lo + 1; j <= hi; j++) {
		uint64_t x = v[j];
		long k = j - 1;
		while (k >= lo && less(x, v[k], sg)) {
			v[k + 1] = v[k];
			k--;
		}
		v[k + 1] = x;
	}
}

static void swap(uint64_t *v, long i, long j)
{
	uint64_t t = v[i];
	v[i] = v[j];
	v[j] = t;
}

/* Hoare-partition quicksort of v[lo..hi]; recurses on the smaller side. */
static void quicksort(uint64_t *v, long lo, long hi, bool sg)
{
	while (hi - lo > 16) {
		long mid = lo + (hi - lo) / 2;
		if (less(v[mid], v[lo], sg))
			swap(v, mid, lo);
		if (less(v[hi], v[lo], sg))
			swap(v, hi, lo);
		if (less(v[hi], v[mid], sg))
			swap(v, hi, mid);
		uint64_t pivot = v[mid];
		long i = lo - 1, j = hi + 1;
		for (;;) {
			do i++; while (less(v[i], pivot, sg));
			do j--; while (less(pivot, v[j], sg));
			if (i >= j)
				break;
			swap(v, i, j);
		}
		if (j - lo < hi - j) {
			quicksort(v, lo, j, sg);
			lo = j + 1;
		} else {
			quicksort(v, j + 1, hi, sg);
			hi = j;
		}
	}
	insertion_sort(v, lo, hi, sg);
}

static void mergesort(uint64_t *v, uint64_t *t, size_t n, bool sg)
{
	if (n < 2)
		return;
	size_t h = n / 2, i = 0, j = h, k = 0;
	mergesort(v, t, h, sg);
	mergesort(v + h, t, n - h, sg);
	while (i < h && j < n)
		t[k++] = less(v[j], v[i], sg) ? v[j++] : v[i++];
	while (i < h)
		t[k++] = v[i++];
	while (j < n)
		t[k++] = v[j++];
	memcpy(v, t, n * sizeof(*v));
}

/* Checks order, agreement of the two sorts and the multiset; prints the first problem. */
static bool verify(const struct sort_case *c)
{
	uint64_t sum0 = 0, sum1 = 0, x0 = 0, x1 = 0;
	for (unsigned j = 0; j < c->n; j++) {
		if (a[j] != b[j]) {
			printf("sort: quicksort and mergesort differ at %u: %#llx %#llx\n", j,
			       (unsigned long long)a[j], (unsigned long long)b[j]);
			return false;
		}
		if (j && less(a[j], a[j - 1], c->is_signed)) {
			printf("sort: out of order at %u\n", j);
			return false;
		}
		sum0 += orig[j], x0 ^= orig[j], sum1 += a[j], x1 ^= a[j];
	}
	if (sum0 != sum1 || x0 != x1) {
		printf("sort: elements changed (sum %#llx -> %#llx)\n", (unsigned long long)sum0,
		       (unsigned long long)sum1);
		return false;
	}
	return true;
}

static bool run_case(unsigned idx, const struct sort_case *c)
{
	struct rng r;
	rng_seed(&r, c->seed);
	for (unsigned j = 0; j < c->n; j++) {
		uint64_t v = rng_next(&r);
		orig[j] = a[j] = b[j] = c->modulus ? v % c->modulus : v;
	}
	quicksort(a, 0, (long)c->n - 1, c->is_signed);
	mergesort(b, tmp, c->n, c->is_signed);
	bool ok = verify(c);
	uint64_t sum = CHECKSUM_INIT;
	for (unsigned j = 0; j < c->n; j++)
		sum = checksum_add(sum, a[j]);
	printf("sort %u n=%u seed=%llu signed=%d checksum=%016llx %s\n", idx, c->n, (unsigned long long)c->seed,
	       c->is_signed, (unsigned long long)sum, ok ? "ok" : "FAILED");
	return ok;
}

int main(const struct facet_bootinfo *bi)
{
	unsigned n = sizeof(cases) / sizeof(cases[0]), ok = 0;
	for (unsigned k = 0; k < n; k++)
		ok += run_case(k, &cases[k]);
	printf("sort: %u/%u ok\n", ok, n);
	return ok == n ? 0 : 1;
}
