#include "verify_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../roles/keys.h"
#include "../roles/ledger.h"
#include "../roles/log.h"
#include "topology.h"

struct key_source {
	const struct topology *t; /* or */
	const char *dir;          /* DIR/NAME.pub */
};

static bool lookup_key(void *ctx, const char *provider, uint8_t pk[32])
{
	const struct key_source *ks = ctx;
	char path[PATH_MAX], err[512];
	const char *file = NULL;

	if (ks->t) {
		for (size_t i = 0; i < ks->t->n_providers; i++)
			if (strcmp(ks->t->providers[i].name, provider) == 0)
				file = ks->t->providers[i].public_key;
	} else if (wire_provider_name_valid(provider)) {
		snprintf(path, sizeof(path), "%s/%s.pub", ks->dir, provider);
		file = path;
	}
	if (!file)
		return false;
	if (keys_load_signal_public(file, pk, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return false;
	}
	return true;
}

static int verify_file(const char *ledger, struct key_source *ks)
{
	struct ledger_verify_result res;
	int fd = open(ledger, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("open %s: %s", ledger, strerror(errno));
		return 1;
	}
	bool ok = ledger_verify(fd, lookup_key, ks, &res);
	close(fd);
	if (!ok) {
		printf("FAIL: %s:%" PRIu64 ": %s\n", ledger, res.bad_line, res.why);
		return 1;
	}
	printf("OK: %" PRIu64 " records, %" PRIu64 " confirmed (%" PRIu64 " signals, %" PRIu64 " checkpoints, %" PRIu64
	       " incomplete, %" PRIu64 " rejected, %" PRIu64 " signals not covered by a checkpoint)\n",
	       res.records, res.confirmed, res.signals, res.checkpoints, res.incomplete, res.rejected, res.uncovered);
	return 0;
}

int verify_cmd(int argc, char **argv)
{
	struct key_source ks = { 0 };
	struct topology t;
	const char *topo = NULL;
	char err[1024];

	if (argc != 4 || (strcmp(argv[2], "--topology") != 0 && strcmp(argv[2], "--public-keys") != 0)) {
		fprintf(stderr, "usage: mpbs-run verify LEDGER --topology FILE | --public-keys DIR\n");
		return 2;
	}
	if (strcmp(argv[2], "--topology") == 0)
		topo = argv[3];
	else
		ks.dir = argv[3];
	if (topo) {
		if (topology_load(&t, topo, NULL, 0, err, sizeof(err)) < 0) {
			log_error("%s", err);
			return EX_CONFIG_STATUS;
		}
		ks.t = &t;
	}
	int rc = verify_file(argv[1], &ks);
	if (topo)
		topology_free(&t);
	return rc;
}
