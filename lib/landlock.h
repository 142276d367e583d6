/* SPDX-License-Identifier: Apache-2.0 */
/* Landlock of a role (docs/ARCHITECTURE.md §4), where the kernel has it: the role keeps
 * only the file access listed here, no TCP bind at all, and TCP connect only
 * to the ports its LL_CONNECT rules list (the bridge's NATS servers; no
 * other role has one). */
#ifndef MPBS_LANDLOCK_H
#define MPBS_LANDLOCK_H

#include <stddef.h>

enum {
	LL_READ = 1,  /* read files, list directories */
	LL_WRITE = 2, /* write, truncate, create, remove, rename beneath */
	LL_EXEC = 4,  /* execute files (reading them needs LL_READ too) */
	LL_CONNECT = 8, /* alone, with port and no path: TCP connect to that port (ABI 4 on) */
};

struct landlock_rule {
	const char *path; /* a directory (the rule covers what is beneath) or a file */
	unsigned access;  /* LL_* bits, at least one */
	unsigned port;    /* of an LL_CONNECT rule */
};

/* In the child, after no_new_privs: builds a ruleset for every access right
 * the running kernel's Landlock ABI knows (1 to 7; refer from 2, truncate
 * from 3, TCP bind/connect from 4, device ioctl from 5, abstract-socket and
 * signal scoping from 6), adds one rule per entry, and restricts the calling
 * thread. n == 0 means no filesystem access at all. An LL_CONNECT rule on a
 * kernel before ABI 4 (which cannot restrict TCP) is skipped: the caller's
 * seccomp policy is then the only limit (landlock_restrict says so in
 * *abi_out). Device creation and
 * device ioctls are never granted.
 * Returns 0 with *abi_out = ABI; 1 with *abi_out = 0 and err set when the
 * kernel has no Landlock (the caller warns and goes on); -1 with err set on
 * any other failure (the caller must not run the role). abi_out may be NULL. */
int landlock_restrict(const struct landlock_rule *rules, size_t n, int *abi_out, char *err,
		      size_t errlen);

/* The same ruleset, built but not entered: *fd_out holds it (O_CLOEXEC)
 * for landlock_enter later, e.g. in a forked child just before execve,
 * where it nests a narrower domain inside the caller's. Returns as
 * landlock_restrict (on 1 and -1, *fd_out is -1). */
int landlock_ruleset_open(const struct landlock_rule *rules, size_t n, int *fd_out, int *abi_out, char *err,
			  size_t errlen);

/* landlock_restrict_self(ruleset_fd): the caller (and what it execs) is
 * restricted by the ruleset on top of any domain it already has; it can
 * only narrow. Async-signal-safe. Returns 0, or -1 with errno set. */
int landlock_enter(int ruleset_fd);

/* The kernel's Landlock ABI version, 0 when it has none. */
int landlock_abi_version(void);

#endif
