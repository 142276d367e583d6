/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the seccomp policy parser: the input becomes a
 * policy file (in a private directory, so @include can only reach files the
 * fuzzer itself wrote there) and is loaded and freed.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     tests/fuzz/fuzz_seccomp_policy.c runner/seccomp.c runner/seccomp_parse.c \
 *     runner/seccomp_conditions.c runner/seccomp_print.c lib/errbuf.c lib/log.c \
 *     $(pkg-config --cflags --libs libseccomp jansson) -o build/fuzz_seccomp_policy
 *   build/fuzz_seccomp_policy -max_total_time=30 -max_len=4096 */
#define _GNU_SOURCE
#include "../../runner/seccomp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[] = "/tmp/mpbs-fuzz-seccomp-XXXXXX";

static void remove_scratch(void)
{
	char path[sizeof(scratch) + 16];
	snprintf(path, sizeof(path), "%s/a.policy", scratch);
	unlink(path);
	snprintf(path, sizeof(path), "%s/b.policy", scratch);
	unlink(path);
	rmdir(scratch);
}

/* The fuzzer calls the target in one process: make the scratch directory
 * once and reuse it. Two file names, so inputs can include each other. */
static const char *scratch_dir(void)
{
	static const char *made;
	if (!made) {
		made = mkdtemp(scratch);
		if (!made || atexit(remove_scratch) != 0)
			abort();
	}
	return made;
}

static void write_policy(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "we");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[256], other[256], err[512] = "";
	struct seccomp_policy *p = NULL;
	snprintf(path, sizeof(path), "%s/a.policy", scratch_dir());
	snprintf(other, sizeof(other), "%s/b.policy", scratch_dir());
	/* b.policy gets the second half, so "@include b.policy" parses real input */
	write_policy(path, data, size);
	write_policy(other, data + size / 2, size - size / 2);
	if (seccomp_policy_load(path, &p, err, sizeof(err)) == 0) {
		FILE *sink = fopen("/dev/null", "we");
		if (!sink)
			abort();
		seccomp_policy_print(p, sink);
		seccomp_policy_export_oci(p, sink);
		fclose(sink);
		seccomp_policy_free(p);
	} else if (p != NULL || err[0] == '\0') {
		abort(); /* a failed load must leave no policy and say why */
	}
	return 0;
}
