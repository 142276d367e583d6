#define _GNU_SOURCE
/* The probe actions and their table. Every action uses the raw syscall, so
 * the call the kernel sees is exactly the one named in the table (no glibc
 * wrapper adds or substitutes calls). Actions that could do harm if a layer
 * were missing use arguments that stay harmless even then: the audit's
 * weakening switches really remove layers. */
#include "probe.h"

#include <sodium.h>

#include "../../lib/chain.h"
#include "../../lib/derive.h"
#include "../../lib/keys.h"
#include "probe_args.h"
#include "probe_roles.h"
#include "../../roles/provider/exec.h"
#include "../../lib/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define X32_SYSCALL_BIT 0x40000000L

/* ---- network ---- */

static int act_socket(const struct probe_def *d, const struct probe_env *e)
{
	int family = (int)d->arg;
	int type = family == AF_PACKET || family == AF_NETLINK ? SOCK_RAW : SOCK_STREAM;
	if (family == AF_UNIX)
		type = SOCK_SEQPACKET;
	return errno_or_zero(syscall(SYS_socket, family, type | SOCK_CLOEXEC, 0));
}

static int act_connect_tcp(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(e->listen_port);
	long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? errno : errno_or_zero(syscall(SYS_connect, fd, &sa, sizeof(sa)));
}

/* connect on the listener the intermediary holds at fd 3. */
static int act_connect_listener(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_in sa = loopback(e->listen_port);
	return errno_or_zero(syscall(SYS_connect, 3, &sa, sizeof(sa)));
}

static int act_connect_abstract(const struct probe_def *d, const struct probe_env *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, "\0mpbs-provider-B", 16);
	long fd = syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 16);
	return fd < 0 ? errno : errno_or_zero(syscall(SYS_connect, fd, &sa, len));
}

/* ---- files ---- */

static const char *target_path(const struct probe_def *d, const struct probe_env *e, char *buf, size_t len)
{
	if (strcmp(d->path, "@other_key") == 0)
		return e->other_key;
	if (strcmp(d->path, "@ledger") == 0)
		return e->ledger;
	if (strcmp(d->path, "@topology") == 0)
		return e->topology;
	if (strcmp(d->path, "@escape") == 0) {
		snprintf(buf, len, "/keys/../../..%s", e->other_key);
		return buf;
	}
	if (strcmp(d->path, "@own_policy") == 0)
		return e->own_policy ? e->own_policy : "/policy/(none)";
	if (strcmp(d->path, "@victim_mem") == 0) {
		snprintf(buf, len, "/proc/%d/mem", (int)e->victim_pid);
		return buf;
	}
	return d->path;
}

static int act_open(const struct probe_def *d, const struct probe_env *e)
{
	char buf[4200];
	const char *path = target_path(d, e, buf, sizeof(buf));
	return errno_or_zero(syscall(SYS_openat, AT_FDCWD, path, (int)d->arg | O_CLOEXEC));
}

static int act_execve(const struct probe_def *d, const struct probe_env *e)
{
	char *const argv[] = { (char *)d->path, NULL };
	char *const envp[] = { NULL };
	return errno_or_zero(syscall(SYS_execve, d->path, argv, envp));
}

static int act_ftruncate_ledger(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_ftruncate, 3, 0L));
}

static int act_pwrite_ledger(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_pwrite64, 3, "{}\n", 3UL, 0L));
}

/* Clears O_APPEND on the ledger's open file (shared with the supervisor's
 * fd): if a weakened policy lets it through, O_APPEND is set back at once,
 * so the probes after it still see the ledger as the role does. */
static int act_clear_append_ledger(const struct probe_def *d, const struct probe_env *e)
{
	int rc = errno_or_zero(syscall(SYS_fcntl, 3, F_SETFL, (long)O_WRONLY));
	if (rc == 0)
		(void)syscall(SYS_fcntl, 3, F_SETFL, (long)O_APPEND);
	return rc;
}

/* ---- processes ---- */

static int act_kill(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_kill, e->victim_pid, SIGKILL));
}

static int act_ptrace(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_ptrace, PTRACE_ATTACH, e->victim_pid, 0L, 0L));
}

static int act_process_vm_readv(const struct probe_def *d, const struct probe_env *e)
{
	char buf[16];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, sizeof(buf) };
	return errno_or_zero(syscall(SYS_process_vm_readv, e->victim_pid, &local, 1UL, &remote, 1UL, 0UL));
}

static int act_pidfd_open(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_pidfd_open, e->victim_pid, 0U));
}

static int act_fork(const struct probe_def *d, const struct probe_env *e)
{
	long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0L, 0L, 0L, 0L);
	if (pid == 0)
		_exit(0);
	return errno_or_zero(pid);
}

static void hold_for_host(const struct probe_env *e, uint32_t value)
{
	unsigned char rec[5] = { PROBE_STATUS_HOLDING, (unsigned char)value, (unsigned char)(value >> 8),
				 (unsigned char)(value >> 16), (unsigned char)(value >> 24) };
	struct timespec t = { .tv_sec = PROBE_HOLD_MS / 1000, .tv_nsec = (PROBE_HOLD_MS % 1000) * 1000000L };
	if (syscall(SYS_write, e->status_fd, rec, sizeof(rec)) == (long)sizeof(rec))
		syscall(SYS_nanosleep, &t, NULL);
}

/* Forks children that block on a pipe until clone fails, holds them while
 * the host looks, then releases and reaps them. Holds if the fork stopped
 * with EAGAIN at the topology's RLIMIT_NPROC: it reads its own limit, and
 * it plus its children reach that limit minus at most 2 (other processes
 * of the same host uid, e.g. the audit's live sandbox of this provider). */
static int act_fork_bomb(const struct probe_def *d, const struct probe_env *e)
{
	struct rlimit lim;
	int gate[2];
	long children = 0, rc;
	if (syscall(SYS_prlimit64, 0, RLIMIT_NPROC, NULL, &lim) < 0 || syscall(SYS_pipe2, gate, O_CLOEXEC) < 0)
		return errno;
	if (e->nproc == 0 || lim.rlim_cur != e->nproc)
		return PROBE_EXIT_DATA;
	while (children < 100000) {
		rc = syscall(SYS_clone, (unsigned long)SIGCHLD, 0L, 0L, 0L, 0L);
		if (rc == 0) {
			char c;
			syscall(SYS_close, gate[1]);
			syscall(SYS_read, gate[0], &c, 1UL);
			syscall(SYS_exit_group, 0);
		}
		if (rc < 0)
			break;
		children++;
	}
	int stop = rc < 0 ? errno : 0;
	hold_for_host(e, (uint32_t)children);
	syscall(SYS_close, gate[1]);
	for (long i = 0; i < children; i++)
		syscall(SYS_wait4, -1L, NULL, 0, NULL);
	if (stop != EAGAIN)
		return stop ? stop : PROBE_EXIT_DATA;
	return (unsigned long)children + 1 <= lim.rlim_cur && (unsigned long)children + 3 >= lim.rlim_cur
		       ? 0 : PROBE_EXIT_DATA;
}

/* clone with a namespace flag: the exec policy's argument rule kills it. */
static int act_clone_newuser(const struct probe_def *d, const struct probe_env *e)
{
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L);
	if (pid == 0)
		_exit(0);
	return errno_or_zero(pid);
}

/* execve of a program its sandbox provides: exits with that program's status. */
static int act_execve_control(const struct probe_def *d, const struct probe_env *e)
{
	return act_execve(d, e);
}

/* ---- namespaces and mounts ---- */

static int act_unshare(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_unshare, d->arg));
}

static int act_clone3_newuser(const struct probe_def *d, const struct probe_env *e)
{
	struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; } args = {
		.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD
	};
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		_exit(0);
	return errno_or_zero(pid);
}

static int act_setns(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_setns, 3, CLONE_NEWNET));
}

static int act_mount(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_mount, "none", "/", "tmpfs", 0UL, "size=1m"));
}

static int act_pivot_root(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_pivot_root, ".", "."));
}

static int act_fsopen(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_fsopen, "tmpfs", 1U /* FSOPEN_CLOEXEC */));
}

static int act_open_tree(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_open_tree, AT_FDCWD, "/", 1U /* OPEN_TREE_CLONE */ | O_CLOEXEC));
}

/* ---- kernel interfaces ---- */

static int act_bpf(const struct probe_def *d, const struct probe_env *e)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 8;
	attr.max_entries = 1;
	return errno_or_zero(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
}

static int act_perf_event_open(const struct probe_def *d, const struct probe_env *e)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	return errno_or_zero(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0UL));
}

static int act_userfaultfd(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
}

static int act_io_uring_setup(const struct probe_def *d, const struct probe_env *e)
{
	struct io_uring_params params;
	memset(&params, 0, sizeof(params));
	return errno_or_zero(syscall(SYS_io_uring_setup, 8U, &params));
}

static int act_keyctl(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0L));
}

static int act_add_key(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_add_key, "user", "mpbs-audit", "x", 1UL, KEY_SPEC_PROCESS_KEYRING));
}

static int act_init_module(const struct probe_def *d, const struct probe_env *e)
{
	static const char not_a_module[16];
	return errno_or_zero(syscall(SYS_init_module, not_a_module, sizeof(not_a_module), ""));
}

static int act_finit_module(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_finit_module, 0, "", 0));
}

static int act_kexec_load(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL)); /* unload: harmless */
}

static int act_reboot(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
				     LINUX_REBOOT_CMD_CAD_ON, NULL));
}

static int act_swapon(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_swapon, "/mpbs-audit-swap", 0));
}

/* Sets the clock to what it reads: harmless even if it were allowed. */
static int act_clock_settime(const struct probe_def *d, const struct probe_env *e)
{
	struct timespec now;
	if (clock_gettime(CLOCK_REALTIME, &now) < 0)
		return errno;
	return errno_or_zero(syscall(SYS_clock_settime, CLOCK_REALTIME, &now));
}

static int act_sethostname(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_sethostname, "mpbs-audit", 10UL));
}

static int act_raise_rlimit(const struct probe_def *d, const struct probe_env *e)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	return errno_or_zero(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &unlimited, NULL));
}

static int act_setuid0(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_setuid, 0));
}

static int act_tiocsti(const struct probe_def *d, const struct probe_env *e)
{
	char c = 'x';
	return errno_or_zero(syscall(SYS_ioctl, 0, TIOCSTI, &c));
}

#if defined(__x86_64__)
/* i386 getpid (20) through int 0x80. */
static int act_int80(const struct probe_def *d, const struct probe_env *e)
{
	long rc;
	__asm__ volatile("int $0x80" : "=a"(rc) : "a"(20L) : "memory");
	return rc < 0 ? (int)-rc : 0;
}

static int act_x32(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(X32_SYSCALL_BIT | SYS_getpid));
}
#endif

/* ---- memory ---- */

static int act_mmap_wx(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_mmap, NULL, 4096UL, PROT_READ | PROT_WRITE | PROT_EXEC,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L));
}

static int act_mprotect_exec(const struct probe_def *d, const struct probe_env *e)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return errno;
	return errno_or_zero(syscall(SYS_mprotect, p, 4096UL, PROT_READ | PROT_EXEC));
}

/* ---- IPC ---- */

static int act_shmget(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_shmget, IPC_PRIVATE, 4096UL, IPC_CREAT | 0600));
}

static int act_msgget(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_msgget, IPC_PRIVATE, IPC_CREAT | 0600));
}

static int act_mq_open(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_mq_open, "mpbs-audit", O_RDWR | O_CREAT, 0600, NULL));
}

/* ---- channels ---- */

static int act_send(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_sendto, d->arg, "x", 1UL, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0));
}

/* One byte with fd 0 attached (SCM_RIGHTS): seccomp cannot read a
 * message's control data, so what stops the fd is the receiver's side. */
static int act_send_fd(const struct probe_def *d, const struct probe_env *e)
{
	int passed = 0;
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &passed, sizeof(int));
	return errno_or_zero(syscall(SYS_sendmsg, d->arg, &m, MSG_NOSIGNAL | MSG_DONTWAIT));
}

/* 0 = end of file at once: the peer can never send (a two-way channel
 * with nothing queued would say EAGAIN). */
static int act_recv(const struct probe_def *d, const struct probe_env *e)
{
	char buf[64];
	long n = syscall(SYS_recvfrom, d->arg, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL);
	return n < 0 ? errno : n > 0 ? PROBE_EXIT_DATA : 0;
}

/* ---- run-time code, the programs' domain, /proc, rlimits (issue 11) ---- */

/* A ret instruction, so a page that did get mapped executable holds
 * nothing but a return. */
static int write_page(long fd)
{
	static unsigned char page[4096] = { 0xc3 };
	return syscall(SYS_write, fd, page, sizeof(page)) == (long)sizeof(page) ? 0 : errno ? errno : EIO;
}

static int map_exec(long fd)
{
	long p = syscall(SYS_mmap, NULL, 4096UL, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0L);
	return p == -1 ? errno : 0;
}

/* Bytes written at run time, then mapped executable: the classic way
 * around W^X. memfd_create itself must be refused (a kill). */
static int act_memfd_exec(const struct probe_def *d, const struct probe_env *e)
{
	long fd = syscall(SYS_memfd_create, "mpbs-audit", 1U /* MFD_CLOEXEC */);
	if (fd < 0)
		return errno;
	int rc = write_page(fd);
	return rc ? rc : map_exec(fd);
}

/* The same through a file in the writable state directory: the noexec
 * mount refuses the executable mapping (EPERM). An unnamed O_TMPFILE
 * leaves nothing behind; a filesystem without it gets a fixed name. */
static int act_state_mmap_exec(const struct probe_def *d, const struct probe_env *e)
{
	long fd = syscall(SYS_openat, AT_FDCWD, "/state", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EOPNOTSUPP)
		fd = syscall(SYS_openat, AT_FDCWD, "/state/.mpbs-audit-mmap", O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC,
			     0600);
	if (fd < 0)
		return errno;
	int rc = write_page(fd);
	return rc ? rc : map_exec(fd);
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *out)
{
	if (!strstr(info->dlpi_name, "/libc.so"))
		return 0;
	snprintf(out, 4096, "%s", info->dlpi_name);
	return 1;
}

/* Control: the C library's own file, mapped read+exec as the loader maps
 * it for every program, still works where writable files do not. */
static int act_map_libc(const struct probe_def *d, const struct probe_env *e)
{
	char path[4096] = "";
	if (!dl_iterate_phdr(find_libc, path))
		return PROBE_EXIT_DATA;
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? errno : map_exec(fd);
}

/* Built before the seal by probe_main for an as_program probe, exactly as
 * the provider builds it (exec_domain_prepare). */
static int program_open(const struct probe_def *d, const struct probe_env *e)
{
	char buf[4200];
	const char *path = target_path(d, e, buf, sizeof(buf));
	long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0L, 0L, 0L, 0L);
	if (pid == 0) {
		if (exec_domain_enter() < 0)
			syscall(SYS_exit_group, PROBE_EXIT_SEAL);
		long fd = syscall(SYS_openat, AT_FDCWD, path, (int)d->arg | O_CLOEXEC);
		syscall(SYS_exit_group, fd < 0 ? errno : 0);
	}
	int status;
	if (pid < 0 || syscall(SYS_wait4, pid, &status, 0, NULL) < 0)
		return errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : PROBE_EXIT_DATA;
}

/* A provider's /proc: read-only, only process directories (no /proc/sys),
 * its own pid 1 there, another role's host pid not. stat and statfs need
 * no Landlock right, so this sees the mount itself. */
static int act_proc_view(const struct probe_def *d, const struct probe_env *e)
{
	struct statfs fs;
	struct stat st;
	char other[64];
	snprintf(other, sizeof(other), "/proc/%d", (int)e->victim_pid);
	if (syscall(SYS_statfs, "/proc", &fs) < 0)
		return errno;
	bool ok = (fs.f_flags & ST_RDONLY) && fs.f_type == 0x9fa0 /* PROC_SUPER_MAGIC */;
	ok = ok && syscall(SYS_newfstatat, AT_FDCWD, "/proc/sys", &st, 0) < 0 && errno == ENOENT;
	ok = ok && syscall(SYS_newfstatat, AT_FDCWD, "/proc/1", &st, 0) == 0;
	ok = ok && syscall(SYS_newfstatat, AT_FDCWD, other, &st, 0) < 0 && errno == ENOENT;
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/comm", O_WRONLY | O_CLOEXEC);
	ok = ok && fd < 0 && (errno == EROFS || errno == EACCES);
	return ok ? 0 : PROBE_EXIT_DATA;
}

/* Every role runs under finite limits: no core dump, and a bounded
 * address space (not under ASan), file count and (arg 1) file size: the
 * topology's, or the defaults of runner/limits.c. */
static int act_rlimits(const struct probe_def *d, const struct probe_env *e)
{
#ifdef MPBS_SANITIZED
	static const int finite[] = { RLIMIT_NOFILE, RLIMIT_FSIZE }; /* no default RLIMIT_AS under ASan */
#else
	static const int finite[] = { RLIMIT_NOFILE, RLIMIT_FSIZE, RLIMIT_AS };
#endif
	size_t n = sizeof(finite) / sizeof(finite[0]);
	struct rlimit lim;
	if (syscall(SYS_prlimit64, 0, RLIMIT_CORE, NULL, &lim) < 0)
		return errno;
	bool ok = lim.rlim_cur == 0 && lim.rlim_max == 0;
	for (size_t i = 0; ok && i < n; i++) {
		if (finite[i] == RLIMIT_FSIZE && !d->arg)
			continue; /* arg 0: the association, whose ledger grows unbounded */
		if (syscall(SYS_prlimit64, 0, finite[i], NULL, &lim) < 0)
			return errno;
		ok = lim.rlim_max != RLIM_INFINITY;
	}
	return ok ? 0 : PROBE_EXIT_DATA;
}

/* ---- forged signals on its own signal channel (fd 4) ---- */

static bool send_frame(const uint8_t *buf, size_t len)
{
	/* the call a provider really has for its channel */
	struct iovec iov = { (void *)buf, len };
	struct mmsghdr m = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	return syscall(SYS_sendmmsg, 4, &m, 1, MSG_NOSIGNAL) == 1;
}

/* A fresh signed epoch and one valid START (seq 1), as the provider sends
 * them; leaves the chain head in head and the signal in s. */
static bool open_epoch(const struct probe_env *e, const uint8_t sk[64], uint8_t head[WIRE_DIGEST_LEN],
		       struct checkpoint_frame *c, struct signal_frame *s)
{
	uint8_t frame[CHECKPOINT_FRAME_LEN], sframe[SIGNAL_FRAME_LEN];
	memset(c, 0, sizeof(*c));
	snprintf(c->provider, sizeof(c->provider), "%s", e->self_name);
	randombytes_buf(c->epoch, sizeof(c->epoch));
	derive_chain_origin(c->epoch, head);
	memcpy(c->head, head, WIRE_DIGEST_LEN);
	checkpoint_sign(c, sk);
	memset(s, 0, sizeof(*s));
	snprintf(s->provider, sizeof(s->provider), "%s", e->self_name);
	s->stage = STAGE_START;
	randombytes_buf(s->op, sizeof(s->op));
	randombytes_buf(s->value, sizeof(s->value));
	s->seq = 1;
	chain_extend(head, s);
	return checkpoint_encode(c, frame) && send_frame(frame, sizeof(frame)) && signal_encode(s, sframe) &&
	       send_frame(sframe, sizeof(sframe));
}

/* The next signal after s, chained from head, with provider and seq as given. */
static bool send_next(const struct signal_frame *s, uint8_t head[WIRE_DIGEST_LEN], const char *provider,
		      uint64_t seq)
{
	struct signal_frame n = *s;
	uint8_t frame[SIGNAL_FRAME_LEN];
	snprintf(n.provider, sizeof(n.provider), "%s", provider);
	n.stage = STAGE_COMPLETE;
	n.seq = seq;
	chain_extend(head, &n);
	return signal_encode(&n, frame) && send_frame(frame, sizeof(frame));
}

/* A second signal with s's seq but another value, chained from the epoch's
 * origin as s was: another history under a pseq the association recorded.
 * (The same frame sent again is what a provider's journal resends, and is
 * skipped, not rejected.) */
static bool send_other_history(const struct checkpoint_frame *c, const struct signal_frame *s)
{
	struct signal_frame other = *s;
	uint8_t origin[WIRE_DIGEST_LEN], frame[SIGNAL_FRAME_LEN];
	derive_chain_origin(c->epoch, origin);
	other.value[0] ^= 1;
	chain_extend(origin, &other);
	return signal_encode(&other, frame) && send_frame(frame, sizeof(frame));
}

/* Each forgery follows a fresh valid epoch, so each is rejected for its
 * own fault, not because an earlier one broke the chain. */
static int act_forge_signals(const struct probe_def *d, const struct probe_env *e, const uint8_t sk[64])
{
	struct checkpoint_frame c;
	struct signal_frame s;
	uint8_t head[WIRE_DIGEST_LEN], frame[SIGNAL_FRAME_LEN > CHECKPOINT_FRAME_LEN ? SIGNAL_FRAME_LEN
										  : CHECKPOINT_FRAME_LEN];
	uint8_t wrong_pk[32], wrong_sk[64];
	bool ok = open_epoch(e, sk, head, &c, &s) && send_next(&s, head, e->other_name, 2) /* (a) */
		  && open_epoch(e, sk, head, &c, &s) && send_other_history(&c, &s)          /* (b) */
		  && open_epoch(e, sk, head, &c, &s) && send_next(&s, head, e->self_name, 3); /* (c) */
	if (!ok || !open_epoch(e, sk, head, &c, &s))
		return PROBE_EXIT_DATA;
	crypto_sign_keypair(wrong_pk, wrong_sk);
	c.seq = 1;
	memcpy(c.head, head, WIRE_DIGEST_LEN);
	checkpoint_sign(&c, wrong_sk); /* (d) */
	return checkpoint_encode(&c, frame) && send_frame(frame, CHECKPOINT_FRAME_LEN) ? 0 : PROBE_EXIT_DATA;
}

/* ---- the process's own state (read after every other step) ---- */

static int act_caps_empty(const struct probe_def *d, const struct probe_env *e)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2];
	if (syscall(SYS_capget, &h, c) < 0)
		return errno;
	for (int i = 0; i < 2; i++)
		if (c[i].effective || c[i].permitted || c[i].inheritable)
			return PROBE_EXIT_DATA;
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			return PROBE_EXIT_DATA;
	return 0;
}

static int act_no_new_privs(const struct probe_def *d, const struct probe_env *e)
{
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : PROBE_EXIT_DATA;
}

/* Only fds 0..2 and the ones it was given (3..3+arg-1) are open; F_GETFD
 * is in every role's policy, so this runs sealed. */
static int act_fd_table(const struct probe_def *d, const struct probe_env *e)
{
	for (long fd = 3; fd < 1024; fd++) {
		bool open_now = syscall(SYS_fcntl, fd, F_GETFD) >= 0;
		if (open_now != (fd < 3 + e->n_fds))
			return PROBE_EXIT_DATA;
	}
	return 0;
}

const char *probe_mechanism_name(enum probe_mechanism m)
{
	static const char *const names[MECH_COUNT] = {
		[MECH_SECCOMP] = "seccomp", [MECH_NETNS] = "netns", [MECH_PIDNS] = "pidns",
		[MECH_MNTNS] = "mntns", [MECH_LANDLOCK] = "landlock", [MECH_CHANNEL] = "one-way channel",
		[MECH_CAPS] = "capabilities", [MECH_NNP] = "no_new_privs", [MECH_USERNS] = "userns",
		[MECH_INODE_FLAG] = "append-only inode", [MECH_FDS] = "close_range",
		[MECH_NAMESPACES] = "namespaces", [MECH_RLIMIT] = "rlimit", [MECH_CHAIN] = "signature/chain check",
		[MECH_KERNEL_SCM] = "SCM_RIGHTS without cmsg buffer",
		[MECH_PASSRIGHTS] = "SO_PASSRIGHTS off",
		[MECH_SPAWN] = "spawn hygiene",
		[MECH_PROGRAM_LANDLOCK] = "program's landlock",
		[MECH_MEMFD_SEAL] = "memfd seal",
	};
	return m < MECH_COUNT ? names[m] : "?";
}

#define KERNEL CLAIM(8)
#define NET_OUT (CLAIM(3) | CLAIM(5) | CLAIM(7))

/* Trapped by the role's seccomp policy. */
#define DENY(id_, roles_, action_, fn_, claims_, ...)                                                  \
	{ .id = id_, .roles = roles_, .action = action_, .expect_sigsys = true, .mechanism = MECH_SECCOMP, \
	  .claims = claims_, .act = fn_, __VA_ARGS__ }
/* Refused by a layer under seccomp, with an errno. */
#define REFUSE(id_, roles_, action_, fn_, code_, mech_, claims_, ...)                              \
	{ .id = id_, .roles = roles_, .action = action_, .expect_code = code_, .mechanism = mech_, \
	  .claims = claims_, .act = fn_, __VA_ARGS__ }

const struct probe_def probe_table[] = {
	/* the network */
	DENY("net.socket-inet", ALL, "socket(AF_INET, SOCK_STREAM, 0)", act_socket, NET_OUT, .arg = AF_INET),
	DENY("net.socket-inet6", ALL, "socket(AF_INET6, SOCK_STREAM, 0)", act_socket, NET_OUT, .arg = AF_INET6),
	DENY("net.socket-packet", ALL, "socket(AF_PACKET, SOCK_RAW, 0)", act_socket, NET_OUT | KERNEL,
	     .arg = AF_PACKET),
	DENY("net.socket-netlink", ALL, "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)", act_socket, NET_OUT | KERNEL,
	     .arg = AF_NETLINK),
	DENY("net.socket-vsock", ALL, "socket(AF_VSOCK, SOCK_STREAM, 0)", act_socket, NET_OUT, .arg = AF_VSOCK),
	DENY("net.socket-unix", IM | AS | PVP, "socket(AF_UNIX, SOCK_SEQPACKET, 0)", act_socket,
	     CLAIM(3) | CLAIM(7), .arg = AF_UNIX),
	DENY("net.connect-listener-port", PV, "socket(AF_INET) + connect(127.0.0.1:<listen port>)", act_connect_tcp,
	     CLAIM(4) | CLAIM(5)),
	DENY("net.connect-on-listener", IM, "connect(3 = listener, 127.0.0.1:<listen port>)", act_connect_listener,
	     CLAIM(3)),
	DENY("net.connect-abstract", PVP, "socket(AF_UNIX) + connect(\"\\0mpbs-provider-B\")", act_connect_abstract,
	     CLAIM(4)),
	/* issue 11 findings 1-3: allowed calls with the arguments that would
	 * break a claim. The listener (fd 3) is the only host-netns socket any
	 * role holds: nothing but accept4 and close may touch it. */
	DENY("net.listener-reconnect", IM,
	     "shutdown(3 = listener, SHUT_RD) then sendto(3, MSG_FASTOPEN, 127.0.0.1:<host service>)",
	     act_listener_reconnect, NET_OUT),
	DENY("net.listener-shutdown-rdwr", IM, "shutdown(3 = listener, SHUT_RDWR)", act_shutdown, NET_OUT, .arg = 3,
	     .arg2 = SHUT_RDWR),
	DENY("net.listener-shutdown-upper-bits", IM, "shutdown(0x100000003 (fd 3 to the kernel), SHUT_RDWR)",
	     act_shutdown, NET_OUT, .arg = 0x100000003L, .arg2 = SHUT_RDWR),
	DENY("net.listener-sendto-fastopen", IM, "sendto(3 = listener, \"x\", MSG_FASTOPEN, 127.0.0.1:<host service>)",
	     act_sendto_fastopen, NET_OUT, .arg = 3),
	DENY("net.sendto-address", IM, "sendto(3 = listener, \"x\", 0, 127.0.0.1:<host service>)",
	     act_sendto_addr, NET_OUT, .arg = 3),
	DENY("net.listener-sendmsg-fastopen", IM, "sendmsg(3 = listener, {127.0.0.1:<host service>}, MSG_FASTOPEN)",
	     act_sendmsg_fastopen, NET_OUT, .arg = 3),
	DENY("net.sendmmsg-fastopen", PV, "sendmmsg(4 = signal writer end, {127.0.0.1:<host service>}, MSG_FASTOPEN)",
	     act_sendmmsg_fastopen, NET_OUT, .arg = 4),
	DENY("exec.sendto-fastopen", PVX, "sendto(4 = signal writer end, \"x\", MSG_FASTOPEN, 127.0.0.1:<host service>)",
	     act_sendto_fastopen, NET_OUT, .arg = 4),
	DENY("net.listener-reuseport", IM, "setsockopt(3 = listener, SOL_SOCKET, SO_REUSEPORT, 1)",
	     act_setsockopt_reuseport, NET_OUT, .arg = 3),
	DENY("net.listener-fastopen-connect", IM, "setsockopt(3 = listener, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)",
	     act_setsockopt_fastopen_connect, NET_OUT, .arg = 3),
	DENY("chan.backlog-meminfo", IM, "getsockopt(4 = artifact writer end, SOL_SOCKET, SO_MEMINFO)",
	     act_getsockopt_meminfo, CLAIM(2), .arg = 4),
	DENY("chan.backlog-getsockopt", AS | PV, "getsockopt(3, SOL_SOCKET, SO_MEMINFO)", act_getsockopt_meminfo,
	     CLAIM(2) | CLAIM(6), .arg = 3),
	DENY("chan.backlog-siocoutq", IM, "ioctl(4 = artifact writer end, SIOCOUTQ)", act_ioctl_outq, CLAIM(2),
	     .arg = 4),
	DENY("seccomp.catch-sigsys", ALL, "rt_sigaction(SIGSYS, {handler}) (to survive and probe the filter)",
	     act_catch_sigsys, KERNEL, .arg = SIGSYS),
	DENY("seccomp.catch-sigsys-upper-bits", ALL, "rt_sigaction(0x10000001f (SIGSYS to the kernel), {handler})",
	     act_catch_sigsys, KERNEL, .arg = 0x100000000L | SIGSYS),
	DENY("seccomp.denied-with-sigsys-blocked", ALL, "rt_sigprocmask(SIG_BLOCK, {SIGSYS}) then ptrace(): still dies",
	     act_denied_with_sigsys_blocked, KERNEL),
	/* provider-exec allows connect (programs try glibc's nscd socket):
	 * abstract names live in the network namespace, and B's is not in A's. */
	REFUSE("exec.connect-abstract", PVX, "socket(AF_UNIX) + connect(\"\\0mpbs-provider-B\")", act_connect_abstract,
	       ECONNREFUSED, MECH_NETNS, CLAIM(4)),
	/* files and programs */
	DENY("fs.open-other-key", NOT_PVX, "openat(AT_FDCWD, <host path of another provider's signal.key>, O_RDONLY)",
	     act_open, CLAIM(1) | CLAIM(4) | CLAIM(6) | CLAIM(7), .path = "@other_key", .arg = O_RDONLY),
	REFUSE("fs.open-other-key-unsealed", ALL, "openat(<host path of another provider's signal.key>) before seccomp",
	       act_open, ENOENT, MECH_MNTNS, CLAIM(1) | CLAIM(4) | CLAIM(6) | CLAIM(7), .before_seal = true,
	       .path = "@other_key", .arg = O_RDONLY),
	REFUSE("fs.keys-dotdot-escape", PV, "openat(\"/keys/../../..<host key path of B>\") before seccomp", act_open,
	       ENOENT, MECH_MNTNS, CLAIM(4) | CLAIM(6), .before_seal = true, .path = "@escape", .arg = O_RDONLY),
	DENY("fs.open-ledger", IM | PVP, "openat(<ledger>, O_RDWR)", act_open, CLAIM(1) | CLAIM(3) | CLAIM(4),
	     .path = "@ledger", .arg = O_RDWR),
	DENY("fs.open-topology-write", AS, "openat(<topology.conf>, O_WRONLY)", act_open, CLAIM(7),
	     .path = "@topology", .arg = O_WRONLY),
	DENY("fs.execve", NOT_PVX, "execve(\"/bin/true\")", act_execve, CLAIM(3) | CLAIM(7) | KERNEL,
	     .path = "/bin/true"),
	REFUSE("fs.execve-unsealed", IM | AS, "execve(\"/bin/true\") before seccomp: empty root", act_execve, ENOENT,
	       MECH_MNTNS, CLAIM(3) | CLAIM(7), .before_seal = true, .path = "/bin/true"),
	DENY("dev.mem", NOT_PVX, "openat(\"/dev/mem\", O_RDONLY)", act_open, KERNEL, .path = "/dev/mem", .arg = O_RDONLY),
	REFUSE("dev.mem-unsealed", ALL, "openat(\"/dev/mem\") before seccomp", act_open, ENOENT, MECH_MNTNS, KERNEL,
	       .before_seal = true, .path = "/dev/mem", .arg = O_RDONLY),
	DENY("dev.kmsg", NOT_PVX, "openat(\"/dev/kmsg\", O_WRONLY)", act_open, KERNEL, .path = "/dev/kmsg",
	     .arg = O_WRONLY),
	DENY("proc.core-pattern", NOT_PVX, "openat(\"/proc/sys/kernel/core_pattern\", O_WRONLY)", act_open, KERNEL,
	     .path = "/proc/sys/kernel/core_pattern", .arg = O_WRONLY),
	/* a provider's /proc is subset=pid: it has no /proc/sys */
	REFUSE("proc.core-pattern-unsealed", PV, "openat(\"/proc/sys/kernel/core_pattern\", O_WRONLY) before seccomp",
	       act_open, ENOENT, MECH_MNTNS, KERNEL, .before_seal = true, .path = "/proc/sys/kernel/core_pattern",
	       .arg = O_WRONLY),
	/* other processes */
	DENY("proc.kill-other-role", NOT_PVX, "kill(<another role's host pid>, SIGKILL)", act_kill,
	     CLAIM(4) | CLAIM(7)),
	REFUSE("proc.kill-other-role-unsealed", ALL, "kill(<another role's host pid>, SIGKILL) before seccomp",
	       act_kill, ESRCH, MECH_PIDNS, CLAIM(4) | CLAIM(7), .before_seal = true),
	DENY("proc.ptrace", ALL, "ptrace(PTRACE_ATTACH, <another role's host pid>)", act_ptrace, CLAIM(4) | KERNEL),
	REFUSE("proc.ptrace-unsealed", ALL, "ptrace(PTRACE_ATTACH, <another role's host pid>) before seccomp",
	       act_ptrace, ESRCH, MECH_PIDNS, CLAIM(4) | KERNEL, .before_seal = true),
	DENY("proc.process-vm-readv", ALL, "process_vm_readv(<another role's host pid>, 16 bytes)",
	     act_process_vm_readv, CLAIM(4) | CLAIM(6)),
	DENY("proc.pidfd-open", ALL, "pidfd_open(<another role's host pid>, 0) (then pidfd_getfd)", act_pidfd_open,
	     CLAIM(4) | CLAIM(6)),
	REFUSE("proc.other-mem-unsealed", PV, "openat(\"/proc/<another role's host pid>/mem\") before seccomp",
	       act_open, ENOENT, MECH_PIDNS, CLAIM(4) | CLAIM(6), .before_seal = true, .path = "@victim_mem",
	       .arg = O_RDONLY),
	DENY("proc.fork", NOT_PVX, "clone(SIGCHLD) (fork bomb)", act_fork, CLAIM(4) | KERNEL),
	/* namespaces and mounts */
	DENY("ns.unshare-user", ALL, "unshare(CLONE_NEWUSER)", act_unshare, KERNEL, .arg = CLONE_NEWUSER),
	DENY("ns.unshare-net", ALL, "unshare(CLONE_NEWNET)", act_unshare, KERNEL, .arg = CLONE_NEWNET),
	DENY("ns.clone3-newuser", NOT_PVX, "clone3({.flags = CLONE_NEWUSER})", act_clone3_newuser, KERNEL),
	DENY("ns.setns", ALL, "setns(3, CLONE_NEWNET)", act_setns, KERNEL),
	DENY("mnt.mount", ALL, "mount(\"none\", \"/\", \"tmpfs\", 0, \"size=1m\")", act_mount, KERNEL),
	DENY("mnt.pivot-root", ALL, "pivot_root(\".\", \".\")", act_pivot_root, KERNEL),
	DENY("mnt.fsopen", ALL, "fsopen(\"tmpfs\", FSOPEN_CLOEXEC)", act_fsopen, KERNEL),
	DENY("mnt.open-tree", ALL, "open_tree(AT_FDCWD, \"/\", OPEN_TREE_CLONE)", act_open_tree, KERNEL),
	/* kernel interfaces */
	DENY("kern.io-uring-setup", ALL, "io_uring_setup(8, {0})", act_io_uring_setup, KERNEL),
	DENY("kern.bpf", ALL, "bpf(BPF_MAP_CREATE, {ARRAY, 4, 8, 1})", act_bpf, KERNEL),
	DENY("kern.perf-event-open", ALL, "perf_event_open({SOFTWARE, CPU_CLOCK}, 0, -1, -1, 0)",
	     act_perf_event_open, KERNEL),
	DENY("kern.userfaultfd", ALL, "userfaultfd(O_CLOEXEC|O_NONBLOCK)", act_userfaultfd, KERNEL),
	DENY("kern.keyctl", ALL, "keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING)", act_keyctl, KERNEL),
	DENY("kern.add-key", ALL, "add_key(\"user\", \"mpbs-audit\", \"x\", 1, KEY_SPEC_PROCESS_KEYRING)",
	     act_add_key, KERNEL),
	DENY("kern.init-module", ALL, "init_module(<16 zero bytes>, 16, \"\")", act_init_module, KERNEL),
	DENY("kern.finit-module", ALL, "finit_module(0, \"\", 0)", act_finit_module, KERNEL),
	DENY("kern.kexec-load", ALL, "kexec_load(0, 0, NULL, 0)", act_kexec_load, KERNEL),
	DENY("kern.reboot", ALL, "reboot(MAGIC1, MAGIC2, LINUX_REBOOT_CMD_CAD_ON)", act_reboot, KERNEL),
	DENY("kern.swapon", ALL, "swapon(\"/mpbs-audit-swap\", 0)", act_swapon, KERNEL),
	DENY("kern.clock-settime", ALL, "clock_settime(CLOCK_REALTIME, <now>)", act_clock_settime, KERNEL),
	DENY("kern.sethostname", ALL, "sethostname(\"mpbs-audit\")", act_sethostname, KERNEL),
	DENY("priv.raise-rlimit", ALL, "prlimit64(0, RLIMIT_NOFILE, {INFINITY, INFINITY}, NULL)", act_raise_rlimit,
	     KERNEL),
	DENY("priv.setuid0", ALL, "setuid(0)", act_setuid0, KERNEL),
	DENY("tty.tiocsti", ALL, "ioctl(0, TIOCSTI, \"x\")", act_tiocsti, KERNEL),
#if defined(__x86_64__)
	DENY("abi.int80", ALL, "int $0x80 with eax = 20 (i386 getpid)", act_int80, KERNEL),
	DENY("abi.x32", ALL, "syscall(__X32_SYSCALL_BIT | SYS_getpid)", act_x32, KERNEL),
#endif
	DENY("mem.mmap-wx", ALL, "mmap(NULL, 4096, PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS)",
	     act_mmap_wx, CLAIM(3) | KERNEL),
	DENY("mem.shared-exec-alias", ALL,
	     "mmap(RX, MAP_SHARED|MAP_ANONYMOUS), mremap(it, 0, 4096, MAYMOVE) alias, mprotect(RW), write, call the alias",
	     act_shared_exec_alias, CLAIM(3) | KERNEL),
	DENY("mem.mprotect-exec", ALL, "mprotect(<rw page>, 4096, PROT_READ|PROT_EXEC)", act_mprotect_exec,
	     CLAIM(3) | KERNEL),
	/* IPC */
	DENY("ipc.shmget", ALL, "shmget(IPC_PRIVATE, 4096, IPC_CREAT|0600)", act_shmget, CLAIM(4)),
	DENY("ipc.msgget", ALL, "msgget(IPC_PRIVATE, IPC_CREAT|0600)", act_msgget, CLAIM(4)),
	DENY("ipc.mq-open", ALL, "mq_open(\"mpbs-audit\", O_RDWR|O_CREAT, 0600, NULL)", act_mq_open, CLAIM(4)),
	/* channels */
	/* A sealed provider has no sendto at all (its frames go out by
	 * sendmmsg); under it, and for a provider that runs programs, the
	 * channel itself refuses. */
	DENY("chan.provider-writes-artifact", PVP, "sendto(3 = artifact reader end, \"x\", MSG_NOSIGNAL)", act_send,
	     CLAIM(2), .arg = 3),
	REFUSE("chan.provider-writes-artifact-unsealed", PV,
	       "sendto(3 = artifact reader end, \"x\", MSG_NOSIGNAL) before seccomp", act_send, EPIPE, MECH_CHANNEL,
	       CLAIM(2), .arg = 3, .before_seal = true),
	REFUSE("exec.provider-writes-artifact", PVX, "sendto(3 = artifact reader end, \"x\", MSG_NOSIGNAL)", act_send,
	       EPIPE, MECH_CHANNEL, CLAIM(2), .arg = 3),
	REFUSE("chan.provider-reads-signal", PV, "recvfrom(4 = signal writer end, MSG_DONTWAIT) = 0 (EOF)", act_recv,
	       0, MECH_CHANNEL, CLAIM(6), .arg = 4),
	REFUSE("chan.intermediary-reads-artifact", IM, "recvfrom(4 = artifact writer end, MSG_DONTWAIT) = 0 (EOF)",
	       act_recv, 0, MECH_CHANNEL, CLAIM(2), .arg = 4),
	/* On a kernel without SO_PASSRIGHTS the audit expects 0 and the
	 * receiver's discarding of the fd instead (MECH_KERNEL_SCM). */
	REFUSE("chan.intermediary-scm-rights", IM,
	       "sendmsg(4 = artifact writer end, \"x\", SCM_RIGHTS {0}): refused; nothing reaches the reader (host row)",
	       act_send_fd, EPERM, MECH_PASSRIGHTS, CLAIM(3), .arg = 4, .passes_fd = true),
	DENY("chan.association-writes-signal", AS, "sendto(4 = signal reader end, \"x\", MSG_NOSIGNAL)", act_send,
	     CLAIM(7), .arg = 4),
	REFUSE("chan.association-writes-signal-unsealed", AS,
	       "sendto(4 = signal reader end, \"x\", MSG_NOSIGNAL) before seccomp", act_send, EPIPE, MECH_CHANNEL,
	       CLAIM(7), .arg = 4, .before_seal = true),
	/* the ledger */
	DENY("ledger.ftruncate", AS, "ftruncate(3 = ledger, 0)", act_ftruncate_ledger, CLAIM(7) | CLAIM(9)),
	DENY("ledger.pwrite", AS, "pwrite64(3 = ledger, \"{}\\n\", 3, 0)", act_pwrite_ledger, CLAIM(7) | CLAIM(9)),
	DENY("ledger.lseek", AS, "lseek(3 = ledger, 0, SEEK_SET)", act_lseek_ledger, CLAIM(7) | CLAIM(9)),
	DENY("ledger.mmap-shared-write", AS, "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 3 = ledger, 0)",
	     act_mmap_ledger_shared, CLAIM(7) | CLAIM(9)),
	REFUSE("ledger.mmap-shared-write-unsealed", AS,
	       "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 3 = ledger, 0) before seccomp", act_mmap_ledger_shared,
	       EACCES, MECH_INODE_FLAG, CLAIM(7) | CLAIM(9), .before_seal = true),
	REFUSE("ledger.ftruncate-unsealed", AS, "ftruncate(3 = ledger, 0) before seccomp", act_ftruncate_ledger,
	       EPERM, MECH_INODE_FLAG, CLAIM(7) | CLAIM(9), .before_seal = true),
	/* issue 11 finding 9: on a filesystem without FS_APPEND_FL the
	 * association cleared O_APPEND, seeked to 0 and overwrote line 1 */
	DENY("ledger.fcntl-clear-append", AS, "fcntl(3 = ledger, F_SETFL, O_WRONLY) (clears O_APPEND)",
	     act_clear_append_ledger, CLAIM(7) | CLAIM(9)),
	REFUSE("ledger.fcntl-clear-append-unsealed", AS, "fcntl(3 = ledger, F_SETFL, O_WRONLY) before seccomp",
	       act_clear_append_ledger, EPERM, MECH_INODE_FLAG, CLAIM(7) | CLAIM(9), .before_seal = true),
	/* a provider with exec = yes: the same sandbox its evaluator or handler
	 * inherits (filter, mounts, Landlock, rlimits survive execve); where
	 * provider-exec.policy allows the call, the layer beneath must refuse */
	REFUSE("exec.open-other-key", PVX, "openat(<host path of another provider's signal.key>, O_RDONLY)", act_open,
	       ENOENT, MECH_MNTNS, CLAIM(4) | CLAIM(6), .path = "@other_key", .arg = O_RDONLY),
	REFUSE("exec.open-ledger", PVX, "openat(<ledger>, O_RDWR)", act_open, ENOENT, MECH_MNTNS, CLAIM(4),
	       .path = "@ledger", .arg = O_RDWR),
	REFUSE("exec.write-usr", PVX, "openat(\"/usr/mpbs-audit\", O_WRONLY|O_CREAT|O_EXCL) (read-only bind)",
	       act_open, EROFS, MECH_MNTNS, CLAIM(4) | KERNEL, .path = "/usr/mpbs-audit",
	       .arg = O_WRONLY | O_CREAT | O_EXCL),
	REFUSE("exec.write-bin", PVX, "openat(\"/bin/mpbs-audit\", O_WRONLY|O_CREAT|O_EXCL) (read-only bind)",
	       act_open, EROFS, MECH_MNTNS, CLAIM(4) | KERNEL, .path = "/bin/mpbs-audit",
	       .arg = O_WRONLY | O_CREAT | O_EXCL),
	REFUSE("exec.execve-bin-true", PVX, "execve(\"/bin/true\") (control: a handler can run)",
	       act_execve_control, 0, MECH_SECCOMP, 0, .path = "/bin/true"),
	REFUSE("exec.dev-mem", PVX, "openat(\"/dev/mem\", O_RDONLY)", act_open, ENOENT, MECH_MNTNS, KERNEL,
	       .path = "/dev/mem", .arg = O_RDONLY),
	REFUSE("exec.dev-kmsg", PVX, "openat(\"/dev/kmsg\", O_WRONLY)", act_open, ENOENT, MECH_MNTNS, KERNEL,
	       .path = "/dev/kmsg", .arg = O_WRONLY),
	REFUSE("exec.core-pattern", PVX, "openat(\"/proc/sys/kernel/core_pattern\", O_WRONLY) (subset=pid /proc)",
	       act_open, ENOENT, MECH_MNTNS, KERNEL, .path = "/proc/sys/kernel/core_pattern", .arg = O_WRONLY),
	REFUSE("exec.kill-other-role", PVX, "kill(<another role's host pid>, SIGKILL)", act_kill, ESRCH, MECH_PIDNS,
	       CLAIM(4) | CLAIM(7)),
	REFUSE("exec.clone3-newuser", PVX, "clone3({.flags = CLONE_NEWUSER}) (policy answers ENOSYS)",
	       act_clone3_newuser, ENOSYS, MECH_SECCOMP, KERNEL),
	DENY("exec.clone-newuser", PVX, "clone(CLONE_NEWUSER|SIGCHLD)", act_clone_newuser, KERNEL),
	REFUSE("exec.fork-bomb", PVX, "clone(SIGCHLD) until it fails: EAGAIN at the topology's nproc, host unaffected",
	       act_fork_bomb, 0, MECH_RLIMIT, CLAIM(4) | KERNEL, .pause_for_host = true),
	/* issue 11 findings 4, 5, 10: no code written at run time, the exec'd
	 * program's own Landlock domain, the provider's /proc, default rlimits */
	DENY("exec.memfd-exec", PVX, "memfd_create + write(<ret page>) + mmap(PROT_READ|PROT_EXEC, MAP_PRIVATE, memfd)",
	     act_memfd_exec, KERNEL),
	REFUSE("exec.state-mmap-exec", PVX,
	       "openat(\"/state\", O_TMPFILE) + write(<ret page>) + mmap(PROT_READ|PROT_EXEC): noexec mount",
	       act_state_mmap_exec, EPERM, MECH_MNTNS, KERNEL, .needs_state = true),
	REFUSE("exec.map-libc-exec", PVX, "openat(<libc.so.6>) + mmap(PROT_READ|PROT_EXEC) (control: the loader's way)",
	       act_map_libc, 0, MECH_MNTNS, 0),
	REFUSE("exec.program-signal-key", PVX, "as its exec'd program: openat(\"/keys/signal.key\", O_RDONLY)",
	       program_open, EACCES, MECH_PROGRAM_LANDLOCK, CLAIM(6), .as_program = true, .path = "/keys/signal.key",
	       .arg = O_RDONLY),
	REFUSE("exec.program-keys-dir", PVX, "as its exec'd program: openat(\"/keys\", O_RDONLY|O_DIRECTORY)",
	       program_open, EACCES, MECH_PROGRAM_LANDLOCK, CLAIM(6), .as_program = true, .path = "/keys",
	       .arg = O_RDONLY | O_DIRECTORY),
	REFUSE("exec.program-policy", PVX, "as its exec'd program: openat(\"/policy/<its policy>\", O_RDONLY)",
	       program_open, EACCES, MECH_PROGRAM_LANDLOCK, CLAIM(6), .as_program = true, .path = "@own_policy",
	       .arg = O_RDONLY),
	/* its provider (pid 1) is not dumpable, and the program's domain is
	 * narrower than the provider's: either way the program may not
	 * ptrace-read it, so hidepid=invisible hides it from /proc */
	REFUSE("exec.program-provider-mem", PVX, "as its exec'd program: openat(\"/proc/1/mem\" = its provider's)",
	       program_open, ENOENT, MECH_MNTNS, CLAIM(6), .as_program = true, .path = "/proc/1/mem", .arg = O_RDONLY),
	REFUSE("exec.program-provider-fd", PVX, "as its exec'd program: openat(\"/proc/1/fd/4\" = its signal channel)",
	       program_open, ENOENT, MECH_MNTNS, CLAIM(6), .as_program = true, .path = "/proc/1/fd/4", .arg = O_RDONLY),
	REFUSE("exec.program-reads-usr", PVX, "as its exec'd program: openat(\"/etc/ld.so.cache\") (control)",
	       program_open, 0, MECH_PROGRAM_LANDLOCK, 0, .as_program = true, .path = "/etc/ld.so.cache",
	       .arg = O_RDONLY),
	REFUSE("proc.hidepid", PV, "statfs(/proc) ro procfs; /proc/sys ENOENT; /proc/1 only its own; "
	       "openat(/proc/self/comm, O_WRONLY) EROFS|EACCES", act_proc_view, 0, MECH_MNTNS, CLAIM(4) | KERNEL,
	       .before_seal = true),
	REFUSE("self.rlimits", AS, "prlimit64: RLIMIT_CORE 0, RLIMIT_AS and RLIMIT_NOFILE finite", act_rlimits, 0,
	       MECH_RLIMIT, KERNEL, .before_seal = true),
	REFUSE("self.rlimits-fsize", IM | PV, "prlimit64: RLIMIT_CORE 0, RLIMIT_AS, RLIMIT_NOFILE, RLIMIT_FSIZE finite",
	       act_rlimits, 0, MECH_RLIMIT, KERNEL, .before_seal = true, .arg = 1),
	/* forged signals, judged by a real association from its ledger (audit.c) */
	{ .id = "sig.forge-fork-reorder-wrongkey", .roles = PV,
	  .action = "sendto(4 = own signal channel): a signal claiming another provider, another history under a recorded seq, "
		    "seq out of order, a checkpoint signed with another key; each after a valid signed epoch",
	  .expect_code = 0, .mechanism = MECH_CHAIN, .claims = CLAIM(6), .act_keyed = act_forge_signals },
	/* the process's own state */
	REFUSE("self.capabilities-empty", ALL, "capget() and PR_CAPBSET_READ: every set empty", act_caps_empty, 0,
	       MECH_CAPS, KERNEL, .before_seal = true),
	REFUSE("self.no-new-privs", ALL, "prctl(PR_GET_NO_NEW_PRIVS) = 1", act_no_new_privs, 0, MECH_NNP, KERNEL,
	       .before_seal = true),
	REFUSE("self.fd-table", ALL, "fcntl(fd, F_GETFD) for fd 3..1023: only the fds it was given", act_fd_table, 0,
	       MECH_FDS, CLAIM(4) | CLAIM(6) | CLAIM(7)),
};

const size_t probe_count = sizeof(probe_table) / sizeof(probe_table[0]);

int probe_main(void *arg, const struct role_seal *seal)
{
	const struct probe_call *call = arg;
	char err[512];
	uint8_t sk[64];
	if (call->def->act_keyed && keys_load_signal_secret("/keys/" KEYS_SECRET_NAME, sk, err, sizeof(err)) < 0)
		return PROBE_EXIT_SEAL;
	if (call->def->as_program &&
	    exec_domain_prepare(call->env->program_rules, call->env->n_program_rules,
				call->env->program_landlock_weakened, err, sizeof(err)) < 0)
		return PROBE_EXIT_SEAL;
	if (!call->def->before_seal && seal->fn(seal->ctx, err, sizeof(err)) < 0)
		return PROBE_EXIT_SEAL;
	if (call->def->act_keyed) {
		int rc = call->def->act_keyed(call->def, call->env, sk);
		sodium_memzero(sk, sizeof(sk));
		return rc;
	}
	return call->def->act(call->def, call->env);
}

int probe_idle_main(void *arg, const struct role_seal *seal)
{
	char err[512];
	if (seal->fn(seal->ctx, err, sizeof(err)) < 0)
		return PROBE_EXIT_SEAL;
	for (;;) {
		struct timespec t = { .tv_sec = 3600 };
		syscall(SYS_nanosleep, &t, NULL);
	}
}
