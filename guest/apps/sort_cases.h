/* SPDX-License-Identifier: MIT */
/*
 * The arrays the sort guest sorts, shared with its host-side test
 * (tests/guest/sort_test.c), which regenerates each one with rand.h and
 * recomputes the checksum natively. One row: X(n, seed, modulus,
 * is_signed); modulus 0 keeps full 64-bit values, a small modulus makes
 * many duplicate keys.
 */
#ifndef GUEST_SORT_CASES_H
#define GUEST_SORT_CASES_H

#define SORT_MAX_N 20000

#define SORT_CASES(X)                                                                          \
	X(1, 1, 0, 0) X(2, 2, 0, 0) X(17, 3, 0, 1) X(100, 4, 10, 0) X(1000, 5, 0, 1)           \
	X(4096, 6, 1000, 1) X(20000, 7, 0, 0) X(20000, 8, 0, 1) X(5000, 9, 3, 0)

#endif
