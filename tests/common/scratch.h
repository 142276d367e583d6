/* SPDX-License-Identifier: Apache-2.0 */
/* A unit suite's scratch directory: made under /tmp for each test (its
 * .init), entered, and removed with all it holds (its .fini). */
#ifndef MPBS_TEST_SCRATCH_H
#define MPBS_TEST_SCRATCH_H

#include <limits.h>

/* The directory's absolute path while a test runs. */
extern char scratch_dir[PATH_MAX];

/* Makes /tmp/mpbs-TAG-XXXXXX and enters it (chdir). */
void scratch_enter(const char *tag);

/* Removes the directory and everything beneath it. */
void scratch_leave(void);

/* Writes text to NAME, relative to the directory (asserts on failure). */
void scratch_write(const char *name, const char *text);

/* Makes directory NAME, mode 0755, relative to the directory. */
void scratch_mkdir(const char *name);

#endif
