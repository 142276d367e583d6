/* SPDX-License-Identifier: Apache-2.0 */
/* The NATS password, read once at start from the file the supervisor
 * names: the only secret the bridge ever holds. */
#ifndef MPBS_BRIDGE_PASSWORD_H
#define MPBS_BRIDGE_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MAX 1024

/* Reads path's first line into out (cap >= PASSWORD_MAX + 2), without its
 * newline. Refuses an empty one, a longer one, a NUL inside, or a second
 * non-empty line. Returns 0, or -1 with err naming the file. */
int password_read(const char *path, char *out, size_t cap, char *err, size_t errlen);

#endif
