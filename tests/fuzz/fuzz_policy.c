/* libFuzzer target: arbitrary bytes as a provider policy file. A file that
 * loads is then asked about a context taken from the input itself.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -o /tmp/fp tests/fuzz/fuzz_policy.c \
 *         roles/provider_policy.c $(pkg-config --cflags --libs inih)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../roles/provider_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("policy", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		struct provider_policy p;
		char err[512];
		if (provider_policy_load(&p, path, err, sizeof(err)) == 0) {
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
	close(fd);
	return 0;
}
