/* SPDX-License-Identifier: Apache-2.0 */
/* unit_segments: the supervisor's side of the ledger's segment files
 * (runner/segments.c): each reconcile case of its first comment on files
 * left as a kill would leave them, the rotation as the association asks
 * for it on the segments socket, and the retention. The segments are
 * framed by hand (tests/common/segment_file.h): the supervisor reads no
 * more of them than that. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/fsutil.h"
#include "../../lib/ledger2.h"
#include "../../lib/ledger2_files.h"
#include "../../roles/association/association.h"
#include "../../runner/append_only.h"
#include "../../runner/segments.h"
#include "../common/segment_file.h"

static char dir[64], ledger[128], log_path[160];
static struct segments sg;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mpbs-segments-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(ledger, sizeof(ledger), "%s/ledger", dir);
	snprintf(log_path, sizeof(log_path), "%s.log", dir);
	int lfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(lfd, 0);
	cr_assert_eq(dup2(lfd, STDERR_FILENO), STDERR_FILENO);
	close(lfd);
	segments_init(&sg);
}

static void teardown(void)
{
	char cmd[512];
	segments_close(&sg);
	snprintf(cmd, sizeof(cmd), "chattr -R -a '%s' 2>/dev/null; rm -rf '%s' '%s'", dir, dir, log_path);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

TestSuite(unit_segments, .init = setup, .fini = teardown, .timeout = 30);

/* dir/name */
static const char *at(const char *name)
{
	static char p[4][320];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

/* A segment of this number: its first block and one more; len 0: all. */
static void put_segment(const char *name, uint32_t number, size_t len)
{
	static struct sf f;
	sf_begin(&f, number, 64 + number);
	sf_block(&f, L2_HEAD, 110);
	cr_assert_eq(sf_write(&f, len ? len : f.len, at(name)), 0, "%s: %s", name, strerror(errno));
}

static void put_text(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");
	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static bool exists(const char *name)
{
	struct stat st;
	return stat(at(name), &st) == 0;
}

static off_t size_of(const char *name)
{
	struct stat st;
	cr_assert_eq(stat(at(name), &st), 0, "%s: %s", name, strerror(errno));
	return st.st_size;
}

/* The segment number a file holds (0: none). */
static uint32_t number_of(const char *name)
{
	uint8_t b[4] = { 0 };
	int fd = open(at(name), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", name, strerror(errno));
	ssize_t n = pread(fd, b, 4, L2_SEGMENT_NUMBER_OFF);
	close(fd);
	return n == 4 ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
}

static ino_t ino_of(const char *name)
{
	struct stat st;
	cr_assert_eq(stat(at(name), &st), 0, "%s: %s", name, strerror(errno));
	return st.st_ino;
}

static int open_ledger(uint32_t keep_segments, uint32_t keep_days, char *err, size_t errlen)
{
	return segments_open(&sg, ledger, keep_segments, keep_days, err, errlen);
}

static void open_ok(uint32_t keep_segments, uint32_t keep_days)
{
	char err[1024] = "";
	cr_assert_eq(open_ledger(keep_segments, keep_days, err, sizeof(err)), 0, "%s", err);
	cr_assert_geq(sg.live_fd, 0);
	cr_assert_geq(sg.spare_fd, 0);
	cr_assert_geq(sg.sock, 0);
	cr_assert_geq(sg.peer, 0);
	cr_assert_eq(size_of("ledger.next"), 0, "the spare is not empty");
}

/* What the log says, once. */
static void assert_logged(const char *want)
{
	char *log = NULL;
	size_t cap = 0;
	FILE *f = fopen(log_path, "r");
	cr_assert_not_null(f);
	ssize_t n = getdelim(&log, &cap, '\0', f);
	fclose(f);
	cr_assert_gt(n, 0, "the log is empty; wanted \"%s\"", want);
	cr_assert_not_null(strstr(log, want), "the log lacks \"%s\": %s", want, log);
	free(log);
}

/* ------------------------------------------------------------ reconcile */

Test(unit_segments, r5_a_fresh_ledger_gets_an_empty_live_segment_and_an_empty_spare)
{
	open_ok(0, 0);
	cr_assert_eq(size_of("ledger"), 0);
	struct stat st;
	cr_assert_eq(fstat(sg.live_fd, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
	cr_assert_eq(fcntl(sg.live_fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDWR | O_APPEND);
	cr_assert_eq(fcntl(sg.spare_fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDWR | O_APPEND);
}

Test(unit_segments, r1_a_rotation_cut_before_its_renames_is_finished)
{
	put_segment("ledger", 4, 0);
	put_segment("ledger.next", 5, 0);
	off_t sealed_size = size_of("ledger"), next_size = size_of("ledger.next");
	open_ok(0, 0);
	cr_assert_eq(number_of("ledger.000004"), 4);
	cr_assert_eq(size_of("ledger.000004"), sealed_size);
	cr_assert_eq(number_of("ledger"), 5);
	cr_assert_eq(size_of("ledger"), next_size);
	assert_logged("segment 4 was sealed (the rotation was cut): renamed to");
}

Test(unit_segments, r2_a_rotation_cut_between_its_renames_is_finished)
{
	put_segment("ledger.000004", 4, 0);
	put_segment("ledger.next", 5, 0);
	ino_t next = ino_of("ledger.next");
	open_ok(0, 0);
	cr_assert_eq(ino_of("ledger"), next);
	cr_assert_eq(number_of("ledger"), 5);
	cr_assert_eq(number_of("ledger.000004"), 4);
}

Test(unit_segments, r3_an_empty_spare_is_reused_and_the_live_torn_tail_cut)
{
	put_segment("ledger", 4, 0);
	off_t whole = size_of("ledger");
	int fd = open(at("ledger"), O_WRONLY | O_APPEND | O_CLOEXEC);
	cr_assert_eq(write(fd, "\xb2\0\0", 3), 3); /* a block header cut short */
	close(fd);
	put_text("ledger.next", "");
	ino_t spare = ino_of("ledger.next");
	open_ok(0, 0);
	cr_assert_eq(size_of("ledger"), whole);
	cr_assert_eq(ino_of("ledger.next"), spare);
	char cut[64];
	snprintf(cut, sizeof(cut), "ledger.cut-%lld", (long long)whole);
	cr_assert_eq(size_of(cut), 3);
}

Test(unit_segments, r4_a_spare_with_a_torn_first_block_is_cut_whole_and_reused)
{
	put_segment("ledger", 4, 0);
	put_segment("ledger.next", 5, L2_SEGMENT_NUMBER_OFF + 2);
	open_ok(0, 0);
	cr_assert_eq(number_of("ledger"), 4, "the sealed live segment stays live");
	cr_assert_eq(size_of("ledger.next.cut-0"), L2_SEGMENT_NUMBER_OFF + 2);
	cr_assert(!exists("ledger.000004"));
}

Test(unit_segments, x1_a_version_1_ledger_is_refused_with_its_upgrade_path)
{
	static const char v1[] = "{\"seq\":1,\"type\":\"start\"}\n";
	put_text("ledger", v1);
	char err[1024] = "";
	cr_assert_eq(open_ledger(0, 0, err, sizeof(err)), SEGMENTS_REFUSED);
	char want[512];
	snprintf(want, sizeof(want), "ledger %s is a version 1 ledger (JSON Lines)", ledger);
	cr_assert_not_null(strstr(err, want), "%s", err);
	snprintf(want, sizeof(want), "`mpbs-run ledger upgrade %s`", ledger);
	cr_assert_not_null(strstr(err, want), "%s", err);
	cr_assert_not_null(strstr(err, "docs/LEDGER.md \"Upgrading from version 1\""), "%s", err);
	cr_assert_eq(size_of("ledger"), (off_t)strlen(v1), "the version 1 file was touched");
	cr_assert(!exists("ledger.next"), "a spare was made for a refused ledger");
}

Test(unit_segments, x2_a_file_that_is_no_segment_is_refused)
{
	put_text("ledger", "hello, this is not a ledger");
	char err[1024] = "";
	cr_assert_eq(open_ledger(0, 0, err, sizeof(err)), SEGMENTS_REFUSED);
	cr_assert_not_null(strstr(err, "neither empty nor a ledger segment"), "%s", err);
	cr_assert_eq(size_of("ledger"), 27);
}

Test(unit_segments, x3_a_spare_holding_another_segment_is_refused_and_nothing_renamed)
{
	put_segment("ledger", 4, 0);
	put_segment("ledger.next", 7, 0);
	char err[1024] = "";
	cr_assert_eq(open_ledger(0, 0, err, sizeof(err)), SEGMENTS_REFUSED);
	cr_assert_not_null(strstr(err, "holds segment 4, but"), "%s", err);
	cr_assert_eq(number_of("ledger"), 4);
	cr_assert_eq(number_of("ledger.next"), 7);
}

Test(unit_segments, x4_a_missing_live_segment_after_sealed_ones_is_refused)
{
	put_segment("ledger.000003", 3, 0);
	char err[1024] = "";
	cr_assert_eq(open_ledger(0, 0, err, sizeof(err)), SEGMENTS_REFUSED);
	cr_assert_not_null(strstr(err, "is missing while sealed segments exist up to"), "%s", err);
	cr_assert(!exists("ledger"), "a fresh live segment would restart the chain");
}

/* ------------------------------------------------------------ rotation */

/* The association's side: the spare it is sent. */
/* An association restarted while a role cloned moments before still holds
 * copies of the run's open live segment and spare (until it closes what it
 * does not keep): the restart keeps the run's own locked opens instead of
 * locking new opens of the same files, which would meet the run's own
 * lock, and the lock still keeps another run out. */
Test(unit_segments, a_restart_keeps_its_locks_while_a_fresh_clone_holds_copies)
{
	open_ok(0, 0);
	ino_t live = ino_of("ledger"), spare = ino_of("ledger.next");
	pid_t clone_like = fork();
	cr_assert_geq(clone_like, 0);
	if (clone_like == 0) {
		pause(); /* holds every descriptor the supervisor had */
		_exit(0);
	}
	char err[1024] = "";
	int rc = segments_prepare(&sg, err, sizeof(err));
	kill(clone_like, SIGKILL);
	waitpid(clone_like, NULL, 0);
	cr_assert_eq(rc, 0, "the restart failed: %s", err);
	struct stat st;
	cr_assert_eq(fstat(sg.live_fd, &st), 0);
	cr_assert_eq(st.st_ino, live, "the live segment is another file");
	cr_assert_eq(fstat(sg.spare_fd, &st), 0);
	cr_assert_eq(st.st_ino, spare, "the spare is another file");
	int other = open(ledger, O_RDWR | O_APPEND | O_CLOEXEC);
	cr_assert_geq(other, 0);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	cr_assert_eq(fcntl(other, F_OFD_SETLK, &fl), -1, "another run could lock the live segment");
	cr_assert(errno == EAGAIN || errno == EACCES, "F_OFD_SETLK: %s", strerror(errno));
	close(other);
}

static int take_spare(int peer)
{
	char byte = 0;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	cr_assert_eq(recvmsg(peer, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC), 1, "no spare: %s", strerror(errno));
	cr_assert_eq(byte, SEGMENTS_MSG_SPARE);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	cr_assert_not_null(c);
	cr_assert_eq(c->cmsg_type, SCM_RIGHTS);
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

static void say_sealed(int peer, uint32_t number)
{
	uint8_t m[SEGMENTS_MSG_SEALED_LEN] = { SEGMENTS_MSG_SEALED, (uint8_t)(number >> 24), (uint8_t)(number >> 16),
					       (uint8_t)(number >> 8), (uint8_t)number };
	cr_assert_eq(write(peer, m, sizeof(m)), (ssize_t)sizeof(m));
}

/* The association rotates from segment n: it writes n+1's first block to
 * the spare it holds and says SEALED n. */
static void rotate(int peer, int *spare, uint32_t n)
{
	static struct sf f;
	sf_begin(&f, n + 1, 80);
	cr_assert_eq(write(*spare, f.bytes, f.len), (ssize_t)f.len);
	say_sealed(peer, n);
	cr_assert(segments_on_readable(&sg));
	close(*spare);
	*spare = take_spare(peer);
}

Test(unit_segments, a_rotation_renames_both_and_sends_a_new_spare)
{
	put_segment("ledger", 1, 0);
	open_ok(0, 0);
	int peer = dup(sg.peer);
	segments_started(&sg);
	int spare = take_spare(peer);
	ino_t first_spare = ino_of("ledger.next");
	for (uint32_t n = 1; n <= 3; n++)
		rotate(peer, &spare, n);
	cr_assert_eq(number_of("ledger.000001"), 1);
	cr_assert_eq(number_of("ledger.000002"), 2);
	cr_assert_eq(number_of("ledger.000003"), 3);
	cr_assert_eq(number_of("ledger"), 4);
	cr_assert_eq(ino_of("ledger.000001") != first_spare && ino_of("ledger.000002") == first_spare, 1);
	cr_assert_eq(size_of("ledger.next"), 0);
	struct stat a, b;
	cr_assert_eq(fstat(spare, &a), 0);
	cr_assert_eq(stat(at("ledger.next"), &b), 0);
	cr_assert_eq(a.st_ino, b.st_ino, "the spare sent is not LEDGER.next");
	cr_assert_eq(fstat(sg.live_fd, &a), 0);
	cr_assert_eq(a.st_ino, ino_of("ledger"), "the supervisor's live fd is not LEDGER");
	assert_logged("segment 3 sealed as");
	close(spare);
	close(peer);
}

Test(unit_segments, a_sealed_message_that_the_files_do_not_bear_out_renames_nothing)
{
	put_segment("ledger", 1, 0);
	open_ok(0, 0);
	int peer = dup(sg.peer);
	segments_started(&sg);
	int spare = take_spare(peer);
	say_sealed(peer, 1); /* nothing written to the spare */
	cr_assert(segments_on_readable(&sg));
	cr_assert(!exists("ledger.000001"));
	cr_assert_eq(number_of("ledger"), 1);
	cr_assert_eq(write(peer, "junk", 4), 4);
	cr_assert(segments_on_readable(&sg));
	cr_assert(!exists("ledger.000001"));
	assert_logged("SEALED, but the spare does not begin the next segment (1)");
	close(peer);
	fs_close(&sg.peer);
	cr_assert(!segments_on_readable(&sg), "the end of the association's end was not seen");
	cr_assert_eq(sg.sock, -1);
	close(spare);
}

/* ------------------------------------------------------------ retention */

Test(unit_segments, keep_segments_removes_the_oldest_never_the_live_one_or_the_spare)
{
	for (uint32_t n = 1; n <= 5; n++) {
		char name[32];
		snprintf(name, sizeof(name), "ledger.%06u", n);
		put_segment(name, n, 0);
	}
	put_segment("ledger", 6, 0);
	put_text("ledger.00007", "not a sealed name"); /* five digits */
	open_ok(2, 0);
	for (uint32_t n = 1; n <= 3; n++) {
		char name[32];
		snprintf(name, sizeof(name), "ledger.%06u", n);
		cr_assert(!exists(name), "%s kept", name);
	}
	cr_assert(exists("ledger.000004") && exists("ledger.000005"));
	cr_assert(exists("ledger") && exists("ledger.next") && exists("ledger.00007"));
	assert_logged("removed sealed segment ");
	assert_logged("ledger.000001 (");
	assert_logged("keep_segments = 2)");
}

Test(unit_segments, keep_days_removes_those_sealed_before)
{
	put_segment("ledger.000001", 1, 0);
	put_segment("ledger.000002", 2, 0);
	put_segment("ledger", 3, 0);
	struct timespec old[2] = { { .tv_sec = time(NULL) - 3 * 86400 }, { .tv_sec = time(NULL) - 3 * 86400 } };
	cr_assert_eq(utimensat(AT_FDCWD, at("ledger.000001"), old, 0), 0);
	cr_assert_eq(utimensat(AT_FDCWD, at("ledger"), old, 0), 0); /* the live one: never */
	open_ok(0, 2);
	cr_assert(!exists("ledger.000001"));
	cr_assert(exists("ledger.000002") && exists("ledger"));
	assert_logged("sealed over 2 days ago: keep_days = 2");
}

Test(unit_segments, a_sealed_name_linked_to_the_live_segment_is_not_removed)
{
	put_segment("ledger", 3, 0);
	cr_assert_eq(link(at("ledger"), at("ledger.000001")), 0);
	put_segment("ledger.000002", 2, 0);
	open_ok(1, 0);
	cr_assert(exists("ledger.000001"), "the live segment's inode was removed through a sealed name");
	cr_assert_eq(number_of("ledger"), 3);
	assert_logged("not a sealed segment's file");
}

Test(unit_segments, sealed_segments_are_append_only_after_the_renames)
{
	put_segment("ledger", 1, 0);
	open_ok(0, 0);
	if (!sg.append_only)
		cr_skip_test("no FS_APPEND_FL here (needs root and a filesystem with the flag)");
	int peer = dup(sg.peer);
	segments_started(&sg);
	int spare = take_spare(peer);
	rotate(peer, &spare, 1);
	int fd = open(at("ledger.000001"), O_RDONLY | O_CLOEXEC);
	cr_assert(append_only_is_set(fd), "the sealed segment lost its flag");
	close(fd);
	cr_assert(append_only_is_set(sg.live_fd), "the live segment lost its flag");
	cr_assert(append_only_is_set(spare), "the spare has no flag");
	close(spare);
	close(peer);
}

/* ------------------------------------------- the readers' listing (ledger2_files.h) */

/* How many fds this process holds. */
static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The segment number the file behind fd states. */
static uint32_t number_at_fd(int fd)
{
	uint8_t b[4] = { 0 };
	cr_assert_eq(pread(fd, b, 4, L2_SEGMENT_NUMBER_OFF), 4);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The ledger's segment files, listed as a reader lists them. */
static size_t list_ledger(struct l2_segment_file **files)
{
	size_t n;
	char why[256];
	cr_assert_eq(l2_segment_files(at("ledger"), files, &n, why, sizeof(why)), 0, "%s", why);
	return n;
}

Test(unit_segments, a_listing_reads_the_files_it_listed_after_a_rotation_renames_them)
{
	put_segment("ledger.000001", 1, 0);
	put_segment("ledger", 2, 0);
	put_text("ledger.next", "");
	off_t live_len = size_of("ledger");
	int fds_before = open_fds();
	struct l2_segment_file *files;
	size_t n = list_ledger(&files);
	cr_assert_eq(n, 2);
	/* the rotation: segment 3 begun in the spare, then the supervisor's
	 * renames and a fresh empty spare */
	put_segment("ledger.next", 3, 0);
	cr_assert_eq(rename(at("ledger"), at("ledger.000002")), 0);
	cr_assert_eq(rename(at("ledger.next"), at("ledger")), 0);
	put_text("ledger.next", "");
	/* read by name now, the second file would be segment 3 */
	cr_assert_eq(number_of("ledger"), 3);
	cr_assert_eq(files[0].fd, -1, "a sealed segment is read by its name, which a rotation leaves alone");
	cr_assert_eq(files[0].segment, 1);
	cr_assert_eq(number_at_fd(files[1].fd), 2, "the reader would read another file than the one listed");
	struct stat st;
	cr_assert_eq(fstat(files[1].fd, &st), 0);
	cr_assert_eq(st.st_size, live_len);
	cr_assert_eq(lseek(files[1].fd, 0, SEEK_CUR), 0, "the listing moved the offset a reader starts from");
	l2_segment_files_free(files, n);
	cr_assert_eq(open_fds(), fds_before, "the listing left fds open");
}

Test(unit_segments, a_listing_keeps_no_sealed_segment_open)
{
	char name[32];
	for (uint32_t i = 1; i <= 40; i++) {
		snprintf(name, sizeof(name), "ledger.%06u", i);
		put_segment(name, i, 0);
	}
	put_segment("ledger", 41, 0);
	int fds_before = open_fds();
	struct l2_segment_file *files;
	size_t n = list_ledger(&files);
	cr_assert_eq(n, 41);
	cr_assert_eq(open_fds(), fds_before + 1, "only the live segment is held: thousands of sealed ones would "
		     "pass the fd limit");
	l2_segment_files_free(files, n);
	cr_assert_eq(open_fds(), fds_before);
}

Test(unit_segments, a_ledger_that_is_not_there_is_unreadable_after_the_retries)
{
	struct l2_segment_file *files;
	size_t n;
	char why[256];
	cr_assert_eq(l2_segment_files(at("ledger"), &files, &n, why, sizeof(why)), L2_FILES_UNREADABLE);
	cr_assert(strstr(why, "No such file"), "%s", why);
}

Test(unit_segments, a_file_under_two_names_is_refused_after_the_listing_gives_up_waiting)
{
	put_segment("ledger.000001", 1, 0);
	put_segment("ledger", 2, 0);
	cr_assert_eq(link(at("ledger"), at("ledger.000002")), 0);
	int fds_before = open_fds();
	struct l2_segment_file *files;
	size_t n;
	char why[256];
	cr_assert_eq(l2_segment_files(at("ledger"), &files, &n, why, sizeof(why)), -1);
	cr_assert(strstr(why, "both state segment 2"), "%s", why);
	cr_assert_null(files);
	cr_assert_eq(open_fds(), fds_before, "a refused listing left fds open");
}
