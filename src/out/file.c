// SPDX-License-Identifier: GPL-2.0
/*
 * Output files appear whole or not at all: written to a temporary file
 * beside the target, synced, then renamed into place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/out.h"
#include "out/out_int.h"

int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/*
 * mkstemp() creates the file with mode 0600; give it the mode fopen() would
 * have (0666 less the umask), so that a profile written by root can still
 * be opened by the user. Reading the umask means setting it for a moment.
 */
static mode_t creation_mode(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return 0666 & ~mask;
}

int out_write_atomic(const char *path, out_writer write, const void *ctx)
{
	static const char suffix[] = ".XXXXXX";
	size_t len = strlen(path);
	FILE *f;
	char *tmp;
	int fd, err;

	tmp = malloc(len + sizeof(suffix));
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, len);
	memcpy(tmp + len, suffix, sizeof(suffix));

	fd = mkstemp(tmp);
	if (fd < 0) {
		err = neg_errno();
		goto out_free;
	}
	if (fchmod(fd, creation_mode())) {
		err = neg_errno();
		close(fd);
		goto out_unlink;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = neg_errno();
		close(fd);
		goto out_unlink;
	}

	err = write(ctx, f);
	if (!err && fflush(f))
		err = neg_errno();
	if (!err && fsync(fileno(f)))
		err = neg_errno();
	if (fclose(f) && !err)
		err = neg_errno();
	if (!err && rename(tmp, path))
		err = neg_errno();

out_unlink:
	if (err)
		unlink(tmp);
out_free:
	free(tmp);
	return err;
}
