/* SPDX-License-Identifier: Apache-2.0 */
/* Wire contract, version 1: the only bytes that cross between roles.
 * Every frame starts with (version, type). Integers are big-endian.
 * Decoders never trust a length: each field is checked against both the
 * frame length and its own maximum, and the frame must be consumed exactly.
 * Layouts are in docs/PROTOCOL.md. */
#ifndef MPBS_WIRE_H
#define MPBS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION 1

enum wire_type {
	WIRE_ARTIFACT = 1,
	WIRE_SIGNAL = 2,
	WIRE_CHECKPOINT = 3,
};

enum wire_stage {
	STAGE_START = 1,
	STAGE_COMPLETE = 2,
};
/* The stages double as bits: a set of them (what a provider signalled for
 * an operation, what the association holds of one) is their OR, and this
 * is the set with both. */
#define STAGES_BOTH (STAGE_START | STAGE_COMPLETE)

#define WIRE_CORRELATION_LEN 16
#define WIRE_DIGEST_LEN 32
#define WIRE_EPOCH_LEN 16
#define WIRE_SIG_LEN 64
#define WIRE_CONTEXT_MAX 256
#define WIRE_TOKEN_MAX 4096
#define WIRE_BODY_MAX (1u << 20)
/* Provider names: 1..WIRE_PROVIDER_ID_MAX bytes of [A-Za-z0-9_-]. */
#define WIRE_PROVIDER_ID_MAX 32

/* Artifact header: version, type, flags, reserved(0), correlation[16],
 * request_repr[32], binding[32], context_len u16, token_len u16,
 * body_len u32; then context, token, body. */
#define ARTIFACT_HDR_LEN 92
#define ARTIFACT_FLAG_BODY 0x01
/* The largest artifact frame for bodies of at most max_request bytes. */
#define ARTIFACT_FRAME_MAX(max_request) (ARTIFACT_HDR_LEN + WIRE_CONTEXT_MAX + WIRE_TOKEN_MAX + (max_request))
#define ARTIFACT_MAX_LEN ARTIFACT_FRAME_MAX(WIRE_BODY_MAX)

/* Signal: version, type, stage, id_len, id[32] zero-padded, op[32],
 * value[32], t_ns u64, seq u64, chain[32]. The canonical bytes that the
 * chain hashes are the frame without its trailing chain. */
#define SIGNAL_FRAME_LEN 148
#define SIGNAL_CANON_LEN (SIGNAL_FRAME_LEN - WIRE_DIGEST_LEN)

/* Checkpoint: version, type, reserved(0), id_len, id[32] zero-padded,
 * epoch[16], seq u64, head[32], sig[64]. The signature covers the frame
 * without its trailing sig. */
#define CHECKPOINT_FRAME_LEN 156
#define CHECKPOINT_SIGNED_LEN (CHECKPOINT_FRAME_LEN - WIRE_SIG_LEN)

/* Largest frame a signal channel carries. */
#define SIGNAL_CHANNEL_FRAME_MAX CHECKPOINT_FRAME_LEN
/* A signal channel's datagram carries 1 to SIGNAL_DATAGRAM_FRAMES whole
 * frames back to back (a provider's frames up to and with a checkpoint,
 * or a full datagram's worth before it): one
 * datagram instead of one per frame, whose fixed cost in the kernel (an
 * skb to allocate, queue, copy and free on each side) was most of the
 * association's time. */
#define SIGNAL_DATAGRAM_FRAMES 64
#define SIGNAL_DATAGRAM_MAX (SIGNAL_DATAGRAM_FRAMES * SIGNAL_CHANNEL_FRAME_MAX)

enum wire_err {
	WIRE_OK = 0,
	WIRE_ETRUNC,     /* shorter than its header or its declared lengths */
	WIRE_EVERSION,   /* version byte is not WIRE_VERSION */
	WIRE_ETYPE,      /* type byte is not the one expected */
	WIRE_EOVERSIZE,  /* a declared length exceeds its maximum */
	WIRE_EMALFORMED, /* bad flags, reserved bits, padding, stage, name, trailing bytes */
	WIRE_ERR_COUNT
};

const char *wire_strerror(enum wire_err e);

/* Per-reader rejection counters, indexed by enum wire_err. */
struct wire_stats {
	uint64_t rejected[WIRE_ERR_COUNT];
};

/* Decoded views point into the caller's buffer; nothing is copied. */
struct artifact {
	uint8_t correlation[WIRE_CORRELATION_LEN];
	uint8_t request_repr[WIRE_DIGEST_LEN];
	uint8_t binding[WIRE_DIGEST_LEN];
	const char *context;
	size_t context_len;
	const char *token;
	size_t token_len;
	bool has_body;
	const uint8_t *body;
	size_t body_len;
};

/* Writes the fixed header for `a`; with_body selects whether the frame that
 * follows carries the body (has_body/body_len in the header follow it).
 * The frame is hdr || context || token || (body if with_body), so one encoded
 * body serves every provider without a copy (see the intermediary's iovecs). */
void artifact_header_encode(const struct artifact *a, bool with_body, uint8_t hdr[ARTIFACT_HDR_LEN]);
/* Whole frame into buf; returns its length, or 0 if cap is too small or a
 * field is over its maximum. */
size_t artifact_encode(const struct artifact *a, bool with_body, uint8_t *buf, size_t cap);
enum wire_err artifact_decode(const uint8_t *buf, size_t len, struct artifact *out);
/* An artifact message carries one or more whole frames back to back: the
 * length the frame at buf declares (header included), for splitting them;
 * 0 when buf holds less than a header or a declared length is over its
 * maximum. The frame itself is checked by artifact_decode. */
size_t artifact_frame_len(const uint8_t *buf, size_t len);

struct signal_frame {
	char provider[WIRE_PROVIDER_ID_MAX + 1];
	uint8_t stage; /* enum wire_stage */
	uint8_t op[WIRE_DIGEST_LEN];
	uint8_t value[WIRE_DIGEST_LEN];
	uint64_t t_ns;
	uint64_t seq;
	uint8_t chain[WIRE_DIGEST_LEN];
};

/* Returns false if the provider name or stage is invalid. */
bool signal_encode(const struct signal_frame *s, uint8_t out[SIGNAL_FRAME_LEN]);
enum wire_err signal_decode(const uint8_t *buf, size_t len, struct signal_frame *out);

struct checkpoint_frame {
	char provider[WIRE_PROVIDER_ID_MAX + 1];
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint64_t seq;
	uint8_t head[WIRE_DIGEST_LEN];
	uint8_t sig[WIRE_SIG_LEN];
};

bool checkpoint_encode(const struct checkpoint_frame *c, uint8_t out[CHECKPOINT_FRAME_LEN]);
enum wire_err checkpoint_decode(const uint8_t *buf, size_t len, struct checkpoint_frame *out);

/* Type byte of a frame read from a signal channel, or 0 if too short. */
uint8_t wire_peek_type(const uint8_t *buf, size_t len);
/* Length of the signal channel frame at buf (its type says it: a signal
 * or a checkpoint), 0 when len is shorter or the type is another: how a
 * datagram of several frames is split. */
size_t wire_signal_channel_frame_len(const uint8_t *buf, size_t len);

/* True if name is 1..WIRE_PROVIDER_ID_MAX bytes of [A-Za-z0-9_-]. */
bool wire_provider_name_valid(const char *name);

const char *wire_stage_name(uint8_t stage); /* "START", "COMPLETE" or NULL */

#endif
