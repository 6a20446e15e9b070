// SPDX-License-Identifier: GPL-2.0
/*
 * A malloc loop that runs for SECONDS (default 5): prints "ready PID",
 * then allocates and frees 64 bytes every millisecond, prints "done PID"
 * and exits 0. With a second argument "fork", it forks first and the
 * child does the same; the parent exits 0 only if the child did.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void *volatile spin_block;

__attribute__((noinline)) static void spin_round(void)
{
	spin_block = malloc(64);
	if (!spin_block)
		abort();
	free(spin_block);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5, end = now() + secs;
	struct timespec nap = { 0, 1000 * 1000 };
	pid_t child = 0;
	int st;

	if (argc > 2 && !strcmp(argv[2], "fork")) {
		fflush(stdout);
		child = fork();
		if (child < 0)
			return 1;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (now() < end) {
		spin_round();
		nanosleep(&nap, NULL);
	}
	printf("done %d\n", (int)getpid());
	fflush(stdout);
	if (child > 0 && (waitpid(child, &st, 0) != child || !WIFEXITED(st) ||
			  WEXITSTATUS(st) != 0))
		return 1;
	return 0;
}
