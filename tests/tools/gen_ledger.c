/* SPDX-License-Identifier: Apache-2.0 */
/* gen-ledger: writes a valid version 2 test ledger quickly, for benchmarks
 * and second readers (built by `make build/gen-ledger`, never installed).
 *
 *   build/gen-ledger [--providers N] [--ops N] [--batch N] [--segment-size BYTES[K|M|G]]
 *                    [--seed N] --keys DIR LEDGER
 *
 * LEDGER (and LEDGER.000001 ... when it rotates; none of them may exist) holds
 * --ops operations (default 100000) confirmed by all of --providers providers
 * (default 3, named p0, p1, ...), --batch operations (default 128, at most
 * 128) per provider checkpoint, a signed head every 4096 records (as the
 * association under load), rotating at --segment-size (default 0: one
 * segment) after a confirmed batch. The keys come from --seed (default 1);
 * their public halves are written as DIR/pN/signal.pub and
 * DIR/association.pub (DIR is created; the files must not exist), so that
 *
 *   mpbs-run verify LEDGER --public-keys DIR --association-key DIR/association.pub
 *
 * checks it. It prints one line: segments, records, confirmed, bytes, seconds. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../../lib/keys.h"
#include "../common/ledger2_gen.h"

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: gen-ledger [--providers N] [--ops N] [--batch N] [--segment-size BYTES[K|M|G]] "
		     "[--seed N] --keys DIR LEDGER\n");
	return status;
}

static bool number(const char *text, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(text, &end, 10);
	uint64_t unit = 1;
	if (*end == 'K')
		unit = 1024;
	else if (*end == 'M')
		unit = 1024 * 1024;
	else if (*end == 'G')
		unit = 1024 * 1024 * 1024;
	if (unit > 1)
		end++;
	if (errno || end == text || *end || text[0] == '-')
		return false;
	*v = n * unit;
	return true;
}

static int write_keys(const struct gen_ledger *g, const char *dir)
{
	char path[4096], err[4096 + 256];
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "gen-ledger: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (size_t p = 0; p < g->n_providers; p++) {
		snprintf(path, sizeof(path), "%s/%s", dir, g->names[p]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "gen-ledger: %s: %s\n", path, strerror(errno));
			return -1;
		}
		snprintf(path, sizeof(path), "%s/%s/%s", dir, g->names[p], KEYS_PUBLIC_NAME);
		if (keys_store_hex(path, g->provider_pk[p], 32, KEYS_PUBLIC_MODE, err, sizeof(err)) < 0) {
			fprintf(stderr, "gen-ledger: %s\n", err);
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%s/association.pub", dir);
	if (keys_store_hex(path, g->association_pk, 32, KEYS_PUBLIC_MODE, err, sizeof(err)) < 0) {
		fprintf(stderr, "gen-ledger: %s\n", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "providers", required_argument, NULL, 'p' }, { "ops", required_argument, NULL, 'o' },
		{ "batch", required_argument, NULL, 'b' },     { "segment-size", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'r' },      { "keys", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },            { NULL, 0, NULL, 0 },
	};
	struct gen_ledger g = { .n_providers = 3, .ops = 100000, .batch = 128, .head_every = 4096, .seed = 1 };
	const char *keys = NULL;
	uint64_t v;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return usage(stdout, 0);
		if (c == 'k') {
			keys = optarg;
			continue;
		}
		if (c == '?' || !number(optarg, &v)) {
			if (c != '?')
				fprintf(stderr, "gen-ledger: '%s': not a number\n", optarg);
			return usage(stderr, 2);
		}
		if (c == 'p')
			g.n_providers = (size_t)v;
		else if (c == 'o')
			g.ops = v;
		else if (c == 'b')
			g.batch = (unsigned)v;
		else if (c == 's')
			g.segment_size = v;
		else
			g.seed = v;
	}
	if (optind != argc - 1 || !keys || g.n_providers < 1 || g.n_providers > L2_PROVIDERS_MAX || g.batch < 1 ||
	    g.batch > 128)
		return usage(stderr, 2);
	g.path = argv[optind];
	gen_ledger_keys(&g);
	if (write_keys(&g, keys) < 0)
		return 1;
	char err[4096 + 256];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (gen_ledger_write(&g, err, sizeof(err)) < 0) {
		fprintf(stderr, "gen-ledger: %s\n", err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	struct stat st;
	uint64_t bytes = 0;
	char path[4096];
	for (uint32_t n = 1; n <= g.segments; n++) {
		if (n == g.segments)
			snprintf(path, sizeof(path), "%s", g.path);
		else
			snprintf(path, sizeof(path), "%s.%06u", g.path, n);
		if (stat(path, &st) == 0)
			bytes += (uint64_t)st.st_size;
	}
	printf("segments %u records %" PRIu64 " confirmed %" PRIu64 " bytes %" PRIu64 " seconds %.3f\n", g.segments,
	       g.records, g.confirmed, bytes, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
