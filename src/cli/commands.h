/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sub-commands that read saved profiles: `dhtrace NAME ARGS...`. None
 * needs root. Each takes its own argv (argv[0] is NAME) and returns the
 * exit status: 0, 1 for a failed command (one "dhtrace: ..." line on
 * stderr) or a failed --fail-if gate, 2 for a usage error.
 */
#ifndef DHTRACE_COMMANDS_H
#define DHTRACE_COMMANDS_H

/* dhtrace convert [--format FMT] [--value STAT] IN OUT */
int cmd_convert(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_baseline(int argc, char **argv);

#endif /* DHTRACE_COMMANDS_H */
