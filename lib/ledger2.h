/* SPDX-License-Identifier: Apache-2.0 */
/* The ledger's version 2 format (docs/LEDGER.md is its specification):
 * segment files of blocks of binary records. This is the codec both sides
 * share: the association's encoder (struct l2_writer, ledger2_write.c) and the
 * decoder of blocks and records (ledger2_read.c) that the verifier, `ledger cat`
 * and the association's rebuild read with. Neither checks chains or signatures:
 * ledger2_verify.c and the association do. */
#ifndef MPBS_LEDGER2_H
#define MPBS_LEDGER2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define L2_MAGIC "MPBSLDG2"
#define L2_MAGIC_LEN 8
#define L2_VERSION 2
#define L2_BLOCK_MARKER 0xB2
#define L2_BLOCK_HDR_LEN 13 /* marker, t:u64, body_len:u32 */
#define L2_RECORD_HDR_LEN 5 /* type, len:u32 */
#define L2_BLOCK_BODY_MIN L2_RECORD_HDR_LEN
#define L2_BLOCK_BODY_MAX (16u << 20)
/* Offset of the segment number in a segment file: magic, block header,
 * record header, version byte (the supervisor reads it to name files). */
#define L2_SEGMENT_NUMBER_OFF (L2_MAGIC_LEN + L2_BLOCK_HDR_LEN + L2_RECORD_HDR_LEN + 1)
#define L2_PROVIDERS_MAX 64
#define L2_REASON_MAX 200
#define L2_SIGNALS_PER_RECORD 255 /* the writer's cap; readers accept up to 65535 */
/* "mpbs-run ledger head v2" NUL covers:u64 chain[32] */
#define L2_HEAD_DOMAIN "mpbs-run ledger head v2"
#define L2_HEAD_MSG_LEN (sizeof(L2_HEAD_DOMAIN) + 8 + WIRE_DIGEST_LEN)

enum l2_type {
	L2_SEGMENT = 1,
	L2_SIGNALS = 2,
	L2_CHECKPOINT = 3,
	L2_CONFIRMED = 4,
	L2_INCOMPLETE = 5,
	L2_REJECTED = 6,
	L2_HEAD = 7,
};

#define L2_STATE_EPOCH 0x01     /* state flags: an epoch is open */
#define L2_CARRIED_CONFIRMED 0x01
#define L2_CHECKPOINT_OPENS 0x01
#define L2_HEAD_SEAL 0x01

/* The signed message of a head. */
void l2_head_message(uint64_t covers, const uint8_t chain[WIRE_DIGEST_LEN], uint8_t out[L2_HEAD_MSG_LEN]);

/* ------------------------------------------------------------ encoding */

/* One provider's chain state at a segment's start (docs/LEDGER.md
 * "segment"); uncovered[] holds pseq - covered entries. */
struct l2_uncovered {
	uint8_t op[WIRE_DIGEST_LEN];
	uint8_t stage; /* STAGE_START or STAGE_COMPLETE */
};
struct l2_state {
	bool open;
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint64_t pseq, covered;
	uint8_t head[WIRE_DIGEST_LEN];
	const struct l2_uncovered *uncovered;
};
struct l2_carried {
	uint8_t op[WIRE_DIGEST_LEN];
	bool confirmed;
	uint64_t start_mask, complete_mask;
};
struct l2_segment_start {
	uint32_t segment;
	uint64_t first_record;
	uint8_t prev[WIRE_DIGEST_LEN];
	size_t n_providers;
	const char *const *names;
	const struct l2_state *states; /* n_providers */
	size_t n_carried;
	const struct l2_carried *carried;
};

/* Operation ids this segment introduced, for references: a direct-mapped
 * cache (a miss only costs the 32 bytes of writing the id again). */
#define L2_OPCACHE_SLOTS 2048
struct l2_opcache_slot {
	uint8_t op[WIRE_DIGEST_LEN];
	uint64_t index_plus1; /* 0: empty */
};

struct l2_writer {
	int fd;               /* the live segment, O_APPEND */
	uint32_t segment;     /* its number */
	uint64_t records;     /* number of the last record written or buffered */
	uint8_t chain[WIRE_DIGEST_LEN]; /* the file chain after the last closed block */
	uint64_t n_ops;       /* operations introduced in this segment */
	uint64_t seg_bytes;   /* the live segment's size, buffered bytes included */
	uint64_t seg_t0;      /* t of its first block (0: none yet) */
	uint64_t block_records; /* records in the open block */
	/* Closed blocks not yet written, then the open block. */
	uint8_t *buf;
	size_t len, cap;
	size_t block_off;     /* offset of the open block's header; SIZE_MAX: none open */
	/* The open record, extended by the next entry of the same kind. */
	size_t rec_off;       /* SIZE_MAX: none */
	uint8_t rec_type;
	uint8_t rec_p;
	uint16_t rec_count;
	uint64_t rec_next_pseq, rec_last_t;
	struct l2_opcache_slot *opcache; /* L2_OPCACHE_SLOTS */
};

/* A writer for fd with nothing buffered; the state (segment, records,
 * chain, n_ops, seg_bytes, seg_t0) is the caller's to set (a fresh file:
 * l2_begin_segment; an existing one: what the rebuild read). Returns 0,
 * or -1 (ENOMEM). */
int l2_writer_init(struct l2_writer *w, int fd);
void l2_writer_free(struct l2_writer *w);
/* Forget every cached operation (a new segment numbers afresh). */
void l2_opcache_reset(struct l2_writer *w);

/* Starts segment s->segment on fd (an empty file): buffers the magic and a
 * block whose first record is the segment record; w's state becomes the
 * segment's (records = s->first_record, chain = s->prev, n_ops = the ops
 * the record introduced). Returns 0, or -1 with errno. */
int l2_begin_segment(struct l2_writer *w, int fd, const struct l2_segment_start *s);

int l2_signal(struct l2_writer *w, uint8_t p, const struct signal_frame *s);
int l2_checkpoint(struct l2_writer *w, uint8_t p, const struct checkpoint_frame *c, bool opens);
/* type L2_CONFIRMED or L2_INCOMPLETE */
int l2_closed(struct l2_writer *w, uint8_t type, const uint8_t op[WIRE_DIGEST_LEN], uint64_t mask);
int l2_rejected(struct l2_writer *w, uint8_t p, const char *reason);
/* Closes the open block (time t) and buffers a block holding a head signed
 * with sk over the chain so far; seal: the segment's last. Returns 0, or -1. */
int l2_head(struct l2_writer *w, const uint8_t sk[64], bool seal, uint64_t t, uint64_t *covers,
	    uint8_t chain[WIRE_DIGEST_LEN]);
/* Closes the open block, if any, at time t: its length is set and the
 * file chain advances over it. */
void l2_close_block(struct l2_writer *w, uint64_t t);
/* Closes the open block and writes everything buffered. Returns 0, or -1
 * with errno (what was written is dropped from the buffer). */
int l2_flush(struct l2_writer *w, uint64_t t);

/* ------------------------------------------------------------ decoding */

/* A cursor over bytes; every reader fails (returns false) rather than read
 * past the end. */
struct l2_cursor {
	const uint8_t *p, *end;
};
bool l2_get_u8(struct l2_cursor *c, uint8_t *v);
bool l2_get_u16(struct l2_cursor *c, uint16_t *v);
bool l2_get_u32(struct l2_cursor *c, uint32_t *v);
bool l2_get_u64(struct l2_cursor *c, uint64_t *v);
bool l2_get_varint(struct l2_cursor *c, uint64_t *v);
bool l2_get_bytes(struct l2_cursor *c, void *out, size_t n);
/* A pointer to the next n bytes, advanced over. */
const uint8_t *l2_take(struct l2_cursor *c, size_t n);

/* A reference to an operation: either a new id (which the reader appends to
 * its table) or a back reference. */
struct l2_opref {
	bool is_new;
	const uint8_t *op;  /* is_new: the id, in the record's bytes */
	uint64_t ref;       /* !is_new: the operation is n_ops - 1 - ref */
};

/* A block found in a buffer: *hdr_len + body_len bytes from buf. */
struct l2_block {
	uint64_t t;
	const uint8_t *start;  /* the marker */
	size_t len;            /* the whole block */
	const uint8_t *body;
	size_t body_len;
};
enum l2_block_status { L2_BLOCK_OK, L2_BLOCK_SHORT, L2_BLOCK_BAD };
/* The block at buf[0..avail): OK, SHORT (the file ends inside it: a torn
 * tail, or read more), BAD (not a block: marker, or length out of range). */
enum l2_block_status l2_block_parse(const uint8_t *buf, size_t avail, struct l2_block *b);

/* Blocks of a segment file read in order through a bounded buffer (it
 * grows to hold the largest block, at most L2_BLOCK_BODY_MAX + header).
 * l2_reader_open checks the magic. */
struct l2_reader {
	int fd;
	uint64_t off;          /* file offset of buf[end] */
	uint8_t *buf;
	size_t start, end, cap;
	uint64_t block_off;    /* file offset of the block last returned */
	uint64_t blocks;       /* blocks returned so far */
};
enum l2_read_status {
	L2_READ_OK,
	L2_READ_EOF,       /* the file ends at a block boundary */
	L2_READ_TORN,      /* the file ends inside a block */
	L2_READ_BAD,       /* bytes that are not a block (marker, length) */
	L2_READ_IO,        /* read(2) failed (errno) or out of memory */
};
/* Returns L2_READ_OK (magic read), L2_READ_EOF (an empty file),
 * L2_READ_BAD (not a version 2 file: *first holds its first byte, or -1
 * if shorter than the magic), or L2_READ_IO. */
enum l2_read_status l2_reader_open(struct l2_reader *r, int fd, int *first);
/* The next block; it stays valid until the next call. */
enum l2_read_status l2_reader_next(struct l2_reader *r, struct l2_block *b);
void l2_reader_close(struct l2_reader *r);

/* The next record of a body: its type and payload. */
struct l2_record {
	uint8_t type;
	const uint8_t *payload;
	size_t len;
};
bool l2_record_next(struct l2_cursor *body, struct l2_record *r);

/* Entry readers: each reads one entry at the cursor. */
bool l2_get_signal_entry(struct l2_cursor *c, bool first, struct l2_opref *op, uint8_t *stage,
			 const uint8_t **value, int64_t *dt);
bool l2_get_closed_entry(struct l2_cursor *c, struct l2_opref *op, uint64_t *mask);
bool l2_get_uncovered_entry(struct l2_cursor *c, struct l2_opref *op, uint8_t *stage);
bool l2_get_carried_entry(struct l2_cursor *c, struct l2_opref *op, bool *confirmed, uint64_t *start_mask,
			  uint64_t *complete_mask);

/* The fixed headers of the records. */
struct l2_signals_hdr {
	uint8_t p;
	uint64_t first_pseq;
	uint16_t count;
	uint64_t t_first;
};
bool l2_get_signals_hdr(struct l2_cursor *c, struct l2_signals_hdr *h);
struct l2_checkpoint_rec {
	uint8_t p;
	uint64_t pseq;
	bool opens;
	uint8_t epoch[WIRE_EPOCH_LEN]; /* opens only */
	uint8_t sig[WIRE_SIG_LEN];
};
bool l2_get_checkpoint(struct l2_cursor *c, struct l2_checkpoint_rec *k);
struct l2_head_rec {
	bool seal;
	uint64_t covers;
	uint8_t chain[WIRE_DIGEST_LEN];
	uint8_t sig[WIRE_SIG_LEN];
};
bool l2_get_head(struct l2_cursor *c, struct l2_head_rec *h);
/* The segment record up to its provider states: version, number,
 * first_record, prev, names (into names[], each NUL-terminated). The
 * states and carried entries follow at the cursor. */
struct l2_segment_hdr {
	uint32_t segment;
	uint64_t first_record;
	uint8_t prev[WIRE_DIGEST_LEN];
	uint8_t n_providers;
	char names[L2_PROVIDERS_MAX][WIRE_PROVIDER_ID_MAX + 1];
};
bool l2_get_segment_hdr(struct l2_cursor *c, struct l2_segment_hdr *h);
/* One provider's state, without its uncovered entries (which follow). */
bool l2_get_state(struct l2_cursor *c, struct l2_state *s);

#endif
