/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The live counters record (roles/role_counters.h): its parser takes
 * exactly one record of the kind's length and nothing else (a role's
 * record is untrusted), and a role's report is written at most once a
 * period, only when something changed, and never blocks. Also the state
 * file's liveness check (runner/status_file.h). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../roles/role_counters.h"
#include "../../runner/role_table.h"
#include "../../runner/status_file.h"

Test(unit_role_counters, encode_then_parse_gives_the_values_back)
{
	uint64_t in[RC_AS_COUNT], out[RC_AS_COUNT] = { 0 };
	uint8_t rec[ROLE_COUNTERS_RECORD_MAX];
	for (size_t i = 0; i < RC_AS_COUNT; i++)
		in[i] = 0x0102030405060708ull * (i + 1) + i;
	size_t len = role_counters_encode(rec, in, RC_AS_COUNT);
	cr_assert_eq(len, 3 + 8 * RC_AS_COUNT);
	cr_assert_eq(rec[0], 'C');
	cr_assert_eq(rec[1] | rec[2] << 8, 8 * RC_AS_COUNT);
	cr_assert_eq(rec[3], 0x08, "little-endian");
	cr_assert_eq(role_counters_parse(rec, len, RC_AS_COUNT, out), (ssize_t)len);
	cr_assert_arr_eq(in, out, sizeof(in));
}

Test(unit_role_counters, a_partial_record_waits_for_the_rest)
{
	uint64_t in[RC_PR_COUNT] = { 1, 2, 3, 4, 5 }, out[RC_PR_COUNT];
	uint8_t rec[ROLE_COUNTERS_RECORD_MAX];
	size_t len = role_counters_encode(rec, in, RC_PR_COUNT);
	for (size_t cut = 0; cut < len; cut++)
		cr_assert_eq(role_counters_parse(rec, cut, RC_PR_COUNT, out), 0, "cut at %zu", cut);
}

Test(unit_role_counters, takes_exactly_one_record_and_leaves_what_follows)
{
	uint64_t in[RC_IM_COUNT] = { 7 }, out[RC_IM_COUNT];
	uint8_t buf[2 * ROLE_COUNTERS_RECORD_MAX];
	size_t len = role_counters_encode(buf, in, RC_IM_COUNT);
	memcpy(buf + len, "EXTRA", 5);
	cr_assert_eq(role_counters_parse(buf, len + 5, RC_IM_COUNT, out), (ssize_t)len);
	cr_assert_eq(out[0], 7);
}

Test(unit_role_counters, refuses_another_kinds_length_and_other_records)
{
	uint64_t in[RC_IM_COUNT] = { 0 }, out[ROLE_COUNTERS_MAX];
	uint8_t rec[ROLE_COUNTERS_RECORD_MAX];
	size_t len = role_counters_encode(rec, in, RC_IM_COUNT);
	/* an intermediary's record is no provider's or association's */
	cr_assert_eq(role_counters_parse(rec, len, RC_PR_COUNT, out), -1);
	cr_assert_eq(role_counters_parse(rec, len, RC_AS_COUNT, out), -1);
	/* a length one byte off either way, or not a multiple of 8 */
	for (int delta = -9; delta <= 9; delta++) {
		if (delta == 0)
			continue;
		size_t body = 8 * RC_IM_COUNT + (size_t)delta;
		rec[1] = (uint8_t)(body & 0xff);
		rec[2] = (uint8_t)(body >> 8);
		cr_assert_eq(role_counters_parse(rec, sizeof(rec), RC_IM_COUNT, out), -1, "delta %d", delta);
	}
	/* a length past any buffer */
	rec[1] = rec[2] = 0xff;
	cr_assert_eq(role_counters_parse(rec, sizeof(rec), RC_IM_COUNT, out), -1);
	/* other type bytes: a forged "cannot start", a second "ready" */
	cr_assert_eq(role_counters_parse((const uint8_t *)"E\x05\x00hello", 8, RC_IM_COUNT, out), -1);
	cr_assert_eq(role_counters_parse((const uint8_t *)"R", 1, RC_IM_COUNT, out), -1);
	/* a kind with more counters than any list */
	cr_assert_eq(role_counters_parse(rec, sizeof(rec), ROLE_COUNTERS_MAX + 1, out), -1);
}

Test(unit_role_counters, every_kind_has_its_list_with_distinct_names)
{
	for (size_t k = 0; k < ROLE_KINDS; k++) {
		const struct role_counter_list *l = role_kinds[k].counters;
		cr_assert(l && l->n > 0 && l->n <= ROLE_COUNTERS_MAX, "%s", role_kinds[k].name);
		for (size_t i = 0; i < l->n; i++) {
			cr_assert(l->defs[i].help && *l->defs[i].help);
			for (size_t j = 0; j < i; j++)
				cr_assert_str_neq(l->defs[i].name, l->defs[j].name);
		}
	}
	cr_assert_eq(role_kinds[ROLE_INTERMEDIARY].counters->n, RC_IM_COUNT);
	cr_assert_str_eq(role_kinds[ROLE_ASSOCIATION].counters->defs[RC_AS_confirmed].name, "confirmed");
	cr_assert_eq(role_kinds[ROLE_ASSOCIATION].counters->defs[RC_AS_pending].type, ROLE_GAUGE);
}

/* What a report wrote on the pipe: the number of records, the last one's
 * values in last. */
static size_t drain_records(int rd, uint64_t *last, size_t n)
{
	uint8_t buf[4096];
	ssize_t got = read(rd, buf, sizeof(buf));
	size_t count = 0, off = 0;
	while (got > 0 && off < (size_t)got) {
		ssize_t used = role_counters_parse(buf + off, (size_t)got - off, n, last);
		cr_assert_gt(used, 0);
		off += (size_t)used;
		count++;
	}
	return count;
}

Test(unit_role_counters, reports_once_a_period_only_what_changed)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct role_counters_report r;
	cr_assert_eq(role_counters_init(&r, p[1], RC_PR_COUNT), 0);
	cr_assert(fcntl(p[1], F_GETFL) & O_NONBLOCK);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	uint64_t v[RC_PR_COUNT] = { 0 }, got[RC_PR_COUNT];
	/* the first is written at once */
	cr_assert_eq(role_counters_tick(&r, v, 10000, false), -1);
	cr_assert_eq(drain_records(p[0], got, RC_PR_COUNT), 1);
	/* nothing changed: nothing written, nothing due */
	cr_assert_eq(role_counters_tick(&r, v, 10300, false), -1);
	cr_assert_eq(drain_records(p[0], got, RC_PR_COUNT), 0);
	/* a change within the period waits for its end */
	v[RC_PR_artifacts] = 3;
	cr_assert_eq(role_counters_tick(&r, v, 10400, false), ROLE_COUNTERS_PERIOD_MS - 400);
	cr_assert_eq(drain_records(p[0], got, RC_PR_COUNT), 0);
	v[RC_PR_artifacts] = 5;
	cr_assert_eq(role_counters_tick(&r, v, 11000, false), -1);
	cr_assert_eq(drain_records(p[0], got, RC_PR_COUNT), 1);
	cr_assert_eq(got[RC_PR_artifacts], 5);
	/* at stop: written at once */
	v[RC_PR_signals] = 2;
	cr_assert_eq(role_counters_tick(&r, v, 11001, true), -1);
	cr_assert_eq(drain_records(p[0], got, RC_PR_COUNT), 1);
	cr_assert_eq(got[RC_PR_signals], 2);
	close(p[0]);
	close(p[1]);
}

Test(unit_role_counters, a_full_pipe_does_not_block_the_role)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct role_counters_report r;
	cr_assert_eq(role_counters_init(&r, p[1], RC_IM_COUNT), 0);
	char junk[4096] = { 0 };
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	uint64_t v[RC_IM_COUNT] = { 1 };
	/* not written: tried again a period later, not on every loop turn */
	cr_assert_eq(role_counters_tick(&r, v, 5000, false), ROLE_COUNTERS_PERIOD_MS);
	cr_assert_eq(role_counters_tick(&r, v, 5001, false), ROLE_COUNTERS_PERIOD_MS - 1);
	close(p[0]);
	close(p[1]);
}

Test(unit_status_file, names_the_instance_after_its_topology_and_ledger)
{
	char a[STATUS_NAME_MAX], b[STATUS_NAME_MAX], c[STATUS_NAME_MAX];
	status_file_name("/etc/mpbs-run/reference.conf", "/var/lib/mpbs/reference/ledger.jsonl", a, sizeof(a));
	status_file_name("/etc/mpbs-run/reference.conf", "/var/lib/mpbs/other/ledger.jsonl", b, sizeof(b));
	status_file_name("/etc/.hidden", "/l", c, sizeof(c));
	cr_assert_eq(strncmp(a, "reference-", 10), 0, "%s", a);
	cr_assert_eq(strlen(a), 18, "%s", a);
	cr_assert_str_neq(a, b);
	cr_assert_neq(c[0], '.', "%s", c);
}

Test(unit_status_file, live_only_while_its_supervisor_runs)
{
	json_t *j = json_pack("{s:i, s:I}", "pid", (int)getpid(), "pid_start", (json_int_t)status_pid_start(getpid()));
	cr_assert(status_file_is_live(j));
	/* the same pid started at another time: a reused pid */
	json_object_set_new(j, "pid_start", json_integer(1));
	cr_assert_not(status_file_is_live(j));
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	json_object_set_new(j, "pid", json_integer(gone));
	cr_assert_not(status_file_is_live(j));
	json_object_set_new(j, "pid", json_integer(-1));
	cr_assert_not(status_file_is_live(j));
	json_decref(j);
}
