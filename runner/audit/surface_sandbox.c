/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* One argument surface case in the sealed role's sandbox (surface.h):
 * the fd the row aims at (one the role was given, or one it makes itself
 * before the seal, as a role does), the SA_* placeholders resolved to real
 * arguments, then the row's raw syscall. */
#include "surface.h"
#include "probe_roles.h"
#include "../../roles/association/association.h"
#include "../../roles/intermediary/intermediary.h"
#include "../../roles/provider/provider.h"
#include "../plan_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/sched.h>

/* ---- the placeholders' values ---- */

struct k_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

struct scratch {
	char buf[4096];
	socklen_t len;
	int one;
	struct sockaddr_in dest, host_dest, nats_dest;
	struct iovec iov;
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
	struct msghdr msg, msg_dest, msg_scm, msg_host;
	struct clone_args clone;
	struct mmsghdr mmsg, mmsg_scm;
	struct k_sigaction sa, sa_dfl;
	struct itimerspec timer;
	struct epoll_event event;
	struct rlimit limit;
};

static void own_handler(int sig)
{
	(void)sig;
}

static struct sockaddr_in loopback_port(int port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

static void scratch_init(struct scratch *s, const struct probe_env *e)
{
	memset(s, 0, sizeof(*s));
	s->len = 256;
	s->one = 1;
	s->dest = loopback_port(e->listen_port);
	s->host_dest = loopback_port(e->host_port);
	s->nats_dest = loopback_port(e->nats_port);
	s->iov = (struct iovec){ .iov_base = "x", .iov_len = 1 };
	s->msg = (struct msghdr){ .msg_iov = &s->iov, .msg_iovlen = 1 };
	s->msg_dest = s->msg;
	s->msg_dest.msg_name = &s->dest;
	s->msg_dest.msg_namelen = sizeof(s->dest);
	s->msg_host = s->msg;
	s->msg_host.msg_name = &s->host_dest;
	s->msg_host.msg_namelen = sizeof(s->host_dest);
	s->clone = (struct clone_args){ .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
	s->msg_scm = s->msg;
	s->msg_scm.msg_control = s->ctl.b;
	s->msg_scm.msg_controllen = sizeof(s->ctl.b);
	struct cmsghdr *c = CMSG_FIRSTHDR(&s->msg_scm);
	int passed = ROLE_FD_FIRST; /* the intermediary's listener, a provider's artifact reader end */
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &passed, sizeof(int));
	s->mmsg.msg_hdr = s->msg;
	s->mmsg_scm.msg_hdr = s->msg_scm;
	s->sa = (struct k_sigaction){ .handler = own_handler };
	s->timer.it_value.tv_sec = 1;
	s->event.events = EPOLLIN;
	s->limit = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
}

static long resolve(long v, const struct surface_ctx *x, struct scratch *s)
{
	switch (v) {
	case SA_FD: return x->fd;
	case SA_FD_HI: return SA_HI(x->fd);
	case SA_BUF: return (long)s->buf;
	case SA_LENP: return (long)&s->len;
	case SA_ONE: return (long)&s->one;
	case SA_DEST: return (long)&s->dest;
	case SA_MSG: return (long)&s->msg;
	case SA_MSG_DEST: return (long)&s->msg_dest;
	case SA_MSG_SCM: return (long)&s->msg_scm;
	case SA_MMSG: return (long)&s->mmsg;
	case SA_MMSG_SCM: return (long)&s->mmsg_scm;
	case SA_SIGACT: return (long)&s->sa;
	case SA_SIGDFL: return (long)&s->sa_dfl;
	case SA_PAGE: return (long)x->page;
	case SA_OTHER_PID: return x->env->victim_pid;
	case SA_SELF_PID: return getpid();
	case SA_LEDGER: return (long)x->env->ledger;
	case SA_ITIMER: return (long)&s->timer;
	case SA_EVENT: return (long)&s->event;
	case SA_LIMIT: return (long)&s->limit;
	case SA_HOST_DEST: return (long)&s->host_dest;
	case SA_NATS_DEST: return (long)&s->nats_dest;
	case SA_MSG_HOST: return (long)&s->msg_host;
	case SA_CLONE_ARGS: return (long)&s->clone;
	default: return v;
	}
}

static int act_syscall(const struct surface_ctx *x)
{
	struct scratch s;
	long a[6];
	scratch_init(&s, x->env);
	for (int i = 0; i < 6; i++)
		a[i] = resolve(x->c->args[i], x, &s);
	long rc = syscall(x->c->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (rc == 0 && x->c->nr == SYS_clone3)
		syscall(SYS_exit_group, 0); /* a child that came to be (the policy let clone3 through) */
	return rc < 0 ? errno : 0;
}

/* ---- in the sandbox ---- */

static int role_fd(enum surface_fd k, unsigned role, const struct probe_env *e)
{
	switch (k) {
	case SFD_LISTENER: return INTERMEDIARY_FD_LISTEN;
	case SFD_ARTIFACT_W: return INTERMEDIARY_FD_ARTIFACT(0);
	case SFD_LEDGER: return ASSOCIATION_FD_LEDGER;
	case SFD_SIGNAL_R: return ASSOCIATION_FD_SIGNAL(0);
	case SFD_SEGMENTS: return ASSOCIATION_FD_SEGMENTS;
	case SFD_ARTIFACT_R: return PROVIDER_FD_ARTIFACT;
	case SFD_SIGNAL_W: return PROVIDER_FD_SIGNAL;
	case SFD_JOURNAL: return PROVIDER_FD_JOURNAL;
	case SFD_CONTROL: return PROVIDER_FD_CONTROL;
	case SFD_CHANNEL: /* its first channel end */
		return role == IM   ? INTERMEDIARY_FD_ARTIFACT(0)
		       : role == AS ? ASSOCIATION_FD_SIGNAL(0)
		       : role == BR ? BRIDGE_FD_LANE(0)
				    : PROVIDER_FD_ARTIFACT;
	case SFD_LANE_R: return e->lane_reader;
	case SFD_LANE_W: return e->lane_writer;
	case SFD_BR_CONTROL: return BRIDGE_FD_CONTROL;
	case SFD_BR_SECRETS: return BRIDGE_FD_SECRETS;
	case SFD_STATUS: return e->status_fd;
	case SFD_STDERR: return 2;
	default: return -1;
	}
}

/* A file of its own in /state holding code (x86 `ret`, 0xc3), unlinked
 * at once so the operator's directory keeps nothing. */
static int state_file(void)
{
	static const char path[] = "/state/.mpbs-audit-surface";
	unsigned char code[4096];
	memset(code, 0xc3, sizeof(code));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0700);
	if (fd < 0)
		return -1;
	if (unlink(path) < 0 || write(fd, code, sizeof(code)) != (ssize_t)sizeof(code)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A TCP socket as the bridge makes one to a NATS server (before the seal
 * here; the bridge makes them sealed too, on reconnecting), connected to
 * 127.0.0.1:port if port > 0. */
static int tcp_socket(int port)
{
	struct sockaddr_in sa = loopback_port(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && port > 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The fds a role makes itself, made here before the seal as a role does. */
static int make_fd(enum surface_fd k, const struct probe_env *e)
{
	sigset_t set;
	int p[2];
	struct pollfd pfd = { .fd = INTERMEDIARY_FD_LISTEN, .events = POLLIN };
	switch (k) {
	case SFD_CONNECTION:
		return poll(&pfd, 1, 5000) == 1 ? accept4(INTERMEDIARY_FD_LISTEN, NULL, NULL, SOCK_CLOEXEC) : -1;
	case SFD_EPOLL:
		return epoll_create1(EPOLL_CLOEXEC);
	case SFD_SIGNALFD:
		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	case SFD_TIMERFD:
		return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	case SFD_PIPE:
		return pipe2(p, O_CLOEXEC) == 0 ? p[1] : -1; /* the read end stays open */
	case SFD_STATE_FILE:
		return state_file();
	case SFD_TCP:
		return tcp_socket(0);
	case SFD_TCP_CONN:
		return e->nats_port > 0 ? tcp_socket(e->nats_port) : -1;
	default:
		return -1;
	}
}

static void *idle_thread(void *arg)
{
	return arg;
}

int surface_main(void *arg, const struct role_seal *seal)
{
	const struct surface_call *call = arg;
	const struct surface_case *c = call->c;
	struct surface_ctx x = { .c = c, .env = call->env, .fd = -1 };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	char err[512];
	x.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x.page == MAP_FAILED || sigaction(SIGPIPE, &ign, NULL) < 0)
		return PROBE_EXIT_SEAL;
	if (c->fd != SFD_NONE) {
		x.fd = role_fd(c->fd, call->role, call->env);
		if (x.fd < 0)
			x.fd = make_fd(c->fd, call->env);
		if (x.fd < 0)
			return PROBE_EXIT_SEAL;
	}
	pthread_t t;
	if (c->thread_before_seal && (pthread_create(&t, NULL, idle_thread, NULL) != 0 || pthread_join(t, NULL) != 0))
		return PROBE_EXIT_SEAL;
	if (seal->fn(seal->ctx, err, sizeof(err)) < 0)
		return PROBE_EXIT_SEAL;
	return c->act ? c->act(&x) : act_syscall(&x);
}
