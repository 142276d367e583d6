/* SPDX-License-Identifier: Apache-2.0 */
/* Each sandbox mechanism of runner/ exercised in a real child: the child is
 * cloned into the namespaces the mechanism needs, mapped like a role (uid 0
 * inside = an unprivileged host id), runs the mechanism and probes what it
 * can still do; the test judges from both sides. Needs root. */
#define _GNU_SOURCE
#include "../../runner/caps.h"
#include "../../runner/cgroup.h"
#include "../../lib/landlock.h"
#include "../../runner/limits.h"
#include "../../runner/mounts.h"
#include "../../runner/netns.h"
#include "../../runner/userns.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The unprivileged host ids the children are mapped to. */
#define TEST_UID 231000
#define TEST_GID 231000

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (user namespaces mapped to another host uid)");
}

/* ---- a child in fresh namespaces ---------------------------------------- */

/* What a child reports: the mechanism's result and its probes. */
struct report {
	int rc;
	char err[512];
	long v[16];
	char text[256];
};

typedef void (*kid_body)(struct report *r, void *arg);

struct kid {
	pid_t pid;
	int ctl_w;    /* 'g' releases the child, closing it lets it exit */
	int report_r; /* one struct report */
};

/* The byte read, or -1 at EOF / error. */
static int wait_byte(int fd)
{
	char c;
	ssize_t n;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? c : -1;
}

/* Like spawn.c: wait for the maps, take the mapped ids, run, report, then
 * stay alive until the parent has looked at this process from outside. */
static _Noreturn void kid_main(uint64_t flags, int ctl_r, int report_w, kid_body body, void *arg)
{
	struct report r;
	memset(&r, 0, sizeof r);
	if (wait_byte(ctl_r) != 'g')
		_exit(90);
	if ((flags & CLONE_NEWUSER) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		_exit(91);
	body(&r, arg);
	if (write(report_w, &r, sizeof r) != (ssize_t)sizeof r)
		_exit(92);
	wait_byte(ctl_r);
	_exit(0);
}

static struct kid kid_start_in(uint64_t flags, int cgroup_fd, kid_body body, void *arg)
{
	int ctl[2], rep[2];
	cr_assert_eq(pipe2(ctl, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
	cr_assert_eq(pipe2(rep, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
	struct clone_args ca = { .flags = flags, .exit_signal = SIGCHLD };
	if (cgroup_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)cgroup_fd;
	}
	pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
	cr_assert(pid >= 0, "clone3 %#llx: %s", (unsigned long long)flags, strerror(errno));
	if (pid == 0) {
		close(ctl[1]);
		close(rep[0]);
		kid_main(flags, ctl[0], rep[1], body, arg);
	}
	close(ctl[0]);
	close(rep[1]);
	struct kid k = { pid, ctl[1], rep[0] };
	char err[512] = "";
	if (flags & CLONE_NEWUSER)
		cr_assert_eq(userns_write_maps(pid, TEST_UID, TEST_GID, err, sizeof err), 0, "%s", err);
	cr_assert_eq(write(k.ctl_w, "g", 1), 1, "release: %s", strerror(errno));
	return k;
}

static struct kid kid_start(uint64_t flags, kid_body body, void *arg)
{
	return kid_start_in(flags, -1, body, arg);
}

static struct report kid_report(const struct kid *k)
{
	struct report r;
	ssize_t n;
	do
		n = read(k->report_r, &r, sizeof r);
	while (n < 0 && errno == EINTR);
	cr_assert_eq(n, (ssize_t)sizeof r, "the child died before reporting");
	return r;
}

static void kid_finish(struct kid *k)
{
	int status;
	close(k->ctl_w);
	close(k->report_r);
	cr_assert_eq(waitpid(k->pid, &status, 0), k->pid, "waitpid: %s", strerror(errno));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
}

static long errno_of(int fd)
{
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static long write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return errno;
	long rc = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : errno;
	close(fd);
	return rc;
}

static long read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	ssize_t n = read(fd, buf, len - 1);
	long rc = n < 0 ? errno : 0;
	buf[n < 0 ? 0 : n] = '\0';
	close(fd);
	return rc;
}

/* Temporary host files a test hands to its child. */
struct fixture {
	char ro[64];        /* a directory the child may read: hello, other */
	char rw[64];        /* a directory owned by the child's host uid */
	char conf[96];      /* ro/conf.txt, mode 0666 */
	char hello[96];     /* ro/hello, mode 0666 */
	char rw_other[96];  /* rw/other, a file the child may read by DAC */
};

static void fixture_make(struct fixture *fx)
{
	snprintf(fx->ro, sizeof fx->ro, "/tmp/mpbs-iso-ro-XXXXXX");
	snprintf(fx->rw, sizeof fx->rw, "/tmp/mpbs-iso-rw-XXXXXX");
	cr_assert_not_null(mkdtemp(fx->ro), "mkdtemp: %s", strerror(errno));
	cr_assert_not_null(mkdtemp(fx->rw), "mkdtemp: %s", strerror(errno));
	cr_assert_eq(chmod(fx->ro, 0755), 0);
	cr_assert_eq(chown(fx->rw, TEST_UID, TEST_GID), 0, "chown: %s", strerror(errno));
	snprintf(fx->hello, sizeof fx->hello, "%s/hello", fx->ro);
	snprintf(fx->conf, sizeof fx->conf, "%s/conf.txt", fx->ro);
	snprintf(fx->rw_other, sizeof fx->rw_other, "%s/other", fx->rw);
	cr_assert_eq(write_file(fx->hello, "hello", 0666), 0);
	cr_assert_eq(chmod(fx->hello, 0666), 0);
	cr_assert_eq(write_file(fx->conf, "conf", 0666), 0);
	cr_assert_eq(chmod(fx->conf, 0666), 0); /* so only the mount can refuse a write */
	cr_assert_eq(write_file(fx->rw_other, "other", 0644), 0);
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno == EISDIR)
			unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
	rmdir(dir);
}

static void fixture_remove(const struct fixture *fx)
{
	remove_tree(fx->ro);
	remove_tree(fx->rw);
}

/* ---- user namespace ------------------------------------------------------ */

static void body_ids(struct report *r, void *arg)
{
	r->v[0] = getuid();
	r->v[1] = getgid();
	r->v[2] = geteuid();
}

static void read_map(pid_t pid, const char *file, unsigned v[3])
{
	char path[64], text[128];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	cr_assert_eq(read_text(path, text, sizeof text), 0, "read %s", path);
	cr_assert_eq(sscanf(text, "%u %u %u", &v[0], &v[1], &v[2]), 3, "%s: \"%s\"", path, text);
	cr_assert_null(strchr(strchr(text, '\n') + 1, '\n'), "%s has more than one line: %s", path, text);
}

/* The first (real) id of a "Uid:" / "Gid:" line, as the host sees it. */
static unsigned host_id(pid_t pid, const char *key)
{
	char path[64], line[256];
	unsigned id = ~0u;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, strlen(key)) == 0)
			sscanf(line + strlen(key), "%u", &id);
	fclose(f);
	return id;
}

Test(iso_mech, userns_maps_make_root_inside_the_host_id_outside)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER, body_ids, NULL);
	struct report r = kid_report(&k);
	cr_assert_eq(r.v[0], 0, "uid inside %ld", r.v[0]);
	cr_assert_eq(r.v[1], 0, "gid inside %ld", r.v[1]);
	cr_assert_eq(r.v[2], 0, "euid inside %ld", r.v[2]);
	unsigned m[3];
	read_map(k.pid, "uid_map", m);
	cr_assert(m[0] == 0 && m[1] == TEST_UID && m[2] == 1, "uid_map %u %u %u", m[0], m[1], m[2]);
	read_map(k.pid, "gid_map", m);
	cr_assert(m[0] == 0 && m[1] == TEST_GID && m[2] == 1, "gid_map %u %u %u", m[0], m[1], m[2]);
	char text[32], path[64];
	snprintf(path, sizeof path, "/proc/%d/setgroups", (int)k.pid);
	cr_assert_eq(read_text(path, text, sizeof text), 0);
	cr_assert_str_eq(text, "deny\n");
	cr_assert_eq(host_id(k.pid, "Uid:"), TEST_UID);
	cr_assert_eq(host_id(k.pid, "Gid:"), TEST_GID);
	kid_finish(&k);
}

Test(iso_mech, userns_maps_refused_twice_with_the_step_named)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER, body_ids, NULL);
	(void)kid_report(&k);
	char err[512] = "", want[128];
	cr_assert_eq(userns_write_maps(k.pid, TEST_UID, TEST_GID, err, sizeof err), -1);
	snprintf(want, sizeof want, "setgroups: write /proc/%d/setgroups: %s", (int)k.pid, strerror(EPERM));
	cr_assert_str_eq(err, want);
	kid_finish(&k);
}

Test(iso_mech, userns_available_to_root_here)
{
	need_root();
	char err[512] = "";
	cr_assert_eq(userns_check_available(err, sizeof err), 0, "%s", err);
}

/* Inside a user namespace its root may lower the namespace count of that
 * namespace: from there on the probe must fail and name the sysctl. */
static void body_userns_forbidden(struct report *r, void *arg)
{
	r->v[0] = write_file("/proc/sys/user/max_user_namespaces", "0", 0644);
	r->rc = userns_check_available(r->err, sizeof r->err);
}

Test(iso_mech, userns_check_names_the_sysctl_when_forbidden)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER, body_userns_forbidden, NULL);
	struct report r = kid_report(&k);
	kid_finish(&k);
	cr_assert_eq(r.v[0], 0, "lower max_user_namespaces: %s", strerror((int)r.v[0]));
	cr_assert_eq(r.rc, -1);
	cr_assert_not_null(strstr(r.err, "unshare(CLONE_NEWUSER)"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "sysctl -w user.max_user_namespaces="), "%s", r.err);
}

/* ---- network namespace --------------------------------------------------- */

static void body_lo_up(struct report *r, void *arg)
{
	r->rc = netns_lo_up(r->err, sizeof r->err);
}

static void body_nothing(struct report *r, void *arg)
{
	r->rc = 0;
}

static void ns_link(const char *path, char *buf, size_t len)
{
	ssize_t n = readlink(path, buf, len - 1);
	cr_assert(n > 0, "readlink %s: %s", path, strerror(errno));
	buf[n] = '\0';
}

static size_t links_of(pid_t pid, struct netns_link *links, size_t max)
{
	char err[512] = "";
	size_t n = 99;
	cr_assert_eq(netns_links_of_pid(pid, links, max, &n, err, sizeof err), 0, "%s", err);
	return n;
}

Test(iso_mech, netns_lo_up_gives_exactly_lo_up)
{
	need_root();
	char before[64], after[64];
	ns_link("/proc/self/ns/net", before, sizeof before);
	struct kid k = kid_start(CLONE_NEWUSER | CLONE_NEWNET, body_lo_up, NULL);
	struct report r = kid_report(&k);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	struct netns_link links[8];
	size_t n = links_of(k.pid, links, 8);
	kid_finish(&k);
	cr_assert_eq(n, 1, "%zu links", n);
	cr_assert_str_eq(links[0].name, "lo");
	cr_assert(links[0].flags & IFF_UP, "lo flags %#x", links[0].flags);
	ns_link("/proc/self/ns/net", after, sizeof after);
	cr_assert_str_eq(before, after, "the caller's netns changed");
}

Test(iso_mech, netns_without_lo_up_has_lo_down)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER | CLONE_NEWNET, body_nothing, NULL);
	(void)kid_report(&k);
	struct netns_link links[8];
	size_t n = links_of(k.pid, links, 8);
	kid_finish(&k);
	cr_assert_eq(n, 1, "%zu links", n);
	cr_assert_str_eq(links[0].name, "lo");
	cr_assert_eq(links[0].flags & IFF_UP, 0, "lo flags %#x", links[0].flags);
}

Test(iso_mech, netns_links_fail_cleanly)
{
	need_root();
	struct netns_link links[1];
	size_t n;
	char err[512] = "";
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	cr_assert_eq(waitpid(gone, NULL, 0), gone);
	cr_assert_eq(netns_links_of_pid(gone, links, 1, &n, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "/ns/net"), "%s", err);
	/* The host has at least lo: asking for none must refuse, not overflow. */
	cr_assert_eq(netns_links_of_pid(getpid(), links, 0, &n, err, sizeof err), -1);
	cr_assert_not_null(strstr(err, "more than"), "%s", err);
}

/* ---- mounts ---------------------------------------------------------------- */

enum mount_probe {
	MP_DATA_CREATE, MP_DATA_READ, MP_ROOT_CREATE, MP_ROOT_MKDIR, MP_STATE_WRITE, MP_ETC_PASSWD,
	MP_CONF_READ, MP_CONF_WRITE, MP_PROC_PIDS, MP_PID, MP_DEV_NULL, MP_ROOT_RO, MP_HOST_PATH,
};

static long count_pid_dirs(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	long n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strspn(e->d_name, "0123456789") == strlen(e->d_name);
	closedir(d);
	return n;
}

static void probe_mounted_root(struct report *r, const struct fixture *fx)
{
	char buf[64];
	struct statvfs st;
	r->v[MP_DATA_CREATE] = errno_of(open("/data/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	r->v[MP_DATA_READ] = read_text("/data/hello", buf, sizeof buf) ?: strcmp(buf, "hello") != 0;
	r->v[MP_ROOT_CREATE] = errno_of(open("/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	r->v[MP_ROOT_MKDIR] = mkdir("/newdir", 0755) < 0 ? errno : 0;
	r->v[MP_STATE_WRITE] = write_file("/state/written", "role", 0644);
	r->v[MP_ETC_PASSWD] = errno_of(open("/etc/passwd", O_RDONLY | O_CLOEXEC));
	r->v[MP_CONF_READ] = read_text("/etc/app/conf", buf, sizeof buf) ?: strcmp(buf, "conf") != 0;
	r->v[MP_CONF_WRITE] = errno_of(open("/etc/app/conf", O_WRONLY | O_CLOEXEC));
	r->v[MP_PROC_PIDS] = count_pid_dirs("/proc");
	r->v[MP_PID] = getpid();
	r->v[MP_DEV_NULL] = write_file("/dev/null", "discard", 0644);
	r->v[MP_ROOT_RO] = statvfs("/", &st) == 0 && (st.f_flag & ST_RDONLY);
	r->v[MP_HOST_PATH] = errno_of(open(fx->hello, O_RDONLY | O_CLOEXEC));
}

static void body_mounts(struct report *r, void *arg)
{
	const struct fixture *fx = arg;
	const struct mount_bind binds[] = {
		{ fx->ro, "/data", false },
		{ fx->rw, "/state", true },
		{ fx->conf, "/etc/app/conf", false },
	};
	const struct mount_plan plan = { binds, 3, true, true };
	r->rc = mounts_enter_root(&plan, NULL, r->err, sizeof r->err);
	if (r->rc == 0)
		probe_mounted_root(r, fx);
}

static size_t count_lines(const char *path)
{
	char buf[4096];
	size_t lines = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	while ((n = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

static void assert_mount_probes(const struct report *r)
{
	cr_assert_eq(r->rc, 0, "%s", r->err);
	cr_assert_eq(r->v[MP_DATA_CREATE], EROFS, "create in a read-only bind: %s", strerror((int)r->v[MP_DATA_CREATE]));
	cr_assert_eq(r->v[MP_DATA_READ], 0, "read through the read-only bind");
	cr_assert_eq(r->v[MP_ROOT_CREATE], EROFS, "create in /: %s", strerror((int)r->v[MP_ROOT_CREATE]));
	cr_assert_eq(r->v[MP_ROOT_MKDIR], EROFS, "mkdir in /: %s", strerror((int)r->v[MP_ROOT_MKDIR]));
	cr_assert_eq(r->v[MP_STATE_WRITE], 0, "write in the writable bind: %s", strerror((int)r->v[MP_STATE_WRITE]));
	cr_assert_eq(r->v[MP_ETC_PASSWD], ENOENT, "/etc/passwd: %s", strerror((int)r->v[MP_ETC_PASSWD]));
	cr_assert_eq(r->v[MP_CONF_READ], 0, "read the file bind");
	cr_assert_eq(r->v[MP_CONF_WRITE], EROFS, "write the file bind: %s", strerror((int)r->v[MP_CONF_WRITE]));
	cr_assert_eq(r->v[MP_PROC_PIDS], 1, "/proc shows %ld processes", r->v[MP_PROC_PIDS]);
	cr_assert_eq(r->v[MP_PID], 1, "pid inside %ld", r->v[MP_PID]);
	cr_assert_eq(r->v[MP_DEV_NULL], 0, "write /dev/null: %s", strerror((int)r->v[MP_DEV_NULL]));
	cr_assert_eq(r->v[MP_ROOT_RO], 1, "/ is not read-only");
	cr_assert_eq(r->v[MP_HOST_PATH], ENOENT, "host path: %s", strerror((int)r->v[MP_HOST_PATH]));
}

Test(iso_mech, mounts_minimal_root_keeps_every_promise)
{
	need_root();
	struct fixture fx;
	fixture_make(&fx);
	size_t host_mounts = count_lines("/proc/self/mountinfo");
	struct kid k = kid_start(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID, body_mounts, &fx);
	struct report r = kid_report(&k);
	/* While the child sits in its new root, the host sees no new mount. */
	size_t host_mounts_during = count_lines("/proc/self/mountinfo");
	kid_finish(&k);
	char path[128], written[16] = "";
	struct stat st = { 0 };
	snprintf(path, sizeof path, "%s/written", fx.rw);
	long read_back = read_text(path, written, sizeof written);
	int stat_rc = stat(path, &st);
	snprintf(path, sizeof path, "%s/new", fx.ro);
	int leaked = access(path, F_OK) == 0;
	fixture_remove(&fx);
	assert_mount_probes(&r);
	cr_assert_eq(host_mounts_during, host_mounts, "the host's mount table changed");
	cr_assert_eq(read_back, 0, "the write did not reach the host");
	cr_assert_str_eq(written, "role");
	cr_assert_eq(stat_rc, 0);
	cr_assert_eq(st.st_uid, TEST_UID, "written as host uid %u", (unsigned)st.st_uid);
	cr_assert_eq(leaked, 0, "a file appeared in the read-only source");
}

static void body_empty_root(struct report *r, void *arg)
{
	const struct mount_plan plan = { NULL, 0, false, false };
	r->rc = mounts_enter_root(&plan, NULL, r->err, sizeof r->err);
	if (r->rc != 0)
		return;
	DIR *d = opendir("/");
	r->v[0] = -1;
	if (d) {
		r->v[0] = 0;
		for (struct dirent *e; (e = readdir(d));)
			r->v[0] += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
		closedir(d);
	}
	r->v[1] = errno_of(open("/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	r->v[2] = errno_of(open("/proc/self/status", O_RDONLY | O_CLOEXEC));
}

Test(iso_mech, mounts_no_binds_gives_an_empty_readonly_root)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER | CLONE_NEWNS, body_empty_root, NULL);
	struct report r = kid_report(&k);
	kid_finish(&k);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_eq(r.v[0], 0, "%ld entries in /", r.v[0]);
	cr_assert_eq(r.v[1], EROFS, "create in /: %s", strerror((int)r.v[1]));
	cr_assert_eq(r.v[2], ENOENT, "/proc: %s", strerror((int)r.v[2]));
}

/* A submount inside a read-only source must come out read-only too. */
static void body_submount(struct report *r, void *arg)
{
	const struct fixture *fx = arg;
	char sub[128];
	snprintf(sub, sizeof sub, "%s/sub", fx->rw);
	if (mkdir(sub, 0755) < 0 || mount("tmpfs", sub, "tmpfs", 0, "size=64k") < 0) {
		r->rc = -2;
		snprintf(r->err, sizeof r->err, "set up a submount: %s", strerror(errno));
		return;
	}
	const struct mount_bind binds[] = { { fx->rw, "/data", false } };
	const struct mount_plan plan = { binds, 1, false, false };
	r->rc = mounts_enter_root(&plan, NULL, r->err, sizeof r->err);
	if (r->rc == 0)
		r->v[0] = write_file("/data/sub/x", "x", 0644);
}

Test(iso_mech, mounts_readonly_reaches_submounts)
{
	need_root();
	struct fixture fx;
	fixture_make(&fx);
	struct kid k = kid_start(CLONE_NEWUSER | CLONE_NEWNS, body_submount, &fx);
	struct report r = kid_report(&k);
	kid_finish(&k);
	fixture_remove(&fx);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_eq(r.v[0], EROFS, "write in the submount: %s", strerror((int)r.v[0]));
}

static void body_bad_plans(struct report *r, void *arg)
{
	const struct mount_bind missing[] = { { "/nonexistent-mpbs-src", "/x", false } };
	const struct mount_bind dotdot[] = { { "/etc", "/a/../b", false } };
	const struct mount_bind relative[] = { { "/etc", "etc", false } };
	const struct mount_plan p1 = { missing, 1, false, false };
	const struct mount_plan p2 = { dotdot, 1, false, false };
	const struct mount_plan p3 = { relative, 1, false, false };
	char scratch[512];
	r->v[0] = mounts_enter_root(&p1, NULL, r->err, sizeof r->err);
	r->v[1] = mounts_enter_root(&p2, NULL, r->text, sizeof r->text);
	r->v[2] = mounts_enter_root(&p3, NULL, scratch, sizeof scratch);
	r->v[3] = access("/etc/passwd", F_OK) == 0; /* still in the old root */
}

Test(iso_mech, mounts_refuse_bad_plans_before_touching_anything)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER | CLONE_NEWNS, body_bad_plans, NULL);
	struct report r = kid_report(&k);
	kid_finish(&k);
	cr_assert_eq(r.v[0], -1);
	cr_assert_not_null(strstr(r.err, "/nonexistent-mpbs-src"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, strerror(ENOENT)), "%s", r.err);
	cr_assert_eq(r.v[1], -1);
	cr_assert_not_null(strstr(r.text, "/a/../b"), "%s", r.text);
	cr_assert_eq(r.v[2], -1);
	cr_assert_eq(r.v[3], 1, "a failed plan still changed the root");
}

/* ---- capabilities ---------------------------------------------------------- */

#define WANT_SECUREBITS                                                                    \
	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |                   \
	 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | \
	 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

static void body_caps(struct report *r, void *arg)
{
	r->v[0] = sethostname("before", 6) < 0 ? errno : 0;
	r->rc = caps_drop_all(r->err, sizeof r->err);
	r->v[1] = sethostname("after", 5) < 0 ? errno : 0;
	r->v[2] = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ? errno : 0;
	r->v[3] = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	r->v[4] = prctl(PR_SET_SECUREBITS, 0, 0, 0, 0) < 0 ? errno : 0;
	r->v[5] = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN, 0, 0) < 0 ? errno : 0;
}

Test(iso_mech, caps_drop_all_leaves_nothing)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER | CLONE_NEWUTS | CLONE_NEWNS, body_caps, NULL);
	struct report r = kid_report(&k);
	uint64_t m[5];
	cr_assert_eq(caps_read_status(k.pid, m), 0, "read status: %s", strerror(errno));
	kid_finish(&k);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	for (int i = CAPS_INH; i <= CAPS_AMB; i++)
		cr_assert_eq(m[i], 0, "mask %d is %#llx", i, (unsigned long long)m[i]);
	cr_assert_eq(r.v[0], 0, "sethostname before the drop: %s", strerror((int)r.v[0]));
	cr_assert_eq(r.v[1], EPERM, "sethostname after the drop: %s", strerror((int)r.v[1]));
	cr_assert_eq(r.v[2], EPERM, "mount after the drop: %s", strerror((int)r.v[2]));
	cr_assert_eq(r.v[3], WANT_SECUREBITS, "securebits %#lx", r.v[3]);
	cr_assert_eq(r.v[4], EPERM, "securebits could be cleared");
	cr_assert_eq(r.v[5], EPERM, "an ambient cap could be raised");
}

Test(iso_mech, caps_read_status_sees_a_privileged_child)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER, body_nothing, NULL);
	(void)kid_report(&k);
	uint64_t m[5];
	cr_assert_eq(caps_read_status(k.pid, m), 0, "read status: %s", strerror(errno));
	kid_finish(&k);
	uint64_t sys_admin = 1ull << CAP_SYS_ADMIN;
	cr_assert(m[CAPS_EFF] & sys_admin, "CapEff %#llx", (unsigned long long)m[CAPS_EFF]);
	cr_assert(m[CAPS_BND] & sys_admin, "CapBnd %#llx", (unsigned long long)m[CAPS_BND]);
	cr_assert_eq(caps_read_status(k.pid, m), -1, "a reaped pid still read");
}

/* ---- Landlock -------------------------------------------------------------- */

static long exec_true(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *const argv[] = { "true", NULL };
		execv("/bin/true", argv);
		_exit(100 + errno);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static long tcp_connect_errno(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	long rc = connect(s, (struct sockaddr *)&sin, sizeof sin) < 0 ? errno : 0;
	close(s);
	return rc;
}

static void body_landlock_dir(struct report *r, void *arg)
{
	const struct fixture *fx = arg;
	int abi = -1;
	const struct landlock_rule rules[] = { { .path = fx->ro, .access = LL_READ } };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r->rc = -2;
		return;
	}
	r->rc = landlock_restrict(rules, 1, &abi, r->err, sizeof r->err);
	r->v[0] = abi;
	r->v[1] = errno_of(open(fx->hello, O_RDONLY | O_CLOEXEC));
	r->v[2] = errno_of(open(fx->rw_other, O_RDONLY | O_CLOEXEC));
	r->v[3] = errno_of(open(fx->hello, O_WRONLY | O_CLOEXEC));
	r->v[4] = tcp_connect_errno();
	r->v[5] = exec_true();
}

static void skip_without_landlock(const struct report *r)
{
	if (r->rc == 1)
		cr_skip_test("no Landlock in this kernel: %s", r->err);
}

Test(iso_mech, landlock_read_one_dir_denies_the_rest)
{
	need_root();
	struct fixture fx;
	fixture_make(&fx);
	struct kid k = kid_start(CLONE_NEWUSER | CLONE_NEWNET, body_landlock_dir, &fx);
	struct report r = kid_report(&k);
	kid_finish(&k);
	fixture_remove(&fx);
	skip_without_landlock(&r);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_geq(r.v[0], 1, "ABI %ld", r.v[0]);
	cr_assert_eq(r.v[1], 0, "read inside the rule: %s", strerror((int)r.v[1]));
	cr_assert_eq(r.v[2], EACCES, "read outside the rule: %s", strerror((int)r.v[2]));
	cr_assert_eq(r.v[3], EACCES, "write with a read rule: %s", strerror((int)r.v[3]));
	/* Without Landlock a fresh netns would answer ENETUNREACH instead. */
	if (r.v[0] >= 4)
		cr_assert_eq(r.v[4], EACCES, "TCP connect: %s", strerror((int)r.v[4]));
	cr_assert_eq(r.v[5], 100 + EACCES, "exec outside the rules: %ld", r.v[5]);
}

static void body_landlock_exec(struct report *r, void *arg)
{
	const struct landlock_rule read_only[] = { { .path = "/", .access = LL_READ } };
	const struct landlock_rule read_exec[] = { { .path = "/", .access = LL_READ | LL_EXEC } };
	const struct landlock_rule *rules = arg ? read_exec : read_only;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r->rc = -2;
		return;
	}
	r->rc = landlock_restrict(rules, 1, NULL, r->err, sizeof r->err);
	r->v[0] = exec_true();
	r->v[1] = errno_of(open("/etc/hostname", O_RDONLY | O_CLOEXEC));
}

Test(iso_mech, landlock_exec_only_when_granted)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER, body_landlock_exec, NULL);
	struct report denied = kid_report(&k);
	kid_finish(&k);
	skip_without_landlock(&denied);
	k = kid_start(CLONE_NEWUSER, body_landlock_exec, "exec");
	struct report granted = kid_report(&k);
	kid_finish(&k);
	cr_assert_eq(denied.rc, 0, "%s", denied.err);
	cr_assert_eq(granted.rc, 0, "%s", granted.err);
	cr_assert_eq(denied.v[0], 100 + EACCES, "exec with read only: %ld", denied.v[0]);
	cr_assert_eq(denied.v[1], 0, "read with read only: %s", strerror((int)denied.v[1]));
	cr_assert_eq(granted.v[0], 0, "exec with read+exec: %ld", granted.v[0]);
}

static void body_landlock_file(struct report *r, void *arg)
{
	const struct fixture *fx = arg;
	const struct landlock_rule none[1] = { { .path = NULL, .access = 0 } };
	const struct landlock_rule file[] = { { .path = fx->hello, .access = LL_READ | LL_WRITE } };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r->rc = -2;
		return;
	}
	r->v[0] = landlock_restrict(none, 1, NULL, r->text, sizeof r->text);
	r->rc = landlock_restrict(file, 1, NULL, r->err, sizeof r->err);
	r->v[1] = errno_of(open(fx->hello, O_RDWR | O_CLOEXEC));
	r->v[2] = errno_of(open(fx->conf, O_RDONLY | O_CLOEXEC));
}

Test(iso_mech, landlock_file_rule_and_bad_rule)
{
	need_root();
	struct fixture fx;
	fixture_make(&fx);
	struct kid k = kid_start(CLONE_NEWUSER, body_landlock_file, &fx);
	struct report r = kid_report(&k);
	kid_finish(&k);
	fixture_remove(&fx);
	skip_without_landlock(&r);
	cr_assert_eq(r.v[0], -1, "a rule without path/access was accepted");
	cr_assert_not_null(strstr(r.text, "landlock: rule"), "%s", r.text);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_eq(r.v[1], 0, "read+write the granted file: %s", strerror((int)r.v[1]));
	cr_assert_eq(r.v[2], EACCES, "a sibling file: %s", strerror((int)r.v[2]));
}

static void body_landlock_nothing(struct report *r, void *arg)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r->rc = -2;
		return;
	}
	r->rc = landlock_restrict(NULL, 0, NULL, r->err, sizeof r->err);
	r->v[0] = errno_of(open("/etc/hostname", O_RDONLY | O_CLOEXEC));
	r->v[1] = errno_of(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

Test(iso_mech, landlock_no_rules_means_no_files)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER, body_landlock_nothing, NULL);
	struct report r = kid_report(&k);
	kid_finish(&k);
	skip_without_landlock(&r);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_eq(r.v[0], EACCES, "read a file: %s", strerror((int)r.v[0]));
	cr_assert_eq(r.v[1], EACCES, "list /: %s", strerror((int)r.v[1]));
}

/* ---- rlimits ------------------------------------------------------------- */

#define TEST_AS (1ull << 36)

static void body_limits(struct report *r, void *arg)
{
	const struct topo_limits l = { .nofile = 64, .nproc = 4000, .as_bytes = TEST_AS };
	struct rlimit nofile, core, nproc, as;
	r->rc = limits_apply_rlimits(&l, r->err, sizeof r->err);
	getrlimit(RLIMIT_NOFILE, &nofile);
	getrlimit(RLIMIT_CORE, &core);
	getrlimit(RLIMIT_NPROC, &nproc);
	getrlimit(RLIMIT_AS, &as);
	r->v[0] = (long)nofile.rlim_cur;
	r->v[1] = (long)nofile.rlim_max;
	r->v[2] = (long)core.rlim_cur;
	r->v[3] = (long)core.rlim_max;
	r->v[4] = (long)nproc.rlim_max;
	r->v[5] = as.rlim_cur == TEST_AS && as.rlim_max == TEST_AS;
	r->v[6] = caps_drop_all(r->text, sizeof r->text);
	const struct rlimit up = { 64, 128 };
	r->v[7] = setrlimit(RLIMIT_NOFILE, &up) < 0 ? errno : 0;
}

Test(iso_mech, limits_applied_and_not_raisable)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER, body_limits, NULL);
	struct report r = kid_report(&k);
	kid_finish(&k);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(r.v[0] == 64 && r.v[1] == 64, "RLIMIT_NOFILE %ld/%ld", r.v[0], r.v[1]);
	cr_assert(r.v[2] == 0 && r.v[3] == 0, "RLIMIT_CORE %ld/%ld", r.v[2], r.v[3]);
	cr_assert_eq(r.v[4], 4000, "RLIMIT_NPROC %ld", r.v[4]);
	cr_assert_eq(r.v[5], 1, "RLIMIT_AS not applied");
	cr_assert_eq(r.v[6], 0, "%s", r.text);
	cr_assert_eq(r.v[7], EPERM, "raising the hard limit: %s", strerror((int)r.v[7]));
}

static void body_limits_too_high(struct report *r, void *arg)
{
	const struct rlimit cap = { 100, 100 };
	const struct topo_limits l = { .nofile = 200 };
	r->v[0] = setrlimit(RLIMIT_NOFILE, &cap) < 0 ? errno : 0;
	r->rc = limits_apply_rlimits(&l, r->err, sizeof r->err);
}

Test(iso_mech, limits_above_the_hard_limit_name_it)
{
	need_root();
	struct kid k = kid_start(CLONE_NEWUSER, body_limits_too_high, NULL);
	struct report r = kid_report(&k);
	kid_finish(&k);
	cr_assert_eq(r.v[0], 0);
	cr_assert_eq(r.rc, -1);
	cr_assert_not_null(strstr(r.err, "RLIMIT_NOFILE=200"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "hard limit 100"), "%s", r.err);
}

/* ---- cgroup v2 ------------------------------------------------------------ */

static void fd_target(int fd, char *buf, size_t len)
{
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, len - 1);
	cr_assert(n > 0, "readlink %s: %s", link, strerror(errno));
	buf[n] = '\0';
}

static void read_at(int dirfd, const char *file, char *buf, size_t len)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s: %s", file, strerror(errno));
	ssize_t n = read(fd, buf, len - 1);
	cr_assert(n > 0, "read %s", file);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	close(fd);
}

/* The cgroup2 line of /proc/PID/cgroup ("0::/path"). */
static void cgroup2_of(pid_t pid, char *buf, size_t len)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	cr_assert_not_null(f);
	buf[0] = '\0';
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "0::", 3) == 0)
			snprintf(buf, len, "%.*s", (int)strcspn(line + 3, "\n"), line + 3);
	fclose(f);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && strcmp(s + a - b, tail) == 0;
}

/* The role's group: it holds a child placed with CLONE_INTO_CGROUP, and is
 * gone after cgroup_role_remove. */
static void check_role_group(const char *role, int fd)
{
	char dir[PATH_MAX], where[512], tail[128];
	fd_target(fd, dir, sizeof dir);
	struct kid k = kid_start_in(0, fd, body_nothing, NULL);
	(void)kid_report(&k);
	cgroup2_of(k.pid, where, sizeof where);
	kid_finish(&k);
	snprintf(tail, sizeof tail, "/mpbs-run.%d/%s", (int)getpid(), role);
	cr_assert(ends_with(where, tail), "child in \"%s\", not in .../%s", where, tail);
	close(fd);
	cr_assert_eq(cgroup_role_remove(role), 0, "remove: %s", strerror(errno));
	cr_assert_eq(access(dir, F_OK), -1, "%s is still there", dir);
	*strrchr(dir, '/') = '\0';
	cr_assert_eq(access(dir, F_OK), -1, "%s is still there", dir);
}

/* Where this test's mpbs-run.<pid> would be, if a cgroup2 is mounted. */
static bool our_group_dir(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024], point[512];
	bool found = false;
	cr_assert_not_null(f);
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, " - cgroup2 ") && sscanf(line, "%*d %*d %*s %*s %511s", point) == 1;
	fclose(f);
	if (found)
		snprintf(buf, len, "%s/mpbs-run.%d", point, (int)getpid());
	return found;
}

Test(iso_mech, cgroup_limits_or_a_clear_unavailable)
{
	need_root();
	const struct topo_limits l = { .memory_max = 64ull << 20, .pids_max = 32 };
	char err[512] = "", dir[PATH_MAX], text[64];
	int fd = -2;
	int rc = cgroup_role_create("iso-limits", &l, &fd, err, sizeof err);
	cr_assert(rc == 0 || rc == 1, "rc %d: %s", rc, err);
	if (rc == 1) {
		cr_assert_eq(fd, -1);
		cr_assert_not_null(strstr(err, "cgroup limits are unavailable"), "%s", err);
		if (our_group_dir(dir, sizeof dir))
			cr_assert_eq(access(dir, F_OK), -1, "%s was left behind", dir);
		return;
	}
	read_at(fd, "pids.max", text, sizeof text);
	cr_assert_str_eq(text, "32");
	read_at(fd, "memory.max", text, sizeof text);
	cr_assert_str_eq(text, "67108864");
	check_role_group("iso-limits", fd);
}

Test(iso_mech, cgroup_without_limits_places_the_role)
{
	need_root();
	char err[512] = "";
	int fd = -2;
	int rc = cgroup_role_create("iso-plain", NULL, &fd, err, sizeof err);
	if (rc == 1)
		cr_skip_test("no writable cgroup2 here: %s", err);
	cr_assert_eq(rc, 0, "%s", err);
	check_role_group("iso-plain", fd);
}

Test(iso_mech, cgroup_rejects_a_path_as_role_name)
{
	need_root();
	char err[512] = "";
	int fd = -2;
	cr_assert_eq(cgroup_role_create("../escape", NULL, &fd, err, sizeof err), -1);
	cr_assert_eq(fd, -1);
	cr_assert_not_null(strstr(err, "bad role name"), "%s", err);
	cr_assert_eq(cgroup_role_remove("a/b"), -1);
	cr_assert_eq(errno, EINVAL);
}
