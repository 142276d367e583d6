/* SPDX-License-Identifier: Apache-2.0 */
#include "nats_urls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "topology.h"

/* IP:PORT or [IPv6]:PORT: a literal address and a port from 1. */
static int parse_address(const char *addr, struct nats_url *u, char *msg, size_t len)
{
	char host[48];
	const char *colon;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} bin;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':' || (size_t)(close - addr - 1) >= sizeof(host)) {
			snprintf(msg, len, "expected [IPv6]:PORT after the scheme");
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(close - addr - 1), addr + 1);
		colon = close + 1;
		if (inet_pton(AF_INET6, host, &bin.v6) != 1) {
			snprintf(msg, len, "'%s' is not an IPv6 address", host);
			return -1;
		}
		u->loopback = IN6_IS_ADDR_LOOPBACK(&bin.v6);
	} else {
		colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
			snprintf(msg, len, "expected IP:PORT after the scheme");
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
		if (inet_pton(AF_INET, host, &bin.v4) != 1) {
			snprintf(msg, len, "'%s' is not an IPv4 address (names are not resolved: write the address)", host);
			return -1;
		}
		u->loopback = ntohl(bin.v4.s_addr) >> 24 == 127;
	}
	uint64_t p;
	char why[128];
	if (topology_parse_uint(colon + 1, 1, 65535, &p, why, sizeof(why)) < 0) {
		snprintf(msg, len, "port: %s", why);
		return -1;
	}
	u->port = (uint16_t)p;
	return 0;
}

static int parse_one(const char *item, struct nats_url *u, char *msg, size_t len)
{
	static const char nats[] = "nats://", tls[] = "tls://";
	const char *rest;
	if (strncmp(item, nats, sizeof(nats) - 1) == 0) {
		rest = item + sizeof(nats) - 1;
		u->tls = false;
	} else if (strncmp(item, tls, sizeof(tls) - 1) == 0) {
		rest = item + sizeof(tls) - 1;
		u->tls = true;
	} else {
		snprintf(msg, len, "expected nats://IP:PORT or tls://IP:PORT");
		return -1;
	}
	if (strlen(item) >= sizeof(u->text)) {
		snprintf(msg, len, "longer than %zu bytes", sizeof(u->text) - 1);
		return -1;
	}
	snprintf(u->text, sizeof(u->text), "%s", item);
	return parse_address(rest, u, msg, len);
}

int nats_urls_parse(const char *list, struct nats_url out[NATS_URLS_MAX], char *msg, size_t len)
{
	int n = 0;
	const char *p = list;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		size_t item_len = strcspn(p, ",");
		size_t trimmed = item_len;
		while (trimmed > 0 && isspace((unsigned char)p[trimmed - 1]))
			trimmed--;
		char item[NATS_URL_TEXT_MAX + 8], why[160];
		if (trimmed == 0) {
			snprintf(msg, len, "an empty server in '%.64s'", list);
			return -1;
		}
		if (n == NATS_URLS_MAX) {
			snprintf(msg, len, "more than %d servers", NATS_URLS_MAX);
			return -1;
		}
		snprintf(item, sizeof(item), "%.*s", (int)(trimmed < sizeof(item) - 1 ? trimmed : sizeof(item) - 1), p);
		if (trimmed >= sizeof(item) - 1 || parse_one(item, &out[n], why, sizeof(why)) < 0) {
			snprintf(msg, len, "server '%.64s': %s", item,
				 trimmed >= sizeof(item) - 1 ? "too long" : why);
			return -1;
		}
		n++;
		if (p[item_len] != ',')
			return n;
		p += item_len + 1;
	}
}
