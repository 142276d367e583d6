/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "plan_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bridge/state.h"
#include "../lib/elf_interp.h"
#include "../lib/fsutil.h"
#include "memfd.h"
#include "nats_urls.h"
#include "limits.h"
#include "plan.h"
#include "seccomp.h"

#ifndef MPBS_LIBEXEC_DIR
#define MPBS_LIBEXEC_DIR "/usr/local/libexec/mpbs-run"
#endif

/* Largest credential file: a password, or PEM material. */
#define SECRET_FILE_MAX (64 << 10)

/* What the program and its libraries need to load, read-only: the loader
 * maps the libraries (mmap, which Landlock does not check), it executes
 * none, so no file here is executable but the loader itself. */
static const char *const bridge_system_paths[] = { "/usr", "/lib", "/lib64", "/etc/ld.so.cache" };

/* The program beside the supervisor's binary when that is a build tree
 * (the marker plan_policy_dir looks for), else the installed one. */
int plan_bridge_program(char *out, size_t len, char *err, size_t errlen)
{
	char exe[PATH_MAX], marker[PATH_MAX + 32];
	struct stat st;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	snprintf(out, len, "%s/mpbs-bridge", MPBS_LIBEXEC_DIR);
	if (n > 0) {
		exe[n] = '\0';
		char *dir = dirname(exe);
		snprintf(marker, sizeof(marker), "%s/.mpbs-build-tree", dir);
		if (stat(marker, &st) == 0)
			snprintf(out, len, "%s/mpbs-bridge", dir);
	}
	if (stat(out, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IXOTH)) {
		snprintf(err, errlen, "the bridge's program %s: %s", out,
			 errno && stat(out, &st) < 0 ? strerror(errno) : "not a program others may run");
		return -1;
	}
	return 0;
}

/* Beneath a directory the sandbox binds at its own path. */
static bool in_system_paths(const char *path)
{
	for (size_t k = 0; k < sizeof(bridge_system_paths) / sizeof(bridge_system_paths[0]); k++) {
		size_t n = strlen(bridge_system_paths[k]);
		if (strncmp(path, bridge_system_paths[k], n) == 0 && path[n] == '/' && !strstr(path, "/../"))
			return true;
	}
	return false;
}

int plan_bridge_loader(const char *program, char *loader, size_t len, char *err, size_t errlen)
{
	struct stat st;
	int rc = elf_interp(program, loader, len, err, errlen);
	if (rc < 0)
		return -1;
	if (rc > 0 && !in_system_paths(loader)) {
		snprintf(err, errlen, "the bridge's program %s: its loader %s is outside /usr, /lib and /lib64, all "
			 "its sandbox has of the system", program, loader);
		return -1;
	}
	if (rc > 0 && stat(loader, &st) < 0) {
		snprintf(err, errlen, "the bridge's program %s: its loader %s: %s", program, loader, strerror(errno));
		return -1;
	}
	if (rc == 0)
		loader[0] = '\0';
	return 0;
}

/* A credential file read by the supervisor (root): a regular file, not a
 * symbolic link, owned by root or by the supervisor's user (whoever may
 * write the CA chooses the servers the bridge trusts); a secret one (the
 * password, the key) readable by its owner alone, as a provider's
 * signal.key. */
static int read_secret(const char *path, bool must_be_private, char *buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd = fs_open_owned(path, &st, err, errlen);
	if (fd < 0)
		return -1;
	if (must_be_private && (st.st_mode & 077)) {
		snprintf(err, errlen, "%s: readable by its group or others (mode %03o): chmod 600 it", path,
			 (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	int rc = fs_read_upto(fd, path, buf, SECRET_FILE_MAX, len, err, errlen);
	close(fd);
	if (rc == 0 && *len > SECRET_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, SECRET_FILE_MAX);
		return -1;
	}
	return rc;
}

/* One section of the secrets memfd: u32 little-endian length, bytes. */
static int put_section(int fd, const char *bytes, size_t len)
{
	uint8_t head[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24) };
	return fs_write_all(fd, head, sizeof(head)) < 0 || (len && fs_write_all(fd, bytes, len) < 0) ? -1 : 0;
}

/* The password (its first line), then the CA, certificate and key PEMs,
 * each possibly empty: bridge/secrets.h reads them back. */
static int write_secrets(struct run_plan *p, int fd, char *err, size_t errlen)
{
	const struct topo_nats *n = &p->t->nats;
	char name[TOPO_HOST_MAX + 16];
	snprintf(name, sizeof(name), "%s.password", p->t->this_host);
	char *password_path = fs_path_join(n->credentials, name);
	const char *paths[] = { password_path, n->tls_ca, n->tls_cert, n->tls_key };
	const bool private_file[] = { true, false, false, true };
	char *buf = malloc(SECRET_FILE_MAX + 1);
	int rc = password_path && buf ? 0 : -1;
	if (rc < 0)
		snprintf(err, errlen, "out of memory");
	for (size_t k = 0; rc == 0 && k < sizeof(paths) / sizeof(paths[0]); k++) {
		size_t len = 0;
		if (paths[k] && read_secret(paths[k], private_file[k], buf, &len, err, errlen) < 0) {
			p->config_error = true; /* the operator's file to fix: exit 78 */
			rc = -1;
			break;
		}
		if (k == 0) { /* its first line: terminated (len <= SECRET_FILE_MAX) for strcspn */
			buf[len] = '\0';
			len = strcspn(buf, "\r\n");
		}
		if (k == 0 && len == 0) {
			snprintf(err, errlen, "%s: empty (`mpbs-run nats-config` writes one)", paths[k]);
			rc = -1;
		} else if (put_section(fd, buf, len) < 0) {
			snprintf(err, errlen, "the bridge's secrets memfd: %s", strerror(errno));
			rc = -1;
		}
	}
	if (buf)
		explicit_bzero(buf, SECRET_FILE_MAX + 1);
	free(buf);
	free(password_path);
	return rc;
}

/* A memfd written once, then sealed against any change. */
static int sealed_copy_fd(const char *name, char *err, size_t errlen)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		snprintf(err, errlen, "memfd %s: %s", name, strerror(errno));
	return fd;
}

static int seal_fd(int fd, const char *name, char *err, size_t errlen)
{
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		snprintf(err, errlen, "seal memfd %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

static int prepare_fds(struct run_plan *p, char *err, size_t errlen)
{
	p->bridge_seccomp = sealed_copy_fd("mpbs-bridge-filter", err, errlen);
	if (p->bridge_seccomp < 0 ||
	    seccomp_policy_export_bpf(p->policy[ROLE_BRIDGE][POLICY_PLAIN], p->bridge_seccomp, err, errlen) < 0 ||
	    seal_fd(p->bridge_seccomp, "mpbs-bridge-filter", err, errlen) < 0)
		return -1;
	p->bridge_secrets = sealed_copy_fd("mpbs-bridge-secrets", err, errlen);
	if (p->bridge_secrets < 0 || write_secrets(p, p->bridge_secrets, err, errlen) < 0 ||
	    seal_fd(p->bridge_secrets, "mpbs-bridge-secrets", err, errlen) < 0)
		return -1;
	if (channel_open(&p->bridge_control, CONTROL_SNDBUF, err, errlen) < 0)
		return -1;
	for (size_t k = 0; k < p->n_lanes; k++) {
		const struct lane *l = &p->lanes[k];
		/* only a sig in lane replays (its ring) */
		uint32_t bytes = bridge_state_bytes(l->dir == LANE_OUT, l->dir == LANE_IN && l->kind == LANE_SIGNAL);
		if ((p->lane_state[k] = sealed_memfd("mpbs-lane-state", bytes, err, errlen)) < 0)
			return -1;
	}
	return 0;
}

int plan_bridge_prepare(struct run_plan *p, char *err, size_t errlen)
{
	p->n_lanes = host_part_lanes(p->t, p->lanes);
	if (p->n_lanes == 0)
		return 0;
	if (plan_bridge_program(p->bridge_program, sizeof(p->bridge_program), err, errlen) < 0 ||
	    plan_bridge_loader(p->bridge_program, p->bridge_loader, sizeof(p->bridge_loader), err, errlen) < 0)
		return -1;
	int rc = prepare_fds(p, err, errlen);
	if (rc < 0)
		plan_bridge_release(p);
	return rc;
}

void plan_bridge_release(struct run_plan *p)
{
	fs_close(&p->bridge_seccomp);
	fs_close(&p->bridge_secrets);
	channel_close(&p->bridge_control);
	for (size_t k = 0; k < BRIDGE_LANES_MAX; k++)
		fs_close(&p->lane_state[k]);
}

/* The channel end a lane holds: the reader of a channel whose writer is
 * here (out), the writer of one whose reader is here (in). */
static int lane_channel_fd(const struct run_plan *p, const struct lane *l)
{
	const struct channel *c = l->kind == LANE_ARTIFACT ? &p->artifact[l->provider] : &p->signal[l->provider];
	return l->dir == LANE_OUT ? c->reader : c->writer;
}

static void plan_sandbox(struct run_plan *p, struct role_plan *r)
{
	struct stat st;
	size_t nb = 0, nl = 0;
	for (size_t k = 0; k < sizeof(bridge_system_paths) / sizeof(bridge_system_paths[0]); k++) {
		const char *path = bridge_system_paths[k];
		if (lstat(path, &st) < 0)
			continue;
		p->bridge_landlock[nl++] = (struct landlock_rule){ .path = path, .access = LL_READ };
		r->binds[nb++] = (struct mount_bind){ .src = path, .dst = path, .writable = false };
	}
	/* the binds keep the loader at its own path; its rule opens it there
	 * and follows any symlink to the file itself */
	if (p->bridge_loader[0])
		p->bridge_landlock[nl++] = (struct landlock_rule){ .path = p->bridge_loader, .access = LL_READ | LL_EXEC };
	p->bridge_landlock[nl++] = (struct landlock_rule){ .path = BRIDGE_PROGRAM_IN_SANDBOX, .access = LL_READ | LL_EXEC };
	r->binds[nb++] = (struct mount_bind){ .src = p->bridge_program, .dst = BRIDGE_PROGRAM_IN_SANDBOX, .writable = false };
	struct nats_url urls[NATS_URLS_MAX];
	char why[128];
	int n = nats_urls_parse(p->t->nats.servers, urls, why, sizeof(why)); /* checked by the topology */
	for (int k = 0; k < n; k++)
		p->bridge_landlock[nl++] = (struct landlock_rule){ .access = LL_CONNECT, .port = urls[k].port };
	r->spec.mounts = (struct mount_plan){ .binds = r->binds, .n_binds = nb };
	r->spec.landlock = p->bridge_landlock;
	r->spec.n_landlock = nl;
	r->spec.host_network = true;
	r->spec.net_lo = false;
}

_Static_assert(BRIDGE_FD_SPAN(BRIDGE_LANES_MAX) <= PLAN_SPAWN_FDS_MAX, "the bridge's fd table over PLAN_SPAWN_FDS_MAX");
_Static_assert(BRIDGE_FD_LANE_STATE(BRIDGE_LANES_MAX) <= BRIDGE_FD_CHANNELS, "state memfds reach the channels");

static void keep_bridge_fd(struct run_plan *p, int as, int fd)
{
	p->bridge_keep[as - ROLE_FD_FIRST] = fd;
}

static int plan_argv(struct run_plan *p)
{
	const struct topology *t = p->t;
	struct bridge_config *b = &p->bridge;
	struct nats_url urls[NATS_URLS_MAX];
	char why[128];
	int n = nats_urls_parse(t->nats.servers, urls, why, sizeof(why));
	int rc = bridge_arg(b, "mpbs-bridge") | bridge_arg(b, "--run") | bridge_arg(b, "--host") |
		 bridge_arg(b, "%s", t->this_host) | bridge_arg(b, "--user") |
		 bridge_arg(b, BRIDGE_USER_PREFIX "%s", t->this_host) | bridge_arg(b, "--inbox-prefix") |
		 bridge_arg(b, BRIDGE_INBOX_PREFIX "%s", t->this_host) | bridge_arg(b, "--secrets-fd") |
		 bridge_arg(b, "%d", BRIDGE_FD_SECRETS) | bridge_arg(b, "--batch-frames") |
		 bridge_arg(b, "%u", t->nats.batch_frames) | bridge_arg(b, "--batch-bytes") |
		 bridge_arg(b, "%llu", (unsigned long long)t->nats.batch_bytes) | bridge_arg(b, "--window") |
		 bridge_arg(b, "%u", t->nats.window) | bridge_arg(b, "--status-fd") | bridge_arg(b, "%d", BRIDGE_FD_STATUS) |
		 bridge_arg(b, "--control-fd") | bridge_arg(b, "%d", BRIDGE_FD_CONTROL) | bridge_arg(b, "--seccomp-fd") |
		 bridge_arg(b, "%d", BRIDGE_FD_SECCOMP);
	for (int k = 0; k < n; k++)
		rc |= bridge_arg(b, "--server") | bridge_arg(b, "%s", urls[k].text);
	for (size_t k = 0; k < p->n_lanes; k++) {
		const struct lane *l = &p->lanes[k];
		rc |= bridge_arg(b, "--lane") | bridge_arg(b, "%s:%s:%s:%d:%d", lane_dir_word(l->dir), lane_kind_word(l->kind),
							    t->providers[l->provider].name, BRIDGE_FD_LANE(k),
							    BRIDGE_FD_LANE_STATE(k));
	}
	return rc;
}

void plan_bridge(struct run_plan *p, struct role_plan *r, size_t index)
{
	(void)index;
	for (size_t i = 0; i < BRIDGE_FD_SPAN(p->n_lanes); i++)
		p->bridge_keep[i] = -1; /* the gap below the channels stays closed */
	keep_bridge_fd(p, BRIDGE_FD_STATUS, r->status_wr);
	keep_bridge_fd(p, BRIDGE_FD_CONTROL, p->bridge_control.reader);
	keep_bridge_fd(p, BRIDGE_FD_SECCOMP, p->bridge_seccomp);
	keep_bridge_fd(p, BRIDGE_FD_SECRETS, p->bridge_secrets);
	for (size_t k = 0; k < p->n_lanes; k++) {
		keep_bridge_fd(p, BRIDGE_FD_LANE(k), lane_channel_fd(p, &p->lanes[k]));
		keep_bridge_fd(p, BRIDGE_FD_LANE_STATE(k), p->lane_state[k]);
	}
	r->spec.keep_fds = p->bridge_keep;
	r->spec.n_keep = BRIDGE_FD_SPAN(p->n_lanes);
	r->spec.status_index = BRIDGE_FD_STATUS - ROLE_FD_FIRST;
	r->keep_at = p->bridge_keep;
	r->control_writer = p->bridge_control.writer;
	limits_with_defaults(&p->t->limits[ROLE_BRIDGE], r->kind, p->t, &r->limits);
	plan_sandbox(p, r);
	p->bridge.n_keep = r->spec.n_keep;
	if (plan_argv(p) != 0)
		p->bridge.argc = 0; /* bridge_exec then fails, reported; the limits make it impossible */
	r->spec.arg = &p->bridge;
}
