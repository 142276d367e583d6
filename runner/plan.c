/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Builds the run: the supervisor's privileged preparation, kept in one place
 * so a reviewer sees every fd and path a role receives. */
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/fsutil.h"
#include "../lib/log.h"
#include "../lib/journal.h"
#include "cgroup.h"
#include "memfd.h"
#include "role_log.h"
#include "rootless.h"
#include "seccomp.h"

/* The installed policy directory, from the Makefile's install directories
 * (DATADIR/mpbs-run/policy); the default is the Makefile's own. */
#ifndef MPBS_POLICY_DIR
#define MPBS_POLICY_DIR "/usr/local/share/mpbs-run/policy"
#endif
/* Written by the Makefile beside the binary it links (BUILD/), and never
 * installed: it is what marks a build tree. */
#define BUILD_TREE_MARKER ".mpbs-build-tree"

/* Room for a burst, small enough that a queue stays short: the
 * intermediary holds requests back once a channel is a quarter full (and
 * a provider blocks once its signal channel is full), so these sizes bound
 * the latency a backlog can add, and how far one provider can run ahead of
 * another: the association holds every operation some provider has
 * signalled and another not yet, each provider at most pending_max / N of
 * them. So the artifact channels share one budget (2 MiB each with three
 * providers; with 64, one provider ran 1,700 artifacts ahead of the
 * slowest, over its quota of 1,024, and operations ended incomplete). An
 * artifact channel holds at least four of the largest frames. */
#define ARTIFACT_SNDBUF_TOTAL (6 << 20)

/* Where the seccomp policies are read from. A binary in its build tree
 * (BUILD/mpbs-run, BUILD a folder of the source tree) reads that tree's
 * policy/, so a build tests its own lists; any other binary reads
 * MPBS_POLICY_DIR. The build tree is recognised by the marker file the
 * Makefile writes beside the binary it links, which `make install` never
 * copies: an installed binary cannot be steered to other policies by a
 * policy/ folder that happens to sit next to its own (PREFIX/bin/../policy),
 * and a binary that was copied out of its build tree reads the installed
 * ones. Both the marker and the policy/ folder must be there. */
const char *plan_policy_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX], marker[PATH_MAX + sizeof(BUILD_TREE_MARKER)];
	struct stat st;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return MPBS_POLICY_DIR;
	exe[n] = '\0';
	char *build_dir = dirname(exe); /* BUILD */
	snprintf(marker, sizeof(marker), "%s/" BUILD_TREE_MARKER, build_dir);
	if (stat(marker, &st) < 0 || !S_ISREG(st.st_mode))
		return MPBS_POLICY_DIR;
	char *tree = dirname(build_dir); /* the source tree */
	if (snprintf(dir, sizeof(dir), "%s/policy", tree) >= (int)sizeof(dir) || stat(dir, &st) < 0 ||
	    !S_ISDIR(st.st_mode))
		return MPBS_POLICY_DIR;
	return dir;
}

int plan_load_policy_from(const char *dir, const char *name, struct seccomp_policy **out, char *err,
			  size_t errlen)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s.policy", dir, name);
	return seccomp_policy_load(path, out, err, errlen);
}

int plan_load_policy(const char *name, struct seccomp_policy **out, char *err, size_t errlen)
{
	return plan_load_policy_from(plan_policy_dir(), name, out, err, errlen);
}

int plan_load_policies(struct seccomp_policy *policy[ROLE_KINDS][POLICY_VARIANTS], char *err, size_t errlen)
{
	const char *dir = plan_policy_dir();
	struct stat st;
	memset(policy, 0, sizeof(struct seccomp_policy *[ROLE_KINDS][POLICY_VARIANTS]));
	/* A directory that is not there is named as such, not as its first file. */
	bool found = stat(dir, &st) == 0;
	if (!found || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "the seccomp policy directory %s: %s", dir,
			 found ? "not a directory" : strerror(errno));
		return -1;
	}
	for (enum role_kind kind = 0; kind < ROLE_KINDS; kind++)
		for (enum policy_variant v = 0; v < POLICY_VARIANTS; v++)
			if (role_kinds[kind].policy[v] &&
			    plan_load_policy_from(dir, role_kinds[kind].policy[v], &policy[kind][v], err, errlen) < 0) {
				plan_free_policies(policy);
				return -1;
			}
	return 0;
}

void plan_free_policies(struct seccomp_policy *policy[ROLE_KINDS][POLICY_VARIANTS])
{
	for (enum role_kind kind = 0; kind < ROLE_KINDS; kind++)
		for (enum policy_variant v = 0; v < POLICY_VARIANTS; v++) {
			seccomp_policy_free(policy[kind][v]);
			policy[kind][v] = NULL;
		}
}


static int status_pipe(struct role_plan *r, char *err, size_t errlen)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	r->status_rd = fds[0];
	r->status_wr = fds[1];
	/* The supervisor's loop must never block on a role. */
	if (fcntl(r->status_rd, F_SETFL, O_NONBLOCK) < 0) {
		snprintf(err, errlen, "status pipe: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int plan_renew_status(struct role_plan *r, char *err, size_t errlen)
{
	if (r->status_rd >= 0)
		close(r->status_rd);
	if (r->status_wr >= 0)
		close(r->status_wr);
	r->status_rd = r->status_wr = -1;
	if (status_pipe(r, err, errlen) < 0)
		return -1;
	r->keep_at[r->spec.status_index] = r->status_wr;
	return 0;
}


/* A role's label ("provider A") and process name ("mpbs-p-A"). */
static void plan_names(struct role_plan *r, const struct role_kind_def *def, const char *provider)
{
	if (provider) {
		snprintf(r->label, sizeof(r->label), "%s %s", def->name, provider);
		snprintf(r->comm, sizeof(r->comm), "%s%s", def->comm, provider);
	} else {
		snprintf(r->label, sizeof(r->label), "%s", def->name);
		snprintf(r->comm, sizeof(r->comm), "%s", def->comm);
	}
}

/* Whether role (kind, i) runs in this run: on one host every role; in a
 * host part its own roles, and its bridge when a channel leaves it. */
static bool role_runs_here(const struct topology *t, enum role_kind kind, size_t i, size_t n_lanes)
{
	return role_kinds[kind].across_hosts ? n_lanes > 0 : host_part_here(t, kind, i);
}

static size_t kind_count(const struct topology *t, enum role_kind kind)
{
	return role_kinds[kind].per_provider ? t->n_providers : 1;
}

/* One role per row of the role table that runs here, one per provider for
 * per-provider rows, in the table's order: what every role has is filled
 * here, the rest by the row's own plan function. */
static void plan_roles(struct run_plan *p)
{
	size_t k = 0;
	for (enum role_kind kind = 0; kind < ROLE_KINDS; kind++) {
		const struct role_kind_def *def = &role_kinds[kind];
		for (size_t i = 0; i < kind_count(p->t, kind); i++) {
			if (!role_runs_here(p->t, kind, i, p->n_lanes))
				continue;
			struct role_plan *r = &p->roles[k++];
			uid_t uid;
			gid_t gid;
			rootless_role_ids(p->t, kind, i, &uid, &gid);
			r->kind = kind;
			r->provider = i;
			plan_names(r, def, def->per_provider ? p->t->providers[i].name : NULL);
			r->keep_at = r->keep;
			r->control_writer = -1;
			r->spec = (struct role_spec){
				.label = r->label, .comm = r->comm, .hostname = r->comm,
				.host_uid = uid, .host_gid = gid, .net_lo = def->net_lo, .keep_fds = r->keep, .limits = &r->limits,
				.cgroup_fd = -1, .stderr_fd = r->stderr_wr, .arg = &r->cfg, .entry = def->entry,
				.shared_host_ids = (p->t->weakened & WEAKENED_HOST_IDS) != 0,
			};
			def->plan(p, r, i);
			r->spec.seccomp = p->policy[kind][r->policy_variant];
		}
	}
}

size_t plan_first_role(const struct run_plan *p, enum role_kind kind)
{
	size_t k = 0;
	while (k < p->n_roles && p->roles[k].kind != kind)
		k++;
	return k;
}

static size_t count_roles(const struct topology *t)
{
	struct lane lanes[BRIDGE_LANES_MAX];
	size_t n = 0, n_lanes = host_part_lanes(t, lanes);
	for (enum role_kind kind = 0; kind < ROLE_KINDS; kind++)
		for (size_t i = 0; i < kind_count(t, kind); i++)
			n += role_runs_here(t, kind, i, n_lanes);
	return n;
}

static void plan_init_fds(struct run_plan *p, const struct topology *t)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->listen_fd = -1;
	segments_init(&p->segments);
	p->n_roles = count_roles(t);
	for (size_t i = 0; i < TOPO_PROVIDERS_MAX; i++) {
		p->artifact[i] = p->signal[i] = p->control[i] = (struct channel){ -1, -1 };
		p->journal[i] = -1;
	}
	p->bridge_control = (struct channel){ -1, -1 };
	p->bridge_seccomp = p->bridge_secrets = -1;
	for (size_t k = 0; k < BRIDGE_LANES_MAX; k++)
		p->lane_state[k] = -1;
	for (size_t k = 0; k < PLAN_ROLES_MAX; k++)
		p->roles[k].status_rd = p->roles[k].status_wr = p->roles[k].stderr_rd = p->roles[k].stderr_wr = -1;
}

static int artifact_sndbuf(const struct topology *t)
{
	size_t largest = ARTIFACT_FRAME_MAX(t->max_request);
	size_t share = ARTIFACT_SNDBUF_TOTAL / (t->n_providers ? t->n_providers : 1);
	return 4 * largest > share ? (int)(4 * largest) : (int)share;
}

/* The channels a role of this host part holds an end of; the other end of
 * one that leaves the host is the bridge's. */
static int open_channels(struct run_plan *p, char *err, size_t errlen)
{
	const struct topology *t = p->t;
	bool im = host_part_here(t, ROLE_INTERMEDIARY, 0), as = host_part_here(t, ROLE_ASSOCIATION, 0);
	for (size_t i = 0; i < t->n_providers; i++) {
		bool pv = host_part_here(t, ROLE_PROVIDER, i);
		if ((im || pv) && channel_open(&p->artifact[i], artifact_sndbuf(t), err, errlen) < 0)
			return -1;
		if ((pv || as) && channel_open(&p->signal[i], SIGNAL_SNDBUF, err, errlen) < 0)
			return -1;
		if (pv && (channel_open(&p->control[i], CONTROL_SNDBUF, err, errlen) < 0 ||
			   (p->journal[i] = sealed_memfd("mpbs-journal", JOURNAL_BYTES, err, errlen)) < 0))
			return -1;
	}
	return plan_bridge_prepare(p, err, errlen);
}

static int open_ledger(struct run_plan *p, char *err, size_t errlen)
{
	const struct topology *t = p->t;
	int rc = segments_open(&p->segments, t->ledger, t->keep_segments, t->keep_days, err, errlen);
	if (rc == SEGMENTS_REFUSED)
		p->config_error = true; /* a version 1 ledger, a live segment gone: the operator's to fix */
	if (rc != 0)
		return -1;
	bool append_only = p->segments.append_only;
	errno = p->segments.append_only_errno;
	/* Without the inode flag, a compromised association could rewrite
	 * what it wrote before (its seccomp policy is the only layer left).
	 * A rootless run cannot set it and said so at start. */
	bool flag_expected = !(t->weakened & WEAKENED_APPEND_ONLY);
	if (!append_only && flag_expected && t->ledger_append_only == APPEND_ONLY_REQUIRED) {
		snprintf(err, errlen,
			 "ledger %s: its filesystem cannot mark it append-only (FS_APPEND_FL): %s; "
			 "[association] ledger_append_only = required (move the ledger to a filesystem "
			 "that can, e.g. ext4, xfs, btrfs, tmpfs since Linux 6.0, or set best-effort)",
			 t->ledger, strerror(errno));
		return -1;
	}
	if (!append_only && flag_expected)
		log_warn("ledger %s: this filesystem cannot mark it append-only (FS_APPEND_FL): %s; "
			 "running anyway ([association] ledger_append_only = best-effort); "
			 "the hash chain still detects an edit unless it is rewritten from that point",
			 t->ledger, strerror(errno));
	if (!channel_kernel_refuses_fds())
		log_warn("this kernel has no SO_PASSRIGHTS (Linux 6.16+): an fd sent on a channel is not refused "
			 "at the sender; a provider without exec cannot take it (no recvmsg), but the association "
			 "(recvmmsg) and a provider with exec (recvmsg) could, if compromised (docs/CLAIMS.md)");
	return 0;
}

static int open_files_and_channels(struct run_plan *p, char *err, size_t errlen)
{
	const struct topology *t = p->t;
	if (host_part_here(t, ROLE_INTERMEDIARY, 0)) {
		p->listen_fd = listener_open(&t->listen_addr, t->listen_addrlen, t->listen, err, errlen);
		if (p->listen_fd < 0)
			return -1;
	}
	if (host_part_here(t, ROLE_ASSOCIATION, 0) && open_ledger(p, err, errlen) < 0)
		return -1;
	if (open_channels(p, err, errlen) < 0)
		return -1;
	for (size_t k = 0; k < p->n_roles; k++)
		if (status_pipe(&p->roles[k], err, errlen) < 0 ||
		    role_log_pipe(&p->roles[k].stderr_rd, &p->roles[k].stderr_wr, err, errlen) < 0)
			return -1;
	return 0;
}

static bool wants_cgroup(const struct topo_limits *l)
{
	return l->memory_max || l->pids_max || l->cpu_max[0];
}

/* cgroup v2 limits where a delegated cgroup2 hierarchy offers the
 * controllers; otherwise a warning (rlimits still apply), or an error with
 * require_cgroups = yes. The v1 controllers are never touched. */
static int plan_cgroups(struct run_plan *p, char *err, size_t errlen)
{
	bool warned = false;
	for (size_t k = 0; k < p->n_roles && !(p->t->weakened & WEAKENED_CGROUPS); k++) {
		struct role_plan *r = &p->roles[k];
		char why[512];
		if (!wants_cgroup(r->spec.limits))
			continue;
		int rc = cgroup_role_create(r->comm, r->spec.limits, &r->spec.cgroup_fd, why, sizeof(why));
		if (rc == 0) {
			r->in_cgroup = true;
			continue;
		}
		if (rc < 0 || p->t->require_cgroups) {
			snprintf(err, errlen, "%s: %s%s", r->label, why,
				 rc > 0 ? " (require_cgroups = yes in [runner])" : "");
			return -1;
		}
		if (!warned)
			log_warn("%s; memory_max/pids_max/cpu_max are not applied, rlimits are", why);
		warned = true;
	}
	return 0;
}

int plan_prepare(struct run_plan *p, const struct topology *t, char *err, size_t errlen)
{
	if (count_roles(t) > PLAN_ROLES_MAX) {
		snprintf(err, errlen, "%zu roles: more than the plan holds (%d)", count_roles(t), PLAN_ROLES_MAX);
		return -1;
	}
	plan_init_fds(p, t);
	/* What the operator's files and settings get wrong is a configuration
	 * error (exit 78: no restart repairs it); what fails after is not. */
	p->config_error = true;
	if (plan_check_weakened(t, err, errlen) < 0 || plan_load_policies(p->policy, err, errlen) < 0)
		goto fail;
	/* a provider's own files where it runs (its demo keys first), then
	 * what the others are told of it, here or not */
	for (size_t i = 0; i < t->n_providers; i++)
		if ((host_part_here(t, ROLE_PROVIDER, i) && plan_provider_files(p, i, err, errlen) < 0) ||
		    plan_provider_seen(p, i, err, errlen) < 0)
			goto fail;
	if (host_part_here(t, ROLE_ASSOCIATION, 0) && plan_association_files(p, err, errlen) < 0)
		goto fail;
	p->config_error = false;
	if (open_files_and_channels(p, err, errlen) < 0)
		goto fail;
	plan_roles(p);
	if (plan_cgroups(p, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	plan_release(p);
	return -1;
}

void plan_release(struct run_plan *p)
{
	fs_close(&p->listen_fd);
	segments_close(&p->segments);
	for (size_t i = 0; i < TOPO_PROVIDERS_MAX; i++) {
		channel_close(&p->artifact[i]);
		channel_close(&p->signal[i]);
		channel_close(&p->control[i]);
		fs_close(&p->journal[i]);
	}
	plan_bridge_release(p);
	for (size_t k = 0; k < PLAN_ROLES_MAX; k++) {
		struct role_plan *r = &p->roles[k];
		fs_close(&r->status_rd);
		fs_close(&r->status_wr);
		fs_close(&r->stderr_rd);
		fs_close(&r->stderr_wr);
		if (r->spec.cgroup_fd > 0)
			fs_close(&r->spec.cgroup_fd);
		if (r->in_cgroup && cgroup_role_remove(r->comm) < 0 && errno != ENOENT)
			log_errno("remove the cgroup of %s", r->label);
		r->in_cgroup = false;
	}
	plan_free_policies(p->policy);
}
