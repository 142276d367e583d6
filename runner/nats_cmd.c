/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "nats_cmd.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/fsutil.h"
#include "../lib/log.h"
#include "../lib/nats_names.h"
#include "cli.h"
#include "host_part.h"
#include "nats_urls.h"
#include "plan.h"

#define PASSWORD_BYTES 32 /* random, written as 64 hex digits */
#define BCRYPT_COST 11
#define NATS_ALLOW_MAX 192 /* one subject of a permission list */

/* The credentials directory's NAME.password, made (0600, never replaced)
 * when missing; its first line read into pw. */
static int host_password(const char *dir, const char *name, char *pw, size_t len, char *err, size_t errlen)
{
	char file[TOPO_HOST_MAX + 16];
	snprintf(file, sizeof(file), "%s.password", name);
	char *path = fs_path_join(dir, file);
	if (!path || fs_mkdir_parents(path, err, errlen) < 0) {
		if (!path)
			snprintf(err, errlen, "out of memory");
		free(path);
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		uint8_t raw[PASSWORD_BYTES];
		char hex[2 * PASSWORD_BYTES + 2];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
		strcat(hex, "\n");
		int rc = fs_write_all(fd, hex, strlen(hex)) < 0 || fsync(fd) < 0 ? -1 : 0;
		sodium_memzero(raw, sizeof(raw));
		close(fd);
		if (rc < 0) {
			snprintf(err, errlen, "write %s: %s", path, strerror(errno));
			free(path);
			return -1;
		}
		fprintf(stderr, "nats-config: wrote %s (0600)\n", path);
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "create %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	size_t n;
	int rc = fs_read_small(path, pw, len - 2, &n, err, errlen);
	free(path);
	if (rc < 0)
		return -1;
	pw[strcspn(pw, "\r\n")] = '\0';
	if (!pw[0]) {
		snprintf(err, errlen, "%s/%s: empty", dir, file);
		return -1;
	}
	return 0;
}

/* The server keeps a bcrypt hash, never the password. */
static int bcrypt_of(const char *pw, char *out, size_t len, char *err, size_t errlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	if (!cd || !crypt_gensalt_rn("$2b$", BCRYPT_COST, NULL, 0, salt, sizeof(salt))) {
		snprintf(err, errlen, "bcrypt salt: %s", strerror(errno ? errno : ENOMEM));
		free(cd);
		return -1;
	}
	const char *h = crypt_r(pw, salt, cd);
	int rc = h && h[0] == '$' ? 0 : -1;
	if (rc == 0)
		snprintf(out, len, "%s", h);
	else
		snprintf(err, errlen, "bcrypt: %s", strerror(errno ? errno : EINVAL));
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

static void print_quoted_list(FILE *out, const char *what, char (*items)[NATS_ALLOW_MAX], size_t n)
{
	fprintf(out, "          %s: [", what);
	for (size_t k = 0; k < n; k++)
		fprintf(out, "%s\"%s\"", k ? ", " : "", items[k]);
	fprintf(out, "]\n");
}

/* What host's bridge may publish to: the subjects its out lanes carry,
 * and for each in lane the calls of its one pull consumer (next, ack,
 * info) and the purge of that consumer's stream below its ack floor. */
static size_t host_publish_allow(struct topology *t, const char *host, char (*allow)[NATS_ALLOW_MAX], size_t max)
{
	struct lane lanes[BRIDGE_LANES_MAX];
	snprintf(t->this_host, sizeof(t->this_host), "%s", host);
	size_t n_lanes = host_part_lanes(t, lanes), n = 0;
	for (size_t k = 0; k < n_lanes && n + 5 <= max; k++) {
		const char *p = t->providers[lanes[k].provider].name, *kind = lane_kind_word(lanes[k].kind);
		char stream[64], durable[64];
		snprintf(stream, sizeof(stream), NATS_STREAM_FMT, lanes[k].kind == LANE_ARTIFACT ? "ART" : "SIG", p);
		snprintf(durable, sizeof(durable), NATS_DURABLE_FMT, kind, p);
		if (lanes[k].dir == LANE_OUT) {
			snprintf(allow[n++], NATS_ALLOW_MAX, NATS_SUBJECT_FMT, kind, p);
			continue;
		}
		snprintf(allow[n++], NATS_ALLOW_MAX, "$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream, durable);
		snprintf(allow[n++], NATS_ALLOW_MAX, "$JS.ACK.%s.%s.>", stream, durable);
		snprintf(allow[n++], NATS_ALLOW_MAX, "$JS.API.CONSUMER.INFO.%s.%s", stream, durable);
		snprintf(allow[n++], NATS_ALLOW_MAX, "$JS.API.STREAM.PURGE.%s", stream);
		/* a gap a killed incarnation left, read back by sequence */
		snprintf(allow[n++], NATS_ALLOW_MAX, "$JS.API.STREAM.MSG.GET.%s", stream);
	}
	t->this_host[0] = '\0';
	return n;
}

static int print_user(FILE *out, struct topology *t, const char *name, bool admin, char *err, size_t errlen)
{
	char pw[256], hash[128], user[64], inbox[2][NATS_ALLOW_MAX];
	static char allow[5 * BRIDGE_LANES_MAX][NATS_ALLOW_MAX];
	if (host_password(t->nats.credentials, admin ? NATS_ADMIN_NAME : name, pw, sizeof(pw), err, errlen) < 0)
		return -1;
	int rc = bcrypt_of(pw, hash, sizeof(hash), err, errlen);
	explicit_bzero(pw, sizeof(pw));
	if (rc < 0)
		return -1;
	snprintf(user, sizeof(user), admin ? NATS_ADMIN_USER : NATS_USER_FMT, name);
	snprintf(inbox[0], sizeof(inbox[0]), "_INBOX.%s.>", user);
	size_t n = admin ? 1 : host_publish_allow(t, name, allow, sizeof(allow) / sizeof(allow[0]));
	if (admin)
		snprintf(allow[0], sizeof(allow[0]), "$JS.API.>");
	fprintf(out, "      { user: \"%s\", password: \"%s\", permissions: {\n", user, hash);
	fprintf(out, "        publish: {\n");
	print_quoted_list(out, "allow", allow, n);
	fprintf(out, "        }\n        subscribe: {\n");
	print_quoted_list(out, "allow", inbox, 1);
	fprintf(out, "        }\n      } }\n");
	return 0;
}

static int write_accounts(FILE *out, struct topology *t, const char *path, char *err, size_t errlen)
{
	const char *names[2 + TOPO_PROVIDERS_MAX];
	size_t n = host_part_names(t, names, sizeof(names) / sizeof(names[0]));
	fprintf(out, "# The NATS users of %s, written by `mpbs-run nats-config`: include it in every\n"
		     "# server's configuration. Each host part's bridge may publish only what its lanes carry,\n"
		     "# consume only its own durable consumers, and read only its own inbox.\n"
		     "accounts {\n  MPBS {\n    jetstream: enabled\n    users: [\n", path);
	for (size_t k = 0; k < n; k++)
		if (print_user(out, t, names[k], false, err, errlen) < 0)
			return -1;
	if (print_user(out, t, NULL, true, err, errlen) < 0)
		return -1;
	fprintf(out, "    ]\n  }\n}\n");
	return fflush(out) == 0 ? 0 : -1;
}

/* Both commands: TOPOLOGY and --set, the whole topology, spread. */
static int load_spread(struct topology *t, int argc, char **argv, const char *sub, const char **output)
{
	static const struct option opts[] = {
		{ "set", required_argument, NULL, 'S' }, { "output", required_argument, NULL, 'o' },
		CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 },
	};
	struct cli_line line = { .started = false };
	char *overrides[CLI_OVERRIDES_MAX];
	size_t n_over = 0;
	int o;
	while ((o = cli_next_option(&line, argc, argv, "o:", opts)) != -1) {
		if (o == 'S' && n_over < CLI_OVERRIDES_MAX)
			overrides[n_over++] = optarg;
		else if (o == 'o' && output)
			*output = optarg;
		else if (o == 'o')
			cli_refuse(&line, "unrecognized option '--output'");
	}
	if (line.help) {
		printf("usage: mpbs-run %s [--set K=V]... %sTOPOLOGY\n", sub, output ? "[-o|--output FILE] " : "");
		cli_common_usage(stdout);
		return 0;
	}
	if (argc - optind != 1)
		cli_refuse(&line, argc - optind == 0 ? "missing TOPOLOGY" : "unexpected operand '%s'", argv[optind + 1]);
	if (line.refusal[0])
		return cli_usage_error(sub, "%s", line.refusal);
	char err[1024];
	if (topology_load_with(t, argv[optind], overrides, n_over, TOPO_LOAD_FILES_UNCHECKED | TOPO_LOAD_KEYS_UNCHECKED,
			       err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EX_CONFIG_STATUS;
	}
	if (!host_part_spread(t)) {
		log_error("%s: no role sets host: it runs on one host, with no NATS", argv[optind]);
		topology_free(t);
		return EX_CONFIG_STATUS;
	}
	return -1;
}

int nats_config_cmd(int argc, char **argv)
{
	struct topology t;
	const char *output = NULL;
	int rc = load_spread(&t, argc, argv, "nats-config", &output);
	if (rc >= 0)
		return rc;
	char err[1024] = "";
	FILE *out = output ? fopen(output, "we") : stdout;
	if (!out) {
		log_error("nats-config: %s: %s", output, strerror(errno));
		topology_free(&t);
		return 1;
	}
	rc = sodium_init() < 0 ? -1 : write_accounts(out, &t, t.path, err, sizeof(err));
	if (output && fclose(out) != 0)
		rc = -1;
	if (rc < 0)
		log_error("nats-config: %s", err[0] ? err : strerror(errno));
	topology_free(&t);
	return rc < 0 ? 1 : 0;
}

/* The streams of every channel that crosses hosts: an artifact stream per
 * provider not on the intermediary's host, a signal stream per provider
 * not on the association's. */
static int init_argv(struct topology *t, char **argv, size_t max, char *buf, size_t buflen)
{
	size_t argc = 0, used = 0;
#define ARG(...)                                                                                  \
	do {                                                                                      \
		int w_ = snprintf(buf + used, buflen - used, __VA_ARGS__);                          \
		if (w_ < 0 || (size_t)w_ >= buflen - used || argc + 1 >= max)                       \
			return -1;                                                                \
		argv[argc++] = buf + used;                                                        \
		used += (size_t)w_ + 1;                                                           \
	} while (0)
	struct nats_url urls[NATS_URLS_MAX];
	char why[160];
	int n = nats_urls_parse(t->nats.servers, urls, why, sizeof(why));
	ARG("mpbs-bridge");
	ARG("--init");
	for (int k = 0; k < n; k++) {
		ARG("--server");
		ARG("%s", urls[k].text);
	}
	ARG("--user");
	ARG(NATS_ADMIN_USER);
	ARG("--inbox-prefix");
	ARG("_INBOX." NATS_ADMIN_USER);
	ARG("--password-file");
	ARG("%s/" NATS_ADMIN_NAME ".password", t->nats.credentials);
	if (t->nats.tls_ca) {
		ARG("--tls-ca");
		ARG("%s", t->nats.tls_ca);
	}
	if (t->nats.tls_cert) { /* servers that ask for a client certificate */
		ARG("--tls-cert");
		ARG("%s", t->nats.tls_cert);
		ARG("--tls-key");
		ARG("%s", t->nats.tls_key);
	}
	ARG("--replicas");
	ARG("%u", t->nats.replicas);
	ARG("--max-bytes");
	ARG("%llu", (unsigned long long)t->nats.stream_bytes);
	for (size_t i = 0; i < t->n_providers; i++) {
		const char *p = t->providers[i].name;
		if (!host_part_same(t->providers[i].host, t->intermediary_host)) {
			ARG("--stream");
			ARG("art:%s", p);
		}
		if (!host_part_same(t->providers[i].host, t->association_host)) {
			ARG("--stream");
			ARG("sig:%s", p);
		}
	}
#undef ARG
	argv[argc] = NULL;
	return 0;
}

int nats_init_cmd(int argc, char **argv)
{
	struct topology t;
	int rc = load_spread(&t, argc, argv, "nats-init", NULL);
	if (rc >= 0)
		return rc;
	char program[PATH_MAX], err[512];
	static char *child_argv[16 + 4 * TOPO_PROVIDERS_MAX + 2 * NATS_URLS_MAX];
	static char buf[16384];
	if (plan_bridge_program(program, sizeof(program), err, sizeof(err)) < 0 ||
	    init_argv(&t, child_argv, sizeof(child_argv) / sizeof(child_argv[0]), buf, sizeof(buf)) < 0) {
		log_error("nats-init: %s", err[0] ? err : "too many streams for one command line");
		topology_free(&t);
		return 1;
	}
	topology_free(&t);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		execv(program, child_argv);
		fprintf(stderr, "nats-init: exec %s: %s\n", program, strerror(errno));
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		log_error("nats-init: %s: %s", program, strerror(errno));
		return 1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
