// SPDX-License-Identifier: GPL-2.0
/*
 * The status line of --interval, on stderr:
 *
 *   dhtrace: 12.0s  41,230 events/s  live 1.2 MiB in 3,402 blocks  peak 2.0 MiB  lost 0
 *
 * rewritten in place on a terminal, one line per interval otherwise. The
 * format is stable (README, "Watching a trace"): scripts parse it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "out/out.h"
#include "record/record_int.h"

void status_init(struct status *st, uint64_t now)
{
	const char *no = getenv("NO_COLOR");

	st->tty = isatty(STDERR_FILENO);
	st->escapes = st->tty && !(no && *no);
	st->shown = 0;
	st->start_ns = st->last_ns = now;
	st->last_events = 0;
}

void status_show(struct status *st, const struct status_numbers *n,
		 uint64_t now)
{
	double secs = (now - st->start_ns) / 1e9;
	double span = (now - st->last_ns) / 1e9;
	uint64_t rate = span > 0 ? (n->events - st->last_events) / span + 0.5 : 0;
	char r[32], lb[32], lk[32], pb[32], lost[32], line[256];
	int len;

	len = snprintf(line, sizeof(line),
		       "dhtrace: %.1fs  %s events/s  live %s in %s blocks  peak %s  lost %s",
		       secs, out_thousands(rate, r),
		       out_bytes_short(n->live_bytes, lb),
		       out_thousands(n->live_blocks, lk),
		       out_bytes_short(n->peak_bytes, pb),
		       out_thousands(n->lost, lost));
	st->last_ns = now;
	st->last_events = n->events;
	if (!st->tty) {
		fprintf(stderr, "%s\n", line);
		return;
	}
	/* Without escape sequences, spaces cover a longer line before. */
	if (st->escapes)
		fprintf(stderr, "\r%s\033[K", line);
	else
		fprintf(stderr, "\r%s%*s", line,
			st->shown > (size_t)len ? (int)(st->shown - len) : 0, "");
	st->shown = len;
}

void status_clear(struct status *st)
{
	if (!st->shown)
		return;
	if (st->escapes)
		fprintf(stderr, "\r\033[K");
	else
		fprintf(stderr, "\r%*s\r", (int)st->shown, "");
	st->shown = 0;
}
