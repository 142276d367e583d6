/* SPDX-License-Identifier: Apache-2.0 */
/* The subcommands of mpbs-run (`mpbs-run NAME ARGS...`): one table that the
 * dispatch in main.c, the main --help and `mpbs-run help` all read. */
#ifndef MPBS_SUBCOMMAND_H
#define MPBS_SUBCOMMAND_H

#include <stddef.h>
#include <stdio.h>

struct subcommand {
	const char *name;
	/* argv[0] is the name; returns the exit status. Each answers -h/--help
	 * anywhere on its line with its usage on stdout, exit 0 and nothing
	 * else done. */
	int (*run)(int argc, char **argv);
	const char *summary; /* one line, for the main --help */
};

extern const struct subcommand subcommands[];
extern const size_t n_subcommands;

/* The row named name, or NULL. */
const struct subcommand *subcommand_find(const char *name);

/* "  NAME  SUMMARY" a line per subcommand. */
void subcommands_summary(FILE *out);

/* `mpbs-run help [SUBCOMMAND]`: the main usage, or that subcommand's
 * (what SUBCOMMAND --help prints), on stdout. */
int help_cmd(int argc, char **argv);

#endif
