/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: arbitrary bytes as a topology file, plus --set overrides.
 *
 * Input layout: the file, optionally followed by "\n--set\n" and one override
 * per line. Relative paths resolve under /proc/self/fd, so validation mostly
 * fails: the point is that parsing, overriding and failing never crash and
 * never leak (ASan's leak check runs at exit).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -o /tmp/ft tests/fuzz/fuzz_topology.c \
 *         runner/topology.c lib/wire.c $(pkg-config --cflags --libs inih)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../runner/topology.h"

#define OVERRIDES_MAX 8

static size_t split_overrides(char *text, char **out)
{
	size_t n = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL && n < OVERRIDES_MAX;
	     line = strtok_r(NULL, "\n", &save))
		out[n++] = line;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char marker[] = "\n--set\n";
	const uint8_t *cut = memmem(data, size, marker, sizeof(marker) - 1);
	size_t file_len = cut ? (size_t)(cut - data) : size;

	char *ovtext = NULL;
	char *overrides[OVERRIDES_MAX];
	size_t n_overrides = 0;
	if (cut != NULL) {
		size_t rest = size - file_len - (sizeof(marker) - 1);
		ovtext = strndup((const char *)cut + sizeof(marker) - 1, rest);
		if (ovtext == NULL)
			return 0;
		n_overrides = split_overrides(ovtext, overrides);
	}

	int fd = memfd_create("topology", MFD_CLOEXEC);
	if (fd < 0) {
		free(ovtext);
		return 0;
	}
	if (write(fd, data, file_len) == (ssize_t)file_len) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		struct topology t;
		char err[1024];
		if (topology_load(&t, path, overrides, n_overrides, err, sizeof(err)) == 0)
			topology_free(&t);
		else if (strlen(err) == 0)
			abort(); /* a failure must always say why */
	}
	close(fd);
	free(ovtext);
	return 0;
}
