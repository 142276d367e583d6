#define _GNU_SOURCE
/* Host-side checks of every role's live sealed sandbox, read from /proc
 * and its network namespace: seccomp mode, no_new_privs, capabilities,
 * namespaces, host uid, links, fd table, a provider's mounts. */
#include "audit_internal.h"

#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../caps.h"
#include "../netns.h"

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

struct audit_row *audit_host_row(struct audit *a, size_t k, const char *id, const char *action,
				  enum probe_mechanism m, unsigned claims, const char *expected)
{
	struct audit_row *row = audit_new_row(a);
	if (!row)
		return NULL;
	*row = (struct audit_row){ .id = id, .action = action, .role = k, .mech = m, .claims = claims };
	snprintf(row->expected, sizeof(row->expected), "%s", expected);
	return row;
}

static bool check_status(struct audit *a, size_t k, pid_t pid)
{
	struct audit_row *r = audit_host_row(a, k, "host.seccomp-mode", "/proc/PID/status Seccomp", MECH_SECCOMP, CLAIM(8),
				       "2");
	if (!r)
		return false;
	r->ok = audit_status_value(pid, "Seccomp", r->got, sizeof(r->got)) && strcmp(r->got, "2") == 0;
	r = audit_host_row(a, k, "host.no-new-privs", "/proc/PID/status NoNewPrivs", MECH_NNP, CLAIM(8), "1");
	if (!r)
		return false;
	r->ok = audit_status_value(pid, "NoNewPrivs", r->got, sizeof(r->got)) && strcmp(r->got, "1") == 0;
	r = audit_host_row(a, k, "host.capabilities", "/proc/PID/status CapInh/Prm/Eff/Bnd/Amb", MECH_CAPS, CLAIM(8),
		     "all 0");
	if (!r)
		return false;
	uint64_t caps[5];
	bool read_ok = caps_read_status(pid, caps) == 0;
	r->ok = read_ok && !(caps[0] | caps[1] | caps[2] | caps[3] | caps[4]);
	snprintf(r->got, sizeof(r->got), read_ok ? "eff %#llx bnd %#llx" : "unreadable",
		 (unsigned long long)caps[CAPS_EFF], (unsigned long long)caps[CAPS_BND]);
	return true;
}

static ino_t ns_inode(pid_t pid, const char *ns)
{
	char path[64];
	struct stat st;
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Distinct from the host's and from every other role's. */
static bool check_namespaces(struct audit *a, size_t k)
{
	static const char *const names[] = { "user", "net", "mnt", "pid", "ipc", "uts", "cgroup" };
	struct audit_row *r = audit_host_row(a, k, "host.namespaces", "stat /proc/PID/ns/{user,net,mnt,pid,ipc,uts,cgroup}",
				       MECH_NAMESPACES, CLAIM(4) | CLAIM(8), "all its own");
	if (!r)
		return false;
	r->ok = true;
	snprintf(r->got, sizeof(r->got), "all its own");
	for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		ino_t mine = ns_inode(a->idle[k].pid, names[n]);
		bool shared = mine == 0 || mine == ns_inode(0, names[n]);
		for (size_t j = 0; j < a->plan.n_roles; j++)
			shared |= j != k && mine == ns_inode(a->idle[j].pid, names[n]);
		if (shared) {
			r->ok = false;
			snprintf(r->got, sizeof(r->got), "shares its %s namespace", names[n]);
		}
	}
	return true;
}

static bool check_uid(struct audit *a, size_t k)
{
	char want[96];
	unsigned u = (unsigned)a->plan.roles[k].spec.host_uid;
	snprintf(want, sizeof(want), "%u %u %u %u", u, u, u, u);
	struct audit_row *r = audit_host_row(a, k, "host.uid", "/proc/PID/status Uid (real, effective, saved, fs)",
				       MECH_USERNS, CLAIM(4) | CLAIM(8), want);
	if (!r)
		return false;
	char v[96];
	r->ok = u != 0 && audit_status_value(a->idle[k].pid, "Uid", v, sizeof(v));
	for (char *c = v; r->ok && *c; c++)
		if (*c == '\t')
			*c = ' ';
	snprintf(r->got, sizeof(r->got), "%s", r->ok ? v : "unreadable");
	r->ok = r->ok && strcmp(v, want) == 0;
	return true;
}

static bool check_links(struct audit *a, size_t k)
{
	bool provider = a->plan.roles[k].kind == ROLE_PROVIDER;
	struct audit_row *r = audit_host_row(a, k, "host.netns-links", "netns links of PID (libnl)", MECH_NETNS,
				       CLAIM(3) | CLAIM(5) | CLAIM(7), provider ? "lo up, nothing else" : "none up");
	if (!r)
		return false;
	struct netns_link links[16];
	size_t n = 0, up = 0;
	char err[256];
	if (netns_links_of_pid(a->idle[k].pid, links, 16, &n, err, sizeof(err)) < 0) {
		snprintf(r->got, sizeof(r->got), "%.90s", err);
		return true;
	}
	for (size_t i = 0; i < n; i++)
		up += (links[i].flags & IFF_UP) != 0;
	snprintf(r->got, sizeof(r->got), "%zu links, %zu up", n, up);
	r->ok = provider ? n == 1 && strcmp(links[0].name, "lo") == 0 && up == 1 : up == 0;
	return true;
}

static bool check_fds(struct audit *a, size_t k)
{
	char want[48];
	long n = a->env[k].n_fds;
	snprintf(want, sizeof(want), "fds 3-%ld only", 2 + n);
	struct audit_row *r = audit_host_row(a, k, "host.fd-table", "/proc/PID/fd", MECH_FDS,
				       CLAIM(4) | CLAIM(6) | CLAIM(7), want);
	if (!r)
		return false;
	char path[64];
	long count = 0, highest = -1;
	snprintf(path, sizeof(path), "/proc/%d/fd/", (int)a->idle[k].pid);
	for (long fd = 3; fd < 1024; fd++) {
		char p[96];
		snprintf(p, sizeof(p), "%s%ld", path, fd);
		if (access(p, F_OK) == 0 || errno == EACCES) {
			count++;
			highest = fd;
		}
	}
	snprintf(r->got, sizeof(r->got), "%ld fds above 2, highest %ld", count, highest);
	r->ok = count == n && highest == 2 + n;
	return true;
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
	size_t n = strlen(opt);
	for (const char *p = list; (p = strstr(p, opt)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* A provider's /proc as the host sees it in its mount table: read-only,
 * subset=pid, hidepid=invisible; its /state (if any) noexec. */
static bool check_provider_mounts(struct audit *a, size_t k)
{
	const struct role_plan *r = &a->plan.roles[k];
	if (r->kind != ROLE_PROVIDER)
		return true;
	bool state = a->plan.t->providers[r->provider].state != NULL;
	struct audit_row *row = audit_host_row(a, k, "host.provider-mounts", "/proc/PID/mountinfo: /proc and /state",
					 MECH_MNTNS, CLAIM(4) | CLAIM(8),
					 state ? "/proc ro subset=pid hidepid=invisible; /state noexec"
					       : "/proc ro subset=pid hidepid=invisible");
	if (!row)
		return false;
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
	return true;
}

int audit_host_checks(struct audit *a, char *err, size_t errlen)
{
	for (size_t k = 0; k < a->plan.n_roles; k++)
		if (!check_status(a, k, a->idle[k].pid) || !check_namespaces(a, k) || !check_uid(a, k) ||
		    !check_links(a, k) || !check_fds(a, k) || !audit_check_groups(a, k) || !audit_check_environ(a, k) ||
		    !audit_check_stderr(a, k) || !check_provider_mounts(a, k)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	return 0;
}
