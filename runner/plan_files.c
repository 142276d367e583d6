/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* What the supervisor checks and makes before any role starts, of the files
 * a role will read in its sandbox: its policy and key directory readable by
 * its host uid (stat only: the supervisor never opens a provider's secrets
 * or policy), secret keys owned by it with no group or other bit, and demo
 * keys generated on first use. */
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/fsutil.h"
#include "../lib/keys.h"
#include "../lib/log.h"
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

/* A secret key file: owned by the provider's host uid and readable by it,
 * no group or other bit at all (lib/keys.c refuses the same when it
 * loads it); stat only, the supervisor never reads it. */
static int check_secret(const char *path, uid_t uid, const char *who, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s: %s", who, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s: not a regular file", who, path);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s: secret key %s has mode %04o (group or other bits set): refused; "
			 "chmod 0600 it", who, path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_uid != uid || !(st.st_mode & S_IRUSR)) {
		snprintf(err, errlen, "%s: secret key %s must be owned and readable by its host uid %u (chown %u, "
			 "chmod 0600)", who, path, (unsigned)uid, (unsigned)uid);
		return -1;
	}
	return 0;
}

static int demo_token_key(const char *path, char *err, size_t errlen)
{
	uint8_t key[32];
	randombytes_buf(key, sizeof(key));
	int rc = keys_store_hex(path, key, sizeof(key), 0600, err, errlen);
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int chown_nofollow(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen);

/* Demo keys are generated on first use and owned by the provider's host
 * uid, so a fresh checkout runs with no manual key step. */
static int demo_keys(const struct topo_provider *tp, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char secret[PATH_MAX], pub[PATH_MAX], token[PATH_MAX];
	snprintf(secret, sizeof(secret), "%s/%s", tp->keys, KEYS_SECRET_NAME);
	snprintf(pub, sizeof(pub), "%s/%s", tp->keys, KEYS_PUBLIC_NAME);
	snprintf(token, sizeof(token), "%s/%s", tp->keys, DEMO_TOKEN_KEY_NAME);
	if (access(secret, F_OK) < 0) {
		if (fs_mkdir_parents(tp->keys, err, errlen) < 0 || keys_generate_signal_pair(tp->keys, err, errlen) < 0)
			return -1;
		log_info("provider %s: generated demo keys (signal pair, token key) in %s", tp->name, tp->keys);
	}
	if (access(token, F_OK) < 0 && demo_token_key(token, err, errlen) < 0)
		return -1;
	const char *const paths[] = { tp->keys, secret, pub, token };
	for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++)
		if (chown_nofollow(paths[k], uid, gid, err, errlen) < 0) {
			size_t used = strlen(err);
			snprintf(err + used, errlen - used, " (provider %s, demo keys)", tp->name);
			return -1;
		}
	return 0;
}

/* chown of exactly the object at path, never what a symlink there points
 * to: a key directory writable by someone else could otherwise aim the
 * root supervisor's chown at any file. A symlink is refused. */
static int chown_nofollow(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int rc = fd < 0 || fstat(fd, &st) < 0 ? -1 : 0;
	if (rc == 0 && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "chown %s: a symlink, refused", path);
		rc = -2;
	} else if (rc == 0) {
		rc = fchownat(fd, "", uid, gid, AT_EMPTY_PATH);
	}
	if (rc == -1)
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc < 0 ? -1 : 0;
}

int plan_provider_files(struct run_plan *p, size_t i, char *err, size_t errlen)
{
	const struct topo_provider *tp = &p->t->providers[i];
	uid_t uid;
	gid_t gid;
	char who[64], secret[PATH_MAX];

	rootless_role_ids(p->t, ROLE_PROVIDER, i, &uid, &gid);

	snprintf(who, sizeof(who), "provider %s", tp->name);
	snprintf(secret, sizeof(secret), "%s/%s", tp->keys, KEYS_SECRET_NAME);
	if (tp->demo_keys && demo_keys(tp, uid, gid, err, errlen) < 0)
		return -1;
	if (check_readable(tp->policy, false, uid, gid, who, err, errlen) < 0 ||
	    check_readable(tp->keys, true, uid, gid, who, err, errlen) < 0 ||
	    check_secret(secret, uid, who, err, errlen) < 0)
		return -1;
	struct association_provider *ap = &p->as_providers[i];
	char kerr[512];
	if (keys_load_signal_public(tp->public_key, ap->public_key, kerr, sizeof(kerr)) < 0) {
		snprintf(err, errlen, "%s: public key: %s", who, kerr);
		return -1;
	}
	ap->name = tp->name;
	ap->checkpoint_every = tp->checkpoint_every;
	p->receive_body[i] = tp->receive_body;
	return 0;
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
	char secret[PATH_MAX], pub[PATH_MAX];
	snprintf(secret, sizeof(secret), "%s/%s", t->association_keys, KEYS_SECRET_NAME);
	snprintf(pub, sizeof(pub), "%s/%s", t->association_keys, KEYS_PUBLIC_NAME);
	if (t->association_demo_keys && access(secret, F_OK) < 0) {
		if (fs_mkdir_parents(t->association_keys, err, errlen) < 0 ||
		    keys_generate_signal_pair(t->association_keys, err, errlen) < 0)
			return -1;
		if (chown(t->association_keys, uid, gid) < 0 || chown(secret, uid, gid) < 0 || chown(pub, uid, gid) < 0) {
			snprintf(err, errlen, "association: chown its keys in %s: %s", t->association_keys,
				 strerror(errno));
			return -1;
		}
		log_info("association: generated its head-signing key pair in %s", t->association_keys);
	}
	return check_readable(t->association_keys, true, uid, gid, "association", err, errlen) < 0 ||
			       check_readable(secret, false, uid, gid, "association", err, errlen) < 0
		       ? -1
		       : 0;
}
