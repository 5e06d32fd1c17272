/* SPDX-License-Identifier: MIT */
/*
 * Child processes for guest tests (see guest_run.h). Jobs start with
 * posix_spawnp, their stdout and stderr come back through pipes drained
 * by one poll() loop, so that several guests run at once while the test
 * waits. A job past its time limit gets SIGKILL (only our own children,
 * by pid). Guest programs under test may well fail early while the
 * interpreter grows, so every failure message carries Facet's own report.
 */
#define _GNU_SOURCE
#include "guest_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/test.h"

extern char **environ;

struct buf {
	char *p;
	size_t len, cap;
};

struct slot {
	struct guest_job *job;
	pid_t pid;
	int fd[2]; // stdout, stderr read ends; -1 once closed
	struct buf b[2];
	double start;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void buf_put(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np)
			return; // keep what we have: the test then fails on missing lines
		b->p = np, b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static char *buf_take(struct buf *b)
{
	char *p = b->p ? b->p : strdup("");
	*b = (struct buf){ 0 };
	return p;
}

/* Starts s->job with its stdout and stderr on pipes; returns 0 or -1. */
static int slot_start(struct slot *s)
{
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC))
		return -1;
	if (pipe2(pe, O_CLOEXEC)) {
		close(po[0]), close(po[1]);
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	int rc = posix_spawnp(&s->pid, s->job->argv[0], &fa, NULL, (char *const *)s->job->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]), close(pe[1]);
	if (rc) {
		close(po[0]), close(pe[0]);
		return -1;
	}
	s->fd[0] = po[0], s->fd[1] = pe[0];
	s->start = now();
	return 0;
}

/* Reads what is ready on the slot's pipes; closes a pipe at end of file. */
static void slot_drain(struct slot *s, const struct pollfd *pf)
{
	for (int k = 0; k < 2; k++) {
		if (s->fd[k] < 0 || pf[k].fd != s->fd[k] || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		char tmp[8192];
		ssize_t n = read(s->fd[k], tmp, sizeof(tmp));
		if (n > 0) {
			buf_put(&s->b[k], tmp, (size_t)n);
		} else if (n == 0 || errno != EINTR) {
			close(s->fd[k]);
			s->fd[k] = -1;
		}
	}
}

/* Collects the exit status once both pipes are closed; returns whether the slot is done. */
static bool slot_reap(struct slot *s)
{
	if (s->fd[0] >= 0 || s->fd[1] >= 0)
		return false;
	int st;
	while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
		;
	s->job->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	s->job->out = buf_take(&s->b[0]);
	s->job->err = buf_take(&s->b[1]);
	return true;
}

static void start_failed(struct guest_job *j)
{
	char msg[300];
	snprintf(msg, sizeof(msg), "cannot start %s: %s\n", j->argv[0], strerror(errno));
	j->status = -1;
	j->out = strdup("");
	j->err = strdup(msg);
}

/* One round: poll every running slot for up to 100 ms, read, kill the late ones. */
static void poll_round(struct slot *run, size_t nrun, unsigned timeout_secs)
{
	struct pollfd pf[64];
	for (size_t k = 0; k < nrun; k++) {
		pf[2 * k] = (struct pollfd){ .fd = run[k].fd[0], .events = POLLIN };
		pf[2 * k + 1] = (struct pollfd){ .fd = run[k].fd[1], .events = POLLIN };
	}
	if (poll(pf, 2 * nrun, 100) < 0 && errno != EINTR)
		return;
	for (size_t k = 0; k < nrun; k++) {
		slot_drain(&run[k], &pf[2 * k]);
		if (!run[k].job->timed_out && now() - run[k].start > timeout_secs) {
			run[k].job->timed_out = true;
			kill(run[k].pid, SIGKILL);
		}
	}
}

void guest_jobs_run(struct guest_job *jobs, size_t n, unsigned timeout_secs)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t par = cpus < 1 ? 1 : cpus > 32 ? 32 : (size_t)cpus;
	struct slot run[32];
	size_t nrun = 0, next = 0;
	while (next < n || nrun) {
		while (nrun < par && next < n) {
			struct guest_job *j = &jobs[next++];
			run[nrun] = (struct slot){ .job = j, .fd = { -1, -1 } };
			j->timed_out = false;
			if (slot_start(&run[nrun]))
				start_failed(j);
			else
				nrun++;
		}
		poll_round(run, nrun, timeout_secs);
		for (size_t k = 0; k < nrun;)
			if (slot_reap(&run[k]))
				run[k] = run[--nrun];
			else
				k++;
	}
}

void guest_jobs_free(struct guest_job *jobs, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		free(jobs[k].out);
		free(jobs[k].err);
		jobs[k].out = jobs[k].err = NULL;
	}
}

bool guest_has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

bool guest_have_program(const char *prog)
{
	const char *path = getenv("PATH");
	char full[4096];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(full, sizeof(full), "%.*s/%s", (int)n, path, prog);
		if (access(full, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

void guest_elf_path(char *buf, size_t len, const char *app, const char *variant)
{
	snprintf(buf, len, "%s/guest/%s-%s.elf", test_build_dir(), app, variant);
}

static const char *const variants[] = { "gcc-O0", "gcc-O2", "gcc-O3", "clang-O1", "clang-O3" };
const char *const guest_main_variant = "gcc-O2"; // GUEST_MAIN_VARIANT in guest/guest.mk

#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))
#define GUEST_TIMEOUT_SECS 600

/* Reports a variant that did not run to a clean exit, with Facet's report and the console's last line. */
static void report_bad_run(const char *app, const char *variant, const struct guest_job *j)
{
	const char *out = j->out, *last = out;
	for (const char *p = out; *p; p++)
		if (*p == '\n' && p[1])
			last = p + 1;
	if (j->timed_out)
		test_fail(__FILE__, __LINE__, "%s-%s: no exit after %u s; last console line: %.200s", app, variant,
			  GUEST_TIMEOUT_SECS, last);
	else
		test_fail(__FILE__, __LINE__, "%s-%s: exit status %d, want 0; last console line: %.200s\n%.2000s", app,
			  variant, j->status, last, j->err);
}

static void run_variants(const char *app, const char *cmdline, guest_check_fn check, const char *const *vars,
			 size_t nvars)
{
	struct guest_job jobs[NVARIANTS] = { 0 };
	char elf[NVARIANTS][512], facet[512];
	const char *names[NVARIANTS];
	bool clang = guest_have_program("clang");
	size_t n = 0;
	snprintf(facet, sizeof(facet), "%s/facet", test_build_dir());
	for (size_t k = 0; k < nvars && k < NVARIANTS; k++) {
		guest_elf_path(elf[n], sizeof(elf[n]), app, vars[k]);
		if (access(elf[n], R_OK)) {
			if (!strncmp(vars[k], "gcc", 3) || clang)
				test_fail(__FILE__, __LINE__, "%s: %s was not built (make guests)", app, elf[n]);
			continue;
		}
		const char **a = jobs[n].argv;
		*a++ = facet, *a++ = "run";
		if (cmdline)
			*a++ = "--cmdline", *a++ = cmdline;
		*a++ = elf[n], *a = NULL;
		names[n++] = vars[k];
	}
	guest_jobs_run(jobs, n, GUEST_TIMEOUT_SECS);
	for (size_t k = 0; k < n; k++) {
		if (jobs[k].timed_out || jobs[k].status != 0)
			report_bad_run(app, names[k], &jobs[k]);
		/* Status 1 is the guest's own verdict "something differed": its lines say what. */
		char label[128];
		snprintf(label, sizeof(label), "%s-%s", app, names[k]);
		if (!jobs[k].timed_out && (jobs[k].status == 0 || jobs[k].status == 1))
			check(label, jobs[k].out);
	}
	guest_jobs_free(jobs, n);
}

void guest_app_run(const char *app, const char *cmdline, guest_check_fn check)
{
	run_variants(app, cmdline, check, variants, NVARIANTS);
}

void guest_app_run_main(const char *app, const char *cmdline, guest_check_fn check)
{
	run_variants(app, cmdline, check, &guest_main_variant, 1);
}
