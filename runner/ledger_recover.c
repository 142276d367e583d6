/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "ledger_recover.h"

#include "append_only.h"
#include "../lib/fsutil.h"
#include "../lib/ledger2.h"
#include "../lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECOVER_CHUNK 65536
#define SAVE_NAME_TRIES 100 /* <ledger>.cut-<offset>, then .2 ... .99 */

static int read_at(int fd, char *buf, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t r = pread(fd, buf, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO; /* the file shrank under us */
			return -1;
		}
		buf += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Where the kept part ends (docs/LEDGER.md "Encoding"): the block headers
 * are walked from after the magic, a chunk at a time; nothing else of a
 * block is read. The whole file is walked: the supervisor cannot know how
 * much of it the last power cut left unsynced. */
static off_t find_cut(int fd, off_t size, uint8_t *buf, struct ledger_cut *cut)
{
	if (size <= L2_MAGIC_LEN) {
		cut->reason = size > 0 ? LEDGER_CUT_MAGIC : LEDGER_CUT_NONE;
		return 0;
	}
	off_t off = L2_MAGIC_LEN;
	while (off < size) {
		size_t n = size - off < RECOVER_CHUNK ? (size_t)(size - off) : RECOVER_CHUNK;
		if (read_at(fd, (char *)buf, n, off) < 0)
			return -1;
		size_t at = 0;
		/* every header that lies whole in this chunk */
		while (at + L2_BLOCK_HDR_LEN <= n) {
			uint32_t body_len = be32(buf + at + 9);
			off_t block = off + (off_t)at;
			cut->block = block;
			if (buf[at] != L2_BLOCK_MARKER)
				cut->reason = LEDGER_CUT_MARKER;
			else if (body_len < L2_BLOCK_BODY_MIN || body_len > L2_BLOCK_BODY_MAX)
				cut->reason = LEDGER_CUT_LENGTH;
			else if (block + L2_BLOCK_HDR_LEN + (off_t)body_len > size)
				cut->reason = LEDGER_CUT_PAST_EOF;
			if (cut->reason != LEDGER_CUT_NONE)
				return block == L2_MAGIC_LEN ? 0 : block;
			cut->blocks++;
			at += L2_BLOCK_HDR_LEN + body_len;
		}
		if (off + (off_t)at >= size)
			return size;
		if (n < RECOVER_CHUNK && at + L2_BLOCK_HDR_LEN > n) {
			/* the file ends inside a block header */
			cut->block = off + (off_t)at;
			cut->reason = LEDGER_CUT_PAST_EOF;
			return cut->block == L2_MAGIC_LEN ? 0 : cut->block;
		}
		off += (off_t)at; /* the next header, read again from its start */
	}
	return size;
}

/* A new file beside the ledger, never an existing one (O_EXCL: a second
 * cut at the same offset in one run gets the next suffix). */
static int create_save_file(const char *path, off_t offset, char *name, size_t namelen)
{
	for (int i = 1; i < SAVE_NAME_TRIES; i++) {
		int n = i == 1 ? snprintf(name, namelen, "%s.cut-%lld", path, (long long)offset)
			       : snprintf(name, namelen, "%s.cut-%lld.%d", path, (long long)offset, i);
		if (n < 0 || (size_t)n >= namelen) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* Copies the first LEDGER_CUT_SAVE_MAX bytes of the cut to a new file
 * beside the ledger, fsynced with its name. */
static int save_cut(int fd, const char *path, off_t size, uint8_t *buf, struct ledger_cut *cut, char *err,
		    size_t errlen)
{
	int out = create_save_file(path, cut->offset, cut->saved, sizeof(cut->saved));
	if (out < 0) {
		snprintf(err, errlen, "ledger %s: create %s.cut-%lld to save the %lld bytes to cut: %s", path, path,
			 (long long)cut->offset, (long long)cut->length, strerror(errno));
		cut->saved[0] = '\0';
		return -1;
	}
	for (off_t off = cut->offset; off < size;) {
		size_t n = size - off < RECOVER_CHUNK ? (size_t)(size - off) : RECOVER_CHUNK;
		if (read_at(fd, (char *)buf, n, off) < 0) {
			snprintf(err, errlen, "ledger %s: read at offset %lld: %s", path, (long long)off, strerror(errno));
			goto fail;
		}
		off_t room = LEDGER_CUT_SAVE_MAX - cut->saved_len;
		if (room > 0) {
			size_t keep = room < (off_t)n ? (size_t)room : n;
			if (fs_write_all(out, buf, keep) < 0) {
				snprintf(err, errlen, "ledger %s: write %s: %s", path, cut->saved, strerror(errno));
				goto fail;
			}
			cut->saved_len += (off_t)keep;
		}
		off += (off_t)n;
	}
	/* One message, naming the saved file, for either fsync: no err buffer. */
	if (fsync(out) < 0 || fs_fsync_parent(cut->saved, NULL, 0) < 0) {
		snprintf(err, errlen, "ledger %s: fsync %s: %s", path, cut->saved, strerror(errno));
		goto fail;
	}
	close(out);
	return 0;
fail:
	close(out);
	unlink(cut->saved); /* the ledger is not cut: its bytes are all still there */
	return -1;
}

/* The cut itself, with the inode's append-only flag lifted only for the
 * truncate and put back after it, also when the truncate failed. */
static int truncate_tail(int fd, const char *path, off_t offset, char *err, size_t errlen)
{
	bool append_only = append_only_is_set(fd);
	if (append_only && append_only_set(fd, false) < 0) {
		snprintf(err, errlen, "ledger %s: clear its append-only flag to cut it: %s", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	if (ftruncate(fd, offset) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "ledger %s: cut at offset %lld: %s", path, (long long)offset, strerror(errno));
		rc = -1;
	}
	if (append_only && append_only_set(fd, true) < 0) {
		snprintf(err, errlen, "ledger %s: set its append-only flag again after the cut: %s", path,
			 strerror(errno));
		rc = -1;
	}
	return rc;
}

static const char *reason_text(const struct ledger_cut *cut)
{
	switch (cut->reason) {
	case LEDGER_CUT_MAGIC: return "the file ends within or right after the magic";
	case LEDGER_CUT_MARKER: return "a block whose marker is not 0xB2";
	case LEDGER_CUT_LENGTH: return "a block whose length is out of range";
	case LEDGER_CUT_PAST_EOF: return "a block that runs past the end of the file";
	case LEDGER_CUT_NONE: break;
	}
	return "?";
}

int ledger_file_recover(int fd, const char *path, struct ledger_cut *cut, char *err, size_t errlen)
{
	memset(cut, 0, sizeof(*cut));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "ledger %s: fstat: %s", path, strerror(errno));
		return -1;
	}
	uint8_t *buf = malloc(RECOVER_CHUNK);
	if (!buf) {
		snprintf(err, errlen, "ledger %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = -1;
	cut->offset = find_cut(fd, st.st_size, buf, cut);
	if (cut->offset < 0) {
		snprintf(err, errlen, "ledger %s: read: %s", path, strerror(errno));
		goto out;
	}
	cut->length = st.st_size - cut->offset;
	if (cut->length == 0) {
		rc = 0;
		goto out;
	}
	if (save_cut(fd, path, st.st_size, buf, cut, err, errlen) < 0 ||
	    truncate_tail(fd, path, cut->offset, err, errlen) < 0)
		goto out;
	log_warn("ledger %s: cut %lld bytes at offset %lld (%s, at offset %lld%s; %llu complete blocks kept): %s%lld "
		 "bytes saved in %s%s",
		 path, (long long)cut->length, (long long)cut->offset, reason_text(cut), (long long)cut->block,
		 cut->offset == 0 && cut->reason != LEDGER_CUT_MAGIC ? ": the segment's first block, so all of it" : "",
		 (unsigned long long)cut->blocks, cut->saved_len < cut->length ? "only the first " : "",
		 (long long)cut->saved_len, cut->saved,
		 cut->saved_len < cut->length ? " (the cap of a saved cut): the rest is gone" : "");
	rc = 0;
out:
	free(buf);
	return rc;
}
