/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The segment files' names (segments.h). Every byte of these files was
 * written by the association, a role assumed hostile: the supervisor reads
 * only the fixed header of a segment's first block (the magic, the block
 * header, the segment record's type, version and number: the first 31
 * bytes), never a length it did not bound itself.
 *
 * Reconciling, at start and before each restart of the association (a kill
 * of the supervisor or of the association can stop a rotation between any
 * two of its steps: the association writes the seal to LEDGER, the next
 * segment's first block to LEDGER.next and says SEALED; the supervisor
 * renames LEDGER to LEDGER.NNNNNN, then LEDGER.next to LEDGER, then removes
 * expired segments and creates a new LEDGER.next). The names are decided
 * from the segment numbers inside the files, never from what was said:
 *
 *  R1  LEDGER holds segment N, LEDGER.next segment N+1: the rotation was cut
 *      after the association wrote the next segment. LEDGER becomes
 *      LEDGER.N, LEDGER.next becomes LEDGER (both renames; the new live
 *      segment's torn tail is cut after, as any live segment's).
 *  R2  LEDGER is missing, LEDGER.next holds a segment: the rotation was cut
 *      between its two renames. LEDGER.next becomes LEDGER.
 *  R3  LEDGER.next is empty, or missing: nothing to rename. An empty one is
 *      reused as the spare; a missing one is created.
 *  R4  LEDGER.next begins a segment but its first block is torn (the
 *      association was killed writing it): it is cut whole (the bytes saved
 *      as LEDGER.next.cut-0) and reused as the spare; LEDGER, sealed, stays
 *      the live segment and the association starts the next segment from it.
 *  R5  LEDGER and LEDGER.next both missing or empty, no sealed segment: a
 *      fresh ledger. LEDGER is created (empty); the association writes the
 *      magic and segment 1.
 *  Refused (exit 78: the operator decides, nothing is renamed or cut):
 *  X1  LEDGER is a version 1 ledger (it begins with '{'): the upgrade path
 *      is named (docs/LEDGER.md "Upgrading from version 1").
 *  X2  LEDGER or LEDGER.next is neither empty nor a segment (no magic, or a
 *      first block that is not a segment record).
 *  X3  LEDGER.next holds a segment whose number is not LEDGER's plus 1, or
 *      LEDGER is empty (or cut whole) while LEDGER.next holds a segment.
 *  X4  LEDGER is missing or empty while sealed segments exist: the live
 *      segment that continues their chain is gone.
 *  The torn tail of the live segment is cut after the names are settled
 *  (runner/ledger_recover.c). */
#include "segments.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/fsutil.h"
#include "../lib/ledger2.h"
#include "../lib/ledger2_files.h"
#include "../lib/log.h"
#include "../roles/association/association.h"
#include "append_only.h"
#include "channels.h"
#include "ledger_file.h"
#include "ledger_recover.h"
#include "segments_internal.h"

#define NEXT_SUFFIX ".next"
/* the fixed header the supervisor reads: up to and with the segment number */
#define SEGMENT_HEAD_LEN (L2_SEGMENT_NUMBER_OFF + 4)
#define IGNORED_LOGGED 3 /* messages ignored and logged between two rotations */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void seg_classify(int fd, struct seg_file *f)
{
	uint8_t h[SEGMENT_HEAD_LEN];
	struct stat st;
	f->number = 0;
	if (fd < 0) {
		f->kind = SEG_MISSING;
		return;
	}
	f->kind = SEG_FOREIGN;
	if (fstat(fd, &st) < 0)
		return;
	size_t want = st.st_size < (off_t)sizeof(h) ? (size_t)st.st_size : sizeof(h);
	ssize_t got = want ? pread(fd, h, want, 0) : 0;
	if (got != (ssize_t)want)
		return;
	if (want == 0) {
		f->kind = SEG_EMPTY;
	} else if (h[0] == '{') {
		f->kind = SEG_V1;
	} else if (memcmp(h, L2_MAGIC, want < L2_MAGIC_LEN ? want : L2_MAGIC_LEN) != 0) {
		f->kind = SEG_FOREIGN;
	} else if (want < sizeof(h) || h[L2_MAGIC_LEN] != L2_BLOCK_MARKER) {
		f->kind = SEG_TORN; /* the magic, then no whole first block header */
	} else {
		uint32_t body_len = be32(h + L2_MAGIC_LEN + 9);
		const uint8_t *rec = h + L2_MAGIC_LEN + L2_BLOCK_HDR_LEN;
		if (body_len < L2_BLOCK_BODY_MIN || body_len > L2_BLOCK_BODY_MAX ||
		    (off_t)(L2_MAGIC_LEN + L2_BLOCK_HDR_LEN) + (off_t)body_len > st.st_size)
			f->kind = SEG_TORN; /* the first block is not all there */
		else if (rec[0] != L2_SEGMENT || rec[L2_RECORD_HDR_LEN] != L2_VERSION ||
			 be32(h + L2_SEGMENT_NUMBER_OFF) == 0)
			f->kind = SEG_FOREIGN;
		else {
			f->kind = SEG_V2;
			f->number = be32(h + L2_SEGMENT_NUMBER_OFF);
		}
	}
}

/* "LEDGER.next" */
static void next_name(const struct segments *sg, char *out, size_t cap)
{
	snprintf(out, cap, "%s" NEXT_SUFFIX, sg->base);
}

/* The path of a name in the ledger's directory, for messages. */
static void path_of(const struct segments *sg, const char *name, char *out, size_t cap)
{
	size_t dir_len = (size_t)(sg->base - sg->ledger);
	snprintf(out, cap, "%.*s%s", (int)dir_len, sg->ledger, name);
}

/* An existing segment file (-1 with errno ENOENT when there is none). */
static int open_existing(struct segments *sg, const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX];
	path_of(sg, name, path, sizeof(path));
	int fd = ledger_file_open(sg->dirfd, name, path, false, err, errlen);
	if (fd < 0 && errno == ENOENT)
		*err = '\0';
	return fd;
}

int seg_rename(struct segments *sg, int fd, const char *from, const char *to, char *err, size_t errlen)
{
	char from_path[PATH_MAX], to_path[PATH_MAX];
	path_of(sg, from, from_path, sizeof(from_path));
	path_of(sg, to, to_path, sizeof(to_path));
	/* the name must still be the file the supervisor holds */
	struct stat held, named;
	if (fstat(fd, &held) < 0 || fstatat(sg->dirfd, from, &named, AT_SYMLINK_NOFOLLOW) < 0 ||
	    held.st_dev != named.st_dev || held.st_ino != named.st_ino) {
		snprintf(err, errlen, "ledger %s: no longer the file the supervisor holds: not renamed to %s", from_path,
			 to_path);
		return -1;
	}
	/* An append-only inode cannot be renamed: the flag is lifted for the
	 * rename alone and put back, also when the rename failed. */
	bool append_only = append_only_is_set(fd);
	if (append_only && append_only_set(fd, false) < 0) {
		snprintf(err, errlen, "ledger %s: clear its append-only flag to rename it: %s", from_path, strerror(errno));
		return -1;
	}
	int rc = 0;
	if (renameat2(sg->dirfd, from, sg->dirfd, to, RENAME_NOREPLACE) < 0) {
		snprintf(err, errlen, "ledger %s: rename to %s: %s", from_path, to_path, strerror(errno));
		rc = -1;
	}
	if (append_only && append_only_set(fd, true) < 0) {
		snprintf(err, errlen, "ledger %s: set its append-only flag again after the rename: %s",
			 rc == 0 ? to_path : from_path, strerror(errno));
		rc = -1;
	}
	return rc;
}

static int sync_dir(struct segments *sg, char *err, size_t errlen)
{
	if (fsync(sg->dirfd) < 0) {
		snprintf(err, errlen, "ledger %s: fsync its directory: %s", sg->ledger, strerror(errno));
		return -1;
	}
	return 0;
}

/* X1 */
static int refuse_v1(const struct segments *sg, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "ledger %s is a version 1 ledger (JSON Lines): the association appends only to version 2 "
		 "ledgers. With the run stopped: `mpbs-run verify %s --topology TOPOLOGY`, then `mpbs-run ledger "
		 "upgrade %s` (it becomes %s.v1, still read by verify; the next start begins a version 2 ledger at "
		 "the path), or point [association] ledger at a new path (docs/LEDGER.md \"Upgrading from version 1\")",
		 sg->ledger, sg->ledger, sg->ledger, sg->ledger);
	return SEGMENTS_REFUSED;
}

/* R4, and a live segment cut whole: the torn first block is saved and cut. */
static int cut_torn(int fd, const char *path, struct seg_file *f, char *err, size_t errlen)
{
	struct ledger_cut cut;
	if (ledger_file_recover(fd, path, &cut, err, errlen) < 0)
		return -1;
	seg_classify(fd, f);
	return 0;
}

/* The cases of the first comment, on the files as they are: renames only
 * (and the cut of a torn first block). Returns 0, SEGMENTS_REFUSED or -1. */
static int reconcile(struct segments *sg, int live, int next, char *err, size_t errlen)
{
	char next_n[NAME_MAX + 1], next_path[PATH_MAX], sealed[NAME_MAX + 1];
	struct seg_file l, x;
	uint32_t newest = 0;
	next_name(sg, next_n, sizeof(next_n));
	path_of(sg, next_n, next_path, sizeof(next_path));
	seg_classify(live, &l);
	seg_classify(next, &x);
	if (l.kind == SEG_V1)
		return refuse_v1(sg, err, errlen);
	if (l.kind == SEG_FOREIGN || x.kind == SEG_FOREIGN || x.kind == SEG_V1) {
		snprintf(err, errlen,
			 "ledger %s: neither empty nor a ledger segment (no version 2 magic, or a first block that is "
			 "not a segment record): move it away (docs/RELIABILITY.md \"Recovery of the ledger\")",
			 l.kind == SEG_FOREIGN ? sg->ledger : next_path);
		return SEGMENTS_REFUSED;
	}
	if ((x.kind == SEG_TORN && cut_torn(next, next_path, &x, err, errlen) < 0) ||
	    (l.kind == SEG_TORN && cut_torn(live, sg->ledger, &l, err, errlen) < 0))
		return -1;
	if (seg_newest_sealed(sg, &newest, err, errlen) < 0)
		return -1;
	if (x.kind == SEG_V2 && l.kind != SEG_MISSING && (l.kind != SEG_V2 || x.number != l.number + 1)) {
		if (l.kind == SEG_V2)
			snprintf(err, errlen, "ledger %s holds segment %u, but %s segment %u (not the next): move the one "
					      "that does not belong away",
				 sg->ledger, l.number, next_path, x.number);
		else
			snprintf(err, errlen, "ledger %s is empty, but %s holds segment %u: move the one that does not "
					      "belong away",
				 sg->ledger, next_path, x.number);
		return SEGMENTS_REFUSED; /* X3 */
	}
	if (x.kind != SEG_V2 && l.kind != SEG_V2 && newest > 0) {
		snprintf(err, errlen,
			 "ledger %s is %s while sealed segments exist up to %s.%06u: the live segment that continues "
			 "their chain is gone (restore it, or move the sealed segments away to begin a new ledger)",
			 sg->ledger, l.kind == SEG_MISSING ? "missing" : "empty", sg->ledger, newest);
		return SEGMENTS_REFUSED; /* X4 */
	}
	if (x.kind != SEG_V2)
		return 0; /* R3, R4, R5 */
	if (l.kind == SEG_V2) { /* R1 */
		if (l2_sealed_name(sg->base, l.number, sealed, sizeof(sealed)) < 0 ||
		    seg_rename(sg, live, sg->base, sealed, err, errlen) < 0)
			return -1;
		log_event(LOG_SEV_WARNING, "segment-reconciled", "ledger %s: segment %u was sealed (the rotation was cut): "
			  "renamed to %s.%06u", sg->ledger, l.number, sg->ledger, l.number);
	}
	/* R1, R2 */
	if (seg_rename(sg, next, next_n, sg->base, err, errlen) < 0 || sync_dir(sg, err, errlen) < 0)
		return -1;
	log_event(LOG_SEV_WARNING, "segment-reconciled", "ledger %s: renamed to %s (segment %u, the live one)",
		  next_path, sg->ledger, x.number);
	return 0;
}

bool seg_same_file(const struct stat *st, int fd)
{
	struct stat b;
	return fd >= 0 && fstat(fd, &b) == 0 && st->st_dev == b.st_dev && st->st_ino == b.st_ino;
}

/* The run's lock on a segment it hands the association (the live one, the
 * spare), on the supervisor's own open: a second run that reaches the file
 * by another name (a hard link) finds it (runner/instance_lock.c). */
static int lock_segment(int fd, const char *path, char *err, size_t errlen)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	snprintf(err, errlen, "ledger %s: %s", path,
		 errno == EAGAIN || errno == EACCES ? "in use by another running mpbs-run (it holds a lock on that file)"
						    : strerror(errno));
	return -1;
}

/* A segment the run hands the association, locked: at a restart, the
 * open the run already holds on that file (live or spare before it) is
 * kept instead of *fd. Locking a new open there would meet the run's own
 * lock whenever a role cloned moments before still holds a copy of the
 * held descriptions (until it closes what it does not keep): a restart of
 * the association failed that way, and stopped the run. */
static int hold_locked(struct segments *sg, int *fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(*fd, &st) < 0) {
		snprintf(err, errlen, "ledger %s: %s", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < 2; i++)
		if (seg_same_file(&st, sg->held[i])) {
			close(*fd);
			*fd = sg->held[i];
			sg->held[i] = -1;
			return 0;
		}
	return lock_segment(*fd, path, err, errlen);
}

/* Opens the live segment (created when there is none) and cuts its torn
 * tail; marks it append-only where the filesystem can. */
static int open_live(struct segments *sg, char *err, size_t errlen)
{
	struct seg_file f;
	sg->live_fd = open_existing(sg, sg->base, err, errlen);
	if (sg->live_fd < 0 && errno == ENOENT)
		sg->live_fd = ledger_file_open(sg->dirfd, sg->base, sg->ledger, true, err, errlen);
	if (sg->live_fd < 0 || hold_locked(sg, &sg->live_fd, sg->ledger, err, errlen) < 0)
		return -1;
	seg_classify(sg->live_fd, &f);
	if (f.kind == SEG_V1) /* it appeared after the reconcile */
		return refuse_v1(sg, err, errlen);
	struct ledger_cut cut;
	if (f.kind == SEG_V2 && ledger_file_recover(sg->live_fd, sg->ledger, &cut, err, errlen) < 0)
		return -1;
	sg->append_only = append_only_set(sg->live_fd, true) == 0;
	sg->append_only_errno = sg->append_only ? 0 : errno;
	return 0;
}

/* An empty LEDGER.next: the one there (R3) or a new one. */
static int open_spare(struct segments *sg, char *err, size_t errlen)
{
	char name[NAME_MAX + 1], path[PATH_MAX];
	struct seg_file f;
	next_name(sg, name, sizeof(name));
	path_of(sg, name, path, sizeof(path));
	int fd = open_existing(sg, name, err, errlen);
	if (fd < 0 && errno == ENOENT)
		fd = ledger_file_open(sg->dirfd, name, path, true, err, errlen);
	if (fd < 0)
		return -1;
	if (hold_locked(sg, &fd, path, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	seg_classify(fd, &f);
	if (f.kind != SEG_EMPTY) {
		snprintf(err, errlen, "ledger %s: the spare is not empty", path);
		close(fd);
		return -1;
	}
	/* the same flag as the live segment: where it cannot be set there, a
	 * warning already said so */
	if (append_only_set(fd, true) < 0 && sg->append_only) {
		snprintf(err, errlen, "ledger %s: set its append-only flag: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	sg->spare_fd = fd;
	return 0;
}

/* The segments socket: the association's end is handed over, the
 * supervisor's is in its loop and takes no fd (where the kernel can refuse
 * them; its seccomp policy gives the association no sendmsg anyway). */
static int open_socket(struct segments *sg, char *err, size_t errlen)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "the segments socket: socketpair: %s", strerror(errno));
		return -1;
	}
	sg->sock = sv[0];
	sg->peer = sv[1];
	if (channel_refuse_fds(sg->sock) < 0 && errno != ENOPROTOOPT) {
		snprintf(err, errlen, "the segments socket: SO_PASSRIGHTS off: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void close_files(struct segments *sg)
{
	fs_close(&sg->live_fd);
	fs_close(&sg->spare_fd);
	fs_close(&sg->sock);
	fs_close(&sg->peer);
}

static int prepare_files(struct segments *sg, char *err, size_t errlen)
{
	char next_n[NAME_MAX + 1];
	next_name(sg, next_n, sizeof(next_n));
	int live = open_existing(sg, sg->base, err, errlen);
	if (live < 0 && errno != ENOENT)
		return -1;
	int next = open_existing(sg, next_n, err, errlen);
	if (next < 0 && errno != ENOENT) {
		fs_close(&live);
		return -1;
	}
	int rc = reconcile(sg, live, next, err, errlen);
	fs_close(&live);
	fs_close(&next);
	if (rc != 0)
		return rc;
	rc = open_live(sg, err, errlen);
	if (rc == 0)
		rc = open_spare(sg, err, errlen);
	if (rc == 0 && segments_retain(sg) < 0)
		rc = -1, snprintf(err, errlen, "ledger %s: the retention could not read its directory", sg->ledger);
	if (rc == 0)
		rc = open_socket(sg, err, errlen);
	return rc;
}

int segments_prepare(struct segments *sg, char *err, size_t errlen)
{
	/* the run's locked opens stay until the new ones are settled */
	sg->held[0] = sg->live_fd;
	sg->held[1] = sg->spare_fd;
	sg->live_fd = sg->spare_fd = -1;
	close_files(sg);
	*err = '\0';
	int rc = prepare_files(sg, err, errlen);
	if (rc != 0)
		close_files(sg);
	fs_close(&sg->held[0]);
	fs_close(&sg->held[1]);
	return rc;
}

void segments_init(struct segments *sg)
{
	*sg = (struct segments){ .dirfd = -1, .live_fd = -1, .spare_fd = -1, .sock = -1, .peer = -1, .held = { -1, -1 } };
}

int segments_open(struct segments *sg, const char *ledger, uint32_t keep_segments, uint32_t keep_days, char *err,
		  size_t errlen)
{
	segments_init(sg);
	sg->ledger = ledger;
	sg->keep_segments = keep_segments;
	sg->keep_days = keep_days;
	const char *slash = strrchr(ledger, '/');
	sg->base = slash ? slash + 1 : ledger;
	char dir[PATH_MAX];
	if (!slash || !*sg->base || strlen(sg->base) + sizeof(NEXT_SUFFIX) > NAME_MAX ||
	    (size_t)(slash - ledger) >= sizeof(dir)) {
		snprintf(err, errlen, "ledger %s: not a file path this runner can name segments beside", ledger);
		return SEGMENTS_REFUSED;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash == ledger ? 1 : (int)(slash - ledger), ledger);
	if (fs_mkdir_parents(ledger, err, errlen) < 0)
		return -1;
	sg->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sg->dirfd < 0) {
		snprintf(err, errlen, "ledger %s: its directory %s: %s", ledger, dir, strerror(errno));
		return -1;
	}
	int rc = segments_prepare(sg, err, errlen);
	if (rc != 0)
		fs_close(&sg->dirfd);
	return rc;
}

static void send_spare(struct segments *sg)
{
	char byte = SEGMENTS_MSG_SPARE;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sg->spare_fd, sizeof(int));
	if (sendmsg(sg->sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
		log_errno("ledger %s: send the spare segment to the association", sg->ledger);
}

void segments_started(struct segments *sg)
{
	if (sg->sock >= 0 && sg->spare_fd >= 0)
		send_spare(sg);
}

/* A message the supervisor does not act on: logged, a few per rotation. */
static void ignored(struct segments *sg, const char *what, uint32_t number)
{
	if (sg->ignored++ >= IGNORED_LOGGED)
		return;
	char line[256];
	snprintf(line, sizeof(line), "%s (%u)", what, number);
	log_event(LOG_SEV_WARNING, "segment-message", "ledger %s: the association's segments message ignored: %s%s",
		  sg->ledger, line, sg->ignored == IGNORED_LOGGED ? " (further ones are not logged until a rotation)" : "");
}

/* SEGMENTS_MSG_SEALED: the live segment holds number, the spare number+1. */
static void on_sealed(struct segments *sg, uint32_t number)
{
	struct seg_file live, next;
	char err[1024], sealed[NAME_MAX + 1], next_n[NAME_MAX + 1];
	seg_classify(sg->live_fd, &live);
	seg_classify(sg->spare_fd, &next);
	if (live.kind != SEG_V2 || live.number != number) {
		ignored(sg, live.kind == SEG_V2 ? "SEALED names a segment the live one is not"
						: "SEALED, but the live segment has no segment header", number);
		return;
	}
	if (next.kind != SEG_V2 || next.number != number + 1) {
		ignored(sg, "SEALED, but the spare does not begin the next segment", number);
		return;
	}
	next_name(sg, next_n, sizeof(next_n));
	if (l2_sealed_name(sg->base, number, sealed, sizeof(sealed)) < 0 ||
	    seg_rename(sg, sg->live_fd, sg->base, sealed, err, sizeof(err)) < 0 ||
	    seg_rename(sg, sg->spare_fd, next_n, sg->base, err, sizeof(err)) < 0 || sync_dir(sg, err, sizeof(err)) < 0) {
		/* the next start finishes it (R1, R2); the association keeps
		 * writing the segment it rotated into, with no spare */
		log_event(LOG_SEV_ERROR, "segment-rotate", "%s; no new spare until the association restarts", err);
		return;
	}
	close(sg->live_fd);
	sg->live_fd = sg->spare_fd;
	sg->spare_fd = -1;
	sg->ignored = 0;
	sg->rotations++;
	log_event(LOG_SEV_INFO, "segment-sealed", "ledger %s: segment %u sealed as %s.%06u; segment %u is live",
		  sg->ledger, number, sg->ledger, number, number + 1);
	segments_retain(sg);
	if (open_spare(sg, err, sizeof(err)) < 0) {
		log_event(LOG_SEV_ERROR, "segment-spare", "%s: the association cannot rotate again until it restarts", err);
		return;
	}
	send_spare(sg);
}

bool segments_on_readable(struct segments *sg)
{
	for (int i = 0; i < 8 && sg->sock >= 0; i++) {
		uint8_t buf[64];
		union {
			char buf[CMSG_SPACE(8 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				      .msg_controllen = sizeof(u.buf) };
		ssize_t n = recvmsg(sg->sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n <= 0) { /* its end is gone: the association ended */
			if (n < 0)
				log_errno("ledger %s: the segments socket", sg->ledger);
			fs_close(&sg->sock);
			return false;
		}
		/* no fd is expected from the association: any that came is closed */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
					int fd;
					memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
					close(fd);
				}
		if (n != SEGMENTS_MSG_SEALED_LEN || buf[0] != SEGMENTS_MSG_SEALED || (msg.msg_flags & MSG_TRUNC))
			ignored(sg, "not a SEALED message; bytes", (uint32_t)n);
		else
			on_sealed(sg, be32(buf + 1));
	}
	return true;
}

void segments_close(struct segments *sg)
{
	close_files(sg);
	fs_close(&sg->dirfd);
}
