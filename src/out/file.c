// SPDX-License-Identifier: GPL-2.0
/*
 * Output files written beside their final path and renamed into place, so
 * that a failed or interrupted write never leaves half a file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/out.h"
#include "out/out_int.h"

#define WRITE_BUFFER (1 << 20)

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

int out_file_open(struct out_file *of, const char *path)
{
	static const char suffix[] = ".XXXXXX";
	size_t len = strlen(path);
	int fd, err;

	struct stat st;

	memset(of, 0, sizeof(*of));
	if (!strcmp(path, "-")) {
		of->f = stdout;
		return 0;
	}
	of->path = path;
	/* Renaming over a device or a FIFO would replace it with a file. */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		of->f = fopen(path, "we");
		return of->f ? 0 : neg_errno();
	}
	of->tmp = malloc(len + sizeof(suffix));
	if (!of->tmp)
		return -ENOMEM;
	memcpy(of->tmp, path, len);
	memcpy(of->tmp + len, suffix, sizeof(suffix));

	fd = mkstemp(of->tmp);
	if (fd < 0) {
		err = neg_errno();
		goto out_free;
	}
	if (fchmod(fd, creation_mode())) {
		err = neg_errno();
		close(fd);
		goto out_unlink;
	}
	of->f = fdopen(fd, "w");
	if (!of->f) {
		err = neg_errno();
		close(fd);
		goto out_unlink;
	}
	/* profiles run to hundreds of MB: fewer, bigger writes */
	setvbuf(of->f, NULL, _IOFBF, WRITE_BUFFER);
	return 0;

out_unlink:
	unlink(of->tmp);
out_free:
	free(of->tmp);
	of->tmp = NULL;
	return err;
}

int out_file_commit(struct out_file *of)
{
	int err = 0;

	/* A write that failed earlier leaves the error flag set. */
	if (!of->tmp) {
		if (fflush(of->f) || ferror(of->f))
			err = neg_errno();
		if (of->f != stdout && fclose(of->f) && !err)
			err = neg_errno();
		return err;
	}
	if (fflush(of->f) || ferror(of->f) || fsync(fileno(of->f)))
		err = neg_errno();
	if (fclose(of->f) && !err)
		err = neg_errno();
	if (!err && rename(of->tmp, of->path))
		err = neg_errno();
	if (err)
		unlink(of->tmp);
	free(of->tmp);
	of->tmp = NULL;
	return err;
}

void out_file_abort(struct out_file *of)
{
	if (!of->tmp) {
		if (of->f == stdout)
			fflush(of->f);
		else
			fclose(of->f);
		return;
	}
	fclose(of->f);
	unlink(of->tmp);
	free(of->tmp);
	of->tmp = NULL;
}

int out_write_atomic(const char *path, out_writer write, const void *ctx)
{
	struct out_file of;
	int err = out_file_open(&of, path);

	if (err)
		return err;
	err = write(ctx, of.f);
	if (err) {
		out_file_abort(&of);
		return err;
	}
	return out_file_commit(&of);
}
