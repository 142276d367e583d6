/* SPDX-License-Identifier: Apache-2.0 */
/* The state file of a running instance: see status_file.h. */
#define _GNU_SOURCE
#include "status_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/derive.h"
#include "../lib/sha256.h"

void status_file_name(const char *topology_path, const char *ledger, char *name, size_t cap)
{
	const char *base = strrchr(topology_path, '/');
	base = base ? base + 1 : topology_path;
	size_t len = strlen(base);
	if (len > 5 && strcmp(base + len - 5, ".conf") == 0)
		len -= 5;
	if (len > 64)
		len = 64;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	sha256_of(digest, ledger, strlen(ledger));
	hex_encode(digest, sizeof(digest), hex);
	snprintf(name, cap, "%.*s-%.8s", (int)len, base, hex);
	/* a file name: no '/' can come from the base name; a leading '.' would hide it */
	if (name[0] == '.')
		name[0] = '_';
}

int status_file_write(int dir, const char *name, const json_t *state, char *err, size_t errlen)
{
	char tmp[STATUS_NAME_MAX + 32], final[STATUS_NAME_MAX + 32];
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	snprintf(final, sizeof(final), "%s%s", name, STATUS_FILE_SUFFIX);
	char *text = json_dumps(state, JSON_COMPACT);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", final);
		return -1;
	}
	int rc = -1;
	size_t len = strlen(text);
	(void)unlinkat(dir, tmp, 0); /* one a killed predecessor left */
	int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	ssize_t w = write(fd, text, len);
	int werr = w < 0 ? errno : 0;
	if (close(fd) < 0 && !werr)
		werr = errno;
	if (w != (ssize_t)len || werr) {
		snprintf(err, errlen, "%s: %s", tmp, werr ? strerror(werr) : "short write");
		(void)unlinkat(dir, tmp, 0);
		goto out;
	}
	if (renameat(dir, tmp, dir, final) < 0) {
		snprintf(err, errlen, "rename to %s: %s", final, strerror(errno));
		(void)unlinkat(dir, tmp, 0);
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

void status_file_remove(int dir, const char *name)
{
	char final[STATUS_NAME_MAX + 32];
	snprintf(final, sizeof(final), "%s%s", name, STATUS_FILE_SUFFIX);
	(void)unlinkat(dir, final, 0);
}

unsigned long long status_pid_start(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* after the command name, which may hold spaces and parentheses */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* fields 3 to 21, then the start time */
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (field == 22)
			return strtoull(p, NULL, 10);
		p = strchr(p, ' ');
		if (!p)
			return 0;
	}
	return 0;
}

bool status_file_is_live(const json_t *state)
{
	json_int_t pid = json_integer_value(json_object_get(state, "pid"));
	json_int_t start = json_integer_value(json_object_get(state, "pid_start"));
	if (pid <= 0 || pid > 0x7fffffff)
		return false;
	unsigned long long now = status_pid_start((int)pid);
	return now != 0 && (json_int_t)now == start;
}
