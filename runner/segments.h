/* SPDX-License-Identifier: Apache-2.0 */
/* The ledger's segment files on disk, the supervisor's side
 * (docs/LEDGER.md "Files"): LEDGER the live segment, LEDGER.NNNNNN the
 * sealed ones, LEDGER.next the spare. The association writes blocks into
 * the fds it is handed and names no file; everything about names is here:
 * reconciling them at start and before each restart of the association,
 * the renames of a rotation it reports on the segments socket
 * (roles/association/association.h), the spare it is sent, and the
 * retention of sealed segments (keep_segments, keep_days). */
#ifndef MPBS_SEGMENTS_H
#define MPBS_SEGMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What segments_open and segments_prepare return when the files on disk
 * are what the operator must fix (a version 1 ledger, a live segment that
 * is gone): the run exits 78, no restart repairs it. */
#define SEGMENTS_REFUSED 2

struct segments {
	const char *ledger;       /* LEDGER, absolute (the topology's) */
	const char *base;         /* its last component, within ledger */
	int dirfd;                /* its directory */
	uint32_t keep_segments;   /* 0: keep all */
	uint32_t keep_days;       /* 0: keep all */
	int live_fd;              /* LEDGER, O_RDWR|O_APPEND: the association's ASSOCIATION_FD_LEDGER */
	int spare_fd;             /* LEDGER.next, or -1 once the association has it and rotated into it */
	int held[2];              /* during segments_prepare: the run's previous live and spare opens */
	int sock;                 /* the supervisor's end of the segments socket */
	int peer;                 /* the association's end, held until the next segments_prepare (as every
				   * channel end is held: every socket a role holds is one the supervisor made) */
	bool append_only;         /* the live segment carries FS_APPEND_FL */
	int append_only_errno;    /* why not, when it does not */
	unsigned ignored;         /* messages ignored since the last rotation (logged up to a few) */
	uint32_t rotations;       /* processed in this run */
};

/* Every fd closed (-1): what segments_close may be called on. */
void segments_init(struct segments *sg);

/* Opens the directory of ledger (created if missing) and runs
 * segments_prepare. Returns 0, SEGMENTS_REFUSED or -1, with err set. */
int segments_open(struct segments *sg, const char *ledger, uint32_t keep_segments, uint32_t keep_days, char *err,
		  size_t errlen);

/* Before each start of the association (none running): reconciles the
 * names (the cases are listed in segments.c), opens the live segment and
 * cuts its torn tail (runner/ledger_recover.h), opens or creates the spare,
 * applies the retention and makes a fresh segments socket. Whatever was
 * open before is closed first. Returns 0, SEGMENTS_REFUSED or -1. */
int segments_prepare(struct segments *sg, char *err, size_t errlen);

/* The association is started: it is sent the spare. */
void segments_started(struct segments *sg);

/* The supervisor's end is readable: takes every message waiting (at most a
 * few per call), processes a SEGMENTS_MSG_SEALED (renames, retention, a new
 * spare) and ignores, with a log line, anything else. Closes the socket
 * once the association's end is gone; returns false then. */
bool segments_on_readable(struct segments *sg);

/* Removes the sealed segments beyond keep_segments and older than
 * keep_days (never the live segment nor the spare), logging each. Returns
 * how many were removed, or -1 (logged) when the directory cannot be read. */
int segments_retain(struct segments *sg);

void segments_close(struct segments *sg);

#endif
