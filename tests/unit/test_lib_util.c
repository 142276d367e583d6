/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* lib/errbuf.c and lib/fsutil.c: the one way errors name their place, and
 * the small file chores every part shares. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/errbuf.h"
#include "../../lib/fsutil.h"
#include "../../lib/text.h"

Test(unit_lib_util, err_at_names_each_part_it_is_given)
{
	char e[128];
	struct err_where all = { .file = "t.conf", .line = 7, .section = "association", .key = "confirm" };
	cr_assert_eq(err_at(e, sizeof(e), &all, "expected %s", "all"), -1);
	cr_assert_str_eq(e, "t.conf:7: [association] confirm: expected all");
	struct err_where no_line = { .file = "t.conf", .section = "runner" };
	err_at(e, sizeof(e), &no_line, "empty");
	cr_assert_str_eq(e, "t.conf: [runner]: empty");
	struct err_where key_only = { .key = "accept_context" };
	err_at(e, sizeof(e), &key_only, "x");
	cr_assert_str_eq(e, "accept_context: x");
	struct err_where none = { 0 };
	err_at(e, sizeof(e), &none, "bare");
	cr_assert_str_eq(e, "bare");
}

Test(unit_lib_util, err_at_never_runs_past_a_short_buffer)
{
	char e[12];
	memset(e, 'x', sizeof(e));
	struct err_where w = { .file = "a-very-long-file-name.conf", .line = 123456, .section = "s", .key = "k" };
	err_at(e, sizeof(e), &w, "%s", "message");
	cr_assert_eq(strlen(e), sizeof(e) - 1);
	cr_assert_eq(strncmp(e, "a-very-long", 11), 0);
	cr_assert_eq(err_set(e, 0, "ignored"), -1, "a zero-length buffer is left alone");
}

static char dir[] = "/tmp/mpbs-lib-util-XXXXXX";

static void make_dir(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

Test(unit_lib_util, mkdir_parents_makes_every_parent_but_not_the_path, .init = make_dir, .fini = remove_dir)
{
	char path[256], err[256], parent[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/a/b/c/ledger.jsonl", dir);
	snprintf(parent, sizeof(parent), "%s/a/b/c", dir);
	cr_assert_eq(fs_mkdir_parents(path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(parent, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(stat(path, &st), -1, "the path itself is not made");
	cr_assert_eq(fs_mkdir_parents(path, err, sizeof(err)), 0, "existing parents are fine: %s", err);
	char blocked[256];
	snprintf(blocked, sizeof(blocked), "%s/a/b/c/ledger.jsonl/y/x", dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(fs_mkdir_parents(blocked, err, sizeof(err)), -1, "a file in the way");
	cr_assert_not_null(strstr(err, "mkdir "), "%s", err);
}

Test(unit_lib_util, read_small_reads_whole_small_regular_files_only, .init = make_dir, .fini = remove_dir)
{
	char path[256], err[256], buf[8 + 2];
	size_t len;
	snprintf(path, sizeof(path), "%s/f", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("12345678", f);
	fclose(f);
	cr_assert_eq(fs_read_small(path, buf, 8, &len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(len, 8);
	cr_assert_str_eq(buf, "12345678");
	f = fopen(path, "a");
	fputs("9", f);
	fclose(f);
	cr_assert_eq(fs_read_small(path, buf, 8, &len, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "larger than 8 bytes"), "%s", err);
	cr_assert_eq(fs_read_small(dir, buf, 8, &len, err, sizeof(err)), -1, "a directory");
	cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);
	char fifo[256];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(fs_read_small(fifo, buf, 8, &len, err, sizeof(err)), -1, "a FIFO neither blocks nor is read");
	cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);
	snprintf(path, sizeof(path), "%s/missing", dir);
	cr_assert_eq(fs_read_small(path, buf, 8, &len, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "open "), "%s", err);
}

Test(unit_lib_util, text_checks)
{
	cr_assert(text_is_lower_hex("09af", 4));
	cr_assert_not(text_is_lower_hex("09aF", 4), "uppercase is another spelling");
	cr_assert_not(text_is_lower_hex("0g", 2));
	cr_assert(text_is_lower_hex("", 0));
	cr_assert_eq(text_lower_hex_prefix("abc\n", 4), 3);
	cr_assert(text_has_word("cpu io memory", "io", ' '));
	cr_assert_not(text_has_word("cpu iox memory", "io", ' '), "a word, not a prefix");
	cr_assert_not(text_has_word("cpuio memory", "io", ' '), "a word, not a suffix");
	cr_assert(text_has_word("rw,nosuid,noexec", "noexec", ','));
	cr_assert_not(text_has_word("rw,nosuid", "rw,nosuid x", ','));
	cr_assert_not(text_has_word("a", "", ' '));
}

Test(unit_lib_util, open_read_opens_a_fifo_without_blocking, .init = make_dir, .fini = remove_dir)
{
	char fifo[256], err[256];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	int fd = fs_open_read(fifo, err, sizeof(err));
	cr_assert_geq(fd, 0, "no writer, and still no wait: %s", err);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode), "what is there is the caller's to check");
	close(fd);
	char missing[256];
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	cr_assert_eq(fs_open_read(missing, err, sizeof(err)), -1);
	cr_assert_eq(errno, ENOENT);
	char want[320];
	snprintf(want, sizeof(want), "open %s: %s", missing, strerror(ENOENT));
	cr_assert_str_eq(err, want);
}

Test(unit_lib_util, write_all_writes_everything_or_says_why, .init = make_dir, .fini = remove_dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/big", dir);
	size_t len = 1u << 20;
	char *buf = malloc(len), *back = malloc(len + 1);
	cr_assert(buf && back);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(i * 7);
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fs_write_all(fd, buf, len), 0);
	cr_assert_eq(fs_write_all(fd, buf, 0), 0, "nothing to write is done at once");
	close(fd);
	struct stat st;
	size_t got = 0;
	char err[256];
	fd = fs_open_regular(path, &st, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(fs_read_upto(fd, path, back, len, &got, err, sizeof(err)), 0, "%s", err);
	close(fd);
	cr_assert_eq(got, len);
	cr_assert_eq(memcmp(buf, back, len), 0);

	/* A full non-blocking pipe: the first write is short, the next fails. */
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	int cap = fcntl(p[1], F_GETPIPE_SZ);
	cr_assert_gt(cap, 0);
	cr_assert_lt((size_t)cap, len);
	errno = 0;
	cr_assert_eq(fs_write_all(p[1], buf, len), -1);
	cr_assert_eq(errno, EAGAIN);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(fs_write_all(p[1], buf, 1), -1, "no reader");
	cr_assert_eq(errno, EPIPE);
	close(p[1]);
	free(buf);
	free(back);
}

Test(unit_lib_util, fsync_parent_syncs_the_directory_that_holds_a_name, .init = make_dir, .fini = remove_dir)
{
	char path[320], err[384] = "";
	snprintf(path, sizeof(path), "%s/not-created-yet", dir);
	cr_assert_eq(fs_fsync_parent(path, err, sizeof(err)), 0, "only its directory must exist: %s", err);
	snprintf(path, sizeof(path), "%s/", dir);
	cr_assert_eq(fs_fsync_parent(path, err, sizeof(err)), 0, "dir/ names dir: its parent is synced: %s", err);
	cr_assert_eq(fs_fsync_parent("bare-name", err, sizeof(err)), 0, "the working directory: %s", err);
	char gone[256];
	snprintf(gone, sizeof(gone), "%s/gone", dir);
	snprintf(path, sizeof(path), "%s/x", gone);
	cr_assert_eq(fs_fsync_parent(path, err, sizeof(err)), -1);
	cr_assert_eq(errno, ENOENT, "errno as open left it");
	char want[384];
	snprintf(want, sizeof(want), "open %s: %s", gone, strerror(ENOENT));
	cr_assert_str_eq(err, want);
	errno = 0;
	cr_assert_eq(fs_fsync_parent(path, NULL, 0), -1, "no buffer: errno alone");
	cr_assert_eq(errno, ENOENT);
}

Test(unit_lib_util, path_join_puts_one_slash_between)
{
	char *p = fs_path_join("keys", "signal.pub");
	cr_assert_str_eq(p, "keys/signal.pub");
	free(p);
	p = fs_path_join("keys/", "x");
	cr_assert_str_eq(p, "keys//x", "dir is taken as it is written");
	free(p);
	p = fs_path_join("", "x");
	cr_assert_str_eq(p, "/x");
	free(p);
	p = fs_path_join_n("/etc/mpbs/A.policy", 9, "token.key");
	cr_assert_str_eq(p, "/etc/mpbs/token.key");
	free(p);
	p = fs_path_join_n("/x", 0, "y");
	cr_assert_str_eq(p, "/y");
	free(p);
}

Test(unit_lib_util, close_closes_once_and_marks_closed)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	int copy = fd;
	fs_close(&fd);
	cr_assert_eq(fd, -1);
	cr_assert_eq(fcntl(copy, F_GETFD), -1, "closed");
	fs_close(&fd);
	cr_assert_eq(fd, -1, "again: nothing to close");
}
