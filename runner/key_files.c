/* SPDX-License-Identifier: Apache-2.0 */
/* A role's key directory: the one function that writes keys with the owner
 * and modes the run expects, and the check of a secret key it refuses
 * otherwise (key_files.h). */
#define _GNU_SOURCE
#include "key_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/errbuf.h"
#include "../lib/fsutil.h"
#include "../lib/keys.h"
#include "topology.h"

uid_t key_owner_uid(const struct topology *t, enum role_kind kind, size_t index)
{
	if (geteuid() != 0)
		return geteuid();
	return role_host_uid(t->uid_base, kind, index, t->n_providers);
}

struct key_paths {
	char secret[PATH_MAX], pub[PATH_MAX], token[PATH_MAX];
};

static int key_paths_of(const struct key_set *s, struct key_paths *kp, char *err, size_t errlen)
{
	if (snprintf(kp->secret, PATH_MAX, "%s/%s", s->dir, KEYS_SECRET_NAME) >= PATH_MAX ||
	    snprintf(kp->pub, PATH_MAX, "%s/%s", s->dir, KEYS_PUBLIC_NAME) >= PATH_MAX ||
	    snprintf(kp->token, PATH_MAX, "%s/%s", s->dir, s->token_name ? s->token_name : "") >= PATH_MAX)
		return err_set(err, errlen, "%s: key directory %s: path too long", s->who, s->dir);
	return 0;
}

/* 1 if something is at path (a symlink too: nothing is ever written
 * through one), 0 if not, -1 with err set if that cannot be told. */
static int present(const char *path, const char *who, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return err_set(err, errlen, "%s: stat %s: %s", who, path, strerror(errno));
}

int key_set_check_missing(const struct key_set *s, char *err, size_t errlen)
{
	struct key_paths kp;
	if (key_paths_of(s, &kp, err, errlen) < 0)
		return -1;
	int secret = present(kp.secret, s->who, err, errlen);
	int pub = secret < 0 ? -1 : present(kp.pub, s->who, err, errlen);
	if (pub < 0)
		return -1;
	if (secret && !pub)
		return err_set(err, errlen, "%s: %s has no %s beside it: put its public key back, or remove both "
			       "to have a new pair written", s->who, kp.secret, KEYS_PUBLIC_NAME);
	if (pub && !secret)
		return err_set(err, errlen, "%s: %s has no %s beside it: put the secret back, or remove both to "
			       "have a new pair written", s->who, kp.pub, KEYS_SECRET_NAME);
	return 0;
}

/* chown of exactly the object at path, never what a symlink there points
 * to: a key directory writable by someone else could otherwise aim the
 * root supervisor's chown at any file. A symlink is refused. */
static int chown_nofollow(const char *path, uid_t uid, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int rc = fd < 0 || fstat(fd, &st) < 0 ? -1 : 0;
	if (rc == 0 && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "chown %s: a symlink, refused", path);
		rc = -2;
	} else if (rc == 0) {
		rc = fchownat(fd, "", uid, uid, AT_EMPTY_PATH);
	}
	if (rc == -1)
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc < 0 ? -1 : 0;
}

/* Gives s->owner what was written (and, with chown_existing, what was
 * there). Files made by the owner itself need nothing. */
static int chown_set(const struct key_set *s, const struct key_paths *kp, const struct key_set_report *r,
		     char *err, size_t errlen)
{
	if (s->owner == geteuid())
		return 0;
	bool all = s->chown_existing;
	const struct {
		const char *path;
		bool mine;
	} items[] = {
		{ s->dir, r->wrote_dir || all },
		{ kp->secret, r->wrote_pair || all },
		{ kp->pub, r->wrote_pair || all },
		{ kp->token, s->token_name && (r->wrote_token || all) },
	};
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		if (items[i].mine && chown_nofollow(items[i].path, s->owner, err, errlen) < 0) {
			size_t used = strlen(err);
			snprintf(err + used, errlen - used, " (%s)", s->who);
			return -1;
		}
	return 0;
}

int key_set_write_missing(const struct key_set *s, struct key_set_report *r, char *err, size_t errlen)
{
	struct key_paths kp;
	memset(r, 0, sizeof(*r));
	if (key_paths_of(s, &kp, err, errlen) < 0 || key_set_check_missing(s, err, errlen) < 0)
		return -1;
	int dir = present(s->dir, s->who, err, errlen);
	int secret = dir < 0 ? -1 : present(kp.secret, s->who, err, errlen);
	int token = secret < 0 || !s->token_name ? secret : present(kp.token, s->who, err, errlen);
	if (token < 0)
		return -1;
	r->wrote_dir = !dir;
	if (!secret) {
		if (fs_mkdir_parents(s->dir, err, errlen) < 0 || keys_generate_signal_pair(s->dir, err, errlen) < 0)
			return -1;
		r->wrote_pair = true;
	}
	if (s->token_name && !token) {
		if (keys_generate_token(kp.token, err, errlen) < 0)
			return -1;
		r->wrote_token = true;
	}
	if (chown_set(s, &kp, r, err, errlen) == 0)
		return 0;
	/* Keys left behind with the wrong owner would be kept by the next
	 * attempt and refused by every run. */
	if (r->wrote_token)
		unlink(kp.token);
	if (r->wrote_pair) {
		unlink(kp.secret);
		unlink(kp.pub);
	}
	return -1;
}

int key_check_secret(const char *path, uid_t uid, const char *who, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return err_set(err, errlen, "%s: %s: %s", who, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(err, errlen, "%s: %s: not a regular file", who, path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return err_set(err, errlen, "%s: secret key %s has mode %04o (group or other bits set): refused; "
			       "chmod 0600 %s", who, path, (unsigned)(st.st_mode & 07777), path);
	if (st.st_uid != uid || !(st.st_mode & S_IRUSR))
		return err_set(err, errlen, "%s: secret key %s is owned by uid %u with mode %04o, but must be owned "
			       "and readable by uid %u, as which the role runs: refused; chown %u:%u %s && chmod 0600 %s",
			       who, path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)uid,
			       (unsigned)uid, (unsigned)uid, path, path);
	return 0;
}
