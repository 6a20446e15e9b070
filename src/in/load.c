// SPDX-License-Identifier: GPL-2.0
/*
 * A saved profile of either format, told apart by its first byte, not its
 * name: '{' starts a DHAT JSON file; the gzip magic or a protobuf tag that
 * can start a pprof Profile (a field up to 15, varint or length-delimited)
 * starts a pprof profile. Anything else goes to the JSON reader, whose
 * error says what it found.
 */
#include <errno.h>
#include <string.h>

#include "in/in.h"

static bool pprof_first_byte(int c)
{
	if (c == 0x1f)		/* gzip */
		return true;
	/* ' ' (0x20) is field 4 as a varint, which no profile has; the other
	 * JSON white space is no tag a profile can start with */
	return c != ' ' && c > 0 && c < 0x80 && (c >> 3) >= 1 &&
	       ((c & 7) == 0 || (c & 7) == 2);
}

int profile_load(FILE *f, const char *name, struct dhat_file *df,
		 struct dhat_err *err)
{
	int c = getc(f);

	if (c != EOF && ungetc(c, f) == EOF) {
		memset(df, 0, sizeof(*df));
		snprintf(err->msg, sizeof(err->msg), "%s: read error", name);
		return -EIO;
	}
	return pprof_first_byte(c) ? pprof_load(f, name, df, err) :
				     dhat_load(f, name, df, err);
}

int profile_load_path(const char *path, struct dhat_file *df,
		      struct dhat_err *err)
{
	FILE *f = fopen(path, "r");
	int ret;

	if (!f) {
		ret = -errno;
		memset(df, 0, sizeof(*df));
		snprintf(err->msg, sizeof(err->msg), "cannot open %s: %s",
			 path, strerror(errno));
		return ret;
	}
	ret = profile_load(f, path, df, err);
	fclose(f);
	return ret;
}
