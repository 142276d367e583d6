/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Provider authority end to end: tokens, evaluators and handlers
 * run by the real binary as root, and offline verification of the ledger
 * it writes. Every assertion is on the real ledger (signals counted per
 * provider) or on the real provider log, after a stop that drains
 * everything. */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../common/harness.h"
#include "../common/ledger2_blocks.h"
#include "../../roles/provider/provider_internal.h"

#define UID_BASE m.uid_base /* this instance's [runner] uid_base (tests/common/harness.c) */
#define CTX "CTX_ALPHA"

static struct mpbs m;

static const char plain_policy[] = "accept_context = " CTX "\nreceive_body = yes\n";
static const char token_policy[] = "accept_context = " CTX "\nreceive_body = yes\nrequire_token = yes\n"
				   "token_key = token.key\nmax_token_ttl = 300\n";

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_geq(sodium_init(), 0);
}

static void finish(void)
{
	mpbs_cleanup(&m);
}

/* A provider section; extra lines (may be "") are appended to it. */
static void add_provider(char *topo, size_t cap, const char *name, const char *extra)
{
	size_t len = strlen(topo);
	snprintf(topo + len, cap - len,
		 "[provider %s]\npolicy = %s.policy\nkeys = keys/%s\ndemo_keys = yes\nreceive_body = yes\n%s\n", name,
		 name, name, extra);
}

static void write_policy(const char *name, const char *text)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s.policy", m.dir, name);
	cr_assert_eq(write_text_file(path, text), 0, "write %s", path);
}

/* Starts mpbs-run on the providers of topo, with the policies already written. */
static void launch(void)
{
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
}

static void prepare(const char *topo)
{
	cr_assert_eq(mpbs_prepare(&m, "", topo), 0, "cannot prepare a test directory");
}

static size_t signals_of(const char *provider)
{
	return ledger_count_provider(m.ledger, "signal", provider);
}

static void post(const char *token, const char *body)
{
	cr_assert_eq(http_post(m.port, "/nuvl", CTX, token, body, strlen(body)), 204);
}

static void stop_cleanly(void)
{
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
}

/* ------------------------------------------------------------------ */
/* Tokens, minted here from the token's definition (docs/ARCHITECTURE.md §3). */

static void read_token_key(const char *provider, uint8_t key[32])
{
	char path[PATH_MAX + 32];
	size_t bin_len = 0;
	snprintf(path, sizeof(path), "%s/keys/%s/token.key", m.dir, provider);
	char *hex = read_file(path, NULL);
	cr_assert_not_null(hex, "read %s", path);
	cr_assert_eq(sodium_hex2bin(key, 32, hex, strlen(hex), "\n", &bin_len, NULL), 0, "%s is not hex", path);
	cr_assert_eq(bin_len, 32);
	free(hex);
}

static void repr_hex(const char *body, char out[65])
{
	uint8_t digest[32];
	crypto_hash_sha256(digest, (const unsigned char *)body, strlen(body));
	sodium_bin2hex(out, 65, digest, sizeof(digest));
}

/* hex(HMAC-SHA256(key, r|c|n|e)) */
static void sign_fields(const uint8_t key[32], const char *r, const char *c, const char *n, const char *e,
			char out[65])
{
	char msg[1024];
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	int len = snprintf(msg, sizeof(msg), "%s|%s|%s|%s", r, c, n, e);
	crypto_auth_hmacsha256(mac, (const unsigned char *)msg, (unsigned long long)len, key);
	sodium_bin2hex(out, 65, mac, sizeof(mac));
}

static char *b64url(const char *text)
{
	size_t len = strlen(text);
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = malloc(cap);
	cr_assert_not_null(out);
	sodium_bin2base64(out, cap, (const unsigned char *)text, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/* A signed token whose JSON text is fmt with r, c, n, e, s substituted in
 * that order (so a case can drop a field, change a type, ...). The
 * signature always covers the given r, c, n, e with key. */
static char *token_from(const char *fmt, const uint8_t key[32], const char *r, const char *c, const char *n,
			const char *e)
{
	char s[65], json[2048];
	sign_fields(key, r, c, n, e, s);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(json, sizeof(json), fmt, r, c, n, e, s);
#pragma GCC diagnostic pop
	return b64url(json);
}

static const char token_json[] = "{\"r\":\"%s\",\"c\":\"%s\",\"n\":\"%s\",\"e\":\"%s\",\"s\":\"%s\"}";

static void expiry_in(long seconds, char out[32])
{
	snprintf(out, 32, "%lld", (long long)time(NULL) + seconds);
}

/* A correctly formed and signed token for body, under key, nonce n. */
static char *valid_token(const uint8_t key[32], const char *body, const char *n)
{
	char r[65], e[32];
	repr_hex(body, r);
	expiry_in(120, e);
	return token_from(token_json, key, r, CTX, n, e);
}

/* State of an interleaved run: A requires tokens, P is a plain provider,
 * confirm = all, so every confirmation says A initiated. */
struct token_run {
	uint8_t key[32];
	unsigned valid;     /* requests A must have initiated */
	unsigned forwarded; /* requests every provider received */
	unsigned nonce;
};

/* A valid request; its confirmation also proves A has dealt with every
 * artifact sent before it (one channel, read in order). */
static void send_valid(struct token_run *r, const char *prefix)
{
	char body[64], nonce[32], header[4096];
	snprintf(body, sizeof(body), "valid-%u", r->valid);
	snprintf(nonce, sizeof(nonce), "nonce-%u", r->nonce++);
	char *tok = valid_token(r->key, body, nonce);
	snprintf(header, sizeof(header), "%s%s", prefix, tok);
	post(header, body);
	free(tok);
	r->valid++;
	r->forwarded++;
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", r->valid, 5000), r->valid,
		     "valid token (header '%.40s…') not confirmed", header);
}

/* An attacking request, then a valid one to fence it: A's signals must
 * still be exactly those of the valid requests. */
static void send_refused(struct token_run *r, const char *what, const char *header, const char *body,
			 bool forwarded)
{
	post(header, body);
	r->forwarded += forwarded;
	send_valid(r, "");
	cr_assert_eq(signals_of("A"), 2 * (size_t)r->valid, "%s: provider A initiated (log: %s)", what, m.log);
}

static void start_token_pair(struct token_run *r)
{
	char topo[1024] = "";
	need_root();
	add_provider(topo, sizeof(topo), "A", "");
	add_provider(topo, sizeof(topo), "P", "");
	prepare(topo);
	write_policy("A", token_policy);
	write_policy("P", plain_policy);
	launch();
	read_token_key("A", r->key);
}

/* Forged or mis-bound but well-formed, correctly signed tokens. */
static void attack_signed(struct token_run *r)
{
	uint8_t other[32];
	char rr[65], e[32], *t;
	randombytes_buf(other, sizeof(other));
	repr_hex("attack", rr);
	expiry_in(120, e);

	t = token_from(token_json, other, rr, CTX, "forged", e);
	send_refused(r, "forged signature (other key)", t, "attack", true);
	free(t);
	expiry_in(-10, e);
	t = token_from(token_json, r->key, rr, CTX, "expired", e);
	send_refused(r, "expired", t, "attack", true);
	free(t);
	t = token_from(token_json, r->key, rr, CTX, "soon", "soon");
	send_refused(r, "non-numeric expiry", t, "attack", true);
	free(t);
	expiry_in(1000000000L, e);
	t = token_from(token_json, r->key, rr, CTX, "absurd", e);
	send_refused(r, "absurd expiry", t, "attack", true);
	free(t);
	t = token_from(token_json, r->key, rr, CTX, "max", "18446744073709551615");
	send_refused(r, "expiry 2^64-1", t, "attack", true);
	free(t);
	t = token_from(token_json, r->key, rr, CTX, "overflow", "99999999999999999999999");
	send_refused(r, "expiry past 64 bits", t, "attack", true);
	free(t);
	expiry_in(120, e);
	t = token_from(token_json, r->key, rr, CTX, "other-body", e);
	send_refused(r, "r not matching the body", t, "another body", true);
	free(t);
	t = token_from(token_json, r->key, rr, "CTX_BETA", "other-ctx", e);
	send_refused(r, "c not matching the context", t, "attack", true);
	free(t);
	t = token_from(token_json, r->key, rr, CTX, "a|b", e);
	send_refused(r, "'|' in the nonce", t, "attack", true);
	free(t);
}

/* Tokens that are not well-formed tokens at all. */
static void attack_malformed(struct token_run *r)
{
	char rr[65], e[32], *t;
	repr_hex("attack", rr);
	expiry_in(120, e);

	t = token_from("{\"r\":\"%1$s\",\"c\":\"%2$s\",\"e\":\"%4$s\",\"s\":\"%5$s\"}%3$.0s", r->key, rr, CTX, "nf", e);
	send_refused(r, "missing field n", t, "attack", true);
	free(t);
	char numeric[40];
	snprintf(numeric, sizeof(numeric), "%lld", (long long)time(NULL) + 120);
	t = token_from("{\"r\":\"%s\",\"c\":\"%s\",\"n\":\"%s\",\"e\":%s,\"s\":\"%s\"}", r->key, rr, CTX, "num",
		       numeric);
	send_refused(r, "e a JSON number", t, "attack", true);
	free(t);
	t = token_from("{\"r\":\"%s\",\"c\":\"%s\",\"n\":\"%s\",\"e\":\"%s\",\"s\":\"%s\",\"x\":\"1\"}", r->key, rr,
		       CTX, "extra", e);
	send_refused(r, "extra field", t, "attack", true);
	free(t);
	t = token_from("{\"r\":\"%s\",\"c\":\"%s\",\"n\":\"%s\",\"n\":\"dup\",\"e\":\"%s\",\"s\":\"%s\"}", r->key,
		       rr, CTX, "dup", e);
	send_refused(r, "duplicate key", t, "attack", true);
	free(t);
	send_refused(r, "no header", NULL, "attack", true);
	send_refused(r, "empty string", "", "attack", true);
	send_refused(r, "only separators", " , ,", "attack", true);
	send_refused(r, "not base64url", "!!not*base64+/=", "attack", true);
	t = b64url("this is not json");
	send_refused(r, "not JSON", t, "attack", true);
	free(t);
	t = b64url("[\"r\",\"c\",\"n\",\"e\",\"s\"]");
	send_refused(r, "JSON not an object", t, "attack", true);
	free(t);
	t = b64url("\"a string\"");
	send_refused(r, "JSON string", t, "attack", true);
	free(t);
}

/* A header over 4096 bytes, even with a valid token in it: dropped by the
 * intermediary, so no provider hears of it. */
static void attack_oversize(struct token_run *r)
{
	char nonce[32];
	snprintf(nonce, sizeof(nonce), "nonce-%u", r->nonce++);
	char *tok = valid_token(r->key, "attack", nonce);
	char *header = malloc(5200);
	cr_assert_not_null(header);
	int n = snprintf(header, 5200, "%s", tok);
	while (n < 4200)
		n += snprintf(header + n, 5200 - (size_t)n, ",%s", "garbage");
	send_refused(r, "oversize header holding a valid token", header, "attack", false);
	free(header);
	free(tok);
}

Test(e2e_token, every_refusal_class_signals_nothing, .fini = finish, .timeout = 120)
{
	struct token_run r = { 0 };
	start_token_pair(&r);
	send_valid(&r, "");
	attack_signed(&r);
	send_valid(&r, "garbage, ,"); /* several tokens: any valid one initiates */
	attack_malformed(&r);
	attack_oversize(&r);
	stop_cleanly();
	cr_assert_eq(signals_of("A"), 2 * (size_t)r.valid);
	cr_assert_eq(signals_of("P"), 2 * (size_t)r.forwarded, "the plain provider must have seen every forward");
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), r.valid);
	cr_assert_eq(ledger_count(m.ledger, "rejected"), 0);
}

Test(e2e_token, valid_token_is_confirmed_once_and_replay_refused, .fini = finish, .timeout = 60)
{
	struct token_run r = { 0 };
	start_token_pair(&r);
	char *tok = valid_token(r.key, "pay 10", "once");
	post(tok, "pay 10");
	r.valid++;
	r.forwarded++;
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 5000), 1, "valid token not confirmed");
	send_refused(&r, "the same token again", tok, "pay 10", true);
	send_refused(&r, "the same token a third time", tok, "pay 10", true);
	free(tok);
	tok = valid_token(r.key, "pay 20", "once"); /* a fresh token reusing a remembered nonce */
	send_refused(&r, "a new token with a used nonce", tok, "pay 20", true);
	free(tok);
	stop_cleanly();
	cr_assert_eq(signals_of("A"), 2 * (size_t)r.valid);
	cr_assert_eq(signals_of("P"), 2 * (size_t)r.forwarded);
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), r.valid);
}

Test(e2e_token, token_for_one_provider_initiates_only_that_one, .fini = finish, .timeout = 60)
{
	uint8_t key_a[32], key_b[32];
	char topo[1024] = "", header[2048];
	need_root();
	add_provider(topo, sizeof(topo), "A", "");
	add_provider(topo, sizeof(topo), "B", "");
	prepare(topo);
	write_policy("A", token_policy);
	write_policy("B", token_policy);
	launch();
	read_token_key("A", key_a);
	read_token_key("B", key_b);
	cr_assert_neq(sodium_memcmp(key_a, key_b, 32), 0, "A and B must have their own token keys");

	char *for_a = valid_token(key_a, "only A", "a1");
	post(for_a, "only A");
	char *a2 = valid_token(key_a, "both", "a2"), *b2 = valid_token(key_b, "both", "b2");
	snprintf(header, sizeof(header), "%s, %s", a2, b2);
	post(header, "both");
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 5000), 1, "a request with both tokens not confirmed");
	stop_cleanly();
	cr_assert_eq(signals_of("A"), 4, "A initiates for its own token, alone or beside B's");
	cr_assert_eq(signals_of("B"), 2, "B initiates only when its own token is there");
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), 1);
	free(for_a);
	free(a2);
	free(b2);
}

/* ------------------------------------------------------------------ */
/* Programs run inside the provider's sandbox. */

static void programs_dir(char out[PATH_MAX])
{
	char rel[PATH_MAX + 32];
	snprintf(rel, sizeof(rel), "%s/tests/e2e/programs", mpbs_srcdir());
	cr_assert_not_null(realpath(rel, out), "realpath %s: %s", rel, strerror(errno));
}

static void exec_section(char *out, size_t cap, const char *state)
{
	char dir[PATH_MAX];
	programs_dir(dir);
	snprintf(out, cap, "exec = yes\nnproc = 64\nexec_dir = %s\n%s", dir, state);
}

Test(e2e_evaluator, only_exit_zero_initiates, .fini = finish, .timeout = 60)
{
	char topo[PATH_MAX + 512] = "", ex[PATH_MAX + 128];
	need_root();
	exec_section(ex, sizeof(ex), "");
	add_provider(topo, sizeof(topo), "E", ex);
	prepare(topo);
	write_policy("E", "accept_context = " CTX "\nreceive_body = yes\nevaluator = /exec/eval.sh\n"
			  "evaluator_timeout = 300\n");
	launch();
	const char *bodies[] = { "yes", "no", "crash", "slow", "yes", "other", "slow", "crash", "no", "yes" };
	size_t yes = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		post(NULL, bodies[i]);
		yes += strcmp(bodies[i], "yes") == 0;
	}
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", yes, 8000), yes);
	stop_cleanly();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_eq(signals_of("E"), 2 * yes, "only 'yes' may initiate");
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), yes);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 8, "the slow evaluators were not cut at evaluator_timeout");
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	cr_assert_not_null(strstr(log, "evaluator timed out after 300 ms"), "log: %s", log);
	cr_assert_not_null(strstr(log, "evaluator killed by signal 9"), "log: %s", log);
	free(log);
}

/* max_request for the next start_handler_pair (0: the harness's 65536). */
static size_t largest_body;
/* A log option for the next start_handler_pair ("-v": the handler's output
 * is per-operation detail, logged only then), or NULL. */
static const char *handler_log_opt;

/* Rewrites the harness's "max_request = 65536" line of the topology. */
static void set_max_request(size_t bytes)
{
	char *text = read_file(m.topology, NULL), line[64];
	cr_assert_not_null(text);
	char *at = strstr(text, "max_request = 65536\n");
	cr_assert_not_null(at, "no max_request line in %s", m.topology);
	*at = '\0';
	snprintf(line, sizeof(line), "max_request = %zu\n", bytes);
	size_t len = strlen(text) + strlen(line) + strlen(at + 20) + 1;
	char *out = malloc(len);
	cr_assert_not_null(out);
	snprintf(out, len, "%s%s%s", text, line, at + 20);
	cr_assert_eq(write_text_file(m.topology, out), 0);
	free(out);
	free(text);
}

/* H runs tests/e2e/programs/handler.sh with a state dir; O is a plain
 * provider whose keys H must not reach. */
static void start_handler_pair(const char *policy_extra)
{
	char topo[PATH_MAX + 512] = "", ex[PATH_MAX + 128], path[PATH_MAX + 32], policy[512];
	need_root();
	exec_section(ex, sizeof(ex), "state = state/H\n");
	add_provider(topo, sizeof(topo), "H", ex);
	add_provider(topo, sizeof(topo), "O", "");
	prepare(topo);
	snprintf(path, sizeof(path), "%s/state", m.dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/state/H", m.dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(chown(path, UID_BASE + 2, UID_BASE + 2), 0, "chown %s", path);
	snprintf(policy, sizeof(policy), "accept_context = " CTX "\nreceive_body = yes\n"
					 "action = exec /exec/handler.sh\n%s", policy_extra);
	write_policy("H", policy);
	write_policy("O", plain_policy);
	if (largest_body)
		set_max_request(largest_body);
	m.log_opts[0] = handler_log_opt;
	launch();
}

/* The one out-* file the handler wrote in H's state dir. */
static char *handler_output(struct stat *st)
{
	char dir[PATH_MAX + 32], path[PATH_MAX + 128];
	snprintf(dir, sizeof(dir), "%s/state/H", m.dir);
	char *argv[] = { "ls", dir, NULL }, *list = NULL;
	cr_assert_eq(run_cmd(argv, &list), 0);
	cr_assert_eq(strncmp(list, "out-", 4), 0, "no out-* file in %s: %s", dir, list);
	cr_assert_eq(strchr(list, '\n'), list + strlen(list) - 1, "one out-* file expected: %s", list);
	list[strlen(list) - 1] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, list);
	free(list);
	cr_assert_eq(stat(path, st), 0, "stat %s", path);
	char *text = read_file(path, NULL);
	cr_assert_not_null(text);
	return text;
}

Test(e2e_handler, runs_as_provider_uid_with_body_and_nothing_else, .fini = finish, .timeout = 60)
{
	char body[PATH_MAX * 2 + 64], line[PATH_MAX * 2 + 128], escaped[PATH_MAX + 32];
	struct stat st;
	start_handler_pair("");
	snprintf(body, sizeof(body), "probe %s/keys/O/signal.key %s", m.dir, m.dir);
	post(NULL, body);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 5000), 1);
	stop_cleanly();
	cr_assert_eq(signals_of("H"), 2);
	char *out = handler_output(&st);
	cr_assert_eq(st.st_uid, UID_BASE + 2, "written by host uid %u, not H's", st.st_uid);
	snprintf(line, sizeof(line), "body: %s\n", body);
	cr_assert_not_null(strstr(out, line), "the body did not reach the handler on stdin: %s", out);
	/* Landlock may hide /proc/net/dev from the handler; if it can read it, lo is all there is */
	cr_assert(strstr(out, "ifaces: lo \n") || strstr(out, "ifaces: unreadable\n"), "only lo may be visible: %s",
		  out);
	cr_assert_not_null(strstr(out, "other key: refused\n"), "%s", out);
	cr_assert_not_null(strstr(out, "passwd: refused\n"), "%s", out);
	cr_assert_not_null(strstr(out, "host write: refused\nend\n"), "%s", out);
	snprintf(escaped, sizeof(escaped), "%s/escaped", m.dir);
	cr_assert_neq(access(escaped, F_OK), 0, "the handler wrote into the host's %s", m.dir);
	free(out);
}

/* The handler processes untrusted bodies: it must not reach the keys or
 * the policy its provider reads. */
Test(e2e_handler, cannot_read_its_providers_keys_or_policy, .fini = finish, .timeout = 60)
{
	struct stat st;
	start_handler_pair("");
	post(NULL, "secrets");
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 5000), 1);
	stop_cleanly();
	char *out = handler_output(&st);
	cr_assert_not_null(strstr(out, "signal.key: refused\n"), "%s", out);
	cr_assert_not_null(strstr(out, "token.key: refused\n"), "%s", out);
	cr_assert_not_null(strstr(out, "keys dir: refused\n"), "%s", out);
	cr_assert_not_null(strstr(out, "policy: refused\n"), "%s", out);
	cr_assert_not_null(strstr(out, "provider mem: refused\n"), "%s", out);
	cr_assert_not_null(strstr(out, "ld.so.cache: read\nend\n"), "the handler's own files must stay readable: %s",
			   out);
	free(out);
}

/* The body reaches the program through a pipe that already holds all of
 * it (no memfd): the largest body, 1 MiB, arrives whole. */
Test(e2e_handler, a_one_mib_body_reaches_the_handler_whole, .fini = finish, .timeout = 60)
{
	size_t n = 1 << 20;
	char *body = malloc(n + 1), expect[64];
	struct stat st;
	cr_assert_not_null(body);
	memset(body, 'x', n);
	memcpy(body, "size ", 5);
	body[n] = '\0';
	largest_body = n;
	start_handler_pair("");
	cr_assert_eq(http_post(m.port, "/nuvl", CTX, NULL, body, n), 204);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 8000), 1);
	stop_cleanly();
	char *out = handler_output(&st);
	snprintf(expect, sizeof(expect), "length: %zu\n", n);
	cr_assert_str_eq(out, expect);
	free(out);
	free(body);
}

Test(e2e_handler, timeout_kills_and_complete_is_recorded, .fini = finish, .timeout = 60)
{
	struct timespec t0, t1;
	start_handler_pair("action_timeout = 500\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	post(NULL, "sleep 30");
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 8000), 1, "no COMPLETE after action_timeout");
	stop_cleanly();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 10, "the handler was not killed at action_timeout");
	cr_assert_eq(signals_of("H"), 2);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	char expect[96];
	snprintf(expect, sizeof(expect), "handler exited with status %d (killed at action_timeout)", 256 + SIGKILL);
	cr_assert_not_null(strstr(log, expect), "log: %s", log);
	free(log);
}

Test(e2e_handler, network_attempt_dies_by_seccomp, .fini = finish, .timeout = 60)
{
	char body[64], expect[96];
	handler_log_opt = "-v";
	start_handler_pair("");
	snprintf(body, sizeof(body), "net %d", m.port);
	post(NULL, body);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 8000), 1);
	stop_cleanly();
	cr_assert_eq(signals_of("H"), 2);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	snprintf(expect, sizeof(expect), "warning: handler exited with status %d\n", 256 + SIGSYS);
	cr_assert_not_null(strstr(log, expect), "log: %s", log);
	const char *at = strstr(log, "verbose: handler output");
	cr_assert_not_null(at, "log: %s", log);
	const char *eol = strchr(at, '\n');
	size_t len = eol ? (size_t)(eol - at) : strlen(at);
	cr_assert_not_null(memmem(at, len, "connecting", 10), "python must reach the socket call: %.*s", (int)len, at);
	cr_assert_null(memmem(at, len, "connected", 9), "the handler connected: %.*s", (int)len, at);
	/* the supervisor names the program's denied call from the kernel's record */
	at = strstr(log, "provider H: seccomp killed pid ");
	cr_assert_not_null(at, "no kernel-named kill of H's program in the log: %s", log);
	eol = strchr(at, '\n');
	len = eol ? (size_t)(eol - at) : strlen(at);
	cr_assert_not_null(memmem(at, len, "a program it ran: denied syscall socket (41)", 44), "%.*s", (int)len, at);
	free(log);
}

/* At the default level a failing handler is one warning, and what it wrote
 * (once per operation) is not logged. */
Test(e2e_handler, output_is_not_logged_at_the_default_level, .fini = finish, .timeout = 60)
{
	char body[64], expect[96];
	start_handler_pair("");
	snprintf(body, sizeof(body), "net %d", m.port);
	post(NULL, body);
	cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", 1, 8000), 1);
	stop_cleanly();
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	snprintf(expect, sizeof(expect), "warning: handler exited with status %d\n", 256 + SIGSYS);
	cr_assert_not_null(strstr(log, expect), "log: %s", log);
	cr_assert_null(strstr(log, "handler output"), "log: %s", log);
	cr_assert_null(strstr(log, "connecting"), "log: %s", log);
	free(log);
}

/* ------------------------------------------------------------------ */
/* Offline verification of a real ledger (version 2, docs/LEDGER.md) and
 * of edited copies: each edit must fail where verify can first see it,
 * named as record, block and offset in the copy. */

/* A ledger from a real run: A and B, a few confirmations, in blocks; each
 * operation apart from the next by more than the 50 ms between two heads,
 * so that heads and blocks of records alternate. */
static void real_ledger(struct l2b_file *f)
{
	need_root();
	cr_assert_eq(mpbs_start(&m, "A B", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	for (int i = 0; i < 4; i++) {
		char body[16];
		snprintf(body, sizeof(body), "op-%d", i);
		post(NULL, body);
		cr_assert_eq(ledger_wait_count(m.ledger, "confirmed", (size_t)i + 1, 5000), (size_t)i + 1);
		sleep_ms(80);
	}
	stop_cleanly();
	cr_assert_eq(l2b_load(f, m.ledger), 0, "%s is not a whole version 2 segment", m.ledger);
	cr_assert_gt(f->n_blocks, 5, "a real ledger of a few operations: %zu blocks", f->n_blocks);
	cr_assert_str_eq(f->hdr.names[0], "A");
}

static int verify(const char *ledger, const char *how, const char *arg, char **out)
{
	char *argv[] = { (char *)mpbs_binary(), "verify", (char *)ledger, (char *)how, (char *)arg, NULL };
	return run_cmd(argv, out);
}

/* Where verify names record r of f, untouched around it. */
static struct l2b_pos pos_of(const struct l2b_file *f, size_t r)
{
	const struct l2b_record *rec = &f->recs[r];
	return (struct l2b_pos){ .record = rec->number, .block = rec->block + 1, .offset = f->blocks[rec->block].off };
}

/* Writes blocks order[0, n) of f as a copy (re-chained when rechain) and
 * expects verify to fail at pos, naming the field; returns its output. */
static char *expect_fail_at(const char *what, const struct l2b_file *f, const size_t *order, size_t n, bool rechain,
			    struct l2b_pos pos, const char *field, const char *how, const char *arg)
{
	char path[PATH_MAX + 64], expect[PATH_MAX + 128], *out = NULL;
	snprintf(path, sizeof(path), "%s/copy-%s", m.dir, what);
	for (char *c = path + strlen(m.dir) + 1; *c; c++)
		if (*c == ' ')
			*c = '-';
	cr_assert_eq(l2b_write(f, order, n, rechain, path), 0, "write %s", path);
	int rc = verify(path, how, arg, &out);
	snprintf(expect, sizeof(expect), "FAIL: %s: record %" PRIu64 " (block %zu, offset %zu): field \"%s\": ", path,
		 pos.record, pos.block, pos.offset, field);
	cr_assert_eq(rc, 1, "%s: verify exited %d: %s", what, rc, out);
	cr_assert_not_null(strstr(out, expect), "%s: expected '%s', got: %s", what, expect, out);
	return out;
}

/* DIR/A.pub and DIR/B.pub; A's is a fresh key when forged_a. */
static void public_keys_dir(const char *dir, bool forged_a)
{
	char cmd[PATH_MAX * 4];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/fresh && %s keygen %s/fresh >/dev/null && cp %s/keys/A/signal.pub %s/A.pub"
		 " && cp %s/keys/B/signal.pub %s/B.pub", dir, mpbs_binary(), dir, m.dir, dir, m.dir, dir);
	if (forged_a)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " && cp %s/fresh/signal.pub %s/A.pub", dir, dir);
	char *argv[] = { "sh", "-c", cmd, NULL }, *out = NULL;
	cr_assert_eq(run_cmd(argv, &out), 0, "%s: %s", cmd, out);
	free(out);
}

Test(e2e_verify, untouched_ledger_is_ok, .fini = finish, .timeout = 60)
{
	struct l2b_file f;
	real_ledger(&f);
	char *out = NULL, dir[PATH_MAX + 16], expect[64];
	cr_assert_eq(verify(m.ledger, "--topology", m.topology, &out), 0, "%s", out);
	snprintf(expect, sizeof(expect), "\nOK: %" PRIu64 " records, 4 confirmed in 1 segments", l2b_last_record(&f));
	cr_assert_not_null(strstr(out, expect), "expected '%s', got: %s", expect + 1, out);
	free(out);
	snprintf(dir, sizeof(dir), "%s/pub", m.dir);
	public_keys_dir(dir, false);
	cr_assert_eq(verify(m.ledger, "--public-keys", dir, &out), 0, "%s", out);
	cr_assert_not_null(strstr(out, expect), "expected '%s', got: %s", expect + 1, out);
	free(out);
	l2b_free(&f);
}

/* A provider holds its signals until the checkpoint that covers them and
 * sends them together (roles/provider/emit.c: flush_frames), so at this
 * light load every signals record shares its block with a later checkpoint
 * of the same provider: the association reads each such datagram in one
 * round and writes that round as one block. */
Test(e2e_verify, signals_come_with_the_checkpoint_covering_them, .fini = finish, .timeout = 60)
{
	struct l2b_file f;
	real_ledger(&f);
	size_t n_signals = 0;
	for (size_t r = 0; r < f.n_recs; r++) {
		if (f.recs[r].type != L2_SIGNALS)
			continue;
		n_signals++;
		size_t ckp = l2b_find(&f, r, L2_CHECKPOINT, f.recs[r].p, false);
		cr_assert(ckp < f.n_recs && f.recs[ckp].block == f.recs[r].block,
			  "signals record %zu (provider %d, block %zu) has no checkpoint of its provider after it in its "
			  "block", r, f.recs[r].p, f.recs[r].block + 1);
	}
	cr_assert_geq(n_signals, 8, "4 operations of 2 providers: %zu signals records", n_signals);
	l2b_free(&f);
}

/* The first record after block b that sees it gone: a head (its count is
 * off), or a signals or checkpoint record of a provider with records in b
 * (its pseq is); f->n_recs if none. */
static size_t first_to_see_gap(const struct l2b_file *f, size_t b)
{
	const struct l2b_block *g = &f->blocks[b];
	uint64_t providers = 0;
	for (size_t r = g->first_rec; r < g->first_rec + g->n_recs; r++)
		if (f->recs[r].p >= 0)
			providers |= UINT64_C(1) << f->recs[r].p;
	size_t seen = g->first_rec + g->n_recs;
	for (; seen < f->n_recs; seen++) {
		const struct l2b_record *r = &f->recs[seen];
		if (r->type == L2_HEAD || ((r->type == L2_SIGNALS || r->type == L2_CHECKPOINT) && (providers >> r->p & 1)))
			break;
	}
	return seen;
}

/* A block of a provider's chain only (signals, and the checkpoint that
 * providers send with them), not the first, whose loss the provider's next
 * record or a head sees before any confirmation or incomplete record could
 * miss the stages it held. With one provider no other provider's record
 * refers back to the operations the block introduced before that. */
static size_t signals_block(const struct l2b_file *f)
{
	for (size_t b = 1; b + 1 < f->n_blocks; b++) {
		const struct l2b_block *blk = &f->blocks[b];
		bool chain_only = blk->n_recs > 0 && f->recs[blk->first_rec].type == L2_SIGNALS;
		for (size_t r = blk->first_rec; r < blk->first_rec + blk->n_recs; r++)
			chain_only = chain_only && (f->recs[r].type == L2_SIGNALS || f->recs[r].type == L2_CHECKPOINT);
		if (!chain_only)
			continue;
		size_t seen = first_to_see_gap(f, b);
		if (seen >= f->n_recs)
			continue;
		bool closed_before = false;
		for (size_t r = blk->first_rec + blk->n_recs; r < seen; r++)
			closed_before = closed_before || f->recs[r].type == L2_CONFIRMED || f->recs[r].type == L2_INCOMPLETE;
		if (!closed_before)
			return b;
	}
	cr_assert_fail("no block of a provider's chain alone in the ledger");
	return 0;
}

/* A ledger whose blocks do not depend on timing: one provider, A, its
 * checkpoint timer and count out of the way (30 s, 1000 signals), so of
 * HELD_OPS operations posted at once its first OUT_BATCH (320) signals
 * reach the association as one full send batch, uncovered, in blocks of
 * their own, and nothing is confirmed until A's checkpoint at the stop. */
#define HELD_OPS 170
static void real_ledger_with_held_signals(struct l2b_file *f)
{
	_Static_assert(2 * HELD_OPS > OUT_BATCH && 2 * HELD_OPS < 2 * OUT_BATCH, "one send batch, then held");
	need_root();
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(topology_insert(m.topology, "provider A", "checkpoint_ms = 30000\ncheckpoint_every = 1000\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	for (int i = 0; i < HELD_OPS; i++) {
		char body[16];
		snprintf(body, sizeof(body), "held-%d", i);
		post(NULL, body);
	}
	cr_assert_eq(ledger_wait_count(m.ledger, "signal", OUT_BATCH, 5000 * harness_time_scale()), OUT_BATCH,
		     "A's first %d signals are not in the ledger, alone (log: %s)", OUT_BATCH, m.log);
	sleep_ms(100); /* a head closes the blocks before the stop */
	stop_cleanly();
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), HELD_OPS);
	cr_assert_eq(l2b_load(f, m.ledger), 0, "%s is not a whole version 2 segment", m.ledger);
}

/* A block of a provider's chain deleted: the first record after it that
 * sees the gap (first_to_see_gap) fails, at its place in the copy. */
Test(e2e_verify, a_deleted_block_of_signals_fails_where_the_gap_shows, .fini = finish, .timeout = 60)
{
	struct l2b_file f;
	real_ledger_with_held_signals(&f);
	size_t *order = calloc(f.n_blocks, sizeof(*order));
	cr_assert_not_null(order);
	size_t gone = signals_block(&f);
	size_t n = l2b_order(&f, order, gone);
	const struct l2b_block *g = &f.blocks[gone];
	size_t seen = first_to_see_gap(&f, gone);
	cr_assert_lt(seen, f.n_recs);
	struct l2b_pos at = pos_of(&f, seen);
	at.record -= g->records;
	at.block--;
	at.offset -= g->len;
	static const char *const field_of[] = { [L2_HEAD] = "covers", [L2_SIGNALS] = "first_pseq",
						[L2_CHECKPOINT] = "pseq" };
	free(expect_fail_at("deleted signals", &f, order, n, false, at, field_of[f.recs[seen].type], "--topology",
			    m.topology));
	free(order);
	l2b_free(&f);
}

/* A block holding a head alone, with another head after it. */
static size_t lone_head(const struct l2b_file *f)
{
	for (size_t r = 0; (r = l2b_find(f, r, L2_HEAD, -1, true)) < f->n_recs; r++)
		if (f->blocks[f->recs[r].block].n_recs == 1 && l2b_find(f, r + 1, L2_HEAD, -1, true) < f->n_recs)
			return r;
	cr_assert_fail("no head alone in its block before another");
	return 0;
}

/* A block of records other than a head, followed by a head's block, in the
 * second half of the ledger. */
static size_t data_before_head(const struct l2b_file *f)
{
	for (size_t b = f->n_blocks / 2; b + 1 < f->n_blocks; b++)
		if (f->recs[f->blocks[b].first_rec].type != L2_HEAD && f->recs[f->blocks[b + 1].first_rec].type == L2_HEAD)
			return b;
	cr_assert_fail("no block of records before a head's block");
	return 0;
}

Test(e2e_verify, each_edit_fails_where_verify_can_see_it, .fini = finish, .timeout = 60)
{
	struct l2b_file f;
	real_ledger(&f);
	size_t *order = calloc(f.n_blocks, sizeof(*order));
	cr_assert_not_null(order);
	size_t all = l2b_order(&f, order, SIZE_MAX);

	/* A signal's value: its provider's chain differs from there, so the
	 * checkpoint that covers it no longer verifies; and the file chain
	 * differs, so does the next head: whichever comes first says so. */
	size_t sig = l2b_find(&f, f.n_recs / 2, L2_SIGNALS, -1, false);
	cr_assert_lt(sig, f.n_recs);
	size_t covering = l2b_find(&f, sig, L2_CHECKPOINT, f.recs[sig].p, false);
	cr_assert_lt(covering, f.n_recs, "a checkpoint covers the signal");
	size_t head_after = l2b_find(&f, sig, L2_HEAD, -1, true);
	size_t value = l2b_signal_value(&f, sig, 0);
	cr_assert_gt(value, 0);
	f.bytes[value] ^= 0x01;
	bool head_first = head_after < covering;
	free(expect_fail_at("flipped value", &f, order, all, false, pos_of(&f, head_first ? head_after : covering),
			    head_first ? "chain" : "sig", "--topology", m.topology));
	f.bytes[value] ^= 0x01;

	/* A block's time, which no record check covers: the next head's chain. */
	size_t data = f.recs[sig].block;
	size_t head = l2b_find(&f, f.blocks[data].first_rec + f.blocks[data].n_recs, L2_HEAD, -1, true);
	cr_assert_lt(head, f.n_recs);
	f.bytes[f.blocks[data].off + 8] ^= 0x01;
	free(expect_fail_at("time of a block", &f, order, all, false, pos_of(&f, head), "chain", "--topology",
			    m.topology));
	f.bytes[f.blocks[data].off + 8] ^= 0x01;

	/* The same re-chained, as a forger without the association's key
	 * would: the head's signature gives it away. */
	f.bytes[f.blocks[data].off + 8] ^= 0x01;
	free(expect_fail_at("time rechained", &f, order, all, true, pos_of(&f, head), "sig", "--topology", m.topology));
	f.bytes[f.blocks[data].off + 8] ^= 0x01;

	/* A head's block deleted: the records after it are numbered one
	 * less, and the next head covers one record too many. */
	size_t del = lone_head(&f);
	size_t next_head = l2b_find(&f, del + 1, L2_HEAD, -1, true);
	cr_assert_lt(next_head, f.n_recs, "a head after the deleted one");
	size_t n = l2b_order(&f, order, f.recs[del].block);
	struct l2b_pos at = l2b_position(&f, order, f.recs[next_head].block - 1);
	cr_assert_eq(at.record, f.recs[next_head].number - 1);
	char *out = expect_fail_at("deleted head", &f, order, n, false, at, "covers", "--topology", m.topology);
	char want[128];
	snprintf(want, sizeof(want), "head covers record %" PRIu64 ", but the last record before its block is %" PRIu64
		 "\n", f.recs[next_head].number - 1, f.recs[next_head].number - 2);
	cr_assert_not_null(strstr(out, want), "expected '%s' in: %s", want, out);
	free(out);

	/* A block and the head block after it swapped: the head comes before
	 * records it covers. */
	size_t before = data_before_head(&f);
	all = l2b_order(&f, order, SIZE_MAX);
	order[before] = before + 1;
	order[before + 1] = before;
	free(expect_fail_at("swapped", &f, order, all, false, l2b_position(&f, order, before), "covers", "--topology",
			    m.topology));

	/* A's checkpoints checked against another key. */
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/pub", m.dir);
	public_keys_dir(dir, true);
	all = l2b_order(&f, order, SIZE_MAX);
	size_t first_a = l2b_find(&f, 0, L2_CHECKPOINT, 0, false);
	cr_assert_lt(first_a, f.n_recs);
	out = expect_fail_at("key", &f, order, all, false, pos_of(&f, first_a), "sig", "--public-keys", dir);
	cr_assert_not_null(strstr(out, "checkpoint of A: signature does not verify with A's key"), "%s", out);
	free(out);
	free(order);
	l2b_free(&f);
}
