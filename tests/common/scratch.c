/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "scratch.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

char scratch_dir[PATH_MAX];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

void scratch_enter(const char *tag)
{
	char tpl[64];
	snprintf(tpl, sizeof(tpl), "/tmp/mpbs-%s-XXXXXX", tag);
	cr_assert_not_null(mkdtemp(tpl), "mkdtemp %s", tpl);
	cr_assert_not_null(realpath(tpl, scratch_dir));
	cr_assert_eq(chdir(scratch_dir), 0);
}

void scratch_leave(void)
{
	if (scratch_dir[0])
		nftw(scratch_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void scratch_write(const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "fopen %s", path);
	cr_assert(fputs(text, f) >= 0, "write %s", path);
	cr_assert_eq(fclose(f), 0, "close %s", path);
}

void scratch_mkdir(const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s", path);
}
