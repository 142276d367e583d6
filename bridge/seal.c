/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "seal.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int read_filter(int fd, struct sock_filter **out, size_t *count, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "--seccomp-fd %d: fstat: %s", fd, strerror(errno));
		return -1;
	}
	size_t size = (size_t)st.st_size;
	if (st.st_size <= 0 || size % sizeof(struct sock_filter) || size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		snprintf(err, errlen, "--seccomp-fd %d: %lld bytes is not 1..%d filter instructions of 8 bytes", fd,
			 (long long)st.st_size, BPF_MAXINSNS);
		return -1;
	}
	struct sock_filter *insns = malloc(size);
	if (!insns) {
		snprintf(err, errlen, "--seccomp-fd %d: out of memory", fd);
		return -1;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, (char *)insns + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "--seccomp-fd %d: read: %s", fd, n < 0 ? strerror(errno) : "shorter than fstat said");
			free(insns);
			return -1;
		}
		got += (size_t)n;
	}
	*out = insns;
	*count = size / sizeof(struct sock_filter);
	return 0;
}

int seal_install(int fd, char *err, size_t errlen)
{
	struct sock_filter *insns;
	size_t count;
	int rc = read_filter(fd, &insns, &count, err, errlen);
	int closed = close(fd);
	if (rc < 0)
		return -1;
	if (closed < 0) {
		snprintf(err, errlen, "--seccomp-fd %d: close: %s", fd, strerror(errno));
		free(insns);
		return -1;
	}
	struct sock_fprog prog = { .len = (unsigned short)count, .filter = insns };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		free(insns);
		return -1;
	}
	/* with TSYNC a positive result is the id of a thread that could not
	 * be synchronised */
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
	int saved = errno;
	free(insns);
	if (r != 0) {
		snprintf(err, errlen, "seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): %s",
			 r < 0 ? strerror(saved) : "a thread could not take the filter");
		return -1;
	}
	return 0;
}
