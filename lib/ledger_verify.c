/* SPDX-License-Identifier: Apache-2.0 */
/* The offline verifier of the ledger (`mpbs-run verify`): from the file's
 * bytes and public keys alone, streamed through a bounded line buffer. */
#define _GNU_SOURCE
#include "ledger.h"
#include "ledger_read.h"
#include "sha256.h"

#include <errno.h>
#include <inttypes.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "chain.h"
#include "derive.h"
#include "errbuf.h"

#define LEDGER_PROVIDERS_MAX LEDGER_NAMES_MAX
/* Operations with covered signals but no confirmed/incomplete record yet.
 * With confirm = K of N, late signals of a confirmed operation are absorbed
 * by the association and never closed by a record, so the verifier forgets
 * the oldest operation beyond this bound (the association's own table,
 * pending_max, is far smaller). Forgetting can only make a later confirmed
 * record fail, never pass. */
#ifndef LEDGER_OPEN_OPS_MAX
#define LEDGER_OPEN_OPS_MAX 1000000
#endif
/* Signals not yet covered by a checkpoint, over all providers. The
 * association stops trusting a provider after checkpoint_every of them, so a
 * genuine file stays far below this. */
#define LEDGER_PENDING_MAX 1000000

/* A signal accepted into its provider's chain, waiting for a checkpoint. */
struct pending_signal {
	uint8_t op[WIRE_DIGEST_LEN];
	uint8_t value[WIRE_DIGEST_LEN];
	uint8_t stage;
};

struct provider_track {
	char name[WIRE_PROVIDER_ID_MAX + 1];
	struct chain_state chain;
	bool have_key;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	struct pending_signal *pending;
	size_t npending, cap;
	uint8_t (*epochs)[WIRE_EPOCH_LEN]; /* every epoch it opened: one may never open twice */
	size_t nepochs;
};

/* A covered boundary value of one provider for one operation. */
struct covered_value {
	uint8_t provider; /* index into verifier.prov */
	uint8_t stage;
	uint8_t value[WIRE_DIGEST_LEN];
};

struct op_track {
	uint8_t op[WIRE_DIGEST_LEN];
	size_t n, cap;
	struct covered_value *values;
	struct op_track *older, *newer; /* creation order, for forgetting the oldest */
};

struct verifier {
	ledger_pubkey_fn pubkey;
	void *ctx;
	const struct ledger_verify_opts *opts;
	struct ledger_verify_result *res;
	struct provider_track prov[LEDGER_PROVIDERS_MAX];
	size_t nprov;
	size_t npending;      /* over all providers */
	void *ops;            /* tsearch tree of struct op_track */
	size_t nops;
	struct op_track *oldest, *newest;
	uint64_t seq;
	uint8_t prev[WIRE_DIGEST_LEN];
	void *confirmed;      /* tsearch tree of the first CONFIRMED_KEY_LEN bytes of each confirmed op */
};

/* A prefix of the op is enough to refuse a second confirmation: two
 * records of one op always share it (a prefix can only add a false alarm,
 * at odds of 2^-128). */
#define CONFIRMED_KEY_LEN 16

static bool fail(struct verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct verifier *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(v->res->why, sizeof(v->res->why), fmt, ap);
	va_end(ap);
	return false;
}

/* The same, naming the record's field at fault. */
static bool fail_field(struct verifier *v, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail_field(struct verifier *v, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(v->res->why, sizeof(v->res->why), fmt, ap);
	va_end(ap);
	snprintf(v->res->field, sizeof(v->res->field), "%s", field);
	return false;
}

static int op_cmp(const void *a, const void *b)
{
	return memcmp(((const struct op_track *)a)->op, ((const struct op_track *)b)->op, WIRE_DIGEST_LEN);
}

static void op_free(void *p)
{
	struct op_track *t = p;
	free(t->values);
	free(t);
}

static struct op_track *op_find(struct verifier *v, const uint8_t op[WIRE_DIGEST_LEN])
{
	struct op_track key;
	memcpy(key.op, op, WIRE_DIGEST_LEN);
	void **node = tfind(&key, &v->ops, op_cmp);
	return node ? *node : NULL;
}

static void op_drop(struct verifier *v, struct op_track *t)
{
	tdelete(t, &v->ops, op_cmp);
	if (t->older)
		t->older->newer = t->newer;
	else
		v->oldest = t->newer;
	if (t->newer)
		t->newer->older = t->older;
	else
		v->newest = t->older;
	op_free(t);
	v->nops--;
}

static struct op_track *op_find_or_add(struct verifier *v, const uint8_t op[WIRE_DIGEST_LEN])
{
	struct op_track *t = op_find(v, op);
	if (t)
		return t;
	if (v->nops >= LEDGER_OPEN_OPS_MAX)
		op_drop(v, v->oldest);
	t = calloc(1, sizeof(*t));
	if (t)
		memcpy(t->op, op, WIRE_DIGEST_LEN);
	if (!t || !tsearch(t, &v->ops, op_cmp)) {
		free(t);
		fail(v, "out of memory");
		return NULL;
	}
	t->older = v->newest;
	if (v->newest)
		v->newest->newer = t;
	else
		v->oldest = t;
	v->newest = t;
	v->nops++;
	return t;
}

static struct covered_value *op_value(struct op_track *t, size_t provider, uint8_t stage)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->values[i].provider == provider && t->values[i].stage == stage)
			return &t->values[i];
	return NULL;
}

/* Records a covered value. As in the association, the first covered value
 * of a provider and stage stands; a duplicate is ignored. */
static bool op_cover(struct verifier *v, size_t provider, const struct pending_signal *s)
{
	struct op_track *t = op_find_or_add(v, s->op);
	if (!t)
		return false;
	if (op_value(t, provider, s->stage))
		return true;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 4;
		struct covered_value *vals = reallocarray(t->values, cap, sizeof(*vals));
		if (!vals)
			return fail(v, "out of memory");
		t->values = vals;
		t->cap = cap;
	}
	struct covered_value *cv = &t->values[t->n++];
	cv->provider = (uint8_t)provider;
	cv->stage = s->stage;
	memcpy(cv->value, s->value, WIRE_DIGEST_LEN);
	return true;
}

static struct provider_track *provider_find(struct verifier *v, const char *name)
{
	for (size_t i = 0; i < v->nprov; i++)
		if (strcmp(v->prov[i].name, name) == 0)
			return &v->prov[i];
	return NULL;
}

static struct provider_track *provider_get(struct verifier *v, const char *name)
{
	struct provider_track *p = provider_find(v, name);
	if (p)
		return p;
	if (v->nprov == LEDGER_PROVIDERS_MAX) {
		fail(v, "more than %d providers", LEDGER_PROVIDERS_MAX);
		return NULL;
	}
	p = &v->prov[v->nprov++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	chain_init(&p->chain);
	return p;
}

static bool pending_push(struct verifier *v, struct provider_track *p, const struct signal_frame *s)
{
	if (v->npending >= LEDGER_PENDING_MAX)
		return fail(v, "too many signals without a checkpoint");
	if (p->npending == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct pending_signal *arr = reallocarray(p->pending, cap, sizeof(*arr));
		if (!arr)
			return fail(v, "out of memory");
		p->pending = arr;
		p->cap = cap;
	}
	struct pending_signal *ps = &p->pending[p->npending++];
	memcpy(ps->op, s->op, WIRE_DIGEST_LEN);
	memcpy(ps->value, s->value, WIRE_DIGEST_LEN);
	ps->stage = s->stage;
	v->npending++;
	return true;
}

/* Signals that no checkpoint of their epoch will ever cover. */
static void pending_abandon(struct verifier *v, struct provider_track *p)
{
	v->res->uncovered += p->npending;
	v->npending -= p->npending;
	p->npending = 0;
}

/* With a topology, every provider a record names must be one of its own. */
static bool in_topology(const struct verifier *v, const char *name)
{
	if (v->opts->n_providers == 0)
		return true;
	for (size_t i = 0; i < v->opts->n_providers; i++)
		if (strcmp(v->opts->providers[i], name) == 0)
			return true;
	return false;
}

static bool verify_signal(struct verifier *v, json_t *obj)
{
	struct signal_frame s;
	if (!ledger_read_signal(obj, &s))
		return fail(v, "signal: malformed");
	if (!in_topology(v, s.provider))
		return fail_field(v, "provider", "signal of %s: not a provider of the topology", s.provider);
	struct provider_track *p = provider_get(v, s.provider);
	if (!p)
		return false;
	const char *why = "rejected";
	if (!chain_accept_signal(&p->chain, &s, &why))
		return fail_field(v, p->chain.failed_field, "signal of %s: %s (its pseq %" PRIu64 ")", s.provider, why,
				  s.seq);
	v->res->signals++;
	return pending_push(v, p, &s);
}

/* A verified checkpoint covers every pending signal of its epoch up to its
 * seq; one that opens an epoch abandons what the old epoch left pending. */
static bool cover_pending(struct verifier *v, struct provider_track *p, const struct checkpoint_frame *c)
{
	if (c->seq == 0) {
		pending_abandon(v, p);
		return true;
	}
	size_t provider = (size_t)(p - v->prov);
	for (size_t i = 0; i < p->npending; i++)
		if (!op_cover(v, provider, &p->pending[i]))
			return false;
	v->npending -= p->npending;
	p->npending = 0;
	return true;
}

/* An epoch opens once: a replay of a whole signed epoch (its opening
 * checkpoint, signals, checkpoints) would cover the same values again and
 * let an operation be confirmed twice. */
static bool epoch_first_use(struct verifier *v, struct provider_track *p, const uint8_t epoch[WIRE_EPOCH_LEN])
{
	for (size_t i = 0; i < p->nepochs; i++)
		if (memcmp(p->epochs[i], epoch, WIRE_EPOCH_LEN) == 0)
			return fail_field(v, "epoch", "checkpoint of %s: epoch opened a second time (a replayed epoch)",
					  p->name);
	void *grown = realloc(p->epochs, (p->nepochs + 1) * sizeof(*p->epochs));
	if (!grown)
		return fail(v, "out of memory");
	p->epochs = grown;
	memcpy(p->epochs[p->nepochs++], epoch, WIRE_EPOCH_LEN);
	return true;
}

static int confirmed_cmp(const void *a, const void *b)
{
	return memcmp(a, b, CONFIRMED_KEY_LEN);
}

/* Records that op was confirmed; fails if it already was. */
static bool confirm_once(struct verifier *v, const uint8_t op[WIRE_DIGEST_LEN])
{
	uint8_t *key = malloc(CONFIRMED_KEY_LEN);
	if (!key)
		return fail(v, "out of memory");
	memcpy(key, op, CONFIRMED_KEY_LEN);
	uint8_t **at = tsearch(key, &v->confirmed, confirmed_cmp);
	if (!at) {
		free(key);
		return fail(v, "out of memory");
	}
	if (*at != key) {
		free(key);
		return fail_field(v, "op", "confirmed: this op was confirmed before");
	}
	return true;
}

static bool verify_checkpoint(struct verifier *v, json_t *obj)
{
	struct checkpoint_frame c;
	if (!ledger_read_checkpoint(obj, &c))
		return fail(v, "checkpoint: malformed");
	if (!in_topology(v, c.provider))
		return fail_field(v, "provider", "checkpoint of %s: not a provider of the topology", c.provider);
	struct provider_track *p = provider_get(v, c.provider);
	if (!p)
		return false;
	if (!p->have_key && !v->pubkey(v->ctx, c.provider, p->pk))
		return fail_field(v, "provider", "checkpoint of %s: no public key for this provider", c.provider);
	p->have_key = true;
	const char *why = "rejected";
	if (!chain_accept_checkpoint(&p->chain, &c, p->pk, &why)) {
		if (strcmp(p->chain.failed_field, "sig") == 0)
			return fail_field(v, "sig", "checkpoint of %s: signature does not verify with %s's key", c.provider,
					  c.provider);
		return fail_field(v, p->chain.failed_field, "checkpoint of %s: %s", c.provider, why);
	}
	if (c.seq == 0 && !epoch_first_use(v, p, c.epoch))
		return false;
	v->res->checkpoints++;
	return cover_pending(v, p, &c);
}

/* The topology's rule: only its providers, at least confirm_k of them
 * (all of them for confirm = all). */
static bool confirm_rule_holds(struct verifier *v, json_t *names)
{
	const struct ledger_verify_opts *o = v->opts;
	size_t n = json_array_size(names);
	if (o->n_providers == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		const char *name = json_string_value(json_array_get(names, i));
		if (!in_topology(v, name))
			return fail_field(v, "providers", "confirmed: %s is not a provider of the topology", name);
	}
	if (n < o->confirm_k) {
		if (o->confirm_k == o->n_providers)
			return fail_field(v, "providers", "confirmed: names %zu of the %zu providers, but confirm = all", n,
					  o->n_providers);
		return fail_field(v, "providers", "confirmed: names %zu providers, but confirm = %u", n, o->confirm_k);
	}
	return true;
}

static bool verify_confirmed(struct verifier *v, json_t *obj)
{
	uint8_t op[WIRE_DIGEST_LEN], linkage[WIRE_DIGEST_LEN], expect[WIRE_DIGEST_LEN];
	if (!ledger_get_hex(obj, "op", op, sizeof(op)) ||
	    !ledger_get_hex(obj, "linkage", linkage, sizeof(linkage)))
		return false;
	json_t *names = json_object_get(obj, "providers");
	struct op_track *track = op_find(v, op);
	struct linkage_part parts[LEDGER_PROVIDERS_MAX];
	size_t n = json_array_size(names);
	if (!confirm_rule_holds(v, names) || !confirm_once(v, op))
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *name = json_string_value(json_array_get(names, i));
		struct provider_track *p = provider_find(v, name);
		size_t idx = p ? (size_t)(p - v->prov) : 0;
		struct covered_value *start = p && track ? op_value(track, idx, STAGE_START) : NULL;
		struct covered_value *complete = p && track ? op_value(track, idx, STAGE_COMPLETE) : NULL;
		if (!start || !complete)
			return fail_field(v, "providers", "confirmed: provider %s has no covered %s%s%s for this op "
					  "earlier in the ledger", name, start ? "" : "START",
					  !start && !complete ? " and " : "", complete ? "" : "COMPLETE");
		parts[i].provider = p->name;
		memcpy(parts[i].start, start->value, WIRE_DIGEST_LEN);
		memcpy(parts[i].complete, complete->value, WIRE_DIGEST_LEN);
	}
	derive_linkage(op, parts, n, expect);
	if (sodium_memcmp(expect, linkage, sizeof(expect)) != 0)
		return fail_field(v, "linkage", "confirmed: linkage mismatch (it does not recompute from the covered "
				  "signals)");
	op_drop(v, track);
	v->res->confirmed++;
	return true;
}

/* The association forgets an expired operation when it records it
 * incomplete, so the verifier forgets it too: that bounds its memory. */
static bool verify_incomplete(struct verifier *v, json_t *obj)
{
	uint8_t op[WIRE_DIGEST_LEN];
	if (!ledger_get_hex(obj, "op", op, sizeof(op)))
		return false;
	struct op_track *track = op_find(v, op);
	if (track)
		op_drop(v, track);
	v->res->incomplete++;
	return true;
}

static bool verify_rejected(struct verifier *v, json_t *obj)
{
	v->res->rejected++;
	return true;
}

/* A head signs the chain up to the record just before it: covers is that
 * record's seq, head the hash of its line (the prev of the head record
 * itself), and sig the association's signature over both. */
static bool verify_head(struct verifier *v, json_t *obj)
{
	struct ledger_head h;
	uint8_t sig[crypto_sign_BYTES], msg[LEDGER_HEAD_MSG_LEN];
	uint64_t seq = v->seq + 1;
	if (!ledger_get_uint(obj, "covers", &h.seq) ||
	    !ledger_get_hex(obj, "head", h.hash, sizeof(h.hash)) || !ledger_get_hex(obj, "sig", sig, sizeof(sig)))
		return false;
	if (h.seq == 0)
		return fail_field(v, "covers", "head: covers no record");
	if (h.seq != v->seq)
		return fail_field(v, "covers", "head: covers seq %" PRIu64 ", but the record before it is seq %" PRIu64,
				  h.seq, v->seq);
	if (sodium_memcmp(h.hash, v->prev, sizeof(h.hash)) != 0)
		return fail_field(v, "head", "head: does not match the chain up to seq %" PRIu64, v->seq);
	if (!v->opts->association_pk) {
		v->res->heads_unchecked++;
		return true;
	}
	ledger_head_message(&h, msg);
	if (crypto_sign_verify_detached(sig, msg, sizeof(msg), v->opts->association_pk) != 0)
		return fail_field(v, "sig", "head: bad signature (it does not verify with the association's key)");
	v->res->heads++;
	v->res->last_head = h;
	v->res->last_head_record = seq;
	return true;
}

static bool verify_record(struct verifier *v, json_t *obj)
{
	json_t *type = json_object_get(obj, "type");
	if (!json_is_string(type))
		return fail_field(v, "type", "missing or not a string");
	const char *t = json_string_value(type), *bad = "";
	char why[128];
	/* Every field there, well-formed, and no other: each check below
	 * reads them as such. */
	if (!ledger_check_fields(obj, t, &bad, why, sizeof(why)))
		return fail_field(v, bad, "%s", why);
	if (strcmp(t, "signal") == 0)
		return verify_signal(v, obj);
	if (strcmp(t, "checkpoint") == 0)
		return verify_checkpoint(v, obj);
	if (strcmp(t, "confirmed") == 0)
		return verify_confirmed(v, obj);
	if (strcmp(t, "incomplete") == 0)
		return verify_incomplete(v, obj);
	if (strcmp(t, "rejected") == 0)
		return verify_rejected(v, obj);
	if (strcmp(t, "head") == 0)
		return verify_head(v, obj);
	return fail_field(v, "type", "internal error: no check for \"%.32s\" records", t);
}

static bool verify_line(struct verifier *v, const char *line, size_t len)
{
	json_t *obj = ledger_parse_line(line, len, v->res->why, sizeof(v->res->why));
	if (!obj)
		return false;
	uint64_t seq = 0;
	bool has_seq = ledger_get_uint(obj, "seq", &seq);
	bool linked = ledger_check_link(obj, v->seq + 1, v->prev, v->res->why, sizeof(v->res->why));
	if (!linked)
		snprintf(v->res->field, sizeof(v->res->field), "%s", has_seq && seq == v->seq + 1 ? "prev" : "seq");
	bool ok = linked && verify_record(v, obj);
	json_decref(obj);
	if (!ok) {
		v->res->bad_seq = has_seq ? seq : 0;
		return false;
	}
	v->seq++;
	sha256_of(v->prev, line, len);
	v->res->records++;
	for (size_t i = 0; i < v->opts->n_expect; i++) {
		const struct ledger_head *e = &v->opts->expect[i];
		char text[LEDGER_HEAD_TEXT_MAX];
		if (e->seq != v->seq || sodium_memcmp(e->hash, v->prev, WIRE_DIGEST_LEN) == 0)
			continue;
		ledger_head_format(e, text);
		v->res->bad_seq = v->seq;
		return fail(v, "expected head %s: line %" PRIu64 " hashes otherwise (the ledger was rewritten at "
			    "or before it)", text, v->seq);
	}
	return true;
}

/* A head kept elsewhere beyond the end: records were cut off. */
static bool expected_heads_reached(struct verifier *v)
{
	for (size_t i = 0; i < v->opts->n_expect; i++) {
		const struct ledger_head *e = &v->opts->expect[i];
		char text[LEDGER_HEAD_TEXT_MAX];
		if (e->seq <= v->seq)
			continue;
		ledger_head_format(e, text);
		v->res->bad_line = v->seq + 1;
		return fail(v, "expected head %s: the ledger ends at seq %" PRIu64 " (records were cut off)", text,
			    v->seq);
	}
	return true;
}

static bool verify_stream(struct verifier *v, struct line_reader *lr)
{
	const char *line;
	size_t len;
	enum line_status st;
	while ((st = ledger_line_next(lr, &line, &len)) == LINE_OK) {
		if (!verify_line(v, line, len)) {
			v->res->bad_line = lr->lineno;
			return false;
		}
	}
	if (st != LINE_EOF) {
		v->res->bad_line = lr->lineno;
		v->res->bad_seq = 0;
		v->res->unreadable = st == LINE_IO;
		ledger_line_status_why(st, v->res->why, sizeof(v->res->why));
		return false;
	}
	for (size_t i = 0; i < v->nprov; i++)
		pending_abandon(v, &v->prov[i]);
	return expected_heads_reached(v);
}

bool ledger_verify(int fd, ledger_pubkey_fn pubkey, void *ctx, struct ledger_verify_result *res)
{
	const struct ledger_verify_opts opts = { .pubkey = pubkey, .ctx = ctx };
	return ledger_verify_with(fd, &opts, res);
}

bool ledger_verify_with(int fd, const struct ledger_verify_opts *opts, struct ledger_verify_result *res)
{
	memset(res, 0, sizeof(*res));
	struct verifier *v = calloc(1, sizeof(*v));
	struct line_reader *lr = malloc(sizeof(*lr));
	bool ok = false;
	if (!v || !lr || sodium_init() < 0) {
		snprintf(res->why, sizeof(res->why), "cannot start the verifier: out of memory");
		res->bad_line = 0;
		res->unreadable = true;
		goto out;
	}
	v->pubkey = opts->pubkey;
	v->ctx = opts->ctx;
	v->opts = opts;
	v->res = res;
	ledger_line_reader_init(lr, fd);
	ok = verify_stream(v, lr);
	for (size_t i = 0; i < v->nprov; i++) {
		free(v->prov[i].pending);
		free(v->prov[i].epochs);
	}
	tdestroy(v->ops, op_free);
	tdestroy(v->confirmed, free);
out:
	free(lr);
	free(v);
	return ok;
}
