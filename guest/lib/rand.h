/* SPDX-License-Identifier: MIT */
/*
 * A small deterministic pseudo-random generator (xorshift64*, Vigna 2014)
 * for guest workloads. Header-only and free of library calls, so that a
 * host-side test can regenerate exactly the data a guest worked on and
 * recompute the guest's result natively.
 */
#ifndef GUEST_RAND_H
#define GUEST_RAND_H

#include <stdint.h>

struct rng {
	uint64_t s; // never 0
};

static inline void rng_seed(struct rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

/* Returns the next 64-bit value. */
static inline uint64_t rng_next(struct rng *r)
{
	uint64_t x = r->s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Folds v into a running checksum (order-sensitive; FNV-1a style on 64-bit words). */
static inline uint64_t checksum_add(uint64_t sum, uint64_t v)
{
	return (sum ^ v) * 0x100000001b3ull + (v >> 29);
}

#define CHECKSUM_INIT 0xcbf29ce484222325ull

#endif
