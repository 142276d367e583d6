/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "load.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void pause_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void *client_run(void *arg)
{
	struct load_client *c = arg;
	struct load *l = c->load;
	int fd = -1;
	for (size_t i = 0; !atomic_load(&l->stop); i++) {
		if (fd < 0 && (fd = http_connect(l->port)) < 0) {
			atomic_fetch_add(&c->refused, 1);
			pause_us(10000);
			continue;
		}
		char body[128];
		int len = snprintf(body, sizeof(body), "load %s client %d request %zu", l->tag, c->id, i);
		atomic_fetch_add(&c->sent, 1);
		int status = http_post_on(fd, "/nuvl", "CTX_ALPHA", body, (size_t)len);
		if (status == 204) {
			atomic_fetch_add(&c->answered, 1);
		} else {
			atomic_fetch_add(status ? &c->other : &c->unknown, 1);
			close(fd);
			fd = -1;
		}
		if (l->pause_us)
			pause_us(l->pause_us);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

int load_start(struct load *l, int port, int threads, unsigned pause_us_between, const char *tag)
{
	if (threads < 1 || threads > LOAD_THREADS_MAX)
		return -1;
	memset(l, 0, sizeof(*l));
	l->port = port;
	l->pause_us = pause_us_between;
	snprintf(l->tag, sizeof(l->tag), "%s", tag);
	atomic_init(&l->stop, false);
	for (int i = 0; i < threads; i++) {
		struct load_client *c = &l->clients[i];
		c->load = l;
		c->id = i;
		if (pthread_create(&c->thread, NULL, client_run, c) != 0) {
			l->threads = i;
			load_stop(l);
			return -1;
		}
	}
	l->threads = threads;
	return 0;
}

void load_stop(struct load *l)
{
	atomic_store(&l->stop, true);
	for (int i = 0; i < l->threads; i++)
		pthread_join(l->clients[i].thread, NULL);
	l->threads = 0;
}

struct load_counts load_counts(const struct load *l)
{
	struct load_counts t = { 0 };
	for (int i = 0; i < LOAD_THREADS_MAX; i++) {
		const struct load_client *c = &l->clients[i];
		t.sent += atomic_load(&c->sent);
		t.answered += atomic_load(&c->answered);
		t.other += atomic_load(&c->other);
		t.unknown += atomic_load(&c->unknown);
		t.refused += atomic_load(&c->refused);
	}
	return t;
}
