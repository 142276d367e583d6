/* SPDX-License-Identifier: Apache-2.0 */
/* The association's group commit: each loop round's records are written
 * together (sooner when many are buffered), closed by a signed head when one
 * is due, and made durable by one fdatasync in the syncer thread (syncer.h)
 * while the loop goes on; the confirmations a sync covers are logged (at
 * -v) only after it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/derive.h"
#include "association_internal.h"

/* A signed head closes a group commit once this much has passed since the
 * last one, or this many records are unsigned, and always at a stop: an
 * Ed25519 signature costs about 28 us, too much for every small round at
 * high rates. The loop wakes every second (the expiry timer), so a quiet
 * ledger's unsigned tail is at most about a second old. */
#define HEAD_MIN_INTERVAL_MS 50
#define HEAD_EVERY_RECORDS 4096

/* Logs report[0, end), one line per confirmation, and only at -v (a line
 * per operation is megabytes a second under load): one write(2) each, so
 * each is one record of the log pipe. */
static void print_reports(struct association *as, size_t end)
{
	if (end == 0)
		return; /* also: report may be NULL, which memmove must not get */
	if (log_enabled(LOG_SEV_VERBOSE))
		for (size_t i = 0; i < end; i++) {
			char op_hex[2 * WIRE_DIGEST_LEN + 1];
			hex_encode(as->report[i].op, WIRE_DIGEST_LEN, op_hex);
			log_verbose("confirmed %s (%u providers)", op_hex, (unsigned)as->report[i].n_providers);
		}
	memmove(as->report, as->report + end, (as->report_len - end) * sizeof(*as->report));
	as->report_len -= end;
}

int commit_write(struct association *as)
{
	if (l2_flush(&as->ledger, ledger_now()) < 0) {
		log_errno("ledger write");
		return -1;
	}
	return 0;
}

/* A signed head over everything buffered so far (docs/VERIFY.md), at a
 * group commit with new records, bounded as HEAD_MIN_INTERVAL_MS says;
 * `now` forces one (the stop). */
static int append_head(struct association *as, bool now)
{
	uint64_t now_ms = clock_mono_ms();
	if (as->replaying || as->ledger.records == as->head_record_seq)
		return 0;
	if (!now && now_ms - as->head_ms < HEAD_MIN_INTERVAL_MS &&
	    as->ledger.records - as->head_record_seq < HEAD_EVERY_RECORDS)
		return 0;
	return commit_head(as, false);
}

int commit_head(struct association *as, bool seal)
{
	struct ledger_head h;
	if (l2_head(&as->ledger, as->head_sk, seal, ledger_now(), &h.seq, h.hash) < 0) {
		log_errno("ledger: cannot buffer a head record");
		return -1;
	}
	as->last_head = h;
	as->head_record_seq = as->ledger.records;
	as->head_ms = clock_mono_ms();
	return 0;
}

/* Group commit: at most one fdatasync runs at a time in the syncer thread,
 * covering all that was written before it started, while the loop goes on.
 * Each round's records are written as one block at its end, also while the
 * worker is inside fdatasync: a block's time is when its round decided.
 * Holding them back until the sync ended (as before 2026-11-30) made the
 * confirmations of a checkpoint burst wait out the sync the burst's first
 * round had started: p99 at half the best rate 3.30-3.46 -> 3.00-3.28 ms,
 * association CPU per operation unchanged within noise (BENCHMARKS.md). On
 * a device that needs stable pages the write waits for the page being
 * written back, about as long as those confirmations waited before. A
 * signed head closes a commit when one is due. */
int commit_round(struct association *as)
{
	if (append_head(as, false) < 0 || commit_write(as) < 0 ||
	    commit_if_large(as) < 0 || segments_rotate_if_due(as) < 0)
		return -1;
	if (!as->sync_in_flight && as->ledger.records > as->sync.synced) {
		as->sync_in_flight = true;
		as->sync_seq = as->ledger.records;
		as->sync_report_end = as->report_len;
		syncer_request(&as->sync, as->sync_seq);
	}
	return 0;
}

/* The syncer finished one fdatasync: the confirmations it covered are on
 * disk, and may be reported. */
int commit_on_synced(struct association *as)
{
	uint64_t synced;
	if (syncer_collect(&as->sync, &synced) < 0) {
		log_errno("ledger fdatasync");
		return -1;
	}
	if (as->sync_in_flight && synced >= as->sync_seq) {
		as->sync_in_flight = false;
		print_reports(as, as->sync_report_end);
	}
	return commit_round(as);
}

/* At stop: the last records written and synced here, then reported. */
int commit_final(struct association *as)
{
	if (append_head(as, true) < 0)
		return -1;
	if (l2_flush(&as->ledger, ledger_now()) < 0 || fdatasync(as->ledger.fd) < 0) {
		log_errno("ledger commit");
		return -1;
	}
	print_reports(as, as->report_len);
	return 0;
}
