/* mpbs-run: the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../roles/keys.h"
#include "../roles/log.h"
#include "../roles/role.h"
#include "audit.h"
#include "memcheck.h"
#include "plan.h"
#include "seccomp.h"
#include "supervise.h"
#include "token_cmd.h"
#include "topology.h"
#include "userns.h"
#include "verify_cmd.h"

#define MAX_OVERRIDES 128

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mpbs-run [options] TOPOLOGY        run the roles of TOPOLOGY (as root)\n"
		"       mpbs-run -t [--set K=V]... TOPOLOGY check TOPOLOGY and exit (78 if it is bad)\n"
		"       mpbs-run keygen DIR                 write a provider signal key pair into DIR\n"
		"       mpbs-run keygen --token FILE        write a provider token key (32 random bytes, hex)\n"
		"       mpbs-run token --key FILE --context CTX --body FILE [--ttl SECONDS]\n"
		"                                           print a valid provider token for that body\n"
		"       mpbs-run verify LEDGER --topology FILE [--set K=V]... | --public-keys DIR\n"
		"                       [--association-key FILE] [--expect-head SEQ:HASH]...\n"
		"                                           check a ledger offline with public keys only\n"
		"       mpbs-run --audit [--json FILE] [--junit FILE] [--threshold N] TOPOLOGY\n"
		"                                           prove the isolation claims from inside the sandboxes\n"
		"                                           (--audit-weaken seccomp:ROLE|caps:ROLE|netns:ROLE|scm:ROLE|\n"
		"                                            groups:ROLE|env:ROLE|stderr:ROLE|\n"
		"                                            exec-landlock:ROLE: tests only)\n"
		"                                           (--audit-policy-dir DIR: seccomp policies from DIR, tests only)\n"
		"       mpbs-run --print-policy ROLE [--oci] show a role's compiled seccomp policy\n"
		"                                           (ROLE: intermediary, association, provider, provider-exec)\n"
		"options:\n"
		"  --set SECTION.KEY=VALUE     override a topology value (provider.NAME.KEY=VALUE)\n"
		"  --ready-fd N                write READY=1 on fd N once every role runs\n"
		"  --drain-timeout MS          how long each stop phase may take (default 10000)\n");
}

struct cli {
	bool check_only;
	bool oci;
	const char *print_policy;
	char *overrides[MAX_OVERRIDES];
	size_t n_overrides;
	struct run_options run;
	bool audit;
	struct audit_options audit_opts;
};

static int add_weakening(struct audit_options *o, const char *spec)
{
	char err[256];
	if (o->n_weaken == AUDIT_WEAKEN_MAX) {
		log_error("too many --audit-weaken options");
		return -1;
	}
	if (audit_parse_weakening(spec, &o->weaken[o->n_weaken], err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	o->n_weaken++;
	return 0;
}

static int parse_options(int argc, char **argv, struct cli *c)
{
	enum { OPT_SET = 256, OPT_READY_FD, OPT_DRAIN, OPT_PRINT_POLICY, OPT_OCI, OPT_AUDIT, OPT_JSON, OPT_JUNIT,
	       OPT_THRESHOLD, OPT_WEAKEN, OPT_POLICY_DIR };
	static const struct option opts[] = {
		{ "set", required_argument, NULL, OPT_SET },
		{ "ready-fd", required_argument, NULL, OPT_READY_FD },
		{ "drain-timeout", required_argument, NULL, OPT_DRAIN },
		{ "print-policy", required_argument, NULL, OPT_PRINT_POLICY },
		{ "oci", no_argument, NULL, OPT_OCI },
		{ "audit", no_argument, NULL, OPT_AUDIT },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "audit-weaken", required_argument, NULL, OPT_WEAKEN },
		{ "audit-policy-dir", required_argument, NULL, OPT_POLICY_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "+th", opts, NULL)) != -1) {
		switch (o) {
		case 't': c->check_only = true; break;
		case 'h': usage(stdout); exit(0);
		case OPT_SET:
			if (c->n_overrides == MAX_OVERRIDES) {
				log_error("too many --set options");
				return -1;
			}
			c->overrides[c->n_overrides++] = optarg;
			break;
		case OPT_READY_FD: c->run.ready_fd = atoi(optarg); break;
		case OPT_DRAIN: c->run.drain_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_PRINT_POLICY: c->print_policy = optarg; break;
		case OPT_OCI: c->oci = true; break;
		case OPT_AUDIT: c->audit = true; break;
		case OPT_JSON: c->audit_opts.json_path = optarg; break;
		case OPT_JUNIT: c->audit_opts.junit_path = optarg; break;
		case OPT_THRESHOLD: c->audit_opts.threshold = strtod(optarg, NULL); break;
		case OPT_POLICY_DIR: c->audit_opts.policy_dir = optarg; break;
		case OPT_WEAKEN:
			if (add_weakening(&c->audit_opts, optarg) < 0)
				return -1;
			break;
		default: usage(stderr); return -1;
		}
	}
	return 0;
}

static int cmd_print_policy(const char *role, bool oci)
{
	static const char *const names[POLICY_COUNT] = { "intermediary", "association", "provider", "provider-exec" };
	char err[512];
	for (enum policy_id id = 0; id < POLICY_COUNT; id++) {
		if (strcmp(role, names[id]) != 0)
			continue;
		struct seccomp_policy *p;
		if (plan_load_policy(id, &p, err, sizeof(err)) < 0) {
			log_error("%s", err);
			return EX_CONFIG_STATUS;
		}
		int rc = oci ? seccomp_policy_export_oci(p, stdout) : seccomp_policy_print(p, stdout);
		seccomp_policy_free(p);
		return rc < 0 ? 1 : 0;
	}
	log_error("--print-policy: unknown role '%s' (intermediary, association, provider, provider-exec)", role);
	return 2;
}

static int cmd_keygen(int argc, char **argv)
{
	char err[512];
	if (argc == 3 && strcmp(argv[1], "--token") == 0)
		return keygen_token_cmd(argv[2]);
	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	if (keys_generate_signal_pair(argv[1], err, sizeof(err)) < 0) {
		log_error("keygen: %s", err);
		return 1;
	}
	printf("wrote %s/%s (secret, 0600) and %s/%s\n", argv[1], KEYS_SECRET_NAME, argv[1], KEYS_PUBLIC_NAME);
	return 0;
}

static int cmd_run(struct cli *c, const char *path)
{
	struct topology t;
	char err[1024];
	if (topology_load(&t, path, c->overrides, c->n_overrides, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EX_CONFIG_STATUS;
	}
	if (c->check_only) {
		printf("%s: OK (%zu providers)\n", path, t.n_providers);
		topology_free(&t);
		return 0;
	}
	if (geteuid() != 0) {
		log_error("must run as root: the supervisor maps each role to its own host uid in a user "
			  "namespace and binds its listener (try: sudo mpbs-run %s)", path);
		topology_free(&t);
		return 1;
	}
	if (userns_check_available(err, sizeof(err)) < 0) {
		log_error("%s", err);
		topology_free(&t);
		return 1;
	}
	c->run.overrides = c->overrides;
	c->run.n_overrides = c->n_overrides;
	if (c->audit && MEMCHECK_BUILD) {
		log_error("--audit: this is a memcheck build, whose roles have no seccomp and no Landlock "
			  "(runner/memcheck.h); audit a release build");
		topology_free(&t);
		return 1;
	}
	int rc = c->audit ? audit_run(&t, &c->audit_opts) : supervise_run(&t, &c->run);
	topology_free(&t);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c = { .run = { .ready_fd = -1, .drain_ms = 10000 }, .audit_opts = { .threshold = -1 } };

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
	if (argc > 1 && strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "verify") == 0)
		return verify_cmd(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "token") == 0)
		return token_cmd(argc - 1, argv + 1);
	if (parse_options(argc, argv, &c) < 0)
		return 2;
	if (!c.audit && (c.audit_opts.n_weaken || c.audit_opts.json_path || c.audit_opts.junit_path ||
			 c.audit_opts.policy_dir)) {
		log_error("--audit-weaken, --audit-policy-dir, --json and --junit are accepted only with --audit: "
			  "a run never weakens its sandbox");
		return 2;
	}
	if (c.print_policy)
		return cmd_print_policy(c.print_policy, c.oci);
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	return cmd_run(&c, argv[optind]);
}
