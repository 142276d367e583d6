/* SPDX-License-Identifier: Apache-2.0 */
/* Group commit without stalling the association: its loop writes records
 * as it makes them, and one worker thread runs fdatasync on what was
 * written while the loop goes on reading signals. The loop learns through
 * an eventfd that a sync finished, and only then reports the confirmations
 * it covered: a reported confirmation is on disk. */
#ifndef MPBS_SYNCER_H
#define MPBS_SYNCER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct syncer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;            /* the ledger's live segment */
	int done_fd;       /* eventfd: written by the worker after each sync */
	uint64_t want;     /* sync everything written up to this seq */
	uint64_t synced;   /* highest seq known durable */
	int error;         /* errno of a failed fdatasync, sticky */
	bool stop;
	bool started;
	bool running;      /* the worker has started and waits for work */
};

/* Starts the worker (before the role seals itself: thread creation is not
 * in the association's seccomp list). Returns 0, or -1 with errno. */
int syncer_start(struct syncer *s, int ledger_fd, uint64_t synced);
/* Asks for everything up to seq to become durable. */
void syncer_request(struct syncer *s, uint64_t seq);
/* A rotation: from now on the worker syncs fd (the new live segment), and
 * everything up to seq is durable (the old one was synced). Only while no
 * sync is in flight. */
void syncer_switch(struct syncer *s, int fd, uint64_t synced);
/* After done_fd was readable: the highest durable seq, or -1 with errno
 * after a failed sync. */
int syncer_collect(struct syncer *s, uint64_t *synced);
void syncer_stop(struct syncer *s);

#endif
