/* SPDX-License-Identifier: Apache-2.0 */
/* Rootless mode: what it weakens, and who may run in which mode (see
 * rootless.h). */
#include "rootless.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "audit/probe.h"

const struct weakening rootless_weakenings[] = {
	{ WEAKENED_HOST_IDS, "per-role host uids",
	  "an unprivileged user namespace can map only the caller's own uid and gid, so every role runs as "
	  "that one host uid (and keeps the caller's supplementary groups, which only root can drop)",
	  1u << MECH_USERNS },
	{ WEAKENED_APPEND_ONLY, "ledger append-only flag",
	  "FS_APPEND_FL needs CAP_LINUX_IMMUTABLE in the initial user namespace; O_APPEND, the association's "
	  "seccomp policy and the hash chain remain",
	  1u << MECH_INODE_FLAG },
	{ WEAKENED_CGROUPS, "cgroup limits",
	  "a normal user has no delegated cgroup v2 group to create the roles' groups in; memory_max, "
	  "pids_max and cpu_max are not applied, rlimits are",
	  0 },
};
const size_t rootless_n_weakenings = sizeof(rootless_weakenings) / sizeof(rootless_weakenings[0]);

unsigned rootless_weakened_bits(void)
{
	unsigned bits = 0;
	for (size_t i = 0; i < rootless_n_weakenings; i++)
		bits |= rootless_weakenings[i].bit;
	return bits;
}

/* "per-role host uids, ledger append-only flag, cgroup limits" */
static void weakened_names(char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < rootless_n_weakenings && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", rootless_weakenings[i].name);
}

int rootless_admit(bool rootless, char *err, size_t errlen)
{
	char names[256];
	bool root = geteuid() == 0;
	if (root && rootless) {
		snprintf(err, errlen, "--rootless is for a normal user: as root every role runs as its own host uid "
			 "([runner] uid_base); run without --rootless");
		return -1;
	}
	if (!root && !rootless) {
		weakened_names(names, sizeof(names));
		snprintf(err, errlen, "must run as root, or as a normal user with --rootless, which weakens: %s "
			 "(every role still gets its own namespaces, Landlock and seccomp; docs/CLAIMS.md)", names);
		return -1;
	}
	return 0;
}

void rootless_warn(void)
{
	char names[256];
	weakened_names(names, sizeof(names));
	log_warn("rootless (uid %u): weakened: %s; every role still gets its own user, net, mount, pid, ipc and "
		 "uts namespaces, Landlock and seccomp (docs/CLAIMS.md)", (unsigned)geteuid(), names);
}

void rootless_role_ids(const struct topology *t, enum role_kind kind, size_t index, uid_t *uid, gid_t *gid)
{
	if (t->weakened & WEAKENED_HOST_IDS) {
		*uid = geteuid();
		*gid = getegid();
		return;
	}
	*uid = role_host_uid(t->uid_base, kind, index, t->n_providers);
	*gid = *uid;
}

const struct weakening *rootless_weakening_of(unsigned weakened, unsigned mechanism_bit)
{
	for (size_t i = 0; i < rootless_n_weakenings; i++)
		if ((weakened & rootless_weakenings[i].bit) && (rootless_weakenings[i].mechanisms & mechanism_bit))
			return &rootless_weakenings[i];
	return NULL;
}
