/* SPDX-License-Identifier: Apache-2.0 */
/* A writer of version 1 ledgers (JSON Lines), which the association wrote
 * before version 2 and `mpbs-run verify` still reads: kept for the tests of
 * the version 1 verifier and of the recovery of a version 1 file. Records
 * accumulate in memory and one write + fdatasync makes a whole batch
 * durable; a signed head (lib/ledger.h) closes a commit. */
#ifndef MPBS_LEDGER1_WRITE_H
#define MPBS_LEDGER1_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../../lib/wire.h"

struct ledger_writer {
	int fd;                          /* opened O_RDWR|O_APPEND by the supervisor */
	uint64_t seq;                    /* seq of the last record (written or buffered) */
	uint8_t prev[WIRE_DIGEST_LEN];   /* SHA-256 of the last line, without newline */
	char *buf;                       /* records not yet written */
	size_t len, cap;
	size_t buffered;                 /* number of records in buf */
};

/* Reads the existing file from offset 0 to find the last seq and the hash of
 * the last line (an empty file starts at seq 0, prev = 32 zero bytes).
 * A file whose last line lacks its newline, or whose own seq/prev chain does
 * not hold, is refused: errbuf says which line and why. Returns 0 or -1. */
int ledger_writer_open(struct ledger_writer *w, int fd, char *errbuf, size_t errlen);

/* Buffers one record: {"seq":…,"prev":"…","type":type, then the fields of
 * `fields` in their insertion order}. Steals the reference to fields.
 * Returns 0, or -1 on allocation failure. */
int ledger_append(struct ledger_writer *w, const char *type, json_t *fields);

/* The same for records of a fixed shape on the hot path (signal,
 * checkpoint, confirmed): `fields` is the record's fields already written
 * as compact JSON members ("op":"…","provider":"A",…) by the caller, whose
 * values need no escaping (hex digests, integers, provider names). No
 * allocation, no JSON tree. Returns 0, or -1 with errno (EMSGSIZE). */
int ledger_append_fields(struct ledger_writer *w, const char *type, const char *fields, size_t fields_len);

/* Builds the fields of such a record without printf, which took most of
 * the association's formatting time: text, lowercase hex and decimal are
 * appended in place; anything that would not fit sets `overflow` (and
 * ledger_append_built refuses the record). */
#define LEDGER_FIELDS_MAX 4096 /* a whole line, as the verifier allows */
struct ledger_fields {
	size_t len;
	bool overflow;
	char text[LEDGER_FIELDS_MAX];
};
void ledger_fields_text(struct ledger_fields *f, const char *s);
void ledger_fields_hex(struct ledger_fields *f, const uint8_t *bytes, size_t n);
void ledger_fields_u64(struct ledger_fields *f, uint64_t v);

/* ledger_append_fields for fields built above. Returns 0, or -1 with errno
 * (EMSGSIZE when they overflowed). */
int ledger_append_built(struct ledger_writer *w, const char *type, const struct ledger_fields *f);

/* Writes every buffered record and fdatasyncs the file. Returns 0, or -1
 * with errno set (the records stay buffered). */
int ledger_commit(struct ledger_writer *w);

/* The write half of ledger_commit: every buffered record is in the file
 * (the page cache) but not yet known durable. Returns 0, or -1 with errno. */
int ledger_flush(struct ledger_writer *w);

void ledger_writer_close(struct ledger_writer *w);

/* The association's signed head (docs/VERIFY.md), buffered as a record
 * {"covers":SEQ,"head":HASH,"sig":SIG} right after record SEQ, the last one
 * buffered: SIG is Ed25519 by sk over ledger_head_message() (lib/ledger.h).
 * Returns 0, or -1 with errno. */
int ledger_append_head(struct ledger_writer *w, const uint8_t sk[64]);

#endif
