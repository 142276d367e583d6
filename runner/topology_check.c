/* SPDX-License-Identifier: Apache-2.0 */
/* The checks of a topology that need all of it: required keys, defaults
 * computed from other keys, paths that must exist, and what no key can say
 * alone (confirm against the providers, directories shared between
 * providers, exec's needs). */
#include "topology_parse.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/fsutil.h"
#include "../lib/keys.h"
#include "host_part.h"
#include "topology_dirs.h"
#include "topology_values.h"

/* want: S_IFREG or S_IFDIR. */
static int check_exists(struct parse *p, const struct section_state *s, const char *key, const char *path,
			mode_t want)
{
	struct stat st;
	struct origin o = origin_of(s, key);
	if (p->flags & TOPO_LOAD_FILES_UNCHECKED)
		return 0;
	if (stat(path, &st) < 0)
		return fail_at(p, o, s, key, "stat %s: %s", path, strerror(errno));
	if ((st.st_mode & S_IFMT) != want)
		return fail_at(p, o, s, key, "%s is not a %s", path, want == S_IFDIR ? "directory" : "regular file");
	return 0;
}

/* A missing directory is allowed (created later), anything else must be one. */
static int check_dir_if_present(struct parse *p, const struct section_state *s, const char *key, const char *path)
{
	struct stat st;
	if ((p->flags & TOPO_LOAD_FILES_UNCHECKED) || (stat(path, &st) < 0 && errno == ENOENT))
		return 0;
	return check_exists(p, s, key, path, S_IFDIR);
}

/* A key the file must set ("required" in its row). */
static int check_required(struct parse *p, const struct section_state *s)
{
	for (size_t k = 0; k < s->n_keys; k++) {
		const char *const *field = (const char *const *)((const char *)s->target + s->keys[k]->offset);
		if (s->keys[k]->required && s->keys[k]->type == TOPO_PATH && *field == NULL)
			return fail_at(p, line_origin(s->line), s, s->keys[k]->name, "missing required key");
	}
	return 0;
}

/* Files of a role in another host part are on another machine: only its
 * name and public key matter here (and the key only to the association). */
static bool files_here(const struct parse *p, enum role_kind kind, size_t i)
{
	return !host_part_spread(p->t) || (p->host && host_part_here(p->t, kind, i));
}

static int validate_provider(struct parse *p, size_t i)
{
	struct topo_provider *pr = &p->t->providers[i];
	struct section_state *s = &p->prov[i];
	if (check_required(p, s) < 0)
		return -1;
	if (pr->public_key == NULL) {
		char msg[128];
		size_t len = strlen(pr->keys) + sizeof("/" KEYS_PUBLIC_NAME);
		char *def = malloc(len);
		if (def != NULL)
			snprintf(def, len, "%s/%s", pr->keys, KEYS_PUBLIC_NAME);
		if (topo_replace_string(&pr->public_key, def, msg, sizeof(msg)) < 0)
			return fail_at(p, line_origin(s->line), s, "public_key", "%s", msg);
		s->at[find_key(s, "public_key")] = origin_of(s, "keys");
	}
	if (!files_here(p, ROLE_PROVIDER, i)) {
		bool key_here = files_here(p, ROLE_ASSOCIATION, 0) && !(p->flags & TOPO_LOAD_KEYS_UNCHECKED);
		return key_here ? check_exists(p, s, "public_key", pr->public_key, S_IFREG) : 0;
	}
	if (check_exists(p, s, "policy", pr->policy, S_IFREG) < 0)
		return -1;
	bool unchecked = pr->demo_keys || (p->flags & TOPO_LOAD_KEYS_UNCHECKED);
	if (unchecked ? check_dir_if_present(p, s, "keys", pr->keys) < 0
		     : check_exists(p, s, "keys", pr->keys, S_IFDIR) < 0)
		return -1;
	if (!unchecked && check_exists(p, s, "public_key", pr->public_key, S_IFREG) < 0)
		return -1;
	if (pr->state != NULL && check_exists(p, s, "state", pr->state, S_IFDIR) < 0)
		return -1;
	if (pr->exec_dir != NULL && check_exists(p, s, "exec_dir", pr->exec_dir, S_IFDIR) < 0)
		return -1;
	if (pr->exec_dir != NULL && !pr->exec)
		return fail_at(p, origin_of(s, "exec_dir"), s, "exec_dir", "needs exec = yes");
	/* Its programs fork: without a process cap one body could fork-bomb the
	 * host uid's share (no default fits every program, so it is asked). */
	if (pr->exec && pr->limits.nproc == 0)
		return fail_at(p, origin_of(s, "exec"), s, "exec",
			       "exec = yes needs nproc (RLIMIT_NPROC for the provider and its programs) in this section");
	const char *key;
	char msg[PATH_MAX + 128];
	if (topology_dirs_conflict(p->t, i, &key, msg, sizeof(msg)))
		return fail_at(p, origin_of(s, key), s, key, "%s", msg);
	return 0;
}

/* The association's head-signing key: by default beside the ledger,
 * generated on first start (it signs what the association wrote, never an
 * outcome, so a fresh key costs no authority; a deployment that pins its
 * public key provisions it and sets demo_keys = no). */
static int validate_association_keys(struct parse *p)
{
	struct topology *t = p->t;
	struct section_state *s = &p->role[ROLE_ASSOCIATION];
	char msg[128];
	if (t->association_keys == NULL) {
		char *copy = strdup(t->ledger);
		char *def = copy ? fs_path_join(dirname(copy), "association-keys") : NULL;
		free(copy);
		if (topo_replace_string(&t->association_keys, def, msg, sizeof(msg)) < 0)
			return fail_at(p, ORIGIN_NONE, s, "keys", "%s", msg);
		s->at[find_key(s, "keys")] = origin_of(s, "ledger");
	}
	if (t->association_public_key == NULL) {
		if (topo_replace_string(&t->association_public_key, fs_path_join(t->association_keys, KEYS_PUBLIC_NAME), msg,
				   sizeof(msg)) < 0)
			return fail_at(p, ORIGIN_NONE, s, "public_key", "%s", msg);
		s->at[find_key(s, "public_key")] = origin_of(s, "keys");
	}
	if (!files_here(p, ROLE_ASSOCIATION, 0))
		return 0;
	bool unchecked = t->association_demo_keys || (p->flags & TOPO_LOAD_KEYS_UNCHECKED);
	if (unchecked ? check_dir_if_present(p, s, "keys", t->association_keys) < 0
		     : check_exists(p, s, "keys", t->association_keys, S_IFDIR) < 0)
		return -1;
	if (!unchecked &&
	    check_exists(p, s, "public_key", t->association_public_key, S_IFREG) < 0)
		return -1;
	/* Bound into the association's sandbox: never a provider's. */
	for (size_t i = 0; i < t->n_providers; i++)
		if (strcmp(t->providers[i].keys, t->association_keys) == 0)
			return fail_at(p, origin_of(s, "keys"), s, "keys", "same directory as provider %s",
				       t->providers[i].name);
	return 0;
}

int topology_check(struct parse *p)
{
	struct topology *t = p->t;
	struct section_state *assoc = &p->role[ROLE_ASSOCIATION];
	if (t->n_providers == 0)
		return fail_at(p, ORIGIN_NONE, NULL, NULL, "no [provider NAME] section");
	if (topology_check_hosts(p) < 0)
		return -1;
	if (t->confirm_k > t->n_providers)
		return fail_at(p, origin_of(assoc, "confirm"), assoc, "confirm", "%u is more than the %zu providers",
			       t->confirm_k, t->n_providers);
	struct stat st;
	bool association_here = files_here(p, ROLE_ASSOCIATION, 0);
	if (association_here && stat(t->ledger, &st) == 0 && S_ISDIR(st.st_mode))
		return fail_at(p, origin_of(assoc, "ledger"), assoc, "ledger", "%s is a directory", t->ledger);
	for (enum role_kind k = 0; k < ROLE_KINDS; k++)
		if (role_kinds[k].writes_ledger && !role_kinds[k].per_provider && t->limits[k].fsize)
			return fail_at(p, origin_of(&p->role[k], "fsize"), &p->role[k], "fsize",
				       "not for the %s: RLIMIT_FSIZE would cut its ledger", role_kinds[k].name);
	for (size_t i = 0; i < t->n_providers; i++)
		if (validate_provider(p, i) < 0)
			return -1;
	return validate_association_keys(p);
}

