/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "lanes.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logline.h"

/* Exit status of a lane that cannot go on (sysexits' EX_SOFTWARE): not
 * 111, which would tell the supervisor not to restart. */
#define LANE_FATAL_EXIT 70

void lane_common_init(struct lane_common *c, const struct lane_arg *arg, int stop_fd)
{
	c->arg = arg;
	c->stop_fd = stop_fd;
	atomic_init(&c->stopping, false);
	atomic_init(&c->finished, false);
	snprintf(c->name, sizeof(c->name), "%s %s:%s", arg->out ? "out" : "in", lane_kind_name(arg->kind), arg->provider);
	lane_subject(arg->kind, arg->provider, c->subject, sizeof(c->subject));
	lane_stream(arg->kind, arg->provider, c->stream, sizeof(c->stream));
	lane_durable(arg->kind, arg->provider, c->durable, sizeof(c->durable));
}

int lane_start(struct lane_common *c, void *(*thread_main)(void *), void *lane, char *err, size_t errlen)
{
	int e = pthread_create(&c->thread, NULL, thread_main, lane);
	if (e) {
		snprintf(err, errlen, "%s: thread: %s", c->name, strerror(e));
		return -1;
	}
	c->started = true;
	return 0;
}

int64_t lane_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lane_fatal(const struct lane_common *c, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	bridge_error("%s: %s; exiting (the state memfd keeps the lane's progress)", c->name, text);
	/* the other lanes stop where they are: every state is kill-safe */
	_exit(LANE_FATAL_EXIT);
}
