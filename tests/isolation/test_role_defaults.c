/* SPDX-License-Identifier: Apache-2.0 */
/* The defaults a role gets, seen from the host on a live run whose
 * topology sets no limits: every role runs under the default rlimits of
 * runner/limits.c (core 0, bounded address space, files, processes and
 * file size; no file size cap on the association, whose ledger grows), and
 * a provider's /proc is read-only procfs with subset=pid,hidepid=invisible
 * while its state directory is noexec. Needs root. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/harness.h"

#define UID_BASE m.uid_base /* this instance's [runner] uid_base (tests/common/harness.c) */

static struct mpbs m;

static void setup(void)
{
	char state[PATH_MAX + 32], lines[PATH_MAX + 64];
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(mpbs_prepare(&m, "A B", NULL), 0, "temporary topology");
	snprintf(state, sizeof(state), "%s/state-A", m.dir);
	cr_assert_eq(mkdir(state, 0700), 0);
	cr_assert_eq(chown(state, UID_BASE + 2, UID_BASE + 2), 0);
	snprintf(lines, sizeof(lines), "state = %s\n", state);
	cr_assert_eq(topology_insert(m.topology, "provider A", lines), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
}

static void teardown(void)
{
	if (m.pid > 0)
		mpbs_stop(&m);
	mpbs_cleanup(&m);
}

TestSuite(iso_role_defaults, .init = setup, .fini = teardown, .timeout = 60);

/* The hard limit /proc/PID/limits shows for a resource ("Max open files"),
 * UINT64_MAX for "unlimited". */
static uint64_t hard_limit_of(pid_t pid, const char *name)
{
	char path[64], line[256], soft[32], hard[32];
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	uint64_t v = 0;
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		if (strncmp(line, name, strlen(name)) == 0 && sscanf(line + 26, "%31s %31s", soft, hard) == 2) {
			cr_assert_str_eq(soft, hard, "%s: soft = hard", name);
			v = strcmp(hard, "unlimited") == 0 ? UINT64_MAX : strtoull(hard, NULL, 10);
			found = true;
		}
	fclose(f);
	cr_assert(found, "no '%s' in %s", name, path);
	return v;
}

/* What the supervisor inherited (the test's own hard limit) caps a default. */
static uint64_t capped(int resource, uint64_t value)
{
	struct rlimit r;
	cr_assert_eq(getrlimit(resource, &r), 0);
	return r.rlim_max != RLIM_INFINITY && (uint64_t)r.rlim_max < value ? (uint64_t)r.rlim_max : value;
}

static uint64_t inherited(int resource)
{
	struct rlimit r;
	cr_assert_eq(getrlimit(resource, &r), 0);
	return r.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)r.rlim_max;
}

static pid_t role(const char *comm)
{
	pid_t pid = mpbs_role_pid(&m, comm);
	cr_assert_gt(pid, 0, "no role %s", comm);
	return pid;
}

Test(iso_role_defaults, every_role_runs_under_the_default_rlimits)
{
	const char *const comms[] = { "mpbs-int", "mpbs-assoc", "mpbs-p-A", "mpbs-p-B" };
	for (size_t i = 0; i < 4; i++) {
		pid_t pid = role(comms[i]);
		bool assoc = i == 1;
		cr_assert_eq(hard_limit_of(pid, "Max core file size"), 0, "%s", comms[i]);
		uint64_t nofile = i == 0 ? 4096 + 2 + 64 : assoc ? 256 : 1024;
		cr_assert_eq(hard_limit_of(pid, "Max open files"), capped(RLIMIT_NOFILE, nofile), "%s", comms[i]);
		cr_assert_eq(hard_limit_of(pid, "Max file size"),
			     assoc ? inherited(RLIMIT_FSIZE) : capped(RLIMIT_FSIZE, 1ULL << 30), "%s", comms[i]);
#ifndef MPBS_SANITIZED
		cr_assert_eq(hard_limit_of(pid, "Max address space"), capped(RLIMIT_AS, 1ULL << 30), "%s", comms[i]);
		cr_assert_eq(hard_limit_of(pid, "Max processes"), assoc ? 2 : 1, "%s", comms[i]);
#endif
	}
}

/* The line of /proc/PID/mountinfo whose mount point is where. */
static bool mount_line(pid_t pid, const char *where, char *out, size_t len)
{
	char path[64], line[1024], point[256];
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d %*d %*s %*s %255s", point) == 1 && strcmp(point, where) == 0) {
			snprintf(out, len, "%s", line);
			found = true;
		}
	fclose(f);
	return found;
}

Test(iso_role_defaults, a_providers_proc_is_read_only_pids_only_and_hides_others)
{
	char line[1024];
	pid_t pid = role("mpbs-p-A");
	cr_assert(mount_line(pid, "/proc", line, sizeof(line)), "no /proc in provider A");
	/* mount options (field 6), then "- proc proc SUPER_OPTIONS" */
	cr_assert_not_null(strstr(line, " ro,"), "/proc is not mounted read-only: %s", line);
	const char *super = strstr(line, " - proc ");
	cr_assert_not_null(super, "%s", line);
	cr_assert_not_null(strstr(super, "subset=pid"), "%s", line);
	cr_assert_not_null(strstr(super, "hidepid=invisible"), "%s", line);
}

Test(iso_role_defaults, a_providers_state_directory_is_noexec)
{
	char line[1024];
	pid_t pid = role("mpbs-p-A");
	cr_assert(mount_line(pid, "/state", line, sizeof(line)), "no /state in provider A");
	cr_assert_not_null(strstr(line, "noexec"), "/state is executable: %s", line);
	cr_assert_not_null(strstr(line, " rw,"), "/state should stay writable: %s", line);
}
