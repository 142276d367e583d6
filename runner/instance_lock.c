/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "instance_lock.h"
#include "runtime_dir.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/fsutil.h"

/* A write lock on [start, start + len) of fd (len 0: the whole file, however
 * it grows). 0, 1 when another open file description holds a conflicting
 * lock (*held says which range, when the kernel still has it), -1 on error. */
static int lock_range(int fd, off_t start, off_t len, struct flock *held)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno != EAGAIN && errno != EACCES)
		return -1;
	*held = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	if (fcntl(fd, F_OFD_GETLK, held) < 0 || held->l_type == F_UNLCK)
		*held = (struct flock){ .l_type = F_UNLCK };
	return 1;
}

/* A file is opened for writing (a write lock needs it) without truncating,
 * O_APPEND (a segment's inode may carry FS_APPEND_FL) and O_NONBLOCK (a
 * FIFO under that name must not hang the start; runner/segments.c refuses
 * it right after). Returns the fd, -1 with errno. */
static int open_for_lock(const char *path, bool create)
{
	return open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0),
		    INSTANCE_LEDGER_LOCK_MODE);
}

/* LEDGER.lock, whose name never moves (a rotation renames the live segment
 * away), and the live segment itself when there is one, which another path
 * may name (a hard link): either held means another run. The live segment
 * is never created here: the names are runner/segments.c's to settle. */
static int lock_ledger(struct instance_lock *l, const char *ledger, char *err, size_t errlen)
{
	struct flock held;
	char lock_path[PATH_MAX];
	if (snprintf(lock_path, sizeof(lock_path), "%s" INSTANCE_LEDGER_LOCK_SUFFIX, ledger) >= (int)sizeof(lock_path)) {
		snprintf(err, errlen, "ledger %s: %s", ledger, strerror(ENAMETOOLONG));
		return -1;
	}
	if (fs_mkdir_parents(ledger, err, errlen) < 0)
		return -1;
	l->lock_fd = open_for_lock(lock_path, true);
	if (l->lock_fd < 0) {
		snprintf(err, errlen, "ledger %s: %s: %s", ledger, lock_path, strerror(errno));
		return -1;
	}
	int rc = lock_range(l->lock_fd, 0, 0, &held);
	if (rc == 0) {
		/* the other run's lock on its live segment (runner/segments.c
		 * holds it), only looked at: this run takes its own there */
		int live = open_for_lock(ledger, false);
		if (live < 0 && errno != ENOENT) {
			snprintf(err, errlen, "ledger %s: %s", ledger, strerror(errno));
			return -1;
		}
		held = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
		if (live >= 0 && fcntl(live, F_OFD_GETLK, &held) == 0 && held.l_type != F_UNLCK)
			rc = 1;
		fs_close(&live);
	}
	if (rc == 1) {
		snprintf(err, errlen,
			 "ledger %s is in use by another running mpbs-run (it holds a lock on that file for its "
			 "whole run): stop that run first, or give this one another [association] ledger",
			 ledger);
		return EX_INSTANCE_BUSY;
	}
	if (rc < 0) {
		snprintf(err, errlen, "ledger %s: lock: %s", ledger, strerror(errno));
		return -1;
	}
	return 0;
}

/* The runtime directory is the caller's and writable by it only
 * (runtime_dir.h): whoever can replace uids.lock can make two runs share
 * uids. */
static int open_uids_lock(char *err, size_t errlen)
{
	struct stat st;
	int dir = runtime_dir_open(err, errlen);
	if (dir < 0)
		return -1;
	int fd = openat(dir, INSTANCE_UIDS_LOCK, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0600);
	close(dir);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s in the runtime directory: %s", INSTANCE_UIDS_LOCK,
			 fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* One byte of uids.lock per host uid: two ranges conflict exactly when they
 * share a uid. */
static int lock_uids(struct instance_lock *l, uint32_t base, uint32_t span, char *err, size_t errlen)
{
	struct flock held;
	l->uids_fd = open_uids_lock(err, errlen);
	if (l->uids_fd < 0)
		return -1;
	int rc = lock_range(l->uids_fd, (off_t)base, (off_t)span, &held);
	if (rc == 1) {
		int n = snprintf(err, errlen,
				 "host uids %u..%u ([runner] uid_base = %u, %u roles) overlap those of another running "
				 "mpbs-run",
				 base, base + span - 1, base, span);
		if (held.l_type != F_UNLCK && n > 0 && (size_t)n < errlen)
			n += snprintf(err + n, errlen - (size_t)n, " (uids %lld..%lld)", (long long)held.l_start,
				      (long long)(held.l_start + held.l_len - 1));
		if (n > 0 && (size_t)n < errlen)
			snprintf(err + n, errlen - (size_t)n, ": give this run another [runner] uid_base");
		return EX_INSTANCE_BUSY;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: lock: %s", INSTANCE_UIDS_LOCK, strerror(errno));
		return -1;
	}
	return 0;
}

int instance_lock_acquire(struct instance_lock *l, const char *ledger, uint32_t uid_base, uint32_t uid_span,
			  char *err, size_t errlen)
{
	l->lock_fd = l->uids_fd = -1;
	/* uids first: a run refused for them leaves no ledger file behind; a
	 * rootless run (span 0) uses no host uid range of its own */
	int rc = uid_span ? lock_uids(l, uid_base, uid_span, err, errlen) : 0;
	if (rc == 0)
		rc = lock_ledger(l, ledger, err, errlen);
	if (rc != 0)
		instance_lock_release(l);
	return rc;
}

void instance_lock_release(struct instance_lock *l)
{
	fs_close(&l->uids_fd);
	fs_close(&l->lock_fd);
}
