/* SPDX-License-Identifier: Apache-2.0 */
/* Mount namespace of a role (docs/ARCHITECTURE.md §4): pivot_root into a minimal root
 * that holds only what the role was given. */
#ifndef MPBS_MOUNTS_H
#define MPBS_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

struct mount_bind {
	const char *src; /* host path, a directory or a file (symlinks are followed) */
	const char *dst; /* absolute path inside the new root; no "." / ".." / empty parts */
	bool writable;   /* and noexec; otherwise read-only; either is verified */
};

struct mount_plan {
	const struct mount_bind *binds;
	size_t n_binds;
	bool proc;     /* mount a fresh /proc, read-only, subset=pid,hidepid=invisible
			* (needs the new pid namespace) */
	bool dev_null; /* bind the host's /dev/null to /dev/null (read-only mount; writing still works) */
};

/* In the child: already uid 0 in its own user namespace and in a new mount
 * namespace. Makes every mount private, builds a small tmpfs root, binds each
 * source (recursively, nosuid; nodev unless the source is a character device),
 * makes every read-only bind read-only down to its submounts and every
 * writable one noexec, and checks that they are, mounts /proc if asked, pivots into the new root, detaches the old one
 * and remounts the root read-only: the role can write only where a bind is
 * writable. A role with no binds gets an empty read-only root.
 *
 * Binds are made in order. Mount points are created beneath the new root
 * without following symlinks; a mount point inside an earlier read-only bind
 * must already exist in that bind's source.
 *
 * Fails closed: any step that cannot be done or verified returns -1 with err
 * set ("mounts: ...") and the caller must not run the role. Returns 0 on
 * success, with the working directory at the new "/". */
int mounts_enter_root(const struct mount_plan *plan, const int *src_fds, char *err, size_t errlen);

/* src_fds, when not NULL, holds for each bind an O_PATH fd of its source
 * opened by the supervisor (or -1): the child has switched to its own host
 * uid before it mounts, and that uid may not be allowed to walk the path to
 * a source (e.g. a checkout under a 0700 home), while the object itself is
 * readable by it. The fds are not consumed. */
int mounts_open_sources(const struct mount_plan *plan, int *src_fds, size_t max, char *err, size_t errlen);

#endif
