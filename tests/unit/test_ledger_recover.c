/* SPDX-License-Identifier: Apache-2.0 */
/* unit_ledger_recover: the supervisor's cut of a version 2 segment's torn
 * tail (runner/ledger_recover.c), on segments framed as docs/LEDGER.md
 * says. A torn write or a power cut leaves a prefix of the file, or a
 * prefix with zero-filled blocks in its unsynced tail: after recovery the
 * file must be exactly its longest prefix of whole blocks (none at all when
 * the first block is not whole), the cut bytes saved beside it. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/fsutil.h"
#include "../../lib/ledger2.h"
#include "../../runner/append_only.h"
#include "../../runner/ledger_recover.h"
#include "../common/segment_file.h"

static char dir[64], path[128], log_path[160];
static struct sf seg;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mpbs-recover-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/ledger", dir);
	/* what recovery logs, kept for the tests that read it */
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	int lfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(lfd, 0, "open %s: %s", log_path, strerror(errno));
	cr_assert_eq(dup2(lfd, STDERR_FILENO), STDERR_FILENO);
	close(lfd);
	/* segment 3: its first block, then blocks of various sizes */
	sf_begin(&seg, 3, 200);
	sf_block(&seg, L2_SIGNALS, 5);
	sf_block(&seg, L2_CONFIRMED, 1000);
	sf_block(&seg, L2_HEAD, 110);
	sf_block(&seg, L2_SIGNALS, 70000); /* over one read chunk */
	sf_block(&seg, L2_HEAD, 110);
}

static void teardown(void)
{
	char err[256], cmd[160];
	append_only_clear(path, err, sizeof(err)); /* may not exist: nothing to clear */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

TestSuite(unit_ledger_recover, .init = setup, .fini = teardown, .timeout = 60);

static int put(const void *bytes, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	cr_assert_eq(fs_write_all(fd, bytes, len), 0);
	return fd;
}

static uint8_t *file_bytes(const char *p, size_t *len)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", p, strerror(errno));
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	uint8_t *b = malloc((size_t)st.st_size + 1);
	cr_assert_not_null(b);
	cr_assert_eq(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

/* The log holds want once. */
static void assert_logged(const char *want)
{
	size_t len;
	char *log = (char *)file_bytes(log_path, &len);
	log[len] = '\0';
	char *at = strstr(log, want);
	cr_assert_not_null(at, "the log lacks \"%s\": %s", want, log);
	cr_assert_null(strstr(at + 1, want), "the log says \"%s\" twice", want);
	free(log);
}

/* The longest prefix of whole blocks within len bytes; 0 below the first. */
static size_t whole_prefix(size_t len)
{
	size_t keep = 0;
	for (size_t i = 0; i < seg.n_blocks && seg.block_end[i] <= len; i++)
		keep = seg.block_end[i];
	return keep;
}

/* A prefix of len bytes recovered: the file is its whole blocks, the rest
 * saved byte for byte. */
static void check_prefix(size_t len)
{
	int fd = put(seg.bytes, len);
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "at %zu: %s", len, err);
	size_t keep = whole_prefix(len);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq((size_t)st.st_size, keep, "a prefix of %zu bytes kept %lld, not %zu", len, (long long)st.st_size,
		     keep);
	cr_assert_eq((size_t)cut.offset, keep);
	cr_assert_eq((size_t)cut.length, len - keep);
	if (len > keep) {
		size_t slen;
		uint8_t *saved = file_bytes(cut.saved, &slen);
		cr_assert_eq(slen, len - keep);
		cr_assert_eq(memcmp(saved, seg.bytes + keep, slen), 0, "the saved bytes differ");
		free(saved);
		cr_assert_eq(unlink(cut.saved), 0);
	} else {
		cr_assert_eq(cut.saved[0], '\0');
	}
	close(fd);
}

Test(unit_ledger_recover, every_offset_around_each_block_boundary)
{
	for (size_t len = 0; len <= L2_MAGIC_LEN + 40; len++)
		check_prefix(len);
	for (size_t i = 0; i < seg.n_blocks; i++)
		for (size_t len = seg.block_end[i] - 15; len <= seg.block_end[i] + 15 && len <= seg.len; len++)
			check_prefix(len);
	check_prefix(seg.len);
}

Test(unit_ledger_recover, a_segment_cut_in_its_first_block_is_cut_whole_magic_included)
{
	int fd = put(seg.bytes, seg.block_end[0] - 1);
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cut.offset, 0);
	cr_assert_eq(cut.reason, LEDGER_CUT_PAST_EOF);
	char want[512];
	snprintf(want, sizeof(want), "ledger %s: cut %zu bytes at offset 0 (a block that runs past the end of the file, "
		 "at offset 8: the segment's first block, so all of it; 0 complete blocks kept)", path,
		 seg.block_end[0] - 1);
	assert_logged(want);
	close(fd);
}

Test(unit_ledger_recover, zero_filled_hole_cuts_from_it_with_the_blocks_after_it)
{
	/* a power cut: the third block's pages never reached the disk, the
	 * fourth's did */
	uint8_t *copy = malloc(seg.len);
	cr_assert_not_null(copy);
	memcpy(copy, seg.bytes, seg.len);
	memset(copy + seg.block_end[1], 0, seg.block_end[2] - seg.block_end[1]);
	int fd = put(copy, seg.len);
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq((size_t)cut.offset, seg.block_end[1]);
	cr_assert_eq((size_t)cut.length, seg.len - seg.block_end[1]);
	cr_assert_eq(cut.reason, LEDGER_CUT_MARKER);
	cr_assert_eq(cut.blocks, 2);
	char want[512];
	snprintf(want, sizeof(want), "(a block whose marker is not 0xB2, at offset %zu; 2 complete blocks kept)",
		 seg.block_end[1]);
	assert_logged(want);
	close(fd);
	free(copy);
}

Test(unit_ledger_recover, a_length_out_of_range_is_cut)
{
	uint8_t *copy = malloc(seg.len);
	cr_assert_not_null(copy);
	memcpy(copy, seg.bytes, seg.len);
	/* the second block declares a body shorter than a record header */
	copy[seg.block_end[0] + 9] = copy[seg.block_end[0] + 10] = copy[seg.block_end[0] + 11] = 0;
	copy[seg.block_end[0] + 12] = L2_BLOCK_BODY_MIN - 1;
	int fd = put(copy, seg.len);
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq((size_t)cut.offset, seg.block_end[0]);
	cr_assert_eq(cut.reason, LEDGER_CUT_LENGTH);
	close(fd);
	free(copy);
}

Test(unit_ledger_recover, saved_copy_is_capped)
{
	/* a block that declares the largest body and holds more than the cap */
	size_t tail = LEDGER_CUT_SAVE_MAX + 300000;
	size_t keep = seg.block_end[1], big = keep + L2_BLOCK_HDR_LEN + tail;
	uint8_t *data = calloc(1, big);
	cr_assert_not_null(data);
	memcpy(data, seg.bytes, keep);
	data[keep] = L2_BLOCK_MARKER;
	data[keep + 10] = (uint8_t)(L2_BLOCK_BODY_MAX >> 16);
	int fd = put(data, big);
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq((size_t)cut.offset, keep);
	cr_assert_eq(cut.saved_len, LEDGER_CUT_SAVE_MAX);
	char want[PATH_MAX + 512];
	snprintf(want, sizeof(want), "only the first %d bytes saved in %s (the cap of a saved cut): the rest is gone",
		 LEDGER_CUT_SAVE_MAX, cut.saved);
	assert_logged(want);
	size_t slen;
	uint8_t *saved = file_bytes(cut.saved, &slen);
	cr_assert_eq(slen, LEDGER_CUT_SAVE_MAX);
	cr_assert_eq(memcmp(saved, data + keep, slen), 0);
	free(saved);
	close(fd);
	free(data);
}

/* Nothing is cut unless it was saved first. */
Test(unit_ledger_recover, nothing_is_cut_when_the_copy_cannot_be_saved)
{
	size_t len = seg.block_end[1] + 7;
	int fd = put(seg.bytes, len);
	char *long_path = malloc(PATH_MAX);
	cr_assert_not_null(long_path);
	memset(long_path, 'a', PATH_MAX - 8);
	long_path[0] = '/';
	long_path[PATH_MAX - 8] = '\0';
	struct ledger_cut cut;
	char err[3 * PATH_MAX] = "";
	cr_assert_eq(ledger_file_recover(fd, long_path, &cut, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "File name too long"), "%s", err);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq((size_t)st.st_size, len, "the file was cut without a saved copy");
	close(fd);
	free(long_path);
}

Test(unit_ledger_recover, append_only_flag_is_back_after_the_cut)
{
	size_t len = seg.block_end[2];
	int fd = put(seg.bytes, len);
	if (append_only_set(fd, true) < 0) {
		int e = errno;
		close(fd);
		cr_skip_test("cannot set FS_APPEND_FL on %s: %s (needs root and a filesystem with the flag)", path,
			     strerror(e));
	}
	cr_assert_eq(write(fd, seg.bytes + len, 7), 7, "O_APPEND writes still work");
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq((size_t)cut.offset, len);
	cr_assert_eq(cut.length, 7);
	char want[PATH_MAX + 512];
	snprintf(want, sizeof(want), "ledger %s: cut 7 bytes at offset %zu (a block that runs past the end of the file, "
		 "at offset %zu; 3 complete blocks kept): 7 bytes saved in %s.cut-%zu\n", path, len, len, path, len);
	assert_logged(want);
	int flags = 0;
	cr_assert_eq(ioctl(fd, FS_IOC_GETFLAGS, &flags), 0, "%s", strerror(errno));
	cr_assert(flags & FS_APPEND_FL, "the segment is no longer append-only after the cut");
	cr_assert_eq(ftruncate(fd, 0), -1, "the append-only segment could be truncated");
	cr_assert_eq(errno, EPERM);
	close(fd);
}
