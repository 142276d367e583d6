/* SPDX-License-Identifier: Apache-2.0 */
/* Rootless mode (`mpbs-run --rootless`, as a normal user): every role still
 * gets its own user, net, mount, pid, ipc, uts and cgroup namespaces,
 * Landlock and its seccomp allowlist, but an unprivileged process may map
 * only its own host uid into a user namespace, so every role runs as the
 * caller's one host uid and gid. This file is the one list of what that
 * weakens: the start-up warning, the refusal of a normal user's run without
 * --rootless, the audit's WEAKENED rows and docs/CLAIMS.md's column are all
 * read from it. The mechanism files read only the bits of a topology's
 * `weakened` (0 for a root run). */
#ifndef MPBS_ROOTLESS_H
#define MPBS_ROOTLESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "role_table.h"
#include "topology.h"

/* What a run cannot enforce, as bits of topology.weakened. */
enum weakened_layer {
	WEAKENED_HOST_IDS = 1u << 0,    /* one host uid/gid for every role, and the caller's groups */
	WEAKENED_APPEND_ONLY = 1u << 1, /* no FS_APPEND_FL on the ledger */
	WEAKENED_CGROUPS = 1u << 2,     /* no cgroup v2 limits (memory_max, pids_max, cpu_max) */
};

struct weakening {
	unsigned bit;           /* WEAKENED_* */
	const char *name;       /* short, for the warning and the audit: "per-role host uids" */
	const char *why;        /* one sentence: what the kernel does not allow an unprivileged user */
	unsigned mechanisms;    /* the audit's probe mechanisms (1u << MECH_*) whose claim rests on it */
};

extern const struct weakening rootless_weakenings[];
extern const size_t rootless_n_weakenings;

/* The weakened bits of a --rootless run (every entry of the list). */
unsigned rootless_weakened_bits(void);

/* Who may run what: root without --rootless (per-role host uids), a normal
 * user only with --rootless. Returns 0, or -1 with err saying why, naming
 * --rootless and what it weakens when a normal user runs without it. */
int rootless_admit(bool rootless, char *err, size_t errlen);

/* The one warning line a --rootless run logs at start. */
void rootless_warn(void);

/* A role's host uid and gid: its own (uid_base + its row's offset) in a
 * root run, the caller's in a rootless one (WEAKENED_HOST_IDS). */
void rootless_role_ids(const struct topology *t, enum role_kind kind, size_t index, uid_t *uid, gid_t *gid);

/* The WEAKENED_* entry that weakens an audit row of this mechanism
 * (1u << MECH_*) in a run with these bits, or NULL: the row still holds. */
const struct weakening *rootless_weakening_of(unsigned weakened, unsigned mechanism_bit);

#endif
