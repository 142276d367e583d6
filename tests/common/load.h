/* SPDX-License-Identifier: Apache-2.0 */
/* Load for end-to-end tests: threads, each a keep-alive HTTP client posting
 * distinct bodies (context CTX_ALPHA, which the harness's providers accept)
 * to an instance until told to stop, counting what came back. A client
 * whose connection fails opens a new one. The counts can be read while the
 * load runs. */
#ifndef MPBS_TEST_LOAD_H
#define MPBS_TEST_LOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define LOAD_THREADS_MAX 16

struct load_client {
	pthread_t thread;
	struct load *load;
	int id;
	atomic_size_t sent;     /* requests written in full or in part */
	atomic_size_t answered; /* 204 */
	atomic_size_t other;    /* any other status */
	atomic_size_t unknown;  /* no response: the connection failed after the request went out */
	atomic_size_t refused;  /* connects that failed (no request sent) */
};

struct load {
	int port;
	int threads;
	unsigned pause_us; /* between two requests of one client */
	char tag[32];      /* in every body: requests of two loads never share a body */
	atomic_bool stop;
	struct load_client clients[LOAD_THREADS_MAX];
};

/* Totals over every client. sent = answered + other + unknown (a request is
 * counted once its outcome is known, so only after load_stop exactly). */
struct load_counts {
	size_t sent, answered, other, unknown, refused;
};

/* Starts threads (1..LOAD_THREADS_MAX) clients on port; tag names the load
 * in its bodies ("run1"). Returns 0, or -1 (nothing left running). */
int load_start(struct load *l, int port, int threads, unsigned pause_us, const char *tag);
/* Tells every client to stop after its request under way; joins them. */
void load_stop(struct load *l);
struct load_counts load_counts(const struct load *l);

#endif
