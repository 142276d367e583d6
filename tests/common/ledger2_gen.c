/* SPDX-License-Identifier: Apache-2.0 */
/* Version 2 test ledgers (ledger2_gen.h). */
#define _GNU_SOURCE
#include "ledger2_gen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/chain.h"
#include "../../lib/derive.h"
#include "../../lib/ledger2_files.h"
#include "../../lib/sha256.h"

#define GEN_BATCH_MAX 128

struct gen_provider {
	struct l2_state st;
	struct l2_uncovered unc[2 * GEN_BATCH_MAX];
	unsigned unc_batch[2 * GEN_BATCH_MAX]; /* the batch entry of each uncovered signal */
	size_t n_unc;
	uint8_t first_epoch[WIRE_EPOCH_LEN];
};

struct gen_op {
	uint8_t op[WIRE_DIGEST_LEN];
	uint64_t start_mask, complete_mask;
};

struct gen {
	struct gen_ledger *g;
	struct l2_writer w;
	uint64_t t, next_op;
	struct gen_provider prov[L2_PROVIDERS_MAX];
	struct gen_op batch[GEN_BATCH_MAX];
	unsigned n_batch;
	uint64_t all;
	bool rotated;
	bool have_last_confirmed;
	uint8_t last_confirmed[WIRE_DIGEST_LEN];
	char *err;
	size_t errlen;
};

static int gen_fail(struct gen *s, const char *what)
{
	snprintf(s->err, s->errlen, "%s: %s: %s", s->g->path, what, strerror(errno));
	return -1;
}

void gen_ledger_keys(struct gen_ledger *g)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	if (sodium_init() < 0)
		abort();
	for (size_t p = 0; p <= g->n_providers && p < L2_PROVIDERS_MAX; p++) {
		memset(seed, 0, sizeof(seed));
		memcpy(seed, &g->seed, sizeof(g->seed));
		seed[31] = (uint8_t)p;
		seed[30] = p == g->n_providers ? 0xA5 : 0;
		if (p == g->n_providers) {
			crypto_sign_seed_keypair(g->association_pk, g->association_sk, seed);
			break;
		}
		crypto_sign_seed_keypair(g->provider_pk[p], g->provider_sk[p], seed);
		snprintf(g->names[p], sizeof(g->names[p]), "p%zu", p);
	}
}

bool gen_ledger_pubkey(void *ctx, const char *provider, uint8_t pk[32])
{
	const struct gen_ledger *g = ctx;
	for (size_t p = 0; p < g->n_providers; p++)
		if (strcmp(g->names[p], provider) == 0) {
			memcpy(pk, g->provider_pk[p], 32);
			return true;
		}
	return false;
}

static int open_epoch(struct gen *s, uint8_t p, const uint8_t epoch[WIRE_EPOCH_LEN])
{
	struct gen_provider *gp = &s->prov[p];
	struct checkpoint_frame c = { .seq = 0 };
	snprintf(c.provider, sizeof(c.provider), "%s", s->g->names[p]);
	memcpy(c.epoch, epoch, WIRE_EPOCH_LEN);
	derive_chain_origin(epoch, c.head);
	checkpoint_sign(&c, s->g->provider_sk[p]);
	gp->st.open = true;
	memcpy(gp->st.epoch, epoch, WIRE_EPOCH_LEN);
	memcpy(gp->st.head, c.head, WIRE_DIGEST_LEN);
	gp->st.pseq = gp->st.covered = 0;
	gp->n_unc = 0;
	return l2_checkpoint(&s->w, p, &c, true);
}

static int emit_signal(struct gen *s, uint8_t p, unsigned b, uint8_t stage)
{
	struct gen_provider *gp = &s->prov[p];
	struct signal_frame f = { .stage = stage, .t_ns = ++s->t, .seq = gp->st.pseq + 1 };
	snprintf(f.provider, sizeof(f.provider), "%s", s->g->names[p]);
	memcpy(f.op, s->batch[b].op, WIRE_DIGEST_LEN);
	memcpy(f.value, f.op, WIRE_DIGEST_LEN);
	f.value[0] ^= (uint8_t)(p + 1);
	f.value[1] ^= stage;
	chain_extend(gp->st.head, &f);
	gp->st.pseq++;
	memcpy(gp->unc[gp->n_unc].op, f.op, WIRE_DIGEST_LEN);
	gp->unc[gp->n_unc].stage = stage;
	gp->unc_batch[gp->n_unc++] = b;
	return l2_signal(&s->w, p, &f);
}

static int cover(struct gen *s, uint8_t p)
{
	struct gen_provider *gp = &s->prov[p];
	struct checkpoint_frame c = { .seq = gp->st.pseq };
	snprintf(c.provider, sizeof(c.provider), "%s", s->g->names[p]);
	memcpy(c.epoch, gp->st.epoch, WIRE_EPOCH_LEN);
	memcpy(c.head, gp->st.head, WIRE_DIGEST_LEN);
	checkpoint_sign(&c, s->g->provider_sk[p]);
	for (size_t i = 0; i < gp->n_unc; i++) {
		struct gen_op *op = &s->batch[gp->unc_batch[i]];
		if (gp->unc[i].stage == STAGE_START)
			op->start_mask |= UINT64_C(1) << p;
		else
			op->complete_mask |= UINT64_C(1) << p;
	}
	gp->n_unc = 0;
	gp->st.covered = gp->st.pseq;
	return l2_checkpoint(&s->w, p, &c, false);
}

static bool partly_covered(const struct gen *s)
{
	for (unsigned i = 0; i < s->n_batch; i++)
		if ((s->batch[i].start_mask | s->batch[i].complete_mask) &&
		    (s->batch[i].start_mask & s->batch[i].complete_mask) != s->all)
			return true;
	return false;
}

static int open_segment(struct gen *s, uint32_t number, uint64_t first_record, const uint8_t prev[WIRE_DIGEST_LEN])
{
	struct gen_ledger *g = s->g;
	int fd = open(g->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return gen_fail(s, "cannot create");
	const char *names[L2_PROVIDERS_MAX];
	struct l2_state states[L2_PROVIDERS_MAX];
	struct l2_carried carried[GEN_BATCH_MAX + 1];
	size_t n_carried = 0;
	for (size_t p = 0; p < g->n_providers; p++) {
		names[p] = g->names[p];
		states[p] = s->prov[p].st;
		states[p].uncovered = s->prov[p].unc;
	}
	for (unsigned i = 0; i < s->n_batch; i++) {
		const struct gen_op *op = &s->batch[i];
		if (!(op->start_mask | op->complete_mask))
			continue;
		struct l2_carried *c = &carried[n_carried++];
		memcpy(c->op, op->op, WIRE_DIGEST_LEN);
		c->confirmed = false;
		c->start_mask = op->start_mask;
		c->complete_mask = op->complete_mask;
		if (g->fault == GEN_CARRIED_MASK && number == 2 && (c->start_mask & c->complete_mask) != s->all)
			c->start_mask = c->complete_mask = s->all;
	}
	if (g->fault == GEN_RECONFIRM && number == 2) {
		struct l2_carried *c = &carried[n_carried++];
		memcpy(c->op, s->last_confirmed, WIRE_DIGEST_LEN);
		c->confirmed = false;
		c->start_mask = c->complete_mask = s->all;
	}
	struct l2_segment_start start = { .segment = number, .first_record = first_record, .n_providers = g->n_providers,
					  .names = names, .states = states, .n_carried = n_carried, .carried = carried };
	memcpy(start.prev, prev, WIRE_DIGEST_LEN);
	if (l2_begin_segment(&s->w, fd, &start) < 0)
		return gen_fail(s, "cannot begin a segment");
	g->segments++;
	return 0;
}

static int rotate(struct gen *s)
{
	struct gen_ledger *g = s->g;
	uint64_t covers;
	uint8_t chain[WIRE_DIGEST_LEN], epoch[WIRE_EPOCH_LEN];
	char sealed[4096];
	if (g->fault == GEN_REOPEN_EPOCH && !s->rotated) {
		memset(epoch, 0xE2, sizeof(epoch));
		if (open_epoch(s, 0, epoch) < 0)
			return gen_fail(s, "cannot open an epoch");
	}
	bool seal = !(g->fault == GEN_NO_SEAL && !s->rotated);
	if (l2_head(&s->w, g->association_sk, seal, ++s->t, &covers, chain) < 0 || l2_flush(&s->w, s->t) < 0)
		return gen_fail(s, "cannot seal");
	g->last_head.seq = covers;
	memcpy(g->last_head.hash, chain, WIRE_DIGEST_LEN);
	close(s->w.fd);
	if (l2_sealed_name(g->path, s->w.segment, sealed, sizeof(sealed)) < 0 || rename(g->path, sealed) < 0)
		return gen_fail(s, "cannot rename");
	if (open_segment(s, s->w.segment + 1, s->w.records + 1, s->w.chain) < 0)
		return -1;
	if (g->fault == GEN_REOPEN_EPOCH && !s->rotated && open_epoch(s, 0, s->prov[0].first_epoch) < 0)
		return gen_fail(s, "cannot open an epoch");
	if (g->fault == GEN_RECONFIRM && !s->rotated && l2_closed(&s->w, L2_CONFIRMED, s->last_confirmed, s->all) < 0)
		return gen_fail(s, "cannot confirm");
	s->rotated = true;
	return 0;
}

static int maybe_rotate(struct gen *s, unsigned phase)
{
	struct gen_ledger *g = s->g;
	unsigned phases = g->rotate_phases ? g->rotate_phases : GEN_AT_CONFIRMED;
	if (!g->segment_size || !(phases & phase) || s->w.seg_bytes + s->w.len < g->segment_size)
		return 0;
	if (!s->rotated && g->fault == GEN_CARRIED_MASK && !partly_covered(s))
		return 0;
	if (!s->rotated && (g->fault == GEN_RECONFIRM || g->fault == GEN_REOPEN_EPOCH) &&
	    (phase != GEN_AT_CONFIRMED || !s->have_last_confirmed))
		return 0;
	return rotate(s);
}

static int write_head(struct gen *s)
{
	uint64_t covers;
	uint8_t chain[WIRE_DIGEST_LEN];
	if (l2_head(&s->w, s->g->association_sk, false, ++s->t, &covers, chain) < 0)
		return gen_fail(s, "cannot sign a head");
	s->g->last_head.seq = covers;
	memcpy(s->g->last_head.hash, chain, WIRE_DIGEST_LEN);
	return 0;
}

static int batch(struct gen *s, unsigned n)
{
	struct gen_ledger *g = s->g;
	for (unsigned i = 0; i < n; i++) {
		uint8_t in[16];
		memcpy(in, &g->seed, 8);
		memcpy(in + 8, &s->next_op, 8);
		s->next_op++;
		sha256_of(s->batch[i].op, in, sizeof(in));
		s->batch[i].start_mask = s->batch[i].complete_mask = 0;
	}
	s->n_batch = n;
	for (uint8_t p = 0; p < g->n_providers; p++) {
		for (unsigned i = 0; i < n; i++)
			if (emit_signal(s, p, i, STAGE_START) < 0 || emit_signal(s, p, i, STAGE_COMPLETE) < 0)
				return gen_fail(s, "cannot encode a signal");
		if (maybe_rotate(s, GEN_AT_SIGNALS) < 0)
			return -1;
		if (cover(s, p) < 0)
			return gen_fail(s, "cannot encode a checkpoint");
		if (maybe_rotate(s, GEN_AT_CHECKPOINT) < 0)
			return -1;
	}
	for (unsigned i = 0; i < n; i++)
		if (l2_closed(&s->w, L2_CONFIRMED, s->batch[i].op, s->all) < 0)
			return gen_fail(s, "cannot encode a confirmation");
	memcpy(s->last_confirmed, s->batch[n - 1].op, WIRE_DIGEST_LEN);
	s->have_last_confirmed = true;
	s->n_batch = 0;
	g->confirmed += n;
	/* a group commit; signed, as the association signs, once enough records
	 * went unsigned (and always when a small test ledger wants heads) */
	if (s->w.records - g->last_head.seq >= g->head_every && write_head(s) < 0)
		return -1;
	if (l2_flush(&s->w, ++s->t) < 0)
		return gen_fail(s, "cannot write");
	return maybe_rotate(s, GEN_AT_CONFIRMED);
}

int gen_ledger_write(struct gen_ledger *g, char *err, size_t errlen)
{
	struct gen *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	unsigned per_batch = g->batch ? g->batch : 64;
	if (per_batch > GEN_BATCH_MAX)
		per_batch = GEN_BATCH_MAX;
	s->g = g;
	s->err = err;
	s->errlen = errlen;
	s->t = 1700000000000000000ull;
	s->all = g->n_providers == 64 ? UINT64_MAX : (UINT64_C(1) << g->n_providers) - 1;
	g->segments = 0;
	g->confirmed = 0;
	g->last_head.seq = 0;
	uint8_t zero[WIRE_DIGEST_LEN] = { 0 };
	int rc = -1;
	if (l2_writer_init(&s->w, -1) < 0) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return -1;
	}
	if (open_segment(s, 1, 1, zero) < 0)
		goto out;
	for (uint8_t p = 0; p < g->n_providers; p++) {
		memset(s->prov[p].first_epoch, 0, WIRE_EPOCH_LEN);
		memcpy(s->prov[p].first_epoch, &g->seed, sizeof(g->seed));
		s->prov[p].first_epoch[15] = p;
		if (open_epoch(s, p, s->prov[p].first_epoch) < 0) {
			gen_fail(s, "cannot open an epoch");
			goto out;
		}
	}
	for (uint64_t done = 0; done < g->ops; done += per_batch) {
		unsigned n = g->ops - done < per_batch ? (unsigned)(g->ops - done) : per_batch;
		if (batch(s, n) < 0)
			goto out;
	}
	if ((s->w.records > g->last_head.seq + 1 && write_head(s) < 0) || l2_flush(&s->w, ++s->t) < 0) {
		gen_fail(s, "cannot write");
		goto out;
	}
	g->records = s->w.records;
	rc = 0;
out:
	if (s->w.fd >= 0)
		close(s->w.fd);
	l2_writer_free(&s->w);
	free(s);
	return rc;
}
