/* SPDX-License-Identifier: Apache-2.0 */
/* A role's key directory as the run expects it, written and checked in one
 * place: by the supervisor for demo keys at a start, and by `mpbs-run keys
 * init` for a whole topology. The signal pair (signal.key 0600, signal.pub
 * 0644) and a token key (0600) in a 0755 directory, all owned by the uid
 * the role runs as (key_owner_uid). */
#ifndef MPBS_KEY_FILES_H
#define MPBS_KEY_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "role_table.h"

struct topology;

/* What one role's key directory should hold. */
struct key_set {
	const char *who;        /* "provider A", "association": for messages */
	const char *dir;        /* absolute key directory */
	const char *token_name; /* a token key's file name in dir, or NULL for none */
	uid_t owner;            /* uid (and gid) of what is written */
	/* Also give the owner what exists already (the supervisor's demo keys,
	 * which are the run's own); `keys init` leaves existing keys alone. */
	bool chown_existing;
};

/* What key_set_write_missing did, for its caller's report. */
struct key_set_report {
	bool wrote_dir, wrote_pair, wrote_token;
};

/* The uid a role's keys must belong to: the role's host uid
 * (runner/role_table.h) when the caller is root, the caller's own uid
 * otherwise (a user's keys for a rootless run, where every role runs as
 * that user). The one place that decides it. */
uid_t key_owner_uid(const struct topology *t, enum role_kind kind, size_t index);

/* Refuses (before anything is written) a set that cannot be completed: a
 * public key without its secret, or a secret without its public key (one
 * would be made to fit the other). Returns 0, or -1 with err set. */
int key_set_check_missing(const struct key_set *s, char *err, size_t errlen);

/* Writes what s lacks (its directory and parents, the signal pair, the
 * token key) with lib/keys.h's modes and s->owner; an existing key is never
 * overwritten. Returns 0, or -1 with err set. */
int key_set_write_missing(const struct key_set *s, struct key_set_report *r, char *err, size_t errlen);

/* A secret key as the run accepts it: a regular file owned by uid, no group
 * or other bit. Otherwise -1 with err naming the file, what is wrong and the
 * command that fixes it. stat only: the supervisor never reads it. */
int key_check_secret(const char *path, uid_t uid, const char *who, char *err, size_t errlen);

#endif
