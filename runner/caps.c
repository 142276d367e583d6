/* SPDX-License-Identifier: Apache-2.0 */
/* Dropping every capability for good, and reading another process's sets. */
#define _GNU_SOURCE
#include "caps.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

/* uid 0 inside the namespace must not mean capabilities after an execve,
 * a setuid must not hand any back, and nothing of this may be undone. */
#define LOCKED_SECUREBITS                                                                  \
	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |                   \
	 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | \
	 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

/* libcap may know fewer capabilities than the running kernel has. */
static int cap_count(void)
{
	int n = cap_max_bits();
	while (n < 64 && prctl(PR_CAPBSET_READ, (unsigned long)n, 0, 0, 0) >= 0)
		n++;
	return n;
}

/* cap_to_name allocates; messages want a plain buffer. */
static const char *cap_label(int cap, char *buf, size_t len)
{
	char *name = cap_to_name(cap);
	snprintf(buf, len, "%s", name ? name : "?");
	cap_free(name);
	return buf;
}

static int lock_securebits(char *err, size_t errlen)
{
	if (prctl(PR_SET_SECUREBITS, (unsigned long)LOCKED_SECUREBITS, 0, 0, 0) < 0) {
		snprintf(err, errlen, "caps: set securebits: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int drop_bounding(int n, char *err, size_t errlen)
{
	char name[32];
	for (int cap = 0; cap < n; cap++) {
		if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0) {
			int saved = errno;
			snprintf(err, errlen, "caps: drop %s from the bounding set: %s",
				 cap_label(cap, name, sizeof name), strerror(saved));
			return -1;
		}
	}
	return 0;
}

static int clear_ambient(char *err, size_t errlen)
{
	/* EINVAL: a kernel before 4.3 has no ambient set to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		snprintf(err, errlen, "caps: clear the ambient set: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int empty_process_sets(char *err, size_t errlen)
{
	cap_t none = cap_init();
	if (!none) {
		snprintf(err, errlen, "caps: cap_init: %s", strerror(errno));
		return -1;
	}
	int rc = cap_set_proc(none);
	int saved = errno;
	cap_free(none);
	if (rc < 0) {
		snprintf(err, errlen, "caps: empty effective, permitted, inheritable: %s", strerror(saved));
		return -1;
	}
	return 0;
}

static int verify_process_sets(char *err, size_t errlen)
{
	cap_t now = cap_get_proc();
	cap_t none = cap_init();
	int same = now && none && cap_compare(now, none) == 0;
	if (!same) {
		char *text = now ? cap_to_text(now, NULL) : NULL;
		snprintf(err, errlen, "caps: capabilities remain after the drop: %s",
			 text ? text : strerror(errno));
		cap_free(text);
	}
	cap_free(now);
	cap_free(none);
	return same ? 0 : -1;
}

static int verify_bounding_ambient(int n, char *err, size_t errlen)
{
	char name[32];
	for (int cap = 0; cap < n; cap++) {
		const char *where = NULL;
		if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) != 0)
			where = "bounding";
		else if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long)cap, 0, 0) > 0)
			where = "ambient";
		if (where) {
			snprintf(err, errlen, "caps: %s is still in the %s set", cap_label(cap, name, sizeof name),
				 where);
			return -1;
		}
	}
	return 0;
}

static int verify_securebits(char *err, size_t errlen)
{
	int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	if (bits != LOCKED_SECUREBITS) {
		snprintf(err, errlen, "caps: securebits read back as %#x, expected %#x", (unsigned)bits,
			 (unsigned)LOCKED_SECUREBITS);
		return -1;
	}
	return 0;
}

int caps_drop_all(char *err, size_t errlen)
{
	int n = cap_count();
	/* Securebits and the bounding set need CAP_SETPCAP: they go first. */
	if (lock_securebits(err, errlen) < 0 || drop_bounding(n, err, errlen) < 0 ||
	    clear_ambient(err, errlen) < 0 || empty_process_sets(err, errlen) < 0)
		return -1;
	if (verify_process_sets(err, errlen) < 0 || verify_bounding_ambient(n, err, errlen) < 0 ||
	    verify_securebits(err, errlen) < 0)
		return -1;
	return 0;
}

int caps_read_status(pid_t pid, uint64_t masks[5])
{
	static const char *const names[5] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };
	char path[64], line[256];
	unsigned seen = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		for (int i = 0; i < 5; i++) {
			size_t len = strlen(names[i]);
			if (strncmp(line, names[i], len) == 0 && sscanf(line + len, "%" SCNx64, &masks[i]) == 1)
				seen |= 1u << i;
		}
	}
	fclose(f);
	if (seen != 0x1f) {
		errno = ENODATA;
		return -1;
	}
	return 0;
}
