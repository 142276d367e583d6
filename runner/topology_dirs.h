/* SPDX-License-Identifier: Apache-2.0 */
/* The key and state directories of a topology's providers, compared by
 * inode, not by name: a provider's state directory is writable
 * in its sandbox and its key directory holds its authority. */
#ifndef MPBS_TOPOLOGY_DIRS_H
#define MPBS_TOPOLOGY_DIRS_H

#include <stdbool.h>
#include <stddef.h>

#include "topology.h"

/* Whether provider i's directories conflict with any provider's: its state
 * directory is, contains or lies inside any key directory (its own
 * included) or another provider's state directory; its key directory is,
 * contains or lies inside another provider's. Compared by device and inode
 * through "..", so symlinks and other spellings hide nothing; a directory
 * that does not exist yet (demo keys) is compared by path until it does.
 * On a conflict: true, *key = "keys" or "state", msg set. */
bool topology_dirs_conflict(const struct topology *t, size_t i, const char **key, char *msg, size_t len);

#endif
