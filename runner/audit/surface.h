/* SPDX-License-Identifier: Apache-2.0 */
/* The audit's argument surface (`mpbs-run --audit`): for every
 * syscall a role's seccomp policy allows, the hostile argument classes a
 * role could pass (flags, levels, option names, commands, and each kind of
 * fd the role holds), each run as one process in the sealed role's real
 * sandbox, or a written reason why no argument of that call can reach
 * beyond the role. The table in surface.c is the review: one row per case,
 * read top to bottom. runner/audit/audit_surface.c runs it and reports.
 *
 * A case is REFUSED (the seccomp policy kills it, or a named layer beneath
 * fails it with an errno) or ALLOWED, with the reason it must be. A case
 * whose outcome differs from its row is VIOLATED, and so is a syscall a
 * policy allows that has no row: adding a call to a policy without an
 * argument review fails the audit. */
#ifndef MPBS_SURFACE_H
#define MPBS_SURFACE_H

#include <stdbool.h>
#include <stddef.h>

#include "probe.h"
#include "../../roles/role.h"

/* The kind of fd a case aims at; each is resolved inside the sandbox. */
enum surface_fd {
	SFD_NONE,
	SFD_LISTENER,    /* intermediary: INTERMEDIARY_FD_LISTEN, the listening TCP socket of the host's netns */
	SFD_CONNECTION,  /* intermediary: a TCP connection accepted on the listener (the audit connects first) */
	SFD_ARTIFACT_W,  /* intermediary: INTERMEDIARY_FD_ARTIFACT(0), its end of the first provider's artifact channel */
	SFD_LEDGER,      /* association: ASSOCIATION_FD_LEDGER */
	SFD_SIGNAL_R,    /* association: ASSOCIATION_FD_SIGNAL(0), the first provider's signal channel */
	SFD_SEGMENTS,    /* association: ASSOCIATION_FD_SEGMENTS, its end of the segments socket */
	SFD_ARTIFACT_R,  /* provider: PROVIDER_FD_ARTIFACT */
	SFD_SIGNAL_W,    /* provider: PROVIDER_FD_SIGNAL */
	SFD_JOURNAL,     /* provider: PROVIDER_FD_JOURNAL, its write-ahead journal (a sealed memfd) */
	SFD_CONTROL,     /* provider: PROVIDER_FD_CONTROL, the read end of the supervisor's control channel */
	SFD_CHANNEL,     /* the role's first channel end: SFD_ARTIFACT_W, SFD_SIGNAL_R or SFD_ARTIFACT_R */
	SFD_STATUS,      /* its status pipe to the supervisor */
	SFD_STDERR,      /* fd 2 */
	SFD_EPOLL,       /* an epoll set it made itself (before the seal, as every role does) */
	SFD_SIGNALFD,    /* a signalfd it made itself */
	SFD_TIMERFD,     /* a timerfd it made itself */
	SFD_PIPE,        /* the write end of a pipe it made itself (provider-exec: its program's pipes) */
	SFD_STATE_FILE,  /* a file it wrote in /state (4096 bytes of x86 `ret`), unlinked; rows with it
			  * run only for a provider with a state directory */
	/* a host part's bridge (runner/plan_bridge.h); a row aimed at a lane
	 * end runs where its part has a lane of that direction */
	SFD_LANE_R,      /* bridge: the first out lane's channel end (a reader end: the frames it carries out) */
	SFD_LANE_W,      /* bridge: the first in lane's channel end (a writer end: the frames it brings in) */
	SFD_BR_CONTROL,  /* bridge: BRIDGE_FD_CONTROL, the read end of the supervisor's control channel */
	SFD_BR_SECRETS,  /* bridge: BRIDGE_FD_SECRETS, the sealed memfd of its NATS password and TLS material */
	SFD_TCP,         /* bridge: an AF_INET TCP socket it made itself, unconnected */
	SFD_TCP_CONN,    /* bridge: the same, connected to 127.0.0.1:<first NATS port> (the one port Landlock
			  * lets it reach; the audit listens there itself when no server does) */
	SFD_COUNT
};

enum surface_expect {
	SURFACE_REFUSED,  /* mech SECCOMP: killed by SIGSYS (or, with a code, the errno the policy answers
			   * with, as `clone3: return ENOSYS`); otherwise the errno `code` */
	SURFACE_ALLOWED,  /* the call succeeds; `why` says why it must */
	SURFACE_NO_CLASS, /* not run: `why` says why no argument of it reaches beyond the role */
};

/* Placeholders an argument may hold, resolved inside the sandbox. They sit
 * far from any fd, flag or length a row passes. */
#define SA_BASE 0x5afe0000L
#define SA_FD (SA_BASE + 1)        /* the row's fd */
#define SA_FD_HI (SA_BASE + 2)     /* the row's fd + 2^32: another number to a 64-bit filter compare,
				    * the same fd to the kernel, whose argument is an int */
#define SA_BUF (SA_BASE + 3)       /* a zeroed buffer of 4096 bytes */
#define SA_LENP (SA_BASE + 4)      /* socklen_t * = 256 */
#define SA_ONE (SA_BASE + 5)       /* int * = 1 */
#define SA_DEST (SA_BASE + 6)      /* struct sockaddr_in * = 127.0.0.1:<listen port> */
#define SA_MSG (SA_BASE + 7)       /* struct msghdr *: one byte */
#define SA_MSG_DEST (SA_BASE + 8)  /* struct msghdr *: one byte to 127.0.0.1:<listen port> */
#define SA_MSG_SCM (SA_BASE + 9)   /* struct msghdr *: one byte with SCM_RIGHTS { ROLE_FD_FIRST } */
#define SA_MMSG (SA_BASE + 10)     /* struct mmsghdr *: one message of one byte */
#define SA_MMSG_SCM (SA_BASE + 11) /* struct mmsghdr *: one byte with SCM_RIGHTS { ROLE_FD_FIRST } */
#define SA_SIGACT (SA_BASE + 12)   /* the kernel's struct sigaction with a handler of its own */
#define SA_PAGE (SA_BASE + 13)     /* a read-write anonymous page mapped before the seal */
#define SA_OTHER_PID (SA_BASE + 14) /* another role's host pid */
#define SA_SELF_PID (SA_BASE + 15) /* its own pid and tid (one thread) */
#define SA_LEDGER (SA_BASE + 16)   /* the ledger's host path */
#define SA_ITIMER (SA_BASE + 17)   /* struct itimerspec * = 1 s */
#define SA_EVENT (SA_BASE + 18)    /* struct epoll_event * = EPOLLIN */
#define SA_LIMIT (SA_BASE + 19)    /* struct rlimit * = RLIM_INFINITY both */
#define SA_SIGDFL (SA_BASE + 20)   /* the kernel's struct sigaction with SIG_DFL */
#define SA_HOST_DEST (SA_BASE + 21) /* struct sockaddr_in * = 127.0.0.1:<the audit's host service port> */
#define SA_NATS_DEST (SA_BASE + 22) /* struct sockaddr_in * = 127.0.0.1:<first NATS port> */
#define SA_MSG_HOST (SA_BASE + 23) /* struct msghdr *: one byte to 127.0.0.1:<the audit's host service port> */
#define SA_CLONE_ARGS (SA_BASE + 24) /* struct clone_args * = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD } */
#define SA_HI(x) ((long)(x) | (1L << 32)) /* a literal with bit 32 set (see SA_FD_HI) */

struct surface_case;

/* What an action gets: the row, the fd it resolved, and its page and env. */
struct surface_ctx {
	const struct surface_case *c;
	const struct probe_env *env;
	int fd;
	void *page;
};

struct surface_case {
	const char *syscall;         /* the policy rule name this row reviews */
	unsigned roles;              /* PROBE_ROLE_* */
	const char *id;              /* "surface.<syscall>.<class>" */
	const char *action;          /* the exact call, for the report */
	enum surface_fd fd;
	enum surface_expect expect;
	enum probe_mechanism mech;   /* REFUSED: the layer that refuses */
	int code;                    /* REFUSED below seccomp: the errno expected */
	const char *why;             /* ALLOWED and NO_CLASS: why; REFUSED: optional note */
	long nr;                     /* the raw syscall and its arguments, SA_* resolved */
	long args[6];
	/* Instead of nr: an action of its own. Returns 0 or an errno. */
	int (*act)(const struct surface_ctx *x);
	/* A thread started and joined before the seal, as the bridge's libnats
	 * does on its first connect: glibc installs its SIGRT_1 handler on the
	 * first pthread_create, which no sealed bridge may. */
	bool thread_before_seal;
};

struct surface_call {
	const struct surface_case *c;
	const struct probe_env *env;
	unsigned role;               /* the PROBE_ROLE_* bit of the sandbox */
};

extern const struct surface_case surface_table[];
extern const size_t surface_count;

/* A role_spec entry (surface_sandbox.c): arg is a struct surface_call.
 * Makes the fd the case needs (and, for SFD_CONNECTION, accepts the
 * audit's connection), ignores SIGPIPE, seals like the role, runs the case
 * and exits with 0 or the errno it got, or dies by SIGSYS.
 * PROBE_EXIT_SEAL: setup failed. */
int surface_main(void *arg, const struct role_seal *seal);

const char *surface_expect_name(enum surface_expect e);

#endif
