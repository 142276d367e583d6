/* SPDX-License-Identifier: Apache-2.0 */
/* Finding a version 2 ledger's segment files (ledger2_files.h). */
#define _GNU_SOURCE
#include "ledger2_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger2.h"

/* The segment number the open file states: 0 when it is empty or shorter
 * than that, -1 (errno) when it cannot be read, -2 when it is not a version
 * 2 segment. pread, so its offset stays at 0 for the reader it goes to. */
static int64_t segment_number(int fd)
{
	uint8_t head[L2_SEGMENT_NUMBER_OFF + 4];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	if ((size_t)n >= L2_MAGIC_LEN && memcmp(head, L2_MAGIC, L2_MAGIC_LEN) != 0)
		return -2;
	if ((size_t)n < sizeof(head))
		return memcmp(head, L2_MAGIC, (size_t)n < L2_MAGIC_LEN ? (size_t)n : L2_MAGIC_LEN) == 0 ? 0 : -2;
	const uint8_t *p = head + L2_SEGMENT_NUMBER_OFF;
	return (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

#define SEALED_DIGITS_MIN 6
#define SEALED_DIGITS_MAX 10 /* a u32 */

int l2_sealed_name(const char *base, uint32_t number, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.%0*u", base, SEALED_DIGITS_MIN, number);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

uint32_t l2_sealed_number(const char *base, const char *name)
{
	size_t blen = strlen(base);
	if (strncmp(name, base, blen) != 0 || name[blen] != '.')
		return 0;
	const char *d = name + blen + 1;
	size_t n = strspn(d, "0123456789");
	/* Six digits or more, leading zeros allowed (docs/LEDGER.md "Files"):
	 * a second name for one number is then a file stating a number twice,
	 * which readers refuse, not a file they pass over. */
	if (d[n] != '\0' || n < SEALED_DIGITS_MIN || n > 20)
		return 0;
	unsigned long long v = strtoull(d, NULL, 10);
	if (v == 0 || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

/* f for the file at path: its stated number, size and identity; kept open
 * (f->fd) when keep, else closed again (-1). */
static int segment_file_read(struct l2_segment_file *f, const char *path, bool keep)
{
	struct stat st;
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -1;
	int64_t number = fstat(f->fd, &st) < 0 ? -1 : segment_number(f->fd);
	int e = errno;
	if (number == -1 || !keep) {
		close(f->fd);
		f->fd = -1;
	}
	if (number == -1) {
		errno = e;
		return -1;
	}
	f->size = (uint64_t)st.st_size;
	f->dev = (uint64_t)st.st_dev;
	f->ino = (uint64_t)st.st_ino;
	f->not_v2 = number == -2;
	f->segment = number > 0 ? (uint32_t)number : 0;
	return 0;
}

int l2_segment_file_read(struct l2_segment_file *f, const char *path, bool keep)
{
	return segment_file_read(f, path, keep);
}

void l2_segment_files_free(struct l2_segment_file *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		if (files[i].fd >= 0)
			close(files[i].fd);
	free(files);
}

static int by_segment(const void *a, const void *b)
{
	const struct l2_segment_file *x = a, *y = b;
	if ((x->size == 0) != (y->size == 0))
		return x->size == 0 ? 1 : -1;
	return (x->segment > y->segment) - (x->segment < y->segment);
}

void l2_segment_files_sort(struct l2_segment_file *files, size_t n)
{
	qsort(files, n, sizeof(*files), by_segment);
}

static bool spare_name(const char *name, const char *base)
{
	size_t b = strlen(base);
	return strncmp(name, base, b) == 0 && strcmp(name + b, ".next") == 0;
}

/* A file listed by readdir was gone when opened: a rotation's renames or
 * retention crossed the listing (l2_ledger_files takes it again). */
#define L2_FILES_VANISHED (-3)

static int add(struct l2_segment_file **out, size_t *n, size_t *cap, const char *path, bool keep, char *why,
	       size_t whylen)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		struct l2_segment_file *a = reallocarray(*out, c, sizeof(*a));
		if (!a) {
			snprintf(why, whylen, "out of memory");
			return L2_FILES_UNREADABLE;
		}
		*out = a;
		*cap = c;
	}
	if (segment_file_read(&(*out)[*n], path, keep) < 0) {
		int e = errno;
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(e));
		return e == ENOENT ? L2_FILES_VANISHED : L2_FILES_UNREADABLE;
	}
	(*n)++;
	return 0;
}

/* One listing of the ledger's files; *names counts the names that looked
 * like a segment's, the empty spare included. The live segment and the
 * spare, the two names a rotation moves, are kept open; a sealed segment
 * keeps its name, and is opened by it when read (with thousands of them,
 * an fd each would pass the usual limit of 1,024). Nothing is left open
 * or allocated on an error. */
static int list_once(const char *path, struct l2_segment_file **out, size_t *n, size_t *names, char *why,
		     size_t whylen)
{
	char dir_buf[PATH_MAX], base_buf[PATH_MAX], file[PATH_MAX];
	size_t cap = 0;
	*out = NULL;
	*n = *names = 0;
	snprintf(dir_buf, sizeof(dir_buf), "%s", path);
	snprintf(base_buf, sizeof(base_buf), "%s", path);
	const char *dir = dirname(dir_buf), *base = basename(base_buf);
	/* "ledger.000001" beside a "ledger" given without a directory */
	const char *prefix = strchr(path, '/') ? dir : "", *slash = strchr(path, '/') ? "/" : "";
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(why, whylen, "cannot read the directory %s: %s", dir, strerror(errno));
		return L2_FILES_UNREADABLE;
	}
	int rc = add(out, n, &cap, path, true, why, whylen);
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		bool spare = spare_name(de->d_name, base);
		uint32_t named = l2_sealed_number(base, de->d_name);
		if (!spare && !named)
			continue;
		(*names)++;
		snprintf(file, sizeof(file), "%s%s%s", prefix, slash, de->d_name);
		rc = add(out, n, &cap, file, spare, why, whylen);
		if (rc == 0)
			(*out)[*n - 1].named = named;
		if (rc == 0 && spare && (*out)[*n - 1].size == 0)
			close((*out)[--(*n)].fd); /* the spare the association has not switched to (kept open: >= 0) */
	}
	if (rc == 0 && errno) {
		snprintf(why, whylen, "cannot read the directory %s: %s", dir, strerror(errno));
		rc = L2_FILES_UNREADABLE;
	}
	closedir(d);
	if (rc != 0) {
		l2_segment_files_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* Whether a listing still holds once every file is open: each name still
 * leads to the file opened under it, no file was listed under two names,
 * and as many names look like a segment's. */
static bool listing_holds(const char *path, const struct l2_segment_file *f, size_t n, size_t names)
{
	struct l2_segment_file *again;
	size_t n_again, names_again;
	char why[64];
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(f[i].path, &st) < 0 || (uint64_t)st.st_dev != f[i].dev || (uint64_t)st.st_ino != f[i].ino)
			return false;
		for (size_t j = 0; j < i; j++)
			if (f[j].dev == f[i].dev && f[j].ino == f[i].ino)
				return false;
	}
	if (list_once(path, &again, &n_again, &names_again, why, sizeof(why)) != 0)
		return false; /* nothing left open (list_once) */
	l2_segment_files_free(again, n_again);
	return names_again == names;
}

/* A rotation is a few renames by the supervisor, and a spare made a moment
 * later: a listing it crossed is taken again, a millisecond later, this
 * many times at most. A listing that never holds is no rotation: a file
 * under two names (a hard link) is then returned, and the readers refuse it
 * as two files stating one segment; a file that stays missing (no ledger at
 * path) is an error. */
#define LISTING_TRIES 20

int l2_ledger_files(const char *path, struct l2_segment_file **out, size_t *n, char *why, size_t whylen)
{
	for (int tries = 1;; tries++) {
		size_t names;
		int rc = list_once(path, out, n, &names, why, whylen);
		if (rc == 0 && (tries == LISTING_TRIES || listing_holds(path, *out, *n, names))) {
			l2_segment_files_sort(*out, *n);
			return 0;
		}
		if (rc == L2_FILES_VANISHED && tries == LISTING_TRIES)
			rc = L2_FILES_UNREADABLE;
		if (rc != 0 && rc != L2_FILES_VANISHED)
			return rc;
		l2_segment_files_free(*out, *n);
		*out = NULL;
		*n = 0;
		usleep(1000);
	}
}

int l2_segment_files(const char *path, struct l2_segment_file **out, size_t *n, char *why, size_t whylen)
{
	int rc = l2_ledger_files(path, out, n, why, whylen);
	size_t kept = 0, i = 0;
	for (; rc == 0 && i < *n; i++) {
		const struct l2_segment_file *f = &(*out)[i];
		if (f->not_v2) {
			snprintf(why, whylen, "%s is not a version 2 ledger segment", f->path);
			rc = -1;
		} else if (f->named && f->named != f->segment) {
			snprintf(why, whylen, "%s is named segment %u but states segment %u", f->path, f->named,
				 f->segment);
			rc = -1;
		} else if (kept && f->segment && f->segment == (*out)[kept - 1].segment) {
			snprintf(why, whylen, "%s and %s both state segment %u", (*out)[kept - 1].path, f->path,
				 f->segment);
			rc = -1;
		} else if (f->segment) {
			(*out)[kept++] = *f;
		} else if (f->fd >= 0) {
			close(f->fd); /* empty, or begun but shorter than its number: left out */
		}
	}
	if (rc < 0) {
		/* open still: the kept ones, [0, kept), and those from the one
		 * refused on, [i - 1, n) */
		for (size_t j = i - 1; j < *n; j++)
			if ((*out)[j].fd >= 0)
				close((*out)[j].fd);
		l2_segment_files_free(*out, kept);
		*out = NULL;
	}
	*n = rc < 0 ? 0 : kept;
	return rc;
}
