/* SPDX-License-Identifier: Apache-2.0 */
/* How a role is started, top to bottom. Read this file to learn how a role
 * is isolated; each step's mechanism is in the file named after it.
 *
 * parent: clone3(new user, net, mount, pid, ipc, uts, cgroup namespaces,
 *         CLONE_PIDFD[, CLONE_INTO_CGROUP]) → setgroups "deny", gid_map,
 *         uid_map → release the child (one byte on the sync pipe).
 *         Where clone3 is ENOSYS: clone(2), and the child is moved into its
 *         cgroup before the release (see clone_role).
 * Before the clone the supervisor has no supplementary group left
 * (clear_groups; a rootless one cannot drop them: runner/rootless.h).
 * child:  parent-death signal (covers the wait) → wait for release → a
 *         fresh seed for its random generator → an empty environment (the
 *         copied env strings zeroed) → its fds moved to 3.. (stdin and
 *         stdout to /dev/null, stderr to its own log pipe) → its bind
 *         sources opened → switch to its ids → mounts and pivot_root →
 *         lo up (providers) → hostname → rlimits → parent-death signal again
 *         and a check that the supervisor still lives → close every other
 *         fd → no_new_privs, not dumpable → drop every capability →
 *         Landlock → time zone fixed → the role's main, which opens what it needs and then
 *         calls the seal: seccomp, last, just before
 *         its loop.
 * Any failed step is reported on the status pipe and the child exits: a
 * role never runs in a weaker sandbox. */
#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "caps.h"
#include "forkwipe.h"
#include "../lib/landlock.h"
#include "limits.h"
#include "../lib/memcheck.h"
#include "mounts.h"
#include "netns.h"
#include "seccomp.h"
#include "userns.h"

#define NS_FLAGS (CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | \
		  CLONE_NEWCGROUP)

#define SPAWN_BINDS_MAX 12

struct child_ctx {
	const struct role_spec *spec;
	int src_fds[SPAWN_BINDS_MAX]; /* O_PATH fds of the bind sources */
	int sync_rd;
	int status_fd; /* after the fds were moved */
	bool late_cgroup_ns; /* cloned without CLONE_NEWCGROUP (see clone_role) */
};

typedef int (*child_step)(struct child_ctx *c, char *err, size_t errlen);

/* Reports a failed step to the supervisor: 'E', u16 length, message. */
static void child_fail(struct child_ctx *c, const char *step, const char *why)
{
	char msg[600];
	size_t sl = strlen(step);
	bool named = strncmp(why, step, sl) == 0 && why[sl] == ':';
	if (named)
		snprintf(msg, sizeof(msg), "%s", why);
	else
		snprintf(msg, sizeof(msg), "%s: %s", step, why);
	_exit(role_report_cannot_start(c->status_fd, msg));
}

static int step_wait_release(struct child_ctx *c, char *err, size_t errlen)
{
	char go;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		snprintf(err, errlen, "prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
		return -1;
	}
	ssize_t n;
	do
		n = read(c->sync_rd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		snprintf(err, errlen, "the supervisor did not release the role");
		return -1;
	}
	/* Now that the supervisor has placed it in its own cgroup, the
	 * namespace is rooted there, as clone3 would have done. */
	if (c->late_cgroup_ns && unshare(CLONE_NEWCGROUP) < 0) {
		snprintf(err, errlen, "unshare(CLONE_NEWCGROUP): %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The random generator state was copied from the supervisor by clone:
 * without a fresh seed every role would draw the same epochs, nonces and
 * boundary values. */
static int step_reseed(struct child_ctx *c, char *err, size_t errlen)
{
	randombytes_stir();
	return 0;
}

int spawn_exec_string_areas(struct exec_strings *a, char *err, size_t errlen)
{
	char buf[2048];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(err, errlen, "read /proc/self/stat: %s", n < 0 ? strerror(errno) : "empty");
		return -1;
	}
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the comm may hold spaces and parentheses */
	/* the space after ')' precedes field 3: walk to the one before field 48 */
	for (int field = 3; p && field <= 48; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu %llu %llu %llu", &a->arg_start, &a->arg_end, &a->env_start, &a->env_end) != 4 ||
	    a->arg_end < a->arg_start || a->env_end < a->env_start) {
		snprintf(err, errlen, "/proc/self/stat: no arg_start..env_end");
		return -1;
	}
	return 0;
}

/* A role is a fork of the supervisor, so it starts with the supervisor's
 * environment and command line, and clearenv() alone only drops the
 * pointers: the strings stay in the areas the kernel set up at exec, which
 * /proc/PID/environ and /proc/PID/cmdline read. Both are zeroed, so a role
 * holds none of the supervisor's variables or arguments (the topology path,
 * --set values), in environ or in memory; nothing of the role reads argv.
 * The one variable a role then gets is TZ=UTC (step_time_zone), set in its
 * own heap. The memcheck build leaves the areas alone: under valgrind they
 * belong to valgrind, not to the role. */
static int step_environment(struct child_ctx *c, char *err, size_t errlen)
{
	struct exec_strings a;
	if (c->spec->weaken_keep_env)
		return 0;
	if (!MEMCHECK_BUILD && spawn_exec_string_areas(&a, err, errlen) < 0)
		return -1;
	if (clearenv() != 0) {
		snprintf(err, errlen, "clearenv failed");
		return -1;
	}
	if (!MEMCHECK_BUILD) {
		memset((void *)(uintptr_t)a.env_start, 0, a.env_end - a.env_start);
		memset((void *)(uintptr_t)a.arg_start, 0, a.arg_end - a.arg_start);
	}
	return 0;
}

/* Moves the kept fds to 3, 4, ... without clobbering one another: first
 * above every target, then into place. An entry of -1 is a number left
 * closed (the bridge's lane channels sit above such a gap): step_close_fds
 * closes it. */
static int step_move_fds(struct child_ctx *c, char *err, size_t errlen)
{
	const struct role_spec *sp = c->spec;
	int tmp[PLAN_SPAWN_FDS_MAX];
	int base = ROLE_FD_FIRST + (int)sp->n_keep;
	bool own_stderr = !sp->weaken_shared_stderr;
	int log_fd = own_stderr ? fcntl(sp->stderr_fd, F_DUPFD_CLOEXEC, base) : 2;
	if (log_fd < 0) {
		snprintf(err, errlen, "fcntl(F_DUPFD) of its log pipe: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sp->n_keep; i++) {
		tmp[i] = sp->keep_fds[i] < 0 ? -1 : fcntl(sp->keep_fds[i], F_DUPFD_CLOEXEC, base);
		if (tmp[i] < 0 && sp->keep_fds[i] >= 0) {
			snprintf(err, errlen, "fcntl(F_DUPFD): %s", strerror(errno));
			return -1;
		}
	}
	for (size_t i = 0; i < sp->n_keep; i++)
		if (tmp[i] >= 0 && dup3(tmp[i], ROLE_FD_FIRST + (int)i, O_CLOEXEC) < 0) {
			snprintf(err, errlen, "dup3 to fd %d: %s", ROLE_FD_FIRST + (int)i, strerror(errno));
			return -1;
		}
	c->status_fd = ROLE_FD_FIRST + (int)sp->status_index;
	/* stdin and stdout become /dev/null, stderr the write end of its own
	 * log pipe, which the supervisor drains, labels and escapes: never the
	 * supervisor's fd 2, whose size, offset and flags would be shared with
	 * every role (runner/role_log.c). */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || (own_stderr && dup2(log_fd, 2) < 0)) {
		snprintf(err, errlen, "/dev/null as stdin/stdout, its log pipe as stderr: %s", strerror(errno));
		return -1;
	}
	close(null);
	return 0;
}

/* Opened while the child still has the supervisor's host ids, in its own
 * mount namespace: its own host uid may not be allowed to walk the path to a
 * source (e.g. a checkout under a 0700 home) that it may read. */
static int step_open_sources(struct child_ctx *c, char *err, size_t errlen)
{
	return mounts_open_sources(&c->spec->mounts, c->src_fds, SPAWN_BINDS_MAX, err, errlen);
}

static int step_ids(struct child_ctx *c, char *err, size_t errlen)
{
	/* Inside its namespace the role is uid/gid 0, which the maps tie to its
	 * own host ids; until this call it still carried the supervisor's. */
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		snprintf(err, errlen, "setresuid/setresgid to the mapped ids: %s", strerror(errno));
		return -1;
	}
	if (setsid() < 0) {
		snprintf(err, errlen, "setsid: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NAME, c->spec->comm) < 0) {
		snprintf(err, errlen, "prctl(PR_SET_NAME): %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int step_mounts(struct child_ctx *c, char *err, size_t errlen)
{
	return mounts_enter_root(&c->spec->mounts, c->src_fds, err, errlen);
}

static int step_net(struct child_ctx *c, char *err, size_t errlen)
{
	return c->spec->net_lo && !c->spec->weaken_host_netns && !c->spec->host_network ? netns_lo_up(err, errlen) : 0;
}

static int step_hostname(struct child_ctx *c, char *err, size_t errlen)
{
	if (sethostname(c->spec->hostname, strlen(c->spec->hostname)) < 0) {
		snprintf(err, errlen, "sethostname: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int step_rlimits(struct child_ctx *c, char *err, size_t errlen)
{
	return limits_apply_rlimits(c->spec->limits, err, errlen);
}

/* Changing ids cleared the parent-death signal: set it again, then make
 * sure the supervisor did not die before it was set. getppid() cannot tell
 * from inside a new pid namespace (it is 0 either way), so the check is the
 * status pipe: with no reader left, its write end reports POLLERR. */
static int step_parent_death(struct child_ctx *c, char *err, size_t errlen)
{
	struct pollfd pfd = { .fd = c->status_fd, .events = 0 };
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		snprintf(err, errlen, "prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
		return -1;
	}
	if (poll(&pfd, 1, 0) < 0 || (pfd.revents & POLLERR)) {
		snprintf(err, errlen, "the supervisor is gone");
		return -1;
	}
	return 0;
}

/* Everything above the kept fds, and every hole (-1) among them: what the
 * supervisor had there, and what the steps since opened (a mount source's
 * fd takes the lowest free number, which may be in a hole). */
static int step_close_fds(struct child_ctx *c, char *err, size_t errlen)
{
	const struct role_spec *sp = c->spec;
	if (sp->weaken_keep_fds)
		return 0;
	for (size_t i = 0; i < sp->n_keep; i++) {
		size_t end = i;
		while (end < sp->n_keep && sp->keep_fds[end] < 0)
			end++;
		if (end > i && syscall(SYS_close_range, ROLE_FD_FIRST + (unsigned)i, ROLE_FD_FIRST + (unsigned)end - 1, 0) < 0) {
			snprintf(err, errlen, "close_range of fds %zu-%zu: %s", ROLE_FD_FIRST + i, ROLE_FD_FIRST + end - 1,
				 strerror(errno));
			return -1;
		}
		i = end;
	}
	if (syscall(SYS_close_range, ROLE_FD_FIRST + (unsigned)sp->n_keep, ~0U, 0) < 0) {
		snprintf(err, errlen, "close_range: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int step_no_new_privs(struct child_ctx *c, char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		snprintf(err, errlen, "prctl(NO_NEW_PRIVS/DUMPABLE): %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int step_caps(struct child_ctx *c, char *err, size_t errlen)
{
	if (c->spec->weaken_keep_caps)
		return 0;
	return caps_drop_all(err, errlen);
}

static int step_landlock(struct child_ctx *c, char *err, size_t errlen)
{
	int abi = 0;
	if (MEMCHECK_BUILD)
		return 0;
	int rc = landlock_restrict(c->spec->landlock, c->spec->n_landlock, &abi, err, errlen);
	if (rc == 1)
		return 0; /* the kernel has no Landlock: the supervisor warned at start */
	return rc;
}

/* Roles read no time zone file once sealed: TZ fixed to UTC and read now.
 * It is the only variable in a role's environment (step_environment). */
static int step_time_zone(struct child_ctx *c, char *err, size_t errlen)
{
	if (setenv("TZ", "UTC", 1) < 0) {
		snprintf(err, errlen, "setenv TZ: %s", strerror(errno));
		return -1;
	}
	tzset();
	return 0;
}

/* The seal the role calls just before its main loop: seccomp, last. */
static int seal_seccomp(void *ctx, char *err, size_t errlen)
{
	struct child_ctx *c = ctx;
	if (c->spec->weaken_no_seccomp || MEMCHECK_BUILD)
		return 0;
	return seccomp_policy_install(c->spec->seccomp, err, errlen);
}

static const struct {
	const char *name;
	child_step run;
} child_steps[] = {
	{ "release", step_wait_release },
	{ "reseed", step_reseed },
	{ "environment", step_environment },
	{ "fds", step_move_fds },
	{ "mount sources", step_open_sources },
	{ "ids", step_ids },
	{ "mounts", step_mounts },
	{ "network", step_net },
	{ "hostname", step_hostname },
	{ "rlimits", step_rlimits },
	{ "parent-death signal", step_parent_death },
	{ "close fds", step_close_fds },
	{ "no_new_privs", step_no_new_privs },
	{ "capabilities", step_caps },
	{ "landlock", step_landlock },
	{ "time zone", step_time_zone },
};

static _Noreturn void child_run(const struct role_spec *spec, int sync_rd, bool late_cgroup_ns)
{
	struct child_ctx c = { .spec = spec,
			       .sync_rd = sync_rd,
			       .status_fd = spec->keep_fds[spec->status_index],
			       .late_cgroup_ns = late_cgroup_ns };
	char err[512];

	/* Before anything of its own: what the supervisor's deeper calls left
	 * on the stack (log lines of other roles on their way) goes. Not under
	 * valgrind, whose own stack the maps show. */
	if (!MEMCHECK_BUILD && forkwipe_dead_stack() < 0)
		child_fail(&c, "stack", "cannot read the stack's bounds in /proc/self/maps");
	/* No prefix: the supervisor labels, stamps and formats every line of
	 * its log pipe. The level is the supervisor's, kept by the clone. */
	log_as_role();
	log_init(spec->weaken_shared_stderr ? spec->label : "");
	for (size_t i = 0; i < sizeof(child_steps) / sizeof(child_steps[0]); i++) {
		err[0] = '\0';
		if (child_steps[i].run(&c, err, sizeof(err)) < 0)
			child_fail(&c, child_steps[i].name, err);
	}
	struct role_seal seal = { .fn = seal_seccomp, .ctx = &c };
	_exit(spec->entry(spec->arg, &seal));
}

static uint64_t role_ns_flags(const struct role_spec *spec)
{
	bool host_net = spec->weaken_host_netns || spec->host_network;
	return (NS_FLAGS & ~(host_net ? (uint64_t)CLONE_NEWNET : 0)) | CLONE_PIDFD;
}

/* clone3 places the child in its cgroup atomically. Where clone3 is ENOSYS
 * (valgrind, which the memcheck build runs under; container runtimes that
 * filter it) the plain clone(2) does the same in three steps: the child is
 * cloned without its cgroup namespace, the supervisor moves it into its
 * cgroup before releasing it (spawn_role), and the child unshares the
 * cgroup namespace once released (step_wait_release). */
static pid_t clone_role(const struct role_spec *spec, int *pidfd, bool *late_cgroup_ns)
{
	struct clone_args args = {
		.flags = role_ns_flags(spec),
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
	};
	if (spec->cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)spec->cgroup_fd;
	}
	*late_cgroup_ns = false;
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid >= 0 || errno != ENOSYS)
		return pid;
	*late_cgroup_ns = true;
	unsigned long flags = (unsigned long)(role_ns_flags(spec) & ~(uint64_t)CLONE_NEWCGROUP) | SIGCHLD;
	return (pid_t)syscall(SYS_clone, flags, NULL, pidfd, NULL, 0UL);
}

/* The clone(2) path's cgroup placement; nothing to do after clone3. */
static int place_in_cgroup(const struct role_spec *spec, pid_t pid, bool late, char *err, size_t errlen)
{
	if (!late || spec->cgroup_fd < 0)
		return 0;
	int fd = openat(spec->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || dprintf(fd, "%d\n", (int)pid) < 0) {
		snprintf(err, errlen, "move pid %d into its cgroup: %s", (int)pid, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Where pidfd_send_signal is ENOSYS (valgrind 3.19, which the memcheck
 * build runs under), kill(2) is as exact: the supervisor reaps its children
 * only through their pidfds after they exited, so an unreaped pid cannot
 * have been reused. */
int role_proc_signal(const struct role_proc *rp, int sig)
{
	if (syscall(SYS_pidfd_send_signal, rp->pidfd, sig, NULL, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	return kill(rp->pid, sig);
}

static void kill_and_reap(struct role_proc *rp)
{
	siginfo_t si;
	role_proc_signal(rp, SIGKILL);
	waitid((idtype_t)P_PIDFD, (id_t)rp->pidfd, &si, WEXITED);
	close(rp->pidfd);
}

/* The supplementary groups a role is cloned with. They must be gone
 * before the clone, in the supervisor: the child is born in its new user
 * namespace, where setgroups(2) is refused ("deny" in /proc/PID/setgroups,
 * and no CAP_SETGID over the host's groups), yet it keeps the list it was
 * cloned with, so a gid the supervisor inherited (0 under sudo) would
 * still count for every file access the role makes. Clearing the
 * supervisor's own list costs it nothing: it is root with every
 * capability, and DAC does not consult its groups. Doing it here, not once
 * at start, covers every path that starts a role (run, restart, audit,
 * tests). The list found first is kept only for the test-only weakening
 * weaken_keep_groups, which clones with it and clears it again. */
static gid_t *inherited_groups;
static int n_inherited_groups = -1;

static int clear_groups(bool keep_inherited, char *err, size_t errlen)
{
	if (n_inherited_groups < 0) {
		int n = getgroups(0, NULL);
		gid_t *list = n > 0 ? calloc((size_t)n, sizeof(*list)) : NULL;
		if (n < 0 || (n > 0 && (!list || getgroups(n, list) != n))) {
			snprintf(err, errlen, "getgroups: %s", strerror(errno));
			free(list);
			return -1;
		}
		inherited_groups = list;
		n_inherited_groups = n;
	}
	int rc = keep_inherited ? setgroups((size_t)n_inherited_groups, inherited_groups) : setgroups(0, NULL);
	if (rc < 0) {
		snprintf(err, errlen, "setgroups: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int spawn_role(const struct role_spec *spec, struct role_proc *out, char *err, size_t errlen)
{
	int sync[2];
	err[0] = '\0';
	if (spec->n_keep > PLAN_SPAWN_FDS_MAX || spec->mounts.n_binds > SPAWN_BINDS_MAX) {
		snprintf(err, errlen, "too many fds or binds for one role");
		return -1;
	}
	/* A rootless supervisor cannot drop its groups (runner/rootless.c) */
	if (!spec->shared_host_ids && clear_groups(spec->weaken_keep_groups, err, errlen) < 0)
		return -1;
	if (pipe2(sync, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	int pidfd = -1;
	bool late_cgroup_ns;
	pid_t pid = clone_role(spec, &pidfd, &late_cgroup_ns);
	if (pid == 0) {
		close(sync[1]);
		child_run(spec, sync[0], late_cgroup_ns);
	}
	if (spec->weaken_keep_groups && clear_groups(false, err, errlen) < 0) {
		log_error("%s", err); /* the next spawn clears them again */
		err[0] = '\0';
	}
	close(sync[0]);
	if (pid < 0) {
		snprintf(err, errlen, "%s with new user/net/mount/pid/ipc/uts/cgroup namespaces: %s",
			 late_cgroup_ns ? "clone" : "clone3", strerror(errno));
		close(sync[1]);
		return -1;
	}
	out->pid = pid;
	out->pidfd = pidfd;
	if (userns_write_maps(pid, spec->host_uid, spec->host_gid, err, errlen) < 0 ||
	    place_in_cgroup(spec, pid, late_cgroup_ns, err, errlen) < 0 || write(sync[1], "g", 1) != 1) {
		if (!*err)
			snprintf(err, errlen, "release: %s", strerror(errno));
		close(sync[1]);
		kill_and_reap(out);
		return -1;
	}
	close(sync[1]);
	return 0;
}
