/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge's credentials as the supervisor hands them over (runner/
 * plan_bridge.c): a sealed memfd of four sections, each a u32
 * little-endian length and its bytes: the NATS password, then the CA,
 * client certificate and key PEMs (each possibly empty). No credential file
 * is in the bridge's view. Read once, with pread, before the seal. */
#ifndef MPBS_BRIDGE_SECRETS_H
#define MPBS_BRIDGE_SECRETS_H

#include <stddef.h>

#define SECRETS_SECTION_MAX (64u << 10)

struct secrets {
	char *password, *ca, *cert, *key; /* NUL-terminated; "" when absent */
};

/* Returns 0, or -1 with err naming what is wrong with the memfd. */
int secrets_read(int fd, struct secrets *s, char *err, size_t errlen);

/* Wipes and frees. */
void secrets_free(struct secrets *s);

#endif
