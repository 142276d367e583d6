/* SPDX-License-Identifier: Apache-2.0 */
/* The audit's probes (`mpbs-run --audit`): forbidden actions, each run in
 * a fresh sandbox of a role, built by the supervisor's own spawn path with
 * the role's own spec; only the role's main is replaced by probe_main. A
 * probe seals itself like the role (its seccomp policy), performs one
 * action with real arguments and exits with the errno it got (0 for
 * success), or dies by SIGSYS. A probe marked before_seal acts under every
 * layer but seccomp, so the layers beneath are shown to hold on their own.
 * Which result is expected, which mechanism stops it and which claims of
 * docs/ARCHITECTURE.md §6 it tests are part of each entry. */
#ifndef MPBS_PROBE_H
#define MPBS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../../roles/role.h"

/* Both the probes (probe_args.c) and the argument surface (surface.c) ask
 * a channel end for its backlog, on headers that may predate the option. */
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

#define PROBE_ROLE_INTERMEDIARY (1u << 0)
#define PROBE_ROLE_ASSOCIATION (1u << 1)
#define PROBE_ROLE_PROVIDER (1u << 2)      /* a provider without exec (provider.policy) */
#define PROBE_ROLE_PROVIDER_EXEC (1u << 3) /* exec = yes: provider-exec.policy, /usr… and /exec,
					    * the sandbox its evaluator or handler inherits */
#define PROBE_ROLE_PROVIDERS (PROBE_ROLE_PROVIDER | PROBE_ROLE_PROVIDER_EXEC)
#define PROBE_ROLE_BRIDGE (1u << 4)        /* a host part's bridge (bridge.policy, the host's network) */
/* The roles of every topology (a bridge runs only in a host part): what
 * "every role" means in the tables, where a bridge row names it too. */
#define PROBE_ROLE_ALL (PROBE_ROLE_INTERMEDIARY | PROBE_ROLE_ASSOCIATION | PROBE_ROLE_PROVIDERS)

/* Exit codes no errno takes. */
#define PROBE_EXIT_DATA 200     /* a read returned data, or a check found something */
#define PROBE_EXIT_SEAL 201     /* the seal itself failed */

/* Claims of docs/ARCHITECTURE.md §6, as bits (1 << (n - 1)). */
#define CLAIM(n) (1u << ((n) - 1))
#define PROBE_CLAIMS 11

enum probe_mechanism {
	MECH_SECCOMP,
	MECH_NETNS,
	MECH_PIDNS,
	MECH_MNTNS,
	MECH_LANDLOCK,
	MECH_CHANNEL,     /* one-way socketpair (shutdown) */
	MECH_CAPS,
	MECH_NNP,
	MECH_USERNS,      /* own host uid through the user namespace */
	MECH_INODE_FLAG,  /* FS_APPEND_FL on the ledger */
	MECH_FDS,         /* close_range: only the fds it was given */
	MECH_NAMESPACES,  /* its own user/net/mnt/pid/ipc/uts namespaces */
	MECH_RLIMIT,      /* RLIMIT_NPROC of its own host uid */
	MECH_CHAIN,       /* the association's channel, chain and signature checks */
	MECH_KERNEL_SCM,  /* the kernel's handling of SCM_RIGHTS at a receiver without a control buffer */
	MECH_PASSRIGHTS,  /* SO_PASSRIGHTS off on every channel reader end: SCM_RIGHTS refused at the sender */
	MECH_SPAWN,       /* what a fork of the supervisor must not carry over: groups, environment, stderr */
	MECH_PROGRAM_LANDLOCK, /* the Landlock domain an exec'd program enters (roles/provider/exec.h) */
	MECH_MEMFD_SEAL,  /* the seals of a provider's journal memfd (runner/memfd.h) */
	MECH_COUNT
};

/* What a probe may aim at, filled by the audit for each role. */
struct landlock_rule;

struct probe_env {
	pid_t victim_pid;          /* host pid of another role's live sandbox */
	int listen_port;           /* the intermediary's listener */
	int host_port;             /* a TCP listener of the audit's on the host's loopback */
	int nats_port;             /* the first [nats] server's port (the bridge's one allowed kind of connect) */
	const char *other_key;     /* host path of another provider's secret key */
	const char *ledger;        /* host path of the ledger */
	const char *topology;      /* host path of the topology file */
	long n_fds;                /* fds it was given, numbered from ROLE_FD_FIRST */
	/* Numbers in that range left closed: the bridge's gap below its lane
	 * channels (runner/plan_bridge.h); from == to: none. */
	long fd_gap_from, fd_gap_to;
	int status_fd;             /* its status fd (the audit's pipe) */
	unsigned long nproc;       /* the topology's RLIMIT_NPROC for it (0: none) */
	const char *self_name;     /* a provider's own name */
	const char *other_name;    /* another provider's name */
	const char *own_policy;    /* a provider's policy file, as its sandbox names it */
	bool has_state;            /* a provider with a state directory (/state) */
	/* A bridge: the sandbox's fd of its first out lane's channel end (a
	 * reader end) and of its first in lane's (a writer end); -1: none. */
	int lane_reader;
	int lane_writer;
	/* A provider with exec: its programs' Landlock rules, and whether the
	 * audit's test-only exec-landlock weakening removed that domain. */
	const struct landlock_rule *program_rules;
	size_t n_program_rules;
	bool program_landlock_weakened;
};

/* Whether fd is one it was given: in its kept range, not in the gap. */
static inline bool probe_fd_given(const struct probe_env *e, long fd)
{
	return fd >= ROLE_FD_FIRST && fd < ROLE_FD_FIRST + e->n_fds && !(fd >= e->fd_gap_from && fd < e->fd_gap_to);
}

/* How many frames the forging probe sends that the association must
 * record as rejected (claim 6): one claiming another provider, a replay,
 * a seq out of order, a checkpoint signed with a key that is not its own. */
#define PROBE_FORGED_FRAMES 4

/* Sent on the status fd by a probe marked pause_for_host when it has
 * reached the state the host side checks (then it holds it PROBE_HOLD_MS):
 * the byte, then a u32 (LE) the probe reports, e.g. how many it forked. */
#define PROBE_STATUS_HOLDING 'H'
#define PROBE_HOLD_MS 400

struct probe_def {
	const char *id;
	unsigned roles;            /* PROBE_ROLE_* */
	const char *action;        /* the exact call, for the report */
	bool expect_sigsys;        /* otherwise expect_code */
	int expect_code;           /* errno, 0, or PROBE_EXIT_DATA */
	enum probe_mechanism mechanism;
	unsigned claims;           /* CLAIM(n) bits */
	bool before_seal;
	bool passes_fd;            /* the audit then receives on the reader end as a provider does */
	bool pause_for_host;       /* reports PROBE_STATUS_HOLDING, then the audit checks the host */
	bool needs_state;          /* only for a provider with a state directory */
	/* Acts as an exec'd program would: builds the programs' domain before
	 * the seal as the provider does, then forks, and the child enters it
	 * (exec_domain_enter, the provider's own child-side call) and acts;
	 * the probe exits with the child's status. */
	bool as_program;
	int (*act)(const struct probe_def *d, const struct probe_env *env);
	/* Instead of act: loads the provider's own secret key (as a provider
	 * does, before seccomp), seals, then acts with it. */
	int (*act_keyed)(const struct probe_def *d, const struct probe_env *env, const uint8_t sk[64]);
	long arg;                  /* an fd or flag, per action */
	long arg2;                 /* a second one, per action */
	const char *path;
};

struct probe_call {
	const struct probe_def *def;
	const struct probe_env *env;
};

extern const struct probe_def probe_table[];
extern const size_t probe_count;

/* A role_spec entry: arg is a struct probe_call. Returns the exit status. */
int probe_main(void *arg, const struct role_seal *seal);

/* What the live sandbox of a role reports of itself, read from inside its
 * own sandbox, for a normal user's audit (--rootless): /proc/PID/environ,
 * fd and ns of a non-dumpable role need ptrace access such a user lacks,
 * so the audit's own code in that sandbox reads the same facts and the host
 * compares them with what it knows (audit_unprivileged.c). It is the
 * audit's code, trusted as every probe is: the role's own code never runs
 * there. Sent on its status fd as PROBE_STATUS_SELF, then the struct (one
 * write, below PIPE_BUF: atomic), before the seal, which only installs
 * the seccomp filter and changes none of it. */
#define PROBE_STATUS_SELF 'S'

enum probe_ns { PROBE_NS_USER, PROBE_NS_NET, PROBE_NS_MNT, PROBE_NS_PID, PROBE_NS_IPC, PROBE_NS_UTS,
		PROBE_NS_CGROUP, PROBE_NS_COUNT };
/* "user", "net", ...: the names under /proc/PID/ns/ */
extern const char *const probe_ns_names[PROBE_NS_COUNT];

struct probe_self_report {
	uint32_t env_vars;     /* strings in its environment area (what /proc/PID/environ shows) */
	uint32_t env_bytes;    /* the area's size */
	char env_first[32];    /* the first one's name (never its value) */
	uint64_t stderr_dev;   /* fstat(2) */
	uint64_t stderr_ino;
	uint32_t stderr_mode;
	int32_t stderr_errno;  /* fstat(2) failed: its errno, else 0 */
	uint32_t fds_above;    /* fds open from ROLE_FD_FIRST to 1023 (F_GETFD) */
	int32_t fd_highest;    /* the highest of them, or -1 */
	uint32_t fds_in_gap;   /* of them, in the gap it was given closed (the bridge's) */
	/* the inode of /proc/self/ns/NAME in its own /proc; 0: it has no
	 * /proc (only a provider's sandbox mounts one) */
	uint64_t ns[PROBE_NS_COUNT];
};

/* The arg of probe_idle_main: where it reports (NULL arg: it does not). */
struct probe_idle_args {
	int status_fd;                        /* its status fd, as its sandbox numbers it */
	unsigned long long env_start, env_end; /* the environment area, the same as the audit's */
	long fd_gap_from, fd_gap_to;          /* probe_env's: the numbers it was given closed */
};

/* Fills rep with what the calling process sees of itself (probe_self.c). */
void probe_self_report(const struct probe_idle_args *args, struct probe_self_report *rep);

/* A role_spec main that reports itself (arg: a struct probe_idle_args,
 * or NULL), seals and then sleeps until killed: the live sandbox the
 * host-side checks inspect. */
int probe_idle_main(void *arg, const struct role_seal *seal);

const char *probe_mechanism_name(enum probe_mechanism m);

#endif
