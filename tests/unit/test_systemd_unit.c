/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* contrib/systemd/mpbs-run@.service passes `systemd-analyze verify`, with
 * nothing said (a key systemd does not know, or a value it cannot parse, is
 * only a warning there: the exit status alone would let it through), and
 * keeps what the service relies on. verify needs the ExecStart binary to
 * exist: the unit is checked as a copy whose binary path is the build's
 * (MPBS_RUN), under an instance name, in a temporary directory. Man pages
 * are not looked up (--man=no): they are installed with the package, not
 * present in a build tree. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/harness.h"

#define UNIT_PATH "contrib/systemd/mpbs-run@.service"
#define INSTALLED_BINARY "/usr/bin/mpbs-run"

static char *unit_text(void)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", mpbs_srcdir(), UNIT_PATH);
	char *text = read_file(path, NULL);
	cr_assert(text, "cannot read %s", path);
	return text;
}

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
	bool found = false;
	for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char full[PATH_MAX];
		snprintf(full, sizeof(full), "%s/%s", dir, prog);
		found = access(full, X_OK) == 0;
	}
	free(copy);
	return found;
}

/* text with every INSTALLED_BINARY replaced by binary; malloc'd. */
static char *with_binary(const char *text, const char *binary)
{
	size_t cap = strlen(text) * 2 + 4096, n = 0;
	char *out = malloc(cap);
	for (const char *p = text; *p;) {
		if (strncmp(p, INSTALLED_BINARY, strlen(INSTALLED_BINARY)) == 0) {
			n += (size_t)snprintf(out + n, cap - n, "%s", binary);
			p += strlen(INSTALLED_BINARY);
		} else {
			out[n++] = *p++;
		}
		cr_assert_lt(n, cap - PATH_MAX);
	}
	out[n] = '\0';
	return out;
}

Test(unit_systemd, the_unit_passes_systemd_analyze_verify)
{
	cr_assert(on_path("systemd-analyze"),
		  "systemd-analyze is not installed: it is how the unit file is checked (Debian package systemd, "
		  "listed in contrib/deps.sh)");
	char binary[PATH_MAX];
	cr_assert(realpath(mpbs_binary(), binary), "the binary under test (MPBS_RUN=%s) is missing", mpbs_binary());
	char *text = unit_text();
	cr_assert(strstr(text, INSTALLED_BINARY), "the unit names no %s", INSTALLED_BINARY);
	char *copy = with_binary(text, binary);
	char dir[] = "/tmp/mpbs-unit-XXXXXX", unit[PATH_MAX];
	cr_assert(mkdtemp(dir));
	snprintf(unit, sizeof(unit), "%s/mpbs-run@reference.service", dir);
	cr_assert_eq(write_text_file(unit, copy), 0);
	char *argv[] = { "systemd-analyze", "verify", "--man=no", unit, NULL }, *out = NULL;
	int rc = run_cmd(argv, &out);
	unlink(unit);
	rmdir(dir);
	cr_assert_eq(rc, 0, "systemd-analyze verify exited %d:\n%s", rc, out);
	cr_assert_str_eq(out, "", "systemd-analyze verify had something to say:\n%s", out);
	free(out);
	free(copy);
	free(text);
}

/* A unit systemd-analyze would still accept, but that would not run the
 * service as it must be run. */
Test(unit_systemd, the_unit_keeps_what_the_service_relies_on)
{
	static const char *const needed[] = {
		"\nType=notify\n",                                   /* sd_notify READY=1 */
		"\nNotifyAccess=main\n",                             /* only the supervisor notifies */
		"\nExecStartPre=" INSTALLED_BINARY " -t /etc/mpbs-run/%i.conf\n",
		"\nExecStart=" INSTALLED_BINARY " /etc/mpbs-run/%i.conf\n",
		"\nExecReload=/bin/kill -HUP $MAINPID\n",            /* the SIGHUP check */
		"\nRestartPreventExitStatus=78\n",                   /* a bad topology */
		"\nRestart=on-failure\n",
		"\nKillMode=mixed\n",                                /* the supervisor stops its roles in order */
		"\nStateDirectory=mpbs/%i\n",
	};
	static const char *const forbidden[] = {
		"\nProtectKernelTunables=yes", "\nProtectHostname=yes", "\nRestrictNamespaces=",
		"\nSystemCallFilter=", "\nRuntimeDirectory=", "\nProtectControlGroups=yes",
	};
	char *text = unit_text();
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		cr_assert(strstr(text, needed[i]), "the unit lacks '%s'", needed[i] + 1);
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		cr_assert_null(strstr(text, forbidden[i]), "the unit sets '%s', which breaks the run", forbidden[i] + 1);
	/* the stop timeout outlasts the three stop phases at the default drain timeout */
	const char *t = strstr(text, "\nTimeoutStopSec=");
	cr_assert(t, "no TimeoutStopSec");
	cr_assert_gt(atoi(t + strlen("\nTimeoutStopSec=")), 3 * 10);
	free(text);
}
