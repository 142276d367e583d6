/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "role.h"

#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../lib/log.h"

int role_stop_signalfd(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		log_errno("sigprocmask");
		return -1;
	}
	sigdelset(&mask, SIGHUP);
	sigdelset(&mask, SIGPIPE);
	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		log_errno("signalfd");
	return fd;
}

int role_read_signal(int sfd)
{
	struct signalfd_siginfo si;
	ssize_t n = read(sfd, &si, sizeof(si));
	return n == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

bool role_stop_requested(int sfd)
{
	int sig = role_read_signal(sfd);
	return sig == SIGTERM || sig == SIGINT;
}

static void report_error_record(int status_fd, const char *why)
{
	char rec[ROLE_STATUS_RECORD_MAX];
	size_t n = strlen(why);
	if (n > sizeof(rec) - 3) { /* cut, and say so, to fit the supervisor's buffer */
		n = sizeof(rec) - 3;
		memcpy(rec + sizeof(rec) - 3, "...", 3);
		memcpy(rec + 3, why, n - 3);
	} else {
		memcpy(rec + 3, why, n);
	}
	rec[0] = STATUS_ERROR;
	rec[1] = (char)(n & 0xff);
	rec[2] = (char)(n >> 8);
	ssize_t w;
	do
		w = write(status_fd, rec, 3 + n);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)(3 + n))
		log_error("cannot start: %s", why); /* the supervisor did not hear it: said here instead */
}

int role_report_cannot_start(int status_fd, const char *why)
{
	report_error_record(status_fd, why);
	return SPAWN_SETUP_FAILED;
}

int role_report_bad_config(int status_fd, const char *why)
{
	report_error_record(status_fd, why);
	return ROLE_CONFIG_INVALID;
}

void role_report_ready(int status_fd)
{
	char c = ROLE_STATUS_READY;
	ssize_t n;
	do
		n = write(status_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		log_errno("report ready");
}

int role_seal_and_report(const struct role_seal *seal, int status_fd)
{
	char err[512] = "";
	if (seal && seal->fn(seal->ctx, err, sizeof(err)) < 0) {
		log_error("seccomp: %s", err);
		return -1;
	}
	role_report_ready(status_fd);
	return 0;
}

/* The segments are listed first and released after the walk: each
 * object's program headers lie in its first read-only segment, and reading
 * them again after that segment was released would fault it (and its
 * neighbours, by fault-around) straight back in. */
#define RELEASE_RANGES_MAX 128

struct release_state {
	uintptr_t page;
	size_t n;
	struct {
		uintptr_t lo, hi;
	} range[RELEASE_RANGES_MAX];
};

static bool has_text_relocations(const struct dl_phdr_info *info)
{
	for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
			continue;
		const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
		for (; d->d_tag != DT_NULL; d++)
			if (d->d_tag == DT_TEXTREL || (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL)))
				return true;
	}
	return false;
}

static bool overlaps_relro(const struct dl_phdr_info *info, uintptr_t lo, uintptr_t hi)
{
	for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t rlo = info->dlpi_addr + ph->p_vaddr, rhi = rlo + ph->p_memsz;
		if (ph->p_type == PT_GNU_RELRO && rlo < hi && lo < rhi)
			return true;
	}
	return false;
}

static int list_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct release_state *st = arg;
	/* The vDSO is the kernel's own mapping, not a file's. */
	if (info->dlpi_name && strncmp(info->dlpi_name, "linux-vdso", 10) == 0)
		return 0;
	if (has_text_relocations(info))
		return 0;
	for (ElfW(Half) i = 0; i < info->dlpi_phnum && st->n < RELEASE_RANGES_MAX; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
			continue;
		/* Only whole pages inside the segment: a page shared with a
		 * writable neighbour is kept. */
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		lo = (lo + st->page - 1) & ~(st->page - 1);
		hi &= ~(st->page - 1);
		if (hi <= lo || overlaps_relro(info, lo, hi))
			continue;
		st->range[st->n].lo = lo;
		st->range[st->n].hi = hi;
		st->n++;
	}
	return 0;
}

/* Filled by role_startup_code_prepare in the supervisor, inherited by every
 * role through clone. */
static struct release_state startup_code;

void role_startup_code_prepare(void)
{
	long page = sysconf(_SC_PAGESIZE);
	startup_code.page = page > 0 ? (uintptr_t)page : 4096;
	startup_code.n = 0;
	dl_iterate_phdr(list_object, &startup_code);
}

long role_release_startup_code(void)
{
	long bytes = 0;
	int err = 0;
	if (startup_code.page == 0)
		role_startup_code_prepare();
	for (size_t i = 0; i < startup_code.n; i++) {
		void *lo = (void *)startup_code.range[i].lo;
		size_t len = startup_code.range[i].hi - startup_code.range[i].lo;
		if (madvise(lo, len, MADV_DONTNEED) < 0) {
			if (!err)
				err = errno;
			continue;
		}
		bytes += (long)len;
	}
	if (err) {
		errno = err;
		log_errno("madvise(MADV_DONTNEED) of start-up code");
		return -1;
	}
	return bytes;
}
