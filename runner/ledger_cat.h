/* SPDX-License-Identifier: Apache-2.0 */
/* The records of one ledger file printed for a person or for jq
 * (`mpbs-run ledger cat`). */
#ifndef MPBS_LEDGER_CAT_H
#define MPBS_LEDGER_CAT_H

#include <stdbool.h>

#define LEDGER_CAT_MALFORMED 1
#define LEDGER_CAT_CANNOT_READ 2

/* Prints every record of the file at path (either version) on stdout:
 * text, or with jsonl one JSON object per line. Returns 0, or
 * LEDGER_CAT_MALFORMED / LEDGER_CAT_CANNOT_READ (logged). */
int ledger_cat_file(const char *path, bool jsonl);

#endif
