/* SPDX-License-Identifier: MIT */
/*
 * The guest kernel running worker processes on 1, 2 and 4 vCPUs: every
 * worker's result must be the one computed here natively, every process
 * must exit with status 0, and with 4 vCPUs every vCPU must have run
 * processes. Also the helpers of kernel_test.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/test.h"
#include "kernel_test.h"

#define KERNEL_TIMEOUT_SECS 120

void kernel_app_path(char *buf, size_t len, const char *app)
{
	snprintf(buf, len, "%s/guest/user/%s.elf", test_build_dir(), app);
}

void kernel_elf_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/guest/kernel.elf", test_build_dir());
}

/* Fills r->job.argv from the run's settings. */
static void build_argv(struct kernel_run *r)
{
	const char **a = r->job.argv;
	snprintf(r->paths[0], KT_PATH, "%s/facet", test_build_dir());
	kernel_elf_path(r->paths[1], KT_PATH);
	snprintf(r->cpus_arg, sizeof(r->cpus_arg), "%u", r->cpus ? r->cpus : 1);
	*a++ = r->paths[0], *a++ = "run", *a++ = "--cpus", *a++ = r->cpus_arg;
	if (r->stats)
		*a++ = "--stats";
	if (r->mem)
		*a++ = "--mem", *a++ = r->mem;
	if (r->cmdline)
		*a++ = "--cmdline", *a++ = r->cmdline;
	*a++ = r->paths[1], *a++ = "--";
	for (size_t k = 0; k < KT_MAX_APPS && r->apps[k] && a < r->job.argv + GUEST_MAX_ARGS - 1; k++) {
		kernel_app_path(r->paths[k + 2], KT_PATH, r->apps[k]);
		*a++ = r->paths[k + 2];
	}
	*a = NULL;
}

void kernel_runs(struct kernel_run *runs, size_t n)
{
	struct guest_job *jobs = calloc(n, sizeof(*jobs));
	if (!jobs)
		return;
	for (size_t k = 0; k < n; k++) {
		build_argv(&runs[k]);
		jobs[k] = runs[k].job;
	}
	guest_jobs_run(jobs, n, KERNEL_TIMEOUT_SECS);
	for (size_t k = 0; k < n; k++)
		runs[k].job = jobs[k];
	free(jobs);
}

void kernel_runs_free(struct kernel_run *runs, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		free(runs[k].job.out);
		free(runs[k].job.err);
		runs[k].job.out = runs[k].job.err = NULL;
	}
}

void kernel_expect_status(const char *file, int line, const struct kernel_run *r, int want)
{
	const struct guest_job *j = &r->job;
	if (!j->timed_out && j->status == want)
		return;
	const char *out = j->out ? j->out : "", *tail = out;
	if (strlen(out) > 1500)
		tail = out + strlen(out) - 1500;
	test_fail(file, line, "%s on %u vCPUs (cmdline \"%s\"): %s %d, want status %d\n--- console tail:\n%s\n--- stderr:\n%.2000s",
		  r->apps[0] ? r->apps[0] : "no modules", r->cpus, r->cmdline ? r->cmdline : "",
		  j->timed_out ? "timed out, status" : "status", j->status, want, tail, j->err ? j->err : "");
}

const char *kernel_find_line(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, n))
			return p;
	return NULL;
}

/* The sum worker's checksum (guest/user/sum.c). */
static uint64_t sum_checksum(void)
{
	uint64_t s = 0;
	for (uint64_t k = 1; k <= 2000000; k++)
		s += (k ^ (k >> 3)) * 7 + (k & 0xff);
	return s;
}

/* Checks the worker lines and the summary of a run of hello, sum, sha, primes and sleeper. */
static void check_workers(const struct kernel_run *r)
{
	char label[64], line[160];
	const char *out = r->job.out;
	snprintf(label, sizeof(label), "kernel on %u vCPUs", r->cpus);
	EXPECT_KERNEL_STATUS(r, 0);
	if (!out)
		return;
	snprintf(line, sizeof(line), "sum: pid 2: checksum(1..2000000) = %llu", (unsigned long long)sum_checksum());
	EXPECT_LINE(label, out, line);
	const char *hello = kernel_find_line(out, "hello: pid 1 on cpu ");
	unsigned cpu = ~0u;
	if (!hello || sscanf(hello, "hello: pid 1 on cpu %u", &cpu) != 1 || cpu >= r->cpus)
		test_fail(__FILE__, __LINE__, "%s: want \"hello: pid 1 on cpu N\" with N < %u", label, r->cpus);
	/* FIPS 180-2 B.1, and Python: hashlib.sha256(bytes((31*k+7)&255 for k in range(65536))). */
	EXPECT_LINE(label, out, "sha: abc ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	EXPECT_LINE(label, out, "sha: 64k ef4636928161808e87035fa51983821677527ccd9661991c5d0126a778b2268a");
	EXPECT_LINE(label, out, "primes: 78498 below 1000000");
	EXPECT_LINE(label, out, "primes: heap shrink and regrow ok");
	EXPECT_LINE(label, out, "sleeper: 3 sleeps of 3 ticks ok");
	EXPECT_TRUE(kernel_find_line(out, "kernel: summary: 5 processes: 5 exited, 0 killed, 0 stopped;") != NULL);
	EXPECT_LINE(label, out, "kernel: all processes ended");
	for (int pid = 1; pid <= 5; pid++) {
		static const char *const names[] = { "hello", "sum", "sha", "primes", "sleeper" };
		snprintf(line, sizeof(line), "kernel: pid %d %s.elf: exit 0", pid, names[pid - 1]);
		EXPECT_LINE(label, out, line);
	}
}

/* Checks that each of the run's vCPUs put processes on itself ("cpu K: T ticks, D dispatches"). */
static void check_all_cpus_used(const struct kernel_run *r)
{
	for (unsigned c = 0; c < r->cpus && r->job.out; c++) {
		char prefix[32];
		unsigned long long ticks = 0, dispatches = 0;
		snprintf(prefix, sizeof(prefix), "kernel: cpu %u: ", c);
		const char *l = kernel_find_line(r->job.out, prefix);
		EXPECT_TRUE(l != NULL);
		if (l && sscanf(l + strlen(prefix), "%llu ticks, %llu dispatches", &ticks, &dispatches) == 2)
			EXPECT_TRUE(dispatches > 0);
		else
			test_fail(__FILE__, __LINE__, "cpu %u: no statistics line in the summary", c);
	}
}

TEST(kernel, workers_on_1_2_4_cpus)
{
	struct kernel_run runs[3] = { 0 };
	static const unsigned cpus[3] = { 1, 2, 4 };
	for (int k = 0; k < 3; k++) {
		runs[k].cpus = cpus[k];
		const char *apps[] = { "hello", "sum", "sha", "primes", "sleeper", NULL };
		memcpy(runs[k].apps, apps, sizeof(apps));
	}
	kernel_runs(runs, 3);
	for (int k = 0; k < 3; k++)
		check_workers(&runs[k]);
	check_all_cpus_used(&runs[2]);
	kernel_runs_free(runs, 3);
}

TEST(kernel, no_modules_ends_at_once)
{
	struct kernel_run r = { .cpus = 2 };
	kernel_runs(&r, 1);
	EXPECT_KERNEL_STATUS(&r, 0);
	EXPECT_TRUE(r.job.out && kernel_find_line(r.job.out, "kernel: summary: 0 processes") != NULL);
	kernel_runs_free(&r, 1);
}
