// SPDX-License-Identifier: GPL-2.0
/*
 * Which processes -a traces: by name (comm, exact), user (real uid) and
 * cgroup v2 directory (the process's cgroup or one below it), all that are
 * given holding at once. Read from /proc when the process is found.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/record_int.h"

/* Where cgroup2 is mounted (/sys/fs/cgroup, or .../unified on a hybrid
 * system), malloc'ed; NULL when it is not. */
static char *cgroup2_mount(void)
{
	char line[4096], *found = NULL;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], *sep = strstr(line, " - ");

		if (sep && !strncmp(sep, " - cgroup2 ", 11) &&
		    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1)
			found = strdup(mnt);
	}
	fclose(f);
	return found;
}

int filter_init(struct proc_filter *f, const struct record_opts *o)
{
	char *mount = NULL, *real = NULL;
	size_t len;
	int err = 0;

	memset(f, 0, sizeof(*f));
	f->o = o;
	if (!o->cgroup)
		return 0;
	real = realpath(o->cgroup, NULL);
	mount = cgroup2_mount();
	len = mount ? strlen(mount) : 0;
	if (!real || !mount || strncmp(real, mount, len) ||
	    (real[len] && real[len] != '/')) {
		fprintf(stderr, "dhtrace: --cgroup %s: %s\n", o->cgroup,
			!real ? strerror(errno) : !mount ? "no cgroup2 file system is mounted" :
			"not a directory of the cgroup2 file system");
		err = -EINVAL;
		goto out;
	}
	/* As /proc/PID/cgroup names it: "/" for the root. */
	f->cgroup = strdup(real[len] ? real + len : "/");
	if (!f->cgroup)
		err = -ENOMEM;
out:
	free(real);
	free(mount);
	return err;
}

void filter_free(struct proc_filter *f)
{
	free(f->cgroup);
	f->cgroup = NULL;
}

/* The first line of /proc/PID/@what that starts with @key, after it. */
static bool proc_field(pid_t pid, const char *what, const char *key,
		       char *out, size_t size)
{
	char path[64], line[4096];
	size_t klen = strlen(key);
	bool found = false;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	fp = fopen(path, "re");
	if (!fp)
		return false;
	while (!found && fgets(line, sizeof(line), fp)) {
		if (strncmp(line, key, klen))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, size, "%s", line + klen);
		found = true;
	}
	fclose(fp);
	return found;
}

static bool comm_matches(const struct record_opts *o, pid_t pid,
			 const char *at_exec)
{
	char comm[64];

	if (!o->ncomms)
		return true;
	if (at_exec)
		snprintf(comm, sizeof(comm), "%s", at_exec);
	else if (!proc_field(pid, "comm", "", comm, sizeof(comm)))
		return false;
	for (size_t i = 0; i < o->ncomms; i++)
		if (!strcmp(o->comms[i], comm))
			return true;
	return false;
}

static bool uid_matches(const struct record_opts *o, pid_t pid)
{
	char uids[128];

	if (o->uid < 0)
		return true;
	return proc_field(pid, "status", "Uid:", uids, sizeof(uids)) &&
	       strtol(uids, NULL, 10) == o->uid;
}

static bool cgroup_matches(const struct proc_filter *f, pid_t pid)
{
	char cg[4096];
	size_t len;

	if (!f->cgroup)
		return true;
	if (!proc_field(pid, "cgroup", "0::", cg, sizeof(cg)))
		return false;
	len = strlen(f->cgroup);
	if (!strcmp(f->cgroup, "/"))
		return true;
	return !strncmp(cg, f->cgroup, len) && (!cg[len] || cg[len] == '/');
}

/* dhtrace and what it runs itself (ld.so --list) are never traced. */
static bool ours(pid_t pid)
{
	char ppid[32];

	return pid == getpid() ||
	       (proc_field(pid, "status", "PPid:", ppid, sizeof(ppid)) &&
		strtol(ppid, NULL, 10) == getpid());
}

bool filter_match(const struct proc_filter *f, pid_t pid, const char *comm)
{
	/* The name first: it came with the exec, the rest is read. */
	return comm_matches(f->o, pid, comm) && !ours(pid) &&
	       uid_matches(f->o, pid) && cgroup_matches(f, pid);
}
