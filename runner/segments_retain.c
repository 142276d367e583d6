/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The retention of sealed segments (segments.h): the ledger's directory is
 * listed, the names LEDGER.NNNNNN taken in the order of their numbers, and
 * those beyond keep_segments or sealed more than keep_days ago (the file's
 * mtime: the seal was its last write) are removed, oldest first, each
 * logged. The live segment and the spare never match a sealed name, and a
 * sealed name that is a link to either is left alone. */
#include "segments_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/fsutil.h"
#include "../lib/ledger2_files.h"
#include "../lib/log.h"
#include "append_only.h"

#define DAY_SECONDS 86400

struct sealed {
	uint32_t number;
	char name[NAME_MAX + 1];
};

static int by_number(const void *a, const void *b)
{
	uint32_t x = ((const struct sealed *)a)->number, y = ((const struct sealed *)b)->number;
	return x < y ? -1 : x > y;
}

/* Every sealed segment's name, in the order of their numbers (*list
 * malloc'd). Returns the count, or -1 with errno. */
static ssize_t list_sealed(struct segments *sg, struct sealed **list)
{
	int fd = openat(sg->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t n = 0, cap = 0;
	*list = NULL;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		uint32_t number = l2_sealed_number(sg->base, e->d_name);
		if (!number)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			struct sealed *grown = realloc(*list, cap * sizeof(**list));
			if (!grown) {
				closedir(d);
				free(*list);
				*list = NULL;
				errno = ENOMEM;
				return -1;
			}
			*list = grown;
		}
		(*list)[n].number = number;
		snprintf((*list)[n].name, sizeof((*list)[n].name), "%s", e->d_name);
		n++;
	}
	int e_readdir = errno;
	closedir(d);
	if (e_readdir) {
		free(*list);
		*list = NULL;
		errno = e_readdir;
		return -1;
	}
	if (n)
		qsort(*list, n, sizeof(**list), by_number);
	return (ssize_t)n;
}

int seg_newest_sealed(struct segments *sg, uint32_t *newest, char *err, size_t errlen)
{
	struct sealed *list;
	ssize_t n = list_sealed(sg, &list);
	if (n < 0) {
		snprintf(err, errlen, "ledger %s: list its directory: %s", sg->ledger, strerror(errno));
		return -1;
	}
	*newest = n ? list[n - 1].number : 0;
	free(list);
	return 0;
}

/* One sealed segment, its flag cleared first. Returns 0, or -1 (logged). */
static int remove_sealed(struct segments *sg, const struct sealed *s, const char *why)
{
	size_t dir_len = (size_t)(sg->base - sg->ledger);
	int fd = openat(sg->dirfd, s->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || seg_same_file(&st, sg->live_fd) ||
	    seg_same_file(&st, sg->spare_fd)) {
		log_event(LOG_SEV_WARNING, "segment-kept", "ledger: %.*s%s not removed (%s): %s", (int)dir_len, sg->ledger,
			  s->name, why, fd < 0 ? strerror(errno) : "not a sealed segment's file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rc = 0;
	if (append_only_is_set(fd) && append_only_set(fd, false) < 0) {
		log_event(LOG_SEV_ERROR, "segment-kept", "ledger: %.*s%s not removed (%s): clear its append-only flag: %s",
			  (int)dir_len, sg->ledger, s->name, why, strerror(errno));
		rc = -1;
	} else if (unlinkat(sg->dirfd, s->name, 0) < 0) {
		log_event(LOG_SEV_ERROR, "segment-kept", "ledger: %.*s%s not removed (%s): %s", (int)dir_len, sg->ledger,
			  s->name, why, strerror(errno));
		append_only_set(fd, true);
		rc = -1;
	} else {
		log_event(LOG_SEV_INFO, "segment-removed", "ledger: removed sealed segment %.*s%s (%lld bytes; %s)",
			  (int)dir_len, sg->ledger, s->name, (long long)st.st_size, why);
	}
	close(fd);
	return rc;
}

int segments_retain(struct segments *sg)
{
	if (!sg->keep_segments && !sg->keep_days)
		return 0;
	struct sealed *list;
	ssize_t n = list_sealed(sg, &list);
	if (n < 0) {
		log_event(LOG_SEV_ERROR, "segment-retention", "ledger %s: list its directory: %s", sg->ledger,
			  strerror(errno));
		return -1;
	}
	time_t now = time(NULL);
	int removed = 0;
	for (ssize_t i = 0; i < n; i++) {
		char why[96];
		struct stat st;
		bool beyond = sg->keep_segments && (size_t)(n - i) > sg->keep_segments;
		bool expired = sg->keep_days && fstatat(sg->dirfd, list[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			       st.st_mtime + (time_t)sg->keep_days * DAY_SECONDS <= now;
		if (beyond)
			snprintf(why, sizeof(why), "keep_segments = %u", sg->keep_segments);
		else if (expired)
			snprintf(why, sizeof(why), "sealed over %u days ago: keep_days = %u", sg->keep_days, sg->keep_days);
		if ((beyond || expired) && remove_sealed(sg, &list[i], why) == 0)
			removed++;
	}
	if (removed && fsync(sg->dirfd) < 0)
		log_errno("ledger %s: fsync its directory", sg->ledger);
	free(list);
	return removed;
}
