/* SPDX-License-Identifier: Apache-2.0 */
/* The intermediary, the role that parses what the network sends, never
 * speaks TLS, so no TLS library may sit in its address space: each one is
 * code a memory bug there could reuse. Read from the host in the sealed,
 * serving intermediary's /proc/PID/maps: no mapping of libgnutls, libssl,
 * libcrypto or p11-kit, and the binary itself mapped (the maps were read).
 * Needs root. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/harness.h"

HARNESS_ROOT_FIXTURE

/* File name prefixes of TLS code: GnuTLS, OpenSSL's two libraries, and
 * p11-kit (libp11-kit and its trust module p11-kit-trust.so, which GnuTLS
 * loads). libcrypt (password hashing) is not libcrypto. */
static const char *const tls_prefixes[] = { "libgnutls", "libssl.", "libcrypto.", "libp11-kit", "p11-kit" };

static const char *tls_library(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(tls_prefixes) / sizeof(tls_prefixes[0]); i++)
		if (strncmp(base, tls_prefixes[i], strlen(tls_prefixes[i])) == 0)
			return tls_prefixes[i];
	return NULL;
}

Test(iso_tls_free, the_sealed_intermediary_maps_no_tls_library, .init = need_root, .fini = finish, .timeout = 60)
{
	static const char body[] = "no-tls";
	cr_assert_eq(mpbs_start(&m, "A", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	/* one request answered: the intermediary is sealed and in its loop,
	 * with whatever its HTTP engine loads on first use */
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, body, sizeof(body) - 1), 204);
	pid_t im = mpbs_role_pid(&m, "mpbs-int");
	cr_assert_gt(im, 0, "no intermediary among the supervisor's children");
	char binary[PATH_MAX];
	cr_assert_not_null(realpath(mpbs_binary(), binary), "realpath %s", mpbs_binary());

	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)im);
	FILE *maps = fopen(path, "re");
	cr_assert_not_null(maps, "%s", path);
	char line[PATH_MAX + 128], found[4096] = "";
	size_t lines = 0, binary_maps = 0, tls_maps = 0;
	while (fgets(line, sizeof(line), maps)) {
		lines++;
		line[strcspn(line, "\n")] = '\0';
		const char *file = strchr(line, '/');
		if (!file)
			continue; /* anonymous, [heap], [stack], [vdso] */
		if (strcmp(file, binary) == 0)
			binary_maps++;
		const char *prefix = tls_library(file);
		if (prefix && !strstr(found, file)) {
			tls_maps++;
			size_t used = strlen(found);
			snprintf(found + used, sizeof(found) - used, "\n  %s (%s*)", file, prefix);
		}
	}
	fclose(maps);
	cr_assert_gt(lines, 0, "%s: read nothing", path);
	cr_assert_gt(binary_maps, 0, "%s (%zu lines): no mapping of the binary %s", path, lines, binary);
	cr_assert_eq(tls_maps, 0, "the intermediary (pid %d) maps %zu TLS librar%s:%s", (int)im, tls_maps,
		     tls_maps == 1 ? "y" : "ies", found);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
}
