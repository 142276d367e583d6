/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Host-side checks of every role's live sealed sandbox, read from /proc
 * and its network namespace: seccomp mode, no_new_privs, capabilities,
 * namespaces, host uid, links, fd table, a provider's mounts. As a normal
 * user, the checks /proc refuses read audit_unprivileged.c's views instead
 * (what /proc shows anyone, and what the live sandbox reported of itself),
 * or are UNOBSERVED. */
#include "audit_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/text.h"
#include "../caps.h"
#include "../netns.h"
#include "probe_roles.h"

bool audit_status_value(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	bool found = false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			snprintf(out, len, "%s", line + kl + 1 + strspn(line + kl + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
			found = true;
		}
	fclose(f);
	return found;
}

/* A row of check id for role k, described by the table below; `expected`
 * is left empty where the table has none (the check writes it). */
void audit_host_describe(struct audit_row *row, enum host_check_id id, size_t k)
{
	const struct host_check *c = &host_checks[id];
	*row = (struct audit_row){ .id = c->id, .action = c->action, .role = k, .mech = c->mech, .claims = c->claims };
	snprintf(row->expected, sizeof(row->expected), "%s", c->expected ? c->expected : "");
}

struct audit_row *audit_host_row(struct audit *a, size_t k, enum host_check_id id)
{
	struct audit_row *row = audit_new_row(a);
	if (row)
		audit_host_describe(row, id, k);
	return row;
}

static void check_seccomp_mode(struct audit *a, size_t k, struct audit_row *r)
{
	r->ok = audit_status_value(a->idle[k].pid, "Seccomp", r->got, sizeof(r->got)) && strcmp(r->got, "2") == 0;
}

static void check_no_new_privs(struct audit *a, size_t k, struct audit_row *r)
{
	r->ok = audit_status_value(a->idle[k].pid, "NoNewPrivs", r->got, sizeof(r->got)) && strcmp(r->got, "1") == 0;
}

static void check_capabilities(struct audit *a, size_t k, struct audit_row *r)
{
	uint64_t caps[5];
	bool read_ok = caps_read_status(a->idle[k].pid, caps) == 0;
	r->ok = read_ok && !(caps[0] | caps[1] | caps[2] | caps[3] | caps[4]);
	snprintf(r->got, sizeof(r->got), read_ok ? "eff %#llx bnd %#llx" : "unreadable",
		 (unsigned long long)caps[CAPS_EFF], (unsigned long long)caps[CAPS_BND]);
}

ino_t audit_ns_inode(pid_t pid, const char *ns)
{
	char path[64];
	struct stat st;
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Distinct from the host's and from every other role's; but a role that
 * stays in the host's network namespace by design (the bridge: it reaches
 * the NATS servers, Landlock lets its TCP connect reach their ports alone,
 * bridge.* probes and surface rows) must be in exactly that one. */
static void check_namespaces(struct audit *a, size_t k, struct audit_row *r)
{
	bool host_net = audit_host_network(&a->plan.roles[k]);
	snprintf(r->expected, sizeof(r->expected), "%s", host_net ? AUDIT_NS_HOST_NET : "all its own");
	r->ok = true;
	snprintf(r->got, sizeof(r->got), "%s", host_net ? "all its own; net the host's" : "all its own");
	for (size_t n = 0; n < PROBE_NS_COUNT; n++) {
		const char *name = probe_ns_names[n];
		ino_t mine = audit_ns_inode(a->idle[k].pid, name);
		if (host_net && n == PROBE_NS_NET) {
			if (mine == 0 || mine != audit_ns_inode(0, name)) {
				r->ok = false;
				snprintf(r->got, sizeof(r->got), "its net namespace is not the host's");
			}
			continue;
		}
		bool shared = mine == 0 || mine == audit_ns_inode(0, name);
		for (size_t j = 0; j < a->plan.n_roles; j++)
			shared |= j != k && mine == audit_ns_inode(a->idle[j].pid, name);
		if (shared) {
			r->ok = false;
			snprintf(r->got, sizeof(r->got), "shares its %s namespace", name);
		}
	}
}

bool audit_host_network(const struct role_plan *r)
{
	return role_kinds[r->kind].host_network;
}

static void check_uid(struct audit *a, size_t k, struct audit_row *r)
{
	unsigned u = (unsigned)a->plan.roles[k].spec.host_uid;
	snprintf(r->expected, sizeof(r->expected), "%u %u %u %u", u, u, u, u);
	char v[96];
	r->ok = u != 0 && audit_status_value(a->idle[k].pid, "Uid", v, sizeof(v));
	for (char *c = v; r->ok && *c; c++)
		if (*c == '\t')
			*c = ' ';
	snprintf(r->got, sizeof(r->got), "%s", r->ok ? v : "unreadable");
	r->ok = r->ok && strcmp(v, r->expected) == 0;
}

static void check_links(struct audit *a, size_t k, struct audit_row *r)
{
	bool lo = a->plan.roles[k].spec.net_lo;
	snprintf(r->expected, sizeof(r->expected), "%s", lo ? "lo up, nothing else" : "none up");
	struct netns_link links[16];
	size_t n = 0, up = 0;
	char err[256];
	if (netns_links_of_pid(a->idle[k].pid, links, 16, &n, err, sizeof(err)) < 0) {
		snprintf(r->got, sizeof(r->got), "%.90s", err);
		return;
	}
	for (size_t i = 0; i < n; i++)
		up += (links[i].flags & IFF_UP) != 0;
	snprintf(r->got, sizeof(r->got), "%zu links, %zu up", n, up);
	r->ok = lo ? n == 1 && strcmp(links[0].name, "lo") == 0 && up == 1 : up == 0;
}

/* Exact: as many open as it was given, none in its gap, the last the
 * highest, so every given number is open and no other. */
void audit_judge_fds(struct audit *a, size_t k, long above, long in_gap, long highest, struct audit_row *r)
{
	const struct probe_env *e = &a->env[k];
	long n = e->n_fds, gap = e->fd_gap_to - e->fd_gap_from;
	if (gap > 0)
		snprintf(r->expected, sizeof(r->expected), "fds %d-%ld and %ld-%ld only", ROLE_FD_FIRST, e->fd_gap_from - 1,
			 e->fd_gap_to, ROLE_FD_FIRST - 1 + n);
	else
		snprintf(r->expected, sizeof(r->expected), "fds %d-%ld only", ROLE_FD_FIRST, ROLE_FD_FIRST - 1 + n);
	snprintf(r->got, sizeof(r->got), "%ld fds above %d (%ld in the gap), highest %ld", above, ROLE_FD_FIRST - 1,
		 in_gap, highest);
	r->ok = above == n - gap && in_gap == 0 && highest == ROLE_FD_FIRST - 1 + n;
}

static void check_fds(struct audit *a, size_t k, struct audit_row *r)
{
	char path[64];
	long count = 0, in_gap = 0, highest = -1;
	const struct probe_env *e = &a->env[k];
	snprintf(path, sizeof(path), "/proc/%d/fd/", (int)a->idle[k].pid);
	for (long fd = ROLE_FD_FIRST; fd < 1024; fd++) {
		char p[96];
		snprintf(p, sizeof(p), "%s%ld", path, fd);
		if (access(p, F_OK) == 0 || errno == EACCES) {
			count++;
			in_gap += fd >= e->fd_gap_from && fd < e->fd_gap_to;
			highest = fd;
		}
	}
	audit_judge_fds(a, k, count, in_gap, highest, r);
}

/* The mount options field (6th) and the super options (after " - TYPE
 * SOURCE ") of the mount at `where` in PID's mount namespace. */
static bool mount_options(pid_t pid, const char *where, char *opts, size_t olen, char *super, size_t slen)
{
	char path[64], line[1024], point[256], o[256];
	bool found = false;
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");
		char type[64], src[256], sup[512];
		if (sscanf(line, "%*d %*d %*s %*s %255s %255s", point, o) != 2 || strcmp(point, where) != 0 || !dash ||
		    sscanf(dash, " - %63s %255s %511s", type, src, sup) != 3)
			continue;
		snprintf(opts, olen, "%s", o);
		snprintf(super, slen, "%s", sup);
		found = true;
	}
	fclose(f);
	return found;
}

static bool has_option(const char *list, const char *opt)
{
	return text_has_word(list, opt, ',');
}

/* A provider's /proc as the host sees it in its mount table: read-only,
 * subset=pid, hidepid=invisible; its /state (if any) noexec. */
static void check_provider_mounts(struct audit *a, size_t k, struct audit_row *row)
{
	const struct role_plan *r = &a->plan.roles[k];
	bool state = a->plan.t->providers[r->provider].state != NULL;
	snprintf(row->expected, sizeof(row->expected), "%s",
		 state ? "/proc ro subset=pid hidepid=invisible; /state noexec" : "/proc ro subset=pid hidepid=invisible");
	char opts[256] = "", super[512] = "", sopts[256] = "", ssuper[512];
	bool proc = mount_options(a->idle[k].pid, "/proc", opts, sizeof(opts), super, sizeof(super));
	bool ro = has_option(opts, "ro"), subset = has_option(super, "subset=pid");
	bool hidden = has_option(super, "hidepid=invisible");
	bool noexec = state && mount_options(a->idle[k].pid, "/state", sopts, sizeof(sopts), ssuper, sizeof(ssuper)) &&
		      has_option(sopts, "noexec");
	snprintf(row->got, sizeof(row->got), "%s%s%s%s", !proc ? "no /proc" : ro ? "/proc ro" : "/proc rw",
		 subset ? " subset=pid" : "", hidden ? " hidepid=invisible" : "",
		 !state ? "" : noexec ? "; /state noexec" : "; /state executable");
	bool proc_ok = proc && ro && subset && hidden, state_ok = !state || noexec;
	row->ok = proc_ok && state_ok;
}

/* Every check the audit makes from the host, one row id each, in the
 * order of the report: of each live sandbox of the roles named (live), or
 * after a probe (audit_after_probe.c), or once (audit_diff.c). NULL
 * expected: the check writes it, for it depends on the role. */
const struct host_check host_checks[HOST_CHECK_COUNT] = {
	/* each live sandbox */
	[HOST_SECCOMP_MODE] = { "host.seccomp-mode", "/proc/PID/status Seccomp", MECH_SECCOMP, CLAIM(8), "2", NULL, ALL_BR,
				check_seccomp_mode },
	[HOST_NO_NEW_PRIVS] = { "host.no-new-privs", "/proc/PID/status NoNewPrivs", MECH_NNP, CLAIM(8), "1", NULL, ALL_BR,
				check_no_new_privs },
	[HOST_CAPABILITIES] = { "host.capabilities", "/proc/PID/status CapInh/Prm/Eff/Bnd/Amb", MECH_CAPS, CLAIM(8),
				"all 0", NULL, ALL_BR, check_capabilities },
	[HOST_NAMESPACES] = { "host.namespaces", "stat /proc/PID/ns/{user,net,mnt,pid,ipc,uts,cgroup}", MECH_NAMESPACES,
			      CLAIM(4) | CLAIM(8), NULL, "ns/user", ALL_BR, check_namespaces,
			      audit_view_namespaces },
	[HOST_UID] = { "host.uid", "/proc/PID/status Uid (real, effective, saved, fs)", MECH_USERNS, CLAIM(4) | CLAIM(8),
		       NULL, NULL, ALL_BR, check_uid },
	/* not a bridge's: it stays in the host's network namespace, which
	 * host.namespaces checks it is (AUDIT_NS_HOST_NET) */
	[HOST_NETNS_LINKS] = { "host.netns-links", "netns links of PID (libnl)", MECH_NETNS, CLAIM(3) | CLAIM(5) | CLAIM(7),
			       NULL, "ns/net", ALL, check_links, audit_view_links },
	[HOST_FD_TABLE] = { "host.fd-table", "/proc/PID/fd", MECH_FDS, CLAIM(4) | CLAIM(6) | CLAIM(7), NULL, "fd",
			    ALL_BR, check_fds, audit_view_fds },
	[HOST_NO_GROUPS] = { "host.no-supplementary-groups", "/proc/PID/status Groups", MECH_SPAWN, CLAIM(4) | CLAIM(8),
			     "none", NULL, ALL_BR, audit_check_groups },
	[HOST_EMPTY_ENVIRON] = { "host.empty-environ", "/proc/PID/environ", MECH_SPAWN, CLAIM(1) | CLAIM(4),
				 "no variable", "environ", ALL_BR, audit_check_environ, audit_view_environ },
	[HOST_OWN_STDERR] = { "host.own-stderr", "stat /proc/PID/fd/2", MECH_SPAWN, CLAIM(2) | CLAIM(4),
			      "its own log pipe", "fd", ALL_BR, audit_check_stderr, audit_view_stderr },
	[HOST_PROVIDER_MOUNTS] = { "host.provider-mounts", "/proc/PID/mountinfo: /proc and /state", MECH_MNTNS,
				   CLAIM(4) | CLAIM(8), NULL, NULL, PV, check_provider_mounts },
	/* after a probe */
	[HOST_FORK_BOMB_CONTAINED] = { "host.fork-bomb-contained",
				       "while the fork bomb holds: fork on the host, live sandboxes, a fresh sandbox "
				       "of another role",
				       MECH_RLIMIT, CLAIM(4) | CLAIM(8), "all unaffected" },
	[HOST_FORGED_REJECTED] = { "assoc.forged-signals-rejected", "the real association reads them into a temp ledger",
				   MECH_CHAIN, CLAIM(6) },
	[HOST_SCM_NOT_RECEIVED] = { "host.scm-rights-not-received", "recvmsg(<provider's reader end>, no control buffer)",
				    MECH_KERNEL_SCM, CLAIM(3), "nothing, or 1 byte with MSG_CTRUNC; no new fd" },
	/* once */
	[HOST_DIFFERENTIAL] = { "host.differential-intermediary",
				"the real first provider gets an artifact it may initiate, then one it must decline; "
				"compare poll/SO_ERROR/recv/SIOCOUTQ on the intermediary's end",
				MECH_CHANNEL, CLAIM(2), "identical; no signal for the declined one" },
};

/* Whether the audit may read /proc/PID/entry (NULL: nothing to read). A
 * normal user (--rootless) may not, of a non-dumpable process. */
static bool ptrace_readable(pid_t pid, const char *entry)
{
	char path[64];
	if (!entry)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, entry);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return true;
	}
	return errno != EACCES; /* any other error: the check reports it */
}

/* Check id of role k where /proc/PID/<its ptrace_entry> is refused: its
 * unprivileged view if it has one (ENFORCED or VIOLATED by what that
 * shows), and an UNOBSERVED row for what no view shows. */
static int check_unprivileged(struct audit *a, size_t k, enum host_check_id id, struct audit_row *row)
{
	const struct host_check *c = &host_checks[id];
	const struct host_view *unseen = NULL;
	if (c->unprivileged)
		unseen = c->unprivileged(a, k, row);
	else {
		snprintf(row->got, sizeof(row->got), "/proc/PID/%s: %s", c->ptrace_entry, strerror(EACCES));
		row->unobserved = true;
	}
	if (!unseen)
		return 0;
	/* row is not used after this: a new row may move the array */
	struct audit_row *rest = audit_host_row(a, k, id);
	if (!rest)
		return -1;
	rest->id = unseen->id;
	rest->action = unseen->action;
	snprintf(rest->expected, sizeof(rest->expected), "%s", unseen->expected);
	snprintf(rest->got, sizeof(rest->got), "/proc/PID/%s: %s", c->ptrace_entry, strerror(EACCES));
	rest->unobserved = true;
	return 0;
}

int audit_host_checks(struct audit *a, char *err, size_t errlen)
{
	for (size_t k = 0; k < a->plan.n_roles; k++)
		for (enum host_check_id id = 0; id < HOST_CHECK_COUNT; id++) {
			if (!host_checks[id].live || !(host_checks[id].roles & audit_probe_role(&a->plan.roles[k])))
				continue;
			struct audit_row *row = audit_host_row(a, k, id);
			int rc = 0;
			if (row && ptrace_readable(a->idle[k].pid, host_checks[id].ptrace_entry))
				host_checks[id].live(a, k, row);
			else if (row)
				rc = check_unprivileged(a, k, id, row);
			if (!row || rc < 0) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
	return 0;
}
