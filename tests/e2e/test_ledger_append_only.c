/* SPDX-License-Identifier: Apache-2.0 */
/* e2e_ledger_append_only: [association] ledger_append_only on a real
 * filesystem that has no FS_APPEND_FL (a ramfs mounted for the test).
 * `required` (the default) refuses to start, naming the
 * ledger and the key, before any role runs; `best-effort` warns and runs.
 * Needs root (mount). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "../common/harness.h"

static struct mpbs m;
static char ramfs_dir[PATH_MAX];
static bool mounted;

/* Points the topology's ledger at a fresh ramfs (no FS_IOC_SETFLAGS). */
static void prepare_on_ramfs(const char *association_lines)
{
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0);
	snprintf(ramfs_dir, sizeof(ramfs_dir), "%s/ramfs", m.dir);
	cr_assert_eq(mkdir(ramfs_dir, 0755), 0);
	cr_assert_eq(mount("ramfs", ramfs_dir, "ramfs", MS_NOSUID | MS_NODEV, "mode=0755"), 0, "mount ramfs: %s",
		     strerror(errno));
	mounted = true;
	/* The control: this filesystem really cannot carry the flag. */
	char probe[PATH_MAX + 16];
	snprintf(probe, sizeof(probe), "%s/probe", ramfs_dir);
	int fd = open(probe, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int flags = 0;
	cr_assert_geq(fd, 0);
	cr_assert_lt(ioctl(fd, FS_IOC_GETFLAGS, &flags), 0, "ramfs has no inode flags");
	close(fd);
	unlink(probe);

	size_t len;
	char *text = read_file(m.topology, &len);
	cr_assert_not_null(text);
	char *at = strstr(text, m.ledger);
	cr_assert_not_null(at);
	char fresh[PATH_MAX + 32];
	snprintf(fresh, sizeof(fresh), "%s/ledger", ramfs_dir);
	char *out = NULL;
	cr_assert_geq(asprintf(&out, "%.*s%s%s", (int)(at - text), text, fresh, at + strlen(m.ledger)), 0);
	cr_assert_eq(write_text_file(m.topology, out), 0);
	cr_assert_lt(strlen(fresh), sizeof(m.ledger));
	memcpy(m.ledger, fresh, strlen(fresh) + 1);
	free(out);
	free(text);
	if (association_lines)
		cr_assert_eq(topology_insert(m.topology, "association", association_lines), 0);
}

static void teardown(void)
{
	if (m.pid > 0)
		mpbs_stop(&m);
	if (mounted && umount2(ramfs_dir, MNT_DETACH) < 0)
		cr_log_error("umount %s: %s", ramfs_dir, strerror(errno));
	mounted = false;
	mpbs_cleanup(&m);
}

TestSuite(e2e_ledger_append_only, .fini = teardown, .timeout = 120);

Test(e2e_ledger_append_only, required_by_default_refuses_to_start_and_names_the_ledger_and_key)
{
	prepare_on_ramfs(NULL);
	cr_assert_eq(mpbs_launch(&m), -1, "must not become ready");
	int st;
	cr_assert_eq(waitpid(m.pid, &st, 0), m.pid);
	m.pid = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "refused with a non-zero exit (status 0x%x)", st);
	char needle[PATH_MAX + 16];
	snprintf(needle, sizeof(needle), "ledger %s:", m.ledger);
	cr_assert_eq(file_count(m.log, needle), 1, "the error names the ledger");
	cr_assert_eq(file_count(m.log, "[association] ledger_append_only = required"), 1, "and the key");
	/* Nothing started: the supervisor never reached its sandbox report,
	 * and no role wrote a record. */
	cr_assert_eq(file_count(m.log, "sandbox:"), 0);
	cr_assert_eq(file_count(m.log, "ready:"), 0);
	struct stat sb;
	cr_assert(stat(m.ledger, &sb) < 0 || sb.st_size == 0);
}

Test(e2e_ledger_append_only, explicit_required_is_the_same)
{
	prepare_on_ramfs("ledger_append_only = required\n");
	cr_assert_eq(mpbs_launch(&m), -1);
	int st;
	cr_assert_eq(waitpid(m.pid, &st, 0), m.pid);
	m.pid = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	cr_assert_eq(file_count(m.log, "[association] ledger_append_only = required"), 1);
}

Test(e2e_ledger_append_only, best_effort_warns_and_runs)
{
	prepare_on_ramfs("ledger_append_only = best-effort\n");
	cr_assert_eq(mpbs_launch(&m), 0, "best-effort starts");
	cr_assert_eq(file_count(m.log, "running anyway ([association] ledger_append_only = best-effort)"), 1);
	cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, "hello", 5), 204);
	cr_assert_geq(ledger_wait_count(m.ledger, "confirmed", 1, 10000 * harness_time_scale()), 1);
	cr_assert_eq(mpbs_stop(&m), 0);
}
