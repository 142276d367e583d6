/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Probe actions on code written at run time (W^X: writable and executable
 * memory, bytes written to a memfd or to /state then mapped executable)
 * and on the Landlock domain a provider's exec'd programs enter. Raw
 * syscalls, as every probe (probe.c). */
#include "probe_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../roles/provider/exec.h"

/* ---- writable and executable memory ---- */

int act_mmap_wx(const struct probe_def *d, const struct probe_env *e)
{
	return errno_or_zero(syscall(SYS_mmap, NULL, 4096UL, PROT_READ | PROT_WRITE | PROT_EXEC,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L));
}

int act_mprotect_exec(const struct probe_def *d, const struct probe_env *e)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return errno;
	return errno_or_zero(syscall(SYS_mprotect, p, 4096UL, PROT_READ | PROT_EXEC));
}

/* ---- bytes written at run time, and the programs' domain ---- */

/* A ret instruction, so a page that did get mapped executable holds
 * nothing but a return. */
static int write_page(long fd)
{
	static unsigned char page[4096] = { 0xc3 };
	return syscall(SYS_write, fd, page, sizeof(page)) == (long)sizeof(page) ? 0 : errno ? errno : EIO;
}

static int map_exec(long fd)
{
	long p = syscall(SYS_mmap, NULL, 4096UL, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0L);
	return p == -1 ? errno : 0;
}

/* Bytes written at run time, then mapped executable: the classic way
 * around W^X. memfd_create itself must be refused (a kill). */
int act_memfd_exec(const struct probe_def *d, const struct probe_env *e)
{
	long fd = syscall(SYS_memfd_create, "mpbs-audit", 1U /* MFD_CLOEXEC */);
	if (fd < 0)
		return errno;
	int rc = write_page(fd);
	return rc ? rc : map_exec(fd);
}

/* The same through a file in the writable state directory: the noexec
 * mount refuses the executable mapping (EPERM). An unnamed O_TMPFILE
 * leaves nothing behind; a filesystem without it gets a fixed name. */
int act_state_mmap_exec(const struct probe_def *d, const struct probe_env *e)
{
	long fd = syscall(SYS_openat, AT_FDCWD, "/state", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EOPNOTSUPP)
		fd = syscall(SYS_openat, AT_FDCWD, "/state/.mpbs-audit-mmap", O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC,
			     0600);
	if (fd < 0)
		return errno;
	int rc = write_page(fd);
	return rc ? rc : map_exec(fd);
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *out)
{
	if (!strstr(info->dlpi_name, "/libc.so"))
		return 0;
	snprintf(out, 4096, "%s", info->dlpi_name);
	return 1;
}

/* Control: the C library's own file, mapped read+exec as the loader maps
 * it for every program, still works where writable files do not. */
int act_map_libc(const struct probe_def *d, const struct probe_env *e)
{
	char path[4096] = "";
	if (!dl_iterate_phdr(find_libc, path))
		return PROBE_EXIT_DATA;
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? errno : map_exec(fd);
}

/* Built before the seal by probe_main for an as_program probe, exactly as
 * the provider builds it (exec_domain_prepare). */
int program_open(const struct probe_def *d, const struct probe_env *e)
{
	char buf[4200];
	const char *path = target_path(d, e, buf, sizeof(buf));
	long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0L, 0L, 0L, 0L);
	if (pid == 0) {
		if (exec_domain_enter() < 0)
			syscall(SYS_exit_group, PROBE_EXIT_SEAL);
		long fd = syscall(SYS_openat, AT_FDCWD, path, (int)d->arg | O_CLOEXEC);
		syscall(SYS_exit_group, fd < 0 ? errno : 0);
	}
	int status;
	if (pid < 0 || syscall(SYS_wait4, pid, &status, 0, NULL) < 0)
		return errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : PROBE_EXIT_DATA;
}
