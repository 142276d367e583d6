/* SPDX-License-Identifier: Apache-2.0 */
/* User namespace maps and the "are user namespaces allowed here" probe. */
#define _GNU_SOURCE
#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYSCTL_MAX_USERNS "/proc/sys/user/max_user_namespaces"
#define SYSCTL_DEBIAN_CLONE "/proc/sys/kernel/unprivileged_userns_clone"
#define SYSCTL_APPARMOR "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"

/* The kernel parses a map from one write(2) only, so the text goes whole. */
static int write_proc_file(pid_t pid, const char *step, const char *file, const char *text,
			   char *err, size_t errlen)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: open %s: %s", step, path, strerror(errno));
		return -1;
	}
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int saved = errno;
	if (close(fd) < 0 && n == (ssize_t)len) {
		n = -1;
		saved = errno;
	}
	if (n != (ssize_t)len) {
		snprintf(err, errlen, "%s: write %s: %s", step, path,
			 n < 0 ? strerror(saved) : "short write");
		return -1;
	}
	return 0;
}

int userns_write_maps(pid_t child, uid_t host_uid, gid_t host_gid, char *err, size_t errlen)
{
	char map[64];
	if (write_proc_file(child, "setgroups", "setgroups", "deny", err, errlen) < 0)
		return -1;
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)host_gid);
	if (write_proc_file(child, "gid_map", "gid_map", map, err, errlen) < 0)
		return -1;
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)host_uid);
	return write_proc_file(child, "uid_map", "uid_map", map, err, errlen);
}

/* What the probe child saw: the step that failed (0 = none) and errno. */
enum probe_step { PROBE_OK = 0, PROBE_UNSHARE = 1, PROBE_MOUNT = 2 };
struct probe_result {
	int step;
	int errnum;
};

/* Child side: only async-signal-safe calls, then _exit. A mount that needs
 * CAP_SYS_ADMIN inside the new namespace catches AppArmor's restriction,
 * which lets the unshare succeed and then denies every capability. */
static void probe_child(int wfd)
{
	struct probe_result r = { PROBE_OK, 0 };
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		r = (struct probe_result){ PROBE_UNSHARE, errno };
	else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		r = (struct probe_result){ PROBE_MOUNT, errno };
	ssize_t n = write(wfd, &r, sizeof r);
	_exit(n == (ssize_t)sizeof r ? 0 : 1);
}

static int run_probe(struct probe_result *r, char *err, size_t errlen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "userns: pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "userns: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		probe_child(p[1]);
	}
	close(p[1]);
	ssize_t n;
	do
		n = read(p[0], r, sizeof *r);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof *r) {
		snprintf(err, errlen, "userns: probe child died before reporting");
		return -1;
	}
	return 0;
}

/* First line of a sysctl file, or "" when the file does not exist. */
static const char *read_sysctl(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f)
		return buf;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static void explain_unshare(int errnum, char *err, size_t errlen)
{
	char val[32];
	const char *what = strerror(errnum);
	if (errnum == ENOSPC)
		snprintf(err, errlen,
			 "userns: unshare(CLONE_NEWUSER): %s: user namespaces are disabled or used up "
			 "(user.max_user_namespaces = %s); allow them with: sysctl -w user.max_user_namespaces=15000",
			 what, read_sysctl(SYSCTL_MAX_USERNS, val, sizeof val));
	else if (errnum == EPERM && strcmp(read_sysctl(SYSCTL_DEBIAN_CLONE, val, sizeof val), "0") == 0)
		snprintf(err, errlen,
			 "userns: unshare(CLONE_NEWUSER): %s: kernel.unprivileged_userns_clone = 0; "
			 "allow them with: sysctl -w kernel.unprivileged_userns_clone=1", what);
	else if (errnum == EPERM)
		snprintf(err, errlen,
			 "userns: unshare(CLONE_NEWUSER): %s: user namespaces are forbidden here "
			 "(a container's seccomp profile, a chroot, or a missing CAP_SYS_ADMIN); "
			 "run mpbs-run as root on the host", what);
	else if (errnum == EINVAL)
		snprintf(err, errlen,
			 "userns: unshare(CLONE_NEWUSER): %s: the kernel has no user namespaces (CONFIG_USER_NS)",
			 what);
	else
		snprintf(err, errlen, "userns: unshare(CLONE_NEWUSER): %s", what);
}

static void explain_mount(int errnum, char *err, size_t errlen)
{
	char val[32];
	if (strcmp(read_sysctl(SYSCTL_APPARMOR, val, sizeof val), "1") == 0)
		snprintf(err, errlen,
			 "userns: mount inside a new user namespace: %s: AppArmor denies capabilities in "
			 "user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1); allow them with: "
			 "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile "
			 "for mpbs-run with the 'userns,' rule",
			 strerror(errnum));
	else
		snprintf(err, errlen,
			 "userns: mount inside a new user namespace: %s: capabilities inside user "
			 "namespaces are denied (a security module's policy?)",
			 strerror(errnum));
}

int userns_check_available(char *err, size_t errlen)
{
	struct probe_result r;
	if (run_probe(&r, err, errlen) < 0)
		return -1;
	if (r.step == PROBE_UNSHARE) {
		explain_unshare(r.errnum, err, errlen);
		return -1;
	}
	if (r.step == PROBE_MOUNT) {
		explain_mount(r.errnum, err, errlen);
		return -1;
	}
	return 0;
}
