/* SPDX-License-Identifier: MIT */
/*
 * A bare machine for tests: 16 MiB of RAM with the boot identity map of
 * `facet run`, one vCPU in the 64-bit entry state, code placed at
 * FIX_CODE and scratch data at FIX_DATA (both identity mapped, RWX).
 */
#ifndef FACET_FIXTURE_H
#define FACET_FIXTURE_H

#include "cpu/cpu.h"
#include "vmm/machine.h"

#define FIX_MEM (16ULL << 20)
#define FIX_CODE 0x200000ULL
#define FIX_DATA 0x300000ULL
#define FIX_STACK 0x400000ULL // initial RSP

/* Creates the machine; returns NULL when out of memory. */
struct machine *fixture_new(void);
void fixture_free(struct machine *mc);
/* Returns vCPU 0. */
struct cpu *fixture_cpu(struct machine *mc);
/* Copies code to FIX_CODE and points RIP at it. */
void fixture_load(struct machine *mc, const void *code, size_t len);
/* Returns the host pointer of guest-physical address gpa. */
void *fixture_ptr(struct machine *mc, u64 gpa);
/* Single-steps n instructions; returns the enum cpu_stop of the last step that stopped early, or CPU_STOP_BUDGET. */
enum cpu_stop fixture_step(struct machine *mc, unsigned n);
/*
 * Sets U/S in every entry of the boot identity map and flushes the TLB, so
 * code and data become user-accessible and tests can run at CPL 3.
 */
void fixture_user_pages(struct machine *mc);
/* Runs the decoded-block path (cpu_run) for up to budget instructions. */
enum cpu_stop fixture_run(struct machine *mc, u64 budget);

#endif
