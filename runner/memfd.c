/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "memfd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int sealed_memfd(const char *name, size_t size, char *err, size_t errlen)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		snprintf(err, errlen, "memfd %s: %s", name, strerror(errno));
		return -1;
	}
	/* A role can then neither grow it into a memory bomb nor shrink it
	 * under the next incarnation, and nobody can add or lift a seal. */
	if (ftruncate(fd, (off_t)size) < 0 || fallocate(fd, 0, 0, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		snprintf(err, errlen, "memfd %s of %zu bytes: %s", name, size, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
