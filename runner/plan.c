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

#include "../roles/provider/journal.h"
#include "../lib/keys.h"
#include "../lib/fsutil.h"
#include "../lib/log.h"
#include "cgroup.h"
#include "ledger_file.h"
#include "role_log.h"
#include "limits.h"
#include "memfd.h"
#include "seccomp.h"

#include <sodium.h>

/* With demo_keys, a token key is made beside the signal key, so a policy
 * with `token_key = token.key` works on a fresh checkout too. */
#define DEMO_TOKEN_KEY_NAME "token.key"

#ifndef MPBS_POLICY_DIR
#define MPBS_POLICY_DIR "/usr/local/share/mpbs-run/policy"
#endif

/* Room for a burst, small enough that a queue stays short: the
 * intermediary holds requests back once a channel is a quarter full (and
 * a provider blocks once its signal channel is full), so these sizes bound
 * the latency a backlog can add. An artifact channel holds at least four
 * of the largest frames. */
#define ARTIFACT_SNDBUF_MIN (2 << 20)

static const char *const policy_files[POLICY_COUNT] = {
	[POLICY_INTERMEDIARY] = "intermediary.policy",
	[POLICY_ASSOCIATION] = "association.policy",
	[POLICY_PROVIDER] = "provider.policy",
	[POLICY_PROVIDER_EXEC] = "provider-exec.policy",
};

/* What a provider's programs need to load and run, read-only: never /etc as
 * a whole (other providers' keys may live under /etc/mpbs), never /home. */
static const char *const exec_system_paths[] = {
	"/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/ld.so.cache",
};

/* The policies next to the binary's source tree (build/mpbs-run →
 * policy/) win over the installed ones, so a build tests its own lists. */
const char *plan_policy_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(dir, sizeof(dir), "%s/../policy", dirname(exe));
		if (access(dir, R_OK | X_OK) == 0)
			return dir;
	}
	return MPBS_POLICY_DIR;
}

int plan_load_policy_from(const char *dir, enum policy_id id, struct seccomp_policy **out, char *err,
			  size_t errlen)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, policy_files[id]);
	return seccomp_policy_load(path, out, err, errlen);
}

int plan_load_policy(enum policy_id id, struct seccomp_policy **out, char *err, size_t errlen)
{
	return plan_load_policy_from(plan_policy_dir(), id, out, err, errlen);
}

/* DAC as the provider's host uid will see it; stat only, never open: the
 * supervisor does not read a provider's secrets or policy. */
static bool readable_by(const struct stat *st, uid_t uid, gid_t gid, mode_t need_dir_x)
{
	mode_t m = st->st_mode;
	mode_t want = S_IROTH | need_dir_x;
	if (st->st_uid == uid)
		return (m & (want << 6)) == (want << 6);
	if (st->st_gid == gid)
		return (m & (want << 3)) == (want << 3);
	return (m & want) == want;
}

static int check_readable(const char *path, bool dir, uid_t uid, gid_t gid, const char *who, char *err,
			  size_t errlen)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s: %s", who, path, strerror(errno));
		return -1;
	}
	if (!readable_by(&st, uid, gid, dir ? S_IXOTH : 0)) {
		snprintf(err, errlen, "%s: %s is not readable by its host uid %u (chown it to %u, or give it mode %s)",
			 who, path, (unsigned)uid, (unsigned)uid, dir ? "0750 with its group" : "0640 with its group");
		return -1;
	}
	return 0;
}

/* A secret key file: owned by the provider's host uid and readable by it,
 * no group or other bit at all (lib/keys.c refuses the same when it
 * loads it); stat only, the supervisor never reads it. */
static int check_secret(const char *path, uid_t uid, const char *who, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s: %s", who, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s: not a regular file", who, path);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s: secret key %s has mode %04o (group or other bits set): refused; "
			 "chmod 0600 it", who, path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_uid != uid || !(st.st_mode & S_IRUSR)) {
		snprintf(err, errlen, "%s: secret key %s must be owned and readable by its host uid %u (chown %u, "
			 "chmod 0600)", who, path, (unsigned)uid, (unsigned)uid);
		return -1;
	}
	return 0;
}

static int demo_token_key(const char *path, char *err, size_t errlen)
{
	uint8_t key[32];
	randombytes_buf(key, sizeof(key));
	int rc = keys_store_hex(path, key, sizeof(key), 0600, err, errlen);
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int chown_nofollow(const char *path, uid_t uid, char *err, size_t errlen);

/* Demo keys are generated on first use and owned by the provider's host
 * uid, so a fresh checkout runs with no manual key step. */
static int demo_keys(const struct topo_provider *tp, uid_t uid, char *err, size_t errlen)
{
	char secret[PATH_MAX], pub[PATH_MAX], token[PATH_MAX];
	snprintf(secret, sizeof(secret), "%s/%s", tp->keys, KEYS_SECRET_NAME);
	snprintf(pub, sizeof(pub), "%s/%s", tp->keys, KEYS_PUBLIC_NAME);
	snprintf(token, sizeof(token), "%s/%s", tp->keys, DEMO_TOKEN_KEY_NAME);
	if (access(secret, F_OK) < 0) {
		if (fs_mkdir_parents(tp->keys, err, errlen) < 0 || keys_generate_signal_pair(tp->keys, err, errlen) < 0)
			return -1;
		log_info("provider %s: generated demo keys (signal pair, token key) in %s", tp->name, tp->keys);
	}
	if (access(token, F_OK) < 0 && demo_token_key(token, err, errlen) < 0)
		return -1;
	const char *const paths[] = { tp->keys, secret, pub, token };
	for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++)
		if (chown_nofollow(paths[k], uid, err, errlen) < 0) {
			size_t used = strlen(err);
			snprintf(err + used, errlen - used, " (provider %s, demo keys)", tp->name);
			return -1;
		}
	return 0;
}

/* chown of exactly the object at path, never what a symlink there points
 * to: a key directory writable by someone else could otherwise aim the
 * root supervisor's chown at any file. A symlink is refused. */
static int chown_nofollow(const char *path, uid_t uid, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int rc = fd < 0 || fstat(fd, &st) < 0 ? -1 : 0;
	if (rc == 0 && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "chown %s: a symlink, refused", path);
		rc = -2;
	} else if (rc == 0) {
		rc = fchownat(fd, "", uid, uid, AT_EMPTY_PATH);
	}
	if (rc == -1)
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc < 0 ? -1 : 0;
}

static int prepare_provider_files(struct run_plan *p, size_t i, char *err, size_t errlen)
{
	const struct topo_provider *tp = &p->t->providers[i];
	uid_t uid = p->t->uid_base + UID_OFFSET_PROVIDER(i);
	char who[64], secret[PATH_MAX];

	snprintf(who, sizeof(who), "provider %s", tp->name);
	snprintf(secret, sizeof(secret), "%s/%s", tp->keys, KEYS_SECRET_NAME);
	if (tp->demo_keys && demo_keys(tp, uid, err, errlen) < 0)
		return -1;
	if (check_readable(tp->policy, false, uid, uid, who, err, errlen) < 0 ||
	    check_readable(tp->keys, true, uid, uid, who, err, errlen) < 0 ||
	    check_secret(secret, uid, who, err, errlen) < 0)
		return -1;
	struct association_provider *ap = &p->as_providers[i];
	char kerr[512];
	if (keys_load_signal_public(tp->public_key, ap->public_key, kerr, sizeof(kerr)) < 0) {
		snprintf(err, errlen, "%s: public key: %s", who, kerr);
		return -1;
	}
	ap->name = tp->name;
	ap->checkpoint_every = tp->checkpoint_every;
	p->receive_body[i] = tp->receive_body;
	return 0;
}

/* The association's head-signing pair (docs/VERIFY.md): generated like a
 * provider's demo keys, owned by the association's host uid, bound
 * read-only at /keys into its sandbox alone. The supervisor never reads the
 * secret, and wipes the one it generates at once: every role is cloned
 * from its memory. */
static int prepare_association_files(struct run_plan *p, char *err, size_t errlen)
{
	const struct topology *t = p->t;
	uid_t uid = t->uid_base + UID_OFFSET_ASSOCIATION;
	char secret[PATH_MAX], pub[PATH_MAX];
	snprintf(secret, sizeof(secret), "%s/%s", t->association_keys, KEYS_SECRET_NAME);
	snprintf(pub, sizeof(pub), "%s/%s", t->association_keys, KEYS_PUBLIC_NAME);
	if (t->association_demo_keys && access(secret, F_OK) < 0) {
		if (fs_mkdir_parents(t->association_keys, err, errlen) < 0 ||
		    keys_generate_signal_pair(t->association_keys, err, errlen) < 0)
			return -1;
		if (chown(t->association_keys, uid, uid) < 0 || chown(secret, uid, uid) < 0 || chown(pub, uid, uid) < 0) {
			snprintf(err, errlen, "association: chown its keys in %s: %s", t->association_keys,
				 strerror(errno));
			return -1;
		}
		log_info("association: generated its head-signing key pair in %s", t->association_keys);
	}
	return check_readable(t->association_keys, true, uid, uid, "association", err, errlen) < 0 ||
			       check_readable(secret, false, uid, uid, "association", err, errlen) < 0
		       ? -1
		       : 0;
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
	r->keep[r->spec.status_index] = r->status_wr;
	return 0;
}

/* The role's limits: the topology's, and the defaults of limits.c for the
 * rlimits it leaves unset. */
/* Hands fd over as number `as` in the role (its header names them). */
static void keep_as(struct role_plan *r, int as, int fd)
{
	r->keep[as - ROLE_FD_FIRST] = fd;
}

/* status_as: the status pipe's number in the role, its last fd. */
static void spec_common(struct role_plan *r, const struct run_plan *p, uid_t uid, int status_as,
			const struct topo_limits *set, enum limits_role kind, const struct seccomp_policy *pol)
{
	struct topo_limits *lim = &r->limits;
	size_t status_index = (size_t)(status_as - ROLE_FD_FIRST);
	limits_with_defaults(set, kind, p->t, lim);
	keep_as(r, status_as, r->status_wr);
	r->spec = (struct role_spec){
		.label = r->label, .comm = r->comm, .hostname = r->comm,
		.host_uid = uid, .host_gid = uid,
		.keep_fds = r->keep, .n_keep = status_index + 1, .status_index = status_index,
		.seccomp = pol, .limits = lim, .cgroup_fd = -1, .stderr_fd = r->stderr_wr,
	};
}

static void plan_intermediary(struct run_plan *p, struct role_plan *r)
{
	const struct topology *t = p->t;
	size_t n = t->n_providers;
	r->kind = ROLE_INTERMEDIARY;
	snprintf(r->label, sizeof(r->label), "intermediary");
	snprintf(r->comm, sizeof(r->comm), "mpbs-int");
	keep_as(r, INTERMEDIARY_FD_LISTEN, p->listen_fd);
	for (size_t i = 0; i < n; i++) {
		keep_as(r, INTERMEDIARY_FD_ARTIFACT(i), p->artifact[i].writer);
		p->im_artifact_fds[i] = INTERMEDIARY_FD_ARTIFACT(i);
	}
	spec_common(r, p, t->uid_base + UID_OFFSET_INTERMEDIARY, INTERMEDIARY_FD_STATUS(n), &t->intermediary_limits, LIMITS_INTERMEDIARY,
		    p->policy[POLICY_INTERMEDIARY]);
	r->cfg.im = (struct intermediary_config){
		.listen_fd = INTERMEDIARY_FD_LISTEN, .n_providers = n, .artifact_fds = p->im_artifact_fds,
		.receive_body = p->receive_body, .path = t->http_path, .max_request = t->max_request,
		.max_connections = t->max_connections, .max_connections_per_ip = t->max_connections_per_ip,
		.timeout_s = t->http_timeout,
		.header_timeout_s = t->header_timeout, .body_timeout_s = t->body_timeout,
		.stall_ms = t->stall_timeout_ms,
		.status_fd = INTERMEDIARY_FD_STATUS(n),
	};
}

static void plan_association(struct run_plan *p, struct role_plan *r)
{
	const struct topology *t = p->t;
	size_t n = t->n_providers;
	r->kind = ROLE_ASSOCIATION;
	snprintf(r->label, sizeof(r->label), "association");
	snprintf(r->comm, sizeof(r->comm), "mpbs-assoc");
	keep_as(r, ASSOCIATION_FD_LEDGER, p->ledger_fd);
	for (size_t i = 0; i < n; i++) {
		keep_as(r, ASSOCIATION_FD_SIGNAL(i), p->signal[i].reader);
		p->as_providers[i].signal_fd = ASSOCIATION_FD_SIGNAL(i);
	}
	spec_common(r, p, t->uid_base + UID_OFFSET_ASSOCIATION, ASSOCIATION_FD_STATUS(n), &t->association_limits, LIMITS_ASSOCIATION,
		    p->policy[POLICY_ASSOCIATION]);
	/* Its head-signing key directory, read-only, read once before its seal. */
	snprintf(r->key_in_sandbox, sizeof(r->key_in_sandbox), "/keys/%s", KEYS_SECRET_NAME);
	r->binds[0] = (struct mount_bind){ .src = t->association_keys, .dst = "/keys", .writable = false };
	r->landlock[0] = (struct landlock_rule){ .path = "/keys", .access = LL_READ };
	r->spec.mounts = (struct mount_plan){ .binds = r->binds, .n_binds = 1 };
	r->spec.landlock = r->landlock;
	r->spec.n_landlock = 1;
	r->cfg.as = (struct association_config){
		.head_key_path = r->key_in_sandbox,
		.n_providers = n, .providers = p->as_providers, .ledger_fd = ASSOCIATION_FD_LEDGER,
		.confirm_k = t->confirm_k ? t->confirm_k : (unsigned)n,
		.pending_timeout = t->pending_timeout, .pending_max = t->pending_max,
		.status_fd = ASSOCIATION_FD_STATUS(n),
	};
}

/* A provider that may run programs also sees the system's program dirs
 * and its own exec_dir (at /exec, so its policy names programs the same way
 * wherever the operator keeps them), read-only and executable, and /dev/null. */
static size_t plan_exec_binds(struct role_plan *r, const struct topo_provider *tp, size_t nb)
{
	struct stat st;
	for (size_t k = 0; k < sizeof(exec_system_paths) / sizeof(exec_system_paths[0]); k++) {
		const char *path = exec_system_paths[k];
		if (nb == PLAN_BINDS_MAX - 1 || lstat(path, &st) < 0)
			continue;
		r->landlock[nb] = (struct landlock_rule){ .path = path, .access = LL_READ | LL_EXEC };
		r->binds[nb++] = (struct mount_bind){ .src = path, .dst = path, .writable = false };
	}
	if (tp->exec_dir) {
		r->landlock[nb] = (struct landlock_rule){ .path = "/exec", .access = LL_READ | LL_EXEC };
		r->binds[nb++] = (struct mount_bind){ .src = tp->exec_dir, .dst = "/exec", .writable = false };
	}
	return nb;
}

/* A provider sees its key directory at /keys and its policy file alone at
 * /policy/<name> (never the directory: other providers' policies may sit
 * beside it), both read-only, and its state directory at /state. */
static void plan_provider(struct run_plan *p, struct role_plan *r, size_t i)
{
	const struct topology *t = p->t;
	const struct topo_provider *tp = &t->providers[i];
	size_t nb = 0;
	char base[PATH_MAX];

	r->kind = ROLE_PROVIDER;
	r->provider = i;
	snprintf(r->label, sizeof(r->label), "provider %s", tp->name);
	snprintf(r->comm, sizeof(r->comm), "mpbs-p-%s", tp->name);
	snprintf(base, sizeof(base), "%s", tp->policy);
	snprintf(r->policy_in_sandbox, sizeof(r->policy_in_sandbox), "/policy/%s", basename(base));
	snprintf(r->key_in_sandbox, sizeof(r->key_in_sandbox), "/keys/%s", KEYS_SECRET_NAME);
	r->binds[nb++] = (struct mount_bind){ .src = tp->keys, .dst = "/keys", .writable = false };
	r->binds[nb++] = (struct mount_bind){ .src = tp->policy, .dst = r->policy_in_sandbox, .writable = false };
	/* the first PLAN_PROVIDER_PRIVATE_RULES rules: the provider's alone */
	r->landlock[0] = (struct landlock_rule){ .path = "/keys", .access = LL_READ };
	r->landlock[1] = (struct landlock_rule){ .path = r->policy_in_sandbox, .access = LL_READ };
	if (tp->state) {
		r->landlock[nb] = (struct landlock_rule){ .path = "/state", .access = LL_READ | LL_WRITE };
		r->binds[nb++] = (struct mount_bind){ .src = tp->state, .dst = "/state", .writable = true };
	}
	if (tp->exec)
		nb = plan_exec_binds(r, tp, nb);
	keep_as(r, PROVIDER_FD_ARTIFACT, p->artifact[i].reader);
	keep_as(r, PROVIDER_FD_SIGNAL, p->signal[i].writer);
	keep_as(r, PROVIDER_FD_JOURNAL, p->journal[i]);
	keep_as(r, PROVIDER_FD_CONTROL, p->control[i].reader);
	spec_common(r, p, t->uid_base + UID_OFFSET_PROVIDER(i), PROVIDER_FD_STATUS, &tp->limits, LIMITS_PROVIDER,
		    p->policy[tp->exec ? POLICY_PROVIDER_EXEC : POLICY_PROVIDER]);
	r->spec.hostname = tp->name;
	r->spec.net_lo = true;
	r->spec.mounts = (struct mount_plan){ .binds = r->binds, .n_binds = nb, .proc = true, .dev_null = tp->exec };
	r->spec.landlock = r->landlock;
	r->spec.n_landlock = nb;
	if (tp->exec)
		r->landlock[r->spec.n_landlock++] = (struct landlock_rule){ .path = "/dev/null",
									    .access = LL_READ | LL_WRITE };
	r->cfg.pv = (struct provider_config){
		.name = tp->name, .policy_path = r->policy_in_sandbox, .secret_key_path = r->key_in_sandbox,
		.receive_body = tp->receive_body, .exec = tp->exec, .max_request = t->max_request,
		.checkpoint_every = tp->checkpoint_every, .checkpoint_ms = tp->checkpoint_ms,
		.artifact_fd = PROVIDER_FD_ARTIFACT, .signal_fd = PROVIDER_FD_SIGNAL, .journal_fd = PROVIDER_FD_JOURNAL,
		.control_fd = PROVIDER_FD_CONTROL, .status_fd = PROVIDER_FD_STATUS,
	};
	/* Its programs get the same rules but the first two: no /keys, no
	 * /policy (they read untrusted bodies; the keys are the provider's). */
	if (tp->exec) {
		r->cfg.pv.program_rules = &r->landlock[PLAN_PROVIDER_PRIVATE_RULES];
		r->cfg.pv.n_program_rules = r->spec.n_landlock - PLAN_PROVIDER_PRIVATE_RULES;
	}
}

static int role_main_intermediary(void *arg, const struct role_seal *s) { return intermediary_main(arg, s); }
static int role_main_association(void *arg, const struct role_seal *s) { return association_main(arg, s); }
static int role_main_provider(void *arg, const struct role_seal *s) { return provider_main(arg, s); }

static void plan_roles(struct run_plan *p)
{
	plan_intermediary(p, &p->roles[0]);
	plan_association(p, &p->roles[1]);
	for (size_t i = 0; i < p->t->n_providers; i++)
		plan_provider(p, &p->roles[2 + i], i);
	for (size_t k = 0; k < p->n_roles; k++) {
		struct role_plan *r = &p->roles[k];
		r->spec.arg = &r->cfg;
		r->spec.entry = r->kind == ROLE_INTERMEDIARY ? role_main_intermediary
			     : r->kind == ROLE_ASSOCIATION  ? role_main_association
							    : role_main_provider;
	}
}

static void plan_init_fds(struct run_plan *p, const struct topology *t)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->listen_fd = p->ledger_fd = -1;
	p->n_roles = t->n_providers + 2;
	for (size_t i = 0; i < TOPO_PROVIDERS_MAX; i++) {
		p->artifact[i] = p->signal[i] = p->control[i] = (struct channel){ -1, -1 };
		p->journal[i] = -1;
	}
	for (size_t k = 0; k < PLAN_ROLES_MAX; k++)
		p->roles[k].status_rd = p->roles[k].status_wr = p->roles[k].stderr_rd = p->roles[k].stderr_wr = -1;
}

static int artifact_sndbuf(const struct topology *t)
{
	size_t largest = ARTIFACT_FRAME_MAX(t->max_request);
	return 4 * largest > ARTIFACT_SNDBUF_MIN ? (int)(4 * largest) : ARTIFACT_SNDBUF_MIN;
}

static int open_files_and_channels(struct run_plan *p, char *err, size_t errlen)
{
	const struct topology *t = p->t;
	bool append_only;

	p->listen_fd = listener_open(&t->listen_addr, t->listen_addrlen, t->listen, err, errlen);
	if (p->listen_fd < 0)
		return -1;
	p->ledger_fd = ledger_file_open(t->ledger, &append_only, err, errlen);
	if (p->ledger_fd < 0)
		return -1;
	/* Without the inode flag, a compromised association could rewrite
	 * what it wrote before (its seccomp policy is the only layer left). */
	if (!append_only && t->ledger_append_only == APPEND_ONLY_REQUIRED) {
		snprintf(err, errlen,
			 "ledger %s: its filesystem cannot mark it append-only (FS_APPEND_FL): %s; "
			 "[association] ledger_append_only = required (move the ledger to a filesystem "
			 "that can, e.g. ext4, xfs, btrfs, tmpfs since Linux 6.0, or set best-effort)",
			 t->ledger, strerror(errno));
		return -1;
	}
	if (!append_only)
		log_warn("ledger %s: this filesystem cannot mark it append-only (FS_APPEND_FL): %s; "
			 "running anyway ([association] ledger_append_only = best-effort); "
			 "the hash chain still detects an edit unless it is rewritten from that point",
			 t->ledger, strerror(errno));
	if (!channel_kernel_refuses_fds())
		log_warn("this kernel has no SO_PASSRIGHTS (Linux 6.16+): an fd sent on a channel is not refused "
			 "at the sender; a provider without exec cannot take it (no recvmsg), but the association "
			 "(recvmmsg) and a provider with exec (recvmsg) could, if compromised (docs/CLAIMS.md)");
	for (size_t i = 0; i < t->n_providers; i++)
		if (channel_open(&p->artifact[i], artifact_sndbuf(t), err, errlen) < 0 ||
		    channel_open(&p->signal[i], SIGNAL_SNDBUF, err, errlen) < 0 ||
		    channel_open(&p->control[i], CONTROL_SNDBUF, err, errlen) < 0 ||
		    (p->journal[i] = sealed_memfd("mpbs-journal", JOURNAL_BYTES, err, errlen)) < 0)
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
	for (size_t k = 0; k < p->n_roles; k++) {
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
	plan_init_fds(p, t);
	for (enum policy_id id = 0; id < POLICY_COUNT; id++)
		if (plan_load_policy(id, &p->policy[id], err, errlen) < 0)
			goto fail;
	for (size_t i = 0; i < t->n_providers; i++)
		if (prepare_provider_files(p, i, err, errlen) < 0)
			goto fail;
	if (prepare_association_files(p, err, errlen) < 0)
		goto fail;
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

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void plan_release(struct run_plan *p)
{
	close_fd(&p->listen_fd);
	close_fd(&p->ledger_fd);
	for (size_t i = 0; i < TOPO_PROVIDERS_MAX; i++) {
		channel_close(&p->artifact[i]);
		channel_close(&p->signal[i]);
		channel_close(&p->control[i]);
		close_fd(&p->journal[i]);
	}
	for (size_t k = 0; k < PLAN_ROLES_MAX; k++) {
		struct role_plan *r = &p->roles[k];
		close_fd(&r->status_rd);
		close_fd(&r->status_wr);
		close_fd(&r->stderr_rd);
		close_fd(&r->stderr_wr);
		if (r->spec.cgroup_fd > 0)
			close_fd(&r->spec.cgroup_fd);
		if (r->in_cgroup && cgroup_role_remove(r->comm) < 0 && errno != ENOENT)
			log_errno("remove the cgroup of %s", r->label);
		r->in_cgroup = false;
	}
	for (enum policy_id id = 0; id < POLICY_COUNT; id++) {
		seccomp_policy_free(p->policy[id]);
		p->policy[id] = NULL;
	}
}
