/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run keys init`: every provider's signal pair (and token key, where
 * its policy names one) and the association's head-signing pair, written
 * where the topology says, owned by the uid each role runs as, with the
 * modes the run expects. Existing keys are left alone and reported. Nothing
 * is written unless the whole topology checks first. */
#define _GNU_SOURCE
#include "keys_cmd.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/keys.h"
#include "../lib/log.h"
#include "../roles/provider/policy.h"
#include "cli.h"
#include "key_files.h"
#include "topology.h"

#define KEYS_SUB "keys"
#define KEY_SETS_MAX (TOPO_PROVIDERS_MAX + 1)

struct keys_job {
	struct topology t;
	size_t n;
	struct key_set sets[KEY_SETS_MAX];
	char who[KEY_SETS_MAX][64];
	char token_name[KEY_SETS_MAX][NAME_MAX + 1];
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mpbs-run keys init [--set SECTION.KEY=VALUE]... TOPOLOGY\n"
		"Writes the keys TOPOLOGY's roles lack: each provider's signal pair (signal.key 0600,\n"
		"signal.pub 0644) in its `keys` directory (0755), its token key (0600) where its policy\n"
		"names one (token_key), and the association's head-signing pair. Each is owned by the\n"
		"uid its role runs as (root: the role's host uid from uid_base; a user: that user).\n"
		"Existing keys are kept and reported; nothing is written unless the topology checks.\n"
		"exit status: 0 every key in place; 1 a key could not be written, or an existing one\n"
		"would be refused by the run; 2 a bad command line; 78 a bad topology\n");
}

/* The policy's token_key, if it names one: what `keys init` needs of a
 * provider's policy, read by the provider's own parser in the host's view
 * (nothing secret opened) and freed at once; a policy that would not load
 * writes nothing. */
static int policy_token_name(const struct topo_provider *tp, char name[NAME_MAX + 1], char *err, size_t errlen)
{
	struct provider_policy pol;
	const struct policy_read how = { .keys_dir = tp->keys, .host_view = true };
	name[0] = '\0';
	if (provider_policy_read(&pol, tp->policy, &how, err, errlen) < 0)
		return -1;
	if (pol.token_key_path)
		snprintf(name, NAME_MAX + 1, "%s", basename(pol.token_key_path));
	provider_policy_free(&pol);
	return 0;
}

/* Every role's key set, checked before anything is written. */
static int plan_keys(struct keys_job *j, char *err, size_t errlen)
{
	const struct topology *t = &j->t;
	for (size_t i = 0; i < t->n_providers; i++) {
		const struct topo_provider *tp = &t->providers[i];
		struct key_set *s = &j->sets[j->n];
		snprintf(j->who[j->n], sizeof(j->who[0]), "provider %s", tp->name);
		if (policy_token_name(tp, j->token_name[j->n], err, errlen) < 0)
			return -1;
		*s = (struct key_set){ .who = j->who[j->n], .dir = tp->keys, .owner = key_owner_uid(t, ROLE_PROVIDER, i),
				       .token_name = j->token_name[j->n][0] ? j->token_name[j->n] : NULL };
		j->n++;
	}
	j->sets[j->n++] = (struct key_set){ .who = "association", .dir = t->association_keys,
					    .owner = key_owner_uid(t, ROLE_ASSOCIATION, 0) };
	for (size_t k = 0; k < j->n; k++)
		if (key_set_check_missing(&j->sets[k], err, errlen) < 0)
			return -1;
	return 0;
}

/* One line per key: written or kept; a kept secret the run would refuse
 * is an error naming the fix, a directory others cannot read a note. */
static int report(const struct key_set *s, const struct key_set_report *r)
{
	char secret[PATH_MAX + 16], token[PATH_MAX + NAME_MAX + 2], err[PATH_MAX * 3];
	int rc = 0;
	snprintf(secret, sizeof(secret), "%s/%s", s->dir, KEYS_SECRET_NAME);
	printf("%s: %s %s/{%s,%s} (owner %u)\n", s->who, r->wrote_pair ? "wrote" : "kept", s->dir, KEYS_SECRET_NAME,
	       KEYS_PUBLIC_NAME, (unsigned)s->owner);
	if (key_check_secret(secret, s->owner, s->who, err, sizeof(err)) < 0) {
		log_error("%s", err);
		rc = 1;
	}
	if (s->token_name) {
		snprintf(token, sizeof(token), "%s/%s", s->dir, s->token_name);
		printf("%s: %s %s (token key, owner %u)\n", s->who, r->wrote_token ? "wrote" : "kept", token,
		       (unsigned)s->owner);
		if (key_check_secret(token, s->owner, s->who, err, sizeof(err)) < 0) {
			log_error("%s", err);
			rc = 1;
		}
	}
	struct stat st;
	if (stat(s->dir, &st) == 0 && (st.st_mode & (S_IROTH | S_IXOTH)) != (S_IROTH | S_IXOTH))
		log_warn("%s: %s has mode %04o: other users cannot read its public key to verify a ledger "
			 "(chmod 0755 %s; the secret's own mode protects it)", s->who, s->dir,
			 (unsigned)(st.st_mode & 07777), s->dir);
	return rc;
}

static int keys_init(const char *path, char *const *overrides, size_t n_overrides)
{
	static struct keys_job j; /* a topology is large: not on the stack */
	char err[1024];
	memset(&j, 0, sizeof(j));
	if (topology_load_with(&j.t, path, overrides, n_overrides, TOPO_LOAD_KEYS_UNCHECKED, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EX_CONFIG_STATUS;
	}
	int rc = 0;
	if (plan_keys(&j, err, sizeof(err)) < 0) {
		log_error("keys init: %s (nothing written)", err);
		rc = 1;
	}
	for (size_t k = 0; rc == 0 && k < j.n; k++) {
		struct key_set_report r;
		if (key_set_write_missing(&j.sets[k], &r, err, sizeof(err)) < 0) {
			log_error("keys init: %s", err);
			rc = 1;
		}
		if (rc == 0)
			rc = report(&j.sets[k], &r);
	}
	topology_free(&j.t);
	return rc;
}

int keys_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "set", required_argument, NULL, 's' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	char *overrides[CLI_OVERRIDES_MAX];
	size_t n_overrides = 0;
	struct cli_line line = { 0 };
	int c;
	while ((c = cli_next_option(&line, argc, argv, "", opts)) != -1) {
		if (c == 's' && n_overrides < CLI_OVERRIDES_MAX)
			overrides[n_overrides++] = optarg;
		else if (c == 's')
			cli_refuse(&line, "more than %d --set", CLI_OVERRIDES_MAX);
	}
	if (line.help) {
		usage(stdout);
		cli_common_usage(stdout);
		return 0;
	}
	if (line.refusal[0])
		return cli_usage_error(KEYS_SUB, "%s", line.refusal);
	if (optind >= argc || strcmp(argv[optind], "init") != 0)
		return cli_usage_error(KEYS_SUB, optind >= argc ? "expected a subcommand: init" : "unknown subcommand '%s' "
				       "(expected init)", argv[optind]);
	if (argc - optind != 2)
		return cli_usage_error(KEYS_SUB, argc - optind < 2 ? "init: expected a TOPOLOGY" :
				       "init: expected one TOPOLOGY, got '%s' too", argv[optind + 2]);
	return keys_init(argv[optind + 1], overrides, n_overrides);
}
