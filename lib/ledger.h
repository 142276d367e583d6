/* The association's ledger: JSON Lines, append-only, hash-chained
 * (docs/ARCHITECTURE.md §7). Written with group commit: records accumulate in
 * memory and one write + fdatasync makes a whole batch durable. Read back by
 * `mpbs-run verify` with public keys alone. */
#ifndef MPBS_LEDGER_H
#define MPBS_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "wire.h"

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

/* Public key of a provider, for offline verification; returns false if the
 * provider is unknown. */
typedef bool (*ledger_pubkey_fn)(void *ctx, const char *provider, uint8_t pk[32]);

/* A point of the file chain: the SHA-256 of line `seq` (without its
 * newline), which every later line's prev depends on. A `head` record
 * signs one; an operator keeps one as SEQ:HASH. */
struct ledger_head {
	uint64_t seq;
	uint8_t hash[WIRE_DIGEST_LEN];
};

/* "SEQ:HASH" (64 lowercase hex digits) to h; false if malformed. */
bool ledger_head_parse(const char *text, struct ledger_head *h);
/* h as "SEQ:HASH" into out (at least LEDGER_HEAD_TEXT_MAX bytes). */
#define LEDGER_HEAD_TEXT_MAX (20 + 1 + 2 * WIRE_DIGEST_LEN + 1)
void ledger_head_format(const struct ledger_head *h, char *out);

/* The association's signed head (docs/VERIFY.md), buffered as a record
 * {"covers":SEQ,"head":HASH,"sig":SIG} right after record SEQ, the last one
 * buffered: SIG is Ed25519 by sk over ledger_head_message(). Returns 0, or
 * -1 with errno. */
int ledger_append_head(struct ledger_writer *w, const uint8_t sk[64]);
/* The signed message: a domain string (with its NUL), SEQ as 8 bytes big
 * endian, HASH. */
#define LEDGER_HEAD_DOMAIN "mpbs-run ledger head v1"
#define LEDGER_HEAD_MSG_LEN (sizeof(LEDGER_HEAD_DOMAIN) + 8 + WIRE_DIGEST_LEN)
void ledger_head_message(const struct ledger_head *h, uint8_t out[LEDGER_HEAD_MSG_LEN]);

/* What verify checks beyond the file's own consistency. Zero fields check
 * nothing more. */
struct ledger_verify_opts {
	ledger_pubkey_fn pubkey;
	void *ctx;
	/* The topology's providers and confirm rule: every record names only
	 * these, and a confirmed record at least confirm_k of them. */
	size_t n_providers;
	const char *const *providers;
	unsigned confirm_k;
	/* The association's public key: every head's signature must verify
	 * (NULL: heads are checked against the chain only, and counted as
	 * unchecked). */
	const uint8_t *association_pk;
	/* Heads kept elsewhere: the ledger must reach each seq with that hash. */
	size_t n_expect;
	const struct ledger_head *expect;
};

struct ledger_verify_result {
	uint64_t records;
	uint64_t confirmed;
	uint64_t signals;
	uint64_t checkpoints;
	uint64_t rejected;
	uint64_t incomplete;
	uint64_t uncovered;       /* signals never covered by a checkpoint (not an error) */
	uint64_t heads;           /* head records whose signature verified */
	uint64_t heads_unchecked; /* head records seen without an association key */
	struct ledger_head last_head; /* the last verified head (seq 0: none) */
	uint64_t last_head_record;    /* seq of the record that signed it */
	uint64_t bad_line;        /* first bad line number (from 1), 0 if none */
	char why[256];            /* why that line is bad */
};

/* Checks, from the file's bytes alone plus the public keys: every line is a
 * JSON object with the right fields; seq runs from 1; prev is the hash of the
 * previous line; every provider's signals extend its chain (chain.h rules);
 * every checkpoint's signature verifies and its head matches; every
 * confirmed record's providers each have covered START and COMPLETE signals
 * for its op and its linkage recomputes. Returns true if all holds; otherwise
 * false with bad_line and why set. A last line without newline is reported. */
bool ledger_verify(int fd, ledger_pubkey_fn pubkey, void *ctx, struct ledger_verify_result *res);
/* The same with the checks of opts (docs/VERIFY.md). */
bool ledger_verify_with(int fd, const struct ledger_verify_opts *opts, struct ledger_verify_result *res);

/* Replays the records of a ledger the writer already accepted (after
 * ledger_writer_open), as the frames they record, so a restarted
 * association rebuilds its chains and pending operations before it reads a
 * channel. Callbacks may be NULL. Returns 0, or -1 with errbuf set. */
struct ledger_replay_ops {
	void (*signal)(void *ctx, const struct signal_frame *s);
	void (*checkpoint)(void *ctx, const struct checkpoint_frame *c);
	/* a confirmed (confirmed = true) or incomplete record closed this operation */
	void (*closed)(void *ctx, const uint8_t op[WIRE_DIGEST_LEN], bool confirmed);
};

int ledger_replay(int fd, const struct ledger_replay_ops *ops, void *ctx, char *errbuf, size_t errlen);

#endif
