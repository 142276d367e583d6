/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: arbitrary bytes as a provider policy file. A file that
 * loads is then asked about a context taken from the input itself.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -o /tmp/fp tests/fuzz/fuzz_policy.c \
 *         roles/provider/policy.c $(pkg-config --cflags --libs inih)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../roles/provider/policy.h"

/* The policy is written to a real file in a directory of its own: a key
 * path in it (token_key = 3) resolves there, as it does in a provider's
 * sandbox. Loading it through /proc/self/fd/N, as this target first did,
 * made such a path name the fuzzer's own fd 3: one 20 s run timed out in
 * read() of it, which no deployment can reach. */
static char policy_dir[] = "/tmp/mpbs-fuzz-policy-XXXXXX";
static char policy_path[64];

static void policy_file_remove(void)
{
	unlink(policy_path);
	rmdir(policy_dir);
}

static int policy_file_prepare(void)
{
	if (!mkdtemp(policy_dir))
		return -1;
	snprintf(policy_path, sizeof(policy_path), "%s/policy.conf", policy_dir);
	return atexit(policy_file_remove);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!policy_path[0] && policy_file_prepare() < 0)
		abort();
	int fd = open(policy_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	bool written = write(fd, data, size) == (ssize_t)size;
	close(fd);
	if (written) {
		struct provider_policy p;
		char err[512];
		if (provider_policy_load(&p, policy_path, err, sizeof(err)) == 0) {
			if (p.n_accept == 0)
				abort(); /* accept_context is required */
			const char *first = p.accept_context[0];
			if (!provider_policy_accepts_context(&p, first, strlen(first)))
				abort();
			provider_policy_accepts_context(&p, (const char *)data, size < 16 ? size : 16);
			provider_policy_free(&p);
		} else if (strlen(err) == 0) {
			abort();
		}
	}
	return 0;
}
