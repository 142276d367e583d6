#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"

int fs_mkdir_parents(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return err_set(err, errlen, "%s: path too long", path);
	for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return err_set(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		*p = '/';
	}
	return 0;
}

int fs_open_regular(const char *path, struct stat *st, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return err_set(err, errlen, "open %s: %s", path, strerror(errno));
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return err_set(err, errlen, "%s: not a regular file", path);
	}
	return fd;
}

int fs_read_upto(int fd, const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
	size_t n = 0;
	int rc = 0;
	while (n <= cap) {
		ssize_t r = read(fd, buf + n, cap + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = err_set(err, errlen, "read %s: %s", path, strerror(errno));
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return rc;
}

int fs_read_small(const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd = fs_open_regular(path, &st, err, errlen);
	if (fd < 0)
		return -1;
	int rc = fs_read_upto(fd, path, buf, cap, len, err, errlen);
	close(fd);
	if (rc == 0 && *len > cap)
		rc = err_set(err, errlen, "%s: larger than %zu bytes", path, cap);
	buf[rc == 0 ? *len : 0] = '\0';
	return rc;
}
