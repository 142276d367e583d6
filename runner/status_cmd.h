/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run status [--json | --prometheus] [TOPOLOGY]`: the state of the
 * running instances, read from the state files their supervisors keep in
 * the runtime directory (status_file.h). */
#ifndef MPBS_STATUS_CMD_H
#define MPBS_STATUS_CMD_H

/* argv[0] is "status". Exit 0; 1 if no (such) instance runs; 2 for a bad
 * command line. */
int status_cmd(int argc, char **argv);

#endif
