/* SPDX-License-Identifier: Apache-2.0 */
/* The replay a restarted association rebuilds from (docs/ARCHITECTURE.md
 * §7): the records of its own ledger, which the writer already accepted,
 * handed back as the frames they record and the operations they closed. */
#define _GNU_SOURCE
#include "ledger_replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/ledger_read.h"

static bool replay_record(json_t *obj, const struct ledger_replay_ops *ops, void *ctx)
{
	const char *t = json_string_value(json_object_get(obj, "type"));
	struct signal_frame s;
	struct checkpoint_frame c;
	uint8_t op[WIRE_DIGEST_LEN];
	if (!t)
		return false;
	if (strcmp(t, "signal") == 0) {
		if (!ledger_read_signal(obj, &s))
			return false;
		if (ops->signal)
			ops->signal(ctx, &s);
	} else if (strcmp(t, "checkpoint") == 0) {
		if (!ledger_read_checkpoint(obj, &c))
			return false;
		if (ops->checkpoint)
			ops->checkpoint(ctx, &c);
	} else if (strcmp(t, "confirmed") == 0 || strcmp(t, "incomplete") == 0) {
		if (!ledger_get_hex(obj, "op", op, sizeof(op)))
			return false;
		if (ops->closed)
			ops->closed(ctx, op, t[0] == 'c');
	}
	return true;
}

int ledger_replay(int fd, const struct ledger_replay_ops *ops, void *ctx, char *errbuf, size_t errlen)
{
	struct line_reader *lr = malloc(sizeof(*lr));
	const char *line;
	size_t len;
	enum line_status st;
	int rc = 0;
	if (!lr) {
		snprintf(errbuf, errlen, "replay: out of memory");
		return -1;
	}
	ledger_line_reader_init(lr, fd);
	while (rc == 0 && (st = ledger_line_next(lr, &line, &len)) == LINE_OK) {
		json_t *obj = ledger_parse_line(line, len, errbuf, errlen);
		if (!obj || !replay_record(obj, ops, ctx)) {
			if (obj)
				snprintf(errbuf, errlen, "line %" PRIu64 ": malformed record", lr->lineno);
			rc = -1;
		}
		json_decref(obj);
	}
	if (rc == 0 && st != LINE_EOF) {
		ledger_line_status_why(st, errbuf, errlen);
		rc = -1;
	}
	free(lr);
	return rc;
}
