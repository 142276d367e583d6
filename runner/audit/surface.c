/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The argument surface table and its actions (surface.h). Most rows are a
 * raw syscall with its six arguments, so the call the kernel sees is the
 * one the row names; SA_* placeholders are resolved in the sandbox
 * (surface_sandbox.c). */
#include "surface.h"
#include "probe_roles.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/sched.h>
#include <linux/sockios.h>
#include <unistd.h>

/* ---- layers being added on main: a row whose outcome depends on one
 * names it here, so it flips with one line ---- */

/* provider-exec.policy allows fcntl(F_SETPIPE_SZ) on its pipes. */
#define SURFACE_PVX_SETPIPE_SZ 1
#define SETPIPE_SZ (SURFACE_PVX_SETPIPE_SZ ? SURFACE_ALLOWED : SURFACE_REFUSED)

/* Reader ends of the channels carry SO_PASSRIGHTS = 0 (Linux 6.16+): a
 * sendmsg with SCM_RIGHTS to them fails with EPERM. Rows of mechanism
 * MECH_PASSRIGHTS are expected ALLOWED on an older kernel (the audit asks
 * it: channel_kernel_refuses_fds), where the receiver must drop the fd. */
#define SCM_WHY "the reader end carries SO_PASSRIGHTS = 0: no fd enters the channel"

/* ---- actions of their own ---- */

/* A blocked SIGSYS does not save a role from its filter: the kernel
 * unblocks it to deliver a trap. uname is in no policy. */
static int act_sigsys_blocked(const struct surface_ctx *x)
{
	uint64_t set = 1ull << (SIGSYS - 1);
	char buf[512];
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, sizeof(set)) < 0)
		return errno;
	return syscall(SYS_uname, buf) < 0 ? errno : 0;
}

/* clone with the row's flags; a child that comes to be exits at once.
 * It is not waited for (the bridge's policy has no wait4, and a SIGSYS
 * there would pass for the clone's): the case's pid namespace ends with it. */
static int act_clone(const struct surface_ctx *x)
{
	long pid = syscall(SYS_clone, (unsigned long)x->c->args[0], 0L, 0L, 0L, 0L);
	if (pid == 0)
		syscall(SYS_exit_group, 0);
	return pid < 0 ? errno : 0;
}

static void *thread_main(void *arg)
{
	return arg;
}

/* A thread as libnats starts one (glibc: clone3, answered ENOSYS by the
 * bridge's policy, then clone with CLONE_THREAD). */
static int act_thread(const struct surface_ctx *x)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, thread_main, NULL);
	return rc ? rc : pthread_join(t, NULL);
}

/* socket(AF_INET, SOCK_STREAM, <row's protocol>), then connect to the
 * audit's host service: a stream protocol that is not TCP, which
 * Landlock's TCP port rules do not cover. */
static int act_connect_proto(const struct surface_ctx *x)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)x->env->host_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, x->c->args[0]);
	if (fd < 0)
		return errno;
	return syscall(SYS_connect, fd, &sa, sizeof(sa)) < 0 ? errno : 0;
}

const char *surface_expect_name(enum surface_expect e)
{
	return e == SURFACE_REFUSED ? "REFUSED" : e == SURFACE_ALLOWED ? "ALLOWED" : "NO CLASS";
}

/* ---- the table ---- */

/* Trapped by the role's seccomp policy (SIGSYS). */
#define REFUSED(sys_, roles_, id_, fd_, action_, nr_, ...)                                              \
	{ .syscall = sys_, .roles = roles_, .id = "surface." sys_ "." id_, .fd = fd_, .action = action_, \
	  .expect = SURFACE_REFUSED, .mech = MECH_SECCOMP, .nr = nr_, .args = { __VA_ARGS__ } }
/* Passed by seccomp, failed by the layer mech_ with errno code_. */
#define REFUSED_BY(sys_, roles_, id_, fd_, mech_, code_, why_, action_, nr_, ...)                       \
	{ .syscall = sys_, .roles = roles_, .id = "surface." sys_ "." id_, .fd = fd_, .action = action_, \
	  .expect = SURFACE_REFUSED, .mech = mech_, .code = code_, .why = why_, .nr = nr_,              \
	  .args = { __VA_ARGS__ } }
/* Succeeds, and must: why_ says why it is harmless. */
#define ALLOWED(sys_, roles_, id_, fd_, why_, action_, nr_, ...)                                        \
	{ .syscall = sys_, .roles = roles_, .id = "surface." sys_ "." id_, .fd = fd_, .action = action_, \
	  .expect = SURFACE_ALLOWED, .why = why_, .nr = nr_, .args = { __VA_ARGS__ } }
/* The outcome depends on a layer named above (SETPIPE_SZ) or on the kernel
 * (MECH_PASSRIGHTS). */
#define DEPENDS(sys_, roles_, id_, fd_, expect_, mech_, code_, why_, action_, nr_, ...)                 \
	{ .syscall = sys_, .roles = roles_, .id = "surface." sys_ "." id_, .fd = fd_, .action = action_, \
	  .expect = expect_, .mech = mech_, .code = code_, .why = why_, .nr = nr_, .args = { __VA_ARGS__ } }
/* Answered by the role's seccomp policy with errno code_ (SECCOMP_RET_ERRNO). */
#define ANSWERED(sys_, roles_, id_, fd_, code_, why_, action_, nr_, ...)                                  \
	{ .syscall = sys_, .roles = roles_, .id = "surface." sys_ "." id_, .fd = fd_, .action = action_, \
	  .expect = SURFACE_REFUSED, .mech = MECH_SECCOMP, .code = code_, .why = why_, .nr = nr_,       \
	  .args = { __VA_ARGS__ } }
/* Not run: no argument of this call reaches beyond the role. */
#define NO_CLASS(sys_, roles_, why_) \
	{ .syscall = sys_, .roles = roles_, .id = "surface." sys_ ".no-class", .expect = SURFACE_NO_CLASS, .why = why_ }

#define NB_NS (MSG_NOSIGNAL | MSG_DONTWAIT)

const struct surface_case surface_table[] = {
	/* ---- signals: a denied call must end the role ---- */
	REFUSED("rt_sigaction", ALL_BR, "install-sigsys", SFD_NONE, "rt_sigaction(SIGSYS, {own handler}, NULL, 8)",
		SYS_rt_sigaction, SIGSYS, SA_SIGACT, 0, 8),
	REFUSED("rt_sigaction", NOT_PVX | BR, "query-sigsys", SFD_NONE, "rt_sigaction(SIGSYS, NULL, &old, 8)",
		SYS_rt_sigaction, SIGSYS, 0, SA_BUF, 8),
	ALLOWED("rt_sigaction", PVX, "query-sigsys", SFD_NONE,
		"python reads every signal's disposition at start; a query installs nothing",
		"rt_sigaction(SIGSYS, NULL, &old, 8)", SYS_rt_sigaction, SIGSYS, 0, SA_BUF, 8),
	REFUSED("rt_sigaction", ALL_BR, "install-sigsys-bit32", SFD_NONE,
		"rt_sigaction(SIGSYS + 2^32, {own handler}, NULL, 8): the kernel's int is SIGSYS",
		SYS_rt_sigaction, SA_HI(SIGSYS), SA_SIGACT, 0, 8),
	REFUSED("rt_sigaction", NOT_PVX | BR, "install-sigusr2", SFD_NONE,
		"rt_sigaction(SIGUSR2, {own handler}, NULL, 8): no handler changes once sealed but abort()'s",
		SYS_rt_sigaction, SIGUSR2, SA_SIGACT, 0, 8),
	ALLOWED("rt_sigaction", PVX, "install-sigusr2", SFD_NONE,
		"programs (dash, python) install their own handlers; a signal handler reaches no other role",
		"rt_sigaction(SIGUSR2, {own handler}, NULL, 8)", SYS_rt_sigaction, SIGUSR2, SA_SIGACT, 0, 8),
	ALLOWED("rt_sigaction", ALL_BR, "reset-sigabrt", SFD_NONE, "abort() resets SIGABRT to its default action",
		"rt_sigaction(SIGABRT, {SIG_DFL}, NULL, 8)", SYS_rt_sigaction, SIGABRT, SA_SIGDFL, 0, 8),
	{ .syscall = "rt_sigprocmask", .roles = ALL_BR, .id = "surface.rt_sigprocmask.block-sigsys-then-denied",
	  .action = "rt_sigprocmask(SIG_BLOCK, {SIGSYS}) then uname() (in no policy)", .expect = SURFACE_REFUSED,
	  .mech = MECH_SECCOMP, .why = "a trap unblocks SIGSYS: the denied call still ends the role",
	  .act = act_sigsys_blocked },
	REFUSED("tgkill", ALL_BR, "self-sigcont", SFD_NONE, "tgkill(<own pid>, <own tid>, SIGCONT): only SIGABRT",
		SYS_tgkill, SA_SELF_PID, SA_SELF_PID, SIGCONT),
	REFUSED_BY("tgkill", ALL_BR, "other-role", SFD_NONE, MECH_PIDNS, ESRCH, "another role's pid is not in its pid namespace",
		   "tgkill(<another role's host pid>, <same>, SIGABRT)", SYS_tgkill, SA_OTHER_PID, SA_OTHER_PID, SIGABRT),
	NO_CLASS("rt_sigreturn", ALL_BR, "restores a frame from its own stack: its own registers and signal mask"),
	NO_CLASS("sigaltstack", ALL_BR, "its own alternate signal stack, in its own memory"),
	NO_CLASS("restart_syscall", ALL_BR, "resumes the call the kernel interrupted, with that call's arguments"),
	NO_CLASS("exit", ALL_BR, "ends its own thread"),
	NO_CLASS("exit_group", ALL_BR, "ends itself"),
	NO_CLASS("getpid", ALL_BR, "its pid in its own pid namespace"),
	NO_CLASS("gettid", ALL_BR, "its tid in its own pid namespace"),

	/* ---- memory: no executable bytes written at run time ---- */
	REFUSED("mmap", ALL_BR, "anon-rx", SFD_NONE, "mmap(NULL, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)",
		SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
	REFUSED("mmap", ALL_BR, "shared-anon-rx", SFD_NONE,
		"mmap(NULL, 4096, PROT_READ|PROT_EXEC, MAP_SHARED|MAP_ANONYMOUS, -1, 0): an mremap alias made writable "
		"would run written bytes",
		SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
	REFUSED("mmap", AS, "ledger-shared", SFD_LEDGER,
		"mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 3 = ledger, 0): would write the ledger in place",
		SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, SA_FD, 0),
	REFUSED("mmap", ALL_BR, "anon-shared", SFD_NONE,
		"mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0): private mappings only",
		SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
	REFUSED("mmap", ALL_BR, "shared-validate", SFD_NONE,
		"mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE|MAP_ANONYMOUS, -1, 0)",
		SYS_mmap, 0, 4096, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0),
	ALLOWED("mmap", AS, "ledger-private", SFD_LEDGER, "a private copy: its writes never reach the file",
		"mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE, 3 = ledger, 0)", SYS_mmap, 0, 4096,
		PROT_READ | PROT_WRITE, MAP_PRIVATE, SA_FD, 0),
	REFUSED_BY("mmap", PVX, "state-file-rx", SFD_STATE_FILE, MECH_MNTNS, EPERM,
		   "bytes written at run time: every writable bind is noexec",
		   "mmap(NULL, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE, <file it wrote in /state>, 0)", SYS_mmap, 0, 4096,
		   PROT_READ | PROT_EXEC, MAP_PRIVATE, SA_FD, 0),
	REFUSED("mprotect", ALL_BR, "rw-to-rx", SFD_NONE, "mprotect(<rw page>, 4096, PROT_READ|PROT_EXEC)", SYS_mprotect,
		SA_PAGE, 4096, PROT_READ | PROT_EXEC),
	REFUSED("memfd_create", ALL_BR, "any", SFD_NONE, "memfd_create(\"x\", MFD_CLOEXEC)", SYS_memfd_create,
		(long)"x", MFD_CLOEXEC),
	NO_CLASS("madvise", ALL_BR, "advice on its own memory; the advice that reaches beyond it (MADV_HWPOISON, "
				 "MADV_SOFT_OFFLINE) needs CAP_SYS_ADMIN, which no role has"),
	NO_CLASS("brk", ALL_BR, "grows or shrinks its own heap; RLIMIT_AS bounds it"),
	NO_CLASS("munmap", ALL_BR, "unmaps its own memory"),
	NO_CLASS("mremap", ALL_BR, "moves or resizes its own mappings, protections kept (no PROT_EXEC can appear)"),
	NO_CLASS("futex", ALL_BR, "waits and wakes on its own memory; no memory is shared with another role"),

	/* ---- time and randomness ---- */
	NO_CLASS("clock_gettime", ALL_BR, "reads a clock; setting one is clock_settime, in no policy"),
	NO_CLASS("nanosleep", ALL_BR, "sleeps"),
	NO_CLASS("clock_nanosleep", ALL_BR, "sleeps, on any clock"),
	NO_CLASS("getrandom", ALL_BR, "draws from the kernel's generator; GRND_RANDOM no longer drains or blocks"),
	NO_CLASS("sysinfo", PVX,
		 "host-wide uptime, load and free memory: coarse figures, outside the model (docs/CLAIMS.md)"),

	/* ---- reading and writing the fds it holds ---- */
	ALLOWED("read", IM, "artifact-writer-eof", SFD_ARTIFACT_W, "end of file at once: the channel is shut toward it",
		"read(4 = artifact writer end, buf, 64)", SYS_read, SA_FD, SA_BUF, 64),
	ALLOWED("read", PV, "signal-writer-eof", SFD_SIGNAL_W, "end of file at once: the channel is shut toward it",
		"read(4 = signal writer end, buf, 64)", SYS_read, SA_FD, SA_BUF, 64),
	ALLOWED("read", AS, "ledger", SFD_LEDGER, "it wrote every record there; it reads them back at start",
		"read(3 = ledger, buf, 4096)", SYS_read, SA_FD, SA_BUF, 4096),
	ALLOWED("write", IM, "artifact-writer", SFD_ARTIFACT_W,
		"its artifact channel: a provider drops a frame it cannot decode",
		"write(4 = artifact writer end, \"x\", 1)", SYS_write, SA_FD, (long)"x", 1),
	ALLOWED("write", AS, "ledger", SFD_LEDGER,
		"it appends records: O_APPEND and the append-only inode keep every write at the end (ledger.* probes)",
		"write(3 = ledger, \"\", 0)", SYS_write, SA_FD, (long)"", 0),
	REFUSED_BY("write", AS, "signal-reader", SFD_SIGNAL_R, MECH_CHANNEL, EPIPE, "the channel is shut away from it",
		   "write(4 = signal reader end, \"x\", 1)", SYS_write, SA_FD, (long)"x", 1),
	REFUSED_BY("write", PV, "artifact-reader", SFD_ARTIFACT_R, MECH_CHANNEL, EPIPE, "the channel is shut away from it",
		   "write(3 = artifact reader end, \"x\", 1)", SYS_write, SA_FD, (long)"x", 1),
	REFUSED_BY("write", PV, "control-reader", SFD_CONTROL, MECH_CHANNEL, EPIPE,
		   "the supervisor's control channel is shut away from it: no word goes back",
		   "write(6 = control reader end, \"x\", 1)", SYS_write, SA_FD, (long)"x", 1),
	ALLOWED("write", ALL_BR, "status", SFD_STATUS, "its status records, which the supervisor parses and bounds",
		"write(<status fd>, \"\", 0)", SYS_write, SA_FD, (long)"", 0),
	ALLOWED("write", ALL_BR, "stderr", SFD_STDERR, "its log lines (finding 12 gives each role a pipe of its own)",
		"write(2, \"\", 0)", SYS_write, SA_FD, (long)"", 0),
	NO_CLASS("close", ALL_BR, "closes its own fd; the supervisor keeps its own copy of each"),
	REFUSED("recvfrom", IM, "connection", SFD_CONNECTION,
		"recvfrom(<accepted connection>, buf, 64, MSG_DONTWAIT, NULL, NULL): requests are read with read(2)",
		SYS_recvfrom, SA_FD, SA_BUF, 64, MSG_DONTWAIT, 0, 0),
	ALLOWED("recvfrom", PV, "signal-writer-eof", SFD_SIGNAL_W, "end of file at once: the channel is shut toward it",
		"recvfrom(4 = signal writer end, buf, 64, MSG_DONTWAIT, NULL, NULL)", SYS_recvfrom, SA_FD, SA_BUF, 64,
		MSG_DONTWAIT, 0, 0),
	NO_CLASS("recvmmsg", AS, "reads frames from its signal channels without a control buffer: no fd can arrive"),
	/* recvmsg takes the spare segment the supervisor sends on the segments
	 * socket (fd 4), flags exactly MSG_DONTWAIT|MSG_CMSG_CLOEXEC; it
	 * replies with write, having no sendmsg. Anything else kills it. */
	REFUSED("recvmsg", AS, "signal-reader", SFD_SIGNAL_R,
		"recvmsg(5 = signal reader end, msg, MSG_DONTWAIT|MSG_CMSG_CLOEXEC): a control buffer on a signal "
		"channel", SYS_recvmsg, SA_FD, SA_MMSG, MSG_DONTWAIT | MSG_CMSG_CLOEXEC),
	REFUSED("recvmsg", AS, "segments-flags", SFD_SEGMENTS,
		"recvmsg(4 = segments socket, msg, MSG_DONTWAIT): an fd taken without close-on-exec", SYS_recvmsg, SA_FD,
		SA_MMSG, MSG_DONTWAIT),
	REFUSED("recvmmsg", PV, "artifact-reader", SFD_ARTIFACT_R,
		"recvmmsg(3 = artifact reader end, [{1 byte}], 1, MSG_DONTWAIT, NULL): only its peek "
		"(MSG_DONTWAIT|MSG_PEEK|MSG_TRUNC) and consume (MSG_DONTWAIT|MSG_TRUNC) flags", SYS_recvmmsg, SA_FD,
		SA_MMSG, 1, MSG_DONTWAIT, 0),
	NO_CLASS("recvmsg", PVX, "its program's pipes and sockets; no fd reaches a provider: "
				  "the reader ends refuse SCM_RIGHTS (sendmsg.scm-* rows)"),
	ALLOWED("fdatasync", AS, "ledger", SFD_LEDGER, "makes its own appends durable (group commit)",
		"fdatasync(3 = ledger)", SYS_fdatasync, SA_FD),
	NO_CLASS("pread64", PVX, "reads its own fds, like read; sockets and pipes answer ESPIPE"),
	ALLOWED("pread64", PV, "journal", SFD_JOURNAL, "its own journal, read back to send its frames again",
		"pread64(5 = journal, buf, 64, 0)", SYS_pread64, SA_FD, SA_BUF, 64, 0),
	REFUSED("pread64", PVP, "artifact-reader", SFD_ARTIFACT_R, "pread64(3 = artifact reader end, buf, 64, 0): fd 5 only",
		SYS_pread64, SA_FD, SA_BUF, 64, 0),
	ALLOWED("pwrite64", PV, "journal", SFD_JOURNAL,
		"its own journal, a memfd no other role holds; the supervisor never reads it",
		"pwrite64(5 = journal, \"\", 0, 0)", SYS_pwrite64, SA_FD, (long)"", 0, 0),
	REFUSED_BY("pwrite64", PV, "journal-grow", SFD_JOURNAL, MECH_MEMFD_SEAL, EPERM,
		   "sealed at its size: it cannot grow into a memory bomb the supervisor pays for",
		   "pwrite64(5 = journal, \"x\", 1, 64 MiB)", SYS_pwrite64, SA_FD, (long)"x", 1, 64L << 20),
	REFUSED("pwrite64", PV, "signal-writer", SFD_SIGNAL_W, "pwrite64(4 = signal writer end, \"x\", 1, 0): fd 5 only",
		SYS_pwrite64, SA_FD, (long)"x", 1, 0),
	NO_CLASS("readv", PVX, "reads its own fds, like read"),
	NO_CLASS("writev", PVX, "writes its own fds, like write"),
	NO_CLASS("fadvise64", PVX, "advice on its own file's page cache"),

	/* ---- sending: never a new destination ---- */
	REFUSED("sendto", IM, "listener-fastopen", SFD_LISTENER,
		"sendto(3 = listener, \"x\", 1, MSG_FASTOPEN, 127.0.0.1:<listen port>, 16)", SYS_sendto, SA_FD,
		(long)"x", 1, MSG_FASTOPEN, SA_DEST, sizeof(struct sockaddr_in)),
	REFUSED("sendto", IM, "connection-fastopen", SFD_CONNECTION,
		"sendto(<accepted connection>, \"x\", 1, MSG_FASTOPEN|MSG_NOSIGNAL|MSG_DONTWAIT, NULL, 0)", SYS_sendto,
		SA_FD, (long)"x", 1, MSG_FASTOPEN | NB_NS, 0, 0),
	REFUSED("sendto", IM | PVX, "channel-dest-addr", SFD_CHANNEL,
		"sendto(<channel end>, \"x\", 1, MSG_NOSIGNAL|MSG_DONTWAIT, 127.0.0.1:<listen port>, 16)", SYS_sendto,
		SA_FD, (long)"x", 1, NB_NS, SA_DEST, sizeof(struct sockaddr_in)),
	REFUSED("sendto", PVX, "channel-fastopen", SFD_SIGNAL_W,
		"sendto(4 = signal writer end, \"x\", 1, MSG_FASTOPEN|MSG_NOSIGNAL|MSG_DONTWAIT, NULL, 0)", SYS_sendto,
		SA_FD, (long)"x", 1, MSG_FASTOPEN | NB_NS, 0, 0),
	ALLOWED("sendto", IM, "connection", SFD_CONNECTION, "its constant HTTP answer, to the requester who connected",
		"sendto(<accepted connection>, \"x\", 1, MSG_NOSIGNAL|MSG_DONTWAIT, NULL, 0)", SYS_sendto, SA_FD,
		(long)"x", 1, NB_NS, 0, 0),
	ALLOWED("sendto", PVX, "signal-writer", SFD_SIGNAL_W,
		"its own signal channel: the association rejects what is not a valid signed frame (sig.forge-* probe)",
		"sendto(4 = signal writer end, \"x\", 1, MSG_NOSIGNAL|MSG_DONTWAIT, NULL, 0)", SYS_sendto, SA_FD,
		(long)"x", 1, NB_NS, 0, 0),
	REFUSED("sendmsg", IM, "listener-fastopen", SFD_LISTENER,
		"sendmsg(3 = listener, {\"x\" to 127.0.0.1:<listen port>}, MSG_FASTOPEN)", SYS_sendmsg, SA_FD,
		SA_MSG_DEST, MSG_FASTOPEN),
	REFUSED("sendmsg", IM | PVX, "channel-fastopen", SFD_CHANNEL,
		"sendmsg(<channel end>, {\"x\"}, MSG_FASTOPEN|MSG_NOSIGNAL|MSG_DONTWAIT)", SYS_sendmsg, SA_FD, SA_MSG,
		MSG_FASTOPEN | NB_NS),
	REFUSED("sendmsg", IM, "artifact-writer", SFD_ARTIFACT_W,
		"sendmsg(4 = artifact writer end, {\"x\"}, MSG_NOSIGNAL|MSG_DONTWAIT): artifacts go out with sendmmsg",
		SYS_sendmsg, SA_FD, SA_MSG, NB_NS),
	REFUSED("sendmmsg", IM, "listener-fastopen", SFD_LISTENER,
		"sendmmsg(3 = listener, [{\"x\"}], 1, MSG_FASTOPEN)", SYS_sendmmsg, SA_FD, SA_MMSG, 1, MSG_FASTOPEN),
	REFUSED("sendmmsg", IM, "connection-fastopen", SFD_CONNECTION,
		"sendmmsg(<accepted connection>, [{\"x\"}], 1, MSG_FASTOPEN|MSG_NOSIGNAL|MSG_DONTWAIT)", SYS_sendmmsg,
		SA_FD, SA_MMSG, 1, MSG_FASTOPEN | NB_NS),
	ALLOWED("sendmmsg", IM, "artifact-writer", SFD_ARTIFACT_W,
		"a turn's artifact frames (header and fields as an iovec each): a provider drops what it cannot decode",
		"sendmmsg(4 = artifact writer end, [{\"x\"}], 1, MSG_NOSIGNAL|MSG_DONTWAIT)", SYS_sendmmsg, SA_FD, SA_MMSG,
		1, NB_NS),
	DEPENDS("sendmmsg", IM, "scm-listener", SFD_ARTIFACT_W, SURFACE_REFUSED, MECH_PASSRIGHTS, EPERM, SCM_WHY,
		"sendmmsg(4 = artifact writer end, [{\"x\", SCM_RIGHTS {3 = listener}}], 1, MSG_NOSIGNAL|MSG_DONTWAIT)",
		SYS_sendmmsg, SA_FD, SA_MMSG_SCM, 1, NB_NS),
	DEPENDS("sendmsg", PVX, "scm-channel", SFD_SIGNAL_W, SURFACE_REFUSED, MECH_PASSRIGHTS, EPERM, SCM_WHY,
		"sendmsg(4 = signal writer end, {\"x\", SCM_RIGHTS {3}}, MSG_NOSIGNAL|MSG_DONTWAIT)", SYS_sendmsg, SA_FD,
		SA_MSG_SCM, NB_NS),
	REFUSED("sendmmsg", PV, "fastopen", SFD_SIGNAL_W,
		"sendmmsg(4 = signal writer end, [{\"x\"}], 1, MSG_FASTOPEN|MSG_NOSIGNAL|MSG_DONTWAIT)", SYS_sendmmsg,
		SA_FD, SA_MMSG, 1, MSG_FASTOPEN | NB_NS),
	ALLOWED("sendmmsg", PV, "signal-writer", SFD_SIGNAL_W,
		"a round of its own frames: the association rejects what is not a valid signed frame (sig.forge-* probe)",
		"sendmmsg(4 = signal writer end, [{\"x\"}], 1, MSG_NOSIGNAL|MSG_DONTWAIT)", SYS_sendmmsg, SA_FD, SA_MMSG,
		1, NB_NS),
	DEPENDS("sendmmsg", PV, "scm-channel", SFD_SIGNAL_W, SURFACE_REFUSED, MECH_PASSRIGHTS, EPERM, SCM_WHY,
		"sendmmsg(4 = signal writer end, [{\"x\", SCM_RIGHTS {3}}], 1, MSG_NOSIGNAL|MSG_DONTWAIT)", SYS_sendmmsg,
		SA_FD, SA_MMSG_SCM, 1, NB_NS),

	/* ---- socket options: none (the supervisor sets TCP_NODELAY on the listener) ---- */
	REFUSED("getsockopt", IM, "artifact-writer-meminfo", SFD_ARTIFACT_W,
		"getsockopt(4 = artifact writer end, SOL_SOCKET, SO_MEMINFO): a provider's unread backlog",
		SYS_getsockopt, SA_FD, SOL_SOCKET, SO_MEMINFO, SA_BUF, SA_LENP),
	REFUSED("getsockopt", IM, "listener-error", SFD_LISTENER, "getsockopt(3 = listener, SOL_SOCKET, SO_ERROR)",
		SYS_getsockopt, SA_FD, SOL_SOCKET, SO_ERROR, SA_BUF, SA_LENP),
	REFUSED("getsockopt", IM, "connection-tcp-info", SFD_CONNECTION,
		"getsockopt(<accepted connection>, IPPROTO_TCP, TCP_INFO)", SYS_getsockopt, SA_FD, IPPROTO_TCP, TCP_INFO,
		SA_BUF, SA_LENP),
	REFUSED("getsockopt", AS | PV | BR, "channel-meminfo", SFD_CHANNEL, "getsockopt(<channel end>, SOL_SOCKET, SO_MEMINFO)",
		SYS_getsockopt, SA_FD, SOL_SOCKET, SO_MEMINFO, SA_BUF, SA_LENP),
	REFUSED("getsockopt", PV, "signal-writer-peercred", SFD_SIGNAL_W,
		"getsockopt(4 = signal writer end, SOL_SOCKET, SO_PEERCRED)", SYS_getsockopt, SA_FD, SOL_SOCKET,
		SO_PEERCRED, SA_BUF, SA_LENP),
	REFUSED("setsockopt", IM, "connection-nodelay", SFD_CONNECTION,
		"setsockopt(<accepted connection>, IPPROTO_TCP, TCP_NODELAY, &1, 4): inherited from the listener",
		SYS_setsockopt, SA_FD, IPPROTO_TCP, TCP_NODELAY, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", IM, "listener-nodelay", SFD_LISTENER,
		"setsockopt(3 = listener, IPPROTO_TCP, TCP_NODELAY, &1, 4)", SYS_setsockopt, SA_FD, IPPROTO_TCP,
		TCP_NODELAY, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", IM, "listener-fastopen-connect", SFD_LISTENER,
		"setsockopt(3 = listener, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &1, 4)", SYS_setsockopt, SA_FD, IPPROTO_TCP,
		TCP_FASTOPEN_CONNECT, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", IM, "listener-reuseport", SFD_LISTENER,
		"setsockopt(3 = listener, SOL_SOCKET, SO_REUSEPORT, &1, 4)", SYS_setsockopt, SA_FD, SOL_SOCKET,
		SO_REUSEPORT, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", IM, "connection-linger", SFD_CONNECTION,
		"setsockopt(<accepted connection>, SOL_SOCKET, SO_LINGER, {0}, 8)", SYS_setsockopt, SA_FD, SOL_SOCKET,
		SO_LINGER, SA_BUF, 8),
	REFUSED("setsockopt", IM | AS | PV, "channel-sndbuf", SFD_CHANNEL,
		"setsockopt(<channel end>, SOL_SOCKET, SO_SNDBUF, &1, 4)", SYS_setsockopt, SA_FD, SOL_SOCKET, SO_SNDBUF,
		SA_ONE, sizeof(int)),

	/* ---- device and fd control: isatty only, no F_SETFL on the ledger ---- */
	ALLOWED("ioctl", BR, "lane-fionread", SFD_CHANNEL,
		"an out lane reads the length of the message at its channel's head, which it reads itself next: "
		"the bridge is the reader of that channel, not a writer watching a backlog",
		"ioctl(<lane's channel end>, FIONREAD = SIOCINQ, &n)", SYS_ioctl, SA_FD, FIONREAD, SA_BUF),
	REFUSED("ioctl", ALL, "channel-fionread", SFD_CHANNEL, "ioctl(<channel end>, FIONREAD = SIOCINQ, &n)", SYS_ioctl,
		SA_FD, FIONREAD, SA_BUF),
	REFUSED("ioctl", ALL_BR, "channel-siocoutq", SFD_CHANNEL, "ioctl(<channel end>, SIOCOUTQ, &n)", SYS_ioctl, SA_FD,
		SIOCOUTQ, SA_BUF),
	REFUSED("ioctl", ALL_BR, "channel-fionbio", SFD_CHANNEL, "ioctl(<channel end>, FIONBIO, &1)", SYS_ioctl, SA_FD,
		FIONBIO, SA_ONE),
	REFUSED("ioctl", IM, "listener-fioasync", SFD_LISTENER, "ioctl(3 = listener, FIOASYNC, &1)", SYS_ioctl, SA_FD,
		FIOASYNC, SA_ONE),
	REFUSED("ioctl", ALL_BR, "stderr-tiocsti", SFD_STDERR, "ioctl(2, TIOCSTI, \"x\")", SYS_ioctl, SA_FD, TIOCSTI,
		(long)"x"),
	REFUSED("ioctl", ALL_BR, "signalfd-fioasync", SFD_SIGNALFD, "ioctl(<its signalfd>, FIOASYNC, &1)", SYS_ioctl, SA_FD,
		FIOASYNC, SA_ONE),
	{ .syscall = "ioctl", .roles = ALL_BR, .id = "surface.ioctl.tcgets", .expect = SURFACE_NO_CLASS,
	  .why = "TCGETS only (isatty in stdio): reads a terminal's settings; a socket or file answers ENOTTY" },
	REFUSED("fcntl", AS, "ledger-clear-append", SFD_LEDGER, "fcntl(3 = ledger, F_SETFL, 0): clears O_APPEND",
		SYS_fcntl, SA_FD, F_SETFL, 0),
	REFUSED("fcntl", NOT_PVX, "channel-setfl", SFD_CHANNEL, "fcntl(<channel end>, F_SETFL, O_NONBLOCK|O_ASYNC)",
		SYS_fcntl, SA_FD, F_SETFL, O_NONBLOCK | O_ASYNC),
	ALLOWED("fcntl", PVX, "pipe-setfl", SFD_PIPE, "its program's pipes: the provider reads them without blocking",
		"fcntl(<pipe it made>, F_SETFL, O_NONBLOCK)", SYS_fcntl, SA_FD, F_SETFL, O_NONBLOCK),
	ALLOWED("fcntl", PVX, "channel-setfl", SFD_CHANNEL,
		"the rule cannot tell fds apart; a provider holds no ledger and no host socket: "
		"only how it reads its own end changes (F_SETOWN is refused, so O_ASYNC signals no one)",
		"fcntl(3 = artifact reader end, F_SETFL, O_NONBLOCK|O_ASYNC)", SYS_fcntl, SA_FD, F_SETFL,
		O_NONBLOCK | O_ASYNC),
	REFUSED("fcntl", IM, "listener-dupfd", SFD_LISTENER,
		"fcntl(3 = listener, F_DUPFD, 0): no other number may name the listener", SYS_fcntl, SA_FD, F_DUPFD, 0),
	REFUSED("fcntl", IM, "listener-dupfd-cloexec", SFD_LISTENER, "fcntl(3 = listener, F_DUPFD_CLOEXEC, 0)",
		SYS_fcntl, SA_FD, F_DUPFD_CLOEXEC, 0),
	REFUSED("fcntl", NOT_PVX | BR, "status-setpipe-sz", SFD_STATUS, "fcntl(<status fd>, F_SETPIPE_SZ, 4096)", SYS_fcntl,
		SA_FD, F_SETPIPE_SZ, 4096),
	ALLOWED("fcntl", PVX, "pipe-dupfd", SFD_PIPE, "a shell saves and restores its fds for redirections",
		"fcntl(<pipe it made>, F_DUPFD, 0)", SYS_fcntl, SA_FD, F_DUPFD, 0),
	DEPENDS("fcntl", PVX, "pipe-setpipe-sz", SFD_PIPE, SETPIPE_SZ, MECH_SECCOMP, 0,
		"its own pipe's capacity, within the user's pipe quota", "fcntl(<pipe it made>, F_SETPIPE_SZ, 131072)",
		SYS_fcntl, SA_FD, F_SETPIPE_SZ, 131072),
	REFUSED("fcntl", ALL_BR, "channel-setown", SFD_CHANNEL, "fcntl(<channel end>, F_SETOWN, <own pid>)", SYS_fcntl,
		SA_FD, F_SETOWN, SA_SELF_PID),
	REFUSED("fcntl", ALL_BR, "channel-setsig", SFD_CHANNEL, "fcntl(<channel end>, F_SETSIG, SIGUSR2)", SYS_fcntl, SA_FD,
		F_SETSIG, SIGUSR2),
	REFUSED("fcntl", AS, "ledger-setlease", SFD_LEDGER, "fcntl(3 = ledger, F_SETLEASE, F_WRLCK)", SYS_fcntl, SA_FD,
		F_SETLEASE, F_WRLCK),
	REFUSED("fcntl", AS, "ledger-notify", SFD_LEDGER, "fcntl(3 = ledger, F_NOTIFY, DN_MODIFY)", SYS_fcntl, SA_FD,
		F_NOTIFY, DN_MODIFY),
	REFUSED("fcntl", AS, "ledger-setlk", SFD_LEDGER, "fcntl(3 = ledger, F_SETLK, {F_RDLCK, whole file})", SYS_fcntl,
		SA_FD, F_SETLK, SA_BUF),
	ALLOWED("fcntl", ALL_BR, "channel-getfl", SFD_CHANNEL, "reads its own fd's flags", "fcntl(<channel end>, F_GETFL)",
		SYS_fcntl, SA_FD, F_GETFL),
	ALLOWED("fcntl", ALL_BR, "channel-setfd", SFD_CHANNEL, "close-on-exec of its own fd",
		"fcntl(<channel end>, F_SETFD, FD_CLOEXEC)", SYS_fcntl, SA_FD, F_SETFD, FD_CLOEXEC),
	REFUSED("lseek", AS, "ledger", SFD_LEDGER, "lseek(3 = ledger, 0, SEEK_SET)", SYS_lseek, SA_FD, 0, SEEK_SET),
	NO_CLASS("lseek", PVX, "programs' stdio on their own files and pipes; the provider's channels are "
			       "sockets, which cannot seek"),
	REFUSED("fstat", NOT_PVX | BR, "channel", SFD_CHANNEL,
		"fstat(<channel end>, &st): the inode numbers of new fds count what the host made meanwhile",
		SYS_fstat, SA_FD, SA_BUF),
	ALLOWED("fstat", PVX, "channel", SFD_CHANNEL, "programs' stdio and loader stat their files",
		"fstat(<channel end>, &st)", SYS_fstat, SA_FD, SA_BUF),
	REFUSED("newfstatat", NOT_PVX, "empty-path", SFD_CHANNEL, "newfstatat(<channel end>, \"\", &st, AT_EMPTY_PATH)",
		SYS_newfstatat, SA_FD, (long)"", SA_BUF, AT_EMPTY_PATH),
	ANSWERED("newfstatat", BR, "empty-path", SFD_CHANNEL, ENOENT,
		 "OpenSSL's lookup of an unknown issuer in its default hash directory (libnats "
		 "always sets the default verify paths) fails as a missing file, and the verification with it",
		 "newfstatat(<channel end>, \"\", &st, AT_EMPTY_PATH)", SYS_newfstatat, SA_FD, (long)"", SA_BUF,
		 AT_EMPTY_PATH),
	ANSWERED("newfstatat", BR, "ssl-certs", SFD_NONE, ENOENT, "no file is looked at once sealed",
		 "newfstatat(AT_FDCWD, \"/usr/lib/ssl/certs\", &st, 0)", SYS_newfstatat, AT_FDCWD,
		 (long)"/usr/lib/ssl/certs", SA_BUF, 0),
	REFUSED_BY("newfstatat", PVX, "ledger-path", SFD_NONE, MECH_MNTNS, ENOENT,
		   "no host path exists in its mount namespace", "newfstatat(AT_FDCWD, <ledger's host path>, &st, 0)",
		   SYS_newfstatat, AT_FDCWD, SA_LEDGER, SA_BUF, 0),

	/* ---- its event loop ---- */
	ALLOWED("epoll_ctl", IM | PV, "add-own", SFD_EPOLL, "an interest list of its own fds",
		"epoll_ctl(<its epoll>, EPOLL_CTL_ADD, 3, {EPOLLIN})", SYS_epoll_ctl, SA_FD, EPOLL_CTL_ADD, ROLE_FD_FIRST,
		SA_EVENT),
	NO_CLASS("epoll_wait", ALL, "waits on its own epoll set"),
	NO_CLASS("epoll_pwait", ALL, "waits on its own epoll set, with its own signal mask"),
	NO_CLASS("poll", IM | PVX | BR, "waits on its own fds"),
	ALLOWED("timerfd_settime", PV, "own", SFD_TIMERFD, "its checkpoint timer",
		"timerfd_settime(<its timerfd>, 0, {1 s}, NULL)", SYS_timerfd_settime, SA_FD, 0, SA_ITIMER, 0),

	/* ---- provider-exec: starting and stopping its program ---- */
	{ .syscall = "clone", .roles = PVX, .id = "surface.clone.newnet", .action = "clone(CLONE_NEWNET|SIGCHLD)",
	  .expect = SURFACE_REFUSED, .mech = MECH_SECCOMP, .act = act_clone, .args = { CLONE_NEWNET | SIGCHLD } },
	{ .syscall = "clone", .roles = PVX, .id = "surface.clone.fork", .action = "clone(SIGCHLD)",
	  .expect = SURFACE_ALLOWED, .act = act_clone, .args = { SIGCHLD },
	  .why = "forks its program; RLIMIT_NPROC of its own host uid bounds a flood (exec.fork-bomb)" },
	NO_CLASS("vfork", PVX, "a child sharing its memory until execve, under the same filter"),
	NO_CLASS("execve", PVX, "programs under its mounts and Landlock, inheriting this filter (exec.* probes)"),
	NO_CLASS("wait4", PVX, "reaps its own children (its own pid namespace)"),
	NO_CLASS("waitid", PVX, "reaps its own children (its own pid namespace)"),
	NO_CLASS("pidfd_send_signal", PVX, "SIGKILL through a pidfd, which only its own clone(CLONE_PIDFD) yields"),
	REFUSED("kill", PVX, "self-sigcont", SFD_NONE, "kill(<own pid>, SIGCONT): only SIGTERM and SIGKILL", SYS_kill,
		SA_SELF_PID, SIGCONT),
	REFUSED_BY("kill", PVX, "other-role", SFD_NONE, MECH_PIDNS, ESRCH, "another role's pid is not in its pid namespace",
		   "kill(<another role's host pid>, SIGTERM)", SYS_kill, SA_OTHER_PID, SIGTERM),
	NO_CLASS("pipe2", PVX, "a pipe of its own"),
	NO_CLASS("dup2", PVX, "renumbers its own fds; no host socket reaches a provider (sendmsg.scm-* rows)"),
	NO_CLASS("dup3", PVX, "renumbers its own fds; no host socket reaches a provider (sendmsg.scm-* rows)"),
	NO_CLASS("close_range", PVX, "closes its own fds"),
	REFUSED("prctl", PVX, "set-dumpable", SFD_NONE, "prctl(PR_SET_DUMPABLE, 1)", SYS_prctl, PR_SET_DUMPABLE, 1),
	ALLOWED("prctl", PVX, "set-name", SFD_NONE, "names its own thread", "prctl(PR_SET_NAME, \"x\")", SYS_prctl,
		PR_SET_NAME, (long)"x"),
	REFUSED("prlimit64", PVX, "raise", SFD_NONE, "prlimit64(0, RLIMIT_NOFILE, {INFINITY, INFINITY}, NULL)",
		SYS_prlimit64, 0, RLIMIT_NOFILE, SA_LIMIT, 0),
	REFUSED_BY("prlimit64", PVX, "other-role", SFD_NONE, MECH_PIDNS, ESRCH, "another role's pid is not in its pid namespace",
		   "prlimit64(<another role's host pid>, RLIMIT_NOFILE, NULL, &old)", SYS_prlimit64, SA_OTHER_PID,
		   RLIMIT_NOFILE, 0, SA_BUF),
	NO_CLASS("arch_prctl", PVX, "its own thread pointer and CPU feature state"),
	NO_CLASS("set_tid_address", PVX, "its own thread's exit word"),
	NO_CLASS("set_robust_list", PVX | BR, "its own thread's robust futex list"),
	NO_CLASS("rseq", PVX | BR, "its own restartable sequences area"),
	NO_CLASS("getcwd", PVX, "its own working directory, in its own mount namespace"),
	NO_CLASS("getuid", PVX, "its own ids, mapped through its own user namespace"),
	NO_CLASS("geteuid", PVX, "its own ids, mapped through its own user namespace"),
	NO_CLASS("getgid", PVX, "its own ids, mapped through its own user namespace"),
	NO_CLASS("getegid", PVX, "its own ids, mapped through its own user namespace"),
	NO_CLASS("getppid", PVX, "its parent in its own pid namespace"),
	NO_CLASS("mincore", PVX, "residency of its own pages; file pages only of files it may write (Linux 5.0+)"),
	NO_CLASS("openat", PVX, "paths bounded by its mount namespace and Landlock (exec.open-*, exec.write-* probes)"),
	NO_CLASS("access", PVX, "paths bounded by its mount namespace and Landlock"),
	NO_CLASS("readlink", PVX, "paths bounded by its mount namespace and Landlock"),
	NO_CLASS("readlinkat", PVX, "paths bounded by its mount namespace and Landlock"),
	NO_CLASS("statfs", PVX, "paths bounded by its mount namespace and Landlock"),
	NO_CLASS("fstatfs", PVX, "the filesystem of its own fd"),
	NO_CLASS("getdents64", PVX, "lists directories it opened within its mounts and Landlock"),
	NO_CLASS("epoll_create1", PVX, "an epoll set of its own"),
	NO_CLASS("landlock_restrict_self", PVX, "adds a Landlock layer to itself: a layer can only narrow what the "
						"layers below allow (the programs' domain, roles/provider/exec.c)"),
	ALLOWED("socket", PVX, "unix", SFD_NONE, "glibc tries the nscd socket; no other sandbox's socket is reachable",
		"socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0)", SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
	REFUSED("socket", PVX | BR, "inet-bit32", SFD_NONE, "socket(AF_INET + 2^32, SOCK_STREAM, 0)", SYS_socket,
		SA_HI(AF_INET), SOCK_STREAM, 0),
	NO_CLASS("connect", PVX, "only AF_UNIX sockets exist; abstract names are per network namespace "
				 "(exec.connect-abstract probe); Landlock handles TCP connect"),

	/* ---- a host part's bridge: TCP to the NATS servers alone, its lanes one-way ---- */
	REFUSED("socket", BR, "unix", SFD_NONE,
		"socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0): the host's abstract sockets share its network namespace",
		SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
	REFUSED("socket", BR, "unix-dgram", SFD_NONE, "socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC, 0)", SYS_socket, AF_UNIX,
		SOCK_DGRAM | SOCK_CLOEXEC, 0),
	REFUSED("socket", BR, "netlink", SFD_NONE, "socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE): the host's "
		"routes, links, neighbours", SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0),
	REFUSED("socket", BR, "packet", SFD_NONE, "socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC, 0)", SYS_socket, AF_PACKET,
		SOCK_RAW | SOCK_CLOEXEC, 0),
	REFUSED("socket", BR, "inet-dgram", SFD_NONE,
		"socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, 0): UDP, which Landlock does not restrict", SYS_socket, AF_INET,
		SOCK_DGRAM | SOCK_CLOEXEC, 0),
	REFUSED("socket", BR, "inet6-dgram", SFD_NONE, "socket(AF_INET6, SOCK_DGRAM|SOCK_CLOEXEC, 0)", SYS_socket,
		AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0),
	REFUSED("socket", BR, "inet-raw", SFD_NONE, "socket(AF_INET, SOCK_RAW|SOCK_CLOEXEC, IPPROTO_ICMP)", SYS_socket,
		AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP),
	REFUSED("socket", BR, "inet6-raw", SFD_NONE, "socket(AF_INET6, SOCK_RAW|SOCK_CLOEXEC, IPPROTO_RAW)", SYS_socket,
		AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW),
	REFUSED("socket", BR, "inet-seqpacket", SFD_NONE, "socket(AF_INET, SOCK_SEQPACKET|SOCK_CLOEXEC, IPPROTO_SCTP)",
		SYS_socket, AF_INET, SOCK_SEQPACKET | SOCK_CLOEXEC, IPPROTO_SCTP),
	REFUSED("socket", BR, "inet-stream-sctp", SFD_NONE,
		"socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_SCTP): a stream socket of another protocol, whose "
		"connect Landlock does not restrict (TCP ports only)", SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
		IPPROTO_SCTP),
	REFUSED("socket", BR, "inet6-stream-sctp", SFD_NONE, "socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_SCTP)",
		SYS_socket, AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP),
	REFUSED("socket", BR, "inet-stream-mptcp", SFD_NONE,
		"socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_MPTCP): protocol 0 or TCP only", SYS_socket, AF_INET,
		SOCK_STREAM | SOCK_CLOEXEC, 262 /* IPPROTO_MPTCP */),
	{ .syscall = "socket", .roles = BR, .id = "surface.socket.mptcp-connect-host-service",
	  .action = "socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP) + connect(127.0.0.1:<the audit's host service>)",
	  .expect = SURFACE_REFUSED, .mech = MECH_SECCOMP, .act = act_connect_proto, .args = { 262 },
	  .why = "Landlock's TCP rules leave other protocols alone (Linux 6.14+, stable kernels since): "
		 "were the socket made, the connect would go through" },
	ALLOWED("socket", BR, "inet-stream", SFD_NONE,
		"its connections to the NATS servers: Landlock lets a TCP socket connect to their ports alone "
		"(connect.* rows) and bind nowhere (bridge.bind probe)",
		"socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0)", SYS_socket, AF_INET,
		SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
	ALLOWED("socket", BR, "inet6-stream-tcp", SFD_NONE, "the same over IPv6 (a server named by an IPv6 address)",
		"socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP)", SYS_socket, AF_INET6, SOCK_STREAM | SOCK_CLOEXEC,
		IPPROTO_TCP),
	REFUSED_BY("connect", BR, "host-service", SFD_TCP, MECH_LANDLOCK, EACCES,
		   "Landlock: TCP connect to the [nats] servers' ports alone",
		   "connect(<TCP socket>, 127.0.0.1:<the audit's host service>, 16)", SYS_connect, SA_FD, SA_HOST_DEST, (long)sizeof(struct sockaddr_in)),
	REFUSED_BY("connect", BR, "listen-port", SFD_TCP, MECH_LANDLOCK, EACCES,
		   "the intermediary's port, on whichever host it runs, is not a NATS port",
		   "connect(<TCP socket>, 127.0.0.1:<the intermediary's listen port>, 16)", SYS_connect, SA_FD, SA_DEST, (long)sizeof(struct sockaddr_in)),
	ALLOWED("connect", BR, "nats-port", SFD_TCP,
		"what it is for: the first [nats] server's port (here on loopback, where the audit listens unless a "
		"server does)", "connect(<TCP socket>, 127.0.0.1:<first NATS port>, 16)", SYS_connect, SA_FD, SA_NATS_DEST,
		(long)sizeof(struct sockaddr_in)),
	REFUSED("sendto", BR, "tcp-fastopen", SFD_TCP,
		"sendto(<TCP socket>, \"x\", 1, MSG_FASTOPEN|MSG_NOSIGNAL|MSG_DONTWAIT, 127.0.0.1:<the audit's host "
		"service>, 16): a send that connects, past Landlock's connect hook", SYS_sendto, SA_FD, (long)"x", 1,
		MSG_FASTOPEN | NB_NS, SA_HOST_DEST, (long)sizeof(struct sockaddr_in)),
	ALLOWED("sendto", BR, "tcp-conn", SFD_TCP_CONN, "its NATS protocol, to a server Landlock lets it reach",
		"sendto(<TCP connection to the NATS port>, \"x\", 1, MSG_NOSIGNAL|MSG_DONTWAIT, NULL, 0)", SYS_sendto, SA_FD,
		(long)"x", 1, NB_NS, 0, 0),
	ALLOWED("sendto", BR, "tcp-conn-other-dest", SFD_TCP_CONN,
		"TCP ignores the address without MSG_FASTOPEN: the byte goes to the server it is connected to",
		"sendto(<TCP connection to the NATS port>, \"x\", 1, MSG_NOSIGNAL|MSG_DONTWAIT, 127.0.0.1:<the audit's "
		"host service>, 16)", SYS_sendto, SA_FD, (long)"x", 1, NB_NS, SA_HOST_DEST, (long)sizeof(struct sockaddr_in)),
	REFUSED_BY("sendto", BR, "lane-reader", SFD_LANE_R, MECH_CHANNEL, EPIPE,
		   "an out lane's channel is shut away from it: no frame goes back to the writer",
		   "sendto(<out lane's reader end>, \"x\", 1, MSG_NOSIGNAL|MSG_DONTWAIT, NULL, 0)", SYS_sendto, SA_FD,
		   (long)"x", 1, NB_NS, 0, 0),
	ALLOWED("sendto", BR, "lane-writer", SFD_LANE_W,
		"a frame it brings in, one per message: its reader (the association, a provider) drops what is not a "
		"valid frame and rejects a forged one (sig.forge-* probe); sendto carries no control data",
		"sendto(<in lane's writer end>, \"x\", 1, MSG_NOSIGNAL|MSG_DONTWAIT, NULL, 0)", SYS_sendto, SA_FD,
		(long)"x", 1, NB_NS, 0, 0),
	REFUSED("sendmsg", BR, "tcp-fastopen", SFD_TCP,
		"sendmsg(<TCP socket>, {\"x\" to 127.0.0.1:<the audit's host service>}, MSG_FASTOPEN|MSG_NOSIGNAL|"
		"MSG_DONTWAIT)", SYS_sendmsg, SA_FD, SA_MSG_HOST, MSG_FASTOPEN | NB_NS),
	REFUSED("sendmsg", BR, "lane-reader", SFD_LANE_R,
		"sendmsg(<out lane's reader end>, {\"x\"}, MSG_NOSIGNAL|MSG_DONTWAIT): no sendmsg at all", SYS_sendmsg,
		SA_FD, SA_MSG, NB_NS),
	REFUSED("sendmsg", BR, "lane-writer", SFD_LANE_W,
		"sendmsg(<in lane's writer end>, {\"x\"}, MSG_NOSIGNAL|MSG_DONTWAIT): an in lane writes with send",
		SYS_sendmsg, SA_FD, SA_MSG, NB_NS),
	REFUSED("sendmsg", BR, "scm-lane-writer", SFD_LANE_W,
		"sendmsg(<in lane's writer end>, {\"x\", SCM_RIGHTS {3}}, MSG_NOSIGNAL|MSG_DONTWAIT): no fd goes along "
		"a frame, whatever the kernel's SO_PASSRIGHTS", SYS_sendmsg, SA_FD, SA_MSG_SCM, NB_NS),
	ALLOWED("read", BR, "lane-writer-eof", SFD_LANE_W, "end of file at once: the channel is shut toward it",
		"read(<in lane's writer end>, buf, 64)", SYS_read, SA_FD, SA_BUF, 64),
	ALLOWED("read", BR, "secrets", SFD_BR_SECRETS, "its own NATS password and TLS material, read once at start",
		"read(6 = secrets memfd, buf, 64)", SYS_read, SA_FD, SA_BUF, 64),
	REFUSED_BY("write", BR, "lane-reader", SFD_LANE_R, MECH_CHANNEL, EPIPE, "the channel is shut away from it",
		   "write(<out lane's reader end>, \"x\", 1)", SYS_write, SA_FD, (long)"x", 1),
	REFUSED_BY("write", BR, "control-reader", SFD_BR_CONTROL, MECH_CHANNEL, EPIPE,
		   "the supervisor's control channel is shut away from it: no word goes back",
		   "write(4 = control reader end, \"x\", 1)", SYS_write, SA_FD, (long)"x", 1),
	REFUSED_BY("write", BR, "secrets", SFD_BR_SECRETS, MECH_MEMFD_SEAL, EPERM,
		   "sealed (F_SEAL_WRITE): what it starts with next time is the supervisor's",
		   "write(6 = secrets memfd, \"x\", 1)", SYS_write, SA_FD, (long)"x", 1),
	ALLOWED("recvfrom", BR, "lane-writer-eof", SFD_LANE_W, "end of file at once: the channel is shut toward it",
		"recvfrom(<in lane's writer end>, buf, 64, MSG_DONTWAIT, NULL, NULL)", SYS_recvfrom, SA_FD, SA_BUF, 64,
		MSG_DONTWAIT, 0, 0),
	ALLOWED("recvmmsg", BR, "lane-writer-eof", SFD_LANE_W, "end of file at once: the channel is shut toward it",
		"recvmmsg(<in lane's writer end>, [{1 byte}], 1, MSG_DONTWAIT, NULL)", SYS_recvmmsg, SA_FD, SA_MMSG, 1,
		MSG_DONTWAIT, 0),
	REFUSED("recvmsg", BR, "lane-reader", SFD_LANE_R,
		"recvmsg(<out lane's reader end>, msg, MSG_DONTWAIT): recvmmsg only", SYS_recvmsg, SA_FD, SA_MSG,
		MSG_DONTWAIT),
	REFUSED("setsockopt", BR, "tcp-reuseport", SFD_TCP, "setsockopt(<TCP socket>, SOL_SOCKET, SO_REUSEPORT, &1, 4)",
		SYS_setsockopt, SA_FD, SOL_SOCKET, SO_REUSEPORT, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", BR, "tcp-bindtodevice", SFD_TCP,
		"setsockopt(<TCP socket>, SOL_SOCKET, SO_BINDTODEVICE, \"lo\", 3)", SYS_setsockopt, SA_FD, SOL_SOCKET,
		SO_BINDTODEVICE, (long)"lo", 3),
	REFUSED("setsockopt", BR, "tcp-ip-transparent", SFD_TCP, "setsockopt(<TCP socket>, SOL_IP, IP_TRANSPARENT, &1, 4)",
		SYS_setsockopt, SA_FD, SOL_IP, IP_TRANSPARENT, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", BR, "tcp-fastopen-connect", SFD_TCP,
		"setsockopt(<TCP socket>, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &1, 4): connect would defer to the first send",
		SYS_setsockopt, SA_FD, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", BR, "tcp-ulp", SFD_TCP, "setsockopt(<TCP socket>, IPPROTO_TCP, TCP_ULP, \"tls\", 3)",
		SYS_setsockopt, SA_FD, IPPROTO_TCP, TCP_ULP, (long)"tls", 3),
	REFUSED("setsockopt", BR, "tcp-attach-filter", SFD_TCP,
		"setsockopt(<TCP socket>, SOL_SOCKET, SO_ATTACH_FILTER, buf, 16)", SYS_setsockopt, SA_FD, SOL_SOCKET,
		SO_ATTACH_FILTER, SA_BUF, 16),
	ALLOWED("setsockopt", BR, "tcp-linger", SFD_TCP,
		"libnats sets it on every socket it connects (measured); it only changes how its own close ends",
		"setsockopt(<TCP socket>, SOL_SOCKET, SO_LINGER, {0}, 8)", SYS_setsockopt, SA_FD, SOL_SOCKET,
		SO_LINGER, SA_BUF, 8),
	ALLOWED("setsockopt", BR, "tcp-reuseaddr", SFD_TCP,
		"libnats sets it on every socket it connects (measured); the bridge has no bind, so no address "
		"to reuse", "setsockopt(<TCP socket>, SOL_SOCKET, SO_REUSEADDR, &1, 4)", SYS_setsockopt, SA_FD,
		SOL_SOCKET, SO_REUSEADDR, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", BR, "lane-passrights", SFD_CHANNEL,
		"setsockopt(512 = first lane's channel end, SOL_SOCKET, SO_PASSRIGHTS, &1, 4)", SYS_setsockopt, SA_FD,
		SOL_SOCKET, 83 /* SO_PASSRIGHTS */, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", BR, "lane-sndbufforce", SFD_CHANNEL,
		"setsockopt(512 = first lane's channel end, SOL_SOCKET, SO_SNDBUFFORCE, &1, 4)", SYS_setsockopt, SA_FD,
		SOL_SOCKET, SO_SNDBUFFORCE, SA_ONE, sizeof(int)),
	ALLOWED("setsockopt", BR, "tcp-nodelay", SFD_TCP, "latency of its own connection",
		"setsockopt(<TCP socket>, IPPROTO_TCP, TCP_NODELAY, &1, 4)", SYS_setsockopt, SA_FD, IPPROTO_TCP,
		TCP_NODELAY, SA_ONE, sizeof(int)),
	/* libnats sets none of these (strace of a run with reconnects) */
	REFUSED("setsockopt", BR, "tcp-keepalive", SFD_TCP, "setsockopt(<TCP socket>, SOL_SOCKET, SO_KEEPALIVE, &1, 4)",
		SYS_setsockopt, SA_FD, SOL_SOCKET, SO_KEEPALIVE, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", BR, "tcp-sndbuf", SFD_TCP, "setsockopt(<TCP socket>, SOL_SOCKET, SO_SNDBUF, &1, 4)",
		SYS_setsockopt, SA_FD, SOL_SOCKET, SO_SNDBUF, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", BR, "tcp-rcvbuf", SFD_TCP, "setsockopt(<TCP socket>, SOL_SOCKET, SO_RCVBUF, &1, 4)",
		SYS_setsockopt, SA_FD, SOL_SOCKET, SO_RCVBUF, SA_ONE, sizeof(int)),
	/* the lanes' calls on fds 512..639 only, the TCP ones below 512 only */
	REFUSED("setsockopt", BR, "tcp-peek-off", SFD_TCP, "setsockopt(<TCP socket>, SOL_SOCKET, SO_PEEK_OFF, &1, 4)",
		SYS_setsockopt, SA_FD, SOL_SOCKET, SO_PEEK_OFF, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", BR, "lane-nodelay", SFD_CHANNEL,
		"setsockopt(512 = first lane's channel end, IPPROTO_TCP, TCP_NODELAY, &1, 4)", SYS_setsockopt, SA_FD,
		IPPROTO_TCP, TCP_NODELAY, SA_ONE, sizeof(int)),
	REFUSED("recvmmsg", BR, "tcp", SFD_TCP, "recvmmsg(<TCP socket>, [{1 byte}], 1, MSG_DONTWAIT, NULL)",
		SYS_recvmmsg, SA_FD, SA_MMSG, 1, MSG_DONTWAIT, 0),
	REFUSED("ioctl", BR, "tcp-fionread", SFD_TCP, "ioctl(<TCP socket>, FIONREAD = SIOCINQ, &n)", SYS_ioctl, SA_FD,
		FIONREAD, SA_BUF),
	ALLOWED("setsockopt", BR, "lane-peek-off", SFD_CHANNEL,
		"an out lane peeks at its offset (docs/MULTIHOST.md); on its own end of the channel only",
		"setsockopt(512 = first lane's channel end, SOL_SOCKET, SO_PEEK_OFF, &1, 4)", SYS_setsockopt, SA_FD,
		SOL_SOCKET, SO_PEEK_OFF, SA_ONE, sizeof(int)),
	REFUSED("setsockopt", BR, "lane-sndbuf", SFD_CHANNEL,
		"setsockopt(512 = first lane's channel end, SOL_SOCKET, SO_SNDBUF, &1, 4)", SYS_setsockopt, SA_FD,
		SOL_SOCKET, SO_SNDBUF, SA_ONE, sizeof(int)),
	ALLOWED("getsockopt", BR, "tcp-error", SFD_TCP, "the outcome of its own non-blocking connect",
		"getsockopt(<TCP socket>, SOL_SOCKET, SO_ERROR)", SYS_getsockopt, SA_FD, SOL_SOCKET, SO_ERROR, SA_BUF,
		SA_LENP),
	ALLOWED("getsockopt", BR, "lane-error", SFD_CHANNEL,
		"the rule cannot tell fds apart: a lane's pending error is the same whatever a provider decided "
		"(host.differential-intermediary compares SO_ERROR on the writer end)",
		"getsockopt(512 = first lane's channel end, SOL_SOCKET, SO_ERROR)", SYS_getsockopt, SA_FD, SOL_SOCKET,
		SO_ERROR, SA_BUF, SA_LENP),
	REFUSED("getsockopt", BR, "tcp-info", SFD_TCP, "getsockopt(<TCP socket>, IPPROTO_TCP, TCP_INFO)", SYS_getsockopt,
		SA_FD, IPPROTO_TCP, TCP_INFO, SA_BUF, SA_LENP),
	REFUSED("getsockopt", BR, "lane-peercred", SFD_CHANNEL,
		"getsockopt(512 = first lane's channel end, SOL_SOCKET, SO_PEERCRED)", SYS_getsockopt, SA_FD, SOL_SOCKET,
		SO_PEERCRED, SA_BUF, SA_LENP),
	NO_CLASS("getsockname", BR, "the address of its own socket: a lane's is unnamed, a TCP socket's is the local "
				    "end of a connection it made"),
	NO_CLASS("getpeername", BR, "the peer of its own socket: a lane's is unnamed, a TCP socket's a NATS server"),
	{ .syscall = "clone", .roles = BR, .id = "surface.clone.fork", .action = "clone(SIGCHLD)",
	  .expect = SURFACE_REFUSED, .mech = MECH_SECCOMP, .act = act_clone, .args = { SIGCHLD },
	  .why = "threads only: a process would be a second one to kill and to reap" },
	{ .syscall = "clone", .roles = BR, .id = "surface.clone.newuser-thread",
	  .action = "clone(CLONE_NEWUSER|CLONE_THREAD|CLONE_SIGHAND|CLONE_VM)", .expect = SURFACE_REFUSED,
	  .mech = MECH_SECCOMP, .act = act_clone, .args = { CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM } },
	{ .syscall = "clone", .roles = BR, .id = "surface.clone.newnet-thread",
	  .action = "clone(CLONE_NEWNET|CLONE_THREAD|CLONE_SIGHAND|CLONE_VM)", .expect = SURFACE_REFUSED,
	  .mech = MECH_SECCOMP, .act = act_clone, .args = { CLONE_NEWNET | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM } },
	{ .syscall = "clone", .roles = BR, .id = "surface.clone.thread",
	  .action = "pthread_create (clone3, then clone), after a first thread before the seal",
	  .expect = SURFACE_ALLOWED, .act = act_thread, .thread_before_seal = true,
	  .why = "libnats' threads and one per lane, in no new namespace; RLIMIT_NPROC of its own host uid bounds them" },
	ANSWERED("clone3", BR, "newuser", SFD_NONE, ENOSYS,
		 "its flags are in memory the filter cannot read: glibc falls back to clone, whose flags it can",
		 "clone3({.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD}, 88)", SYS_clone3, SA_CLONE_ARGS,
		 sizeof(struct clone_args)),
	NO_CLASS("sched_yield", BR, "yields its own CPU time"),
	NO_CLASS("sched_getaffinity", BR, "reads the CPUs it may run on"),
	NO_CLASS("gettimeofday", BR, "reads the clock"),
	NO_CLASS("ppoll", BR, "waits on its own fds, with its own signal mask"),
	NO_CLASS("eventfd2", BR, "an eventfd of its own (its lanes wake on them); no other role holds one"),
	NO_CLASS("pipe2", BR, "a pipe of its own; no other role holds either end"),
	ALLOWED("fcntl", BR, "lane-setfl", SFD_CHANNEL,
		"the rule cannot tell fds apart (libnats sets O_NONBLOCK on its sockets): only how it reads its own "
		"end changes (F_SETOWN is refused, so O_ASYNC signals no one)",
		"fcntl(512 = first lane's channel end, F_SETFL, O_NONBLOCK|O_ASYNC)", SYS_fcntl, SA_FD, F_SETFL,
		O_NONBLOCK | O_ASYNC),
	REFUSED("fcntl", BR, "lane-dupfd", SFD_CHANNEL, "fcntl(512 = first lane's channel end, F_DUPFD, 0)", SYS_fcntl,
		SA_FD, F_DUPFD, 0),
	REFUSED("fcntl", BR, "lane-setlease", SFD_CHANNEL, "fcntl(512 = first lane's channel end, F_SETLEASE, F_RDLCK)",
		SYS_fcntl, SA_FD, F_SETLEASE, F_RDLCK),
	REFUSED("fcntl", BR, "secrets-add-seals", SFD_BR_SECRETS, "fcntl(6 = secrets memfd, F_ADD_SEALS, F_SEAL_SEAL)",
		SYS_fcntl, SA_FD, F_ADD_SEALS, F_SEAL_SEAL),
	REFUSED("fcntl", BR, "tcp-setown", SFD_TCP, "fcntl(<TCP socket>, F_SETOWN, <own pid>)", SYS_fcntl, SA_FD,
		F_SETOWN, SA_SELF_PID),
	REFUSED("ioctl", BR, "tcp-siocoutq", SFD_TCP, "ioctl(<TCP socket>, SIOCOUTQ, &n)", SYS_ioctl, SA_FD, SIOCOUTQ,
		SA_BUF),
	REFUSED("ioctl", BR, "tcp-siocgifconf", SFD_TCP, "ioctl(<TCP socket>, SIOCGIFCONF, &ifc): the host's interfaces",
		SYS_ioctl, SA_FD, SIOCGIFCONF, SA_BUF),
	REFUSED("mmap", BR, "secrets-shared", SFD_BR_SECRETS,
		"mmap(NULL, 4096, PROT_READ, MAP_SHARED, 6 = secrets memfd, 0): private mappings only", SYS_mmap, 0, 4096,
		PROT_READ, MAP_SHARED, SA_FD, 0),

	/* ---- the intermediary's connections ---- */
	NO_CLASS("accept4", IM, "accepts on fd 3, the one thing the listener is for; any other fd answers EINVAL"),
	/* These may disable the listener if a policy is wrong: they come last. */
	ALLOWED("shutdown", IM, "connection-wr", SFD_CONNECTION,
		"after a final answer, so the client's unread bytes do not reset it; the requester is its peer",
		"shutdown(<accepted connection>, SHUT_WR)", SYS_shutdown, SA_FD, SHUT_WR),
	REFUSED("shutdown", IM, "connection-rdwr", SFD_CONNECTION,
		"shutdown(<accepted connection>, SHUT_RDWR): SHUT_WR only", SYS_shutdown, SA_FD, SHUT_RDWR),
	ALLOWED("shutdown", IM, "artifact-writer-wr", SFD_ARTIFACT_W,
		"its own channel end: it can only stop writing to it, which it may anyway",
		"shutdown(4 = artifact writer end, SHUT_WR)", SYS_shutdown, SA_FD, SHUT_WR),
	REFUSED("shutdown", IM, "artifact-writer-rd", SFD_ARTIFACT_W,
		"shutdown(4 = artifact writer end, SHUT_RD): SHUT_RD alone is in no rule", SYS_shutdown, SA_FD, SHUT_RD),
	ALLOWED("shutdown", IM, "listener-wr", SFD_LISTENER,
		"on a listening socket SHUT_WR only sets a flag: the kernel disconnects a listener only for SHUT_RD",
		"shutdown(3 = listener, SHUT_WR)", SYS_shutdown, SA_FD, SHUT_WR),
	REFUSED("shutdown", IM, "listener-rd-bit32", SFD_LISTENER,
		"shutdown(3 + 2^32 = listener to the kernel, SHUT_RD)", SYS_shutdown, SA_FD_HI, SHUT_RD),
	REFUSED("shutdown", IM, "listener-rdwr", SFD_LISTENER, "shutdown(3 = listener, SHUT_RDWR)", SYS_shutdown, SA_FD,
		SHUT_RDWR),
	REFUSED("shutdown", IM, "listener-rd", SFD_LISTENER,
		"shutdown(3 = listener, SHUT_RD): a closed TCP socket of the host's netns", SYS_shutdown, SA_FD, SHUT_RD),
	/* A shutdown of a lane would outlive the incarnation that made it (the
	 * socket is the supervisor's, handed to the next one): the policy
	 * allows fds below 512 only; kept last should a weakened run let one
	 * through. */
	ALLOWED("shutdown", BR, "tcp-conn-rdwr", SFD_TCP_CONN, "ends its own connection to a NATS server",
		"shutdown(<TCP connection to the NATS port>, SHUT_RDWR)", SYS_shutdown, SA_FD, SHUT_RDWR),
	REFUSED("shutdown", BR, "lane-reader-rd", SFD_LANE_R, "shutdown(<out lane's reader end>, SHUT_RD)", SYS_shutdown,
		SA_FD, SHUT_RD),
	REFUSED("shutdown", BR, "lane-reader-rd-bit32", SFD_LANE_R,
		"shutdown(<out lane's reader end> + 2^32 = the same fd to the kernel, SHUT_RD)", SYS_shutdown, SA_FD_HI,
		SHUT_RD),
	REFUSED("shutdown", BR, "lane-writer-wr", SFD_LANE_W, "shutdown(<in lane's writer end>, SHUT_WR)", SYS_shutdown,
		SA_FD, SHUT_WR),
	REFUSED("shutdown", BR, "control-rd", SFD_BR_CONTROL,
		"shutdown(4 = control reader end, SHUT_RD): the supervisor's 'R' would find it shut in every later "
		"incarnation", SYS_shutdown, SA_FD, SHUT_RD),
};

const size_t surface_count = sizeof(surface_table) / sizeof(surface_table[0]);
