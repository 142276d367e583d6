/* SPDX-License-Identifier: Apache-2.0 */
/* The records of a ledger printed for a person or for jq
 * (`mpbs-run ledger cat`). */
#ifndef MPBS_LEDGER_CAT_H
#define MPBS_LEDGER_CAT_H

#include <stdbool.h>
#include <stddef.h>

#define LEDGER_CAT_MALFORMED 1
#define LEDGER_CAT_CANNOT_READ 2

/* Prints every record on stdout: text, or with jsonl one JSON object per
 * line. One file is a LEDGER (its segment files are found, oldest first)
 * or a version 1 file; several are segment files, printed in that order.
 * Returns 0, or LEDGER_CAT_MALFORMED / LEDGER_CAT_CANNOT_READ (logged). */
int ledger_cat(char **files, size_t n, bool jsonl);

#endif
