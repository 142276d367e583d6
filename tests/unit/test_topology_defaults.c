/* SPDX-License-Identifier: Apache-2.0 */
/* What a topology may not leave to chance: exec = yes
 * needs nproc; key and state directories are compared by inode (nesting,
 * sharing, through symlinks); no fsize for the association; the default
 * rlimits each role gets when the topology sets none; secret key files
 * with group or other bits are refused. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/scratch.h"
#include "../../lib/keys.h"
#include "../../runner/limits.h"
#include "../../runner/topology.h"

static void write_text(const char *name, const char *text, mode_t mode)
{
	FILE *f = fopen(name, "w");
	cr_assert_not_null(f, "fopen %s", name);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(name, mode), 0, "chmod %s", name);
}

/* p.policy, and key directories ka/ and kb/ with a public key each. */
static void setup(void)
{
	scratch_enter("topodef");
	write_text("p.policy", "accept_context = CTX_ALPHA\n", 0644);
	scratch_mkdir("ka");
	scratch_mkdir("kb");
	write_text("ka/signal.pub", "00\n", 0644);
	write_text("kb/signal.pub", "00\n", 0644);
}

TestSuite(unit_topology_defaults, .init = setup, .fini = scratch_leave);

#define PROVIDER_A "[provider A]\npolicy = p.policy\nkeys = ka\n"
#define PROVIDER_B "[provider B]\npolicy = p.policy\nkeys = kb\n"

/* Loads text as t.conf; expects "t.conf:LINE: " and fragment in the error. */
static void expect_error_at(const char *text, int line, const char *fragment)
{
	struct topology t;
	char err[1024] = "", prefix[64];
	write_text("t.conf", text, 0644);
	cr_assert_eq(topology_load(&t, "t.conf", NULL, 0, err, sizeof(err)), -1, "accepted:\n%s", text);
	snprintf(prefix, sizeof(prefix), "t.conf:%d: ", line);
	cr_assert(strncmp(err, prefix, strlen(prefix)) == 0, "expected prefix '%s', got '%s'", prefix, err);
	cr_assert_not_null(strstr(err, fragment), "expected '%s' in '%s'", fragment, err);
}

static void expect_ok(const char *text)
{
	struct topology t;
	char err[1024] = "";
	write_text("t.conf", text, 0644);
	cr_assert_eq(topology_load(&t, "t.conf", NULL, 0, err, sizeof(err)), 0, "refused: %s\nfor:\n%s", err, text);
	topology_free(&t);
}

Test(unit_topology_defaults, exec_without_nproc_is_refused_at_its_line)
{
	expect_error_at(PROVIDER_A "exec = yes\n", 4, "[provider A] exec: exec = yes needs nproc");
	expect_ok(PROVIDER_A "exec = yes\nnproc = 32\n");
	expect_ok(PROVIDER_A "nofile = 64\n"); /* no exec: nproc has a default */
}

Test(unit_topology_defaults, state_that_is_or_holds_or_sits_in_a_key_dir_is_refused)
{
	scratch_mkdir("ka/state");
	scratch_mkdir("sa");
	scratch_mkdir("sa/kc");
	write_text("sa/kc/signal.pub", "00\n", 0644);
	expect_error_at(PROVIDER_A "state = ka\n", 4, "[provider A] state: ");
	expect_error_at(PROVIDER_A "state = ka/state\n", 4, "is, contains or lies inside its own key directory");
	/* another provider's key directory inside A's state directory */
	expect_error_at(PROVIDER_A "state = sa\n[provider C]\npolicy = p.policy\nkeys = sa/kc\n", 4,
			"[provider A] state: ");
	expect_error_at(PROVIDER_A "state = sa\n[provider C]\npolicy = p.policy\nkeys = sa/kc\n", 4,
			"key directory of provider C");
	expect_ok(PROVIDER_A "state = sa\n");
}

Test(unit_topology_defaults, a_symlink_does_not_hide_a_shared_or_nested_directory)
{
	scratch_mkdir("sa");
	scratch_mkdir("sa/inner");
	cr_assert_eq(symlink("ka", "ka-link"), 0);
	cr_assert_eq(symlink("sa", "sa-link"), 0);
	cr_assert_eq(symlink("ka", "sa/key-link"), 0);
	expect_error_at(PROVIDER_A "[provider B]\npolicy = p.policy\nkeys = ka-link\n", 6,
			"[provider B] keys: same directory as provider A");
	expect_error_at(PROVIDER_A "state = sa\n" PROVIDER_B "state = sa-link\n", 8,
			"[provider B] state: same directory as provider A");
	expect_error_at(PROVIDER_A "state = sa\n" PROVIDER_B "state = sa-link/inner\n", 8,
			"[provider B] state: ");
	expect_error_at(PROVIDER_A "state = sa\n" PROVIDER_B "state = sa-link/inner\n", 8,
			"lies inside the state directory of provider A");
	expect_error_at(PROVIDER_A "state = sa/key-link\n", 4, "[provider A] state: ");
	expect_ok(PROVIDER_A "state = sa/inner\n");
}

Test(unit_topology_defaults, key_dirs_nested_in_each_other_are_refused)
{
	scratch_mkdir("ka/inner");
	write_text("ka/inner/signal.pub", "00\n", 0644);
	expect_error_at(PROVIDER_A "[provider B]\npolicy = p.policy\nkeys = ka/inner\n", 6,
			"[provider B] keys: ");
	expect_error_at(PROVIDER_A "[provider B]\npolicy = p.policy\nkeys = ka/inner\n", 6,
			"lies inside the key directory of provider A");
	expect_ok(PROVIDER_A PROVIDER_B);
}

Test(unit_topology_defaults, the_association_takes_no_fsize)
{
	expect_error_at("[association]\nfsize = 1G\n" PROVIDER_A, 2,
			"[association] fsize: not for the association: RLIMIT_FSIZE would cut its ledger");
	expect_ok("[intermediary]\nfsize = 1G\n" PROVIDER_A "fsize = 16M\n");
}

static uint64_t hard(int resource)
{
	struct rlimit r;
	cr_assert_eq(getrlimit(resource, &r), 0);
	return r.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)r.rlim_max;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

Test(unit_topology_defaults, every_role_gets_finite_rlimits_where_the_topology_sets_none)
{
	struct topo_limits none = { 0 }, out;
	struct topology t = { .max_connections = 4096, .max_request = 65536, .n_providers = 3 };
	limits_with_defaults(&none, ROLE_INTERMEDIARY, &t, &out);
	cr_assert_eq(out.nofile, min_u64(4096 + 3 + 64, hard(RLIMIT_NOFILE)), "one fd per connection, and spare");
	cr_assert_eq(out.fsize, min_u64(1ULL << 30, hard(RLIMIT_FSIZE)));
#ifndef MPBS_SANITIZED
	cr_assert_eq(out.as_bytes, min_u64(1ULL << 30, hard(RLIMIT_AS)));
	cr_assert_eq(out.nproc, 1);
	/* every connection holding a whole 1 MiB body fits */
	t.max_request = 1 << 20;
	limits_with_defaults(&none, ROLE_INTERMEDIARY, &t, &out);
	cr_assert_eq(out.as_bytes, min_u64((256ULL << 20) + 4096ULL * ((1ULL << 20) + (16ULL << 10)), hard(RLIMIT_AS)));
	t.max_request = 65536;
#endif
	limits_with_defaults(&none, ROLE_ASSOCIATION, &t, &out);
	cr_assert_eq(out.fsize, 0, "no RLIMIT_FSIZE default: it would cut the ledger");
	cr_assert_eq(out.nofile, min_u64(256, hard(RLIMIT_NOFILE)));
#ifndef MPBS_SANITIZED
	cr_assert_eq(out.nproc, 2, "the association has its fsync thread");
#endif
	limits_with_defaults(&none, ROLE_PROVIDER, &t, &out);
	cr_assert_eq(out.nofile, min_u64(1024, hard(RLIMIT_NOFILE)));
	cr_assert_eq(out.fsize, min_u64(1ULL << 30, hard(RLIMIT_FSIZE)));
}

Test(unit_topology_defaults, what_the_topology_sets_is_kept)
{
	struct topo_limits set = { .nofile = 77, .nproc = 9, .as_bytes = 5ULL << 20, .fsize = 3ULL << 20,
				   .memory_max = 64ULL << 20 },
			   out;
	struct topology t = { .max_connections = 4096, .max_request = 65536, .n_providers = 3 };
	limits_with_defaults(&set, ROLE_PROVIDER, &t, &out);
	cr_assert_eq(out.nofile, 77);
	cr_assert_eq(out.nproc, 9);
	cr_assert_eq(out.as_bytes, 5ULL << 20);
	cr_assert_eq(out.fsize, 3ULL << 20);
	cr_assert_eq(out.memory_max, 64ULL << 20);
}

#define SECRET_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"

Test(unit_topology_defaults, secret_key_files_with_group_or_other_bits_are_refused)
{
	static const mode_t bad[] = { 0640, 0604, 0660, 0610, 0601, 0644 };
	uint8_t key[32];
	char err[512];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text("token.key", SECRET_HEX, bad[i]);
		err[0] = '\0';
		cr_assert_eq(keys_load_secret_hex("token.key", key, sizeof(key), err, sizeof(err)), -1, "mode %04o",
			     (unsigned)bad[i]);
		char want[64];
		snprintf(want, sizeof(want), "token.key: a secret key with mode %04o", (unsigned)bad[i]);
		cr_assert_not_null(strstr(err, want), "%s", err);
		/* the public form of the same bytes is not a secret */
		cr_assert_eq(keys_load_hex("token.key", key, sizeof(key), err, sizeof(err)), 0, "%s", err);
	}
	write_text("token.key", SECRET_HEX, 0600);
	cr_assert_eq(keys_load_secret_hex("token.key", key, sizeof(key), err, sizeof(err)), 0, "%s", err);
	write_text("token.key", SECRET_HEX, 0400);
	cr_assert_eq(keys_load_secret_hex("token.key", key, sizeof(key), err, sizeof(err)), 0, "%s", err);

	cr_assert_eq(keys_generate_signal_pair("gen", err, sizeof(err)), 0, "%s", err);
	uint8_t sk[64];
	cr_assert_eq(keys_load_signal_secret("gen/signal.key", sk, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(chmod("gen/signal.key", 0640), 0);
	cr_assert_eq(keys_load_signal_secret("gen/signal.key", sk, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "gen/signal.key: a secret key with mode 0640"), "%s", err);
}

/* exec_dir is all a provider's programs see at /exec: no key, policy or
 * state of any provider in it, and it in none of them (red team: programs
 * read the keys there; a state dir inside it made written files run). */
Test(unit_topology_defaults, exec_dir_holds_no_key_policy_or_state)
{
#define EXEC_A(dir) PROVIDER_A "exec = yes\nnproc = 8\nexec_dir = " dir "\n"
	scratch_mkdir("bin");
	scratch_mkdir("bin/st");
	write_text("bin/q.policy", "accept_context = CTX_ALPHA\n", 0644);
	expect_ok(EXEC_A("bin"));
	expect_error_at(EXEC_A("."), 6, "key directory of provider A");
	expect_error_at(EXEC_A("ka"), 6, "key directory of provider A");
	expect_error_at(EXEC_A("bin") "state = bin/st\n", 6, "state directory of provider A");
	expect_error_at(EXEC_A("bin") PROVIDER_B "state = bin/st\n", 6, "state directory of provider B");
	/* a key directory that demo_keys would make on the first start */
	expect_error_at("[provider A]\npolicy = p.policy\nkeys = bin/newkeys\ndemo_keys = yes\nexec = yes\nnproc = 8\n"
			"exec_dir = bin\n",
			7, "key directory of provider A");
	expect_error_at("[provider A]\npolicy = bin/q.policy\nkeys = ka\nexec = yes\nnproc = 8\nexec_dir = bin\n", 6,
			"policy file of provider A");
#undef EXEC_A
}
