/* SPDX-License-Identifier: Apache-2.0 */
/* topology.conf: parsing, errors with their lines, overrides, validation. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/scratch.h"
#include "../../runner/topology.h"
#include "../common/harness.h"

/* Each test runs in its own process, so a per-process scratch_dir dir is safe. */
static void write_bytes(const char *name, const char *data, size_t len)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "fopen %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void write_text(const char *name, const char *text)
{
	write_bytes(name, text, strlen(text));
}

/* A provider with everything it needs: p.policy, keys/, keys/signal.pub. */
static void setup(void)
{
	scratch_enter("topo");
	write_text("p.policy", "accept_context = CTX_ALPHA\n");
	scratch_mkdir("keys");
	write_text("keys/signal.pub", "00\n");
}

TestSuite(unit_topology, .init = setup, .fini = scratch_leave);

#define PROVIDER_A "[provider A]\npolicy = p.policy\nkeys = keys\n"

static int load_text(struct topology *t, const char *text, char *const *ov, size_t n_ov, char *err, size_t errlen)
{
	write_text("t.conf", text);
	return topology_load(t, "t.conf", ov, n_ov, err, errlen);
}

static void scratch_path(char *out, size_t cap, const char *rel)
{
	snprintf(out, cap, "%s/%s", scratch_dir, rel);
}

static void assert_nothing_held(const struct topology *t)
{
	cr_assert_null(t->path);
	cr_assert_null(t->dir);
	cr_assert_null(t->listen);
	cr_assert_null(t->ledger);
	cr_assert_eq(t->n_providers, 0);
	cr_assert_null(t->providers[0].policy);
}

/* Loads text, expects failure with "t.conf:LINE: " followed by text containing fragment. */
static void expect_error_at(const char *text, int line, const char *fragment)
{
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(load_text(&t, text, NULL, 0, err, sizeof(err)), -1, "accepted:\n%s", text);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "t.conf:%d: ", line);
	cr_assert(strncmp(err, prefix, strlen(prefix)) == 0, "expected prefix '%s', got '%s'\nfor:\n%s", prefix, err, text);
	cr_assert_not_null(strstr(err, fragment), "expected '%s' in '%s'", fragment, err);
	assert_nothing_held(&t);
}

static int line_of(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	char buf[512];
	int n = 0, found = 0;
	while (!found && fgets(buf, sizeof(buf), f) != NULL) {
		n++;
		if (strncmp(buf, needle, strlen(needle)) == 0)
			found = n;
	}
	fclose(f);
	return found;
}

Test(unit_topology, reference_file_parses)
{
	char conf[PATH_MAX], dir[PATH_MAX], want[PATH_MAX + 64];
	snprintf(conf, sizeof(conf), "%s/contrib/topologies/reference.conf", mpbs_srcdir());
	snprintf(dir, sizeof(dir), "%s/contrib/topologies", mpbs_srcdir());
	char real_dir[PATH_MAX];
	cr_assert_not_null(realpath(dir, real_dir));

	struct topology t;
	char err[1024] = "";
	cr_assert_eq(topology_load(&t, conf, NULL, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(t.dir, real_dir);
	cr_assert_eq(t.uid_base, 200000);
	cr_assert_not(t.require_cgroups);
	cr_assert_str_eq(t.listen, "127.0.0.1:8080");
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&t.listen_addr;
	cr_assert_eq(t.listen_addrlen, sizeof(*a4));
	cr_assert_eq(a4->sin_family, AF_INET);
	cr_assert_eq(ntohs(a4->sin_port), 8080);
	cr_assert_eq(ntohl(a4->sin_addr.s_addr), INADDR_LOOPBACK);
	cr_assert_str_eq(t.http_path, "/nuvl");
	cr_assert_eq(t.max_request, 65536);
	cr_assert_str_eq(t.ledger, "/var/lib/mpbs/reference/ledger");
	cr_assert_eq(t.confirm_k, 0);
	cr_assert_eq(t.pending_timeout, 30);
	cr_assert_eq(t.n_providers, 3);
	const char *names[] = { "A", "B", "C" };
	for (size_t i = 0; i < 3; i++) {
		const struct topo_provider *p = &t.providers[i];
		cr_assert_str_eq(p->name, names[i]);
		snprintf(want, sizeof(want), "%s/reference/%s.policy", real_dir, names[i]);
		cr_assert_str_eq(p->policy, want);
		snprintf(want, sizeof(want), "/var/lib/mpbs/reference/keys/%s", names[i]);
		cr_assert_str_eq(p->keys, want);
		snprintf(want, sizeof(want), "/var/lib/mpbs/reference/keys/%s/signal.pub", names[i]);
		cr_assert_str_eq(p->public_key, want);
		cr_assert_null(p->state);
		cr_assert(p->receive_body);
		cr_assert(p->demo_keys);
		cr_assert_eq(p->checkpoint_every, 256);
		cr_assert_eq(p->checkpoint_us, 1500);
		snprintf(want, sizeof(want), "[provider %s]", names[i]);
		cr_assert_eq(p->line, line_of(conf, want));
	}
	topology_free(&t);
	assert_nothing_held(&t);
}

Test(unit_topology, defaults)
{
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(load_text(&t, PROVIDER_A, NULL, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(t.path, "t.conf");
	cr_assert_str_eq(t.dir, scratch_dir);
	cr_assert_eq(t.uid_base, 200000);
	cr_assert_str_eq(t.listen, "127.0.0.1:8080");
	cr_assert_str_eq(t.http_path, "/nuvl");
	cr_assert_eq(t.max_request, 65536);
	cr_assert_str_eq(t.ledger, "/var/lib/mpbs/ledger");
	cr_assert_eq(t.confirm_k, 0);
	cr_assert_eq(t.pending_timeout, 30);
	cr_assert_eq(t.http_timeout, 15);
	cr_assert_eq(t.header_timeout, 20);
	cr_assert_eq(t.body_timeout, 30);
	cr_assert_eq(t.pending_max, 65536);
	cr_assert_eq(t.limits[ROLE_INTERMEDIARY].nofile, 0);
	cr_assert_str_eq(t.limits[ROLE_INTERMEDIARY].cpu_max, "");
	const struct topo_provider *p = &t.providers[0];
	char want[PATH_MAX + 32];
	scratch_path(want, sizeof(want), "keys/signal.pub");
	cr_assert_str_eq(p->public_key, want);
	cr_assert_not(p->receive_body);
	cr_assert_not(p->demo_keys);
	cr_assert_eq(p->line, 1);
	topology_free(&t);
}

Test(unit_topology, every_key_parses)
{
	scratch_mkdir("state");
	const char *text = "[runner]\n"
			   "uid_base = 300000\n"
			   "require_cgroups = true\n"
			   "[intermediary]\n"
			   "listen = [::1]:9000\n"
			   "path = /in/x\n"
			   "max_request = 1048576\n"
			   "timeout = 5\n"
			   "header_timeout = 7\n"
			   "body_timeout = 3600\n"
			   "nofile = 512\n"
			   "nproc = 20\n"
			   "as = 512M\n"
			   "memory_max = 1G\n"
			   "pids_max = 30\n"
			   "cpu_max = 50000 100000\n"
			   "[association]\n"
			   "ledger = led/l.jsonl\n"
			   "confirm = 1\n"
			   "pending_timeout = 86400\n"
			   "pending_max = 16\n"
			   "cpu_max = max 100000\n"
			   "memory_max = 2048k\n"
			   "[provider B-2_x]\n"
			   "policy = p.policy\n"
			   "keys = keys\n"
			   "public_key = keys/signal.pub\n"
			   "state = state\n"
			   "receive_body = 1\n"
			   "demo_keys = FALSE\n"
			   "checkpoint_every = 65536\n"
			   "checkpoint_ms = 60000\n"
			   "nofile = 64   ; inline comment\n";
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(load_text(&t, text, NULL, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.uid_base, 300000);
	cr_assert(t.require_cgroups);
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&t.listen_addr;
	struct in6_addr lo = IN6ADDR_LOOPBACK_INIT;
	cr_assert_eq(t.listen_addrlen, sizeof(*a6));
	cr_assert_eq(a6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(a6->sin6_port), 9000);
	cr_assert_eq(memcmp(&a6->sin6_addr, &lo, sizeof(lo)), 0);
	cr_assert_str_eq(t.http_path, "/in/x");
	cr_assert_eq(t.max_request, 1048576);
	cr_assert_eq(t.http_timeout, 5);
	cr_assert_eq(t.header_timeout, 7);
	cr_assert_eq(t.body_timeout, 3600);
	cr_assert_eq(t.limits[ROLE_INTERMEDIARY].nofile, 512);
	cr_assert_eq(t.limits[ROLE_INTERMEDIARY].nproc, 20);
	cr_assert_eq(t.limits[ROLE_INTERMEDIARY].as_bytes, 512ull << 20);
	cr_assert_eq(t.limits[ROLE_INTERMEDIARY].memory_max, 1ull << 30);
	cr_assert_eq(t.limits[ROLE_INTERMEDIARY].pids_max, 30);
	cr_assert_str_eq(t.limits[ROLE_INTERMEDIARY].cpu_max, "50000 100000");
	char want[PATH_MAX + 32];
	scratch_path(want, sizeof(want), "led/l.jsonl");
	cr_assert_str_eq(t.ledger, want);
	cr_assert_eq(t.confirm_k, 1);
	cr_assert_eq(t.pending_timeout, 86400);
	cr_assert_eq(t.pending_max, 16);
	cr_assert_str_eq(t.limits[ROLE_ASSOCIATION].cpu_max, "max 100000");
	cr_assert_eq(t.limits[ROLE_ASSOCIATION].memory_max, 2048ull << 10);
	const struct topo_provider *p = &t.providers[0];
	cr_assert_str_eq(p->name, "B-2_x");
	scratch_path(want, sizeof(want), "state");
	cr_assert_str_eq(p->state, want);
	cr_assert(p->receive_body);
	cr_assert_not(p->demo_keys);
	cr_assert_eq(p->checkpoint_every, 65536);
	cr_assert_eq(p->checkpoint_us, 60000000);
	cr_assert_eq(p->limits.nofile, 64);
	cr_assert_eq(p->line, 24);
	topology_free(&t);
}

Test(unit_topology, operator_example_message_is_exact)
{
	const char *text = "; comment\n"
			   "[runner]\n"
			   "uid_base = 200000\n"
			   "\n"
			   "[provider A]\n"
			   "policy = p.policy\n"
			   "receive_body = maybe\n"
			   "keys = keys\n";
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(load_text(&t, text, NULL, 0, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf:7: [provider A] receive_body: expected yes or no, got 'maybe'");
}

Test(unit_topology, section_and_key_errors_name_their_line)
{
	expect_error_at("[runner]\nuid_base = 5\n[bogus]\n" PROVIDER_A, 3, "[bogus]: unknown section");
	expect_error_at(PROVIDER_A "[empty]\n", 4, "[empty]: unknown section");
	expect_error_at(PROVIDER_A "colour = red\n", 4, "[provider A] colour: unknown key");
	expect_error_at(PROVIDER_A "policy = p.policy\n", 4, "[provider A] policy: duplicate key (first set at line 2)");
	expect_error_at(PROVIDER_A "\n[provider A]\n", 5, "[provider A]: duplicate provider name (first at line 1)");
	expect_error_at("[runner]\n[runner]\n" PROVIDER_A, 2, "[runner]: duplicate section (first at line 1)");
	expect_error_at("[provider a.b]\n", 1, "invalid provider name");
	expect_error_at("[provider 123456789012345678901234567890123]\n", 1, "invalid provider name");
	expect_error_at("[provider]\n", 1, "unknown section");
	expect_error_at("[runner] junk\n", 1, "unexpected text after ']'");
	expect_error_at("uid_base = 1\n" PROVIDER_A, 1, "uid_base: key outside any section");
}

Test(unit_topology, syntax_errors_name_their_line)
{
	expect_error_at(PROVIDER_A "just words\n", 4, "syntax error");
	expect_error_at("[runner\n" PROVIDER_A, 1, "syntax error");
	/* The first error wins, even when a later line has its own. */
	expect_error_at("\nno equals here\n[bogus]\n", 2, "syntax error");
	char longline[400];
	snprintf(longline, sizeof(longline), "[provider A]\npolicy = %0250d\nkeys = keys\n", 0);
	expect_error_at(longline, 2, "line longer than 198 bytes");
	static const char nul[] = "[provider A]\npolicy = p.po\0licy\nkeys = keys\n";
	write_bytes("t.conf", nul, sizeof(nul) - 1);
	struct topology t;
	char err[256] = "";
	cr_assert_eq(topology_load(&t, "t.conf", NULL, 0, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf:2: NUL byte in line");
}

Test(unit_topology, value_errors_name_their_line)
{
	expect_error_at("[runner]\nuid_base = 12x\n" PROVIDER_A, 2,
			"[runner] uid_base: expected an integer from 1 to 4294966295, got '12x'");
	expect_error_at("[runner]\nuid_base = 0\n" PROVIDER_A, 2, "uid_base: expected an integer");
	expect_error_at("[runner]\nuid_base = 4294966296\n" PROVIDER_A, 2, "uid_base: expected an integer");
	expect_error_at("[runner]\nuid_base = -1\n" PROVIDER_A, 2, "uid_base: expected an integer");
	expect_error_at("[runner]\nrequire_cgroups = sure\n" PROVIDER_A, 2, "expected yes or no, got 'sure'");
	expect_error_at("[intermediary]\nmax_request = 0\n" PROVIDER_A, 2, "max_request: expected an integer from 1 to 1048576");
	expect_error_at("[intermediary]\nmax_request = 1048577\n" PROVIDER_A, 2, "max_request:");
	expect_error_at("[intermediary]\nheader_timeout = 0\n" PROVIDER_A, 2,
			"header_timeout: expected an integer from 1 to 3600");
	expect_error_at("[intermediary]\nbody_timeout = 3601\n" PROVIDER_A, 2, "body_timeout:");
	expect_error_at("[intermediary]\n\nlisten = 1.2.3:80\n" PROVIDER_A, 3, "[intermediary] listen: expected A.B.C.D:PORT");
	expect_error_at("[intermediary]\nlisten = 1.2.3.4:65536\n" PROVIDER_A, 2, "listen:");
	expect_error_at("[intermediary]\nlisten = 1.2.3.4\n" PROVIDER_A, 2, "listen:");
	expect_error_at("[intermediary]\nlisten = [::1]8080\n" PROVIDER_A, 2, "listen:");
	expect_error_at("[intermediary]\nlisten = ::1:8080\n" PROVIDER_A, 2, "listen:");
	expect_error_at("[intermediary]\nlisten = [::1:8080\n" PROVIDER_A, 2, "listen:");
	expect_error_at("[intermediary]\npath = nuvl\n" PROVIDER_A, 2, "[intermediary] path:");
	expect_error_at("[intermediary]\npath = /a b\n" PROVIDER_A, 2, "path:");
	expect_error_at("[intermediary]\ncpu_max = 500 100000\n" PROVIDER_A, 2, "cpu_max:");
	expect_error_at("[intermediary]\ncpu_max = max\n" PROVIDER_A, 2, "cpu_max:");
	expect_error_at("[intermediary]\nmemory_max = 12Q\n" PROVIDER_A, 2, "memory_max: expected a size");
	expect_error_at("[intermediary]\nas = 1K\n" PROVIDER_A, 2, "as: expected a size");
	expect_error_at("[intermediary]\nas = 99999999999T\n" PROVIDER_A, 2, "as: expected a size");
	expect_error_at("[association]\npending_max = 15\n" PROVIDER_A, 2, "pending_max: expected an integer from 16");
	expect_error_at("[association]\npending_timeout = 86401\n" PROVIDER_A, 2, "pending_timeout:");
	expect_error_at("[association]\nconfirm = some\n" PROVIDER_A, 2, "confirm: expected 'all' or an integer");
	expect_error_at("[association]\nconfirm = 0\n" PROVIDER_A, 2, "confirm: expected 'all' or an integer");
	expect_error_at("[provider A]\npolicy =\nkeys = keys\n", 2, "policy: expected a path");
	expect_error_at(PROVIDER_A "checkpoint_every = 65537\n", 4, "checkpoint_every:");
	expect_error_at(PROVIDER_A "checkpoint_ms = 0\n", 4, "checkpoint_ms: expected milliseconds from 0.1 to 60000");
	const char *bad_ms[] = { "0.099", "60000.001", "1.", ".5", "1.2345", "-1", "+1", "1,5", "1.5ms", "1e3", "1 .5", "18446744073709551.999",
				 "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad_ms) / sizeof(bad_ms[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), PROVIDER_A "checkpoint_ms = %s\n", bad_ms[i]);
		expect_error_at(text, 4, "checkpoint_ms: expected milliseconds");
	}
}

Test(unit_topology, checkpoint_ms_is_read_to_the_microsecond)
{
	const struct { const char *text; uint32_t us; } cases[] = {
		{ "2", 2000 }, { "1.5", 1500 }, { "0.25", 250 }, { "0.1", 100 }, { "1.001", 1001 },
		{ "0.100", 100 }, { "60000", 60000000 }, { "007.5", 7500 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct topology t;
		char text[256], err[1024] = "";
		snprintf(text, sizeof(text), PROVIDER_A "checkpoint_ms = %s\n", cases[i].text);
		cr_assert_eq(load_text(&t, text, NULL, 0, err, sizeof(err)), 0, "%s: %s", cases[i].text, err);
		cr_assert_eq(t.providers[0].checkpoint_us, cases[i].us, "%s", cases[i].text);
		topology_free(&t);
	}
}

Test(unit_topology, validation_errors_name_their_line)
{
	expect_error_at("[runner]\n\n[provider A]\nkeys = keys\n", 3, "[provider A] policy: missing required key");
	expect_error_at("[provider A]\npolicy = p.policy\n", 1, "[provider A] keys: missing required key");
	expect_error_at("[association]\nconfirm = 2\n" PROVIDER_A, 2, "[association] confirm: 2 is more than the 1 providers");
	expect_error_at("[provider A]\npolicy = none.policy\nkeys = keys\n", 2, "policy: stat ");
	expect_error_at("[provider A]\npolicy = keys\nkeys = keys\n", 2, "is not a regular file");
	expect_error_at("[provider A]\npolicy = p.policy\nkeys = nokeys\n", 3, "[provider A] keys: stat ");
	expect_error_at("[provider A]\npolicy = p.policy\nkeys = p.policy\n", 3, "is not a directory");
	scratch_mkdir("empty");
	expect_error_at("[provider A]\npolicy = p.policy\nkeys = empty\n", 3, "[provider A] public_key: stat ");
	expect_error_at(PROVIDER_A "public_key = keys/none.pub\n", 4, "public_key: stat ");
	expect_error_at(PROVIDER_A "state = nostate\n", 4, "state: stat ");
	expect_error_at("[association]\nledger = keys\n" PROVIDER_A, 2, "ledger: ");
	expect_error_at(PROVIDER_A "[provider B]\npolicy = p.policy\nkeys = ./keys/\n", 6,
			"[provider B] keys: same directory as provider A");

	struct topology t;
	char err[256] = "";
	cr_assert_eq(load_text(&t, "[runner]\nuid_base = 7\n", NULL, 0, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "t.conf: no [provider NAME] section");
	assert_nothing_held(&t);
	cr_assert_eq(topology_load(&t, "none.conf", NULL, 0, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "open none.conf: No such file or directory");
}

Test(unit_topology, demo_keys_allow_a_missing_key_dir)
{
	struct topology t;
	char err[1024] = "";
	int rc = load_text(&t, "[provider A]\npolicy = p.policy\nkeys = later/A\ndemo_keys = yes\n", NULL, 0, err,
			   sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	char want[PATH_MAX + 32];
	scratch_path(want, sizeof(want), "later/A/signal.pub");
	cr_assert_str_eq(t.providers[0].public_key, want);
	topology_free(&t);
}

Test(unit_topology, indented_lines_are_not_continuations)
{
	struct topology t;
	char err[1024] = "";
	int rc = load_text(&t, "[provider A]\n  policy = p.policy\n\tkeys = keys\n   receive_body = yes\n", NULL, 0,
			   err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(t.providers[0].receive_body);
	topology_free(&t);
}

Test(unit_topology, relative_paths_resolve_against_the_file)
{
	scratch_mkdir("real");
	scratch_mkdir("real/sub");
	char link[PATH_MAX + 16], target[PATH_MAX + 16];
	scratch_path(link, sizeof(link), "link");
	scratch_path(target, sizeof(target), "real");
	cr_assert_eq(symlink(target, link), 0);
	write_text("real/t.conf", "[provider A]\n"
				  "policy = sub/../../p.policy\n"
				  "keys = ./..//keys/\n"
				  "state = /var/../var/./\n"); /* not /tmp: it holds keys/ */
	cr_assert_eq(chdir("/"), 0);
	char conf[PATH_MAX + 32];
	scratch_path(conf, sizeof(conf), "link/t.conf");
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(topology_load(&t, conf, NULL, 0, err, sizeof(err)), 0, "%s", err);
	char want[PATH_MAX + 32];
	cr_assert_str_eq(t.path, conf);
	cr_assert_str_eq(t.dir, target);
	scratch_path(want, sizeof(want), "p.policy");
	cr_assert_str_eq(t.providers[0].policy, want);
	scratch_path(want, sizeof(want), "keys");
	cr_assert_str_eq(t.providers[0].keys, want);
	cr_assert_str_eq(t.providers[0].state, "/var");
	topology_free(&t);
}

static char *ov(const char *s)
{
	return (char *)s;
}

Test(unit_topology, overrides_plain_provider_and_replacing)
{
	char *set[] = { ov("intermediary.max_request=1000"), ov("provider.A.receive_body=yes"),
			ov("runner.uid_base = 300000"), ov("association.confirm=1"), ov("intermediary.listen=[::]:0") };
	struct topology t;
	char err[1024] = "";
	int rc = load_text(&t, "[intermediary]\nmax_request = 5\n" PROVIDER_A "receive_body = no\n", set, 5, err,
			   sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(t.max_request, 1000);
	cr_assert(t.providers[0].receive_body);
	cr_assert_eq(t.uid_base, 300000);
	cr_assert_eq(t.confirm_k, 1);
	cr_assert_str_eq(t.listen, "[::]:0");
	cr_assert_eq(t.listen_addr.ss_family, AF_INET6);
	topology_free(&t);
}

Test(unit_topology, override_can_supply_a_required_key)
{
	char *set[] = { ov("provider.A.policy=p.policy") };
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(chdir("/"), 0);
	write_text("t.conf", "[provider A]\nkeys = keys\n");
	char conf[PATH_MAX + 16];
	scratch_path(conf, sizeof(conf), "t.conf");
	cr_assert_eq(topology_load(&t, conf, set, 1, err, sizeof(err)), 0, "%s", err);
	char want[PATH_MAX + 16];
	scratch_path(want, sizeof(want), "p.policy");
	cr_assert_str_eq(t.providers[0].policy, want);
	topology_free(&t);
}

static void expect_override_error(const char *spec, const char *message)
{
	char *set[] = { ov("intermediary.max_request=9"), ov(spec) };
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(load_text(&t, PROVIDER_A, set, 2, err, sizeof(err)), -1, "accepted --set %s", spec);
	cr_assert_str_eq(err, message);
	assert_nothing_held(&t);
}

Test(unit_topology, override_errors)
{
	expect_override_error("provider.X.policy=/p", "--set provider.X.policy=/p: no provider X in t.conf");
	expect_override_error("novalue", "--set novalue: expected section.key=value or provider.NAME.key=value");
	expect_override_error("nodot=1", "--set nodot=1: expected section.key=value or provider.NAME.key=value");
	expect_override_error("provider.A=1", "--set provider.A=1: expected provider.NAME.key=value");
	expect_override_error("bogus.k=v", "--set bogus.k=v: unknown section 'bogus'");
	expect_override_error("runner.colour=red", "--set runner.colour=red: unknown key 'colour' in [runner]");
	expect_override_error("provider.A.receive_body=maybe",
			      "--set provider.A.receive_body=maybe: expected yes or no, got 'maybe'");
	expect_override_error("association.confirm=2", "--set association.confirm=2: 2 is more than the 1 providers");
	char want[PATH_MAX + 128];
	snprintf(want, sizeof(want), "--set provider.A.policy=gone: stat %s/gone: No such file or directory", scratch_dir);
	expect_override_error("provider.A.policy=gone", want);
}

static void write_providers(size_t n, int *last_header_line)
{
	size_t cap = n * 96 + 1;
	char *text = calloc(1, cap);
	cr_assert_not_null(text);
	size_t len = 0;
	int line = 0;
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(text + len, cap - len,
					"[provider P%zu]\npolicy = p.policy\nkeys = k/%zu\ndemo_keys = yes\n", i, i);
		*last_header_line = line + 1;
		line += 4;
	}
	write_text("t.conf", text);
	free(text);
}

Test(unit_topology, sixty_four_providers_and_no_more)
{
	struct topology t;
	char err[1024] = "";
	int header = 0;
	write_providers(TOPO_PROVIDERS_MAX, &header);
	cr_assert_eq(topology_load(&t, "t.conf", NULL, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.n_providers, TOPO_PROVIDERS_MAX);
	cr_assert_str_eq(t.providers[63].name, "P63");
	cr_assert_eq(t.providers[63].line, header);
	topology_free(&t);

	write_providers(TOPO_PROVIDERS_MAX + 1, &header);
	cr_assert_eq(topology_load(&t, "t.conf", NULL, 0, err, sizeof(err)), -1);
	char want[128];
	snprintf(want, sizeof(want), "t.conf:%d: [provider P64]: more than 64 providers", header);
	cr_assert_str_eq(err, want);
	assert_nothing_held(&t);
}

Test(unit_topology, free_zeroes)
{
	struct topology t;
	char err[1024] = "";
	cr_assert_eq(load_text(&t, PROVIDER_A, NULL, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(t.providers[0].policy);
	topology_free(&t);
	assert_nothing_held(&t);
	cr_assert_eq(t.uid_base, 0);
	cr_assert_eq(t.providers[0].name[0], '\0');
}
