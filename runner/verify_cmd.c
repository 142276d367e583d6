/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "verify_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/keys.h"
#include "../lib/ledger.h"
#include "../lib/log.h"
#include "../lib/ledger2.h"
#include "cli.h"
#include "topology.h"
#include "verify_v2.h"

#define EXPECT_HEADS_MAX 16
#define JOBS_ARG_MAX 64
#define OVERRIDES_MAX 16
#define VERIFY_SUB "verify"
/* Exit statuses (the usage text and docs/VERIFY.md say them too). */
#define VERIFY_TAMPERED 1
#define VERIFY_CANNOT_READ 2

struct key_source {
	const struct topology *t; /* or */
	const char *dir;          /* DIR/NAME/signal.pub (as keys init and keygen write), or DIR/NAME.pub */
	char error[PATH_MAX + 512]; /* a public key that could not be read: verify cannot tell */
};

struct verify_args {
	const char *ledger;
	char **files;             /* the operands: one LEDGER, or segment files */
	size_t n_files;
	unsigned jobs;            /* --jobs (0: one per CPU) */
	int progress;             /* --progress 1, --no-progress 0, else -1 */
	bool json;
	const char *topology;
	const char *keys_dir;
	const char *association_key;
	struct ledger_head expect[EXPECT_HEADS_MAX];
	size_t n_expect;
	char *overrides[OVERRIDES_MAX]; /* --set, as for a run (the ledger's path decides the
					 * association's default key directory) */
	size_t n_overrides;
};

/* A public key that exists and can be read; else -1 with why "FILE: reason". */
static int load_public(const char *file, uint8_t pk[32], char *why, size_t whylen)
{
	char err[PATH_MAX + 256];
	if (access(file, R_OK) < 0) {
		snprintf(why, whylen, "%s: %s", file, strerror(errno));
		return -1;
	}
	if (keys_load_signal_public(file, pk, err, sizeof(err)) < 0) {
		snprintf(why, whylen, "%s", err);
		return -1;
	}
	return 0;
}

/* DIR/NAME/signal.pub, or DIR/NAME.pub when only that one is there. */
static void dir_key_path(const char *dir, const char *provider, char *path, size_t len)
{
	struct stat st;
	snprintf(path, len, "%s/%s/%s", dir, provider, KEYS_PUBLIC_NAME);
	if (lstat(path, &st) == 0 || errno != ENOENT)
		return;
	char flat[PATH_MAX];
	snprintf(flat, sizeof(flat), "%s/%s.pub", dir, provider);
	if (lstat(flat, &st) == 0)
		snprintf(path, len, "%s", flat);
}

/* A key that cannot be read is no finding about the ledger: it is kept in
 * ks->error, and verify ends with "cannot read" (exit 2), never "FAIL". */
static bool lookup_key(void *ctx, const char *provider, uint8_t pk[32])
{
	struct key_source *ks = ctx;
	char path[PATH_MAX], why[PATH_MAX + 256];
	const char *file = NULL;

	if (ks->t) {
		for (size_t i = 0; i < ks->t->n_providers; i++)
			if (strcmp(ks->t->providers[i].name, provider) == 0)
				file = ks->t->providers[i].public_key;
	} else if (wire_provider_name_valid(provider)) {
		dir_key_path(ks->dir, provider, path, sizeof(path));
		file = path;
	}
	/* --public-keys DIR lists the providers as the topology does: a name
	 * with no key in DIR at all (neither layout) is a provider the ledger
	 * must not name, a finding like an unknown one in the topology */
	struct stat st;
	if (!file || (!ks->t && lstat(file, &st) < 0 && errno == ENOENT))
		return false;
	if (load_public(file, pk, why, sizeof(why)) < 0) {
		snprintf(ks->error, sizeof(ks->error), "cannot read the public key of provider %s: %s", provider, why);
		return false;
	}
	return true;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mpbs-run verify LEDGER|SEGMENT... (--topology FILE [--set K=V]... | --public-keys DIR)\n"
		"                       [--association-key FILE] [--expect-head SEQ:HASH]... [--jobs N]\n"
		"                       [--progress|--no-progress] [--json]\n"
		"Checks a ledger offline with public keys only (docs/VERIFY.md). A version 2 LEDGER is\n"
		"read with its sealed segments LEDGER.NNNNNN; segment files may be listed instead.\n"
		"  --topology FILE          the providers, their public keys and the confirm rule of FILE\n"
		"  --set SECTION.KEY=VALUE  override a value of FILE, as for a run\n"
		"  --public-keys DIR        each provider's public key as DIR/NAME/signal.pub (what\n"
		"                           `keys init` and `keygen DIR/NAME` write) or DIR/NAME.pub\n"
		"  --association-key FILE   the association's public key, to check its signed heads\n"
		"  --expect-head SEQ:HASH   a head kept elsewhere that the ledger must still hold\n"
		"                           (version 2: COVERS:CHAIN, as the association logs it)\n"
		"  --jobs N                 segments checked in parallel (default: one per CPU)\n"
		"  --progress, --no-progress  a progress bar on stderr (default: on a terminal, for a\n"
		"                           run longer than a second)\n"
		"  --json                   the result as one JSON object (version 2)\n"
		"exit status: 0 the ledger holds; 1 it does not (the failing line, seq, field and\n"
		"reason are printed); 2 something could not be read (the ledger, a public key) or a\n"
		"bad command line; 78 a bad topology\n");
}

/* Every option is read before any is acted on, so --help anywhere wins;
 * the first problem is kept in the line's refusal. */
static void parse_options(int argc, char **argv, struct verify_args *a, struct cli_line *line)
{
	static const struct option opts[] = {
		{ "topology", required_argument, NULL, 't' },
		{ "public-keys", required_argument, NULL, 'k' },
		{ "association-key", required_argument, NULL, 'a' },
		{ "set", required_argument, NULL, 's' },
		{ "expect-head", required_argument, NULL, 'e' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "progress", no_argument, NULL, 'P' },
		{ "no-progress", no_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'J' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char **once[] = { ['t'] = &a->topology, ['k'] = &a->keys_dir, ['a'] = &a->association_key };
	int c;
	while ((c = cli_next_option(line, argc, argv, "", opts)) != -1) {
		const char *name = cli_option_name(opts, c);
		char *end;
		if (c == 'j') {
			unsigned long n = strtoul(optarg, &end, 10);
			if (*end || end == optarg || optarg[0] == '-' || n < 1 || n > JOBS_ARG_MAX)
				cli_refuse(line, "--jobs %.40s: expected a number from 1 to %d", optarg, JOBS_ARG_MAX);
			else
				a->jobs = (unsigned)n;
		} else if (c == 'P' || c == 'N') {
			a->progress = c == 'P';
		} else if (c == 'J') {
			a->json = true;
		} else if ((c == 't' || c == 'k' || c == 'a') && *once[c]) {
			cli_refuse(line, "--%s given twice", name);
		} else if (c == 't' || c == 'k' || c == 'a') {
			*once[c] = optarg;
		} else if (c == 's' && a->n_overrides < OVERRIDES_MAX) {
			a->overrides[a->n_overrides++] = optarg;
		} else if (c == 'e' && a->n_expect < EXPECT_HEADS_MAX) {
			if (!ledger_head_parse(optarg, &a->expect[a->n_expect++]))
				cli_refuse(line, "--expect-head %.80s: expected SEQ:HASH (SEQ from 1, 64 lowercase "
					   "hex digits)", optarg);
		} else {
			cli_refuse(line, "--%s: at most %d", name, c == 's' ? OVERRIDES_MAX : EXPECT_HEADS_MAX);
		}
	}
}

/* Returns 0, or the exit status: 0 after --help, EX_USAGE_STATUS. */
static int parse_args(int argc, char **argv, struct verify_args *a, bool *done)
{
	struct cli_line line = { 0 };
	*done = true;
	parse_options(argc, argv, a, &line);
	if (line.help) {
		usage(stdout);
		cli_common_usage(stdout);
		return 0;
	}
	if (line.refusal[0])
		return cli_usage_error(VERIFY_SUB, "%s", line.refusal);
	if (optind >= argc)
		return cli_usage_error(VERIFY_SUB, "expected a LEDGER");
	if (!a->topology == !a->keys_dir)
		return cli_usage_error(VERIFY_SUB, "expected exactly one of --topology FILE and --public-keys DIR");
	if (a->n_overrides && !a->topology)
		return cli_usage_error(VERIFY_SUB, "--set applies to --topology only");
	a->ledger = argv[optind];
	a->files = argv + optind;
	a->n_files = (size_t)(argc - optind);
	*done = false;
	return 0;
}

/* The association's public key: --association-key, else the topology's
 * (absent there: heads are reported unchecked). Returns 1 if loaded, 0 if
 * there is none, -1 when it cannot be read (logged). */
static int association_key(const struct verify_args *a, const struct topology *t, uint8_t pk[32])
{
	char why[PATH_MAX + 256];
	const char *file = a->association_key ? a->association_key : t ? t->association_public_key : NULL;
	if (!file)
		return 0;
	if (!a->association_key && access(file, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (load_public(file, pk, why, sizeof(why)) < 0) {
		log_error("cannot read the association's public key: %s", why);
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

/* FAIL: LEDGER: line N (seq S): field "F": why */
static void print_failure(const char *ledger, const struct ledger_verify_result *res)
{
	printf("FAIL: %s: line %" PRIu64, ledger, res->bad_line);
	if (res->bad_seq)
		printf(" (seq %" PRIu64 ")", res->bad_seq);
	if (res->field[0])
		printf(": field \"%s\"", res->field);
	printf(": %s\n", res->why);
}

static int verify_file(const struct verify_args *a, const struct ledger_verify_opts *opts, bool have_key,
		       const struct key_source *ks)
{
	struct ledger_verify_result res;
	int fd = open(a->ledger, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("cannot read the ledger: %s: %s", a->ledger, strerror(errno));
		return VERIFY_CANNOT_READ;
	}
	bool ok = ledger_verify_with(fd, opts, &res);
	close(fd);
	if (!ok && ks->error[0]) {
		log_error("%s (at line %" PRIu64 " of %s): nothing can be said about the ledger", ks->error,
			  res.bad_line, a->ledger);
		return VERIFY_CANNOT_READ;
	}
	if (!ok && res.unreadable) {
		log_error("cannot read the ledger: %s: line %" PRIu64 ": %s", a->ledger, res.bad_line, res.why);
		return VERIFY_CANNOT_READ;
	}
	if (!ok) {
		print_failure(a->ledger, &res);
		return VERIFY_TAMPERED;
	}
	printf("OK: %" PRIu64 " records, %" PRIu64 " confirmed (%" PRIu64 " signals, %" PRIu64 " checkpoints, %" PRIu64
	       " incomplete, %" PRIu64 " rejected, %" PRIu64 " signals not covered by a checkpoint)\n",
	       res.records, res.confirmed, res.signals, res.checkpoints, res.incomplete, res.rejected, res.uncovered);
	verify_print_rule(opts->n_providers, opts->confirm_k, a->expect, a->n_expect);
	print_heads(&res, have_key);
	return 0;
}

/* Keys are looked up by the segment workers at once. */
static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

static bool lookup_key_locked(void *ctx, const char *provider, uint8_t pk[32])
{
	pthread_mutex_lock(&key_lock);
	bool found = lookup_key(ctx, provider, pk);
	pthread_mutex_unlock(&key_lock);
	return found;
}

/* Whether the file at path is a version 1 ledger (it begins with '{').
 * Returns 1, 0, or -1 when it cannot be read (logged). */
static int is_version_1(const char *path)
{
	char first = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, &first, 1);
	if (n < 0) {
		log_error("cannot read the ledger: %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return n == 1 && first == '{';
}

/* A version 2 ledger: the topology's providers, checkpoint_every and rule
 * as in opts, its segments in parallel. */
static int verify_segments(const struct verify_args *a, const struct ledger_verify_opts *v1, const struct topology *t,
			   bool have_key, const struct key_source *ks)
{
	uint32_t every[TOPO_PROVIDERS_MAX];
	struct l2v_opts opts = { .n_providers = v1->n_providers, .providers = v1->providers,
				 .checkpoint_every = t ? every : NULL, .confirm_k = v1->confirm_k,
				 .pubkey = lookup_key_locked, .ctx = v1->ctx, .association_pk = v1->association_pk,
				 .n_expect = v1->n_expect, .expect = v1->expect };
	for (size_t i = 0; t && i < t->n_providers; i++)
		every[i] = t->providers[i].checkpoint_every;
	struct verify_v2_args v2 = { .files = a->files, .n_files = a->n_files, .jobs = a->jobs,
				     .progress = a->progress, .json = a->json, .opts = &opts, .have_key = have_key,
				     .key_error = ks->error, .find_siblings = a->n_files == 1 };
	return verify_v2(&v2);
}

/* Version 1 (one JSON Lines file) or 2 (segments), by the first file's bytes. */
static int verify_ledger(const struct verify_args *a, const struct ledger_verify_opts *opts, const struct topology *t,
			 bool have_key, const struct key_source *ks)
{
	for (size_t i = 0; i < a->n_files; i++) {
		int v1 = is_version_1(a->files[i]);
		if (v1 < 0)
			return VERIFY_CANNOT_READ;
		if (v1 && a->n_files > 1)
			return cli_usage_error(VERIFY_SUB, "%s is a version 1 ledger: verify it alone", a->files[i]);
		if (v1 && a->json)
			return cli_usage_error(VERIFY_SUB, "--json: %s is a version 1 ledger, reported as text only",
					       a->files[i]);
		if (v1)
			return verify_file(a, opts, have_key, ks);
	}
	return verify_segments(a, opts, t, have_key, ks);
}

int verify_cmd(int argc, char **argv)
{
	struct verify_args a = { .progress = -1 };
	static struct key_source ks;
	struct topology t;
	const char *names[TOPO_PROVIDERS_MAX];
	uint8_t pk[32];
	char err[1024];
	bool done;

	int rc = parse_args(argc, argv, &a, &done);
	if (done)
		return rc;
	memset(&ks, 0, sizeof(ks));
	struct ledger_verify_opts opts = { .pubkey = lookup_key, .ctx = &ks, .n_expect = a.n_expect,
					   .expect = a.expect };
	ks.dir = a.keys_dir;
	/* a DIR that is not there would make every provider an unknown one */
	if (a.keys_dir && access(a.keys_dir, R_OK | X_OK) < 0) {
		log_error("cannot read the public keys: %s: %s", a.keys_dir, strerror(errno));
		return VERIFY_CANNOT_READ;
	}
	if (a.topology) {
		/* cannot read it: exit 2, like a ledger or key it cannot read; what
		 * it names is not looked at (TOPO_LOAD_FILES_UNCHECKED) */
		if (access(a.topology, R_OK) < 0) {
			log_error("cannot read the topology: %s: %s", a.topology, strerror(errno));
			return VERIFY_CANNOT_READ;
		}
		if (topology_load_with(&t, a.topology, a.overrides, a.n_overrides,
				       TOPO_LOAD_KEYS_UNCHECKED | TOPO_LOAD_FILES_UNCHECKED, err, sizeof(err)) < 0) {
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
	rc = VERIFY_CANNOT_READ;
	if (have_key >= 0) {
		opts.association_pk = have_key ? pk : NULL;
		rc = verify_ledger(&a, &opts, a.topology ? &t : NULL, have_key, &ks);
	}
	if (a.topology)
		topology_free(&t);
	return rc;
}
