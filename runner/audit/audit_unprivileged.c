/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Host-side checks as a normal user (--rootless) can make them. A role is a
 * non-dumpable clone of the supervisor, its memory owned by the initial
 * user namespace: only CAP_SYS_PTRACE there opens its /proc/PID/ns, fd and
 * environ (and pidfd namespace ioctls, setns through a pidfd, pidfd_getfd).
 * What /proc still shows anyone, read here from the host: NSpid in status,
 * the per-network-namespace /proc/PID/net, the mount table, uid_map. What
 * it does not show, the audit's own code in the live sandbox read of
 * itself and reported (probe.h, struct probe_self_report): its environment
 * area, fd 2, its fd table, and, in a sandbox with a /proc (a provider's),
 * its namespaces; the host judges that report against what it knows, as
 * the root audit judges /proc/PID. The report is the audit's code, trusted
 * as every probe is (the role's own code never ran in that sandbox). What
 * neither shows is left UNOBSERVED. */
#include "audit_internal.h"

#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/fsutil.h"

/* pid 0: the audit's own (/proc/self) */
static void proc_path(char *buf, size_t len, pid_t pid, const char *entry)
{
	if (pid > 0)
		snprintf(buf, len, "/proc/%d/%s", (int)pid, entry);
	else
		snprintf(buf, len, "/proc/self/%s", entry);
}

/* Whether pid is pid 1 of a pid namespace one level below the audit's:
 * its NSpid has one more field than the audit's, the last being 1. No
 * other process can be pid 1 there, so another role in that namespace
 * would fail this check itself. */
static bool own_pid_ns(pid_t pid)
{
	char mine[96], its[96];
	if (!audit_status_value(getpid(), "NSpid", mine, sizeof(mine)) || !audit_status_value(pid, "NSpid", its, sizeof(its)))
		return false;
	size_t depth_mine = 0, depth_its = 0;
	for (char *t = strtok(mine, " \t"); t; t = strtok(NULL, " \t"))
		depth_mine++;
	const char *last = NULL;
	for (char *t = strtok(its, " \t"); t; t = strtok(NULL, " \t")) {
		depth_its++;
		last = t;
	}
	return last && depth_its == depth_mine + 1 && strcmp(last, "1") == 0;
}

/* Each network namespace has its own /proc/net entries: the inode of
 * /proc/PID/net/dev names pid's network namespace while it lives. */
static ino_t net_ns_key(pid_t pid)
{
	char path[64];
	struct stat st;
	proc_path(path, sizeof(path), pid, "net/dev");
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* The mount id of pid's "/" in its mount table (0: none). A mount belongs
 * to one mount namespace: another table that lists it is the same one. */
static unsigned long root_mount_id(pid_t pid)
{
	char path[64], point[4096];
	unsigned long id = 0, found = 0;
	char *line = NULL;
	size_t cap = 0;
	proc_path(path, sizeof(path), pid, "mountinfo");
	FILE *f = fopen(path, "re");
	while (f && !found && getline(&line, &cap, f) > 0)
		if (sscanf(line, "%lu %*u %*s %*s %4095s", &id, point) == 2 && strcmp(point, "/") == 0)
			found = id;
	free(line);
	if (f)
		fclose(f);
	return found;
}

static bool lists_mount(pid_t pid, unsigned long id)
{
	char path[64];
	unsigned long mid;
	char *line = NULL;
	size_t cap = 0;
	bool listed = false;
	proc_path(path, sizeof(path), pid, "mountinfo");
	FILE *f = fopen(path, "re");
	while (f && !listed && getline(&line, &cap, f) > 0)
		listed = sscanf(line, "%lu", &mid) == 1 && mid == id;
	free(line);
	if (f)
		fclose(f);
	return listed;
}

/* uid_map shows a user namespace's map as the reader sees it: another
 * user namespace's is not the audit's own "0 0 4294967295". */
static bool other_user_ns(pid_t pid)
{
	char path[64], mine[512], its[512], err[256];
	size_t len;
	proc_path(path, sizeof(path), 0, "uid_map");
	if (fs_read_small(path, mine, sizeof(mine) - 2, &len, err, sizeof(err)) < 0)
		return false;
	proc_path(path, sizeof(path), pid, "uid_map");
	if (fs_read_small(path, its, sizeof(its) - 2, &len, err, sizeof(err)) < 0)
		return false;
	return len > 0 && strcmp(mine, its) != 0;
}

static const struct host_view namespaces_unseen = {
	"host.namespaces-ipc-uts-cgroup",
	"stat /proc/PID/ns/{ipc,uts,cgroup}, and ns/user against the other roles' (its sandbox has no /proc "
	"for it to report them)",
	"all its own",
};

/* Whether the live sandbox of role k reported its namespaces (it has a /proc). */
static bool reported_ns(const struct audit *a, size_t k)
{
	for (size_t n = 0; a->has_self[k] && n < PROBE_NS_COUNT; n++)
		if (a->self[k].ns[n])
			return true;
	return false;
}

/* The first namespace role k reported that is not its own: unreadable,
 * the audit's (the host's), or one another role reported; NULL: none. */
static const char *shared_reported_ns(const struct audit *a, size_t k)
{
	for (size_t n = 0; n < PROBE_NS_COUNT; n++) {
		uint64_t mine = a->self[k].ns[n];
		if (n == PROBE_NS_NET && audit_host_network(&a->plan.roles[k])) {
			if (mine != audit_ns_inode(0, probe_ns_names[n]))
				return "net (not the host's)";
			continue;
		}
		bool shared = mine == 0 || mine == audit_ns_inode(0, probe_ns_names[n]);
		for (size_t j = 0; j < a->plan.n_roles; j++)
			shared |= j != k && a->has_self[j] && a->self[j].ns[n] == mine;
		if (shared)
			return probe_ns_names[n];
	}
	return NULL;
}

const struct host_view *audit_view_namespaces(struct audit *a, size_t k, struct audit_row *r)
{
	pid_t pid = a->idle[k].pid;
	bool reported = reported_ns(a, k);
	r->action = reported ? "NSpid; /proc/PID/net/dev; / in /proc/PID/mountinfo; uid_map; and its report of "
			       "stat /proc/self/ns/* against the host's and the other roles' reports"
			     : "NSpid; inode of /proc/PID/net/dev; mount id of / in /proc/PID/mountinfo; /proc/PID/uid_map";
	bool host_net = audit_host_network(&a->plan.roles[k]);
	snprintf(r->expected, sizeof(r->expected), "%s",
		 host_net   ? (reported ? AUDIT_NS_HOST_NET : "net the host's, by design; mnt, pid its own; user not the host's")
		 : reported ? "all its own"
			    : "net, mnt, pid its own; user not the host's");
	ino_t net = net_ns_key(pid);
	unsigned long root = root_mount_id(pid);
	bool net_wrong = host_net ? net == 0 || net != net_ns_key(0) : net == 0 || net == net_ns_key(0);
	const char *shared = !own_pid_ns(pid)		      ? "pid"
			     : net_wrong && host_net	      ? "net (not the host's)"
			     : net_wrong			      ? "net"
			     : root == 0 || lists_mount(0, root) ? "mnt"
			     : !other_user_ns(pid)		      ? "user"
								      : NULL;
	for (size_t j = 0; !shared && j < a->plan.n_roles; j++)
		if (j != k && !host_net && net_ns_key(a->idle[j].pid) == net)
			shared = "net";
		else if (j != k && lists_mount(a->idle[j].pid, root))
			shared = "mnt";
	if (!shared && reported)
		shared = shared_reported_ns(a, k);
	if (shared)
		snprintf(r->got, sizeof(r->got), "shares its %s namespace", shared);
	else
		snprintf(r->got, sizeof(r->got), "%s", r->expected);
	r->ok = !shared;
	return reported ? NULL : &namespaces_unseen;
}

/* The links a network namespace has, or has up, by name. */
struct link_names {
	char name[16][IF_NAMESIZE];
	size_t n;
};

static void add_link(struct link_names *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->name[i]) == len && strncmp(s->name[i], name, len) == 0)
			return;
	if (len && len < IF_NAMESIZE && s->n < sizeof(s->name) / sizeof(s->name[0]))
		snprintf(s->name[s->n++], IF_NAMESIZE, "%.*s", (int)len, name);
}

/* Token `field` (0-based, blank-separated) of line, as *at and its length. */
static size_t token(const char *line, size_t field, const char **at)
{
	const char *p = line;
	for (size_t f = 0;; f++) {
		p += strspn(p, " \t");
		size_t len = strcspn(p, " \t");
		if (f == field || !len) {
			*at = p;
			return len;
		}
		p += len;
	}
}

/* Adds the link names /proc/PID/net/FILE lists. Returns false if it could
 * not be read. The kernel's formats: net/dev "  NAME: counters" after two
 * header lines; igmp a line "IDX<tab>NAME : COUNT ..." for each device
 * with a multicast group (after one header line; a group's lines start
 * with a tab); if_inet6 "ADDR IDX PLEN SCOPE FLAGS NAME". */
static bool read_links(pid_t pid, const char *file, struct link_names *s)
{
	char path[64], buf[16384], err[256];
	size_t len, line_no = 0;
	proc_path(path, sizeof(path), pid, file);
	if (fs_read_small(path, buf, sizeof(buf) - 2, &len, err, sizeof(err)) < 0)
		return false;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *at;
		line_no++;
		if (strcmp(file, "net/dev") == 0 && line_no > 2) {
			at = line + strspn(line, " ");
			add_link(s, at, strcspn(at, ":"));
		} else if (strcmp(file, "net/igmp") == 0 && line_no > 1 && isdigit((unsigned char)line[0])) {
			size_t n = token(line, 1, &at);
			add_link(s, at, n);
		} else if (strcmp(file, "net/if_inet6") == 0) {
			size_t n = token(line, 5, &at);
			add_link(s, at, n);
		}
	}
	return true;
}

/* The links of pid's network namespace, and those up: a link the kernel
 * brings up joins the all-hosts group (IPv4, /proc/PID/net/igmp) and gets
 * an IPv6 address (/proc/PID/net/if_inet6, where IPv6 is on); a link that
 * is down has neither. */
const struct host_view *audit_view_links(struct audit *a, size_t k, struct audit_row *r)
{
	pid_t pid = a->idle[k].pid;
	bool lo = a->plan.roles[k].spec.net_lo;
	struct link_names all = { .n = 0 }, up = { .n = 0 };
	r->action = "/proc/PID/net/dev; up: a group in /proc/PID/net/igmp or an address in net/if_inet6";
	snprintf(r->expected, sizeof(r->expected), "%s", lo ? "lo up, nothing else" : "none up");
	if (!read_links(pid, "net/dev", &all) || !read_links(pid, "net/igmp", &up)) {
		snprintf(r->got, sizeof(r->got), "/proc/%d/net: %s", (int)pid, strerror(errno));
		return NULL;
	}
	read_links(pid, "net/if_inet6", &up); /* absent where IPv6 is off */
	snprintf(r->got, sizeof(r->got), "%zu links, %zu up", all.n, up.n);
	r->ok = lo ? all.n == 1 && strcmp(all.name[0], "lo") == 0 && up.n == 1 && strcmp(up.name[0], "lo") == 0
		   : up.n == 0;
	return NULL;
}

/* Where the live sandbox sent no report, a check of it cannot hold. */
static bool no_report(const struct audit *a, size_t k, struct audit_row *r)
{
	if (a->has_self[k])
		return false;
	snprintf(r->got, sizeof(r->got), "its live sandbox sent no report of itself");
	r->ok = false;
	return true;
}

/* The fd table from the sandbox's report: which fds from ROLE_FD_FIRST on
 * are open, as the root check reads /proc/PID/fd. Not the size stat gives
 * of /proc/PID/fd (which a normal user may read): that is the count of
 * open fds only from Linux 6.2 on, 0 before, and a count, not the numbers. */
const struct host_view *audit_view_fds(struct audit *a, size_t k, struct audit_row *r)
{
	r->action = "its report: fcntl(fd, F_GETFD) for fd 3..1023 in its live sandbox";
	if (!no_report(a, k, r))
		audit_judge_fds(a, k, a->self[k].fds_above, a->self[k].fds_in_gap, a->self[k].fd_highest, r);
	return NULL;
}

/* The environment area from the sandbox's report: the same bytes
 * /proc/PID/environ shows (a clone keeps the supervisor's env_start and
 * env_end), read in its own memory. */
const struct host_view *audit_view_environ(struct audit *a, size_t k, struct audit_row *r)
{
	r->action = "its report: the strings in its environment area (what /proc/PID/environ shows)";
	if (!no_report(a, k, r))
		audit_judge_environ(a->self[k].env_vars, a->self[k].env_first, a->self[k].env_bytes, r);
	return NULL;
}

/* fd 2 from the sandbox's report of fstat(2): pipes live on one kernel
 * filesystem, so its st_dev and st_ino are the host's for the same pipe. */
const struct host_view *audit_view_stderr(struct audit *a, size_t k, struct audit_row *r)
{
	const struct probe_self_report *s = &a->self[k];
	r->action = "its report: fstat(2) in its live sandbox, against the plan's log pipe";
	if (no_report(a, k, r))
		return NULL;
	if (s->stderr_errno)
		snprintf(r->got, sizeof(r->got), "fstat(2): %s", strerror(s->stderr_errno));
	else
		audit_judge_stderr(a, k, (mode_t)s->stderr_mode, (dev_t)s->stderr_dev, (ino_t)s->stderr_ino, r);
	return NULL;
}
