/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge's own seccomp filter, compiled by the supervisor and handed
 * over in a memfd (an array of struct sock_filter, as libseccomp's
 * seccomp_export_bpf writes it). */
#ifndef MPBS_BRIDGE_SEAL_H
#define MPBS_BRIDGE_SEAL_H

#include <stddef.h>

/* Reads the filter from fd (pread from 0, size from fstat: a non-empty
 * multiple of 8 bytes, at most BPF_MAXINSNS instructions), closes fd,
 * sets no_new_privs and installs the filter on every thread (TSYNC:
 * libnats already runs its own). Returns 0, or -1 with err. */
int seal_install(int fd, char *err, size_t errlen);

#endif
