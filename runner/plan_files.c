/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* What the supervisor checks and makes before any role starts, of the files
 * a role will read in its sandbox: its policy and key directory readable by
 * its host uid (stat only: the supervisor never opens a provider's secrets
 * or policy), secret keys owned by it with no group or other bit, and demo
 * keys generated on first use (both through runner/key_files.h, which
 * `mpbs-run keys init` uses too). */
#include "plan.h"
#include "host_part.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/keys.h"
#include "../lib/log.h"
#include "key_files.h"
#include "rootless.h"

/* With demo_keys, a token key is made beside the signal key, so a policy
 * with `token_key = token.key` works on a fresh checkout too. */
#define DEMO_TOKEN_KEY_NAME "token.key"
/* DAC as the provider's host uid will see it; stat only, never open: the
 * supervisor does not read a provider's secrets or policy. */
static bool readable_by(const struct stat *st, uid_t uid, gid_t gid, mode_t need_dir_x)
{
	mode_t m = st->st_mode;
	mode_t want = S_IROTH | need_dir_x;
	if (st->st_uid == uid)
		return (m & (want << 6)) == (want << 6);
	if (st->st_gid == gid)
		return (m & (want << 3)) == (want << 3);
	return (m & want) == want;
}

static int check_readable(const char *path, bool dir, uid_t uid, gid_t gid, const char *who, char *err,
			  size_t errlen)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s: %s", who, path, strerror(errno));
		return -1;
	}
	if (!readable_by(&st, uid, gid, dir ? S_IXOTH : 0)) {
		snprintf(err, errlen, "%s: %s is not readable by its host uid %u (chown it to %u, or give it mode %s)",
			 who, path, (unsigned)uid, (unsigned)uid, dir ? "0750 with its group" : "0640 with its group");
		return -1;
	}
	return 0;
}

/* Demo keys are generated on first use and owned by the uid the provider
 * runs as, so a fresh checkout runs with no manual key step; what exists is
 * given that owner too (they are the run's own). */
static int demo_keys(const struct topo_provider *tp, uid_t uid, char *err, size_t errlen)
{
	char who[64];
	snprintf(who, sizeof(who), "provider %s, demo keys", tp->name);
	const struct key_set set = { .who = who, .dir = tp->keys, .token_name = DEMO_TOKEN_KEY_NAME, .owner = uid,
				     .chown_existing = true };
	struct key_set_report r;
	if (key_set_write_missing(&set, &r, err, errlen) < 0)
		return -1;
	if (r.wrote_pair)
		log_info("provider %s: generated demo keys (signal pair, token key) in %s", tp->name, tp->keys);
	return 0;
}

/* What the other roles are told of provider i wherever it runs: its
 * name, public key and checkpoint rule (the association), what its
 * artifacts carry (the intermediary). A provider of another host part has
 * only these here. */
int plan_provider_seen(struct run_plan *p, size_t i, char *err, size_t errlen)
{
	const struct topo_provider *tp = &p->t->providers[i];
	struct association_provider *ap = &p->as_providers[i];
	char kerr[512];
	ap->name = tp->name;
	ap->checkpoint_every = tp->checkpoint_every;
	p->receive_body[i] = tp->receive_body;
	p->one_per_message[i] = tp->exec;
	if (!host_part_here(p->t, ROLE_ASSOCIATION, 0))
		return 0;
	if (keys_load_signal_public(tp->public_key, ap->public_key, kerr, sizeof(kerr)) < 0) {
		snprintf(err, errlen, "provider %s: public key: %s", tp->name, kerr);
		return -1;
	}
	return 0;
}

int plan_provider_files(struct run_plan *p, size_t i, char *err, size_t errlen)
{
	const struct topo_provider *tp = &p->t->providers[i];
	uid_t uid;
	gid_t gid;
	rootless_role_ids(p->t, ROLE_PROVIDER, i, &uid, &gid);
	char who[64], secret[PATH_MAX];

	snprintf(who, sizeof(who), "provider %s", tp->name);
	snprintf(secret, sizeof(secret), "%s/%s", tp->keys, KEYS_SECRET_NAME);
	if (tp->demo_keys && demo_keys(tp, uid, err, errlen) < 0)
		return -1;
	return check_readable(tp->policy, false, uid, gid, who, err, errlen) < 0 ||
			       check_readable(tp->keys, true, uid, gid, who, err, errlen) < 0 ||
			       key_check_secret(secret, uid, who, err, errlen) < 0
		       ? -1
		       : 0;
}

/* The association's head-signing pair (docs/VERIFY.md): generated like a
 * provider's demo keys, owned by the association's host uid, bound
 * read-only at /keys into its sandbox alone. The supervisor never reads the
 * secret, and wipes the one it generates at once: every role is cloned
 * from its memory. */
int plan_association_files(struct run_plan *p, char *err, size_t errlen)
{
	const struct topology *t = p->t;
	uid_t uid;
	gid_t gid;
	rootless_role_ids(t, ROLE_ASSOCIATION, 0, &uid, &gid);
	char secret[PATH_MAX];
	snprintf(secret, sizeof(secret), "%s/%s", t->association_keys, KEYS_SECRET_NAME);
	if (t->association_demo_keys) {
		const struct key_set set = { .who = "association", .dir = t->association_keys, .owner = uid };
		struct key_set_report r;
		if (key_set_write_missing(&set, &r, err, errlen) < 0)
			return -1;
		if (r.wrote_pair)
			log_info("association: generated its head-signing key pair in %s", t->association_keys);
	}
	return check_readable(t->association_keys, true, uid, gid, "association", err, errlen) < 0 ||
			       key_check_secret(secret, uid, "association", err, errlen) < 0
		       ? -1
		       : 0;
}
