/* SPDX-License-Identifier: Apache-2.0 */
/* Starting one role in its sandbox. spawn.c runs the ordered setup steps of
 * docs/ARCHITECTURE.md §4 between clone3 and the role's main function; each step lives in
 * the file named after its kernel mechanism. */
#ifndef MPBS_SPAWN_H
#define MPBS_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../lib/landlock.h"
#include "mounts.h"
#include "topology.h"
#include "../roles/role.h"

struct seccomp_policy;

/* The status records a role writes on its status fd, and the exit status
 * of one that could not start (STATUS_ERROR, SPAWN_SETUP_FAILED): role.h. */
/* The longest fd table of a role: the bridge's, its lane channels from fd
 * 512 (runner/plan_bridge.h), one per lane, 128 lanes at most. */
#define PLAN_SPAWN_FDS_MAX 640

struct role_spec {
	const char *label;        /* "provider A", for messages */
	const char *comm;         /* "mpbs-p-A"; cut at 15 bytes by the kernel */
	const char *hostname;
	uid_t host_uid;           /* never 0; distinct per role unless shared_host_ids */
	gid_t host_gid;
	/* rootless (runner/rootless.h): host_uid/gid are the caller's own,
	 * shared by every role, and its supplementary groups cannot be dropped */
	bool shared_host_ids;
	const int *keep_fds;      /* become fds 3, 4, ... in the child, in this order; -1 leaves one closed */
	size_t n_keep;
	size_t status_index;      /* which keep_fds entry is the status fd */
	bool net_lo;              /* bring lo up in its netns */
	/* No network namespace of its own: the bridge, which reaches the NATS
	 * servers; its seccomp policy and Landlock's TCP port rules limit it */
	bool host_network;
	struct mount_plan mounts;
	const struct landlock_rule *landlock;
	size_t n_landlock;
	const struct seccomp_policy *seccomp;
	const struct topo_limits *limits;
	int cgroup_fd;            /* for CLONE_INTO_CGROUP, or -1 */
	int stderr_fd;            /* becomes fd 2 in the child: the write end of its own log pipe */
	/* Test-only weakenings, set by `mpbs-run --audit --audit-weaken` alone
	 * (never by a run) to show that the audit detects a missing layer. */
	bool weaken_no_seccomp;   /* the seal installs no filter */
	bool weaken_keep_caps;    /* the capability step is skipped */
	bool weaken_host_netns;   /* no network namespace of its own: the host's */
	bool weaken_keep_groups;  /* cloned with the supervisor's inherited supplementary groups */
	bool weaken_keep_env;     /* keeps the supervisor's environment */
	bool weaken_shared_stderr; /* fd 2 stays the supervisor's own stderr */
	bool weaken_keep_fds;     /* close_range is skipped: it keeps the supervisor's other fds */
	/* Runs after the last step before seccomp; calls seal (which installs
	 * seccomp) just before its main loop; returns the exit status. */
	int (*entry)(void *arg, const struct role_seal *seal);
	void *arg;
};

struct role_proc {
	pid_t pid;
	int pidfd;
};

/* Clones the child into fresh user, net, mount, pid, ipc, uts and cgroup
 * namespaces, maps its ids, and releases it to run the setup steps and
 * main. Clears the calling process's supplementary groups first (see
 * clear_groups in spawn.c): a role is never cloned with any. A step that fails in the child is reported on its status fd and the
 * child exits SPAWN_SETUP_FAILED. Returns 0, or -1 with err set (then no
 * child is left running). */
int spawn_role(const struct role_spec *spec, struct role_proc *out, char *err, size_t errlen);

/* The calling process's argument and environment string areas: fields 48
 * to 51 of /proc/self/stat (arg_start, arg_end, env_start, env_end), the
 * ranges /proc/PID/cmdline and /proc/PID/environ show. A role, a clone of
 * the supervisor, has the same ones. Returns 0, or -1 with err set. */
struct exec_strings {
	unsigned long long arg_start, arg_end, env_start, env_end;
};
int spawn_exec_string_areas(struct exec_strings *a, char *err, size_t errlen);

/* Sends SIG to the role through its pidfd. Returns 0, or -1 with errno set
 * (ESRCH once it has exited). The role must not have been reaped yet. */
int role_proc_signal(const struct role_proc *rp, int sig);

#endif
