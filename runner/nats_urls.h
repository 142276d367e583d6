/* SPDX-License-Identifier: Apache-2.0 */
/* The [nats] servers key: a comma-separated list of nats://IP:PORT or
 * tls://IP:PORT. Addresses are literals: the bridge resolves no name (its
 * sandbox has no resolver files and its filter no DNS), and its Landlock
 * rules allow TCP connect to exactly these ports. */
#ifndef MPBS_NATS_URLS_H
#define MPBS_NATS_URLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NATS_URLS_MAX 16
#define NATS_URL_TEXT_MAX 64 /* "tls://[ffff:...:ffff]:65535" */

struct nats_url {
	bool tls;
	bool loopback; /* 127.0.0.0/8 or ::1: a nats:// password never leaves the host */
	uint16_t port;
	char text[NATS_URL_TEXT_MAX]; /* as written, trimmed */
};

/* Parses list into out (at most NATS_URLS_MAX). Returns the count (at
 * least 1), or -1 with msg naming the item and what is wrong with it. */
int nats_urls_parse(const char *list, struct nats_url out[NATS_URLS_MAX], char *msg, size_t len);

#endif
