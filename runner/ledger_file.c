/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "ledger_file.h"

#include "append_only.h"
#include "../lib/fsutil.h"
#include "ledger_recover.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ledger_file_open(const char *path, bool *append_only, char *err, size_t errlen)
{
	if (fs_mkdir_parents(path, err, errlen) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "ledger %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "ledger %s: not a regular file", path);
		close(fd);
		return -1;
	}
	/* The same recovery as before every restart of the association. */
	struct ledger_cut cut;
	if (ledger_file_recover(fd, path, &cut, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	*append_only = append_only_set(fd, true) == 0;
	return fd;
}
