/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sub-commands: `dhtrace NAME ARGS...`. Each takes its own argv (argv[0]
 * is NAME) and returns the exit status: 0, 1 for a failed --fail-if gate
 * or a failed command, 2 for a usage error.
 */
#ifndef DHTRACE_CLI_COMMANDS_H
#define DHTRACE_CLI_COMMANDS_H

int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_baseline(int argc, char **argv);

#endif /* DHTRACE_CLI_COMMANDS_H */
