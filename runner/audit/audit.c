#define _GNU_SOURCE
/* The audit: probes in each role's place, host-side checks of live sealed
 * sandboxes, and the report. See audit.h and docs/CLAIMS.md. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sodium.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <jansson.h>

#include "../../lib/derive.h"
#include "../../lib/keys.h"
#include "../../lib/wire.h"
#include "../../lib/log.h"
#include "probe.h"
#include "audit_surface.h"
#include "../caps.h"
#include "../netns.h"
#include "../plan.h"
#include "../role_log.h"
#include "../seccomp.h"
#include "../seccomp_log.h"
#include "../spawn.h"

/* and the SCM_RIGHTS receive; 11 per live sandbox (one for providers only),
 * the fork bomb's host side, the association's verdict, the differential run */
#define HOST_CHECKS 15

struct audit_row {
	const char *id;
	const char *action;
	size_t role;
	enum probe_mechanism mech;
	unsigned claims;
	char expected[96];
	char got[96];
	bool ok;
};

struct audit {
	struct run_plan plan;
	struct role_proc idle[PLAN_ROLES_MAX];
	struct probe_env env[PLAN_ROLES_MAX];
	char other_key[PLAN_ROLES_MAX][4096];
	struct role_log log[PLAN_ROLES_MAX]; /* each role's stderr, labelled onto the audit's */
	struct audit_row *rows;
	size_t n_rows, cap_rows;
	int host_listener; /* a TCP service on the host's loopback that no role may reach */
	struct seccomp_log seclog; /* names the syscall of each seccomp kill */
	int host_port;
	struct audit_surface *surface; /* NULL: the section did not run (under a weakening) */
};

/* ---- weakenings ---- */

/* Each layer's word in --audit-weaken and in the warning. */
static const struct {
	const char *word;
	const char *what;
} weaken_layers[] = {
	[AUDIT_WEAKEN_SECCOMP] = { "seccomp", "seccomp" },
	[AUDIT_WEAKEN_CAPS] = { "caps", "capabilities" },
	[AUDIT_WEAKEN_NETNS] = { "netns", "network namespace" },
	[AUDIT_WEAKEN_SCM] = { "scm", "SO_PASSRIGHTS on the reader ends it writes to" },
	[AUDIT_WEAKEN_GROUPS] = { "groups", "supplementary groups" },
	[AUDIT_WEAKEN_ENV] = { "env", "environment" },
	[AUDIT_WEAKEN_STDERR] = { "stderr", "own stderr" },
	[AUDIT_WEAKEN_EXEC_LANDLOCK] = { "exec-landlock", "its programs' Landlock domain" },
};

int audit_parse_weakening(const char *spec, struct audit_weakening *w, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : 0;
	for (size_t l = 0; colon && l < sizeof(weaken_layers) / sizeof(weaken_layers[0]); l++)
		if (strlen(weaken_layers[l].word) == n && strncmp(spec, weaken_layers[l].word, n) == 0) {
			*w = (struct audit_weakening){ (enum audit_layer)l, colon + 1 };
			if (!*w->role) {
				snprintf(err, errlen, "--audit-weaken %s: no role named", spec);
				return -1;
			}
			return 0;
		}
	snprintf(err, errlen, "--audit-weaken %s: expected LAYER:ROLE, LAYER one of seccomp, caps, netns, scm, "
		 "groups, env, stderr, exec-landlock", spec);
	return -1;
}

static bool role_matches(const struct run_plan *p, size_t k, const char *name)
{
	const struct role_plan *r = &p->roles[k];
	if (r->kind == ROLE_INTERMEDIARY)
		return strcmp(name, "intermediary") == 0;
	if (r->kind == ROLE_ASSOCIATION)
		return strcmp(name, "association") == 0;
	return strcmp(name, "provider") == 0 || strcmp(name, p->t->providers[r->provider].name) == 0;
}

static int weaken_role(struct run_plan *p, size_t k, enum audit_layer layer)
{
	struct role_plan *r = &p->roles[k];
	switch (layer) {
	case AUDIT_WEAKEN_SECCOMP:
		r->spec.weaken_no_seccomp = true;
		return 0;
	case AUDIT_WEAKEN_CAPS:
		r->spec.weaken_keep_caps = true;
		return 0;
	case AUDIT_WEAKEN_NETNS:
		r->spec.weaken_host_netns = true;
		return 0;
	case AUDIT_WEAKEN_GROUPS:
		r->spec.weaken_keep_groups = true;
		return 0;
	case AUDIT_WEAKEN_ENV:
		r->spec.weaken_keep_env = true;
		return 0;
	case AUDIT_WEAKEN_STDERR:
		r->spec.weaken_shared_stderr = true;
		return 0;
	case AUDIT_WEAKEN_EXEC_LANDLOCK:
		r->cfg.pv.weaken_program_landlock = true;
		return 0;
	case AUDIT_WEAKEN_SCM:
		/* the channels this role writes to accept passed fds again */
		for (size_t i = 0; i < p->t->n_providers; i++) {
			struct channel *c = r->kind == ROLE_INTERMEDIARY ? &p->artifact[i]
					    : r->kind == ROLE_PROVIDER && r->provider == i ? &p->signal[i] : NULL;
			if (c && channel_allow_passed_fds(c) < 0)
				return -1;
		}
		return 0;
	}
	return 0;
}

static int apply_weakenings(struct run_plan *p, const struct audit_options *o, char *err, size_t errlen)
{
	for (size_t w = 0; w < o->n_weaken; w++) {
		size_t hit = 0;
		for (size_t k = 0; k < p->n_roles; k++) {
			if (!role_matches(p, k, o->weaken[w].role))
				continue;
			/* the programs' domain exists only in a provider with exec */
			if (o->weaken[w].layer == AUDIT_WEAKEN_EXEC_LANDLOCK &&
			    (p->roles[k].kind != ROLE_PROVIDER || !p->roles[k].cfg.pv.exec))
				continue;
			hit++;
			if (weaken_role(p, k, o->weaken[w].layer) < 0) {
				snprintf(err, errlen, "--audit-weaken: %s", strerror(errno));
				return -1;
			}
		}
		if (!hit) {
			snprintf(err, errlen, "--audit-weaken: no role named '%s'%s", o->weaken[w].role,
				 o->weaken[w].layer == AUDIT_WEAKEN_EXEC_LANDLOCK ? " with exec = yes" : "");
			return -1;
		}
		log_warn("audit: weakening %s of %s (test only)", weaken_layers[o->weaken[w].layer].what,
			 o->weaken[w].role);
	}
	return 0;
}

/* ---- rows ---- */

static struct audit_row *new_row(struct audit *a)
{
	if (a->n_rows == a->cap_rows) {
		size_t cap = a->cap_rows ? a->cap_rows * 2 : 256;
		struct audit_row *r = realloc(a->rows, cap * sizeof(*r));
		if (!r)
			return NULL;
		a->rows = r;
		a->cap_rows = cap;
	}
	struct audit_row *row = &a->rows[a->n_rows++];
	memset(row, 0, sizeof(*row));
	return row;
}

static unsigned role_bit(const struct role_plan *r)
{
	return r->kind == ROLE_INTERMEDIARY ? PROBE_ROLE_INTERMEDIARY
	     : r->kind == ROLE_ASSOCIATION  ? PROBE_ROLE_ASSOCIATION
	     : r->cfg.pv.exec		    ? PROBE_ROLE_PROVIDER_EXEC
					    : PROBE_ROLE_PROVIDER;
}

/* ---- spawning ---- */

static void reap(struct role_proc *rp)
{
	siginfo_t si;
	if (rp->pidfd < 0)
		return;
	role_proc_signal(rp, SIGKILL);
	waitid((idtype_t)P_PIDFD, (id_t)rp->pidfd, &si, WEXITED);
	close(rp->pidfd);
	rp->pidfd = -1;
}

static void drain(int fd)
{
	char buf[256];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* What the roles wrote on their log pipes, labelled and escaped onto the
 * audit's stderr as a run does (a probe that logs must never block). */
static void forward_logs(struct audit *a)
{
	for (size_t k = 0; k < a->plan.n_roles; k++)
		while (role_log_drain(&a->log[k], a->plan.roles[k].stderr_rd, 2) > 0)
			;
}

static bool setup_failed(int status_fd)
{
	char c;
	return read(status_fd, &c, 1) == 1 && c == STATUS_ERROR;
}

static void describe_expected(const struct probe_def *d, char *buf, size_t len)
{
	if (d->expect_sigsys)
		snprintf(buf, len, SECCOMP_LOG_KILL_TEXT);
	else if (d->expect_code == 0)
		snprintf(buf, len, "0");
	else
		snprintf(buf, len, "%s", strerrorname_np(d->expect_code) ? strerrorname_np(d->expect_code) : "?");
}

static int start_one_idle(const struct role_plan *r, struct role_proc *rp, char *err, size_t errlen);
static int wait_idle(const struct role_proc *rp, const char *label, char *err, size_t errlen);

/* Waits up to 10 s for the probe's PROBE_STATUS_HOLDING record; returns
 * the value it reports, or -1 (the probe exited or never got there). */
static long wait_holding(int status_rd, int pidfd)
{
	for (int i = 0; i < 1000; i++) {
		struct pollfd pfd[2] = { { .fd = status_rd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		unsigned char rec[5];
		if (poll(pfd, 2, 10) < 0)
			return -1;
		if (pfd[0].revents & POLLIN)
			return read(status_rd, rec, sizeof(rec)) == (ssize_t)sizeof(rec) && rec[0] == PROBE_STATUS_HOLDING
				       ? (long)((uint32_t)rec[1] | (uint32_t)rec[2] << 8 | (uint32_t)rec[3] << 16 |
						(uint32_t)rec[4] << 24)
				       : -1;
		if (pfd[1].revents & POLLIN)
			return -1;
	}
	return -1;
}

/* While role k's probe holds its state (e.g. every process its uid may
 * have): the host still forks, every live sandbox is still alive, and a
 * fresh sandbox of another role (another host uid) still starts. */
static void check_while_holding(struct audit *a, size_t k, long value, struct audit_row *host)
{
	size_t other = k == 2 && a->plan.n_roles > 3 ? 3 : 2; /* another provider */
	struct role_proc fresh = { .pidfd = -1 };
	char err[256];
	size_t alive = 0;
	int st = -1;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	bool host_forks = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	for (size_t j = 0; j < a->plan.n_roles; j++) {
		struct pollfd pfd = { .fd = a->idle[j].pidfd, .events = POLLIN };
		alive += poll(&pfd, 1, 0) == 0;
	}
	bool other_starts = start_one_idle(&a->plan.roles[other], &fresh, err, sizeof(err)) == 0 &&
			    wait_idle(&fresh, a->plan.roles[other].label, err, sizeof(err)) == 0;
	reap(&fresh);
	snprintf(host->got, sizeof(host->got), "%ld held; host fork %s; %zu/%zu live; %.20s %s", value,
		 host_forks ? "ok" : "FAILED", alive, a->plan.n_roles, a->plan.roles[other].label,
		 other_starts ? "starts" : "FAILED");
	host->ok = value > 0 && host_forks && alive == a->plan.n_roles && other_starts;
}

/* Counts the ledger's records of type `type` (and provider, if given). */
static size_t ledger_count(const char *path, const char *type, const char *provider)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	size_t n = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		json_t *rec = json_loads(line, 0, NULL);
		const char *ty = json_string_value(json_object_get(rec, "type"));
		const char *pv = json_string_value(json_object_get(rec, "provider"));
		n += ty && strcmp(ty, type) == 0 && (!provider || (pv && strcmp(pv, provider) == 0));
		json_decref(rec);
	}
	fclose(f);
	return n;
}

/* After the forging probe of provider k wrote on its signal channel (the
 * plan holds the reader, so the frames stay queued): the real association,
 * alone, through its own spec and main, but appending to a temporary
 * ledger, reads them; SIGTERM makes it drain and fsync. */
static void check_association_rejects(struct audit *a, size_t k, struct audit_row *host)
{
	const char *name = a->env[k].self_name;
	char path[] = "/tmp/mpbs-audit-ledger-XXXXXX", err[256];
	struct role_plan *as = &a->plan.roles[1];
	int keep[PLAN_KEEP_MAX];
	struct role_proc rp = { .pidfd = -1 };
	siginfo_t si;
	/* O_APPEND, as the supervisor opens the real ledger */
	int fd = mkostemp(path, O_APPEND);
	snprintf(host->got, sizeof(host->got), "the association could not run");
	if (fd < 0)
		return;
	memcpy(keep, as->keep, sizeof(keep));
	keep[0] = fd;
	struct role_spec spec = as->spec;
	spec.keep_fds = keep;
	if (spawn_role(&spec, &rp, err, sizeof(err)) == 0) {
		for (int i = 0; i < 500 && ledger_count(path, "rejected", name) < PROBE_FORGED_FRAMES; i++)
			usleep(10000);
		role_proc_signal(&rp, SIGTERM);
		waitid((idtype_t)P_PIDFD, (id_t)rp.pidfd, &si, WEXITED);
		close(rp.pidfd);
		size_t rejected = ledger_count(path, "rejected", name), confirmed = ledger_count(path, "confirmed", NULL);
		snprintf(host->got, sizeof(host->got), "%zu rejected (%s), %zu confirmed", rejected, name, confirmed);
		host->ok = rejected == PROBE_FORGED_FRAMES && confirmed == 0;
	}
	close(fd);
	unlink(path);
}

static long open_fds(void)
{
	long n = 0;
	for (int fd = 0; fd < 4096; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* After the intermediary sent a byte with an fd attached on provider 0's
 * artifact channel: receive it on the plan's reader end the way a provider
 * does (no control buffer). The kernel sets MSG_CTRUNC and closes the
 * in-flight fd (unix_detach_fds/scm_destroy): no fd is installed. */
static void check_scm_receive(struct audit *a, struct audit_row *host)
{
	char buf[64];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	long before = open_fds();
	ssize_t n = recvmsg(a->plan.artifact[0].reader, &m, MSG_DONTWAIT);
	bool nothing = n < 0 && errno == EAGAIN;
	long after = open_fds();
	snprintf(host->got, sizeof(host->got), "recvmsg %zd%s, MSG_CTRUNC %s, fds %ld -> %ld", n,
		 nothing ? " (EAGAIN)" : "", (m.msg_flags & MSG_CTRUNC) ? "set" : "clear", before, after);
	/* refused at the sender (SO_PASSRIGHTS), or discarded at the receiver */
	host->ok = after == before && (nothing || (n == 1 && (m.msg_flags & MSG_CTRUNC)));
}

/* Runs one probe in a fresh sandbox of role k and fills row (and host,
 * for a probe that pauses for the host). */
static int run_probe(struct audit *a, size_t k, const struct probe_def *d, struct audit_row *row,
		     struct audit_row *host, char *err, size_t errlen)
{
	struct role_plan *r = &a->plan.roles[k];
	struct probe_call call = { .def = d, .env = &a->env[k] };
	struct probe_def expect = *d;
	struct role_spec spec = r->spec;
	struct role_proc rp;
	siginfo_t si = { 0 };

	spec.entry = probe_main;
	spec.arg = &call;
	drain(r->status_rd);
	if (spawn_role(&spec, &rp, err, errlen) < 0)
		return -1;
	if (d->pause_for_host) {
		long value = wait_holding(r->status_rd, rp.pidfd);
		snprintf(host->got, sizeof(host->got), "the probe never held");
		if (value >= 0)
			check_while_holding(a, k, value, host);
	}
	if (waitid((idtype_t)P_PIDFD, (id_t)rp.pidfd, &si, WEXITED) < 0) {
		snprintf(err, errlen, "waitid %s: %s", r->label, strerror(errno));
		close(rp.pidfd);
		return -1;
	}
	close(rp.pidfd);
	forward_logs(a);
	if (listener_restore(a->plan.listen_fd) < 0)
		log_errno("audit: the listener cannot listen again");
	/* Without SO_PASSRIGHTS (before Linux 6.16) the fd is sent, and it is
	 * the receiver that must discard it (the host row that follows). */
	if (expect.mechanism == MECH_PASSRIGHTS && !channel_kernel_refuses_fds()) {
		expect.expect_code = 0;
		expect.mechanism = MECH_KERNEL_SCM;
	}
	*row = (struct audit_row){ .id = d->id, .action = d->action, .role = k, .mech = expect.mechanism,
				   .claims = d->claims };
	describe_expected(&expect, row->expected, sizeof(row->expected));
	bool sigsys = seccomp_log_killed(&si);
	/* A failed setup step exits SPAWN_SETUP_FAILED (which is also
	 * ECONNREFUSED) after an 'E' record: the record tells them apart. */
	if (si.si_code == CLD_EXITED && ((si.si_status == SPAWN_SETUP_FAILED && setup_failed(r->status_rd)) ||
					 si.si_status == PROBE_EXIT_SEAL)) {
		snprintf(err, errlen, "%s: the sandbox for probe %s could not be built", r->label, d->id);
		return -1;
	}
	if (sigsys) {
		seccomp_log_describe(&a->seclog, rp.pid, row->got, sizeof(row->got));
	} else if (si.si_code == CLD_EXITED) {
		int c = si.si_status;
		snprintf(row->got, sizeof(row->got), "%s", c == 0 ? "0" : c == PROBE_EXIT_DATA ? "data/found"
							 : strerrorname_np(c) ? strerrorname_np(c) : "?");
	} else {
		snprintf(row->got, sizeof(row->got), "killed by signal %d", si.si_status);
	}
	row->ok = d->expect_sigsys ? sigsys : (si.si_code == CLD_EXITED && si.si_status == expect.expect_code);
	return 0;
}

static int run_probes(struct audit *a, char *err, size_t errlen)
{
	for (size_t k = 0; k < a->plan.n_roles; k++)
		for (size_t i = 0; i < probe_count; i++) {
			const struct probe_def *d = &probe_table[i];
			if (!(d->roles & role_bit(&a->plan.roles[k])) || (d->needs_state && !a->env[k].has_state))
				continue;
			struct audit_row *row = new_row(a), host = { .id = "host.fork-bomb-contained", .role = k,
								    .action = "while the fork bomb holds: fork on the host, "
									      "live sandboxes, a fresh sandbox of another role",
								    .mech = MECH_RLIMIT, .claims = CLAIM(4) | CLAIM(8),
								    .expected = "all unaffected" };
			if (!row) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			if (run_probe(a, k, d, row, &host, err, errlen) < 0)
				return -1;
			if (d->act_keyed) {
				char want[64];
				snprintf(want, sizeof(want), "%d rejected (%s), 0 confirmed", PROBE_FORGED_FRAMES,
					 a->env[k].self_name);
				host = (struct audit_row){ .id = "assoc.forged-signals-rejected", .role = k,
							   .action = "the real association reads them into a temp ledger",
							   .mech = MECH_CHAIN, .claims = CLAIM(6) };
				snprintf(host.expected, sizeof(host.expected), "%s", want);
				check_association_rejects(a, k, &host);
			} else if (d->passes_fd) {
				host = (struct audit_row){ .id = "host.scm-rights-not-received", .role = k,
							   .action = "recvmsg(<provider's reader end>, no control buffer)",
							   .mech = MECH_KERNEL_SCM, .claims = CLAIM(3),
							   .expected = "nothing, or 1 byte with MSG_CTRUNC; no new fd" };
				check_scm_receive(a, &host);
			} else if (!d->pause_for_host) {
				continue;
			}
			row = new_row(a);
			if (!row) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			*row = host;
		}
	return 0;
}

/* ---- live sandboxes and host-side checks ---- */

/* Waits until the idle role sleeps in its loop (sealed), up to 5 s. */
static int wait_idle(const struct role_proc *rp, const char *label, char *err, size_t errlen)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)rp->pid);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");
		long nr = -1;
		if (f) {
			if (fscanf(f, "%ld", &nr) != 1)
				nr = -1;
			fclose(f);
		}
		if (nr == SYS_nanosleep)
			return 0;
		struct pollfd pfd = { .fd = rp->pidfd, .events = POLLIN };
		if (poll(&pfd, 1, 10) > 0) {
			snprintf(err, errlen, "%s: the live sandbox exited during setup", label);
			return -1;
		}
	}
	snprintf(err, errlen, "%s: the live sandbox did not reach its loop", label);
	return -1;
}

static int start_one_idle(const struct role_plan *r, struct role_proc *rp, char *err, size_t errlen)
{
	struct role_spec spec = r->spec;
	spec.entry = probe_idle_main;
	spec.arg = NULL;
	return spawn_role(&spec, rp, err, errlen);
}

static int start_idle(struct audit *a, char *err, size_t errlen)
{
	for (size_t k = 0; k < a->plan.n_roles; k++) {
		if (start_one_idle(&a->plan.roles[k], &a->idle[k], err, errlen) < 0)
			return -1;
		if (wait_idle(&a->idle[k], a->plan.roles[k].label, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static bool status_value(pid_t pid, const char *key, char *out, size_t len)
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

static struct audit_row *host_row(struct audit *a, size_t k, const char *id, const char *action,
				  enum probe_mechanism m, unsigned claims, const char *expected)
{
	struct audit_row *row = new_row(a);
	if (!row)
		return NULL;
	*row = (struct audit_row){ .id = id, .action = action, .role = k, .mech = m, .claims = claims };
	snprintf(row->expected, sizeof(row->expected), "%s", expected);
	return row;
}

static bool check_status(struct audit *a, size_t k, pid_t pid)
{
	struct audit_row *r = host_row(a, k, "host.seccomp-mode", "/proc/PID/status Seccomp", MECH_SECCOMP, CLAIM(8),
				       "2");
	if (!r)
		return false;
	r->ok = status_value(pid, "Seccomp", r->got, sizeof(r->got)) && strcmp(r->got, "2") == 0;
	r = host_row(a, k, "host.no-new-privs", "/proc/PID/status NoNewPrivs", MECH_NNP, CLAIM(8), "1");
	if (!r)
		return false;
	r->ok = status_value(pid, "NoNewPrivs", r->got, sizeof(r->got)) && strcmp(r->got, "1") == 0;
	r = host_row(a, k, "host.capabilities", "/proc/PID/status CapInh/Prm/Eff/Bnd/Amb", MECH_CAPS, CLAIM(8),
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
	struct audit_row *r = host_row(a, k, "host.namespaces", "stat /proc/PID/ns/{user,net,mnt,pid,ipc,uts,cgroup}",
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
	struct audit_row *r = host_row(a, k, "host.uid", "/proc/PID/status Uid (real, effective, saved, fs)",
				       MECH_USERNS, CLAIM(4) | CLAIM(8), want);
	if (!r)
		return false;
	char v[96];
	r->ok = u != 0 && status_value(a->idle[k].pid, "Uid", v, sizeof(v));
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
	struct audit_row *r = host_row(a, k, "host.netns-links", "netns links of PID (libnl)", MECH_NETNS,
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
	struct audit_row *r = host_row(a, k, "host.fd-table", "/proc/PID/fd", MECH_FDS,
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

/* ---- what a fork of the supervisor must not carry over (spawn.c) ---- */

/* Supplementary groups: cleared before the clone (clear_groups). */
static bool check_groups(struct audit *a, size_t k)
{
	struct audit_row *r = host_row(a, k, "host.no-supplementary-groups", "/proc/PID/status Groups",
				       MECH_SPAWN, CLAIM(4) | CLAIM(8), "none");
	if (!r)
		return false;
	char v[96];
	bool read_ok = status_value(a->idle[k].pid, "Groups", v, sizeof(v));
	size_t len = read_ok ? strlen(v) : 0;
	while (len > 0 && v[len - 1] == ' ') /* the kernel ends the list with a space */
		v[--len] = '\0';
	snprintf(r->got, sizeof(r->got), "%s", !read_ok ? "unreadable" : len ? v : "none");
	r->ok = read_ok && len == 0;
	return true;
}

/* The environment: /proc/PID/environ holds no byte but NUL (the strings
 * the fork copied are zeroed, step_environment). Only names are reported,
 * never values. */
static bool check_environ(struct audit *a, size_t k)
{
	struct audit_row *r = host_row(a, k, "host.empty-environ", "/proc/PID/environ", MECH_SPAWN,
				       CLAIM(1) | CLAIM(4), "no variable");
	if (!r)
		return false;
	char path[64], buf[8192 + 1], first[40] = "";
	size_t vars = 0, total = 0;
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)a->idle[k].pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;
	bool in_var = false;
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] && !in_var && vars++ == 0) {
				size_t name = strcspn(buf + i, "=");
				snprintf(first, sizeof(first), "%.*s", (int)(name < 32 ? name : 32), buf + i);
			}
			in_var = buf[i] != '\0';
		}
		total += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (fd < 0 || n < 0) {
		snprintf(r->got, sizeof(r->got), "unreadable: %s", strerror(errno));
		return true;
	}
	if (vars)
		snprintf(r->got, sizeof(r->got), "%zu variables (%s=...)", vars, first);
	else
		snprintf(r->got, sizeof(r->got), "none (%zu bytes, all NUL)", total);
	r->ok = vars == 0;
	return true;
}

/* fd 2 is the role's own log pipe, never the supervisor's stderr: the
 * inode behind /proc/PID/fd/2 is the plan's pipe for this role. */
static bool check_stderr(struct audit *a, size_t k)
{
	struct audit_row *r = host_row(a, k, "host.own-stderr", "stat /proc/PID/fd/2", MECH_SPAWN,
				       CLAIM(2) | CLAIM(4), "its own log pipe");
	if (!r)
		return false;
	char path[64];
	struct stat role, pipe_end, sup;
	snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)a->idle[k].pid);
	if (stat(path, &role) < 0 || fstat(a->plan.roles[k].stderr_rd, &pipe_end) < 0) {
		snprintf(r->got, sizeof(r->got), "unreadable: %s", strerror(errno));
		return true;
	}
	bool shared = fstat(2, &sup) == 0 && sup.st_dev == role.st_dev && sup.st_ino == role.st_ino;
	r->ok = S_ISFIFO(role.st_mode) && role.st_dev == pipe_end.st_dev && role.st_ino == pipe_end.st_ino;
	snprintf(r->got, sizeof(r->got), "%s", r->ok ? "its own log pipe" : shared ? "the supervisor's stderr"
										     : "another file");
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
	struct audit_row *row = host_row(a, k, "host.provider-mounts", "/proc/PID/mountinfo: /proc and /state",
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

/* ---- differential run (claim 2) ---- */

/* Everything the intermediary can learn from its end of an artifact
 * channel, read on that same socket (the supervisor's duplicate of the
 * writer end): readiness, a pending error, what a read returns, and how
 * much it still has in flight. */
static void observe_writer(int fd, char *out, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP };
	int soerr = 0, outq = -1;
	socklen_t sl = sizeof(soerr);
	char byte;
	if (poll(&p, 1, 0) < 0)
		p.revents = -1;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);
	int rerr = n < 0 ? errno : 0;
	ioctl(fd, SIOCOUTQ, &outq);
	snprintf(out, len, "poll %#x, SO_ERROR %d, recv %zd/%d, outq %d", (unsigned)p.revents, soerr, n, rerr, outq);
}

/* Frames the provider wrote on its signal channel since the last call. */
static size_t drain_signals(int fd, int wait_ms)
{
	uint8_t buf[SIGNAL_CHANNEL_FRAME_MAX + 1];
	size_t n = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (poll(&p, 1, wait_ms) > 0) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r <= 0)
			break;
		n += wire_peek_type(buf, (size_t)r) == WIRE_SIGNAL;
		wait_ms = 50;
	}
	return n;
}

/* One artifact as the intermediary writes it, with its binding right (the
 * provider may initiate) or wrong (it must decline); returns the
 * intermediary's observations once the provider has consumed it. */
static bool differential_step(struct audit *a, bool binding_ok, char *obs, size_t len, size_t *signals)
{
	uint8_t frame[ARTIFACT_HDR_LEN + 64];
	struct artifact art = { .context = "CTX_ALPHA", .context_len = 9, .has_body = true,
				.body = (const uint8_t *)"audit differential", .body_len = 18 };
	int w = a->plan.artifact[0].writer, outq = 1;
	randombytes_buf(art.correlation, sizeof(art.correlation));
	derive_request_repr(art.body, art.body_len, art.request_repr);
	derive_binding(art.request_repr, art.context, art.context_len, art.binding);
	art.binding[0] ^= binding_ok ? 0 : 1;
	size_t flen = artifact_encode(&art, a->plan.receive_body[0], frame, sizeof(frame));
	if (flen == 0 || send(w, frame, flen, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)flen)
		return false;
	for (int i = 0; i < 200 && outq != 0; i++) {
		if (ioctl(w, SIOCOUTQ, &outq) < 0)
			return false;
		if (outq)
			usleep(10000);
	}
	*signals = drain_signals(a->plan.signal[0].reader, 300);
	observe_writer(w, obs, len);
	return outq == 0;
}

/* The provider runs for real (its own policy, key and seal); the row
 * holds when both runs look the same from the intermediary's end, and
 * says whether the provider really decided differently. */
static void check_differential(struct audit *a, struct audit_row *row)
{
	struct role_plan *r = &a->plan.roles[2];
	struct role_proc rp = { .pidfd = -1 };
	char err[256], yes[160], no[160];
	size_t sig_yes = 0, sig_no = 0;
	siginfo_t si;
	snprintf(row->got, sizeof(row->got), "the provider could not run");
	if (plan_renew_status(r, err, sizeof(err)) < 0 || spawn_role(&r->spec, &rp, err, sizeof(err)) < 0)
		return;
	close(r->status_wr);
	r->status_wr = -1;
	struct pollfd ready = { .fd = r->status_rd, .events = POLLIN };
	bool ok = poll(&ready, 1, 5000) > 0;
	drain_signals(a->plan.signal[0].reader, 200); /* its epoch checkpoint */
	ok = ok && differential_step(a, true, yes, sizeof(yes), &sig_yes) &&
	     differential_step(a, false, no, sizeof(no), &sig_no);
	role_proc_signal(&rp, SIGTERM);
	waitid((idtype_t)P_PIDFD, (id_t)rp.pidfd, &si, WEXITED);
	close(rp.pidfd);
	forward_logs(a);
	if (listener_restore(a->plan.listen_fd) < 0)
		log_errno("audit: the listener cannot listen again");
	if (!ok)
		return;
	snprintf(row->got, sizeof(row->got), "%s; signals %zu vs %zu", strcmp(yes, no) ? "observations differ"
											      : "identical", sig_yes, sig_no);
	row->ok = strcmp(yes, no) == 0 && sig_no == 0;
	if (strcmp(yes, no) != 0)
		log_error("audit: differential: %s | %s", yes, no);
}

static int differential(struct audit *a, char *err, size_t errlen)
{
	struct audit_row *row = host_row(a, 0, "host.differential-intermediary",
					 "the real first provider gets an artifact it may initiate, then one it must "
					 "decline; compare poll/SO_ERROR/recv/SIOCOUTQ on the intermediary's end",
					 MECH_CHANNEL, CLAIM(2), "identical; no signal for the declined one");
	if (!row) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	check_differential(a, row);
	return 0;
}

static int host_checks(struct audit *a, char *err, size_t errlen)
{
	for (size_t k = 0; k < a->plan.n_roles; k++)
		if (!check_status(a, k, a->idle[k].pid) || !check_namespaces(a, k) || !check_uid(a, k) ||
		    !check_links(a, k) || !check_fds(a, k) || !check_groups(a, k) || !check_environ(a, k) ||
		    !check_stderr(a, k) || !check_provider_mounts(a, k)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	return 0;
}

/* ---- what each role's probes aim at ---- */

static void fill_env(struct audit *a)
{
	const struct topology *t = a->plan.t;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&t->listen_addr;
	for (size_t k = 0; k < a->plan.n_roles; k++) {
		const struct role_plan *r = &a->plan.roles[k];
		/* another provider's key: the next one (or the first) */
		size_t other = r->kind == ROLE_PROVIDER ? (r->provider + 1) % t->n_providers : 0;
		snprintf(a->other_key[k], sizeof(a->other_key[k]), "%s/%s", t->providers[other].keys, KEYS_SECRET_NAME);
		a->env[k] = (struct probe_env){
			/* a provider's sandbox for the intermediary, the intermediary's for the others */
			.victim_pid = a->idle[r->kind == ROLE_INTERMEDIARY ? 2 : 0].pid,
			.listen_port = ntohs(sin->sin_port), /* the port sits at the same offset for IPv6 */
			.host_port = a->host_port,
			.other_key = a->other_key[k],
			.ledger = t->ledger,
			.topology = t->path,
			.n_fds = (long)r->spec.n_keep,
			.status_fd = 3 + (int)r->spec.status_index,
			.nproc = r->spec.limits ? (unsigned long)r->spec.limits->nproc : 0,
			.self_name = r->kind == ROLE_PROVIDER ? t->providers[r->provider].name : NULL,
			.other_name = t->providers[other].name,
		};
		if (r->kind == ROLE_PROVIDER) {
			a->env[k].own_policy = r->policy_in_sandbox;
			a->env[k].has_state = t->providers[r->provider].state != NULL;
			a->env[k].program_rules = r->cfg.pv.program_rules;
			a->env[k].n_program_rules = r->cfg.pv.n_program_rules;
			a->env[k].program_landlock_weakened = r->cfg.pv.weaken_program_landlock;
		}
	}
}

/* ---- report ---- */

/* Weights per claim, in the spirit of systemd-analyze security: what a
 * failure would expose (docs/CLAIMS.md). A row weighs its heaviest claim. */
static const unsigned claim_weight[PROBE_CLAIMS] = { 2000, 2000, 1500, 2000, 1500, 2000, 1500, 1000, 1500, 1000 };

static unsigned row_weight(const struct audit_row *r)
{
	unsigned w = 0;
	for (int c = 0; c < PROBE_CLAIMS; c++)
		if ((r->claims & CLAIM(c + 1)) && claim_weight[c] > w)
			w = claim_weight[c];
	return w ? w : 500;
}

/* 0.0 (nothing exposed) .. 10.0 (every check failed). */
static double role_score(const struct audit *a, size_t k)
{
	double all = 0, bad = 0;
	for (size_t i = 0; i < a->n_rows; i++)
		if (a->rows[i].role == k) {
			all += row_weight(&a->rows[i]);
			bad += a->rows[i].ok ? 0 : row_weight(&a->rows[i]);
		}
	return all > 0 ? 10.0 * bad / all : 0;
}

enum verdict { V_NA, V_ENFORCED, V_VIOLATED };

static enum verdict claim_verdict(const struct audit *a, size_t k, int claim, unsigned *mechs)
{
	enum verdict v = V_NA;
	*mechs = 0;
	for (size_t i = 0; i < a->n_rows; i++) {
		const struct audit_row *r = &a->rows[i];
		if (r->role != k || !(r->claims & CLAIM(claim)))
			continue;
		*mechs |= 1u << r->mech;
		if (!r->ok)
			v = V_VIOLATED;
		else if (v == V_NA)
			v = V_ENFORCED;
	}
	return v;
}

static const char *verdict_name(enum verdict v)
{
	return v == V_ENFORCED ? "ENFORCED" : v == V_VIOLATED ? "VIOLATED" : "N/A";
}

static void mech_list(unsigned mechs, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int m = 0; m < MECH_COUNT && n < len; m++)
		if (mechs & (1u << m))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", probe_mechanism_name(m));
}

static void print_report(const struct audit *a, size_t violated)
{
	violated -= audit_surface_violated(a->surface);
	printf("mpbs-run audit: %zu distinct probes, %zu checks run, %zu violated\n\n", probe_count + HOST_CHECKS,
	       a->n_rows, violated);
	for (size_t i = 0; i < a->n_rows; i++) {
		const struct audit_row *r = &a->rows[i];
		printf("%-8s %-14s %-34s expected %-8s got %-24s [%s]\n", r->ok ? "ENFORCED" : "VIOLATED",
		       a->plan.roles[r->role].label, r->id, r->expected, r->got, probe_mechanism_name(r->mech));
	}
	printf("\nclaim × role\n");
	for (int c = 1; c <= PROBE_CLAIMS; c++) {
		printf("claim %-2d", c);
		for (size_t k = 0; k < a->plan.n_roles; k++) {
			unsigned mechs;
			char ml[160];
			enum verdict v = claim_verdict(a, k, c, &mechs);
			mech_list(mechs, ml, sizeof(ml));
			printf("  %s: %s%s%s%s", a->plan.roles[k].label, verdict_name(v), mechs ? " (" : "", ml,
			       mechs ? ")" : "");
		}
		printf("\n");
	}
	printf("\nexposure (0 = nothing exposed, 10 = every check failed)\n");
	for (size_t k = 0; k < a->plan.n_roles; k++)
		printf("  %-14s %.1f\n", a->plan.roles[k].label, role_score(a, k));
	if (a->surface)
		audit_surface_print(a->surface, stdout);
	else
		printf("\nargument surface: not run under --audit-weaken\n");
	/* the last line covers both sections: what a reader of the tail sees */
	printf("\nmpbs-run audit: %s: %zu probe checks and %zu argument-surface rows violated\n",
	       violated + audit_surface_violated(a->surface) ? "FAILED" : "every claim held", violated,
	       audit_surface_violated(a->surface));
}

static json_t *claims_json(unsigned claims)
{
	json_t *arr = json_array();
	for (int c = 1; c <= PROBE_CLAIMS; c++)
		if (claims & CLAIM(c))
			json_array_append_new(arr, json_integer(c));
	return arr;
}

static json_t *matrix_json(const struct audit *a)
{
	json_t *m = json_object();
	for (int c = 1; c <= PROBE_CLAIMS; c++) {
		json_t *row = json_object();
		char key[8], ml[160];
		for (size_t k = 0; k < a->plan.n_roles; k++) {
			unsigned mechs;
			enum verdict v = claim_verdict(a, k, c, &mechs);
			mech_list(mechs, ml, sizeof(ml));
			json_object_set_new(row, a->plan.roles[k].label,
					    json_pack("{s:s, s:s}", "verdict", verdict_name(v), "mechanisms", ml));
		}
		snprintf(key, sizeof(key), "%d", c);
		json_object_set_new(m, key, row);
	}
	return m;
}

static int write_json(const struct audit *a, const char *path, size_t violated, int status)
{
	json_t *results = json_array(), *scores = json_object();
	for (size_t i = 0; i < a->n_rows; i++) {
		const struct audit_row *r = &a->rows[i];
		json_array_append_new(results,
				      json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "id", r->id, "role",
						a->plan.roles[r->role].label, "action", r->action, "mechanism",
						probe_mechanism_name(r->mech), "claims", claims_json(r->claims),
						"expected", r->expected, "got", r->got, "verdict",
						r->ok ? "ENFORCED" : "VIOLATED"));
	}
	for (size_t k = 0; k < a->plan.n_roles; k++)
		json_object_set_new(scores, a->plan.roles[k].label, json_real(role_score(a, k)));
	json_t *doc = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o, s:i}", "probes", (json_int_t)(probe_count + HOST_CHECKS),
				"checks", (json_int_t)a->n_rows, "violated", (json_int_t)violated, "results", results,
				"matrix", matrix_json(a), "exposure", scores, "exit", status);
	if (doc && a->surface)
		json_object_set_new(doc, "surface", audit_surface_json(a->surface));
	int rc = doc ? json_dump_file(doc, path, JSON_INDENT(2)) : -1;
	json_decref(doc);
	return rc;
}

static void xml_escaped(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20)
				fputc(*s, f);
		}
}

static int write_junit(const struct audit *a, const char *path, size_t violated)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
		   "<testsuite name=\"mpbs-audit\" tests=\"%zu\" failures=\"%zu\">\n", a->n_rows,
		violated - audit_surface_violated(a->surface));
	for (size_t i = 0; i < a->n_rows; i++) {
		const struct audit_row *r = &a->rows[i];
		fputs("<testcase classname=\"", f);
		xml_escaped(f, a->plan.roles[r->role].label);
		fputs("\" name=\"", f);
		xml_escaped(f, r->id);
		fputs("\">", f);
		if (!r->ok) {
			fputs("<failure message=\"", f);
			xml_escaped(f, r->action);
			fputs(": expected ", f);
			xml_escaped(f, r->expected);
			fputs(", got ", f);
			xml_escaped(f, r->got);
			fprintf(f, " (mechanism %s)\"/>", probe_mechanism_name(r->mech));
		}
		fputs("</testcase>\n", f);
	}
	fputs("</testsuite>\n", f);
	if (a->surface)
		audit_surface_junit(a->surface, f);
	fputs("</testsuites>\n", f);
	return fclose(f);
}

static int report(const struct audit *a, const struct audit_options *o)
{
	size_t violated = 0;
	bool over = false;
	for (size_t i = 0; i < a->n_rows; i++)
		violated += !a->rows[i].ok;
	violated += audit_surface_violated(a->surface);
	for (size_t k = 0; k < a->plan.n_roles; k++)
		over |= o->threshold >= 0 && role_score(a, k) > o->threshold;
	int status = violated || over ? 1 : 0;
	print_report(a, violated);
	if (over)
		printf("exposure over the threshold %.1f\n", o->threshold);
	if (o->json_path && write_json(a, o->json_path, violated, status) < 0) {
		log_error("audit: write %s: %s", o->json_path, strerror(errno));
		return 2;
	}
	if (o->junit_path && write_junit(a, o->junit_path, violated) < 0) {
		log_error("audit: write %s: %s", o->junit_path, strerror(errno));
		return 2;
	}
	return status;
}

/* A listener on 127.0.0.1 in the supervisor's (the host's) network
 * namespace: what a probe that escapes the role's network would reach. */
static int open_host_service(struct audit *a, char *err, size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	a->host_listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->host_listener < 0 || bind(a->host_listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(a->host_listener, 16) < 0 || getsockname(a->host_listener, (struct sockaddr *)&sa, &len) < 0) {
		snprintf(err, errlen, "the audit's host service on 127.0.0.1: %s", strerror(errno));
		return -1;
	}
	a->host_port = ntohs(sa.sin_port);
	return 0;
}

int audit_run(const struct topology *t, const struct audit_options *o)
{
	struct audit *a = calloc(1, sizeof(*a));
	char err[1024] = "";
	int status = 2;
	if (!a) {
		log_error("audit: out of memory");
		return 2;
	}
	for (size_t k = 0; k < PLAN_ROLES_MAX; k++)
		a->idle[k].pidfd = -1;
	a->seclog.fd = -1;
	if (seccomp_log_open(&a->seclog, err, sizeof(err)) < 0)
		log_warn("audit: %s: seccomp kills will show as SIGSYS without the syscall's name", err);
	if (open_host_service(a, err, sizeof(err)) < 0 || plan_prepare(&a->plan, t, err, sizeof(err)) < 0) {
		if (a->host_listener >= 0)
			close(a->host_listener);
		log_error("audit: %s", err);
		free(a);
		return 2;
	}
	for (size_t k = 0; k < a->plan.n_roles; k++)
		a->log[k].label = a->plan.roles[k].label;
	if ((!o->policy_dir || audit_surface_use_policies(&a->plan, o->policy_dir, err, sizeof(err)) == 0) &&
	    apply_weakenings(&a->plan, o, err, sizeof(err)) == 0 && start_idle(a, err, sizeof(err)) == 0) {
		fill_env(a);
		/* the surface section comes last: a wrong policy may shut the listener */
		if (host_checks(a, err, sizeof(err)) == 0 && run_probes(a, err, sizeof(err)) == 0 &&
		    differential(a, err, sizeof(err)) == 0 &&
		    (o->n_weaken || audit_surface_run(&a->plan, a->env, &a->seclog, &a->surface, err, sizeof(err)) == 0))
			status = report(a, o);
	}
	if (status == 2 && err[0])
		log_error("audit: %s", err);
	for (size_t k = 0; k < PLAN_ROLES_MAX; k++)
		reap(&a->idle[k]);
	forward_logs(a);
	for (size_t k = 0; k < a->plan.n_roles; k++)
		role_log_flush(&a->log[k], 2);
	plan_release(&a->plan);
	close(a->host_listener);
	seccomp_log_close(&a->seclog);
	audit_surface_free(a->surface);
	free(a->rows);
	free(a);
	return status;
}
