/* SPDX-License-Identifier: Apache-2.0 */
/* The clocks every part reads: nanoseconds of a clock, and milliseconds of
 * CLOCK_MONOTONIC (deadlines, backoffs, timeouts), inline since roles read
 * them on their hot paths. */
#ifndef MPBS_CLOCK_H
#define MPBS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
