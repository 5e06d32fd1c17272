/* SPDX-License-Identifier: MIT */
/*
 * `timeit FILE COMMAND [ARGS...]`: runs COMMAND, writes its wall time in
 * seconds, read from CLOCK_MONOTONIC (immune to clock changes, unlike
 * `date`), to FILE, and exits with COMMAND's status (128 + signal number
 * when a signal ended it). The benchmark harness (bench/run.sh) is shell,
 * which has no monotonic clock of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: timeit FILE COMMAND [ARGS...]\n");
		return 2;
	}
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0) {
		perror("timeit: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("timeit: exec");
		_exit(127);
	}
	int ws;
	if (waitpid(pid, &ws, 0) != pid) {
		perror("timeit: waitpid");
		return 2;
	}
	double secs = now() - t0;
	FILE *f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%.6f\n", secs) < 0 || fclose(f)) {
		perror("timeit: cannot write the time");
		return 2;
	}
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}
