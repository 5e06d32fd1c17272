/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the guest-kernel tests (tests/guest/kernel_*_test.c): run
 * `facet run --cpus N [--cmdline C] kernel.elf -- user/APP.elf ...`
 * several at a time (guest_run.h does the child processes), then look
 * for lines in the console output. The kernel and the user programs are
 * guest/kernel and guest/user, built by `make guests`.
 */
#ifndef FACET_TESTS_KERNEL_TEST_H
#define FACET_TESTS_KERNEL_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include "guest_run.h"

#define KT_MAX_APPS 12
#define KT_PATH 512

/* One run of the kernel: what to run, then what came out. */
struct kernel_run {
	unsigned cpus;                     // --cpus
	const char *cmdline;               // --cmdline, or NULL
	const char *apps[KT_MAX_APPS + 1]; // user program names ("sum"), NULL-terminated
	bool stats;                        // --stats
	const char *mem;                   // --mem, or NULL
	struct guest_job job;              // argv, then out, err, status, timed_out
	char paths[KT_MAX_APPS + 2][KT_PATH]; // storage for facet, kernel and module paths
	char cpus_arg[16];
};

/* Runs the prepared runs in parallel (up to a minute each); fills each job's results. */
void kernel_runs(struct kernel_run *runs, size_t n);
/* Frees the captured output of the runs. */
void kernel_runs_free(struct kernel_run *runs, size_t n);
/* Records a failure unless the run exited with status want; shows the console's tail and stderr. */
void kernel_expect_status(const char *file, int line, const struct kernel_run *r, int want);
#define EXPECT_KERNEL_STATUS(r, want) kernel_expect_status(__FILE__, __LINE__, (r), (want))
/* Returns the first line of text that starts with prefix (a pointer into text), or NULL. */
const char *kernel_find_line(const char *text, const char *prefix);
/* Writes the path of a user program's ELF ("sum" -> BUILD/guest/user/sum.elf). */
void kernel_app_path(char *buf, size_t len, const char *app);
/* Writes the path of the kernel ELF. */
void kernel_elf_path(char *buf, size_t len);

#endif
