/* SPDX-License-Identifier: Apache-2.0 */
/* Finding a version 2 ledger's segment files (ledger2_files.h). */
#define _GNU_SOURCE
#include "ledger2_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger2.h"

int64_t l2_file_segment_number(const char *path, uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t head[L2_SEGMENT_NUMBER_OFF + 4];
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	*size = (uint64_t)st.st_size;
	ssize_t n = pread(fd, head, sizeof(head), 0);
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return -1;
	}
	if (n == 0)
		return 0;
	if ((size_t)n >= L2_MAGIC_LEN && memcmp(head, L2_MAGIC, L2_MAGIC_LEN) != 0)
		return -2;
	if ((size_t)n < sizeof(head))
		return memcmp(head, L2_MAGIC, (size_t)n < L2_MAGIC_LEN ? (size_t)n : L2_MAGIC_LEN) == 0 ? 0 : -2;
	const uint8_t *p = head + L2_SEGMENT_NUMBER_OFF;
	return (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* PATH.NNNNNN: six or more digits after the ledger's own name. */
static bool sealed_name(const char *name, const char *base)
{
	size_t b = strlen(base);
	if (strncmp(name, base, b) != 0 || name[b] != '.')
		return false;
	size_t digits = strspn(name + b + 1, "0123456789");
	return digits >= 6 && name[b + 1 + digits] == '\0';
}

/* named: the number a sealed file's name says (0: not a sealed name). */
static int add(struct l2_segment_file **out, size_t *n, size_t *cap, const char *path, unsigned long named,
	       char *why, size_t whylen)
{
	uint64_t size = 0;
	int64_t number = l2_file_segment_number(path, &size);
	if (number == -1) {
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (number == -2) {
		snprintf(why, whylen, "%s is not a version 2 ledger segment", path);
		return -1;
	}
	if (number == 0 && !named)
		return 0; /* empty (a fresh live file, the spare) or begun but shorter than its number */
	if (named && (uint64_t)number != named) {
		snprintf(why, whylen, "%s is named segment %lu but states segment %" PRId64, path, named, number);
		return -1;
	}
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		struct l2_segment_file *a = reallocarray(*out, c, sizeof(*a));
		if (!a) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		*out = a;
		*cap = c;
	}
	struct l2_segment_file *f = &(*out)[(*n)++];
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->segment = (uint32_t)number;
	f->size = size;
	return 0;
}

static int by_segment(const void *a, const void *b)
{
	const struct l2_segment_file *x = a, *y = b;
	return (x->segment > y->segment) - (x->segment < y->segment);
}

int l2_segment_files(const char *path, struct l2_segment_file **out, size_t *n, char *why, size_t whylen)
{
	char dir_buf[PATH_MAX], base_buf[PATH_MAX], file[PATH_MAX];
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	snprintf(dir_buf, sizeof(dir_buf), "%s", path);
	snprintf(base_buf, sizeof(base_buf), "%s", path);
	const char *dir = dirname(dir_buf), *base = basename(base_buf);
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(why, whylen, "cannot read the directory %s: %s", dir, strerror(errno));
		return -1;
	}
	int rc = add(out, n, &cap, path, 0, why, whylen);
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		bool spare = strncmp(de->d_name, base, strlen(base)) == 0 && strcmp(de->d_name + strlen(base), ".next") == 0;
		bool sealed = sealed_name(de->d_name, base);
		if (!spare && !sealed)
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, de->d_name);
		rc = add(out, n, &cap, file, sealed ? strtoul(de->d_name + strlen(base) + 1, NULL, 10) : 0, why, whylen);
	}
	if (rc == 0 && errno) {
		snprintf(why, whylen, "cannot read the directory %s: %s", dir, strerror(errno));
		rc = -1;
	}
	closedir(d);
	if (rc == 0) {
		qsort(*out, *n, sizeof(**out), by_segment);
		for (size_t i = 1; i < *n; i++)
			if ((*out)[i].segment == (*out)[i - 1].segment) {
				snprintf(why, whylen, "%s and %s both state segment %u", (*out)[i - 1].path, (*out)[i].path,
					 (*out)[i].segment);
				rc = -1;
				break;
			}
	}
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}
