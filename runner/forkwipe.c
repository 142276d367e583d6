/* SPDX-License-Identifier: Apache-2.0 */
/* Memory a role never inherits (forkwipe.h). */
#define _GNU_SOURCE
#include "forkwipe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void *forkwipe_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, len, MADV_WIPEONFORK) < 0) {
		int saved = errno;
		munmap(p, len);
		errno = saved;
		return NULL;
	}
	return p;
}

void forkwipe_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

/* The lowest address of the [stack] mapping: how far the supervisor's
 * calls ever reached. */
static uintptr_t stack_low(void)
{
	char buf[4096];
	uintptr_t lo = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t have = 0;
	ssize_t n;
	while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		char *nl;
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			unsigned long a, b;
			if (strstr(buf, "[stack]") && sscanf(buf, "%lx-%lx", &a, &b) == 2)
				lo = a;
			size_t used = (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have - used + 1);
			have -= used;
		}
		if (have == sizeof(buf) - 1)
			have = 0; /* a line longer than the buffer: not the one looked for */
	}
	close(fd);
	return lo;
}

/* Kept out of line so its frame sits below the caller's, and small: the
 * loop writes no further down than a few words under its own frame. */
static __attribute__((noinline)) void zero_below(uintptr_t lo, uintptr_t hi)
{
	for (volatile uint64_t *p = (volatile uint64_t *)lo; (uintptr_t)p + sizeof(*p) <= hi; p++)
		*p = 0;
}

int forkwipe_dead_stack(void)
{
	uintptr_t lo = stack_low();
	if (!lo)
		return -1;
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	/* 1 KiB under this frame: room for zero_below's own frame */
	uintptr_t hi = (here - 1024) & ~(uintptr_t)7;
	if (hi <= lo)
		return 0;
	/* Whole pages are given back rather than written: the kernel hands a
	 * private page it dropped back zeroed, and writing them would make the
	 * supervisor's deepest stack (over 100 KiB) resident in every role. */
	long ps = sysconf(_SC_PAGESIZE);
	uintptr_t page = ps > 0 ? (uintptr_t)ps : 4096;
	uintptr_t pages_hi = hi & ~(page - 1);
	if (pages_hi > lo && madvise((void *)lo, pages_hi - lo, MADV_DONTNEED) == 0)
		lo = pages_hi;
	zero_below(lo, hi);
	return 0;
}
