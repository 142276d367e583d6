/* SPDX-License-Identifier: Apache-2.0 */
/* unit_ledger: the association's ledger writer (group commit, recovery on
 * reopen) and the offline verifier, on ledgers built with real keys, real
 * provider chains and real linkage values. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../../lib/chain.h"
#include "../../lib/derive.h"
#include "../../lib/ledger.h"
#include "../common/ledger1_write.h"

/* ------------------------------------------------------------ files */

/* An unlinked temporary file, opened the way the supervisor opens the ledger. */
static int temp_ledger_fd(void)
{
	char path[] = "/tmp/mpbs-test-ledger-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(fcntl(fd, F_SETFL, O_APPEND), 0);
	return fd;
}

/* A second, independent open file description of the same file. */
static int reopen_fd(int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int fd2 = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	cr_assert_geq(fd2, 0, "reopen: %s", strerror(errno));
	return fd2;
}

static int fd_with(const char *data, size_t len)
{
	int fd = temp_ledger_fd();
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	return fd;
}

static char *read_all(int fd, size_t *len)
{
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	char *buf = malloc((size_t)st.st_size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	buf[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	return buf;
}

/* The file as an array of lines without their newlines. */
struct lines {
	char **line;
	size_t n;
	bool final_newline;
};

static struct lines split_lines(int fd)
{
	size_t len;
	char *all = read_all(fd, &len);
	struct lines ls = { .line = calloc(len + 1, sizeof(char *)), .final_newline = len > 0 && all[len - 1] == '\n' };
	cr_assert_not_null(ls.line);
	char *save = NULL;
	for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		ls.line[ls.n++] = strdup(l);
	free(all);
	return ls;
}

static int join_lines(const struct lines *ls)
{
	int fd = temp_ledger_fd();
	for (size_t i = 0; i < ls->n; i++) {
		size_t len = strlen(ls->line[i]);
		cr_assert_eq(write(fd, ls->line[i], len), (ssize_t)len);
		if (i + 1 < ls->n || ls->final_newline)
			cr_assert_eq(write(fd, "\n", 1), 1);
	}
	return fd;
}

static void free_lines(struct lines *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->line[i]);
	free(ls->line);
}

static void sha256_hex(const char *s, size_t len, char out[65])
{
	uint8_t d[32];
	crypto_hash_sha256(d, (const unsigned char *)s, len);
	hex_encode(d, sizeof(d), out);
}

/* Renumbers seq and recomputes prev of every line from index `from` on
 * (line numbers are index + 1), as a forger who rewrote a line would. */
static void rechain(struct lines *ls, size_t from)
{
	for (size_t i = from; i < ls->n; i++) {
		json_t *obj = json_loads(ls->line[i], 0, NULL);
		cr_assert_not_null(obj);
		char prev[65];
		if (i == 0)
			memset(prev, '0', 64), prev[64] = '\0';
		else
			sha256_hex(ls->line[i - 1], strlen(ls->line[i - 1]), prev);
		cr_assert_eq(json_object_set_new(obj, "seq", json_integer((json_int_t)(i + 1))), 0);
		cr_assert_eq(json_object_set_new(obj, "prev", json_string(prev)), 0);
		free(ls->line[i]);
		ls->line[i] = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(obj);
	}
}

/* Checks, independently of the verifier, that seq and prev chain every line. */
static void assert_file_chain(const struct lines *ls)
{
	char prev[65];
	memset(prev, '0', 64);
	prev[64] = '\0';
	for (size_t i = 0; i < ls->n; i++) {
		json_t *obj = json_loads(ls->line[i], 0, NULL);
		cr_assert_not_null(obj, "line %zu is not JSON", i + 1);
		cr_assert_eq(json_integer_value(json_object_get(obj, "seq")), (json_int_t)(i + 1));
		cr_assert_str_eq(json_string_value(json_object_get(obj, "prev")), prev, "prev of line %zu", i + 1);
		json_decref(obj);
		sha256_hex(ls->line[i], strlen(ls->line[i]), prev);
	}
}

/* ------------------------------------------------ providers and records */

struct party {
	char name[WIRE_PROVIDER_ID_MAX + 1];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint8_t head[WIRE_DIGEST_LEN];
	uint64_t seq;
};

struct keyring {
	struct party *p;
	size_t n;
};

static bool ring_pubkey(void *ctx, const char *provider, uint8_t pk[32])
{
	const struct keyring *ring = ctx;
	for (size_t i = 0; i < ring->n; i++)
		if (strcmp(ring->p[i].name, provider) == 0) {
			memcpy(pk, ring->p[i].pk, 32);
			return true;
		}
	return false;
}

static void party_init(struct party *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	cr_assert_eq(crypto_sign_keypair(p->pk, p->sk), 0);
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
	char hex[2 * WIRE_SIG_LEN + 1];
	hex_encode(b, n, hex);
	return json_string(hex);
}

static void append(struct ledger_writer *w, const char *type, json_t *fields)
{
	cr_assert_not_null(fields);
	cr_assert_eq(ledger_append(w, type, fields), 0, "append %s: %s", type, strerror(errno));
}

/* Appends a checkpoint of p's current head, signed with sk (normally p's own). */
static void put_checkpoint_signed(struct ledger_writer *w, const struct party *p, const uint8_t sk[64])
{
	struct checkpoint_frame c = { .seq = p->seq };
	snprintf(c.provider, sizeof(c.provider), "%s", p->name);
	memcpy(c.epoch, p->epoch, sizeof(c.epoch));
	memcpy(c.head, p->head, sizeof(c.head));
	checkpoint_sign(&c, sk);
	append(w, "checkpoint",
	       json_pack("{s:s, s:o, s:I, s:o, s:o}", "provider", p->name, "epoch", hex_json(c.epoch, sizeof(c.epoch)),
			 "pseq", (json_int_t)c.seq, "head", hex_json(c.head, sizeof(c.head)), "sig",
			 hex_json(c.sig, sizeof(c.sig))));
}

static void put_checkpoint(struct ledger_writer *w, const struct party *p)
{
	put_checkpoint_signed(w, p, p->sk);
}

static void open_epoch(struct ledger_writer *w, struct party *p)
{
	randombytes_buf(p->epoch, sizeof(p->epoch));
	derive_chain_origin(p->epoch, p->head);
	p->seq = 0;
	put_checkpoint(w, p);
}

/* Appends a signal of p and returns its boundary value in value. */
static void put_signal(struct ledger_writer *w, struct party *p, const uint8_t op[32], uint8_t stage,
		       uint8_t value[32])
{
	struct signal_frame s = { .stage = stage, .t_ns = 1700000000000000000ull + p->seq, .seq = ++p->seq };
	snprintf(s.provider, sizeof(s.provider), "%s", p->name);
	memcpy(s.op, op, 32);
	randombytes_buf(s.value, sizeof(s.value));
	memcpy(value, s.value, 32);
	chain_extend(p->head, &s);
	append(w, "signal",
	       json_pack("{s:o, s:s, s:s, s:o, s:I, s:I, s:o}", "op", hex_json(s.op, 32), "provider", p->name,
			 "stage", wire_stage_name(stage), "value", hex_json(s.value, 32), "t", (json_int_t)s.t_ns,
			 "pseq", (json_int_t)s.seq, "chain", hex_json(s.chain, 32)));
}

/* parts must be sorted by name already (the builders use A, B, C, ...). */
static void put_confirmed(struct ledger_writer *w, const uint8_t op[32], struct linkage_part *parts, size_t n,
			  bool wrong_linkage)
{
	uint8_t linkage[32];
	derive_linkage(op, parts, n, linkage);
	if (wrong_linkage)
		linkage[0] ^= 0x01;
	json_t *names = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(names, json_string(parts[i].provider));
	append(w, "confirmed", json_pack("{s:o, s:o, s:o, s:I}", "op", hex_json(op, 32), "providers", names, "linkage",
					 hex_json(linkage, 32), "t", (json_int_t)1700000000123456789ll));
}

/* Every provider signals START and COMPLETE for op, checkpoints unless
 * skip_checkpoint names it, and a confirmed record follows. */
static void put_operation(struct ledger_writer *w, struct party *ps, size_t n, const char *skip_checkpoint,
			  const uint8_t op[32])
{
	struct linkage_part parts[8];
	for (size_t i = 0; i < n; i++) {
		parts[i].provider = ps[i].name;
		put_signal(w, &ps[i], op, STAGE_START, parts[i].start);
	}
	for (size_t i = 0; i < n; i++)
		put_signal(w, &ps[i], op, STAGE_COMPLETE, parts[i].complete);
	for (size_t i = 0; i < n; i++)
		if (!skip_checkpoint || strcmp(skip_checkpoint, ps[i].name) != 0)
			put_checkpoint(w, &ps[i]);
	put_confirmed(w, op, parts, n, false);
}

/* What a built ledger holds, counted while building it. */
struct built {
	struct party ps[3];
	struct keyring ring;
	int fd;
	struct ledger_verify_result expect;
	uint64_t first_op_signal;  /* line of the first signal of the first operation */
	uint64_t first_confirmed;  /* line of the first confirmed record */
};

#define BUILT_OPS 4

/* A realistic ledger: three providers open their epochs, BUILT_OPS
 * operations are confirmed, one provider's signal is rejected, one operation
 * expires incomplete, and one signal is left uncovered at the end. */
static void build_ledger(struct built *b)
{
	cr_assert_geq(sodium_init(), 0);
	memset(b, 0, sizeof(*b));
	const char *names[3] = { "A", "B", "C" };
	for (size_t i = 0; i < 3; i++)
		party_init(&b->ps[i], names[i]);
	b->ring = (struct keyring){ b->ps, 3 };
	b->fd = temp_ledger_fd();

	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, b->fd, err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < 3; i++)
		open_epoch(&w, &b->ps[i]);
	b->first_op_signal = w.seq + 1;
	for (int k = 0; k < BUILT_OPS; k++) {
		uint8_t op[32];
		randombytes_buf(op, sizeof(op));
		put_operation(&w, b->ps, 3, NULL, op);
		if (k == 0)
			b->first_confirmed = w.seq;
	}
	append(&w, "rejected", json_pack("{s:s, s:s, s:I}", "provider", "B", "reason", "malformed frame", "t",
					 (json_int_t)1700000000000000001ll));

	uint8_t op[32], v[32];
	randombytes_buf(op, sizeof(op));
	put_signal(&w, &b->ps[0], op, STAGE_START, v);
	put_signal(&w, &b->ps[0], op, STAGE_COMPLETE, v);
	put_checkpoint(&w, &b->ps[0]);
	append(&w, "incomplete", json_pack("{s:o, s:[s], s:I}", "op", hex_json(op, 32), "providers", "A", "t",
					   (json_int_t)1700000000000000002ll));

	randombytes_buf(op, sizeof(op));
	put_signal(&w, &b->ps[1], op, STAGE_START, v);

	cr_assert_eq(ledger_commit(&w), 0, "commit: %s", strerror(errno));
	b->expect = (struct ledger_verify_result){
		.records = w.seq,
		.confirmed = BUILT_OPS,
		.signals = BUILT_OPS * 6 + 3,
		.checkpoints = 3 + BUILT_OPS * 3 + 1,
		.rejected = 1,
		.incomplete = 1,
		.uncovered = 1,
	};
	ledger_writer_close(&w);
}

static struct ledger_verify_result verify_fd(int fd, struct keyring *ring)
{
	struct ledger_verify_result res;
	memset(&res, 0xa5, sizeof(res)); /* the verifier must fill every counter */
	bool ok = ledger_verify(fd, ring_pubkey, ring, &res);
	cr_assert_eq(ok, res.bad_line == 0, "result %d but bad_line %lu (%s)", ok, (unsigned long)res.bad_line,
		     res.why);
	return res;
}

static void assert_rejected_at(int fd, struct keyring *ring, uint64_t line, const char *why_part)
{
	struct ledger_verify_result res = verify_fd(fd, ring);
	cr_assert_eq(res.bad_line, line, "bad_line %lu (%s), expected %lu", (unsigned long)res.bad_line, res.why,
		     (unsigned long)line);
	cr_assert_not_null(strstr(res.why, why_part), "why \"%s\" lacks \"%s\"", res.why, why_part);
}

/* The same, and the failure names this field of the record. */
static void assert_field_rejected_at(int fd, struct keyring *ring, uint64_t line, const char *field,
				     const char *why_part)
{
	struct ledger_verify_result res = verify_fd(fd, ring);
	cr_assert_eq(res.bad_line, line, "bad_line %lu (%s), expected %lu", (unsigned long)res.bad_line, res.why,
		     (unsigned long)line);
	cr_assert_str_eq(res.field, field, "field \"%s\" (%s), expected \"%s\"", res.field, res.why, field);
	cr_assert_not_null(strstr(res.why, why_part), "why \"%s\" lacks \"%s\"", res.why, why_part);
}

/* ------------------------------------------------------------ the writer */

static json_t *rejected_fields(int i)
{
	return json_pack("{s:s, s:s, s:I}", "provider", "A", "reason", "test", "t", (json_int_t)i);
}

Test(unit_ledger, writer_chains_records_and_commits_in_one_batch)
{
	int fd = temp_ledger_fd();
	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(w.seq, 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(ledger_append(&w, "rejected", rejected_fields(i)), 0);
	cr_assert_eq(w.buffered, 5);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, 0, "nothing reaches the file before the commit");

	cr_assert_eq(ledger_commit(&w), 0, "%s", strerror(errno));
	cr_assert_eq(w.buffered, 0);
	cr_assert_eq(w.len, 0);
	struct lines ls = split_lines(fd);
	cr_assert_eq(ls.n, 5);
	cr_assert(ls.final_newline);
	assert_file_chain(&ls);

	uint8_t last[32];
	crypto_hash_sha256(last, (const unsigned char *)ls.line[4], strlen(ls.line[4]));
	cr_assert_eq(memcmp(w.prev, last, 32), 0, "writer's prev is the hash of its last line");

	/* key order: seq, prev, type, then the fields as given */
	json_t *obj = json_loads(ls.line[2], 0, NULL);
	const char *expect_keys[] = { "seq", "prev", "type", "provider", "reason", "t" };
	size_t k = 0;
	const char *key;
	json_t *val;
	json_object_foreach(obj, key, val) {
		cr_assert_lt(k, 6);
		cr_assert_str_eq(key, expect_keys[k]);
		k++;
	}
	cr_assert_eq(k, 6);
	cr_assert_str_eq(json_string_value(json_object_get(obj, "type")), "rejected");
	json_decref(obj);
	free_lines(&ls);
	ledger_writer_close(&w);
	close(fd);
}

Test(unit_ledger, reopen_recovers_seq_and_prev_and_continues_the_chain)
{
	int fd = temp_ledger_fd();
	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ledger_append(&w, "rejected", rejected_fields(i)), 0);
	cr_assert_eq(ledger_commit(&w), 0);
	uint8_t prev_before[32];
	memcpy(prev_before, w.prev, 32);
	ledger_writer_close(&w);

	int fd2 = reopen_fd(fd);
	struct ledger_writer w2;
	cr_assert_eq(ledger_writer_open(&w2, fd2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(w2.seq, 3);
	cr_assert_eq(memcmp(w2.prev, prev_before, 32), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(ledger_append(&w2, "rejected", rejected_fields(10 + i)), 0);
	cr_assert_eq(ledger_commit(&w2), 0);
	ledger_writer_close(&w2);

	struct lines ls = split_lines(fd);
	cr_assert_eq(ls.n, 5);
	assert_file_chain(&ls);
	free_lines(&ls);

	struct keyring none = { NULL, 0 };
	struct ledger_verify_result res = verify_fd(fd, &none);
	cr_assert_eq(res.bad_line, 0, "%s", res.why);
	cr_assert_eq(res.records, 5);
	cr_assert_eq(res.rejected, 5);
	close(fd2);
	close(fd);
}

Test(unit_ledger, writer_refuses_a_partial_last_line)
{
	struct built b;
	build_ledger(&b);
	struct lines ls = split_lines(b.fd);
	ls.final_newline = false;
	int fd = join_lines(&ls);
	struct ledger_writer w;
	char err[256] = "";
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), -1);
	char expect[64];
	snprintf(expect, sizeof(expect), "line %zu: partial last line", ls.n);
	cr_assert_not_null(strstr(err, expect), "errbuf: %s", err);
	free_lines(&ls);
	close(fd);
	close(b.fd);
}

Test(unit_ledger, writer_refuses_a_broken_prev)
{
	struct built b;
	build_ledger(&b);
	struct lines ls = split_lines(b.fd);
	/* drop line 5: line 6 then claims seq 6 after seq 4 */
	free(ls.line[4]);
	memmove(&ls.line[4], &ls.line[5], (ls.n - 5) * sizeof(char *));
	ls.n--;
	int fd = join_lines(&ls);
	struct ledger_writer w;
	char err[256] = "";
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "line 5:"), "errbuf: %s", err);

	/* renumber so that only prev is wrong */
	rechain(&ls, 0);
	json_t *obj = json_loads(ls.line[4], 0, NULL);
	json_object_set_new(obj, "prev", json_string("1111111111111111111111111111111111111111111111111111111111111111"));
	free(ls.line[4]);
	ls.line[4] = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	int fd2 = join_lines(&ls);
	cr_assert_eq(ledger_writer_open(&w, fd2, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "line 5: prev does not match line 4"), "errbuf: %s", err);
	free_lines(&ls);
	close(fd2);
	close(fd);
	close(b.fd);
}

Test(unit_ledger, failed_commit_keeps_the_records_buffered)
{
	int fd = temp_ledger_fd();
	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ledger_append(&w, "rejected", rejected_fields(1)), 0);
	size_t len = w.len;

	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int ro = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(ro, 0);
	w.fd = ro;
	errno = 0;
	cr_assert_eq(ledger_commit(&w), -1);
	cr_assert_eq(errno, EBADF);
	cr_assert_eq(w.buffered, 1);
	cr_assert_eq(w.len, len);

	w.fd = fd;
	cr_assert_eq(ledger_commit(&w), 0);
	struct lines ls = split_lines(fd);
	cr_assert_eq(ls.n, 1);
	assert_file_chain(&ls);
	free_lines(&ls);
	ledger_writer_close(&w);
	close(ro);
	close(fd);
}

Test(unit_ledger, append_refuses_reserved_keys_and_oversize_lines)
{
	int fd = temp_ledger_fd();
	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ledger_append(&w, "rejected", json_pack("{s:I}", "seq", (json_int_t)7)), -1);
	cr_assert_eq(errno, EINVAL);
	char *big = malloc(5000);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	cr_assert_eq(ledger_append(&w, "rejected", json_pack("{s:s}", "reason", big)), -1);
	cr_assert_eq(errno, EMSGSIZE);
	cr_assert_eq(w.seq, 0);
	cr_assert_eq(w.buffered, 0);
	free(big);
	ledger_writer_close(&w);
	close(fd);
}

/* ----------------------------------------------------------- the verifier */

Test(unit_ledger, verifies_a_genuine_ledger_with_its_counters)
{
	struct built b;
	build_ledger(&b);
	struct ledger_verify_result res = verify_fd(b.fd, &b.ring);
	cr_assert_eq(res.bad_line, 0, "line %lu: %s", (unsigned long)res.bad_line, res.why);
	cr_assert_eq(res.records, b.expect.records);
	cr_assert_eq(res.confirmed, b.expect.confirmed);
	cr_assert_eq(res.signals, b.expect.signals);
	cr_assert_eq(res.checkpoints, b.expect.checkpoints);
	cr_assert_eq(res.rejected, b.expect.rejected);
	cr_assert_eq(res.incomplete, b.expect.incomplete);
	cr_assert_eq(res.uncovered, b.expect.uncovered);
	struct lines ls = split_lines(b.fd);
	cr_assert_eq(ls.n, b.expect.records);
	assert_file_chain(&ls);
	free_lines(&ls);
	close(b.fd);
}

Test(unit_ledger, detects_a_flipped_byte_in_a_signal)
{
	struct built b;
	build_ledger(&b);
	struct lines ls = split_lines(b.fd);
	char *l = ls.line[b.first_op_signal - 1];
	char *value = strstr(l, "\"value\":\"");
	cr_assert_not_null(value, "line %lu is a signal: %s", (unsigned long)b.first_op_signal, l);
	char *digit = value + 9 + 20;
	*digit = *digit == '0' ? '1' : '0'; /* still hex: only the chain can tell */
	int fd = join_lines(&ls);
	assert_field_rejected_at(fd, &b.ring, b.first_op_signal, "chain",
				 "signal of A: signal chain does not extend the provider's head");

	/* the same flip with the file chain repaired is still caught there */
	rechain(&ls, b.first_op_signal - 1);
	int fd2 = join_lines(&ls);
	assert_field_rejected_at(fd2, &b.ring, b.first_op_signal, "chain", "signal of A:");
	free_lines(&ls);
	close(fd2);
	close(fd);
	close(b.fd);
}

Test(unit_ledger, detects_a_deleted_line)
{
	struct built b;
	build_ledger(&b);
	struct lines ls = split_lines(b.fd);
	size_t del = b.first_op_signal + 2; /* 1-based line number */
	free(ls.line[del - 1]);
	memmove(&ls.line[del - 1], &ls.line[del], (ls.n - del) * sizeof(char *));
	ls.n--;
	int fd = join_lines(&ls);
	assert_rejected_at(fd, &b.ring, del, "seq is");
	free_lines(&ls);
	close(fd);
	close(b.fd);
}

Test(unit_ledger, detects_two_swapped_lines)
{
	struct built b;
	build_ledger(&b);
	struct lines ls = split_lines(b.fd);
	size_t at = b.first_op_signal + 1;
	char *tmp = ls.line[at - 1];
	ls.line[at - 1] = ls.line[at];
	ls.line[at] = tmp;
	int fd = join_lines(&ls);
	assert_rejected_at(fd, &b.ring, at, "seq is");
	free_lines(&ls);
	close(fd);
	close(b.fd);
}

Test(unit_ledger, detects_a_signal_covered_by_another_keys_checkpoint)
{
	struct built b;
	build_ledger(&b);
	struct party mallory;
	party_init(&mallory, "M");
	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, b.fd, err, sizeof(err)), 0, "%s", err);
	uint8_t op[32], v[32];
	randombytes_buf(op, sizeof(op));
	put_signal(&w, &b.ps[2], op, STAGE_START, v);
	put_checkpoint_signed(&w, &b.ps[2], mallory.sk);
	uint64_t forged_checkpoint = w.seq;
	cr_assert_eq(ledger_commit(&w), 0);
	ledger_writer_close(&w);
	assert_rejected_at(b.fd, &b.ring, forged_checkpoint, "checkpoint of C");
	close(b.fd);
}

Test(unit_ledger, detects_a_wrong_linkage_even_with_the_file_chain_repaired)
{
	struct built b;
	build_ledger(&b);
	struct lines ls = split_lines(b.fd);
	size_t at = b.first_confirmed;
	json_t *obj = json_loads(ls.line[at - 1], 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(obj, "type")), "confirmed");
	char linkage[65];
	snprintf(linkage, sizeof(linkage), "%s", json_string_value(json_object_get(obj, "linkage")));
	linkage[7] = linkage[7] == '0' ? '1' : '0';
	json_object_set_new(obj, "linkage", json_string(linkage));
	free(ls.line[at - 1]);
	ls.line[at - 1] = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	rechain(&ls, at);
	assert_file_chain(&ls);
	int fd = join_lines(&ls);
	assert_rejected_at(fd, &b.ring, at, "confirmed: linkage mismatch");
	free_lines(&ls);
	close(fd);
	close(b.fd);
}

Test(unit_ledger, detects_a_confirmation_over_uncovered_signals)
{
	struct built b;
	build_ledger(&b);
	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, b.fd, err, sizeof(err)), 0, "%s", err);
	uint8_t op[32];
	randombytes_buf(op, sizeof(op));
	put_operation(&w, b.ps, 3, "C", op); /* C's signals never checkpointed */
	uint64_t confirmed_line = w.seq;
	cr_assert_eq(ledger_commit(&w), 0);
	ledger_writer_close(&w);
	assert_rejected_at(b.fd, &b.ring, confirmed_line, "provider C has no covered");
	close(b.fd);
}

Test(unit_ledger, detects_a_confirmation_naming_an_absent_provider)
{
	struct built b;
	build_ledger(&b);
	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, b.fd, err, sizeof(err)), 0, "%s", err);
	uint8_t op[32];
	randombytes_buf(op, sizeof(op));
	struct linkage_part parts[3] = { { .provider = "A" }, { .provider = "B" }, { .provider = "D" } };
	put_signal(&w, &b.ps[0], op, STAGE_START, parts[0].start);
	put_signal(&w, &b.ps[0], op, STAGE_COMPLETE, parts[0].complete);
	put_signal(&w, &b.ps[1], op, STAGE_START, parts[1].start);
	put_signal(&w, &b.ps[1], op, STAGE_COMPLETE, parts[1].complete);
	put_checkpoint(&w, &b.ps[0]);
	put_checkpoint(&w, &b.ps[1]);
	randombytes_buf(parts[2].start, 32);
	randombytes_buf(parts[2].complete, 32);
	put_confirmed(&w, op, parts, 3, false);
	uint64_t confirmed_line = w.seq;
	cr_assert_eq(ledger_commit(&w), 0);
	ledger_writer_close(&w);
	assert_rejected_at(b.fd, &b.ring, confirmed_line, "provider D has no covered");
	close(b.fd);
}

Test(unit_ledger, detects_a_partial_last_line)
{
	struct built b;
	build_ledger(&b);
	struct lines ls = split_lines(b.fd);
	ls.final_newline = false;
	int fd = join_lines(&ls);
	assert_rejected_at(fd, &b.ring, ls.n, "partial last line");

	/* a line cut in its middle */
	ls.line[ls.n - 1][20] = '\0';
	int fd2 = join_lines(&ls);
	assert_rejected_at(fd2, &b.ring, ls.n, "partial last line");
	free_lines(&ls);
	close(fd2);
	close(fd);
	close(b.fd);
}

Test(unit_ledger, detects_an_unknown_provider_key)
{
	struct built b;
	build_ledger(&b);
	struct keyring only_ab = { b.ps, 2 };
	/* lines 1-3 open the epochs of A, B, C */
	assert_field_rejected_at(b.fd, &only_ab, 3, "provider", "checkpoint of C: no public key for this provider");
	close(b.fd);
}

Test(unit_ledger, refuses_unknown_types_and_wrong_fields)
{
	/* each line is {"seq":1,"prev":"0…0", then this */
#define Z64 "0000000000000000000000000000000000000000000000000000000000000000"
	/* the rest of the line, the field at fault, what is said of it */
	const char *cases[][3] = {
		{ "\"type\":\"vote\",\"t\":1}", "type", "unknown record type \"vote\"" },
		{ "\"type\":\"rejected\",\"provider\":\"A\",\"t\":1}", "reason", "missing from a rejected record" },
		{ "\"type\":\"rejected\",\"provider\":\"A\",\"reason\":\"x\",\"t\":1,\"x\":0}", "x",
		  "not a field of a rejected record" },
		{ "\"type\":\"rejected\",\"provider\":\"A\",\"reason\":\"x\",\"t\":\"1\"}", "t", "expected an integer" },
		{ "\"type\":\"rejected\",\"provider\":\"A B\",\"reason\":\"x\",\"t\":1}", "provider",
		  "expected a provider name" },
		{ "\"type\":\"incomplete\",\"op\":\"00\",\"providers\":[],\"t\":1}", "op",
		  "expected 64 lowercase hex digits" },
		{ "\"type\":\"confirmed\",\"op\":\"" Z64 "\",\"providers\":[\"B\",\"A\"],\"linkage\":\"" Z64 "\",\"t\":1}",
		  "providers", "sorted, none twice" },
		{ "\"type\":\"head\",\"covers\":1,\"head\":\"" Z64 "\",\"sig\":\"00\"}", "sig", "expected 128 lowercase hex" },
		{ "\"type\":\"rejected\",\"provider\":\"A\",\"reason\":\"x\",\"t\":1", "", "not valid JSON" },
	};
#undef Z64
	char zeros[65];
	memset(zeros, '0', 64);
	zeros[64] = '\0';
	struct keyring none = { NULL, 0 };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[512];
		int len = snprintf(line, sizeof(line), "{\"seq\":1,\"prev\":\"%s\",%s\n", zeros, cases[i][0]);
		int fd = fd_with(line, (size_t)len);
		assert_field_rejected_at(fd, &none, 1, cases[i][1], cases[i][2]);
		close(fd);
	}
	int fd = fd_with("[1]\n", 4);
	assert_rejected_at(fd, &none, 1, "not a JSON object");
	close(fd);
}

Test(unit_ledger, refuses_an_overlong_line)
{
	size_t len = 5000;
	char *data = malloc(len);
	memset(data, ' ', len);
	data[len - 1] = '\n';
	int fd = fd_with(data, len);
	struct keyring none = { NULL, 0 };
	assert_rejected_at(fd, &none, 1, "longer than");
	free(data);
	close(fd);
}

Test(unit_ledger, refuses_more_than_64_providers)
{
	cr_assert_geq(sodium_init(), 0);
	enum { N = 65 };
	struct party *ps = calloc(N, sizeof(*ps));
	cr_assert_not_null(ps);
	struct keyring ring = { ps, N };
	int fd = temp_ledger_fd();
	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < N; i++) {
		char name[16];
		snprintf(name, sizeof(name), "P%02d", i);
		party_init(&ps[i], name);
		open_epoch(&w, &ps[i]);
	}
	cr_assert_eq(ledger_commit(&w), 0);
	ledger_writer_close(&w);
	assert_rejected_at(fd, &ring, N, "more than 64 providers");
	free(ps);
	close(fd);
}

Test(unit_ledger, a_new_epoch_leaves_old_signals_uncovered)
{
	struct built b;
	build_ledger(&b);
	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, b.fd, err, sizeof(err)), 0, "%s", err);
	uint8_t op[32], v[32];
	randombytes_buf(op, sizeof(op));
	put_signal(&w, &b.ps[2], op, STAGE_START, v);
	put_signal(&w, &b.ps[2], op, STAGE_COMPLETE, v);
	open_epoch(&w, &b.ps[2]); /* C restarted before checkpointing them */
	cr_assert_eq(ledger_commit(&w), 0);
	ledger_writer_close(&w);
	struct ledger_verify_result res = verify_fd(b.fd, &b.ring);
	cr_assert_eq(res.bad_line, 0, "%s", res.why);
	cr_assert_eq(res.uncovered, b.expect.uncovered + 2);
	cr_assert_eq(res.signals, b.expect.signals + 2);
	cr_assert_eq(res.checkpoints, b.expect.checkpoints + 1);
	close(b.fd);
}

Test(unit_ledger, built_fields_match_printf_byte_for_byte)
{
	struct ledger_fields f = { 0 };
	const uint8_t digest[4] = { 0x00, 0x0f, 0xa5, 0xff };
	ledger_fields_text(&f, "\"op\":\"");
	ledger_fields_hex(&f, digest, sizeof(digest));
	ledger_fields_text(&f, "\",\"t\":");
	ledger_fields_u64(&f, UINT64_MAX);
	ledger_fields_text(&f, ",\"pseq\":");
	ledger_fields_u64(&f, 0);
	ledger_fields_text(&f, ",\"n\":");
	ledger_fields_u64(&f, 1000000007);
	char want[128];
	int n = snprintf(want, sizeof(want), "\"op\":\"000fa5ff\",\"t\":%" PRIu64 ",\"pseq\":%d,\"n\":%d", UINT64_MAX, 0,
			 1000000007);
	cr_assert_not(f.overflow);
	cr_assert_eq(f.len, (size_t)n);
	cr_assert_eq(memcmp(f.text, want, f.len), 0, "%.*s", (int)f.len, f.text);

	/* A record around such fields (jansson reads integers up to
	 * INT64_MAX), against the printf layout it replaced. */
	f = (struct ledger_fields){ 0 };
	ledger_fields_text(&f, "\"op\":\"");
	ledger_fields_hex(&f, digest, sizeof(digest));
	ledger_fields_text(&f, "\",\"t\":");
	ledger_fields_u64(&f, 1795739217233697939u);
	int fd = temp_ledger_fd();
	struct ledger_writer w;
	char err[256], prev_hex[65], line[512];
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ledger_append(&w, "rejected", rejected_fields(0)), 0);
	hex_encode(w.prev, sizeof(w.prev), prev_hex);
	int len = snprintf(line, sizeof(line), "{\"seq\":2,\"prev\":\"%s\",\"type\":\"signal\",%.*s}\n", prev_hex,
			   (int)f.len, f.text);
	cr_assert_eq(ledger_append_built(&w, "signal", &f), 0);
	cr_assert_eq(ledger_commit(&w), 0);
	struct lines ls = split_lines(fd);
	cr_assert_eq(ls.n, 2);
	cr_assert_eq(strlen(ls.line[1]) + 1, (size_t)len);
	cr_assert_eq(memcmp(ls.line[1], line, (size_t)len - 1), 0, "%s", ls.line[1]);
	assert_file_chain(&ls);
	free_lines(&ls);
	ledger_writer_close(&w);
	close(fd);
}

Test(unit_ledger, built_fields_that_do_not_fit_are_refused)
{
	static struct ledger_fields f;
	static uint8_t big[LEDGER_FIELDS_MAX / 2];
	ledger_fields_hex(&f, big, sizeof(big)); /* 2n + its NUL: one byte too many */
	cr_assert(f.overflow);
	size_t len = f.len;
	ledger_fields_text(&f, "x");
	cr_assert_eq(f.len, len, "nothing is appended after an overflow");
	int fd = temp_ledger_fd();
	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), 0, "%s", err);
	errno = 0;
	cr_assert_eq(ledger_append_built(&w, "signal", &f), -1);
	cr_assert_eq(errno, EMSGSIZE);
	cr_assert_eq(w.seq, 0);
	ledger_writer_close(&w);
	close(fd);
}
