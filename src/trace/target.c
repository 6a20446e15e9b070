// SPDX-License-Identifier: GPL-2.0
/*
 * The traced process: a command started stopped (so the probes are in place
 * before its first instruction), or a running process followed by PID.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/trace.h"

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

static bool executable_file(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return false;
	if (!S_ISREG(st.st_mode)) {
		errno = EACCES;
		return false;
	}
	return !access(path, X_OK);
}

char *target_resolve(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	int last_err = ENOENT;

	if (!*cmd) {
		errno = ENOENT;
		return NULL;
	}
	if (strchr(cmd, '/'))
		return executable_file(cmd) ? realpath(cmd, NULL) : NULL;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, cmd) <
		    (int)sizeof(buf)) {
			if (executable_file(buf))
				return realpath(buf, NULL);
			if (errno != ENOENT)
				last_err = errno;
		}
		path += len + (path[len] == ':');
	}
	errno = last_err;
	return NULL;
}

int target_spawn(struct target *t, const char *exe, char *const argv[])
{
	int release[2], exec_err[2];
	sigset_t none;
	pid_t pid;
	char go;
	int err;

	memset(t, 0, sizeof(*t));
	t->pidfd = t->release_fd = t->exec_err_fd = -1;
	if (pipe2(release, O_CLOEXEC))
		return -errno;
	if (pipe2(exec_err, O_CLOEXEC)) {
		err = -errno;
		close(release[0]);
		close(release[1]);
		return err;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(release[0]);
		close(release[1]);
		close(exec_err[0]);
		close(exec_err[1]);
		return err;
	}
	if (pid == 0) {
		close(release[1]);
		close(exec_err[0]);
		/* Wait until the probes are attached; a closed pipe
		 * (dhtrace died) means do not run at all. */
		if (read(release[0], &go, 1) != 1)
			_exit(127);
		/* The command gets signals as it would from a shell. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(exe, argv);
		err = errno;
		if (write(exec_err[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(release[0]);
	close(exec_err[1]);
	t->pid = pid;
	t->spawned = true;
	t->release_fd = release[1];
	t->exec_err_fd = exec_err[0];
	t->pidfd = pidfd_open(pid);
	if (t->pidfd < 0) {
		err = -errno;
		target_close(t);
		return err;
	}
	return 0;
}

int target_release(struct target *t)
{
	int child_err = 0;
	ssize_t n;

	if (write(t->release_fd, "g", 1) != 1)
		return -errno;
	close(t->release_fd);
	t->release_fd = -1;
	/* EOF: exec closed the pipe, the command runs. */
	n = read(t->exec_err_fd, &child_err, sizeof(child_err));
	close(t->exec_err_fd);
	t->exec_err_fd = -1;
	return n == sizeof(child_err) ? -child_err : 0;
}

int target_follow(struct target *t, pid_t pid)
{
	memset(t, 0, sizeof(*t));
	t->release_fd = t->exec_err_fd = -1;
	t->pid = pid;
	t->pidfd = pidfd_open(pid);
	return t->pidfd < 0 ? -errno : 0;
}

int target_reap(struct target *t)
{
	int status;

	if (!t->spawned)
		return 0;
	while (waitpid(t->pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	t->spawned = false;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

void target_close(struct target *t)
{
	if (t->release_fd >= 0)
		close(t->release_fd);	/* an unreleased child exits */
	if (t->exec_err_fd >= 0)
		close(t->exec_err_fd);
	if (t->pidfd >= 0)
		close(t->pidfd);
	if (t->spawned)
		waitpid(t->pid, NULL, 0);
	t->release_fd = t->exec_err_fd = t->pidfd = -1;
	t->spawned = false;
}
