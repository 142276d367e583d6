/* SPDX-License-Identifier: Apache-2.0 */
/* The shipped seccomp policies installed for real: each case forks its own
 * child, which sets no_new_privs (and, for some cases, a SIGSYS handler a
 * hostile role could have) and installs a policy,
 * then tries one thing; the parent judges from outside how the child ended
 * and the kernel's audit record of the kill. Needs root (CAP_AUDIT_READ). */
#define _GNU_SOURCE
#include "../../runner/seccomp.h"
#include "../../runner/seccomp_log.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define X32_SYSCALL_BIT 0x40000000

struct outcome {
	int status;
	pid_t pid;
};

/* Exit codes of a child whose setup failed, so they cannot pass for a
 * result of the case itself. */
enum { CHILD_OK = 0, CHILD_CASE_FAILED = 1, CHILD_SETUP_FAILED = 90 };

/* The kernel's audit records of seccomp kills: the name of a denied call
 * comes from there, as in the supervisor. */
static struct seccomp_log kernel_log = { .fd = -1 };

static struct seccomp_policy *load_policy(const char *name)
{
	char path[PATH_MAX], err[512] = "";
	struct seccomp_policy *p = NULL;
	const char *src = getenv("MPBS_SRCDIR");
	snprintf(path, sizeof(path), "%s/policy/%s", src && *src ? src : ".", name);
	cr_assert_eq(seccomp_policy_load(path, &p, err, sizeof(err)), 0, "%s: %s", path, err);
	return p;
}

static void swallow_sigsys(int sig)
{
	(void)sig;
}

/* with_handler: a SIGSYS handler that just returns is installed before the
 * filter, as a hostile role could; a denied call must kill all the same. */
static void child_setup(const struct seccomp_policy *p, bool with_handler)
{
	char err[512];
	const struct rlimit no_core = { 0, 0 };
	struct sigaction sa = { .sa_handler = swallow_sigsys };
	if (setrlimit(RLIMIT_CORE, &no_core) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(CHILD_SETUP_FAILED);
	if (with_handler && sigaction(SIGSYS, &sa, NULL) < 0)
		_exit(CHILD_SETUP_FAILED);
	if (p && seccomp_policy_install(p, err, sizeof(err)) < 0) {
		dprintf(2, "%s\n", err);
		_exit(CHILD_SETUP_FAILED);
	}
}

/* Runs ACT in a fresh child under policy NAME (none if NULL). */
static struct outcome run_case(const char *name, bool with_handler, void (*act)(void))
{
	struct outcome o = { 0 };
	struct seccomp_policy *p = name ? load_policy(name) : NULL;
	char err[256];
	if (kernel_log.fd < 0)
		cr_assert_eq(seccomp_log_open(&kernel_log, err, sizeof(err)), 0, "%s", err);
	o.pid = fork();
	cr_assert_geq(o.pid, 0, "fork: %s", strerror(errno));
	if (o.pid == 0) {
		child_setup(p, with_handler);
		act();
		_exit(CHILD_OK);
	}
	cr_assert_eq(waitpid(o.pid, &o.status, 0), o.pid, "waitpid: %s", strerror(errno));
	seccomp_policy_free(p);
	cr_assert(!(WIFEXITED(o.status) && WEXITSTATUS(o.status) == CHILD_SETUP_FAILED), "child setup failed");
	return o;
}

static void assert_exited_ok(const struct outcome *o)
{
	cr_assert(WIFEXITED(o->status) && WEXITSTATUS(o->status) == CHILD_OK,
		  "child did not exit 0: status 0x%x (signal %d)", o->status,
		  WIFSIGNALED(o->status) ? WTERMSIG(o->status) : 0);
}

static struct seccomp_kill assert_killed_by_seccomp(const struct outcome *o)
{
	struct seccomp_kill kill;
	cr_assert(WIFSIGNALED(o->status), "child was not killed: status 0x%x (exit %d)", o->status,
		  WIFEXITED(o->status) ? WEXITSTATUS(o->status) : -1);
	cr_assert_eq(WTERMSIG(o->status), SIGSYS, "killed by signal %d, not SIGSYS", WTERMSIG(o->status));
	cr_assert_eq(seccomp_log_find(&kernel_log, o->pid, 2000, &kill), 1,
		     "the kernel's audit log has no seccomp kill of pid %d", (int)o->pid);
	return kill;
}

/* Killed by seccomp, and the kernel's record names NR. */
static void assert_trapped(const struct outcome *o, long nr)
{
	struct seccomp_kill kill = assert_killed_by_seccomp(o);
	cr_assert(kill.native && kill.nr == nr, "the kernel names syscall %ld (%s), expected %ld (%s)", kill.nr,
		  kill.native ? seccomp_syscall_name(kill.nr) : "another arch", nr,
		  seccomp_syscall_name_r(nr, (char[40]){ 0 }, 40));
}

/* Killed by the bad-arch action: the record names another architecture. */
static void assert_killed_as_foreign_arch(const struct outcome *o)
{
	struct seccomp_kill kill = assert_killed_by_seccomp(o);
	cr_assert(!kill.native, "the kernel names native syscall %ld", kill.nr);
}

/* ---- what the children try ---- */

static void act_getpid(void)
{
	pid_t a = getpid();
	if (a <= 0 || syscall(SYS_getpid) != a)
		_exit(CHILD_CASE_FAILED);
}

static void act_socket_inet(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
}

static void act_socket_unix_seqpacket(void)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || close(fd) < 0)
		_exit(CHILD_CASE_FAILED);
}

static void act_mmap_write_exec(void)
{
	mmap(NULL, 4096, PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void act_mmap_read_write(void)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || munmap(m, 4096) < 0)
		_exit(CHILD_CASE_FAILED);
}

static void act_mprotect_exec(void)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		_exit(CHILD_CASE_FAILED);
	mprotect(m, 4096, PROT_READ | PROT_EXEC);
}

static void act_x32_getpid(void)
{
	syscall(__NR_getpid | X32_SYSCALL_BIT);
}

#ifdef __x86_64__
/* getpid through the i386 entry point (i386 syscall 20). */
static long int80_getpid(void)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static void act_int80_getpid(void)
{
	if (int80_getpid() != getpid())
		_exit(CHILD_CASE_FAILED);
}
#endif

static void act_io_uring_setup(void)
{
	struct io_uring_params params = { 0 };
	syscall(__NR_io_uring_setup, 1, &params);
}

static void act_execve_true(void)
{
	char *const argv[] = { "true", NULL };
	execve("/bin/true", argv, (char *[]){ NULL });
	_exit(CHILD_CASE_FAILED);
}

static void act_openat(void)
{
	openat(AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
}

static void act_unshare_userns(void)
{
	unshare(CLONE_NEWUSER);
}

static void act_clone_new_userns(void)
{
	syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L);
}

static void act_clone3_is_enosys(void)
{
	errno = 0;
	if (syscall(SYS_clone3, NULL, 0L) != -1 || errno != ENOSYS)
		_exit(CHILD_CASE_FAILED);
}

/* fork + exec + wait, the way a provider runs its evaluator; exits with
 * the program's status. */
static void run_program(char *const argv[], int expect_status)
{
	int status;
	pid_t pid = fork();
	if (pid < 0)
		_exit(CHILD_CASE_FAILED);
	if (pid == 0) {
		execve(argv[0], argv, (char *[]){ "PATH=/usr/bin:/bin", NULL });
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != expect_status)
		_exit(CHILD_CASE_FAILED);
}

static void act_fork_exec_true(void)
{
	run_program((char *[]){ "/bin/true", NULL }, 0);
}

static void act_fork_exec_shell(void)
{
	run_program((char *[]){ "/bin/sh", "-c", "x=$(echo 3); /bin/true && exit $x", NULL }, 3);
}

/* ---- allowed calls work ---- */

Test(iso_seccomp, allowed_call_works, .timeout = 20)
{
	struct outcome o = run_case("provider.policy", true, act_getpid);
	assert_exited_ok(&o);
}

/* Programs a provider runs may open AF_UNIX sockets (glibc's nscd probe);
 * the provider itself may not. */
Test(iso_seccomp, provider_exec_may_open_a_unix_seqpacket_socket, .timeout = 20)
{
	struct outcome o = run_case("provider-exec.policy", true, act_socket_unix_seqpacket);
	assert_exited_ok(&o);
}

Test(iso_seccomp, provider_unix_socket_is_reported_and_kills, .timeout = 20)
{
	struct outcome o = run_case("provider.policy", true, act_socket_unix_seqpacket);
	assert_trapped(&o, __NR_socket);
}

Test(iso_seccomp, plain_memory_mappings_work, .timeout = 20)
{
	struct outcome o = run_case("intermediary.policy", true, act_mmap_read_write);
	assert_exited_ok(&o);
}

/* ---- denied calls trap, are reported, and kill by SIGSYS ---- */

Test(iso_seccomp, provider_socket_inet_is_reported_and_kills, .timeout = 20)
{
	struct outcome o = run_case("provider.policy", true, act_socket_inet);
	assert_trapped(&o, __NR_socket);
}

Test(iso_seccomp, write_exec_mapping_kills, .timeout = 20)
{
	struct outcome o = run_case("provider.policy", true, act_mmap_write_exec);
	assert_trapped(&o, __NR_mmap);
}

Test(iso_seccomp, making_memory_executable_kills, .timeout = 20)
{
	struct outcome o = run_case("intermediary.policy", true, act_mprotect_exec);
	assert_trapped(&o, __NR_mprotect);
}

Test(iso_seccomp, io_uring_setup_kills, .timeout = 20)
{
	struct outcome o = run_case("provider-exec.policy", true, act_io_uring_setup);
	assert_trapped(&o, __NR_io_uring_setup);
}

Test(iso_seccomp, provider_cannot_exec, .timeout = 20)
{
	struct outcome o = run_case("provider.policy", true, act_execve_true);
	assert_trapped(&o, __NR_execve);
}

Test(iso_seccomp, intermediary_cannot_open_files_or_sockets, .timeout = 20)
{
	struct outcome o = run_case("intermediary.policy", true, act_openat);
	assert_trapped(&o, __NR_openat);
	o = run_case("intermediary.policy", true, act_socket_unix_seqpacket);
	assert_trapped(&o, __NR_socket);
}

Test(iso_seccomp, association_cannot_exec_or_open_sockets, .timeout = 20)
{
	struct outcome o = run_case("association.policy", true, act_execve_true);
	assert_trapped(&o, __NR_execve);
	o = run_case("association.policy", true, act_socket_unix_seqpacket);
	assert_trapped(&o, __NR_socket);
}

Test(iso_seccomp, no_new_user_namespace_even_with_exec_policy, .timeout = 20)
{
	struct outcome o = run_case("provider-exec.policy", true, act_unshare_userns);
	assert_trapped(&o, __NR_unshare);
	o = run_case("provider-exec.policy", true, act_clone_new_userns);
	assert_trapped(&o, __NR_clone);
}

Test(iso_seccomp, a_denied_call_kills_with_or_without_a_sigsys_handler, .timeout = 20)
{
	struct outcome o = run_case("provider.policy", false, act_socket_inet);
	assert_trapped(&o, SYS_socket);
	o = run_case("provider.policy", true, act_socket_inet);
	assert_trapped(&o, SYS_socket);
}

/* ---- other architectures' entry points die outright ---- */

Test(iso_seccomp, x32_syscall_kills, .timeout = 20)
{
	struct outcome o = run_case("provider.policy", true, act_x32_getpid);
	assert_killed_as_foreign_arch(&o);
}

#ifdef __x86_64__
Test(iso_seccomp, int80_syscall_kills, .timeout = 20)
{
	/* without a filter the i386 entry must work, or the kernel has no
	 * IA32 emulation and the case below would prove nothing */
	struct outcome o = run_case(NULL, false, act_int80_getpid);
	if (!(WIFEXITED(o.status) && WEXITSTATUS(o.status) == CHILD_OK))
		cr_skip_test("kernel without IA32 emulation (status 0x%x)", o.status);
	o = run_case("provider.policy", true, act_int80_getpid);
	assert_killed_as_foreign_arch(&o);
}
#endif

/* ---- provider-exec is workable ---- */

Test(iso_seccomp, provider_exec_runs_a_program, .timeout = 20)
{
	struct outcome o = run_case("provider-exec.policy", true, act_fork_exec_true);
	assert_exited_ok(&o);
}

Test(iso_seccomp, provider_exec_runs_a_shell, .timeout = 20)
{
	struct outcome o = run_case("provider-exec.policy", true, act_fork_exec_shell);
	assert_exited_ok(&o);
}

Test(iso_seccomp, provider_exec_clone3_falls_back_with_enosys, .timeout = 20)
{
	struct outcome o = run_case("provider-exec.policy", true, act_clone3_is_enosys);
	assert_exited_ok(&o);
}

/* ---- argument rules: the listener, the send flags, SIGSYS ---- */

/* A call the policy allows exits 0 whatever the kernel answers (these fds
 * are not sockets in the child): what is judged is only whether the filter
 * let it through. */
static void act_shutdown_fd3_rdwr(void)
{
	syscall(SYS_shutdown, 3L, (long)SHUT_RDWR);
}

static void act_shutdown_fd3_upper_bits(void)
{
	syscall(SYS_shutdown, 0x100000003L, (long)SHUT_RDWR);
}

static void act_shutdown_fd3_rd(void)
{
	syscall(SYS_shutdown, 3L, (long)SHUT_RD);
}

static void act_shutdown_fd3_wr(void)
{
	syscall(SYS_shutdown, 3L, (long)SHUT_WR);
}

static void act_shutdown_fd5_rdwr(void)
{
	syscall(SYS_shutdown, 5L, (long)SHUT_RDWR);
}

static void act_shutdown_fd5_wr(void)
{
	syscall(SYS_shutdown, 5L, (long)SHUT_WR);
}

static void act_shutdown_high_fd_wr(void)
{
	syscall(SYS_shutdown, 0x7fffffffL, (long)SHUT_WR);
}

static void act_sendto_fastopen(void)
{
	syscall(SYS_sendto, 3L, "x", 1UL, (long)(MSG_FASTOPEN | MSG_DONTWAIT), NULL, 0L);
}

static void act_sendto_with_address(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	syscall(SYS_sendto, 3L, "x", 1UL, (long)MSG_DONTWAIT, &sa, (long)sizeof(sa));
}

static void act_sendto_plain(void)
{
	syscall(SYS_sendto, 3L, "x", 1UL, (long)(MSG_NOSIGNAL | MSG_DONTWAIT), NULL, 0L);
}

static void act_sendmsg_fastopen(void)
{
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	syscall(SYS_sendmsg, 4L, &m, (long)MSG_FASTOPEN);
}

static void act_sendmsg_plain(void)
{
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	syscall(SYS_sendmsg, 4L, &m, (long)(MSG_NOSIGNAL | MSG_DONTWAIT));
}

static void act_sendmmsg_fastopen(void)
{
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct mmsghdr m = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	syscall(SYS_sendmmsg, 4L, &m, 1L, (long)MSG_FASTOPEN);
}

static void act_sendmmsg_plain(void)
{
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct mmsghdr m = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	syscall(SYS_sendmmsg, 4L, &m, 1L, (long)(MSG_NOSIGNAL | MSG_DONTWAIT));
}

static void act_recvfrom_plain(void)
{
	char b;
	syscall(SYS_recvfrom, 5L, &b, 1L, (long)MSG_DONTWAIT, NULL, NULL);
}

static void act_setsockopt_so_level(void)
{
	int one = 1;
	syscall(SYS_setsockopt, 3L, (long)SOL_SOCKET, (long)SO_REUSEPORT, &one, (long)sizeof(one));
}

static void act_setsockopt_nodelay(void)
{
	int one = 1;
	syscall(SYS_setsockopt, 5L, (long)IPPROTO_TCP, (long)TCP_NODELAY, &one, (long)sizeof(one));
}

static void act_getsockopt_meminfo(void)
{
	uint32_t mem[9];
	socklen_t len = sizeof(mem);
	syscall(SYS_getsockopt, 4L, (long)SOL_SOCKET, 55L /* SO_MEMINFO */, mem, &len);
}

static void act_fcntl_clear_append(void)
{
	syscall(SYS_fcntl, 3L, (long)F_SETFL, (long)O_WRONLY);
}

static void act_lseek(void)
{
	syscall(SYS_lseek, 3L, 0L, (long)SEEK_SET);
}

static void ignore_signal(int sig)
{
	(void)sig;
}

static void act_catch_sigsys(void)
{
	struct sigaction sa = { .sa_handler = ignore_signal };
	sigaction(SIGSYS, &sa, NULL);
}

static void act_query_sigsys(void)
{
	struct sigaction old;
	if (sigaction(SIGSYS, NULL, &old) < 0)
		_exit(CHILD_CASE_FAILED);
}

static void act_catch_sigint(void)
{
	struct sigaction sa = { .sa_handler = ignore_signal };
	if (sigaction(SIGINT, &sa, NULL) < 0)
		_exit(CHILD_CASE_FAILED);
}

/* abort() resets SIGABRT's handler: the one change every policy allows. */
static void act_reset_sigabrt(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	if (sigaction(SIGABRT, &sa, NULL) < 0)
		_exit(CHILD_CASE_FAILED);
}

/* With SIGSYS blocked the reporter cannot run: the kernel must still end
 * the process by SIGSYS rather than let the denied call return. */
static void act_denied_with_sigsys_blocked(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		_exit(CHILD_SETUP_FAILED);
	syscall(SYS_ptrace, 0x4206L, 1L, 0L, 0L);
	_exit(CHILD_CASE_FAILED);
}

Test(iso_seccomp, intermediary_never_shuts_the_listeners_read_side, .timeout = 20)
{
	struct outcome o = run_case("intermediary.policy", true, act_shutdown_fd3_rdwr);
	assert_trapped(&o, SYS_shutdown);
	o = run_case("intermediary.policy", true, act_shutdown_fd3_rd);
	assert_trapped(&o, SYS_shutdown);
	/* the kernel reads the int fd 3 out of 0x100000003 */
	o = run_case("intermediary.policy", true, act_shutdown_fd3_upper_bits);
	assert_trapped(&o, SYS_shutdown);
}

/* SHUT_WR on any fd (after a final answer); SHUT_RDWR on none. */
Test(iso_seccomp, intermediary_shuts_only_the_write_side, .timeout = 20)
{
	struct outcome o = run_case("intermediary.policy", true, act_shutdown_fd3_wr);
	assert_exited_ok(&o);
	o = run_case("intermediary.policy", true, act_shutdown_fd5_wr);
	assert_exited_ok(&o);
	o = run_case("intermediary.policy", true, act_shutdown_high_fd_wr);
	assert_exited_ok(&o);
	o = run_case("intermediary.policy", true, act_shutdown_fd5_rdwr);
	assert_trapped(&o, SYS_shutdown);
}

/* Artifacts go out with sendmmsg (never MSG_FASTOPEN); sendmsg and every
 * receiving call but read(2) are gone. */
Test(iso_seccomp, intermediary_sends_artifacts_with_sendmmsg_alone, .timeout = 20)
{
	struct outcome o = run_case("intermediary.policy", true, act_sendmmsg_plain);
	assert_exited_ok(&o);
	o = run_case("intermediary.policy", true, act_sendmmsg_fastopen);
	assert_trapped(&o, SYS_sendmmsg);
	o = run_case("intermediary.policy", true, act_sendmsg_plain);
	assert_trapped(&o, SYS_sendmsg);
	o = run_case("intermediary.policy", true, act_recvfrom_plain);
	assert_trapped(&o, SYS_recvfrom);
}

Test(iso_seccomp, no_send_with_fastopen_or_an_address, .timeout = 20)
{
	struct outcome o = run_case("intermediary.policy", true, act_sendto_fastopen);
	assert_trapped(&o, SYS_sendto);
	o = run_case("intermediary.policy", true, act_sendto_with_address);
	assert_trapped(&o, SYS_sendto);
	o = run_case("intermediary.policy", true, act_sendmsg_fastopen);
	assert_trapped(&o, SYS_sendmsg);
	o = run_case("provider-exec.policy", true, act_sendto_fastopen);
	assert_trapped(&o, SYS_sendto);
	o = run_case("intermediary.policy", true, act_sendto_plain);
	assert_exited_ok(&o);
}

/* The intermediary sets no socket option (TCP_NODELAY comes with the
 * listener); no role reads a channel's state. */
Test(iso_seccomp, no_socket_options, .timeout = 20)
{
	struct outcome o = run_case("intermediary.policy", true, act_setsockopt_so_level);
	assert_trapped(&o, SYS_setsockopt);
	o = run_case("intermediary.policy", true, act_setsockopt_nodelay);
	assert_trapped(&o, SYS_setsockopt);
	const char *const all[] = { "intermediary.policy", "association.policy", "provider.policy",
				    "provider-exec.policy" };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		o = run_case(all[i], true, act_getsockopt_meminfo);
		assert_trapped(&o, SYS_getsockopt);
	}
}

Test(iso_seccomp, association_cannot_clear_o_append_or_seek, .timeout = 20)
{
	struct outcome o = run_case("association.policy", true, act_fcntl_clear_append);
	assert_trapped(&o, SYS_fcntl);
	o = run_case("association.policy", true, act_lseek);
	assert_trapped(&o, SYS_lseek);
}

Test(iso_seccomp, no_role_installs_a_sigsys_handler, .timeout = 20)
{
	const char *const all[] = { "intermediary.policy", "association.policy", "provider.policy",
				    "provider-exec.policy" };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct outcome o = run_case(all[i], true, act_catch_sigsys);
		assert_trapped(&o, SYS_rt_sigaction);
		o = run_case(all[i], true, act_reset_sigabrt);
		assert_exited_ok(&o);
		o = run_case(all[i], true, act_denied_with_sigsys_blocked);
		assert_trapped(&o, SYS_ptrace);
	}
}

Test(iso_seccomp, programs_keep_their_own_handlers_but_not_sigsys, .timeout = 20)
{
	struct outcome o = run_case("provider-exec.policy", true, act_catch_sigint);
	assert_exited_ok(&o);
	o = run_case("provider-exec.policy", true, act_query_sigsys);
	assert_exited_ok(&o);
	o = run_case("provider.policy", true, act_catch_sigint);
	assert_trapped(&o, SYS_rt_sigaction);
}
