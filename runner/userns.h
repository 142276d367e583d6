/* SPDX-License-Identifier: Apache-2.0 */
/* User namespace of a role (docs/ARCHITECTURE.md §4): the parent maps the role's own
 * unprivileged host ids to 0 inside, so the role is "root" only over the
 * namespaces it owns, and only until caps_drop_all(). */
#ifndef MPBS_USERNS_H
#define MPBS_USERNS_H

#include <stddef.h>
#include <sys/types.h>

/* Run by the parent while the child waits: writes /proc/CHILD/setgroups
 * "deny", then gid_map "0 HOST_GID 1", then uid_map "0 HOST_UID 1" (this
 * order is what the kernel requires for an unprivileged mapping).
 * Returns 0, or -1 with err = "STEP: write /proc/PID/FILE: strerror". */
int userns_write_maps(pid_t child, uid_t host_uid, gid_t host_gid, char *err, size_t errlen);

/* Tries, in a short-lived child, to create a user namespace (with a mount
 * namespace, and to use a capability inside it). Returns 0 when that works,
 * -1 with err naming what forbids it and the sysctl that allows it
 * (user.max_user_namespaces, kernel.unprivileged_userns_clone,
 * kernel.apparmor_restrict_unprivileged_userns). */
int userns_check_available(char *err, size_t errlen);

#endif
