/* SPDX-License-Identifier: Apache-2.0 */
/* unit_peers: the intermediary's per-address connection counts
 * (roles/intermediary/peers.c): the cap per address, IPv4 and IPv6 kept
 * apart, and removal by backward shift checked against a plain model over
 * many addresses that share probe runs. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "../../roles/intermediary/intermediary_internal.h"

static struct sockaddr_storage v4(uint32_t host_order, uint16_t port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	in->sin_addr.s_addr = htonl(host_order);
	return ss;
}

static void addr_of(uint32_t host_order, uint8_t out[16])
{
	struct sockaddr_storage ss = v4(host_order, 1234);
	peer_address(&ss, out);
}

Test(unit_peers, an_address_holds_at_most_its_cap_and_ports_do_not_matter)
{
	struct peers p;
	cr_assert(peers_init(&p, 16));
	uint8_t a[16], b[16];
	struct sockaddr_storage other_port = v4(0x7f000001, 999);
	addr_of(0x7f000001, a);
	peer_address(&other_port, b);
	cr_assert_arr_eq(a, b, 16, "the port is not part of the address");
	for (int i = 0; i < 3; i++)
		cr_assert(peers_add(&p, a, 3), "connection %d of 3", i + 1);
	cr_assert_not(peers_add(&p, a, 3), "a fourth from the same address");
	peers_remove(&p, a);
	cr_assert(peers_add(&p, a, 3), "room again after one closed");
	peers_free(&p);
}

Test(unit_peers, ipv4_is_kept_as_mapped_ipv6_and_apart_from_other_ipv6)
{
	struct sockaddr_storage ss6;
	memset(&ss6, 0, sizeof(ss6));
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss6;
	in6->sin6_family = AF_INET6;
	cr_assert_eq(inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6->sin6_addr), 1);
	uint8_t mapped[16], v4addr[16], loop6[16];
	peer_address(&ss6, mapped);
	addr_of(0x7f000001, v4addr);
	cr_assert_arr_eq(mapped, v4addr, 16, "127.0.0.1 and ::ffff:127.0.0.1 are one client");
	cr_assert_eq(inet_pton(AF_INET6, "::1", &in6->sin6_addr), 1);
	peer_address(&ss6, loop6);
	cr_assert(memcmp(loop6, v4addr, 16) != 0);
}

/* Many addresses in a small table (probe runs overlap), added and removed
 * in a scrambled order: every count must match a plain array after every
 * step, which a broken backward shift (an entry moved past its home, or
 * left unreachable) fails. */
Test(unit_peers, removal_keeps_every_other_count_reachable)
{
	enum { N = 100, CAP = 4 };
	static unsigned model[N];
	struct peers p;
	cr_assert(peers_init(&p, 64)); /* 128 slots for 100 addresses */
	uint32_t state = 12345;
	for (int step = 0; step < 20000; step++) {
		state = state * 1103515245u + 12345u;
		unsigned k = (state >> 8) % N;
		uint8_t a[16];
		addr_of(0x0a000000u + k, a);
		if ((state >> 20) & 1) {
			bool added = peers_add(&p, a, CAP);
			cr_assert_eq(added, model[k] < CAP, "step %d: add of address %u with %u held", step, k, model[k]);
			model[k] += added;
		} else if (model[k] > 0) {
			peers_remove(&p, a);
			model[k]--;
		}
	}
	/* every count as the model says: fill each address to its cap */
	for (unsigned k = 0; k < N; k++) {
		uint8_t a[16];
		addr_of(0x0a000000u + k, a);
		for (unsigned held = model[k]; held < CAP; held++)
			cr_assert(peers_add(&p, a, CAP), "address %u: room for %u more", k, CAP - held);
		cr_assert_not(peers_add(&p, a, CAP), "address %u over its cap: it held %u", k, model[k]);
	}
	peers_free(&p);
}

/* A host is commonly given a whole /64: its addresses are one client. */
Test(unit_peers, ipv6_addresses_of_one_64_are_one_client)
{
	struct sockaddr_storage a, b, c;
	memset(&a, 0, sizeof(a));
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a;
	in6->sin6_family = AF_INET6;
	b = c = a;
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8:1:2::1", &((struct sockaddr_in6 *)&a)->sin6_addr), 1);
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8:1:2:ffff:1234:5678:9abc", &((struct sockaddr_in6 *)&b)->sin6_addr), 1);
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8:1:3::1", &((struct sockaddr_in6 *)&c)->sin6_addr), 1);
	uint8_t ka[16], kb[16], kc[16];
	peer_address(&a, ka);
	peer_address(&b, kb);
	peer_address(&c, kc);
	cr_assert_arr_eq(ka, kb, 16, "two addresses of one /64 counted apart");
	cr_assert(memcmp(ka, kc, 16) != 0, "another /64 counted as the same client");
	struct peers p;
	cr_assert(peers_init(&p, 16));
	cr_assert(peers_add(&p, ka, 1));
	cr_assert_not(peers_add(&p, kb, 1), "a second address of the /64 over a cap of 1");
	cr_assert(peers_add(&p, kc, 1));
	peers_free(&p);
}
