/* SPDX-License-Identifier: Apache-2.0 */
/* Key files as the supervisor finds them: it refuses a secret key that
 * its group or others may read, naming the file, and its chown of demo
 * keys never follows a symlink planted in a key directory. Needs root. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/harness.h"

static struct mpbs m;

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
}

static void finish(void)
{
	if (m.pid > 0)
		mpbs_stop(&m);
	mpbs_cleanup(&m);
}

TestSuite(e2e_key_files, .fini = finish, .timeout = 60);

Test(e2e_key_files, a_secret_key_open_to_its_group_is_refused_by_name)
{
	char key[PATH_MAX + 32], want[PATH_MAX + 160];
	need_root();
	cr_assert_eq(mpbs_start(&m, "A B", NULL), 0, "first start (demo keys): log %s", m.log);
	cr_assert_eq(mpbs_stop(&m), 0);
	m.pid = 0;
	snprintf(key, sizeof(key), "%s/keys/B/signal.key", m.dir);
	cr_assert_eq(chmod(key, 0640), 0);
	cr_assert_neq(mpbs_launch(&m), 0, "started with a group-readable signal.key");
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	snprintf(want, sizeof(want), "provider B: secret key %s has mode 0640 (group or other bits set): refused", key);
	cr_assert_not_null(strstr(log, want), "log: %s", log);
	free(log);
}

Test(e2e_key_files, demo_keys_never_chown_through_a_symlink)
{
	char dir[PATH_MAX + 32], victim[PATH_MAX + 32], link[PATH_MAX + 64];
	struct stat st;
	need_root();
	cr_assert_eq(mpbs_prepare(&m, "A", NULL), 0);
	snprintf(victim, sizeof(victim), "%s/victim", m.dir);
	cr_assert_eq(write_text_file(victim, "root's file\n"), 0);
	snprintf(dir, sizeof(dir), "%s/keys", m.dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/keys/A", m.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(link, sizeof(link), "%s/token.key", dir);
	cr_assert_eq(symlink(victim, link), 0);
	cr_assert_neq(mpbs_launch(&m), 0, "started with a symlink among its demo keys");
	cr_assert_eq(stat(victim, &st), 0);
	cr_assert_eq(st.st_uid, 0, "the symlink's target was chowned to %u", st.st_uid);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	cr_assert_not_null(strstr(log, "token.key: a symlink, refused"), "log: %s", log);
	free(log);
}
