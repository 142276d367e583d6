/* SPDX-License-Identifier: Apache-2.0 */
/* The minimal root of a role: a tmpfs with bind mounts, entered by
 * pivot_root, every read-only promise checked before the role runs. */
#define _GNU_SOURCE
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Where the new root is built. Covering it is invisible to the host (all
 * mounts are private by then), and the sources are opened before it is
 * covered, so a source under /tmp still works. */
#define SCRATCH "/tmp"
#define ROOT_TMPFS_OPTS "mode=0755,size=1m,nr_inodes=4096"
#define PROC_MOUNT_OPTS "subset=pid,hidepid=invisible"

struct source {
	const char *name; /* host path, for messages */
	const char *dst;
	bool writable;
	int fd; /* O_PATH, opened before the scratch dir is covered */
	bool is_dir;
	bool is_chr;
};

/* Mounting through /proc/self/fd/N acts on exactly the object the fd holds,
 * so no path is resolved twice. */
static void fd_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

static bool is_bad_part(const char *p, size_t len)
{
	return len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.');
}

static int check_dst(const char *dst, char *err, size_t errlen)
{
	bool ok = dst && dst[0] == '/' && dst[1] != '\0' && strlen(dst) < PATH_MAX / 2;
	for (const char *p = ok ? dst + 1 : ""; ok && *p;) {
		size_t len = strcspn(p, "/");
		ok = !is_bad_part(p, len) && !(p[len] == '/' && p[len + 1] == '\0');
		p += len + (p[len] == '/');
	}
	if (!ok)
		snprintf(err, errlen,
			 "mounts: bind destination \"%s\": not an absolute path without empty, \".\" or \"..\" parts",
			 dst ? dst : "(null)");
	return ok ? 0 : -1;
}

static int check_plan(const struct mount_plan *plan, char *err, size_t errlen)
{
	if (!plan || (plan->n_binds && !plan->binds)) {
		snprintf(err, errlen, "mounts: no mount plan");
		return -1;
	}
	for (size_t i = 0; i < plan->n_binds; i++) {
		if (!plan->binds[i].src) {
			snprintf(err, errlen, "mounts: bind %zu has no source", i);
			return -1;
		}
		if (check_dst(plan->binds[i].dst, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int open_source(struct source *s, int pre_fd, char *err, size_t errlen)
{
	struct stat st;
	s->fd = pre_fd >= 0 ? fcntl(pre_fd, F_DUPFD_CLOEXEC, 3) : open(s->name, O_PATH | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st) < 0) {
		snprintf(err, errlen, "mounts: open bind source %s: %s", s->name, strerror(errno));
		return -1;
	}
	s->is_dir = S_ISDIR(st.st_mode);
	s->is_chr = S_ISCHR(st.st_mode);
	return 0;
}

/* One step of a walk beneath the new root; creates the part when asked. A
 * symlink is never followed, so no mount point can land outside the root. */
static int step_into(int dirfd, const char *name, bool want_dir, bool create)
{
	if (want_dir) {
		if (create && mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
			return -1;
		return openat(dirfd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	}
	if (create && mknodat(dirfd, name, S_IFREG | 0444, 0) < 0 && errno != EEXIST)
		return -1;
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	int bad = 0;
	if (fstat(fd, &st) < 0)
		bad = errno;
	else if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
		bad = S_ISDIR(st.st_mode) ? EISDIR : ELOOP;
	if (bad) {
		close(fd);
		errno = bad;
		return -1;
	}
	return fd;
}

/* Opens DST beneath rootfd part by part; a lookup crosses into whatever is
 * mounted there, so after a bind this yields the bind's own root. */
static int walk(int rootfd, const char *dst, bool is_dir, bool create, char *err, size_t errlen)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", dst + 1);
	int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	char *save = NULL;
	char *name = strtok_r(path, "/", &save);
	while (name && cur >= 0) {
		char *next = strtok_r(NULL, "/", &save);
		int fd = step_into(cur, name, next || is_dir, create);
		int saved = errno;
		close(cur);
		cur = fd;
		errno = saved;
		name = next;
	}
	if (cur < 0)
		snprintf(err, errlen, "mounts: %s mount point %s: %s", create ? "create" : "open", dst,
			 strerror(errno));
	return cur;
}

/* The flags the kernel locked on a mount copied from a more privileged
 * namespace: a remount in a user namespace must repeat them or get EPERM. */
static unsigned long kept_flags(const struct statvfs *st)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ ST_RDONLY, MS_RDONLY },
		{ ST_NOSUID, MS_NOSUID },
		{ ST_NODEV, MS_NODEV },
		{ ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME },
		{ ST_NODIRATIME, MS_NODIRATIME },
		{ ST_RELATIME, MS_RELATIME },
	};
	unsigned long flags = 0;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (st->f_flag & map[i].st)
			flags |= map[i].ms;
	return flags;
}

/* For kernels before 5.12 (no mount_setattr): the top mount only; the
 * submount check below then refuses a read-only tree it could not cover. */
static int remount_legacy(int top, const struct source *s, char *err, size_t errlen)
{
	struct statvfs st;
	char at[64];
	if (fstatvfs(top, &st) < 0) {
		snprintf(err, errlen, "mounts: statvfs %s: %s", s->dst, strerror(errno));
		return -1;
	}
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | kept_flags(&st);
	flags |= (s->is_chr ? 0 : MS_NODEV) | (s->writable ? MS_NOEXEC : MS_RDONLY);
	fd_path(top, at, sizeof at);
	if (mount(NULL, at, NULL, flags, NULL) < 0) {
		snprintf(err, errlen, "mounts: remount %s: %s", s->dst, strerror(errno));
		return -1;
	}
	return 0;
}

static int mount_id_of(int fd)
{
	char path[64], line[128];
	int id = -1;
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (id < 0 && fgets(line, sizeof line, f))
		if (sscanf(line, "mnt_id: %d", &id) != 1)
			id = -1;
	fclose(f);
	return id;
}

struct mnt_entry {
	int id, parent;
	bool ro;
	char where[256];
};

struct mnt_table {
	struct mnt_entry *e;
	size_t n, cap;
};

static int table_add(struct mnt_table *t, const struct mnt_entry *m)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct mnt_entry *e = realloc(t->e, cap * sizeof *e);
		if (!e)
			return -1;
		t->e = e;
		t->cap = cap;
	}
	t->e[t->n++] = *m;
	return 0;
}

static int load_mountinfo(struct mnt_table *t)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char *line = NULL, opts[64];
	size_t len = 0;
	int rc = 0;
	struct mnt_entry m;
	while (rc == 0 && getline(&line, &len, f) > 0) {
		if (sscanf(line, "%d %d %*s %*s %255s %63s", &m.id, &m.parent, m.where, opts) != 4)
			continue;
		m.ro = strncmp(opts, "ro", 2) == 0 && (opts[2] == ',' || opts[2] == '\0');
		rc = table_add(t, &m);
	}
	free(line);
	fclose(f);
	return rc;
}

static bool descends_from(const struct mnt_table *t, const struct mnt_entry *m, int ancestor)
{
	int cur = m->parent;
	for (size_t depth = 0; depth < t->n; depth++) {
		if (cur == ancestor)
			return true;
		size_t i = 0;
		while (i < t->n && t->e[i].id != cur)
			i++;
		if (i == t->n || t->e[i].parent == cur)
			return false;
		cur = t->e[i].parent;
	}
	return false;
}

/* A recursive bind carries the source's submounts along; each must be
 * read-only too, or a "read-only" directory would still have a way in. */
static int check_submounts(int top, const char *dst, char *err, size_t errlen)
{
	int id = mount_id_of(top);
	struct mnt_table t = { 0 };
	if (id < 0 || load_mountinfo(&t) < 0) {
		snprintf(err, errlen, "mounts: read the mount table to check %s: %s", dst, strerror(errno));
		free(t.e);
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < t.n && rc == 0; i++) {
		if (t.e[i].ro || !descends_from(&t, &t.e[i], id))
			continue;
		snprintf(err, errlen, "mounts: %s: submount %s is still writable", dst, t.e[i].where);
		rc = -1;
	}
	free(t.e);
	return rc;
}

static int check_readonly(int top, const char *dst, char *err, size_t errlen)
{
	struct statvfs st;
	if (fstatvfs(top, &st) < 0) {
		snprintf(err, errlen, "mounts: statvfs %s: %s", dst, strerror(errno));
		return -1;
	}
	if (!(st.f_flag & ST_RDONLY)) {
		snprintf(err, errlen, "mounts: %s is still writable after the read-only remount", dst);
		return -1;
	}
	return check_submounts(top, dst, err, errlen);
}

/* A writable mount (a state directory, /dev/null) is noexec: a file a role
 * writes there can neither be executed nor mapped PROT_EXEC (mmap checks
 * MNT_NOEXEC), so nothing written at run time becomes code. */
static int check_noexec(int top, const char *dst, char *err, size_t errlen)
{
	struct statvfs st;
	if (fstatvfs(top, &st) < 0) {
		snprintf(err, errlen, "mounts: statvfs %s: %s", dst, strerror(errno));
		return -1;
	}
	if (!(st.f_flag & ST_NOEXEC)) {
		snprintf(err, errlen, "mounts: writable %s is still executable after the noexec remount", dst);
		return -1;
	}
	return 0;
}

/* mount_setattr sets only what is asked, down the whole tree, so the
 * locked flags stay as they are. A writable bind is noexec: bytes a role
 * writes at run time (a provider's /state) can never be mapped executable
 * (W^X: provider-exec.policy allows mmap PROT_EXEC without PROT_WRITE). */
static int restrict_bind(int top, const struct source *s, char *err, size_t errlen)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID };
	attr.attr_set |= (s->is_chr ? 0 : MOUNT_ATTR_NODEV) | (s->writable ? MOUNT_ATTR_NOEXEC : MOUNT_ATTR_RDONLY);
	if (mount_setattr(top, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
		if (errno != ENOSYS) {
			snprintf(err, errlen, "mounts: set %s %s: %s", s->writable ? "nosuid,noexec on" : "read-only",
				 s->dst, strerror(errno));
			return -1;
		}
		if (remount_legacy(top, s, err, errlen) < 0)
			return -1;
	}
	return s->writable ? check_noexec(top, s->dst, err, errlen) : check_readonly(top, s->dst, err, errlen);
}

static int bind_one(int rootfd, const struct source *s, char *err, size_t errlen)
{
	char from[64], to[64];
	int where = walk(rootfd, s->dst, s->is_dir, true, err, errlen);
	if (where < 0)
		return -1;
	fd_path(s->fd, from, sizeof from);
	fd_path(where, to, sizeof to);
	int rc = mount(from, to, NULL, MS_BIND | MS_REC, NULL);
	int saved = errno;
	close(where);
	if (rc < 0) {
		snprintf(err, errlen, "mounts: bind %s on %s: %s", s->name, s->dst, strerror(saved));
		return -1;
	}
	int top = walk(rootfd, s->dst, s->is_dir, false, err, errlen);
	if (top < 0)
		return -1;
	rc = restrict_bind(top, s, err, errlen);
	close(top);
	return rc;
}

/* Needs the new pid namespace, and a fully visible /proc still in this
 * mount namespace: so it runs before the old root is detached. Read-only,
 * only the process directories (subset=pid: no /proc/sys, /proc/net,
 * /proc/kcore, ...), and other uids' processes invisible (hidepid), as
 * nsjail and systemd's ProtectProc= give their sandboxes. A kernel without
 * these options (before 5.8) refuses them: the role then does not start. */
static int mount_proc(int rootfd, char *err, size_t errlen)
{
	char at[64];
	struct statvfs st;
	int where = walk(rootfd, "/proc", true, true, err, errlen);
	if (where < 0)
		return -1;
	fd_path(where, at, sizeof at);
	int rc = mount("proc", at, "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, PROC_MOUNT_OPTS);
	int saved = errno;
	if (rc < 0)
		snprintf(err, errlen, "mounts: mount proc on /proc with %s (needs Linux 5.8 or later): %s",
			 PROC_MOUNT_OPTS, strerror(saved));
	close(where);
	if (rc == 0 && (where = walk(rootfd, "/proc", true, false, err, errlen)) >= 0) {
		rc = fstatvfs(where, &st) < 0 || !(st.f_flag & ST_RDONLY) ? -1 : 0;
		if (rc < 0)
			snprintf(err, errlen, "mounts: /proc is not read-only after its mount");
		close(where);
	} else if (rc == 0) {
		rc = -1;
	}
	return rc;
}

/* pivot_root(".", ".") stacks the old root on the new one; detaching "."
 * then leaves only the new root, with no put_old directory in it. */
static int pivot_into(int rootfd, char *err, size_t errlen)
{
	const char *step = "chdir to the new root";
	if (fchdir(rootfd) < 0)
		goto fail;
	step = "pivot_root";
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		goto fail;
	step = "detach the old root";
	if (umount2(".", MNT_DETACH) < 0)
		goto fail;
	step = "chdir /";
	if (chdir("/") < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "mounts: %s: %s", step, strerror(errno));
	return -1;
}

static int seal_root(char *err, size_t errlen)
{
	struct statvfs st;
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
		snprintf(err, errlen, "mounts: remount / read-only: %s", strerror(errno));
		return -1;
	}
	if (statvfs("/", &st) < 0 || !(st.f_flag & ST_RDONLY)) {
		snprintf(err, errlen, "mounts: / is still writable after the read-only remount");
		return -1;
	}
	return 0;
}

static int build_and_enter(struct source *srcs, size_t n, bool proc, char *err, size_t errlen)
{
	if (mount("tmpfs", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV, ROOT_TMPFS_OPTS) < 0) {
		snprintf(err, errlen, "mounts: mount tmpfs on %s: %s", SCRATCH, strerror(errno));
		return -1;
	}
	int rootfd = open(SCRATCH, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		snprintf(err, errlen, "mounts: open the new root: %s", strerror(errno));
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = bind_one(rootfd, &srcs[i], err, errlen);
	if (rc == 0 && proc)
		rc = mount_proc(rootfd, err, errlen);
	if (rc == 0)
		rc = pivot_into(rootfd, err, errlen);
	close(rootfd);
	return rc == 0 ? seal_root(err, errlen) : -1;
}

static struct source *plan_sources(const struct mount_plan *plan, size_t *n)
{
	*n = plan->n_binds + (plan->dev_null ? 1 : 0);
	struct source *srcs = calloc(*n ? *n : 1, sizeof *srcs);
	if (!srcs)
		return NULL;
	for (size_t i = 0; i < plan->n_binds; i++)
		srcs[i] = (struct source){ plan->binds[i].src, plan->binds[i].dst, plan->binds[i].writable,
					   -1, false, false };
	if (plan->dev_null)
		srcs[plan->n_binds] = (struct source){ "/dev/null", "/dev/null", false, -1, false, false };
	return srcs;
}

int mounts_open_sources(const struct mount_plan *plan, int *src_fds, size_t max, char *err, size_t errlen)
{
	if (plan->n_binds > max) {
		snprintf(err, errlen, "mounts: too many binds");
		return -1;
	}
	for (size_t i = 0; i < plan->n_binds; i++) {
		src_fds[i] = open(plan->binds[i].src, O_PATH | O_CLOEXEC);
		if (src_fds[i] < 0) {
			snprintf(err, errlen, "mounts: open bind source %s: %s", plan->binds[i].src, strerror(errno));
			while (i-- > 0)
				close(src_fds[i]);
			return -1;
		}
	}
	return 0;
}

int mounts_enter_root(const struct mount_plan *plan, const int *src_fds, char *err, size_t errlen)
{
	size_t n;
	if (check_plan(plan, err, errlen) < 0)
		return -1;
	struct source *srcs = plan_sources(plan, &n);
	if (!srcs) {
		snprintf(err, errlen, "mounts: %s", strerror(ENOMEM));
		return -1;
	}
	int rc = 0;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		snprintf(err, errlen, "mounts: make / private: %s", strerror(errno));
		rc = -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = open_source(&srcs[i], src_fds && i < plan->n_binds ? src_fds[i] : -1, err, errlen);
	if (rc == 0)
		rc = build_and_enter(srcs, n, plan->proc, err, errlen);
	/* The source fds point into the old root: one left open is a way out. */
	for (size_t i = 0; i < n; i++)
		if (srcs[i].fd >= 0)
			close(srcs[i].fd);
	free(srcs);
	return rc;
}
