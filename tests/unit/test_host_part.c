/* SPDX-License-Identifier: Apache-2.0 */
/* A topology spread over hosts: the [nats] servers parser, the checks of
 * host keys and of [nats], which lanes each host part's bridge carries,
 * and what its sandbox lets it execute. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <elf.h>
#include <endian.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/elf_interp.h"
#include "../../lib/fsutil.h"
#include "../../runner/host_part.h"
#include "../../runner/nats_urls.h"
#include "../../runner/plan.h"
#include "../../runner/plan_bridge.h"
#include "../../runner/topology.h"
#include "../common/harness.h"
#include "../common/scratch.h"

/* Two providers' files, each with a public key: what the checks of every
 * part look at. */
static void setup(void)
{
	scratch_enter("hosts");
	scratch_write("p.policy", "accept_context = CTX_ALPHA\n");
	cr_assert_eq(mkdir("kA", 0755), 0);
	cr_assert_eq(mkdir("kB", 0755), 0);
	scratch_write("kA/signal.pub", "00\n");
	scratch_write("kB/signal.pub", "00\n");
}

TestSuite(unit_host_part, .init = setup, .fini = scratch_leave);

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
	scratch_write("t.conf", text);
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

/* ---- what reviews found ---- */

/* nats-config names the administrator's password admin.password and its
 * user mpbs-admin: no part may be named so. */
Test(unit_host_part, a_part_named_admin_is_refused)
{
	expect_refused(NATS "[intermediary]\nhost = front\n[association]\nhost = back\nledger = l/ledger\n"
			    "[provider A]\nhost = admin\npolicy = p.policy\nkeys = kA\n",
		       NULL, "t.conf:10: [provider A] host: 'admin' is reserved");
	expect_refused(NATS "[intermediary]\nhost = admin\n[association]\nhost = back\nledger = l/ledger\n"
			    "[provider A]\nhost = back\npolicy = p.policy\nkeys = kA\n",
		       NULL, "t.conf:5: [intermediary] host: 'admin' is reserved");
}

/* The bridge's filter tells its own sockets from its lanes by fd number:
 * its nofile keeps every fd it makes below the lanes'. */
Test(unit_host_part, the_bridges_nofile_stays_below_its_lanes)
{
	expect_refused(SPREAD "[bridge]\nnofile = 513\n", NULL,
		       "t.conf:18: [bridge] nofile: 513 is over 512: the bridge's own fds must stay below its lanes'");
	struct topology t;
	char err[1024];
	cr_assert_eq(load_part(&t, SPREAD "[bridge]\nnofile = 512\n", NULL, err, sizeof(err)), 0, "%s", err);
	topology_free(&t);
}

#define ROLES_SPREAD                                                                              \
	"[intermediary]\nhost = front\n[association]\nhost = back\nledger = l/ledger\n"                 \
	"[provider A]\nhost = back\npolicy = p.policy\nkeys = kA\n"

/* tls:// needs the CA that checks the servers; a list mixing in nats://
 * would let a reconnect send the password in clear. */
Test(unit_host_part, tls_servers_need_tls_ca_and_stand_alone)
{
	expect_refused("[nats]\ncredentials = cred\nservers = tls://10.0.0.1:4222\n" ROLES_SPREAD, NULL,
		       "t.conf:3: [nats] servers: tls://10.0.0.1:4222 needs tls_ca");
	scratch_write("ca.pem", "not checked here\n");
	expect_refused("[nats]\ncredentials = cred\ntls_ca = ca.pem\n"
		       "servers = tls://10.0.0.1:4222, nats://127.0.0.1:4223\n" ROLES_SPREAD,
		       NULL, "t.conf:4: [nats] servers: nats://127.0.0.1:4223 and tls://10.0.0.1:4222: all tls:// or all nats://");
	struct topology t;
	char err[1024];
	cr_assert_eq(load_part(&t, "[nats]\ncredentials = cred\ntls_ca = ca.pem\nservers = tls://10.0.0.1:4222, "
				   "tls://[fd00::1]:4222\n" ROLES_SPREAD,
			       NULL, err, sizeof(err)),
		     0, "%s", err);
	topology_free(&t);
}

Test(unit_host_part, loopback_is_127_slash_8_and_the_ipv6_one)
{
	struct nats_url u[NATS_URLS_MAX];
	char msg[256];
	cr_assert_eq(nats_urls_parse("nats://127.1.2.3:1,nats://10.0.0.1:1,tls://[::1]:1,tls://[::2]:1,"
				     "nats://128.0.0.1:1",
				     u, msg, sizeof(msg)),
		     5, "%s", msg);
	cr_assert(u[0].loopback && !u[1].loopback && u[2].loopback && !u[3].loopback && !u[4].loopback);
}

/* A cleartext password off loopback is the operator's choice: one warning
 * line that names the file, the line and the key, and the load goes on. */
Test(unit_host_part, cleartext_off_loopback_is_a_warning, .init = cr_redirect_stderr)
{
	struct topology t;
	char err[1024];
	cr_assert_eq(load_part(&t, "[nats]\ncredentials = cred\nservers = nats://127.0.0.1:4222, nats://10.0.0.2:4222\n"
				   ROLES_SPREAD,
			       NULL, err, sizeof(err)),
		     0, "%s", err);
	topology_free(&t);
	fflush(stderr);
	char line[1024] = "";
	cr_assert_not_null(fgets(line, sizeof(line), cr_get_redirected_stderr()));
	cr_assert_not_null(strstr(line, "warning: t.conf:3: [nats] servers: nats://10.0.0.2:4222 is not a loopback "
					"address: the bridge's password crosses the network in clear"),
			   "%s", line);
}

/* Before Landlock ABI 4 nothing confines the bridge's TCP connect to the
 * NATS ports: refused, unless [nats] allow_any_tcp_port says to run. */
Test(unit_host_part, the_bridge_needs_landlock_tcp_rules_or_the_opt_in)
{
	char msg[512];
	static const int old[] = { 0, 1, 3 };
	for (size_t k = 0; k < sizeof(old) / sizeof(old[0]); k++) {
		cr_assert_eq(host_part_bridge_admitted(old[k], false, msg, sizeof(msg)), -1, "ABI %d", old[k]);
		cr_assert_not_null(strstr(msg, "cannot restrict TCP connect"), "%s", msg);
		cr_assert_not_null(strstr(msg, "set allow_any_tcp_port = yes"), "%s", msg);
		cr_assert_eq(host_part_bridge_admitted(old[k], true, msg, sizeof(msg)), 1, "ABI %d", old[k]);
		cr_assert_not_null(strstr(msg, "may connect to any TCP port"), "%s", msg);
	}
	cr_assert_eq(host_part_bridge_admitted(4, false, msg, sizeof(msg)), 0);
	cr_assert_eq(host_part_bridge_admitted(4, true, msg, sizeof(msg)), 0);
	cr_assert_eq(host_part_bridge_admitted(6, false, msg, sizeof(msg)), 0);
}

Test(unit_host_part, allow_any_tcp_port_is_a_nats_switch_off_by_default)
{
	struct topology t;
	char err[1024];
	cr_assert_eq(load_part(&t, SPREAD, "front", err, sizeof(err)), 0, "%s", err);
	cr_assert(!t.nats.allow_any_tcp_port);
	topology_free(&t);
	cr_assert_eq(load_part(&t, NATS "allow_any_tcp_port = yes\n" ROLES_SPREAD, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert(t.nats.allow_any_tcp_port);
	topology_free(&t);
	expect_refused(NATS "allow_any_tcp_port = maybe\n" ROLES_SPREAD, NULL, "t.conf:4: [nats] allow_any_tcp_port:");
}

/* The bridge's password and TLS key are read by the supervisor, as root:
 * the file itself (no symbolic link in its place), owned by root or by the
 * supervisor's user. */
Test(unit_host_part, secrets_are_owned_files_not_links)
{
	struct stat st;
	char err[512];
	scratch_write("pw", "secret\n");
	cr_assert_eq(symlink("pw", "link"), 0);
	int fd = fs_open_owned("pw", &st, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	cr_assert_eq(fs_open_owned("link", &st, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "link: a symbolic link (refused: name the file itself)");
	fd = fs_open_regular("link", &st, err, sizeof(err)); /* what other files the runner reads may be */
	cr_assert_geq(fd, 0, "%s", err);
	close(fd);
	/* a second name: someone else's file could be linked in */
	cr_assert_eq(link("pw", "pw2"), 0);
	cr_assert_eq(fs_open_owned("pw", &st, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "pw: 2 hard links: a credential file has one name");
	cr_assert_eq(unlink("pw2"), 0);
	if (geteuid() != 0)
		return; /* only root gives a file away */
	cr_assert_eq(chown("pw", 4242, 4242), 0);
	cr_assert_eq(fs_open_owned("pw", &st, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "pw: owned by uid 4242, neither root nor this process's uid (0)"), "%s", err);
}

/* ---- the bridge's loader ---- */

static void write_bytes(const char *name, const void *bytes, size_t len)
{
	FILE *f = fopen(name, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(bytes, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

Test(unit_host_part, elf_interp_names_the_loader_the_kernel_opens)
{
	char out[PATH_MAX], err[512];
	struct stat st;
	cr_assert_eq(elf_interp("/proc/self/exe", out, sizeof(out), err, sizeof(err)), 1, "%s", err);
	cr_assert_eq(out[0], '/', "%s", out);
	cr_assert_eq(stat(out, &st), 0, "%s", out);
	cr_assert(S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR), "%s: an executable file", out);
	cr_assert_eq(elf_interp("/proc/self/exe", out, 4, err, sizeof(err)), -1, "no room");
	cr_assert_not_null(strstr(err, "a PT_INTERP of"), "%s", err);

	scratch_write("text", "#!/bin/sh\n");
	cr_assert_eq(elf_interp("text", out, sizeof(out), err, sizeof(err)), -1);
	cr_assert_str_eq(err, "text: not an ELF file");
	write_bytes("short", ELFMAG, SELFMAG);
	cr_assert_eq(elf_interp("short", out, sizeof(out), err, sizeof(err)), -1);
	cr_assert_str_eq(err, "short: truncated ELF file (a header of 4 bytes)");

	/* a header alone, no program header: a static program names no loader */
	Elf64_Ehdr h = { .e_type = ET_EXEC, .e_ehsize = sizeof(h), .e_phentsize = sizeof(Elf64_Phdr) };
	memcpy(h.e_ident, ELFMAG, SELFMAG);
	h.e_ident[EI_CLASS] = ELFCLASS64;
	h.e_ident[EI_DATA] = __BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB;
	h.e_ident[EI_VERSION] = EV_CURRENT;
	write_bytes("static", &h, sizeof(h));
	cr_assert_eq(elf_interp("static", out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out, "");
	h.e_ident[EI_CLASS] = ELFCLASS32;
	write_bytes("class32", &h, sizeof(h));
	cr_assert_eq(elf_interp("class32", out, sizeof(out), err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "not a 64-bit ELF file"), "%s", err);
}

/* The bridge's program beside mpbs-run, when this build made it. */
static bool bridge_program(char *out, size_t len)
{
	snprintf(out, len, "%s", mpbs_binary());
	char *slash = strrchr(out, '/');
	snprintf(slash ? slash + 1 : out, len - (size_t)(slash ? slash + 1 - out : 0), "mpbs-bridge");
	return access(out, X_OK) == 0;
}

/* Landlock: the system's directories read-only; execute on the bridge's
 * program and on its loader alone (the kernel checks the loader's execute
 * right at execve). */
Test(unit_host_part, the_bridge_executes_its_program_and_its_loader_only)
{
	static struct run_plan p;
	static struct role_plan r;
	char program[PATH_MAX], err[512];
	const char *loader = p.bridge_loader;
	struct topology t;
	if (bridge_program(program, sizeof(program))) {
		cr_assert_eq(plan_bridge_loader(program, p.bridge_loader, sizeof(p.bridge_loader), err, sizeof(err)), 0,
			     "%s", err);
		cr_assert_eq(loader[0], '/', "%s: its loader '%s'", program, loader);
	}
	cr_assert_eq(plan_bridge_loader("/proc/self/exe", p.bridge_loader, sizeof(p.bridge_loader), err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(load_part(&t, SPREAD, "front", err, sizeof(err)), 0, "%s", err);
	p.t = &t;
	p.n_lanes = host_part_lanes(&t, p.lanes);
	r = (struct role_plan){ .kind = ROLE_BRIDGE, .status_wr = -1 };
	plan_bridge(&p, &r, 0);
	size_t exec = 0, port = 0;
	for (size_t k = 0; k < r.spec.n_landlock; k++) {
		const struct landlock_rule *l = &r.spec.landlock[k];
		if (l->access == LL_CONNECT) {
			port += l->port == 4222;
			continue;
		}
		bool may_exec = strcmp(l->path, BRIDGE_PROGRAM_IN_SANDBOX) == 0 || strcmp(l->path, loader) == 0;
		cr_assert_eq(l->access, may_exec ? (unsigned)(LL_READ | LL_EXEC) : (unsigned)LL_READ, "%s: %u", l->path,
			     l->access);
		exec += may_exec;
	}
	cr_assert_eq(exec, 2, "rules for the program and %s", loader);
	cr_assert_eq(port, 1);
	topology_free(&t);
}
