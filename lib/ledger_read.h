/* SPDX-License-Identifier: Apache-2.0 */
/* The reading of version 1 ledgers (JSON Lines), shared by their verifier
 * (ledger_verify.c, ledger_head.c) and the tests' version 1 writer: the
 * bounded line reader and the readers of one record's fields
 * (ledger_read.c). */
#ifndef MPBS_LEDGER_READ_H
#define MPBS_LEDGER_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "wire.h"

/* Longest line, newline included. Records are a few hundred bytes; a longer
 * line is refused rather than buffered without bound. */
#define LEDGER_LINE_MAX 4096
#define HEX_DIGEST_LEN (2 * WIRE_DIGEST_LEN)
/* Most provider names one record lists (a topology has at most 64 providers). */
#define LEDGER_NAMES_MAX 64

enum line_status { LINE_OK, LINE_EOF, LINE_PARTIAL, LINE_TOO_LONG, LINE_IO };

struct line_reader {
	int fd;
	off_t off;            /* file offset of buf[end] */
	size_t start, end;    /* unread bytes are buf[start..end) */
	uint64_t lineno;      /* number of the line last returned (from 1) */
	char buf[2 * LEDGER_LINE_MAX];
};

void ledger_line_reader_init(struct line_reader *lr, int fd);
/* Next line without its newline. lr->lineno counts every line seen,
 * including a partial or over-long one, so errors can name it. */
enum line_status ledger_line_next(struct line_reader *lr, const char **line, size_t *len);
/* Why reading stopped before the end of the file. */
void ledger_line_status_why(enum line_status st, char *why, size_t whylen);

/* A lowercase hex field of exactly n bytes. */
bool ledger_get_hex(json_t *obj, const char *key, uint8_t *out, size_t n);
bool ledger_get_uint(json_t *obj, const char *key, uint64_t *out);
/* A valid provider name, or NULL. */
const char *ledger_get_name(json_t *obj, const char *key);
/* A list of provider names, sorted bytewise and without duplicates. */
bool ledger_get_names(json_t *obj, const char *key, size_t min, size_t max);
/* Checks that obj, a record of this type, holds exactly seq, prev, type
 * and its type's own fields (docs/ARCHITECTURE.md §7), each well-formed.
 * Otherwise false with *bad the field at fault ("type" for a type that does
 * not exist, or a field no record of its type has) and why what is wrong. */
bool ledger_check_fields(json_t *obj, const char *type, const char **bad, char *why, size_t whylen);

/* Checks seq and prev of one parsed line against what the previous line
 * implies; fills why on failure. */
bool ledger_check_link(json_t *obj, uint64_t expect_seq, const uint8_t expect_prev[WIRE_DIGEST_LEN], char *why,
		       size_t whylen);
/* One line as a JSON object; NULL with why filled. */
json_t *ledger_parse_line(const char *line, size_t len, char *why, size_t whylen);
/* obj has exactly seq, prev, type and nfields more keys. */
bool ledger_has_exact_keys(json_t *obj, size_t nfields);
/* The frame a signal or checkpoint record records; false if malformed. */
bool ledger_read_signal(json_t *obj, struct signal_frame *s);
bool ledger_read_checkpoint(json_t *obj, struct checkpoint_frame *c);

#endif
