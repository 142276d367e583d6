/* SPDX-License-Identifier: Apache-2.0 */
#include "syncer.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Syncs start at least this far apart: under load each fdatasync covers a
 * whole window of group commits instead of one, at most 500 a second
 * rather than one per loop round (4,900 a second under keep-alive 64 here,
 * each a wake-up, a disk flush and a wake-up of the loop). A confirmation is
 * logged this much later at most; nothing waits on it. */
#define SYNC_MIN_INTERVAL_NS 10000000L

static void wait_until(struct syncer *s, const struct timespec *at)
{
	while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, at) == 0) {
	}
}

static void *syncer_main(void *arg)
{
	struct syncer *s = arg;
	struct timespec next = { 0 };
	pthread_mutex_lock(&s->mu);
	/* Tell syncer_start this thread is through its own start-up (robust
	 * list, rseq, …): after that, the role may seal itself. */
	s->running = true;
	pthread_cond_broadcast(&s->cv);
	for (;;) {
		while (!s->stop && s->want <= s->synced)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop)
			break;
		wait_until(s, &next);
		if (s->stop)
			break;
		clock_gettime(CLOCK_MONOTONIC, &next);
		next.tv_nsec += SYNC_MIN_INTERVAL_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		uint64_t target = s->want;
		int fd = s->fd;
		pthread_mutex_unlock(&s->mu);
		int rc = fdatasync(fd);
		int err = errno;
		pthread_mutex_lock(&s->mu);
		if (rc < 0 && !s->error)
			s->error = err;
		if (rc == 0)
			s->synced = target;
		uint64_t one = 1;
		if (write(s->done_fd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow at this rate; nothing to do */
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int syncer_start(struct syncer *s, int ledger_fd, uint64_t synced)
{
	memset(s, 0, sizeof(*s));
	s->fd = ledger_fd;
	s->want = s->synced = synced;
	s->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->done_fd < 0)
		return -1;
	int rc = pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	if (rc == 0)
		rc = pthread_condattr_init(&ca);
	if (rc == 0)
		rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&s->cv, &ca);
	if (rc == 0)
		rc = pthread_create(&s->thread, NULL, syncer_main, s);
	if (rc != 0) {
		close(s->done_fd);
		errno = rc;
		return -1;
	}
	s->started = true;
	pthread_mutex_lock(&s->mu);
	while (!s->running)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

void syncer_request(struct syncer *s, uint64_t seq)
{
	pthread_mutex_lock(&s->mu);
	if (seq > s->want) {
		s->want = seq;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

void syncer_switch(struct syncer *s, int fd, uint64_t synced)
{
	pthread_mutex_lock(&s->mu);
	s->fd = fd;
	if (synced > s->synced)
		s->synced = synced;
	if (s->want < s->synced)
		s->want = s->synced;
	pthread_mutex_unlock(&s->mu);
}

int syncer_collect(struct syncer *s, uint64_t *synced)
{
	uint64_t count;
	if (read(s->done_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return -1;
	pthread_mutex_lock(&s->mu);
	*synced = s->synced;
	int err = s->error;
	pthread_mutex_unlock(&s->mu);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

void syncer_stop(struct syncer *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	close(s->done_fd);
	s->started = false;
}
