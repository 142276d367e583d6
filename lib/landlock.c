/* SPDX-License-Identifier: Apache-2.0 */
/* Landlock through the raw syscalls (glibc has no wrappers), sized to the
 * ABI of the running kernel, not to the installed headers. */
#define _GNU_SOURCE
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Rights newer than the installed linux/landlock.h may know. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
/* ABI 4's TCP port rule, which Debian 12's headers predate. */
#define RULE_NET_PORT 2
struct net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};
#define NET_BIND_TCP (1ULL << 0)
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

/* The ruleset attribute as of ABI 6. The kernel accepts a longer struct than
 * it knows as long as the fields it does not know are zero. */
struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define FS_ABI1 ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1) /* EXECUTE .. MAKE_SYM */
#define FS_FILE_RIGHTS                                                                     \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
	 LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_WRITE                                                                               \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |  \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM |   \
	 LANDLOCK_ACCESS_FS_REFER)

static struct ruleset_attr handled_for_abi(int abi)
{
	struct ruleset_attr a = { .handled_access_fs = FS_ABI1 };
	if (abi >= 2)
		a.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		a.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 4)
		a.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
	if (abi >= 5)
		a.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi >= 6)
		a.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;
	return a;
}

/* Rights of one rule; a rule on a file may only hold rights that apply to
 * files (the kernel rejects the others with EINVAL). */
static uint64_t rights_of(unsigned access, bool is_dir, uint64_t handled)
{
	uint64_t r = 0;
	if (access & LL_READ)
		r |= FS_READ;
	if (access & LL_WRITE)
		r |= FS_WRITE;
	if (access & LL_EXEC)
		r |= LANDLOCK_ACCESS_FS_EXECUTE;
	if (!is_dir)
		r &= FS_FILE_RIGHTS;
	return r & handled;
}

/* TCP connect to one port. */
static int add_port_rule(int rsfd, const struct landlock_rule *rule, uint64_t handled_net, char *err, size_t errlen)
{
	if (rule->path || rule->port == 0 || rule->port > 65535) {
		snprintf(err, errlen, "landlock: an LL_CONNECT rule takes a port from 1 to 65535 and no path");
		return -1;
	}
	if (!(handled_net & NET_CONNECT_TCP))
		return 0; /* before ABI 4: nothing to allow, nothing is restricted */
	struct net_port_attr np = { .allowed_access = NET_CONNECT_TCP, .port = rule->port };
	if (syscall(SYS_landlock_add_rule, rsfd, RULE_NET_PORT, &np, 0) < 0) {
		snprintf(err, errlen, "landlock: add a rule for TCP port %u: %s", rule->port, strerror(errno));
		return -1;
	}
	return 0;
}

static int add_rule(int rsfd, const struct landlock_rule *rule, uint64_t handled, char *err,
		    size_t errlen)
{
	if (!rule->path || rule->access == 0 || (rule->access & ~(unsigned)(LL_READ | LL_WRITE | LL_EXEC))) {
		snprintf(err, errlen, "landlock: rule for %s: access must be LL_READ, LL_WRITE, LL_EXEC",
			 rule->path ? rule->path : "(null)");
		return -1;
	}
	struct stat st;
	int fd = open(rule->path, O_PATH | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "landlock: open %s: %s", rule->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct landlock_path_beneath_attr pb = {
		.allowed_access = rights_of(rule->access, S_ISDIR(st.st_mode), handled),
		.parent_fd = fd,
	};
	long rc = syscall(SYS_landlock_add_rule, rsfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	int saved = errno;
	close(fd);
	if (rc < 0) {
		snprintf(err, errlen, "landlock: add rule for %s: %s", rule->path, strerror(saved));
		return -1;
	}
	return 0;
}

/* 0 when the kernel has no Landlock at all (not built, or not enabled). */
static int landlock_abi(char *err, size_t errlen)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi >= 1)
		return (int)abi;
	if (abi < 0 && (errno == ENOSYS || errno == EOPNOTSUPP)) {
		snprintf(err, errlen, "landlock: not available in this kernel: %s", strerror(errno));
		return 0;
	}
	snprintf(err, errlen, "landlock: query the ABI version: %s",
		 abi < 0 ? strerror(errno) : "no version");
	return -1;
}

static int add_rules(int rsfd, const struct landlock_rule *rules, size_t n, const struct ruleset_attr *handled,
		     char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int rc = rules[i].access == LL_CONNECT
				 ? add_port_rule(rsfd, &rules[i], handled->handled_access_net, err, errlen)
				 : add_rule(rsfd, &rules[i], handled->handled_access_fs, err, errlen);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int landlock_enter(int ruleset_fd)
{
	return syscall(SYS_landlock_restrict_self, ruleset_fd, 0) < 0 ? -1 : 0;
}

int landlock_abi_version(void)
{
	char err[128];
	int abi = landlock_abi(err, sizeof(err));
	return abi > 0 ? abi : 0;
}

int landlock_ruleset_open(const struct landlock_rule *rules, size_t n, int *fd_out, int *abi_out, char *err,
			  size_t errlen)
{
	*fd_out = -1;
	int abi = landlock_abi(err, errlen);
	if (abi_out)
		*abi_out = abi > 0 ? abi : 0;
	if (abi <= 0)
		return abi == 0 ? 1 : -1;
	if (n && !rules) {
		snprintf(err, errlen, "landlock: no rules");
		return -1;
	}
	struct ruleset_attr attr = handled_for_abi(abi);
	int rsfd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (rsfd < 0) {
		snprintf(err, errlen, "landlock: create ruleset (ABI %d): %s", abi, strerror(errno));
		return -1;
	}
	if (add_rules(rsfd, rules, n, &attr, err, errlen) < 0) {
		close(rsfd);
		return -1;
	}
	*fd_out = rsfd;
	return 0;
}

int landlock_restrict(const struct landlock_rule *rules, size_t n, int *abi_out, char *err,
		      size_t errlen)
{
	int rsfd;
	int rc = landlock_ruleset_open(rules, n, &rsfd, abi_out, err, errlen);
	if (rc != 0)
		return rc;
	rc = landlock_enter(rsfd);
	if (rc < 0)
		snprintf(err, errlen, "landlock: restrict_self: %s%s", strerror(errno),
			 errno == EPERM ? " (no_new_privs must be set first)" : "");
	close(rsfd);
	return rc;
}
