/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sub-commands that read saved profiles: `dhtrace NAME ARGS...`.
 * Each gets argv from NAME on and returns dhtrace's exit status: 0, 1 when
 * the work failed (one "dhtrace: ..." line on stderr), 2 for bad usage.
 */
#ifndef DHTRACE_COMMANDS_H
#define DHTRACE_COMMANDS_H

/* dhtrace convert [--format FMT] [--value STAT] IN OUT */
int cmd_convert(int argc, char **argv);

#endif /* DHTRACE_COMMANDS_H */
