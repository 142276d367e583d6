/* SPDX-License-Identifier: Apache-2.0 */
/* Memory a role keeps across its own restarts: a memfd the supervisor makes
 * and holds, of a size sealed at creation. */
#ifndef MPBS_MEMFD_H
#define MPBS_MEMFD_H

#include <stddef.h>

/* A close-on-exec memfd of exactly size bytes, its pages allocated now (so
 * they count against the supervisor, not against the role that writes
 * them), sealed against growing, shrinking and further sealing. Returns the
 * fd, or -1 with err set. */
int sealed_memfd(const char *name, size_t size, char *err, size_t errlen);

#endif
