/* SPDX-License-Identifier: Apache-2.0 */
/* Per-role cgroup v2 groups under <cgroup2 mount>/mpbs-run.<pid>/. Only a
 * cgroup2 hierarchy is used; the v1 controllers belong to the machine. */
#define _GNU_SOURCE
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/fsutil.h"
#include "../lib/text.h"

#define UNAVAILABLE 1
/* Bounds that keep every derived path well under PATH_MAX. */
#define BASE_MAX 1024
#define GROUP_MAX (BASE_MAX + 32)
#define ROLEDIR_MAX (GROUP_MAX + 80)

/* mountinfo writes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (const char *r = s; *r;) {
		bool esc = r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
			   r[3] >= '0' && r[3] <= '7';
		if (esc) {
			*w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

static bool mount_line_is_cgroup2(const char *line, char *where, size_t len)
{
	const char *sep = strstr(line, " - ");
	char fstype[32], point[PATH_MAX];
	size_t plen;
	if (!sep || sscanf(sep + 3, "%31s", fstype) != 1 || strcmp(fstype, "cgroup2") != 0)
		return false;
	if (sscanf(line, "%*d %*d %*s %*s %4095s", point) != 1)
		return false;
	unescape_octal(point);
	plen = strlen(point);
	if (plen >= len)
		return false;
	memcpy(where, point, plen + 1);
	return true;
}

static int find_cgroup2(char *where, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	while (!found && getline(&line, &cap, f) > 0)
		found = mount_line_is_cgroup2(line, where, len);
	free(line);
	fclose(f);
	return found ? 0 : -1;
}

/* One line of a cgroup file (its newline dropped). Returns 0, or -1 with
 * why set. */
static int read_line(const char *path, char *buf, size_t len, char *why, size_t whylen)
{
	size_t n;
	if (fs_read_small(path, buf, len - 2, &n, why, whylen) < 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int write_small(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int saved = errno;
	if (close(fd) < 0 && n == (ssize_t)len)
		return -1;
	errno = saved;
	return n == (ssize_t)len ? 0 : -1;
}

static bool has_word(const char *list, const char *word)
{
	return text_has_word(list, word, ' ');
}

static size_t needed_controllers(const struct topo_limits *l, const char *names[3])
{
	size_t n = 0;
	if (l && l->memory_max)
		names[n++] = "memory";
	if (l && l->pids_max)
		names[n++] = "pids";
	if (l && l->cpu_max[0])
		names[n++] = "cpu";
	return n;
}

static int check_offered(const char *base, const char *names[], size_t n, char *err, size_t errlen)
{
	char path[PATH_MAX], list[512], why[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/cgroup.controllers", base);
	if (n && read_line(path, list, sizeof list, why, sizeof why) < 0) {
		snprintf(err, errlen, "cgroup: %s; cgroup limits are unavailable", why);
		return UNAVAILABLE;
	}
	for (size_t i = 0; i < n; i++) {
		if (has_word(list, names[i]))
			continue;
		snprintf(err, errlen,
			 "cgroup: the cgroup2 hierarchy at %s does not offer the %s controller "
			 "(cgroup.controllers: \"%s\"); cgroup limits are unavailable",
			 base, names[i], list);
		return UNAVAILABLE;
	}
	return 0;
}

/* EBUSY here is cgroup v2's rule that a group with processes of its own
 * cannot hand controllers to children: the hierarchy is not delegated. */
static int enable_controllers(const char *dir, const char *names[], size_t n, char *err,
			      size_t errlen)
{
	char path[PATH_MAX], list[512], change[32], why[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
	if (n && read_line(path, list, sizeof list, why, sizeof why) < 0)
		list[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (has_word(list, names[i]))
			continue;
		snprintf(change, sizeof change, "+%s", names[i]);
		if (write_small(path, change) < 0) {
			snprintf(err, errlen, "cgroup: write \"%s\" to %s: %s%s; cgroup limits are unavailable",
				 change, path, strerror(errno),
				 errno == EBUSY ? " (that group has processes of its own)" : "");
			return UNAVAILABLE;
		}
	}
	return 0;
}

enum dir_result { DIR_MADE, DIR_EXISTED, DIR_DENIED, DIR_FAILED };

static enum dir_result make_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0755) == 0)
		return DIR_MADE;
	if (errno == EEXIST)
		return DIR_EXISTED;
	bool denied = errno == EACCES || errno == EROFS || errno == EPERM;
	snprintf(err, errlen, "cgroup: mkdir %s: %s%s", path, strerror(errno),
		 denied ? "; cgroup limits are unavailable" : "");
	return denied ? DIR_DENIED : DIR_FAILED;
}

static int dir_failure(enum dir_result r)
{
	return r == DIR_DENIED ? UNAVAILABLE : r == DIR_FAILED ? -1 : 0;
}

static int write_limit(const char *dir, const char *file, const char *value, char *err,
		       size_t errlen)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (write_small(path, value) < 0) {
		snprintf(err, errlen, "cgroup: write \"%s\" to %s: %s", value, path, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_limits(const char *dir, const struct topo_limits *l, char *err, size_t errlen)
{
	char value[32];
	if (!l)
		return 0;
	snprintf(value, sizeof value, "%llu", (unsigned long long)l->memory_max);
	if (l->memory_max && write_limit(dir, "memory.max", value, err, errlen) < 0)
		return -1;
	snprintf(value, sizeof value, "%llu", (unsigned long long)l->pids_max);
	if (l->pids_max && write_limit(dir, "pids.max", value, err, errlen) < 0)
		return -1;
	if (l->cpu_max[0] && write_limit(dir, "cpu.max", l->cpu_max, err, errlen) < 0)
		return -1;
	return 0;
}

static bool plain_name(const char *role)
{
	return role && role[0] && strlen(role) < 64 && !strchr(role, '/') && strcmp(role, ".") != 0 &&
	       strcmp(role, "..") != 0;
}

static void group_path(const char *base, char *out, size_t len)
{
	snprintf(out, len, "%s/mpbs-run.%d", base, (int)getpid());
}

/* Everything from the supervisor's group down; on failure the groups this
 * call made are removed again. */
static int make_role_group(const char *base, const char *role, const struct topo_limits *l,
			   char *roledir, size_t len, char *err, size_t errlen)
{
	const char *names[3];
	size_t n = needed_controllers(l, names);
	char group[GROUP_MAX];
	group_path(base, group, sizeof group);
	snprintf(roledir, len, "%s/%s", group, role);
	enum dir_result g = make_dir(group, err, errlen);
	int rc = dir_failure(g);
	if (rc == 0)
		rc = enable_controllers(group, names, n, err, errlen);
	enum dir_result r = rc == 0 ? make_dir(roledir, err, errlen) : DIR_FAILED;
	if (rc == 0)
		rc = dir_failure(r);
	if (rc == 0)
		rc = write_limits(roledir, l, err, errlen);
	if (rc != 0 && r == DIR_MADE)
		rmdir(roledir);
	if (rc != 0 && g == DIR_MADE)
		rmdir(group);
	return rc;
}

int cgroup_role_create(const char *role, const struct topo_limits *l, int *dirfd_out, char *err,
		       size_t errlen)
{
	char base[BASE_MAX], roledir[ROLEDIR_MAX];
	const char *names[3];
	*dirfd_out = -1;
	if (!plain_name(role)) {
		snprintf(err, errlen, "cgroup: bad role name \"%s\"", role ? role : "(null)");
		return -1;
	}
	if (find_cgroup2(base, sizeof base) < 0) {
		snprintf(err, errlen, "cgroup: no cgroup2 hierarchy is mounted; cgroup limits are unavailable");
		return UNAVAILABLE;
	}
	size_t n = needed_controllers(l, names);
	int rc = check_offered(base, names, n, err, errlen);
	if (rc == 0)
		rc = enable_controllers(base, names, n, err, errlen);
	if (rc == 0)
		rc = make_role_group(base, role, l, roledir, sizeof roledir, err, errlen);
	if (rc != 0)
		return rc;
	*dirfd_out = open(roledir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd_out < 0) {
		snprintf(err, errlen, "cgroup: open %s: %s", roledir, strerror(errno));
		cgroup_role_remove(role);
		return -1;
	}
	return 0;
}

int cgroup_role_remove(const char *role)
{
	char base[BASE_MAX], group[GROUP_MAX], roledir[ROLEDIR_MAX];
	if (!plain_name(role)) {
		errno = EINVAL;
		return -1;
	}
	if (find_cgroup2(base, sizeof base) < 0) {
		errno = ENOENT;
		return -1;
	}
	group_path(base, group, sizeof group);
	snprintf(roledir, sizeof roledir, "%s/%s", group, role);
	if (rmdir(roledir) < 0)
		return -1;
	/* Other roles may still have their groups here. */
	if (rmdir(group) < 0 && errno != ENOTEMPTY && errno != EBUSY)
		return -1;
	return 0;
}
