/* SPDX-License-Identifier: Apache-2.0 */
/* Live counters: the lists, the role's periodic report and the record's
 * encoding and parsing (role_counters.h). */
#include "role_counters.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"

#define ROLE_COUNTER_DEF(name, type, help) { #name, type, help },

static const struct role_counter_def intermediary_defs[] = { ROLE_COUNTERS_INTERMEDIARY(ROLE_COUNTER_DEF) };
static const struct role_counter_def association_defs[] = { ROLE_COUNTERS_ASSOCIATION(ROLE_COUNTER_DEF) };
static const struct role_counter_def provider_defs[] = { ROLE_COUNTERS_PROVIDER(ROLE_COUNTER_DEF) };
static const struct role_counter_def bridge_defs[] = { ROLE_COUNTERS_BRIDGE(ROLE_COUNTER_DEF) };

_Static_assert(RC_IM_COUNT <= ROLE_COUNTERS_MAX && RC_AS_COUNT <= ROLE_COUNTERS_MAX &&
		       RC_PR_COUNT <= ROLE_COUNTERS_MAX && RC_BR_COUNT <= ROLE_COUNTERS_MAX,
	       "ROLE_COUNTERS_MAX is the longest list");
/* A record is written with one write(2) to a pipe: atomic up to PIPE_BUF. */
_Static_assert(ROLE_COUNTERS_RECORD_MAX <= 512, "a record fits the supervisor's status buffer");

const struct role_counter_list role_counters_intermediary = { intermediary_defs, RC_IM_COUNT };
const struct role_counter_list role_counters_association = { association_defs, RC_AS_COUNT };
const struct role_counter_list role_counters_provider = { provider_defs, RC_PR_COUNT };
const struct role_counter_list role_counters_bridge = { bridge_defs, RC_BR_COUNT };

int role_counters_init(struct role_counters_report *r, int status_fd, size_t n)
{
	*r = (struct role_counters_report){ .status_fd = status_fd, .n = n };
	int fl = fcntl(status_fd, F_GETFL);
	if (fl < 0 || fcntl(status_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		log_errno("status fd: O_NONBLOCK");
		return -1;
	}
	return 0;
}

size_t role_counters_encode(uint8_t *rec, const uint64_t *values, size_t n)
{
	size_t len = 8 * n;
	rec[0] = ROLE_STATUS_COUNTERS;
	rec[1] = (uint8_t)(len & 0xff);
	rec[2] = (uint8_t)(len >> 8);
	for (size_t i = 0; i < n; i++)
		for (size_t b = 0; b < 8; b++)
			rec[3 + 8 * i + b] = (uint8_t)(values[i] >> (8 * b));
	return 3 + len;
}

int role_counters_tick(struct role_counters_report *r, const uint64_t *values, uint64_t now_ms, bool final)
{
	size_t bytes = r->n * sizeof(*values);
	if (r->sent_once && memcmp(r->last, values, bytes) == 0)
		return -1;
	uint64_t due = r->last_ms + ROLE_COUNTERS_PERIOD_MS;
	if (!final && r->tried && now_ms < due)
		return (int)(due - now_ms);
	uint8_t rec[ROLE_COUNTERS_RECORD_MAX];
	size_t len = role_counters_encode(rec, values, r->n);
	ssize_t w;
	do
		w = write(r->status_fd, rec, len);
	while (w < 0 && errno == EINTR);
	/* A full pipe (the supervisor is behind) or a gone reader: tried again
	 * a period later; the counters are a view, not a record. */
	r->last_ms = now_ms;
	r->tried = true;
	if (w != (ssize_t)len)
		return final ? -1 : ROLE_COUNTERS_PERIOD_MS;
	memcpy(r->last, values, bytes);
	r->sent_once = true;
	return -1;
}

ssize_t role_counters_parse(const uint8_t *buf, size_t len, size_t n, uint64_t *values)
{
	if (len < 1)
		return 0;
	if (buf[0] != ROLE_STATUS_COUNTERS || n > ROLE_COUNTERS_MAX)
		return -1;
	if (len < 3)
		return 0;
	size_t body = (size_t)buf[1] | (size_t)buf[2] << 8;
	if (body != 8 * n)
		return -1;
	if (len < 3 + body)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0;
		for (size_t b = 0; b < 8; b++)
			v |= (uint64_t)buf[3 + 8 * i + b] << (8 * b);
		values[i] = v;
	}
	return (ssize_t)(3 + body);
}
