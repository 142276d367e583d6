/* SPDX-License-Identifier: Apache-2.0 */
#include "host_part.h"

#include <stdio.h>
#include <string.h>

bool host_part_spread(const struct topology *t)
{
	if (t->intermediary_host || t->association_host)
		return true;
	for (size_t i = 0; i < t->n_providers; i++)
		if (t->providers[i].host)
			return true;
	return false;
}

const char *host_part_of(const struct topology *t, enum role_kind kind, size_t i)
{
	switch (kind) {
	case ROLE_INTERMEDIARY: return t->intermediary_host;
	case ROLE_ASSOCIATION: return t->association_host;
	case ROLE_PROVIDER: return t->providers[i].host;
	default: return t->this_host[0] ? t->this_host : NULL; /* the bridge: wherever it is needed */
	}
}

bool host_part_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool host_part_here(const struct topology *t, enum role_kind kind, size_t i)
{
	if (!host_part_spread(t))
		return true;
	const char *host = host_part_of(t, kind, i);
	return host && t->this_host[0] && strcmp(host, t->this_host) == 0;
}

/* A channel whose writer is here and reader elsewhere goes out through the
 * bridge; the reverse comes in. */
static size_t add_lane(struct lane *out, size_t n, bool writer_here, bool reader_here, enum lane_kind kind, size_t i)
{
	if (writer_here == reader_here)
		return n;
	out[n] = (struct lane){ .dir = writer_here ? LANE_OUT : LANE_IN, .kind = kind, .provider = i };
	return n + 1;
}

size_t host_part_lanes(const struct topology *t, struct lane *out)
{
	size_t n = 0;
	if (!host_part_spread(t) || !t->this_host[0])
		return 0;
	bool im = host_part_here(t, ROLE_INTERMEDIARY, 0), as = host_part_here(t, ROLE_ASSOCIATION, 0);
	for (size_t i = 0; i < t->n_providers; i++) {
		bool pv = host_part_here(t, ROLE_PROVIDER, i);
		n = add_lane(out, n, im, pv, LANE_ARTIFACT, i);
		n = add_lane(out, n, pv, as, LANE_SIGNAL, i);
	}
	return n;
}

const char *lane_kind_word(enum lane_kind k)
{
	return k == LANE_ARTIFACT ? "art" : "sig";
}

const char *lane_dir_word(enum lane_dir d)
{
	return d == LANE_OUT ? "out" : "in";
}

static size_t add_name(const char **names, size_t n, size_t max, const char *name)
{
	if (!name)
		return n;
	for (size_t k = 0; k < n; k++)
		if (strcmp(names[k], name) == 0)
			return n;
	if (n < max)
		names[n++] = name;
	return n;
}

size_t host_part_names(const struct topology *t, const char **names, size_t max)
{
	size_t n = add_name(names, 0, max, t->intermediary_host);
	n = add_name(names, n, max, t->association_host);
	for (size_t i = 0; i < t->n_providers; i++)
		n = add_name(names, n, max, t->providers[i].host);
	return n;
}

int host_part_bridge_admitted(int abi, bool allow_any_tcp_port, char *msg, size_t len)
{
	char kernel[64];
	if (abi >= 4)
		return 0;
	if (abi > 0)
		snprintf(kernel, sizeof(kernel), "this kernel's Landlock (ABI %d)", abi);
	else
		snprintf(kernel, sizeof(kernel), "this kernel, which has no Landlock,");
	if (allow_any_tcp_port) {
		snprintf(msg, len,
			 "%s cannot restrict TCP connect: the bridge may connect to any TCP port, the seccomp socket "
			 "family rule its only network restriction (allow_any_tcp_port = yes)",
			 kernel);
		return 1;
	}
	snprintf(msg, len,
		 "%s cannot restrict TCP connect (ABI 4, Linux 6.7, can): this part's bridge could connect to any "
		 "TCP port; run it on a newer kernel, or set allow_any_tcp_port = yes to accept that",
		 kernel);
	return -1;
}
