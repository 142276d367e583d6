/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* How many connections each client address holds, for
 * max_connections_per_ip: an open-addressing table with linear probing,
 * twice as many slots as max_connections so a probe stays short, and
 * keyed SipHash (libsodium's crypto_shorthash) with a key drawn at start so
 * a client cannot choose addresses that collide. A slot is freed by moving
 * later entries of its run back (no tombstones), so the table never fills
 * with dead entries however many clients come and go. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "intermediary_internal.h"

static uint8_t hash_key[crypto_shorthash_KEYBYTES];

bool peers_init(struct peers *p, unsigned max_connections)
{
	size_t n = 64;
	while (n < 2 * (size_t)max_connections)
		n *= 2;
	p->slots = calloc(n, sizeof(*p->slots));
	p->mask = n - 1;
	crypto_shorthash_keygen(hash_key);
	return p->slots != NULL;
}

void peers_free(struct peers *p)
{
	free(p->slots);
	p->slots = NULL;
}

/* The address alone (no port), IPv4 as an IPv4-mapped IPv6 address, and
 * IPv6 by its /64 prefix: a host is commonly given a whole /64, so its
 * addresses are one client. */
void peer_address(const struct sockaddr_storage *ss, uint8_t out[16])
{
	memset(out, 0, 16);
	if (ss->ss_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		bool mapped = memcmp(out, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
		if (!mapped)
			memset(out + 8, 0, 8); /* one client holds a /64: it is counted as one */
	} else if (ss->ss_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	}
}

static size_t home_of(const struct peers *p, const uint8_t addr[16])
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, addr, 16, hash_key);
	return (size_t)h & p->mask;
}

/* The slot of addr, or the free slot that ends its run. */
static size_t slot_of(const struct peers *p, const uint8_t addr[16])
{
	size_t i = home_of(p, addr);
	while (p->slots[i].conns && memcmp(p->slots[i].addr, addr, 16) != 0)
		i = (i + 1) & p->mask;
	return i;
}

bool peers_add(struct peers *p, const uint8_t addr[16], unsigned cap)
{
	size_t i = slot_of(p, addr);
	if (p->slots[i].conns >= cap)
		return false;
	if (!p->slots[i].conns)
		memcpy(p->slots[i].addr, addr, 16);
	p->slots[i].conns++;
	return true;
}

/* True when home h lies cyclically in (hole, i]: the entry at i must stay
 * after the hole. */
static bool stays(size_t hole, size_t i, size_t h)
{
	return hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
}

void peers_remove(struct peers *p, const uint8_t addr[16])
{
	size_t hole = slot_of(p, addr);
	if (!p->slots[hole].conns || --p->slots[hole].conns > 0)
		return;
	/* Backward shift: an entry later in the run that its home lets sit
	 * in the hole moves there, and its old slot is the next hole. */
	for (size_t i = (hole + 1) & p->mask; p->slots[i].conns; i = (i + 1) & p->mask) {
		if (stays(hole, i, home_of(p, p->slots[i].addr)))
			continue;
		p->slots[hole] = p->slots[i];
		p->slots[i].conns = 0;
		hole = i;
	}
}
