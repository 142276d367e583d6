/* SPDX-License-Identifier: Apache-2.0 */
/* A topology spread over hosts: the [nats] servers parser, the checks of
 * host keys, and which lanes each host part's bridge carries. */
#define _GNU_SOURCE /* nftw */
#include <criterion/criterion.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runner/host_part.h"
#include "../../runner/nats_urls.h"
#include "../../runner/topology.h"

static char scratch[PATH_MAX];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void write_text(const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "fopen %s", path);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
}

/* Two providers' files, each with a public key: what the checks of every
 * part look at. */
static void setup(void)
{
	char tpl[] = "/tmp/mpbs-hosts-XXXXXX";
	cr_assert_not_null(mkdtemp(tpl));
	cr_assert_not_null(realpath(tpl, scratch));
	cr_assert_eq(chdir(scratch), 0);
	write_text("p.policy", "accept_context = CTX_ALPHA\n");
	cr_assert_eq(mkdir("kA", 0755), 0);
	cr_assert_eq(mkdir("kB", 0755), 0);
	write_text("kA/signal.pub", "00\n");
	write_text("kB/signal.pub", "00\n");
}

static void teardown(void)
{
	nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(unit_host_part, .init = setup, .fini = teardown);

/* ---- [nats] servers ---- */

Test(unit_host_part, servers_are_address_literals_with_ports)
{
	struct nats_url u[NATS_URLS_MAX];
	char msg[256];
	cr_assert_eq(nats_urls_parse("nats://127.0.0.1:4222", u, msg, sizeof(msg)), 1, "%s", msg);
	cr_assert_eq(u[0].port, 4222);
	cr_assert(!u[0].tls);
	cr_assert_eq(nats_urls_parse(" nats://10.0.0.1:1 , tls://[::1]:65535,nats://192.168.1.2:4223 ", u, msg,
				     sizeof(msg)),
		     3, "%s", msg);
	cr_assert_str_eq(u[0].text, "nats://10.0.0.1:1");
	cr_assert(u[1].tls);
	cr_assert_eq(u[1].port, 65535);
	cr_assert_str_eq(u[2].text, "nats://192.168.1.2:4223");
}

Test(unit_host_part, servers_refused_name_what_is_wrong)
{
	static const struct {
		const char *list, *fragment;
	} bad[] = {
		{ "", "empty server" },
		{ "nats://127.0.0.1:4222,", "empty server" },
		{ "http://127.0.0.1:4222", "expected nats://IP:PORT" },
		{ "nats://localhost:4222", "names are not resolved" },
		{ "nats://127.0.0.1", "expected IP:PORT" },
		{ "nats://127.0.0.1:0", "port" },
		{ "nats://127.0.0.1:65536", "port" },
		{ "nats://127.0.0.1:42x", "port" },
		{ "tls://[::1:4222", "[IPv6]:PORT" },
		{ "tls://[::g]:4222", "not an IPv6 address" },
		{ "nats://1.2.3.4:1,nats://1.2.3.4:2,nats://1.2.3.4:3,nats://1.2.3.4:4,nats://1.2.3.4:5,"
		  "nats://1.2.3.4:6,nats://1.2.3.4:7,nats://1.2.3.4:8,nats://1.2.3.4:9,nats://1.2.3.4:10,"
		  "nats://1.2.3.4:11,nats://1.2.3.4:12,nats://1.2.3.4:13,nats://1.2.3.4:14,nats://1.2.3.4:15,"
		  "nats://1.2.3.4:16,nats://1.2.3.4:17",
		  "more than 16 servers" },
		{ "nats://111.111.111.111:4222222222222222222222222222222222222222222222222222222222222", "too long" },
	};
	struct nats_url u[NATS_URLS_MAX];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[256] = "";
		cr_assert_eq(nats_urls_parse(bad[i].list, u, msg, sizeof(msg)), -1, "accepted '%s'", bad[i].list);
		cr_assert_not_null(strstr(msg, bad[i].fragment), "'%s': expected '%s' in '%s'", bad[i].list,
				   bad[i].fragment, msg);
	}
}

/* ---- host keys ---- */

#define NATS "[nats]\nservers = nats://127.0.0.1:4222\ncredentials = cred\n"
#define SPREAD                                                                                       \
	NATS "[intermediary]\nhost = front\n[association]\nhost = back\nledger = l/ledger\n"            \
	     "[provider A]\nhost = pa\npolicy = p.policy\nkeys = kA\n"                                  \
	     "[provider B]\nhost = back\npolicy = p.policy\nkeys = kB\n"

static int load_part(struct topology *t, const char *text, const char *host, char *err, size_t len)
{
	write_text("t.conf", text);
	return topology_load_part(t, "t.conf", NULL, 0, 0, host, err, len);
}

static void expect_refused(const char *text, const char *host, const char *fragment)
{
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(load_part(&t, text, host, err, sizeof(err)), -1, "accepted:\n%s", text);
	cr_assert_not_null(strstr(err, fragment), "expected '%s' in '%s'", fragment, err);
	cr_assert_null(t.path, "a refused load holds nothing");
}

Test(unit_host_part, one_host_stays_as_it_was)
{
	struct topology t;
	char err[1024];
	cr_assert_eq(load_part(&t, "[provider A]\npolicy = p.policy\nkeys = kA\n", NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert(!host_part_spread(&t));
	cr_assert(host_part_here(&t, ROLE_INTERMEDIARY, 0) && host_part_here(&t, ROLE_PROVIDER, 0));
	struct lane lanes[(2 * TOPO_PROVIDERS_MAX)];
	cr_assert_eq(host_part_lanes(&t, lanes), 0, "no bridge on one host");
	topology_free(&t);
	expect_refused("[provider A]\npolicy = p.policy\nkeys = kA\n", "front", "runs on one host");
}

Test(unit_host_part, every_role_names_its_part_and_nats_is_set)
{
	expect_refused(NATS "[intermediary]\nhost = front\n[provider A]\npolicy = p.policy\nkeys = kA\n", NULL,
		       "[association] host: missing");
	expect_refused(NATS "[intermediary]\nhost = front\n[association]\nhost = back\n"
			    "[provider A]\npolicy = p.policy\nkeys = kA\n",
		       NULL, "[provider A] host: missing");
	expect_refused("[intermediary]\nhost = front\n[association]\nhost = back\n"
		       "[provider A]\nhost = x\npolicy = p.policy\nkeys = kA\n",
		       NULL, "servers: missing");
	expect_refused("[intermediary]\nhost = front\n", NULL, "no [provider NAME]");
	expect_refused(SPREAD "[provider C]\nhost = bad.name\npolicy = p.policy\nkeys = kA\n", NULL,
		       "expected a host part's name");
	expect_refused(SPREAD, "nowhere", "--host nowhere: no role runs there (its host parts: front, back, pa)");
	expect_refused(SPREAD "[nats]\n", NULL, "duplicate section");
	expect_refused(NATS "batch_bytes = 64K\n[intermediary]\nhost = front\nmax_request = 65536\n[association]\nhost = back\n"
			    "[provider A]\nhost = back\npolicy = p.policy\nkeys = kA\n",
		       NULL, "batch_bytes: 65536 is less than the largest artifact");
}

Test(unit_host_part, a_remote_provider_cannot_use_demo_keys)
{
	expect_refused(NATS "[intermediary]\nhost = front\n[association]\nhost = back\nledger = l/ledger\n"
			    "[provider A]\nhost = pa\npolicy = p.policy\nkeys = kA\ndemo_keys = yes\n",
		       NULL, "demo_keys: not on another host than the association's (back)");
}

/* A part checks its own roles' files, and the association's part every
 * provider's public key; files of other parts are not looked at. */
Test(unit_host_part, each_part_checks_only_its_own_files)
{
	struct topology t;
	char err[1024];
	const char *missing_policy = NATS "[intermediary]\nhost = front\n[association]\nhost = back\nledger = l/ledger\n"
					  "[provider A]\nhost = pa\npolicy = gone.policy\nkeys = kA\n";
	cr_assert_eq(load_part(&t, missing_policy, NULL, err, sizeof(err)), 0, "the whole: %s", err);
	topology_free(&t);
	cr_assert_eq(load_part(&t, missing_policy, "front", err, sizeof(err)), 0, "front: %s", err);
	topology_free(&t);
	cr_assert_eq(load_part(&t, missing_policy, "back", err, sizeof(err)), 0, "back: %s", err);
	topology_free(&t);
	expect_refused(missing_policy, "pa", "policy: stat");
	cr_assert_eq(unlink("kA/signal.pub"), 0);
	expect_refused(missing_policy, "back", "[provider A] public_key: stat");
}

static size_t lanes_of(const char *host, struct lane *lanes)
{
	struct topology t;
	char err[1024];
	cr_assert_eq(load_part(&t, SPREAD, host, err, sizeof(err)), 0, "%s: %s", host, err);
	cr_assert_str_eq(t.this_host, host);
	size_t n = host_part_lanes(&t, lanes);
	topology_free(&t);
	return n;
}

static void expect_lane(const struct lane *l, enum lane_dir d, enum lane_kind k, size_t provider)
{
	cr_assert_eq(l->dir, d);
	cr_assert_eq(l->kind, k);
	cr_assert_eq(l->provider, provider);
}

/* front: the intermediary's artifacts to A (pa) and B (back) go out; pa:
 * A's artifacts come in, its signals go out; back: B is with the
 * association, A's signals come in, B's artifacts come in. */
Test(unit_host_part, lanes_follow_the_channels_that_leave_a_part)
{
	struct lane l[(2 * TOPO_PROVIDERS_MAX)];
	cr_assert_eq(lanes_of("front", l), 2);
	expect_lane(&l[0], LANE_OUT, LANE_ARTIFACT, 0);
	expect_lane(&l[1], LANE_OUT, LANE_ARTIFACT, 1);
	cr_assert_eq(lanes_of("pa", l), 2);
	expect_lane(&l[0], LANE_IN, LANE_ARTIFACT, 0);
	expect_lane(&l[1], LANE_OUT, LANE_SIGNAL, 0);
	cr_assert_eq(lanes_of("back", l), 2);
	expect_lane(&l[0], LANE_IN, LANE_SIGNAL, 0);
	expect_lane(&l[1], LANE_IN, LANE_ARTIFACT, 1);
}
