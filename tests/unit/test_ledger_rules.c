/* SPDX-License-Identifier: Apache-2.0 */
/* unit_ledger_rules: what `mpbs-run verify` checks beyond the file's own
 * consistency: the topology's confirm rule and
 * provider set, covered START and COMPLETE of every confirming provider,
 * the association's signed heads, and heads kept elsewhere. Ledgers are
 * built with the real writer, real provider keys and chains. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../../lib/chain.h"
#include "../../lib/derive.h"
#include "../../lib/ledger.h"
#include "../common/ledger1_write.h"

struct party {
	char name[WIRE_PROVIDER_ID_MAX + 1];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t epoch[WIRE_EPOCH_LEN], head[WIRE_DIGEST_LEN];
	uint64_t seq;
};

static struct party ps[4]; /* A, B, C, and D (in no topology) */
static uint8_t as_pk[32], as_sk[64], other_pk[32], other_sk[64];
static struct ledger_writer w;
static int fd;
static const char *const topo3[] = { "A", "B", "C" };

static bool ring_pubkey(void *ctx, const char *provider, uint8_t pk[32])
{
	(void)ctx;
	for (size_t i = 0; i < 4; i++)
		if (strcmp(ps[i].name, provider) == 0) {
			memcpy(pk, ps[i].pk, 32);
			return true;
		}
	return false;
}

static void setup(void)
{
	static const char *const names[4] = { "A", "B", "C", "D" };
	char path[] = "/tmp/mpbs-test-rules-XXXXXX", err[256];
	cr_assert_geq(sodium_init(), 0);
	for (size_t i = 0; i < 4; i++) {
		memset(&ps[i], 0, sizeof(ps[i]));
		snprintf(ps[i].name, sizeof(ps[i].name), "%s", names[i]);
		crypto_sign_keypair(ps[i].pk, ps[i].sk);
	}
	crypto_sign_keypair(as_pk, as_sk);
	crypto_sign_keypair(other_pk, other_sk);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(fcntl(fd, F_SETFL, O_APPEND), 0);
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	ledger_writer_close(&w);
	close(fd);
}

TestSuite(unit_ledger_rules, .init = setup, .fini = teardown);

static json_t *hex_json(const uint8_t *b, size_t n)
{
	char hex[2 * WIRE_SIG_LEN + 1];
	hex_encode(b, n, hex);
	return json_string(hex);
}

static void append(const char *type, json_t *fields)
{
	cr_assert_not_null(fields);
	cr_assert_eq(ledger_append(&w, type, fields), 0, "append %s: %s", type, strerror(errno));
}

static void checkpoint(struct party *p)
{
	struct checkpoint_frame c = { .seq = p->seq };
	snprintf(c.provider, sizeof(c.provider), "%s", p->name);
	memcpy(c.epoch, p->epoch, sizeof(c.epoch));
	memcpy(c.head, p->head, sizeof(c.head));
	checkpoint_sign(&c, p->sk);
	append("checkpoint", json_pack("{s:s, s:o, s:I, s:o, s:o}", "provider", p->name, "epoch",
				       hex_json(c.epoch, sizeof(c.epoch)), "pseq", (json_int_t)c.seq, "head",
				       hex_json(c.head, sizeof(c.head)), "sig", hex_json(c.sig, sizeof(c.sig))));
}

static void open_epoch(struct party *p)
{
	randombytes_buf(p->epoch, sizeof(p->epoch));
	derive_chain_origin(p->epoch, p->head);
	p->seq = 0;
	checkpoint(p);
}

static void signal(struct party *p, const uint8_t op[32], uint8_t stage, uint8_t value[32])
{
	struct signal_frame s = { .stage = stage, .t_ns = 1700000000000000000ull + p->seq, .seq = ++p->seq };
	snprintf(s.provider, sizeof(s.provider), "%s", p->name);
	memcpy(s.op, op, 32);
	randombytes_buf(s.value, sizeof(s.value));
	memcpy(value, s.value, 32);
	chain_extend(p->head, &s);
	append("signal", json_pack("{s:o, s:s, s:s, s:o, s:I, s:I, s:o}", "op", hex_json(s.op, 32), "provider",
				   p->name, "stage", wire_stage_name(stage), "value", hex_json(s.value, 32), "t",
				   (json_int_t)s.t_ns, "pseq", (json_int_t)s.seq, "chain", hex_json(s.chain, 32)));
}

/* A confirmed record naming parts[0..n) (sorted), its linkage recomputed
 * from their values as the association computes it. */
static uint64_t confirmed(const uint8_t op[32], struct linkage_part *parts, size_t n)
{
	uint8_t linkage[32];
	derive_linkage(op, parts, n, linkage);
	json_t *names = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(names, json_string(parts[i].provider));
	append("confirmed", json_pack("{s:o, s:o, s:o, s:I}", "op", hex_json(op, 32), "providers", names, "linkage",
				      hex_json(linkage, 32), "t", (json_int_t)1700000000123456789ll));
	return w.seq;
}

/* Providers first..first+n-1 each sign START and COMPLETE for op and a
 * checkpoint covering them; their linkage parts are filled. */
static void signed_by(size_t first, size_t n, const uint8_t op[32], struct linkage_part *parts)
{
	for (size_t i = 0; i < n; i++) {
		struct party *p = &ps[first + i];
		parts[i].provider = p->name;
		signal(p, op, STAGE_START, parts[i].start);
		signal(p, op, STAGE_COMPLETE, parts[i].complete);
		checkpoint(p);
	}
}

static void epochs(size_t n)
{
	for (size_t i = 0; i < n; i++)
		open_epoch(&ps[i]);
}

static void head(void)
{
	cr_assert_eq(ledger_append_head(&w, as_sk), 0);
}

static struct ledger_verify_result verify(const struct ledger_verify_opts *o)
{
	struct ledger_verify_result res;
	cr_assert_eq(ledger_commit(&w), 0);
	memset(&res, 0xa5, sizeof(res));
	bool ok = ledger_verify_with(fd, o, &res);
	cr_assert_eq(ok, res.bad_line == 0, "ok %d, bad_line %lu: %s", ok, (unsigned long)res.bad_line, res.why);
	return res;
}

/* The topology of A, B, C with confirm = k (3: all), and the association's key. */
static struct ledger_verify_opts rules(unsigned k)
{
	return (struct ledger_verify_opts){ .pubkey = ring_pubkey, .n_providers = 3, .providers = topo3,
					    .confirm_k = k, .association_pk = as_pk };
}

static void assert_field_fails_at(const struct ledger_verify_opts *o, uint64_t line, const char *field,
				  const char *why_part)
{
	struct ledger_verify_result res = verify(o);
	cr_assert_eq(res.bad_line, line, "bad_line %lu (%s), expected %lu", (unsigned long)res.bad_line, res.why,
		     (unsigned long)line);
	cr_assert_not_null(strstr(res.why, why_part), "why \"%s\" lacks \"%s\"", res.why, why_part);
	if (field)
		cr_assert_str_eq(res.field, field, "field \"%s\" (%s), expected \"%s\"", res.field, res.why, field);
}

static void assert_fails_at(const struct ledger_verify_opts *o, uint64_t line, const char *why_part)
{
	assert_field_fails_at(o, line, NULL, why_part);
}

Test(unit_ledger_rules, a_genuine_ledger_holds_under_its_topology)
{
	uint8_t op[32];
	struct linkage_part parts[3];
	randombytes_buf(op, sizeof(op));
	epochs(3);
	head();
	signed_by(0, 3, op, parts);
	confirmed(op, parts, 3);
	head();
	struct ledger_verify_opts o = rules(3);
	struct ledger_verify_result res = verify(&o);
	cr_assert_eq(res.bad_line, 0, "%s", res.why);
	cr_assert_eq(res.confirmed, 1);
	cr_assert_eq(res.heads, 2);
	cr_assert_eq(res.last_head.seq, w.seq - 1);
	cr_assert_eq(res.last_head_record, w.seq);
}

Test(unit_ledger_rules, a_confirmation_forged_to_name_only_A_fails_under_confirm_all)
{
	/* Only A signed; the forger writes "confirmed" naming ["A"] with the
	 * linkage recomputed from A's covered values. */
	uint8_t op[32];
	struct linkage_part parts[1];
	randombytes_buf(op, sizeof(op));
	epochs(3);
	signed_by(0, 1, op, parts);
	uint64_t at = confirmed(op, parts, 1);
	struct ledger_verify_opts o = rules(3);
	assert_fails_at(&o, at, "confirmed: names 1 of the 3 providers, but confirm = all");
	struct ledger_verify_result res = verify(&o);
	cr_assert_eq(res.bad_seq, at, "the failure names the record's seq: %lu", (unsigned long)res.bad_seq);
	cr_assert_str_eq(res.field, "providers", "and its field: \"%s\"", res.field);
	/* The control: without the topology's rule the same file holds. */
	struct ledger_verify_opts bare = { .pubkey = ring_pubkey };
	cr_assert_eq(verify(&bare).bad_line, 0);
}

Test(unit_ledger_rules, k_of_n_short_fails)
{
	uint8_t op[32];
	struct linkage_part parts[2];
	randombytes_buf(op, sizeof(op));
	epochs(3);
	signed_by(0, 1, op, parts);
	uint64_t at = confirmed(op, parts, 1);
	struct ledger_verify_opts o = rules(2);
	assert_fails_at(&o, at, "confirmed: names 1 providers, but confirm = 2");
}

Test(unit_ledger_rules, k_of_n_met_holds)
{
	uint8_t op[32];
	struct linkage_part parts[2];
	randombytes_buf(op, sizeof(op));
	epochs(3);
	signed_by(1, 2, op, parts); /* B and C */
	confirmed(op, parts, 2);
	struct ledger_verify_opts o = rules(2);
	cr_assert_eq(verify(&o).bad_line, 0);
}

Test(unit_ledger_rules, a_provider_outside_the_topology_fails)
{
	uint8_t op[32];
	struct linkage_part parts[3];
	randombytes_buf(op, sizeof(op));
	epochs(2);
	signed_by(0, 2, op, parts);
	parts[2] = parts[1];
	parts[2].provider = "D"; /* D signed nothing; the record names it */
	uint64_t at = confirmed(op, parts, 3);
	struct ledger_verify_opts o = rules(2);
	assert_fails_at(&o, at, "confirmed: D is not a provider of the topology");
	/* D's own records fail too, where they are. */
	ledger_writer_close(&w);
	teardown();
	setup();
	open_epoch(&ps[3]);
	assert_fails_at(&o, 1, "checkpoint of D: not a provider of the topology");
}

Test(unit_ledger_rules, a_duplicated_provider_fails)
{
	uint8_t op[32];
	struct linkage_part parts[3];
	randombytes_buf(op, sizeof(op));
	epochs(3);
	signed_by(0, 2, op, parts);
	parts[2] = parts[1]; /* ["A","B","B"] */
	uint64_t at = confirmed(op, parts, 3);
	struct ledger_verify_opts o = rules(3);
	assert_fails_at(&o, at, "sorted, none twice");
}

Test(unit_ledger_rules, a_missing_COMPLETE_fails)
{
	uint8_t op[32];
	struct linkage_part parts[3];
	randombytes_buf(op, sizeof(op));
	epochs(3);
	signed_by(0, 2, op, parts);
	parts[2].provider = "C";
	signal(&ps[2], op, STAGE_START, parts[2].start);
	checkpoint(&ps[2]);
	randombytes_buf(parts[2].complete, 32); /* a COMPLETE value C never signed */
	uint64_t at = confirmed(op, parts, 3);
	struct ledger_verify_opts o = rules(3);
	assert_fails_at(&o, at, "confirmed: provider C has no covered COMPLETE for this op");
}

Test(unit_ledger_rules, signals_not_yet_covered_when_confirmed_fail)
{
	/* C's checkpoint comes after the confirmation: not earlier in the ledger. */
	uint8_t op[32];
	struct linkage_part parts[3];
	randombytes_buf(op, sizeof(op));
	epochs(3);
	signed_by(0, 2, op, parts);
	parts[2].provider = "C";
	signal(&ps[2], op, STAGE_START, parts[2].start);
	signal(&ps[2], op, STAGE_COMPLETE, parts[2].complete);
	uint64_t at = confirmed(op, parts, 3);
	checkpoint(&ps[2]);
	struct ledger_verify_opts o = rules(3);
	assert_fails_at(&o, at, "confirmed: provider C has no covered START and COMPLETE");
}

Test(unit_ledger_rules, a_start_covered_only_by_another_epoch_fails)
{
	/* C's signals are followed by a new epoch (pseq 0), never by a
	 * checkpoint of their own epoch. */
	uint8_t op[32];
	struct linkage_part parts[3];
	randombytes_buf(op, sizeof(op));
	epochs(3);
	signed_by(0, 2, op, parts);
	parts[2].provider = "C";
	signal(&ps[2], op, STAGE_START, parts[2].start);
	signal(&ps[2], op, STAGE_COMPLETE, parts[2].complete);
	open_epoch(&ps[2]);
	uint64_t at = confirmed(op, parts, 3);
	struct ledger_verify_opts o = rules(3);
	assert_fails_at(&o, at, "confirmed: provider C has no covered START and COMPLETE");
}

Test(unit_ledger_rules, a_head_signed_with_another_key_fails)
{
	epochs(3);
	head();
	epochs(1);
	cr_assert_eq(ledger_append_head(&w, other_sk), 0);
	uint64_t at = w.seq;
	struct ledger_verify_opts o = rules(3);
	assert_field_fails_at(&o, at, "sig", "bad signature (it does not verify with the association's key)");
	/* Without the association's key, heads are counted unchecked, not trusted. */
	struct ledger_verify_opts nokey = rules(3);
	nokey.association_pk = NULL;
	struct ledger_verify_result res = verify(&nokey);
	cr_assert_eq(res.bad_line, 0);
	cr_assert_eq(res.heads, 0);
	cr_assert_eq(res.heads_unchecked, 2);
	cr_assert_eq(res.last_head.seq, 0);
}

/* The ledger's lines, the line at `index` replaced by the result of edit,
 * then rechained from there as a forger would (seq, prev; and the covers
 * and head of every head record, whose signature it cannot make). */
static int forge(size_t index, void (*edit)(json_t *obj))
{
	cr_assert_eq(ledger_commit(&w), 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	char *all = malloc((size_t)st.st_size + 1);
	cr_assert_eq(pread(fd, all, (size_t)st.st_size, 0), st.st_size);
	all[st.st_size] = '\0';
	char path[] = "/tmp/mpbs-test-forged-XXXXXX";
	int out = mkstemp(path);
	cr_assert_geq(out, 0);
	unlink(path);
	uint8_t prev[32] = { 0 };
	size_t i = 0;
	char *save = NULL;
	for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		json_t *obj = json_loads(l, JSON_PRESERVE_ORDER, NULL);
		cr_assert_not_null(obj);
		if (i == index)
			edit(obj);
		if (i >= index) {
			json_object_set_new(obj, "prev", hex_json(prev, 32));
			if (strcmp(json_string_value(json_object_get(obj, "type")), "head") == 0) {
				json_object_set_new(obj, "covers", json_integer((json_int_t)i));
				json_object_set_new(obj, "head", hex_json(prev, 32));
			}
		}
		char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(obj);
		crypto_hash_sha256(prev, (const uint8_t *)line, strlen(line));
		cr_assert_eq(write(out, line, strlen(line)), (ssize_t)strlen(line));
		cr_assert_eq(write(out, "\n", 1), 1);
		free(line);
	}
	free(all);
	return out;
}

static void change_reason(json_t *obj)
{
	json_object_set_new(obj, "reason", json_string("forged"));
}

Test(unit_ledger_rules, a_rewrite_rechained_up_to_the_heads_fails_at_the_first_head_after_it)
{
	epochs(3);
	append("rejected", json_pack("{s:s, s:s, s:I}", "provider", "A", "reason", "test", "t", (json_int_t)1));
	size_t rewritten = w.seq - 1; /* index of the rejected record */
	head();
	uint64_t head_at = w.seq;
	epochs(1);
	head();
	int forged = forge(rewritten, change_reason);
	struct ledger_verify_opts o = rules(3);
	struct ledger_verify_result res;
	cr_assert_eq(ledger_verify_with(forged, &o, &res), false);
	cr_assert_eq(res.bad_line, head_at, "%s", res.why);
	cr_assert_not_null(strstr(res.why, "bad signature"), "%s", res.why);
	close(forged);
}

Test(unit_ledger_rules, an_expected_head_matches_is_rewritten_or_is_cut_off)
{
	append("rejected", json_pack("{s:s, s:s, s:I}", "provider", "A", "reason", "test", "t", (json_int_t)1));
	epochs(3);
	head();
	uint64_t covered = w.seq - 1;
	struct ledger_verify_opts o = rules(3);
	struct ledger_head kept = { .seq = covered };
	struct ledger_verify_result res = verify(&o);
	cr_assert_eq(res.bad_line, 0, "%s", res.why);
	kept = res.last_head;
	cr_assert_eq(kept.seq, covered);
	epochs(2);
	head();

	o.expect = &kept;
	o.n_expect = 1;
	cr_assert_eq(verify(&o).bad_line, 0, "the kept head is in the ledger");

	struct ledger_head wrong = kept;
	wrong.hash[5] ^= 0x10;
	o.expect = &wrong;
	assert_fails_at(&o, covered, "hashes otherwise (the ledger was rewritten at or before it)");

	struct ledger_head beyond = { .seq = w.seq + 3 };
	o.expect = &beyond;
	assert_fails_at(&o, w.seq + 1, "records were cut off");

	/* A rewrite before the kept head, rechained, fails against it even
	 * with no association key at all. */
	struct ledger_verify_opts nokey = { .pubkey = ring_pubkey, .expect = &kept, .n_expect = 1 };
	int forged = forge(0, change_reason);
	cr_assert_eq(ledger_verify_with(forged, &nokey, &res), false);
	cr_assert_not_null(strstr(res.why, "hashes otherwise"), "%s", res.why);
	close(forged);
}

Test(unit_ledger_rules, head_text_round_trips_and_refuses_garbage)
{
	struct ledger_head h = { .seq = 18 }, back;
	char text[LEDGER_HEAD_TEXT_MAX];
	randombytes_buf(h.hash, sizeof(h.hash));
	ledger_head_format(&h, text);
	cr_assert(ledger_head_parse(text, &back));
	cr_assert_eq(back.seq, 18);
	cr_assert_eq(memcmp(back.hash, h.hash, 32), 0);
	cr_assert_not(ledger_head_parse("18", &back));
	cr_assert_not(ledger_head_parse("0:" "00000000000000000000000000000000"
					"00000000000000000000000000000000", &back));
	cr_assert_not(ledger_head_parse("x1:" "00000000000000000000000000000000"
					"00000000000000000000000000000000", &back));
	cr_assert_not(ledger_head_parse("1:" "0000000000000000000000000000000A"
					"00000000000000000000000000000000", &back));
	cr_assert_not(ledger_head_parse("1:00", &back));
}

Test(unit_ledger_rules, a_head_that_covers_no_record_fails)
{
	head(); /* over an empty ledger: covers 0 */
	epochs(1);
	struct ledger_verify_opts o = rules(3);
	assert_field_fails_at(&o, 1, "covers", "covers no record");
}

/* Red team: the same signed epoch appended again (its opening checkpoint,
 * the signals, the checkpoints, re-chained with new seq/prev by whoever
 * writes the file) covered the same values again, and a second
 * confirmation of the op passed. An epoch opens once; an op is confirmed
 * once. */
Test(unit_ledger_rules, a_replayed_epoch_fails_where_it_reopens)
{
	uint8_t op[32];
	struct linkage_part parts[3];
	randombytes_buf(op, sizeof(op));
	epochs(3);
	signed_by(0, 3, op, parts);
	confirmed(op, parts, 3);
	/* A's epoch again, as its holder of nothing but the old records could */
	uint8_t head0[32];
	derive_chain_origin(ps[0].epoch, head0);
	memcpy(ps[0].head, head0, sizeof(head0));
	ps[0].seq = 0;
	checkpoint(&ps[0]);
	uint64_t line = w.seq;
	struct ledger_verify_opts o = rules(3);
	assert_field_fails_at(&o, line, "epoch", "epoch opened a second time");
}

Test(unit_ledger_rules, a_second_confirmation_of_one_op_fails)
{
	uint8_t op[32];
	struct linkage_part parts[3];
	randombytes_buf(op, sizeof(op));
	epochs(3);
	signed_by(0, 3, op, parts);
	confirmed(op, parts, 3);
	/* new signals of the same op in the same epochs, then a second record */
	signed_by(0, 3, op, parts);
	uint64_t line = confirmed(op, parts, 3);
	struct ledger_verify_opts o = rules(3);
	assert_field_fails_at(&o, line, "op", "this op was confirmed before");
}
