/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "secrets.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One section at *off: its length (bounded), then its bytes. */
static char *read_section(int fd, off_t *off, const char *name, char *err, size_t errlen)
{
	uint8_t head[4];
	if (pread(fd, head, sizeof(head), *off) != (ssize_t)sizeof(head)) {
		snprintf(err, errlen, "--secrets-fd %d: %s: %s", fd, name, errno ? strerror(errno) : "cut short");
		return NULL;
	}
	uint32_t len = (uint32_t)head[0] | (uint32_t)head[1] << 8 | (uint32_t)head[2] << 16 | (uint32_t)head[3] << 24;
	if (len > SECRETS_SECTION_MAX) {
		snprintf(err, errlen, "--secrets-fd %d: %s: %u bytes, more than %u", fd, name, len, SECRETS_SECTION_MAX);
		return NULL;
	}
	char *out = calloc(1, (size_t)len + 1);
	if (!out || (len && pread(fd, out, len, *off + 4) != (ssize_t)len)) {
		snprintf(err, errlen, "--secrets-fd %d: %s: %s", fd, name, out ? "cut short" : "out of memory");
		free(out);
		return NULL;
	}
	if (memchr(out, '\0', len)) {
		snprintf(err, errlen, "--secrets-fd %d: %s holds a NUL byte", fd, name);
		explicit_bzero(out, len);
		free(out);
		return NULL;
	}
	*off += 4 + (off_t)len;
	return out;
}

int secrets_read(int fd, struct secrets *s, char *err, size_t errlen)
{
	*s = (struct secrets){ 0 };
	off_t off = 0;
	errno = 0;
	if (!(s->password = read_section(fd, &off, "password", err, errlen)) ||
	    !(s->ca = read_section(fd, &off, "CA", err, errlen)) ||
	    !(s->cert = read_section(fd, &off, "certificate", err, errlen)) ||
	    !(s->key = read_section(fd, &off, "key", err, errlen))) {
		secrets_free(s);
		return -1;
	}
	if (!s->password[0] || (!s->cert[0]) != (!s->key[0])) {
		snprintf(err, errlen, "--secrets-fd %d: %s", fd,
			 !s->password[0] ? "no password" : "a certificate without its key, or a key without its certificate");
		secrets_free(s);
		return -1;
	}
	return 0;
}

static void wipe(char **p)
{
	if (*p)
		explicit_bzero(*p, strlen(*p));
	free(*p);
	*p = NULL;
}

void secrets_free(struct secrets *s)
{
	wipe(&s->password);
	wipe(&s->ca);
	wipe(&s->cert);
	wipe(&s->key);
}
