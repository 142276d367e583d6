/* SPDX-License-Identifier: Apache-2.0 */
/* The running roles seen from the host, as an outside auditor sees them:
 * the real binary on a temporary topology (harness), its children found
 * through /proc, and each one's status, namespaces, uids, links and fds
 * checked against docs/ARCHITECTURE.md §4. Needs root. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runner/caps.h"
#include "../../runner/netns.h"
#include "../../runner/plan.h"
#include "../common/harness.h"

#define UID_BASE m.uid_base /* this instance's [runner] uid_base (tests/common/harness.c) */
#define N_PROVIDERS 3
#define N_ROLES (N_PROVIDERS + 2)

struct role_seen {
	pid_t pid;
	char comm[16];
	uid_t expected_uid;
	enum role_kind kind;
};

static struct mpbs m;
static struct role_seen roles[N_ROLES];

static const char *const ns_names[] = { "net", "mnt", "pid", "user", "ipc", "uts", "cgroup" };
#define N_NS (sizeof(ns_names) / sizeof(ns_names[0]))

static void read_comm(pid_t pid, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	char *text = read_file(path, NULL);
	cr_assert_not_null(text, "read %s", path);
	text[strcspn(text, "\n")] = '\0';
	snprintf(out, len, "%s", text);
	free(text);
}

/* What the comm says the role is, and the host uid it must run as: the
 * uids the README documents (intermediary = base, association = base + 1,
 * provider i = base + 2 + i), written out here so that a change to the
 * role table that moves them fails this test. */
static void classify(struct role_seen *r)
{
	static const char *const names[N_PROVIDERS] = { "A", "B", "C" };
	if (strcmp(r->comm, "mpbs-int") == 0) {
		r->kind = ROLE_INTERMEDIARY;
		r->expected_uid = UID_BASE;
		return;
	}
	if (strcmp(r->comm, "mpbs-assoc") == 0) {
		r->kind = ROLE_ASSOCIATION;
		r->expected_uid = UID_BASE + 1;
		return;
	}
	for (size_t i = 0; i < N_PROVIDERS; i++) {
		char want[16];
		snprintf(want, sizeof(want), "mpbs-p-%s", names[i]);
		if (strcmp(r->comm, want) == 0) {
			r->kind = ROLE_PROVIDER;
			r->expected_uid = UID_BASE + 2 + (uid_t)i;
			return;
		}
	}
	cr_assert_fail("unexpected child of the supervisor: pid %d comm '%s'", (int)r->pid, r->comm);
}

static void find_roles(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)m.pid, (int)m.pid);
	char *text = read_file(path, NULL);
	cr_assert_not_null(text, "read %s", path);
	size_t n = 0;
	for (char *save = NULL, *tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		cr_assert_lt(n, N_ROLES, "more children than roles: %s", path);
		roles[n].pid = (pid_t)atoi(tok);
		read_comm(roles[n].pid, roles[n].comm, sizeof(roles[n].comm));
		classify(&roles[n]);
		n++;
	}
	free(text);
	cr_assert_eq(n, N_ROLES, "the supervisor has %zu children, expected %d", n, N_ROLES);
}

static void start(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(mpbs_start(&m, "A B C", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	find_roles();
}

static void finish(void)
{
	mpbs_cleanup(&m);
}

/* The value of "Key:\t..." in /proc/PID/status, without the newline. */
static void status_line(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *text = read_file(path, NULL);
	cr_assert_not_null(text, "read %s", path);
	size_t kl = strlen(key);
	out[0] = '\0';
	for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			snprintf(out, len, "%.*s", (int)strcspn(line + kl + 1, "\n"), line + kl + 1);
			break;
		}
	free(text);
	cr_assert(out[0], "%s: no %s line", path, key);
}

static ino_t ns_inode(pid_t pid, const char *ns)
{
	char path[64];
	struct stat st;
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
	return st.st_ino;
}

#define HOST_TEST(name) Test(iso_host, name, .init = start, .fini = finish, .timeout = 60)

HOST_TEST(every_role_is_sealed_without_privileges)
{
	for (size_t k = 0; k < N_ROLES; k++) {
		char v[128];
		uint64_t caps[5];
		status_line(roles[k].pid, "Seccomp", v, sizeof(v));
		cr_assert_str_eq(v, "\t2", "%s: Seccomp:%s", roles[k].comm, v);
		status_line(roles[k].pid, "NoNewPrivs", v, sizeof(v));
		cr_assert_str_eq(v, "\t1", "%s: NoNewPrivs:%s", roles[k].comm, v);
		cr_assert_eq(caps_read_status(roles[k].pid, caps), 0, "caps of %s: %s", roles[k].comm, strerror(errno));
		static const char *const set_names[5] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
		for (int s = 0; s < 5; s++) {
			status_line(roles[k].pid, set_names[s], v, sizeof(v));
			cr_assert_str_eq(v, "\t0000000000000000", "%s: %s:%s", roles[k].comm, set_names[s], v);
			cr_assert_eq(caps[s], 0, "%s: %s parsed as %#llx", roles[k].comm, set_names[s],
				     (unsigned long long)caps[s]);
		}
	}
}

HOST_TEST(every_pair_of_roles_has_distinct_namespaces)
{
	for (size_t n = 0; n < N_NS; n++) {
		ino_t host = ns_inode(0, ns_names[n]);
		ino_t seen[N_ROLES];
		for (size_t k = 0; k < N_ROLES; k++) {
			seen[k] = ns_inode(roles[k].pid, ns_names[n]);
			cr_assert_neq(seen[k], host, "%s shares the host's %s namespace", roles[k].comm, ns_names[n]);
			for (size_t j = 0; j < k; j++)
				cr_assert_neq(seen[k], seen[j], "%s and %s share a %s namespace", roles[k].comm,
					      roles[j].comm, ns_names[n]);
		}
	}
}

HOST_TEST(every_role_runs_as_its_own_host_uid)
{
	for (size_t k = 0; k < N_ROLES; k++) {
		char v[128], want[128];
		unsigned u = (unsigned)roles[k].expected_uid;
		cr_assert_neq(u, 0);
		snprintf(want, sizeof(want), "\t%u\t%u\t%u\t%u", u, u, u, u);
		status_line(roles[k].pid, "Uid", v, sizeof(v));
		cr_assert_str_eq(v, want, "%s: Uid:%s", roles[k].comm, v);
		status_line(roles[k].pid, "Gid", v, sizeof(v));
		cr_assert_str_eq(v, want, "%s: Gid:%s", roles[k].comm, v);
		for (size_t j = 0; j < k; j++)
			cr_assert_neq(roles[j].expected_uid, roles[k].expected_uid);
	}
}

/* This topology's providers run no programs: no role has a link up (a
 * provider with exec = yes gets lo up; the audit checks that, host.netns-links). */
HOST_TEST(no_role_without_programs_has_a_link_up)
{
	for (size_t k = 0; k < N_ROLES; k++) {
		struct netns_link links[16];
		size_t n = 0, up = 0;
		char err[512] = "";
		cr_assert_eq(netns_links_of_pid(roles[k].pid, links, 16, &n, err, sizeof(err)), 0, "%s: %s",
			     roles[k].comm, err);
		for (size_t i = 0; i < n; i++)
			up += (links[i].flags & IFF_UP) != 0;
		cr_assert_eq(up, 0, "%s: %zu links up", roles[k].comm, up);
	}
}

/* ---- fd tables ---- */

struct fd_census {
	size_t total, sockets, pipes, epoll, signalfd, timerfd, eventfd, regular, journal, other;
	char regular_path[PATH_MAX];
};

/* Whether fd of pid is the same open object as the supervisor's fd. */
static bool same_object(pid_t a, pid_t b, int fd)
{
	char pa[64], pb[64];
	struct stat sa, sb;
	snprintf(pa, sizeof(pa), "/proc/%d/fd/%d", (int)a, fd);
	snprintf(pb, sizeof(pb), "/proc/%d/fd/%d", (int)b, fd);
	return stat(pa, &sa) == 0 && stat(pb, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Whether process b holds an fd on the object behind fd of process a. */
static bool holds_same(pid_t a, int fd, pid_t b)
{
	char pa[64], dir[64];
	struct stat sa;
	bool found = false;
	snprintf(pa, sizeof(pa), "/proc/%d/fd/%d", (int)a, fd);
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)b);
	DIR *d = opendir(dir);
	if (stat(pa, &sa) < 0 || !d) {
		if (d)
			closedir(d);
		return false;
	}
	for (struct dirent *e; !found && (e = readdir(d));) {
		char pb[64 + 256];
		struct stat sb;
		snprintf(pb, sizeof(pb), "%s/%s", dir, e->d_name);
		found = e->d_name[0] != '.' && stat(pb, &sb) == 0 && sb.st_dev == sa.st_dev && sb.st_ino == sa.st_ino;
	}
	closedir(d);
	return found;
}

static void count_fd(struct fd_census *c, const char *target)
{
	if (strncmp(target, "socket:", 7) == 0)
		c->sockets++;
	else if (strncmp(target, "pipe:", 5) == 0)
		c->pipes++;
	else if (strcmp(target, "anon_inode:[eventpoll]") == 0)
		c->epoll++;
	else if (strcmp(target, "anon_inode:[signalfd]") == 0)
		c->signalfd++;
	else if (strcmp(target, "anon_inode:[timerfd]") == 0)
		c->timerfd++;
	else if (strcmp(target, "anon_inode:[eventfd]") == 0)
		c->eventfd++;
	else if (strncmp(target, "/memfd:mpbs-journal ", 20) == 0)
		c->journal++;
	else if (target[0] == '/') {
		c->regular++;
		snprintf(c->regular_path, sizeof(c->regular_path), "%s", target);
	} else
		c->other++;
}

/* Counts the fds of a role above stdio; stdin and stdout must be /dev/null
 * and stderr a pipe of its own whose other end the supervisor holds (never
 * the supervisor's own stderr), nothing else. */
static struct fd_census census(const struct role_seen *r)
{
	struct fd_census c = { 0 };
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)r->pid);
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		c.total++;
		char link[512], target[PATH_MAX];
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		cr_assert_gt(n, 0, "readlink %s: %s", link, strerror(errno));
		target[n] = '\0';
		if (fd <= 1) {
			/* Opened before pivot_root, so its path reads oddly from
			 * here; the device numbers say what it is. */
			struct stat st;
			cr_assert_eq(stat(link, &st), 0, "stat %s: %s", link, strerror(errno));
			cr_assert(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3,
				  "%s: fd %d is %s, not /dev/null", r->comm, fd, target);
			continue;
		}
		if (fd == 2) {
			cr_assert(strncmp(target, "pipe:", 5) == 0, "%s: fd 2 is %s, not its log pipe", r->comm, target);
			cr_assert(!same_object(r->pid, m.pid, fd), "%s: fd 2 is the supervisor's stderr", r->comm);
			cr_assert(holds_same(r->pid, fd, m.pid), "%s: the supervisor holds no end of its log pipe",
				  r->comm);
			continue;
		}
		count_fd(&c, target);
	}
	closedir(d);
	return c;
}

HOST_TEST(every_role_holds_only_the_fds_it_needs)
{
	for (size_t k = 0; k < N_ROLES; k++) {
		struct fd_census c = census(&roles[k]);
		const char *who = roles[k].comm;
		cr_assert_eq(c.other, 0, "%s: an fd of an unexpected kind", who);
		cr_assert_eq(c.pipes, 1, "%s: %zu pipes (only its status pipe)", who, c.pipes);
		cr_assert_eq(c.signalfd, 1, "%s", who);
		switch (roles[k].kind) {
		case ROLE_PROVIDER: /* artifact reader, signal writer, control reader, its journal; one loop, one timer */
			cr_assert_eq(c.eventfd, 0, "%s", who);
			cr_assert_eq(c.sockets, 3, "%s: %zu sockets", who, c.sockets);
			cr_assert_eq(c.regular, 0, "%s holds a host file: %s", who, c.regular_path);
			cr_assert_eq(c.journal, 1, "%s: %zu journals", who, c.journal);
			cr_assert(holds_same(roles[k].pid, PROVIDER_FD_JOURNAL, m.pid),
				  "%s: fd %d is not the journal the supervisor keeps", who, PROVIDER_FD_JOURNAL);
			cr_assert_eq(c.epoll, 1, "%s", who);
			cr_assert_eq(c.timerfd, 1, "%s", who);
			cr_assert_eq(c.total, 3 + 8, "%s: %zu fds", who, c.total);
			break;
		case ROLE_INTERMEDIARY: /* listener + one artifact writer per provider; its loop */
			cr_assert_eq(c.eventfd, 0, "%s", who);
			cr_assert_eq(c.journal, 0, "%s holds a provider's journal", who);
			cr_assert_eq(c.sockets, 1 + N_PROVIDERS, "%s: %zu sockets", who, c.sockets);
			cr_assert_eq(c.regular, 0, "%s holds a host file: %s", who, c.regular_path);
			cr_assert_eq(c.epoll, 1, "%s", who);
			cr_assert_eq(c.timerfd, 0, "%s", who);
			cr_assert_eq(c.total, 3 + N_PROVIDERS + 4, "%s: %zu fds", who, c.total);
			break;
		case ROLE_ASSOCIATION: /* the live segment and the spare + one signal reader per provider +
					* the segments socket; its syncer's eventfd */
			cr_assert_eq(c.regular, 2, "%s: the live segment and the spare", who);
			cr_assert_eq(strncmp(c.regular_path, m.ledger, strlen(m.ledger)), 0, "%s: %s", who, c.regular_path);
			cr_assert_eq(c.journal, 0, "%s holds a provider's journal", who);
			cr_assert_eq(c.sockets, N_PROVIDERS + 1, "%s: %zu sockets", who, c.sockets);
			cr_assert_eq(c.epoll, 1, "%s", who);
			cr_assert_eq(c.timerfd, 1, "%s", who);
			cr_assert_eq(c.eventfd, 1, "%s", who);
			cr_assert_eq(c.total, 3 + N_PROVIDERS + 8, "%s: %zu fds", who, c.total);
			break;
		case ROLE_BRIDGE: /* a host part's: not in a one-host run */
		case ROLE_KINDS:
			cr_assert_fail("%s: no kind", who);
		}
	}
}

/* Whether some fd of the supervisor points to target ("socket:[N]"). */
static bool supervisor_holds(const char *target)
{
	char dir[64];
	bool found = false;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)m.pid);
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
	for (struct dirent *e; !found && (e = readdir(d));) {
		char link[512], t[128];
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		ssize_t n = readlink(link, t, sizeof(t) - 1);
		if (n > 0) {
			t[n] = '\0';
			found = strcmp(t, target) == 0;
		}
	}
	closedir(d);
	return found;
}

/* Every socket a role holds is a channel end (or the listener) the
 * supervisor made and keeps: no role has opened a socket of its own. */
HOST_TEST(every_role_socket_is_one_the_supervisor_made)
{
	for (size_t k = 0; k < N_ROLES; k++) {
		char dir[64];
		snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)roles[k].pid);
		DIR *d = opendir(dir);
		cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
		size_t sockets = 0;
		for (struct dirent *e; (e = readdir(d));) {
			char link[512], target[128];
			snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
			ssize_t n = e->d_name[0] == '.' ? 0 : readlink(link, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (strncmp(target, "socket:", 7) != 0)
				continue;
			sockets++;
			cr_assert(supervisor_holds(target), "%s holds %s, which the supervisor does not", roles[k].comm,
				  target);
		}
		closedir(d);
		cr_assert_gt(sockets, 0, "%s: no channel at all", roles[k].comm);
	}
}
