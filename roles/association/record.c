/* SPDX-License-Identifier: Apache-2.0 */
/* The records of outcomes in the association's ledger: a provider's frame
 * rejected, an operation confirmed (with the linkage of the values that
 * confirm it) or closed incomplete when it ages out. Confirmations are
 * queued here for the log, which commit.c prints once a sync covers them. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/derive.h"
#include "association_internal.h"

#define LEDGER_LINE_MAX_FIELDS 3072
/* ["A","B",…] of at most 64 provider names, with its NUL */
#define PROVIDERS_TEXT_MAX (64 * (WIRE_PROVIDER_ID_MAX + 3) + 3)

static int record(struct association *as, const char *type, json_t *fields)
{
	if (as->replaying) {
		json_decref(fields);
		return 0;
	}
	if (!fields || ledger_append(&as->ledger, type, fields) < 0) {
		log_error("ledger: cannot buffer a %s record", type);
		return -1;
	}
	return 0;
}

/* Hot-path records: fields formatted straight into the line (hex, integers
 * and provider names need no escaping), no JSON tree per record. */
static int __attribute__((format(printf, 3, 4))) record_fmt(struct association *as, const char *type,
							     const char *fmt, ...)
{
	char fields[LEDGER_LINE_MAX_FIELDS];
	va_list ap;
	if (as->replaying)
		return 0;
	va_start(ap, fmt);
	int n = vsnprintf(fields, sizeof(fields), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(fields) || ledger_append_fields(&as->ledger, type, fields, (size_t)n) < 0) {
		log_error("ledger: cannot buffer a %s record", type);
		return -1;
	}
	return 0;
}

/* ["A","B",…] of the providers with both stages covered, sorted. */
static int providers_text(struct association *as, const struct pending_op *e, char *out, size_t cap)
{
	const char *names[64];
	size_t n = 0;
	for (size_t i = 0; i < as->cfg->n_providers; i++)
		if (e->have[i] == STAGES_BOTH)
			names[n++] = as->cfg->providers[i].name;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *tmp = names[j];
			names[j] = names[j - 1];
			names[j - 1] = tmp;
		}
	size_t off = 0;
	out[off++] = '[';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + off, cap - off, "%s\"%s\"", i ? "," : "", names[i]);
		if (w < 0 || (size_t)w >= cap - off)
			return -1;
		off += (size_t)w;
	}
	if (off + 2 > cap)
		return -1;
	out[off++] = ']';
	out[off] = '\0';
	return 0;
}

int record_rejected(struct association *as, struct peer *pr, const char *reason)
{
	as->rejected++;
	if (!as->replaying)
		log_warn("provider %s: rejected: %s", pr->cfg->name, reason);
	return record(as, "rejected", json_pack("{s:s, s:s, s:I}", "provider", pr->cfg->name, "reason", reason,
						"t", (json_int_t)clock_ns(CLOCK_REALTIME)));
}

static void report_confirmation(struct association *as, const uint8_t op[WIRE_DIGEST_LEN], size_t n_providers)
{
	if (as->replaying)
		return;
	if (as->report_len == as->report_cap) {
		size_t cap = as->report_cap ? as->report_cap * 2 : 256;
		struct reported *nb = reallocarray(as->report, cap, sizeof(*nb));
		if (!nb)
			return; /* the log is best effort; the ledger is the record */
		as->report = nb;
		as->report_cap = cap;
	}
	struct reported *r = &as->report[as->report_len++];
	memcpy(r->op, op, WIRE_DIGEST_LEN);
	r->n_providers = (uint8_t)n_providers; /* at most 64 */
}

/* The `confirmed` record of e. */
int record_confirmation(struct association *as, struct pending_op *e)
{
	struct linkage_part parts[64];
	uint8_t linkage[WIRE_DIGEST_LEN];
	size_t n = 0;

	for (size_t i = 0; i < as->cfg->n_providers; i++) {
		if (e->have[i] != STAGES_BOTH)
			continue;
		parts[n].provider = as->cfg->providers[i].name;
		memcpy(parts[n].start, e->values[i][0], WIRE_DIGEST_LEN);
		memcpy(parts[n].complete, e->values[i][1], WIRE_DIGEST_LEN);
		n++;
	}
	derive_linkage(e->op, parts, n, linkage);
	e->recorded = true;
	as->confirmed++;
	report_confirmation(as, e->op, n);
	char list[PROVIDERS_TEXT_MAX];
	if (providers_text(as, e, list, sizeof(list)) < 0)
		return -1;
	struct ledger_fields f = { 0 };
	ledger_fields_text(&f, "\"op\":\"");
	ledger_fields_hex(&f, e->op, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\",\"providers\":");
	ledger_fields_text(&f, list);
	ledger_fields_text(&f, ",\"linkage\":\"");
	ledger_fields_hex(&f, linkage, sizeof(linkage));
	ledger_fields_text(&f, "\",\"t\":");
	ledger_fields_u64(&f, clock_ns(CLOCK_REALTIME));
	return record_built(as, "confirmed", &f);
}

int record_expire(struct association *as, struct pending_op *e)
{
	int rc = 0;
	if (!e->confirmed) {
		as->incomplete++;
		char list[PROVIDERS_TEXT_MAX], op_hex[65];
		hex_encode(e->op, WIRE_DIGEST_LEN, op_hex);
		rc = providers_text(as, e, list, sizeof(list));
		if (rc == 0)
			rc = record_fmt(as, "incomplete", "\"op\":\"%s\",\"providers\":%s,\"t\":%" PRIu64, op_hex, list,
					clock_ns(CLOCK_REALTIME));
	}
	pending_remove(&as->pending, e);
	return rc;
}

int record_expire_aged(struct association *as)
{
	uint64_t now_ms = clock_mono_ms();
	uint64_t age_ms = (uint64_t)as->cfg->pending_timeout * 1000u;
	struct pending_op *e;
	while ((e = pending_oldest(&as->pending)) && now_ms - e->created_ms >= age_ms)
		if (record_expire(as, e) < 0)
			return -1;
	return 0;
}
