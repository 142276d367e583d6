/* SPDX-License-Identifier: Apache-2.0 */
/* Wire contract, version 1: encoders and strict decoders (layouts in wire.h).
 * A decoder checks, in this order: enough bytes for (version, type), the
 * version, the type, then each declared length against its maximum and the
 * frame length, then every reserved bit and name byte. It reads only inside
 * [buf, buf + len) and accepts a frame only if it is consumed exactly, so a
 * decoded frame re-encodes to the same bytes. */
#include "wire.h"

#include <string.h>

/* Field offsets, spelled out once so encoder and decoder cannot drift. */
enum {
	OFF_VERSION = 0,
	OFF_TYPE = 1,

	ART_OFF_FLAGS = 2,
	ART_OFF_RESERVED = 3,
	ART_OFF_CORRELATION = 4,
	ART_OFF_REPR = ART_OFF_CORRELATION + WIRE_CORRELATION_LEN,
	ART_OFF_BINDING = ART_OFF_REPR + WIRE_DIGEST_LEN,
	ART_OFF_CONTEXT_LEN = ART_OFF_BINDING + WIRE_DIGEST_LEN,
	ART_OFF_TOKEN_LEN = ART_OFF_CONTEXT_LEN + 2,
	ART_OFF_BODY_LEN = ART_OFF_TOKEN_LEN + 2,
	ART_OFF_END = ART_OFF_BODY_LEN + 4,

	SIG_OFF_STAGE = 2,
	SIG_OFF_ID_LEN = 3,
	SIG_OFF_ID = 4,
	SIG_OFF_OP = SIG_OFF_ID + WIRE_PROVIDER_ID_MAX,
	SIG_OFF_VALUE = SIG_OFF_OP + WIRE_DIGEST_LEN,
	SIG_OFF_T = SIG_OFF_VALUE + WIRE_DIGEST_LEN,
	SIG_OFF_SEQ = SIG_OFF_T + 8,
	SIG_OFF_CHAIN = SIG_OFF_SEQ + 8,
	SIG_OFF_END = SIG_OFF_CHAIN + WIRE_DIGEST_LEN,

	CKP_OFF_RESERVED = 2,
	CKP_OFF_ID_LEN = 3,
	CKP_OFF_ID = 4,
	CKP_OFF_EPOCH = CKP_OFF_ID + WIRE_PROVIDER_ID_MAX,
	CKP_OFF_SEQ = CKP_OFF_EPOCH + WIRE_EPOCH_LEN,
	CKP_OFF_HEAD = CKP_OFF_SEQ + 8,
	CKP_OFF_SIG = CKP_OFF_HEAD + WIRE_DIGEST_LEN,
	CKP_OFF_END = CKP_OFF_SIG + WIRE_SIG_LEN,
};

_Static_assert(ART_OFF_END == ARTIFACT_HDR_LEN, "artifact header layout");
_Static_assert(SIG_OFF_END == SIGNAL_FRAME_LEN, "signal layout");
_Static_assert(SIG_OFF_CHAIN == SIGNAL_CANON_LEN, "signal canonical bytes");
_Static_assert(CKP_OFF_END == CHECKPOINT_FRAME_LEN, "checkpoint layout");
_Static_assert(CKP_OFF_SIG == CHECKPOINT_SIGNED_LEN, "checkpoint signed bytes");
_Static_assert(WIRE_CONTEXT_MAX <= UINT16_MAX && WIRE_TOKEN_MAX <= UINT16_MAX, "u16 lengths");

static void put_be16(uint8_t *p, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	memcpy(p, b, sizeof b);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	memcpy(p, b, sizeof b);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint16_t get_be16(const uint8_t *p)
{
	uint8_t b[2];
	memcpy(b, p, sizeof b);
	return (uint16_t)((b[0] << 8) | b[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	uint8_t b[4];
	memcpy(b, p, sizeof b);
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

/* memcpy with a NULL source is undefined even for zero bytes; empty optional
 * fields (no context, no token, empty body) may well be NULL. */
static void copy_field(uint8_t *dst, const void *src, size_t n)
{
	if (n > 0)
		memcpy(dst, src, n);
}

const char *wire_strerror(enum wire_err e)
{
	switch (e) {
	case WIRE_OK:
		return "ok";
	case WIRE_ETRUNC:
		return "truncated frame";
	case WIRE_EVERSION:
		return "unknown wire version";
	case WIRE_ETYPE:
		return "unexpected frame type";
	case WIRE_EOVERSIZE:
		return "declared length over its maximum";
	case WIRE_EMALFORMED:
		return "malformed frame";
	case WIRE_ERR_COUNT:
		break;
	}
	return "unknown wire error";
}

static bool name_char_valid(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-';
}

static bool name_bytes_valid(const uint8_t *name, size_t len)
{
	if (len == 0 || len > WIRE_PROVIDER_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!name_char_valid(name[i]))
			return false;
	}
	return true;
}

bool wire_provider_name_valid(const char *name)
{
	if (name == NULL)
		return false;
	/* Bounded one past the maximum so an unterminated array is not overrun. */
	size_t len = strnlen(name, WIRE_PROVIDER_ID_MAX + 1);
	return name_bytes_valid((const uint8_t *)name, len);
}

const char *wire_stage_name(uint8_t stage)
{
	switch (stage) {
	case STAGE_START:
		return "START";
	case STAGE_COMPLETE:
		return "COMPLETE";
	default:
		return NULL;
	}
}

uint8_t wire_peek_type(const uint8_t *buf, size_t len)
{
	if (buf == NULL || len < 2)
		return 0;
	return buf[OFF_TYPE];
}

size_t wire_signal_channel_frame_len(const uint8_t *buf, size_t len)
{
	size_t want;
	switch (wire_peek_type(buf, len)) {
	case WIRE_SIGNAL: want = SIGNAL_FRAME_LEN; break;
	case WIRE_CHECKPOINT: want = CHECKPOINT_FRAME_LEN; break;
	default: return 0;
	}
	return len >= want ? want : 0;
}

/* The common prefix check of every decoder. */
static enum wire_err check_prefix(const uint8_t *buf, size_t len, uint8_t type)
{
	if (buf == NULL || len < 2)
		return WIRE_ETRUNC;
	if (buf[OFF_VERSION] != WIRE_VERSION)
		return WIRE_EVERSION;
	if (buf[OFF_TYPE] != type)
		return WIRE_ETYPE;
	return WIRE_OK;
}

/* A fixed-size frame must be exactly frame_len bytes. */
static enum wire_err check_fixed(const uint8_t *buf, size_t len, uint8_t type, size_t frame_len)
{
	enum wire_err e = check_prefix(buf, len, type);
	if (e != WIRE_OK)
		return e;
	if (len < frame_len)
		return WIRE_ETRUNC;
	if (len > frame_len)
		return WIRE_EMALFORMED;
	return WIRE_OK;
}

/* ---- provider name field: u8 id_len, id[32] zero-padded ---- */

static void put_name(uint8_t *len_byte, uint8_t *id, const char *name)
{
	size_t n = strnlen(name, WIRE_PROVIDER_ID_MAX);
	*len_byte = (uint8_t)n;
	memset(id, 0, WIRE_PROVIDER_ID_MAX);
	memcpy(id, name, n);
}

static enum wire_err get_name(uint8_t id_len, const uint8_t *id, char out[WIRE_PROVIDER_ID_MAX + 1])
{
	if (id_len > WIRE_PROVIDER_ID_MAX)
		return WIRE_EOVERSIZE;
	if (!name_bytes_valid(id, id_len))
		return WIRE_EMALFORMED;
	for (size_t i = id_len; i < WIRE_PROVIDER_ID_MAX; i++) {
		if (id[i] != 0)
			return WIRE_EMALFORMED;
	}
	memcpy(out, id, id_len);
	out[id_len] = '\0';
	return WIRE_OK;
}

/* ---- artifact ---- */

void artifact_header_encode(const struct artifact *a, bool with_body, uint8_t hdr[ARTIFACT_HDR_LEN])
{
	/* Lengths are written as given; artifact_encode (or the caller) keeps
	 * them within their maxima. */
	hdr[OFF_VERSION] = WIRE_VERSION;
	hdr[OFF_TYPE] = WIRE_ARTIFACT;
	hdr[ART_OFF_FLAGS] = with_body ? ARTIFACT_FLAG_BODY : 0;
	hdr[ART_OFF_RESERVED] = 0;
	memcpy(hdr + ART_OFF_CORRELATION, a->correlation, WIRE_CORRELATION_LEN);
	memcpy(hdr + ART_OFF_REPR, a->request_repr, WIRE_DIGEST_LEN);
	memcpy(hdr + ART_OFF_BINDING, a->binding, WIRE_DIGEST_LEN);
	put_be16(hdr + ART_OFF_CONTEXT_LEN, (uint16_t)a->context_len);
	put_be16(hdr + ART_OFF_TOKEN_LEN, (uint16_t)a->token_len);
	put_be32(hdr + ART_OFF_BODY_LEN, with_body ? (uint32_t)a->body_len : 0);
}

size_t artifact_encode(const struct artifact *a, bool with_body, uint8_t *buf, size_t cap)
{
	if (a->context_len > WIRE_CONTEXT_MAX || a->token_len > WIRE_TOKEN_MAX)
		return 0;
	size_t body_len = with_body ? a->body_len : 0;
	if (body_len > WIRE_BODY_MAX)
		return 0;
	size_t total = ARTIFACT_HDR_LEN + a->context_len + a->token_len + body_len;
	if (buf == NULL || total > cap)
		return 0;

	artifact_header_encode(a, with_body, buf);
	uint8_t *p = buf + ARTIFACT_HDR_LEN;
	copy_field(p, a->context, a->context_len);
	p += a->context_len;
	copy_field(p, a->token, a->token_len);
	p += a->token_len;
	copy_field(p, a->body, body_len);
	return total;
}

/* Checks the fixed header and returns the declared total frame length in *total. */
static enum wire_err artifact_check_header(const uint8_t *buf, size_t len, size_t *total)
{
	enum wire_err e = check_prefix(buf, len, WIRE_ARTIFACT);
	if (e != WIRE_OK)
		return e;
	if (len < ARTIFACT_HDR_LEN)
		return WIRE_ETRUNC;
	uint8_t flags = buf[ART_OFF_FLAGS];
	if ((flags & ~ARTIFACT_FLAG_BODY) != 0 || buf[ART_OFF_RESERVED] != 0)
		return WIRE_EMALFORMED;

	size_t context_len = get_be16(buf + ART_OFF_CONTEXT_LEN);
	size_t token_len = get_be16(buf + ART_OFF_TOKEN_LEN);
	size_t body_len = get_be32(buf + ART_OFF_BODY_LEN);
	if (context_len > WIRE_CONTEXT_MAX || token_len > WIRE_TOKEN_MAX || body_len > WIRE_BODY_MAX)
		return WIRE_EOVERSIZE;
	if (!(flags & ARTIFACT_FLAG_BODY) && body_len != 0)
		return WIRE_EMALFORMED;

	/* Each term is bounded above, so the sum cannot overflow size_t. */
	*total = ARTIFACT_HDR_LEN + context_len + token_len + body_len;
	if (len < *total)
		return WIRE_ETRUNC;
	if (len > *total)
		return WIRE_EMALFORMED;
	return WIRE_OK;
}

size_t artifact_frame_len(const uint8_t *buf, size_t len)
{
	if (len < ARTIFACT_HDR_LEN)
		return 0;
	size_t context_len = get_be16(buf + ART_OFF_CONTEXT_LEN);
	size_t token_len = get_be16(buf + ART_OFF_TOKEN_LEN);
	size_t body_len = get_be32(buf + ART_OFF_BODY_LEN);
	if (context_len > WIRE_CONTEXT_MAX || token_len > WIRE_TOKEN_MAX || body_len > WIRE_BODY_MAX)
		return 0;
	return ARTIFACT_HDR_LEN + context_len + token_len + body_len;
}

enum wire_err artifact_decode(const uint8_t *buf, size_t len, struct artifact *out)
{
	size_t total;
	enum wire_err e = artifact_check_header(buf, len, &total);
	if (e != WIRE_OK)
		return e;

	memset(out, 0, sizeof *out);
	memcpy(out->correlation, buf + ART_OFF_CORRELATION, WIRE_CORRELATION_LEN);
	memcpy(out->request_repr, buf + ART_OFF_REPR, WIRE_DIGEST_LEN);
	memcpy(out->binding, buf + ART_OFF_BINDING, WIRE_DIGEST_LEN);
	out->context_len = get_be16(buf + ART_OFF_CONTEXT_LEN);
	out->token_len = get_be16(buf + ART_OFF_TOKEN_LEN);
	out->body_len = get_be32(buf + ART_OFF_BODY_LEN);
	out->has_body = (buf[ART_OFF_FLAGS] & ARTIFACT_FLAG_BODY) != 0;

	const uint8_t *p = buf + ARTIFACT_HDR_LEN;
	out->context = (const char *)p;
	p += out->context_len;
	out->token = (const char *)p;
	p += out->token_len;
	out->body = out->has_body ? p : NULL;
	return WIRE_OK;
}

/* ---- signal ---- */

bool signal_encode(const struct signal_frame *s, uint8_t out[SIGNAL_FRAME_LEN])
{
	if (!wire_provider_name_valid(s->provider) || wire_stage_name(s->stage) == NULL)
		return false;
	out[OFF_VERSION] = WIRE_VERSION;
	out[OFF_TYPE] = WIRE_SIGNAL;
	out[SIG_OFF_STAGE] = s->stage;
	put_name(out + SIG_OFF_ID_LEN, out + SIG_OFF_ID, s->provider);
	memcpy(out + SIG_OFF_OP, s->op, WIRE_DIGEST_LEN);
	memcpy(out + SIG_OFF_VALUE, s->value, WIRE_DIGEST_LEN);
	put_be64(out + SIG_OFF_T, s->t_ns);
	put_be64(out + SIG_OFF_SEQ, s->seq);
	memcpy(out + SIG_OFF_CHAIN, s->chain, WIRE_DIGEST_LEN);
	return true;
}

enum wire_err signal_decode(const uint8_t *buf, size_t len, struct signal_frame *out)
{
	enum wire_err e = check_fixed(buf, len, WIRE_SIGNAL, SIGNAL_FRAME_LEN);
	if (e != WIRE_OK)
		return e;
	if (wire_stage_name(buf[SIG_OFF_STAGE]) == NULL)
		return WIRE_EMALFORMED;

	struct signal_frame s;
	memset(&s, 0, sizeof s);
	e = get_name(buf[SIG_OFF_ID_LEN], buf + SIG_OFF_ID, s.provider);
	if (e != WIRE_OK)
		return e;
	s.stage = buf[SIG_OFF_STAGE];
	memcpy(s.op, buf + SIG_OFF_OP, WIRE_DIGEST_LEN);
	memcpy(s.value, buf + SIG_OFF_VALUE, WIRE_DIGEST_LEN);
	s.t_ns = get_be64(buf + SIG_OFF_T);
	s.seq = get_be64(buf + SIG_OFF_SEQ);
	memcpy(s.chain, buf + SIG_OFF_CHAIN, WIRE_DIGEST_LEN);
	*out = s;
	return WIRE_OK;
}

/* ---- checkpoint ---- */

bool checkpoint_encode(const struct checkpoint_frame *c, uint8_t out[CHECKPOINT_FRAME_LEN])
{
	if (!wire_provider_name_valid(c->provider))
		return false;
	out[OFF_VERSION] = WIRE_VERSION;
	out[OFF_TYPE] = WIRE_CHECKPOINT;
	out[CKP_OFF_RESERVED] = 0;
	put_name(out + CKP_OFF_ID_LEN, out + CKP_OFF_ID, c->provider);
	memcpy(out + CKP_OFF_EPOCH, c->epoch, WIRE_EPOCH_LEN);
	put_be64(out + CKP_OFF_SEQ, c->seq);
	memcpy(out + CKP_OFF_HEAD, c->head, WIRE_DIGEST_LEN);
	memcpy(out + CKP_OFF_SIG, c->sig, WIRE_SIG_LEN);
	return true;
}

enum wire_err checkpoint_decode(const uint8_t *buf, size_t len, struct checkpoint_frame *out)
{
	enum wire_err e = check_fixed(buf, len, WIRE_CHECKPOINT, CHECKPOINT_FRAME_LEN);
	if (e != WIRE_OK)
		return e;
	if (buf[CKP_OFF_RESERVED] != 0)
		return WIRE_EMALFORMED;

	struct checkpoint_frame c;
	memset(&c, 0, sizeof c);
	e = get_name(buf[CKP_OFF_ID_LEN], buf + CKP_OFF_ID, c.provider);
	if (e != WIRE_OK)
		return e;
	memcpy(c.epoch, buf + CKP_OFF_EPOCH, WIRE_EPOCH_LEN);
	c.seq = get_be64(buf + CKP_OFF_SEQ);
	memcpy(c.head, buf + CKP_OFF_HEAD, WIRE_DIGEST_LEN);
	memcpy(c.sig, buf + CKP_OFF_SIG, WIRE_SIG_LEN);
	*out = c;
	return WIRE_OK;
}
