/* SPDX-License-Identifier: Apache-2.0 */
/* Signed heads of the ledger (docs/VERIFY.md). The association signs, with
 * its own key, the hash of the file chain up to the record it last wrote,
 * as a Certificate Transparency log signs its tree heads: the key says
 * "this is what the association wrote", never an outcome. An operator who
 * keeps a head elsewhere can later show that the file still reaches it.
 * Here: the signed message and a head's SEQ:HASH text, which the verifier
 * and the association share; the association appends heads with its
 * writer (roles/association/ledger_write.c). */
#include "ledger.h"
#include "ledger_read.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "derive.h"
#include "text.h"

void ledger_head_message(const struct ledger_head *h, uint8_t out[LEDGER_HEAD_MSG_LEN])
{
	memcpy(out, LEDGER_HEAD_DOMAIN, sizeof(LEDGER_HEAD_DOMAIN));
	for (int i = 0; i < 8; i++)
		out[sizeof(LEDGER_HEAD_DOMAIN) + (size_t)i] = (uint8_t)(h->seq >> (56 - 8 * i));
	memcpy(out + sizeof(LEDGER_HEAD_DOMAIN) + 8, h->hash, WIRE_DIGEST_LEN);
}

bool ledger_head_parse(const char *text, struct ledger_head *h)
{
	const char *colon = strchr(text, ':');
	if (!colon || colon == text || colon - text > 20 || strlen(colon + 1) != 2 * WIRE_DIGEST_LEN)
		return false;
	uint64_t seq = 0;
	for (const char *p = text; p < colon; p++) {
		if (*p < '0' || *p > '9' || seq > (UINT64_MAX - 9) / 10)
			return false;
		seq = seq * 10 + (uint64_t)(*p - '0');
	}
	if (seq == 0 || !text_is_lower_hex(colon + 1, 2 * WIRE_DIGEST_LEN) ||
	    hex_decode(colon + 1, 2 * WIRE_DIGEST_LEN, h->hash, WIRE_DIGEST_LEN) != 0)
		return false;
	h->seq = seq;
	return true;
}

void ledger_head_format(const struct ledger_head *h, char *out)
{
	int n = snprintf(out, LEDGER_HEAD_TEXT_MAX, "%" PRIu64 ":", h->seq);
	hex_encode(h->hash, WIRE_DIGEST_LEN, out + n);
}
