/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run ledger cat [--jsonl] LEDGER|SEGMENT...`: every record of a
 * ledger as text, or as JSON lines for jq; `mpbs-run ledger upgrade
 * LEDGER`: a version 1 ledger set aside as LEDGER.v1 (docs/LEDGER.md). */
#ifndef MPBS_LEDGER_CMD_H
#define MPBS_LEDGER_CMD_H

/* argv[0] is "ledger". Returns 0, 1 (a record that cannot be decoded, or
 * upgrade refused), 2 (cannot read, bad command line). */
int ledger_cmd(int argc, char **argv);

#endif
