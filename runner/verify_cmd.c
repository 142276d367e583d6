/* SPDX-License-Identifier: Apache-2.0 */
#include "verify_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/keys.h"
#include "../lib/ledger.h"
#include "../lib/log.h"
#include "topology.h"

#define EXPECT_HEADS_MAX 16
#define OVERRIDES_MAX 16

struct key_source {
	const struct topology *t; /* or */
	const char *dir;          /* DIR/NAME.pub */
};

struct verify_args {
	const char *ledger;
	const char *topology;
	const char *keys_dir;
	const char *association_key;
	struct ledger_head expect[EXPECT_HEADS_MAX];
	size_t n_expect;
	char *overrides[OVERRIDES_MAX]; /* --set, as for a run (the ledger's path decides the
					 * association's default key directory) */
	size_t n_overrides;
};

static bool lookup_key(void *ctx, const char *provider, uint8_t pk[32])
{
	const struct key_source *ks = ctx;
	char path[PATH_MAX], err[512];
	const char *file = NULL;

	if (ks->t) {
		for (size_t i = 0; i < ks->t->n_providers; i++)
			if (strcmp(ks->t->providers[i].name, provider) == 0)
				file = ks->t->providers[i].public_key;
	} else if (wire_provider_name_valid(provider)) {
		snprintf(path, sizeof(path), "%s/%s.pub", ks->dir, provider);
		file = path;
	}
	if (!file)
		return false;
	if (keys_load_signal_public(file, pk, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return false;
	}
	return true;
}

static void usage(void)
{
	fprintf(stderr, "usage: mpbs-run verify LEDGER --topology FILE [--set K=V]... | --public-keys DIR\n"
			"                          [--association-key FILE] [--expect-head SEQ:HASH]...\n");
}

static int parse_args(int argc, char **argv, struct verify_args *a)
{
	if (argc < 2)
		return -1;
	a->ledger = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val)
			return -1;
		i++;
		if (strcmp(opt, "--topology") == 0 && !a->topology)
			a->topology = val;
		else if (strcmp(opt, "--public-keys") == 0 && !a->keys_dir)
			a->keys_dir = val;
		else if (strcmp(opt, "--association-key") == 0 && !a->association_key)
			a->association_key = val;
		else if (strcmp(opt, "--set") == 0 && a->n_overrides < OVERRIDES_MAX)
			a->overrides[a->n_overrides++] = (char *)val;
		else if (strcmp(opt, "--expect-head") == 0 && a->n_expect < EXPECT_HEADS_MAX) {
			if (!ledger_head_parse(val, &a->expect[a->n_expect++])) {
				fprintf(stderr, "--expect-head %s: expected SEQ:HASH (SEQ from 1, 64 lowercase hex digits)\n",
					val);
				return -1;
			}
		} else
			return -1;
	}
	if (a->n_overrides && !a->topology)
		return -1;
	return !a->topology == !a->keys_dir ? -1 : 0; /* exactly one of them */
}

/* The association's public key: --association-key, else the topology's
 * (absent there: heads are reported unchecked). Returns 1 if loaded, 0 if
 * there is none, -1 on error. */
static int association_key(const struct verify_args *a, const struct topology *t, uint8_t pk[32])
{
	char err[512];
	const char *file = a->association_key ? a->association_key : t ? t->association_public_key : NULL;
	if (!file)
		return 0;
	if (!a->association_key && access(file, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (keys_load_signal_public(file, pk, err, sizeof(err)) < 0) {
		log_error("association key: %s", err);
		return -1;
	}
	return 1;
}

static void print_heads(const struct ledger_verify_result *res, bool have_key)
{
	char head[LEDGER_HEAD_TEXT_MAX];
	if (!have_key) {
		printf("heads: %" PRIu64 " not checked (no association public key: --association-key FILE)\n",
		       res->heads_unchecked);
		return;
	}
	if (res->last_head.seq == 0) {
		printf("no signed head; unsigned tail: %" PRIu64 " records\n", res->records);
		return;
	}
	ledger_head_format(&res->last_head, head);
	printf("last signed head: %s (%" PRIu64 " heads verified; signed at seq %" PRIu64 "); unsigned tail: %" PRIu64
	       " records\n",
	       head, res->heads, res->last_head_record, res->records - res->last_head_record);
}

static int verify_file(const struct verify_args *a, const struct ledger_verify_opts *opts, bool have_key)
{
	struct ledger_verify_result res;
	int fd = open(a->ledger, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("open %s: %s", a->ledger, strerror(errno));
		return 1;
	}
	bool ok = ledger_verify_with(fd, opts, &res);
	close(fd);
	if (!ok) {
		printf("FAIL: %s:%" PRIu64 ": %s\n", a->ledger, res.bad_line, res.why);
		return 1;
	}
	printf("OK: %" PRIu64 " records, %" PRIu64 " confirmed (%" PRIu64 " signals, %" PRIu64 " checkpoints, %" PRIu64
	       " incomplete, %" PRIu64 " rejected, %" PRIu64 " signals not covered by a checkpoint)\n",
	       res.records, res.confirmed, res.signals, res.checkpoints, res.incomplete, res.rejected, res.uncovered);
	if (opts->n_providers)
		printf("confirm rule: %u of %zu providers (the topology's), every one covered\n", opts->confirm_k,
		       opts->n_providers);
	else
		printf("confirm rule: not checked (no topology)\n");
	for (size_t i = 0; i < a->n_expect; i++) {
		char head[LEDGER_HEAD_TEXT_MAX];
		ledger_head_format(&a->expect[i], head);
		printf("expected head %s: present\n", head);
	}
	print_heads(&res, have_key);
	return 0;
}

int verify_cmd(int argc, char **argv)
{
	struct verify_args a = { 0 };
	struct key_source ks = { 0 };
	struct topology t;
	const char *names[TOPO_PROVIDERS_MAX];
	uint8_t pk[32];
	char err[1024];

	if (parse_args(argc, argv, &a) < 0) {
		usage();
		return 2;
	}
	struct ledger_verify_opts opts = { .pubkey = lookup_key, .ctx = &ks, .n_expect = a.n_expect,
					   .expect = a.expect };
	ks.dir = a.keys_dir;
	if (a.topology) {
		if (topology_load(&t, a.topology, a.overrides, a.n_overrides, err, sizeof(err)) < 0) {
			log_error("%s", err);
			return EX_CONFIG_STATUS;
		}
		ks.t = &t;
		for (size_t i = 0; i < t.n_providers; i++)
			names[i] = t.providers[i].name;
		opts.n_providers = t.n_providers;
		opts.providers = names;
		opts.confirm_k = t.confirm_k ? t.confirm_k : (unsigned)t.n_providers;
	}
	int have_key = association_key(&a, ks.t, pk);
	int rc = 1;
	if (have_key >= 0) {
		opts.association_pk = have_key ? pk : NULL;
		rc = verify_file(&a, &opts, have_key);
	}
	if (a.topology)
		topology_free(&t);
	return rc;
}
