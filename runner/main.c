/* SPDX-License-Identifier: Apache-2.0 */
/* mpbs-run: the command line (subcommands through runner/subcommand.c). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "../roles/role.h"
#include "audit/audit.h"
#include "cli.h"
#include "host_part.h"
#include "instance_lock.h"
#include "../lib/memcheck.h"
#include "plan.h"
#include "rootless.h"
#include "seccomp.h"
#include "subcommand.h"
#include "supervise.h"
#include "topology.h"
#include "topology_keys.h"
#include "userns.h"

#ifndef MPBS_VERSION
#error "MPBS_VERSION is set by the Makefile (git describe, else the VERSION file)"
#endif

static int cmd_print_policy(const char *role, bool oci)
{
	char err[512];
	enum policy_variant variant;
	if (role_policy_by_name(role, &variant) < 0) {
		return cli_usage_error(NULL, "--print-policy: unknown role '%s' (one of: %s)", role,
				       role_policy_names());
	}
	struct seccomp_policy *p;
	if (plan_load_policy(role, &p, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EX_CONFIG_STATUS;
	}
	int rc = oci ? seccomp_policy_export_oci(p, stdout) : seccomp_policy_print(p, stdout);
	seccomp_policy_free(p);
	return rc < 0 ? 1 : 0;
}

/* -t's answer: the whole topology, or one host part and what it runs. */
static void print_checked(const struct topology *t, const char *path)
{
	if (!host_part_spread(t)) {
		printf("%s: OK (%zu providers)\n", path, t->n_providers);
		return;
	}
	const char *names[2 + TOPO_PROVIDERS_MAX];
	size_t n = host_part_names(t, names, sizeof(names) / sizeof(names[0]));
	if (!t->this_host[0]) {
		printf("%s: OK (%zu providers in %zu host parts)\n", path, t->n_providers, n);
		return;
	}
	struct lane lanes[BRIDGE_LANES_MAX];
	size_t local = 0;
	for (size_t i = 0; i < t->n_providers; i++)
		local += host_part_here(t, ROLE_PROVIDER, i);
	printf("%s: host part %s: OK (%s%s%zu providers, %zu lanes through its bridge)\n", path, t->this_host,
	       host_part_here(t, ROLE_INTERMEDIARY, 0) ? "intermediary, " : "",
	       host_part_here(t, ROLE_ASSOCIATION, 0) ? "association, " : "", local, host_part_lanes(t, lanes));
}

static int cmd_run(struct cli *c, const char *path)
{
	struct topology t;
	char err[1024];
	if (topology_load_part(&t, path, c->overrides, c->n_overrides, 0, c->host, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EX_CONFIG_STATUS;
	}
	if (c->run.rootless) /* what it weakens, for -t's checks too */
		t.weakened = rootless_weakened_bits();
	if (c->check_only && plan_check(&t, err, sizeof(err)) < 0) {
		log_error("%s", err);
		topology_free(&t);
		return EX_CONFIG_STATUS;
	}
	if (c->check_only) {
		print_checked(&t, path);
		topology_free(&t);
		return 0;
	}
	if (host_part_spread(&t) && !c->host) {
		log_error("%s: its roles are spread over host parts (the host keys): run one with --host NAME", path);
		topology_free(&t);
		return EX_CONFIG_STATUS;
	}
	if (rootless_admit(c->run.rootless, err, sizeof(err)) < 0) {
		log_error("%s", err);
		topology_free(&t);
		return 1;
	}
	if (c->run.rootless)
		rootless_warn();
	if (userns_check_available(err, sizeof(err)) < 0) {
		log_error("%s", err);
		topology_free(&t);
		return 1;
	}
	c->run.overrides = c->overrides;
	c->run.n_overrides = c->n_overrides;
	if (c->audit && MEMCHECK_BUILD) {
		log_error("--audit: this is a memcheck build, whose roles have no seccomp and no Landlock "
			  "(lib/memcheck.h); audit a release build");
		topology_free(&t);
		return 1;
	}
	/* Before plan_prepare, which cuts the ledger's torn tail: that is
	 * another running instance's business while it holds the ledger. */
	struct instance_lock lock;
	struct lane lanes[BRIDGE_LANES_MAX];
	bool bridge = host_part_lanes(&t, lanes) > 0;
	unsigned uid_span = t.weakened & WEAKENED_HOST_IDS ? 0 : role_uid_count(t.n_providers, bridge);
	/* A host part without the association holds no ledger: its own lock
	 * beside where the ledger would be, so two runs of one part refuse. */
	char lock_name[PATH_MAX + TOPO_HOST_MAX + 16];
	bool ledger_here = host_part_here(&t, ROLE_ASSOCIATION, 0);
	snprintf(lock_name, sizeof(lock_name), ledger_here ? "%s" : "%s.part-%s", t.ledger, t.this_host);
	int rc = instance_lock_acquire(&lock, lock_name, t.uid_base, uid_span, err, sizeof(err));
	if (rc != 0) {
		log_error("%s", err);
		topology_free(&t);
		return rc == EX_INSTANCE_BUSY ? EX_INSTANCE_BUSY : 1;
	}
	rc = c->audit ? audit_run(&t, &c->audit_opts) : supervise_run(&t, &c->run);
	instance_lock_release(&lock);
	topology_free(&t);
	return rc;
}

/* Where a subcommand's name would stand: the first word after any global
 * options ("mpbs-run -v status"). A subcommand is that word only:
 * "mpbs-run ./help" runs a topology file named help, "mpbs-run -t status"
 * checks one named status. */
static int first_word(int argc, char **argv)
{
	int i = 1;
	bool takes_value;
	while (i < argc && cli_is_global_option(argv[i], &takes_value))
		i += takes_value ? 2 : 1;
	return i;
}

/* argv for the subcommand whose name is argv[at]: that name, then the
 * words before it (global options) and after it, in their order. */
static char **subcommand_argv(int argc, char **argv, int at)
{
	char *name = argv[at];
	memmove(argv + 2, argv + 1, (size_t)(at - 1) * sizeof(*argv));
	argv[1] = name;
	return argv + 1;
}

int main(int argc, char **argv)
{
	struct cli c;
	char err[512];

	log_init("mpbs-run");
	/* A ChaCha20 generator seeded from getrandom, instead of one getrandom
	 * call per random value (six per request across the providers). Each
	 * role re-seeds it right after it is cloned (spawn.c): a child would
	 * otherwise repeat its parent's stream. */
	randombytes_set_implementation(&randombytes_internal_implementation);
	if (sodium_init() < 0) {
		log_error("libsodium failed to initialise");
		return 1;
	}
	role_startup_code_prepare();
	int first = first_word(argc, argv);
	const struct subcommand *sub = first < argc ? subcommand_find(argv[first]) : NULL;
	if (sub) /* its own argv: its name first, then every other word as given */
		return sub->run(argc - 1, subcommand_argv(argc, argv, first));
	switch (cli_parse(argc, argv, &c, err, sizeof(err))) {
	case CLI_OK: break;
	case CLI_HELP: return 0;
	case CLI_VERSION: printf("mpbs-run %s\n", MPBS_VERSION); return 0;
	case CLI_REFUSED: return cli_usage_error(NULL, "%s", err);
	}
	if (!c.audit && (c.audit_opts.n_weaken || c.audit_opts.json_path || c.audit_opts.junit_path ||
			 c.audit_opts.policy_dir))
		return cli_usage_error(NULL, "--audit-weaken, --audit-policy-dir, --json and --junit are accepted only "
					     "with --audit: a run never weakens its sandbox");
	bool takes_topology = !c.print_policy && !c.print_keys;
	if (takes_topology && optind == argc)
		return cli_usage_error(NULL, "missing TOPOLOGY");
	if (optind + (takes_topology ? 1 : 0) < argc)
		return cli_usage_error(NULL, "unexpected operand '%s'", argv[optind + (takes_topology ? 1 : 0)]);
	if (c.print_policy)
		return cmd_print_policy(c.print_policy, c.oci);
	if (c.print_keys)
		return topo_reference_markdown(stdout) == 0 ? 0 : 1;
	return cmd_run(&c, argv[optind]);
}
