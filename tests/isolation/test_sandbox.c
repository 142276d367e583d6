/* SPDX-License-Identifier: Apache-2.0 */
/* Forbidden actions tried from inside the real sandboxes: the plan is
 * prepared exactly as a run prepares it (plan_prepare), and each role's
 * own spec is spawned through spawn_role with only its main replaced by a
 * probe. A probe seals itself first (the role's own seccomp policy, as in
 * production), tries one thing and exits with the errno it got (0 for
 * success), or dies by SIGSYS. A few probes act before the seal, to show
 * that the layers under seccomp (namespaces, mounts, Landlock, one-way
 * channels) hold on their own. Needs root. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/landlock.h"
#include "../../runner/append_only.h"
#include "../../runner/ledger_file.h"
#include "../../runner/plan.h"
#include "../../runner/seccomp.h"
#include "../../runner/seccomp_log.h"
#include "../../runner/spawn.h"
#include "../../runner/topology.h"
#include "../common/harness.h"

enum { ROLE_IM = 0, ROLE_AS = 1, ROLE_PA = 2, ROLE_PB = 3 };

/* Exit codes no errno can take. */
enum { PROBE_RETURNED_DATA = 200, PROBE_SEAL_FAILED = 201 };

struct probe;
typedef int (*probe_act)(const struct probe *p);

struct probe {
	probe_act act;
	bool before_seal; /* act under every layer but seccomp */
	long num;         /* fd, pid or port, per action */
	const char *path;
};

struct outcome {
	bool sigsys;
	int exit_code;  /* when it exited */
	long trapped;   /* syscall the kernel's audit record named, -1 if none */
};

static struct {
	struct mpbs m;
	struct topology t;
	struct run_plan plan;
	bool loaded, prepared;
} fx;

static void setup(void)
{
	char err[1024] = "";
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(mpbs_prepare(&fx.m, "A B C", NULL), 0, "temporary topology");
	cr_assert_eq(topology_load(&fx.t, fx.m.topology, NULL, 0, err, sizeof(err)), 0, "%s", err);
	fx.loaded = true;
	cr_assert_eq(plan_prepare(&fx.plan, &fx.t, err, sizeof(err)), 0, "%s", err);
	fx.prepared = true;
}

static void teardown(void)
{
	char err[512];
	if (fx.prepared)
		plan_release(&fx.plan);
	if (fx.loaded)
		topology_free(&fx.t);
	if (fx.m.dir[0] && append_only_clear(fx.m.ledger, err, sizeof(err)) < 0)
		cr_log_info("%s", err);
	mpbs_cleanup(&fx.m);
}

static int errno_or_zero(long rc)
{
	return rc < 0 ? errno : 0;
}

static int probe_main(void *arg, const struct role_seal *seal)
{
	const struct probe *p = arg;
	char err[512];
	if (!p->before_seal && seal->fn(seal->ctx, err, sizeof(err)) < 0)
		return PROBE_SEAL_FAILED;
	return p->act(p);
}

/* Empties the role's status pipe so the next SIGSYS record is this probe's. */
static void drain_status(int fd)
{
	char buf[256];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* The kernel's audit records of seccomp kills, as the supervisor reads them. */
static struct seccomp_log kernel_log = { .fd = -1 };

static void open_kernel_log(void)
{
	char err[256];
	if (kernel_log.fd < 0)
		cr_assert_eq(seccomp_log_open(&kernel_log, err, sizeof(err)), 0, "%s", err);
}

static long kernel_named(pid_t pid)
{
	struct seccomp_kill kill;
	return seccomp_log_find(&kernel_log, pid, 2000, &kill) && kill.native ? kill.nr : -1;
}

static struct outcome run_in(size_t role, const struct probe *p)
{
	struct role_plan *r = &fx.plan.roles[role];
	struct role_spec spec = r->spec;
	struct role_proc rp;
	char err[1024] = "";
	siginfo_t si = { 0 };

	spec.entry = probe_main;
	spec.arg = (void *)p;
	open_kernel_log(); /* before the probe runs: its record must find a listener */
	drain_status(r->status_rd);
	drain_status(r->stderr_rd); /* its log pipe: nobody else reads it here, and a full one would block */
	cr_assert_eq(spawn_role(&spec, &rp, err, sizeof(err)), 0, "spawn %s: %s", r->label, err);
	cr_assert_eq(waitid((idtype_t)P_PIDFD, (id_t)rp.pidfd, &si, WEXITED), 0, "waitid: %s", strerror(errno));
	close(rp.pidfd);
	struct outcome o = { .trapped = -1 };
	o.sigsys = seccomp_log_killed(&si);
	cr_assert(o.sigsys || si.si_code == CLD_EXITED, "%s: probe died by signal %d", r->label, si.si_status);
	o.exit_code = si.si_code == CLD_EXITED ? si.si_status : -1;
	char first = 0;
	bool setup_error = !o.sigsys && read(r->status_rd, &first, 1) == 1 && first == STATUS_ERROR;
	cr_assert(!setup_error, "%s: sandbox setup failed", r->label); /* not exit 111: that is ECONNREFUSED too */
	cr_assert_neq(o.exit_code, PROBE_SEAL_FAILED, "%s: the seal failed", r->label);
	if (o.sigsys)
		o.trapped = kernel_named(rp.pid);
	return o;
}

static void expect_sigsys(size_t role, const struct probe *p, long nr)
{
	struct outcome o = run_in(role, p);
	char want[64], got[64];
	cr_assert(o.sigsys, "%s: expected SIGSYS on %s, exited %d (%s)", fx.plan.roles[role].label,
		  seccomp_syscall_name_r(nr, want, sizeof(want)), o.exit_code, strerror(o.exit_code));
	cr_assert_eq(o.trapped, nr, "%s: trapped %s, expected %s", fx.plan.roles[role].label,
		     seccomp_syscall_name_r(o.trapped, got, sizeof(got)), seccomp_syscall_name_r(nr, want, sizeof(want)));
}

static void expect_exit(size_t role, const struct probe *p, int code)
{
	struct outcome o = run_in(role, p);
	char got[64];
	cr_assert(!o.sigsys, "%s: expected exit %d, died by SIGSYS on %s", fx.plan.roles[role].label, code,
		  seccomp_syscall_name_r(o.trapped, got, sizeof(got)));
	cr_assert_eq(o.exit_code, code, "%s: expected %d (%s), got %d (%s)", fx.plan.roles[role].label, code,
		     strerror(code), o.exit_code, strerror(o.exit_code));
}

/* ---- actions ---- */

static int act_socket_inet(const struct probe *p)
{
	return errno_or_zero(syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
}

static int act_socket_unix(const struct probe *p)
{
	return errno_or_zero(syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
}

static struct sockaddr_in loopback(long port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

/* A TCP connection to 127.0.0.1:num, as a client would make it. */
static int act_connect_tcp(const struct probe *p)
{
	struct sockaddr_in sa = loopback(p->num);
	long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	return errno_or_zero(syscall(SYS_connect, fd, &sa, sizeof(sa)));
}

/* connect on an fd the role holds (the intermediary's listener is fd 3). */
static int act_connect_fd(const struct probe *p)
{
	struct sockaddr_in sa = loopback(80);
	return errno_or_zero(syscall(SYS_connect, p->num, &sa, sizeof(sa)));
}

static int act_openat(const struct probe *p)
{
	return errno_or_zero(syscall(SYS_openat, AT_FDCWD, p->path, O_RDONLY | O_CLOEXEC));
}

static int act_execve(const struct probe *p)
{
	char *const argv[] = { (char *)p->path, NULL };
	char *const envp[] = { NULL };
	return errno_or_zero(syscall(SYS_execve, p->path, argv, envp));
}

static int act_kill(const struct probe *p)
{
	return errno_or_zero(syscall(SYS_kill, p->num, SIGKILL));
}

static int act_ptrace(const struct probe *p)
{
	return errno_or_zero(syscall(SYS_ptrace, PTRACE_ATTACH, p->num, 0, 0));
}

static int act_unshare_user(const struct probe *p)
{
	return errno_or_zero(syscall(SYS_unshare, CLONE_NEWUSER));
}

static int act_setns(const struct probe *p)
{
	return errno_or_zero(syscall(SYS_setns, p->num, CLONE_NEWNET));
}

static int act_mount(const struct probe *p)
{
	return errno_or_zero(syscall(SYS_mount, "none", "/", "tmpfs", 0UL, "size=1m"));
}

static int act_bpf(const struct probe *p)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 8;
	attr.max_entries = 1;
	return errno_or_zero(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
}

static int act_keyctl(const struct probe *p)
{
	return errno_or_zero(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
}

static int act_io_uring(const struct probe *p)
{
	struct io_uring_params params;
	memset(&params, 0, sizeof(params));
	return errno_or_zero(syscall(SYS_io_uring_setup, 8, &params));
}

static int act_userfaultfd(const struct probe *p)
{
	return errno_or_zero(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
}

static int act_perf_event(const struct probe *p)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	return errno_or_zero(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0UL));
}

static int act_mmap_wx(const struct probe *p)
{
	return errno_or_zero(syscall(SYS_mmap, NULL, 4096UL, PROT_READ | PROT_WRITE | PROT_EXEC,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L));
}

/* One message on fd num, never blocking, never raising SIGPIPE. */
static int act_send(const struct probe *p)
{
	return errno_or_zero(send((int)p->num, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
}

static int act_recv(const struct probe *p)
{
	char buf[64];
	ssize_t n = recv((int)p->num, buf, sizeof(buf), MSG_DONTWAIT);
	return n < 0 ? errno : n > 0 ? PROBE_RETURNED_DATA : 0;
}

/* read(2), the intermediary's only reading call; poll first, so a channel
 * with nothing to read answers EAGAIN instead of blocking the probe. */
static int act_read(const struct probe *p)
{
	char buf[64];
	struct pollfd pfd = { .fd = (int)p->num, .events = POLLIN };
	if (poll(&pfd, 1, 0) < 0)
		return errno;
	if (!(pfd.revents & (POLLIN | POLLHUP | POLLRDHUP | POLLERR)))
		return EAGAIN;
	ssize_t n = read((int)p->num, buf, sizeof(buf));
	return n < 0 ? errno : n > 0 ? PROBE_RETURNED_DATA : 0;
}

/* ---- a victim: the intermediary's sandbox, waiting to be attacked ---- */

static _Noreturn int victim_main(void *arg, const struct role_seal *seal)
{
	for (;;)
		pause();
}

static struct role_proc start_victim(void)
{
	struct role_spec spec = fx.plan.roles[ROLE_IM].spec;
	struct role_proc rp;
	char err[1024] = "";
	spec.entry = victim_main;
	spec.arg = NULL;
	cr_assert_eq(spawn_role(&spec, &rp, err, sizeof(err)), 0, "spawn victim: %s", err);
	return rp;
}

static bool still_alive(const struct role_proc *rp)
{
	struct pollfd pfd = { .fd = rp->pidfd, .events = POLLIN };
	return poll(&pfd, 1, 100) == 0;
}

static void stop_victim(struct role_proc *rp)
{
	siginfo_t si;
	syscall(SYS_pidfd_send_signal, rp->pidfd, SIGKILL, NULL, 0);
	waitid((idtype_t)P_PIDFD, (id_t)rp->pidfd, &si, WEXITED);
	close(rp->pidfd);
}

/* ---- provider ---- */

#define SANDBOX_TEST(name) Test(iso_sandbox, name, .init = setup, .fini = teardown, .timeout = 60)

SANDBOX_TEST(provider_inet_socket_is_killed)
{
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_socket_inet }, SYS_socket);
}

/* A provider without programs makes no socket at all once sealed. */
SANDBOX_TEST(provider_unix_socket_is_killed)
{
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_socket_unix }, SYS_socket);
}

SANDBOX_TEST(provider_cannot_connect_to_the_intermediary_port)
{
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_connect_tcp, .num = fx.m.port }, SYS_socket);
	/* Without seccomp, Landlock (ABI 4+) refuses any TCP connect; without
	 * it, the netns holds only lo and the listener, in the host's netns,
	 * is not there. */
	expect_exit(ROLE_PA, &(struct probe){ .act = act_connect_tcp, .num = fx.m.port, .before_seal = true },
		    landlock_abi_version() >= 4 ? EACCES : ECONNREFUSED);
}

SANDBOX_TEST(provider_cannot_open_another_providers_key)
{
	char host_key[PATH_MAX + 32], escape[2 * PATH_MAX];
	snprintf(host_key, sizeof(host_key), "%s/signal.key", fx.t.providers[1].keys);
	snprintf(escape, sizeof(escape), "/keys/../../..%s", host_key);
	/* its own key opens before the seal: the paths below are not broken */
	expect_exit(ROLE_PA, &(struct probe){ .act = act_openat, .path = "/keys/signal.key", .before_seal = true }, 0);
	expect_exit(ROLE_PA, &(struct probe){ .act = act_openat, .path = host_key, .before_seal = true }, ENOENT);
	expect_exit(ROLE_PA, &(struct probe){ .act = act_openat, .path = escape, .before_seal = true }, ENOENT);
	expect_exit(ROLE_PA, &(struct probe){ .act = act_openat, .path = "/keys/../keys/../B/signal.key",
					      .before_seal = true }, ENOENT);
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_openat, .path = host_key }, SYS_openat);
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_openat, .path = escape }, SYS_openat);
}

SANDBOX_TEST(provider_cannot_kill_or_trace_the_intermediary)
{
	struct role_proc victim = start_victim();
	expect_exit(ROLE_PA, &(struct probe){ .act = act_kill, .num = victim.pid, .before_seal = true }, ESRCH);
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_kill, .num = victim.pid }, SYS_kill);
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_ptrace, .num = victim.pid }, SYS_ptrace);
	expect_exit(ROLE_PA, &(struct probe){ .act = act_ptrace, .num = victim.pid, .before_seal = true }, ESRCH);
	bool alive = still_alive(&victim);
	stop_victim(&victim);
	cr_assert(alive, "the intermediary's sandbox died while a provider attacked it");
}

SANDBOX_TEST(provider_cannot_leave_its_namespaces)
{
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_unshare_user }, SYS_unshare);
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_setns, .num = 3 }, SYS_setns);
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_mount }, SYS_mount);
}

SANDBOX_TEST(provider_cannot_reach_kernel_interfaces)
{
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_bpf }, SYS_bpf);
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_keyctl }, SYS_keyctl);
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_io_uring }, SYS_io_uring_setup);
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_userfaultfd }, SYS_userfaultfd);
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_perf_event }, SYS_perf_event_open);
}

SANDBOX_TEST(provider_channels_are_one_way)
{
	/* sealed, it has no sendto (its frames leave by sendmmsg) */
	expect_sigsys(ROLE_PA, &(struct probe){ .act = act_send, .num = 3 }, SYS_sendto);
	expect_exit(ROLE_PA, &(struct probe){ .act = act_recv, .num = 4 }, 0);
	/* the same without seccomp: the shutdown()s alone make them one-way */
	expect_exit(ROLE_PA, &(struct probe){ .act = act_send, .num = 3, .before_seal = true }, EPIPE);
	expect_exit(ROLE_PA, &(struct probe){ .act = act_recv, .num = 4, .before_seal = true }, 0);
}

/* ---- intermediary ---- */

SANDBOX_TEST(intermediary_cannot_make_sockets_or_connect)
{
	expect_sigsys(ROLE_IM, &(struct probe){ .act = act_socket_inet }, SYS_socket);
	expect_sigsys(ROLE_IM, &(struct probe){ .act = act_socket_unix }, SYS_socket);
	expect_sigsys(ROLE_IM, &(struct probe){ .act = act_connect_fd, .num = 3 }, SYS_connect);
	/* under seccomp: Landlock (ABI 4+) refuses TCP connect; without it,
	 * a netns with no interface up has no route even to loopback */
	expect_exit(ROLE_IM, &(struct probe){ .act = act_connect_tcp, .num = fx.m.port, .before_seal = true },
		    landlock_abi_version() >= 4 ? EACCES : ENETUNREACH);
}

SANDBOX_TEST(intermediary_cannot_open_or_exec)
{
	char host_key[PATH_MAX + 32];
	snprintf(host_key, sizeof(host_key), "%s/signal.key", fx.t.providers[0].keys);
	expect_sigsys(ROLE_IM, &(struct probe){ .act = act_openat, .path = host_key }, SYS_openat);
	expect_sigsys(ROLE_IM, &(struct probe){ .act = act_openat, .path = fx.m.ledger }, SYS_openat);
	expect_sigsys(ROLE_IM, &(struct probe){ .act = act_execve, .path = "/bin/true" }, SYS_execve);
	/* under seccomp: an empty root */
	expect_exit(ROLE_IM, &(struct probe){ .act = act_openat, .path = host_key, .before_seal = true }, ENOENT);
	expect_exit(ROLE_IM, &(struct probe){ .act = act_execve, .path = "/bin/true", .before_seal = true }, ENOENT);
}

/* End of file at once: the channel is shut toward it. With recv, the
 * channel's refusal is seen before the seal; after it, recvfrom itself is
 * gone and read meets the same end of file. */
SANDBOX_TEST(intermediary_cannot_read_an_artifact_channel)
{
	expect_exit(ROLE_IM, &(struct probe){ .act = act_read, .num = 4 }, 0);
	expect_sigsys(ROLE_IM, &(struct probe){ .act = act_recv, .num = 4 }, SYS_recvfrom);
	expect_exit(ROLE_IM, &(struct probe){ .act = act_recv, .num = 4, .before_seal = true }, 0);
}

SANDBOX_TEST(intermediary_cannot_trace_or_map_wx)
{
	struct role_proc victim = start_victim();
	expect_sigsys(ROLE_IM, &(struct probe){ .act = act_ptrace, .num = victim.pid }, SYS_ptrace);
	stop_victim(&victim);
	expect_sigsys(ROLE_IM, &(struct probe){ .act = act_mmap_wx }, SYS_mmap);
}

/* ---- association ---- */

SANDBOX_TEST(association_cannot_use_the_network_or_exec)
{
	expect_sigsys(ROLE_AS, &(struct probe){ .act = act_socket_inet }, SYS_socket);
	expect_sigsys(ROLE_AS, &(struct probe){ .act = act_execve, .path = "/bin/true" }, SYS_execve);
}

SANDBOX_TEST(association_cannot_open_files_outside_its_ledger)
{
	char host_key[PATH_MAX + 32];
	snprintf(host_key, sizeof(host_key), "%s/signal.key", fx.t.providers[0].keys);
	expect_sigsys(ROLE_AS, &(struct probe){ .act = act_openat, .path = host_key }, SYS_openat);
	expect_sigsys(ROLE_AS, &(struct probe){ .act = act_openat, .path = fx.m.topology }, SYS_openat);
	expect_exit(ROLE_AS, &(struct probe){ .act = act_openat, .path = host_key, .before_seal = true }, ENOENT);
}

/* Sealed, the association has no send call at all; the channel end is
 * shut for writing underneath (EPIPE before the seal). */
SANDBOX_TEST(association_cannot_write_to_a_signal_channel)
{
	expect_sigsys(ROLE_AS, &(struct probe){ .act = act_send, .num = ASSOCIATION_FD_SIGNAL(0) }, __NR_sendto);
	expect_exit(ROLE_AS, &(struct probe){ .act = act_send, .num = ASSOCIATION_FD_SIGNAL(0), .before_seal = true },
		    EPIPE);
}
