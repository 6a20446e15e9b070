// SPDX-License-Identifier: GPL-2.0
/*
 * The objects a process loads, in the dynamic linker's search order: the
 * executable (a static binary, or one linked with its own malloc), then
 * preloads and libraries breadth-first. It binds each symbol to the first
 * object in that order that defines it (alloc_sites.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sym/sym.h"
#include "trace/trace.h"

void objects_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int objects_add(char ***v, size_t *n, const char *path)
{
	char **nv;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], path))
			return 0;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(path);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* A line of `ld.so --list`: "\tlibc.so.6 => /lib/.../libc.so.6 (0x...)"
 * or "\t/lib64/ld-linux-x86-64.so.2 (0x...)". Returns the path or NULL. */
static char *listed_path(char *line)
{
	char *p = strstr(line, "=> ");
	char *end;

	p = p ? p + 3 : line + strspn(line, " \t");
	if (*p != '/')
		return NULL;	/* vdso, "not found" */
	end = strstr(p, " (");
	if (end)
		*end = '\0';
	else
		p[strcspn(p, "\n")] = '\0';
	return p;
}

/* Read `ld.so --list` output from @fd into the object list. */
static int read_listing(int fd, char ***v, size_t *n)
{
	FILE *f = fdopen(fd, "r");
	char *line = NULL;
	size_t cap = 0;
	int err = 0;

	if (!f) {
		close(fd);
		return -errno;
	}
	while (!err && getline(&line, &cap, f) > 0) {
		const char *path = listed_path(line);

		if (path)
			err = objects_add(v, n, path);
	}
	free(line);
	fclose(f);
	return err;
}

/* Ask the command's own dynamic linker what it would load, in order. */
static int list_libraries(const char *interp, const char *exe,
			  char *const *envp, char ***v, size_t *n)
{
	char *argv[] = { (char *)interp, "--list", (char *)exe, NULL };
	posix_spawn_file_actions_t fa;
	int out[2], err, status;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
					 O_WRONLY, 0);
	err = -posix_spawn(&pid, interp, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	if (err) {
		close(out[0]);
		return err;
	}
	err = read_listing(out[0], v, n);
	waitpid(pid, &status, 0);
	return err;
}

/* A script runs the program its "#!" line names: a malloc'ed path, or
 * NULL when @path is no script. */
static char *script_program(const char *path)
{
	char line[4096], *p;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (!p || strncmp(line, "#!", 2))
		return NULL;
	p = line + 2 + strspn(line + 2, " \t");
	p[strcspn(p, " \t\n")] = '\0';
	return *p == '/' ? strdup(p) : NULL;
}

int objects_of_command(const char *path, char *const *envp, char ***out,
		       size_t *n)
{
	char *script = script_program(path);
	const char *exe = script ? script : path;
	char *interp = NULL;
	int err;

	*out = NULL;
	*n = 0;
	err = objects_add(out, n, exe);
	if (!err && elf_interpreter(exe, &interp) == 0 && interp) {
		err = list_libraries(interp, exe, envp, out, n);
		free(interp);
	}
	free(script);
	if (err) {
		objects_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return err;
}

/* Where /proc/PID/exe points: the executable as the process names it. */
static int exe_path(pid_t pid, char *buf, size_t size)
{
	char link[64];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	len = readlink(link, buf, size - 1);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	return 0;
}

/* The environment of process @pid, as execve got it (its first 64 KiB):
 * a NULL-ended array whose strings live in *@buf. */
static char **process_environ(pid_t pid, char **buf)
{
	char path[64];
	size_t len = 0, count = 0;
	char **envp, *data = malloc(1 << 16);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	f = fopen(path, "re");
	if (f && data)
		len = fread(data, 1, (1 << 16) - 1, f);
	if (f)
		fclose(f);
	if (data)
		data[len] = '\0';
	for (size_t i = 0; i < len; i++)
		count += !data[i];
	/* A last string cut at 64 KiB has no NUL of its own: one more. */
	envp = calloc(count + 2, sizeof(*envp));
	if (!envp) {
		free(data);
		return NULL;
	}
	count = 0;
	for (size_t i = 0; i < len; i += strlen(data + i) + 1)
		envp[count++] = data + i;
	*buf = data;
	return envp;
}

int objects_of_exec(pid_t pid, char ***out, size_t *n)
{
	char path[4096], *buf = NULL, **envp;
	int err = exe_path(pid, path, sizeof(path));

	if (err)
		return err;
	/* A file replaced since the exec is read through the link. */
	if (access(path, R_OK))
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	envp = process_environ(pid, &buf);
	if (!envp)
		return -ENOMEM;
	err = objects_of_command(path, envp, out, n);
	free(envp);
	free(buf);
	return err;
}

struct maps_objects {
	char ***v;
	size_t *n;
	char **late;		/* libc and the dynamic linker go last */
	size_t nlate;
	pid_t pid;
};

static bool is_libc(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5) ||
	       !strncmp(base, "ld-linux", 8);
}

static int add_mapped_object(void *ctx, const struct mapping *m)
{
	struct maps_objects *mo = ctx;
	char *path;
	int err;

	if (asprintf(&path, "/proc/%d/root%s", mo->pid, m->path) < 0)
		return -ENOMEM;
	err = is_libc(m->path) ? objects_add(&mo->late, &mo->nlate, path) :
				 objects_add(mo->v, mo->n, path);
	free(path);
	return err;
}

int objects_of_process(pid_t pid, char ***out, size_t *n)
{
	struct maps_objects mo = { .v = out, .n = n, .pid = pid };
	struct mapping exe = { 0 };
	char path[4096];
	int err;

	*out = NULL;
	*n = 0;
	err = exe_path(pid, path, sizeof(path));
	if (err)
		return err;
	/* The executable first: it may define the allocator itself. */
	exe.path = path;
	err = add_mapped_object(&mo, &exe);
	if (!err)
		err = proc_maps_read(pid, add_mapped_object, &mo);
	for (size_t i = 0; !err && i < mo.nlate; i++)
		err = objects_add(out, n, mo.late[i]);
	objects_free(mo.late, mo.nlate);
	if (err) {
		objects_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return err;
}
