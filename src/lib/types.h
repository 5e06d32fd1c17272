/* SPDX-License-Identifier: MIT */
/*
 * Fixed-width integer types and the address types of the three address
 * spaces Facet deals with: guest-virtual (gva_t), guest-physical (gpa_t)
 * and host-physical (hpa_t, an offset into the machine's RAM backing).
 * Every other header takes its scalar types from here (STYLE N7).
 */
#ifndef FACET_TYPES_H
#define FACET_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef unsigned __int128 u128;
typedef __int128 s128;

typedef u64 gva_t;
typedef u64 gpa_t;
typedef u64 hpa_t;

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ULL
#define PAGE_MASK (~(PAGE_SIZE - 1))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define must_check __attribute__((warn_unused_result))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
