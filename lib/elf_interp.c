/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "elf_interp.h"

#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "fsutil.h"

#if __BYTE_ORDER == __LITTLE_ENDIAN
#define NATIVE_DATA ELFDATA2LSB
#else
#define NATIVE_DATA ELFDATA2MSB
#endif

/* More program headers than a linker writes (PN_XNUM, 0xffff, among them):
 * bounds the reads of a file that is not what it should be. */
#define PHDRS_MAX 512

/* len bytes at off; a short read is a truncated file. */
static int read_at(int fd, const char *path, void *buf, size_t len, uint64_t off, char *err, size_t errlen)
{
	if (off > (uint64_t)INT64_MAX - len)
		return err_set(err, errlen, "%s: offset %llu beyond any file", path, (unsigned long long)off);
	ssize_t r;
	do
		r = pread(fd, buf, len, (off_t)off);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return err_set(err, errlen, "read %s: %s", path, strerror(errno));
	if ((size_t)r != len)
		return err_set(err, errlen, "%s: truncated ELF file (%zu bytes at offset %llu)", path, len,
			       (unsigned long long)off);
	return 0;
}

/* What is not ELF is said so, short as it may be; a truncated header is
 * an ELF file cut. */
static int read_header(int fd, const char *path, Elf64_Ehdr *h, char *err, size_t errlen)
{
	ssize_t r;
	do
		r = pread(fd, h, sizeof(*h), 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return err_set(err, errlen, "read %s: %s", path, strerror(errno));
	if (r < SELFMAG || memcmp(h->e_ident, ELFMAG, SELFMAG) != 0)
		return err_set(err, errlen, "%s: not an ELF file", path);
	if ((size_t)r < sizeof(*h))
		return err_set(err, errlen, "%s: truncated ELF file (a header of %zd bytes)", path, r);
	return 0;
}

static int check_header(const Elf64_Ehdr *h, const char *path, char *err, size_t errlen)
{
	if (h->e_ident[EI_CLASS] != ELFCLASS64 || h->e_ident[EI_DATA] != NATIVE_DATA)
		return err_set(err, errlen, "%s: not a 64-bit ELF file of this host's byte order", path);
	if (h->e_type != ET_EXEC && h->e_type != ET_DYN)
		return err_set(err, errlen, "%s: not an ELF executable (type %u)", path, (unsigned)h->e_type);
	if (h->e_phoff > (uint64_t)INT64_MAX)
		return err_set(err, errlen, "%s: program headers at offset %llu, beyond any file", path,
			       (unsigned long long)h->e_phoff);
	if (h->e_phnum > PHDRS_MAX)
		return err_set(err, errlen, "%s: %u program headers (at most %d)", path, (unsigned)h->e_phnum,
			       PHDRS_MAX);
	if (h->e_phnum > 0 && h->e_phentsize != sizeof(Elf64_Phdr))
		return err_set(err, errlen, "%s: program headers of %u bytes, not %zu", path, (unsigned)h->e_phentsize,
			       sizeof(Elf64_Phdr));
	return 0;
}

/* The segment holds the path and its terminating NUL, nothing else. */
static int read_interp(int fd, const char *path, const Elf64_Phdr *ph, char *out, size_t len, char *err,
		       size_t errlen)
{
	if (ph->p_filesz < 2 || ph->p_filesz > len)
		return err_set(err, errlen, "%s: a PT_INTERP of %llu bytes (2 to %zu)", path,
			       (unsigned long long)ph->p_filesz, len);
	size_t n = (size_t)ph->p_filesz;
	if (read_at(fd, path, out, n, ph->p_offset, err, errlen) < 0)
		return -1;
	if (out[n - 1] != '\0' || strlen(out) != n - 1 || out[0] != '/') {
		out[0] = '\0';
		return err_set(err, errlen, "%s: its PT_INTERP is not one absolute path", path);
	}
	return 1;
}

static int find_interp(int fd, const char *path, char *out, size_t len, char *err, size_t errlen)
{
	Elf64_Ehdr h;
	if (read_header(fd, path, &h, err, errlen) < 0 || check_header(&h, path, err, errlen) < 0)
		return -1;
	for (unsigned k = 0; k < h.e_phnum; k++) {
		Elf64_Phdr ph;
		if (read_at(fd, path, &ph, sizeof(ph), h.e_phoff + (uint64_t)k * sizeof(ph), err, errlen) < 0)
			return -1;
		if (ph.p_type == PT_INTERP)
			return read_interp(fd, path, &ph, out, len, err, errlen);
	}
	return 0;
}

int elf_interp(const char *path, char *out, size_t len, char *err, size_t errlen)
{
	if (len == 0)
		return err_set(err, errlen, "%s: no room for its interpreter's path", path);
	out[0] = '\0';
	struct stat st;
	int fd = fs_open_regular(path, &st, err, errlen);
	if (fd < 0)
		return -1;
	int rc = find_interp(fd, path, out, len, err, errlen);
	close(fd);
	return rc;
}
