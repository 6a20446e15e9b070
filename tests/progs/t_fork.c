// SPDX-License-Identifier: GPL-2.0
/*
 * Children of every kind, for following them: the parent allocates, then
 *  1. fork()s a child that frees some of the blocks it inherited, allocates
 *     its own, leaks some, and exit(0)s;
 *  2. fork()s a child that allocates 555 bytes and execv()s t_exec_target
 *     (the executable beside this one, found through /proc/self/exe) with
 *     the argument "exec": the 555 bytes belong to the image the exec drops;
 *  3. posix_spawn()s t_exec_target with the argument "spawn" (glibc's
 *     posix_spawn is a clone(CLONE_VM | CLONE_VFORK) then execve);
 *  4. with the argument "kill": fork()s a victim that allocates, frees one
 *     inherited block, tells the parent through a pipe, and waits to be
 *     SIGKILLed by it;
 * waiting for each before the next, then allocates a little more and
 * returns 0 with some blocks live. Exits 1 if a child did not end as it
 * should. No stdio: every block is one of the program's own.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Globals: the compiler may not drop blocks that it cannot see unused. */
void *volatile a[3], *volatile b, *volatile c;

static char target[4096];

static void *kept(void *p)
{
	if (!p)
		abort();
	return p;
}

/* One function per call site: the profiles name them. */
__attribute__((noinline)) static void *parent_malloc(size_t n) { return kept(malloc(n)); }
__attribute__((noinline)) static void *parent_calloc(size_t n, size_t m) { return kept(calloc(n, m)); }
__attribute__((noinline)) static void *parent_realloc(void *p, size_t n) { return kept(realloc(p, n)); }
__attribute__((noinline)) static void *child_malloc(size_t n) { return kept(malloc(n)); }
__attribute__((noinline)) static void *child_calloc(size_t n, size_t m) { return kept(calloc(n, m)); }
__attribute__((noinline)) static void *child_realloc(void *p, size_t n) { return kept(realloc(p, n)); }
__attribute__((noinline)) static void *pre_exec_malloc(size_t n) { return kept(malloc(n)); }
__attribute__((noinline)) static void *victim_malloc(size_t n) { return kept(malloc(n)); }
__attribute__((noinline)) static void *late_malloc(size_t n) { return kept(malloc(n)); }
__attribute__((noinline)) static void *late_calloc(size_t n, size_t m) { return kept(calloc(n, m)); }
__attribute__((noinline)) static void *late_realloc(void *p, size_t n) { return kept(realloc(p, n)); }

static int exited_0(pid_t pid)
{
	int st;

	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Child 1: frees 101 + 208 inherited bytes, allocates 1111 + 1111 + 111
 * and grows the inherited 404-byte block to 505; leaks all but one 1111. */
static void child_work(void)
{
	void *volatile d0, *volatile d1, *volatile e;

	free(a[1]);
	free(b);
	d0 = child_malloc(1111);
	d1 = child_malloc(1111);
	free(d0);
	e = child_calloc(3, 37);
	c = child_realloc(c, 505);
	exit(d1 && e ? 0 : 1);	/* exit, not _exit: valgrind writes its file */
}

static void exec_child(void)
{
	char *argv[] = { target, "exec", NULL };
	void *volatile x = pre_exec_malloc(555);

	if (x)
		execv(target, argv);
	_exit(127);
}

/* The victim: 3 x 2222 allocated, one freed, and the inherited a[2] freed;
 * then it waits for its SIGKILL. */
static void victim(int fd)
{
	void *volatile v[3];

	for (int i = 0; i < 3; i++)
		v[i] = victim_malloc(2222);
	free(v[1]);
	free(a[2]);
	if (write(fd, "x", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

static int kill_a_victim(void)
{
	int fds[2], st;
	char ch;
	pid_t pid;

	if (pipe(fds))
		return 0;
	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		close(fds[0]);
		victim(fds[1]);
	}
	close(fds[1]);
	if (read(fds[0], &ch, 1) != 1)
		return 0;
	close(fds[0]);
	kill(pid, SIGKILL);
	return waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

int main(int argc, char **argv)
{
	char *spawn_argv[] = { target, "spawn", NULL };
	void *volatile f0, *volatile f1;
	ssize_t n;
	char *slash;
	pid_t pid;

	n = readlink("/proc/self/exe", target, sizeof(target) - 32);
	if (n <= 0)
		return 1;
	target[n] = '\0';
	slash = strrchr(target, '/');
	if (!slash)
		return 1;
	strcpy(slash + 1, "t_exec_target");

	/* 6,218 bytes in 7 blocks, the peak 5,915 bytes in 6 blocks (higher
	 * than child 1's own); 814 bytes in 4 blocks live at the fork. */
	for (int i = 0; i < 3; i++)
		a[i] = parent_malloc(101);
	b = parent_calloc(4, 52);
	c = parent_malloc(303);
	c = parent_realloc(c, 404);	/* DHAT counts it at c's malloc */
	free(parent_malloc(5000));
	free(a[0]);

	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		child_work();
	if (!exited_0(pid))
		return 1;

	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		exec_child();
	if (!exited_0(pid))
		return 1;

	if (posix_spawn(&pid, target, NULL, NULL, spawn_argv, environ))
		return 1;
	if (!exited_0(pid))
		return 1;

	if (argc > 1 && !strcmp(argv[1], "kill") && !kill_a_victim())
		return 1;

	f0 = late_malloc(606);
	f1 = late_calloc(2, 77);
	free(f0);
	free(a[1]);
	b = late_realloc(b, 100);
	return f1 ? 0 : 1;	/* a[2], b, c and f1 live at exit */
}
