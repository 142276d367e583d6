/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime directory: see runtime_dir.h. */
#include "runtime_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int runtime_dir_path(char *path, size_t cap, char *err, size_t errlen)
{
	if (geteuid() == 0) {
		snprintf(path, cap, "%s", RUNTIME_DIR_ROOT);
		return 0;
	}
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (!xdg || xdg[0] != '/') {
		snprintf(err, errlen, "XDG_RUNTIME_DIR is %s: a run as a normal user keeps its runtime state there "
			 "(a login session sets it; or set it to a directory only you can write)",
			 xdg ? "not an absolute path" : "not set");
		return -1;
	}
	if ((size_t)snprintf(path, cap, "%s/mpbs", xdg) >= cap) {
		snprintf(err, errlen, "XDG_RUNTIME_DIR is too long");
		return -1;
	}
	return 0;
}

int runtime_dir_open(char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	if (runtime_dir_path(path, sizeof(path), err, errlen) < 0)
		return -1;
	mode_t mode = geteuid() == 0 ? 0755 : 0700;
	bool made = mkdir(path, mode) == 0;
	if (!made && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	int dir = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* the mode it is documented with, whatever the caller's umask */
	if (made && fchmod(dir, mode) < 0) {
		snprintf(err, errlen, "chmod %s: %s", path, strerror(errno));
		close(dir);
		return -1;
	}
	if (fstat(dir, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(err, errlen, "%s: must be a directory owned by uid %u and writable by it only", path,
			 (unsigned)geteuid());
		close(dir);
		return -1;
	}
	return dir;
}
