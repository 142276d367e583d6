/* SPDX-License-Identifier: Apache-2.0 */
/* The one JSON rendering of a version 2 ledger record (docs/LEDGER.md),
 * what `mpbs-run ledger cat --jsonl` prints one per line and what the
 * tests read: field names as version 1 used them where the fact is the
 * same, digests and signatures in lowercase hex, times in nanoseconds. */
#ifndef MPBS_LEDGER2_JSON_H
#define MPBS_LEDGER2_JSON_H

#include <stdio.h>

#include <jansson.h>

#include "ledger2_walk.h"

/* A new JSON object for e (NULL on allocation failure). */
json_t *l2_entry_json(const struct l2_entry *e);

/* e as one line of JSON on f, as `ledger cat --jsonl` prints it. 0, or -1
 * when it cannot be written (or out of memory). */
int l2_entry_print_jsonl(FILE *f, const struct l2_entry *e);

/* The record type's name ("segment", "signal", "checkpoint", "confirmed",
 * "incomplete", "rejected", "head"), or "?" for another byte. */
const char *l2_type_name(uint8_t type);

#endif
