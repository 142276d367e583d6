/* SPDX-License-Identifier: Apache-2.0 */
/* e2e_verify_forgery: a real run writes a ledger with signed heads; then
 * forgeries are made on copies of it and `mpbs-run verify` must refuse
 * each: a confirmation rewritten to name only ["A"] with its linkage
 * recomputed (confirm = all), a rewrite rechained through the heads, and a
 * cut measured against the head the run logged. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../../lib/derive.h"
#include "../common/harness.h"

static struct mpbs m;
static char copy[PATH_MAX + 16];

static void finish(void)
{
	if (copy[0])
		unlink(copy);
	mpbs_cleanup(&m);
}

TestSuite(e2e_verify_forgery, .fini = finish, .timeout = 120);

static int verify(const char *ledger, const char *expect_head, char **out)
{
	char *argv[] = { (char *)mpbs_binary(), "verify", (char *)ledger, "--topology", m.topology,
			 expect_head ? "--expect-head" : NULL, (char *)expect_head, NULL };
	return run_cmd(argv, out);
}

/* Runs A, B and C (confirm = all), confirms one operation, stops; returns
 * the last signed head the association logged at its stop. */
static char *run_once(void)
{
	cr_assert_eq(mpbs_start(&m, "A B C", NULL), 0, "start");
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, "hello", 5), 204);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 10000 * harness_time_scale()), 1);
	cr_assert_eq(mpbs_stop(&m), 0);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	char *at = strstr(log, "last signed head ");
	cr_assert_not_null(at, "the association logs its last head at stop:\n%s", log);
	char *head = strndup(at + strlen("last signed head "), strcspn(at + strlen("last signed head "), " \n"));
	free(log);
	return head;
}

/* The ledger's records, each line parsed. */
static json_t *load_lines(const char *path)
{
	char *text = read_file(path, NULL);
	cr_assert_not_null(text);
	json_t *arr = json_array();
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *obj = json_loads(l, 0, NULL);
		cr_assert_not_null(obj);
		json_array_append_new(arr, obj);
	}
	free(text);
	return arr;
}

static void hex_set(json_t *obj, const char *key, const uint8_t *b, size_t n)
{
	char hex[129];
	hex_encode(b, n, hex);
	json_object_set_new(obj, key, json_string(hex));
}

static void hex_get(json_t *obj, const char *key, uint8_t *b, size_t n)
{
	const char *s = json_string_value(json_object_get(obj, key));
	cr_assert_not_null(s, "%s", key);
	cr_assert_eq(hex_decode(s, strlen(s), b, n), 0);
}

/* Writes the records of arr[0, n) to the copy, rechaining every prev (and
 * the covers and head of head records, whose signature a forger cannot
 * make) as a forger who rewrote a line would. */
static void write_forged(json_t *arr, size_t n)
{
	snprintf(copy, sizeof(copy), "%s/forged.jsonl", m.dir);
	FILE *f = fopen(copy, "w");
	cr_assert_not_null(f);
	uint8_t prev[32] = { 0 };
	for (size_t i = 0; i < n; i++) {
		json_t *obj = json_array_get(arr, i);
		hex_set(obj, "prev", prev, 32);
		if (strcmp(json_string_value(json_object_get(obj, "type")), "head") == 0) {
			json_object_set_new(obj, "covers", json_integer((json_int_t)i));
			hex_set(obj, "head", prev, 32);
		}
		char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
		crypto_hash_sha256(prev, (const uint8_t *)line, strlen(line));
		fprintf(f, "%s\n", line);
		free(line);
	}
	cr_assert_eq(fclose(f), 0);
}

Test(e2e_verify_forgery, the_genuine_ledger_holds_and_reports_the_logged_head)
{
	char *head = run_once(), *out = NULL;
	cr_assert_eq(verify(m.ledger, NULL, &out), 0, "%s", out);
	char want[256];
	snprintf(want, sizeof(want), "last signed head: %s (", head);
	cr_assert_not_null(strstr(out, want), "verify reports the head the run logged (%s):\n%s", head, out);
	cr_assert_not_null(strstr(out, "unsigned tail: 0 records"), "%s", out);
	free(out);
	cr_assert_eq(verify(m.ledger, head, &out), 0, "%s", out);
	free(out);
	free(head);
}

Test(e2e_verify_forgery, a_confirmation_rewritten_to_name_only_A_fails_under_confirm_all)
{
	char *head = run_once(), *out = NULL;
	json_t *arr = load_lines(m.ledger);
	size_t n = json_array_size(arr), at = n;
	for (size_t i = 0; i < n; i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(arr, i), "type")), "confirmed") == 0)
			at = i;
	cr_assert_lt(at, n);
	json_t *conf = json_array_get(arr, at);
	uint8_t op[32];
	hex_get(conf, "op", op, 32);
	/* A's covered START and COMPLETE values for this op, as in the ledger. */
	struct linkage_part part = { .provider = "A" };
	for (size_t i = 0; i < at; i++) {
		json_t *r = json_array_get(arr, i);
		const char *stage = json_string_value(json_object_get(r, "stage"));
		if (!stage || strcmp(json_string_value(json_object_get(r, "provider")), "A") != 0)
			continue;
		hex_get(r, "value", strcmp(stage, "START") == 0 ? part.start : part.complete, 32);
	}
	uint8_t linkage[32];
	derive_linkage(op, &part, 1, linkage);
	json_object_set_new(conf, "providers", json_pack("[s]", "A"));
	hex_set(conf, "linkage", linkage, 32);
	write_forged(arr, n);
	json_decref(arr);

	cr_assert_eq(verify(copy, NULL, &out), 1, "the forgery must fail:\n%s", out);
	char want[256];
	snprintf(want, sizeof(want), ": line %zu (seq %zu): field \"providers\": confirmed: names 1 of the 3 providers, "
		 "but confirm = all\n", at + 1, at + 1);
	cr_assert_not_null(strstr(out, want), "%s", out);
	free(out);
	free(head);
}

Test(e2e_verify_forgery, a_rewrite_rechained_through_the_heads_fails_on_the_heads_signature)
{
	char *head = run_once(), *out = NULL;
	json_t *arr = load_lines(m.ledger);
	size_t n = json_array_size(arr);
	/* A record inserted at the start (one the verifier accepts on its
	 * own), everything after it renumbered and rechained, heads included:
	 * their covers and head recomputed, their signatures kept. */
	json_t *forged = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "seq", (json_int_t)1, "prev", "", "type",
				   "rejected", "provider", "A", "reason", "forged", "t", (json_int_t)1);
	json_array_insert_new(arr, 0, forged);
	for (size_t i = 0; i <= n; i++)
		json_object_set_new(json_array_get(arr, i), "seq", json_integer((json_int_t)(i + 1)));
	write_forged(arr, n + 1);
	json_decref(arr);
	cr_assert_eq(verify(copy, NULL, &out), 1, "%s", out);
	cr_assert_not_null(strstr(out, "field \"sig\": head: bad signature (it does not verify with the association's key)"),
			   "%s", out);
	free(out);
	free(head);
}

Test(e2e_verify_forgery, a_cut_is_found_against_the_logged_head_and_only_so)
{
	char *head = run_once(), *out = NULL;
	json_t *arr = load_lines(m.ledger);
	size_t n = json_array_size(arr);
	/* Cut the last head and the confirmation before it. */
	write_forged(arr, n - 2);
	json_decref(arr);
	cr_assert_eq(verify(copy, NULL, &out), 0, "without a kept head a cut is a shorter valid ledger:\n%s", out);
	cr_assert_null(strstr(out, head), "its last head is an earlier one");
	free(out);
	cr_assert_eq(verify(copy, head, &out), 1, "%s", out);
	cr_assert_not_null(strstr(out, "records were cut off"), "%s", out);
	free(out);
	free(head);
}

/* With --public-keys DIR the directory lists the providers: a genuine
 * ledger that names C, checked with a DIR holding only A's and B's keys,
 * fails as naming an unknown provider (exit 1), as with a topology that
 * lacks C; a DIR that is not there cannot be read (exit 2). */
Test(e2e_verify_forgery, a_provider_with_no_key_in_the_keys_dir_is_unknown)
{
	free(run_once());
	char dir[PATH_MAX + 16], cmd[PATH_MAX * 8], *out = NULL;
	snprintf(dir, sizeof(dir), "%s/two-keys", m.dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/A' '%s/B' && cp '%s/keys/A/signal.pub' '%s/A/' && "
				   "cp '%s/keys/B/signal.pub' '%s/B/'",
		 dir, dir, m.dir, dir, m.dir, dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	char *argv[] = { (char *)mpbs_binary(), "verify", m.ledger, "--public-keys", dir, NULL };
	cr_assert_eq(run_cmd(argv, &out), 1, "%s", out);
	cr_assert_not_null(strstr(out, "FAIL: "), "%s", out);
	cr_assert_not_null(strstr(out, "C"), "%s", out);
	free(out);
	snprintf(dir, sizeof(dir), "%s/no-such-dir", m.dir);
	argv[4] = dir;
	cr_assert_eq(run_cmd(argv, &out), 2, "%s", out);
	cr_assert_not_null(strstr(out, "cannot read the public keys: "), "%s", out);
	free(out);
}
