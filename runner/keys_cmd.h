/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run keys init [--set K=V]... TOPOLOGY`: writes every role's missing
 * keys, as the run expects them, in one step (runner/key_files.h). */
#ifndef MPBS_KEYS_CMD_H
#define MPBS_KEYS_CMD_H

/* argv[0] is "keys". Returns 0 when every key is in place, 1 when one could
 * not be written or an existing one would be refused by the run, 2 on a bad
 * command line, 78 on a bad topology. */
int keys_cmd(int argc, char **argv);

#endif
