/* SPDX-License-Identifier: MIT */
/*
 * Helpers for guest-level tests (STYLE T5): run the guest programs of
 * guest/apps under `facet run` (or another emulator) as child processes,
 * several at once, capture their console output, and check it line by
 * line. Every app is built in several variants (gcc -O0/-O2/-O3, clang
 * -O1/-O3); guest_app_run() runs all variants that were built and hands
 * each output to a checker.
 */
#ifndef FACET_TESTS_GUEST_RUN_H
#define FACET_TESTS_GUEST_RUN_H

#include <stdbool.h>
#include <stddef.h>

#define GUEST_MAX_ARGS 20

/* One child process: argv in, output and status out. */
struct guest_job {
	const char *argv[GUEST_MAX_ARGS]; // NULL-terminated; argv[0] is the program path
	char *out;                        // captured stdout, NUL-terminated (malloc'd)
	char *err;                        // captured stderr, NUL-terminated (malloc'd)
	int status;                       // exit status; -1 if it could not start or died by a signal
	bool timed_out;                   // killed after the time limit
};

/*
 * Runs the jobs, as many at a time as there are host CPUs, each for at
 * most timeout_secs of wall time; fills out, err, status and timed_out.
 */
void guest_jobs_run(struct guest_job *jobs, size_t n, unsigned timeout_secs);
/* Frees the captured output of the jobs. */
void guest_jobs_free(struct guest_job *jobs, size_t n);

/* Returns whether text contains line as a complete line. */
bool guest_has_line(const char *text, const char *line);

/* Called with a run's label ("sha256-gcc-O2") and its console output. */
typedef void (*guest_check_fn)(const char *variant, const char *out);

/*
 * Runs every built variant of app under `$(FACET_BUILD)/facet run`, with
 * --cmdline cmdline when cmdline is not NULL. Records a test failure for
 * a variant that is missing (gcc variants must exist; clang ones only
 * when clang built any), that does not exit with status 0, or that runs
 * out of time, showing Facet's report; calls check for the others.
 */
void guest_app_run(const char *app, const char *cmdline, guest_check_fn check);

/* Records a failure unless out (variant's console output) holds line as a whole line. */
#define EXPECT_LINE(variant, out, line)                                                        \
	do {                                                                                   \
		const char *l_ = (line);                                                       \
		if (!guest_has_line((out), l_))                                                \
			test_fail(__FILE__, __LINE__, "%s: want the line \"%s\" in the output", \
				  (variant), l_);                                              \
	} while (0)

/* The variant `make demo` and the benchmarks use: "gcc-O2". */
extern const char *const guest_main_variant;

/* Like guest_app_run, for the main variant only (long-running guests). */
void guest_app_run_main(const char *app, const char *cmdline, guest_check_fn check);

/* Writes the path of app's ELF in the given variant into buf. */
void guest_elf_path(char *buf, size_t len, const char *app, const char *variant);

/* Returns whether an executable named prog is on PATH. */
bool guest_have_program(const char *prog);

#endif
