/* SPDX-License-Identifier: Apache-2.0 */
/* Key files: generation, modes, loading, and refusal of damaged files. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/scratch.h"
#include "../../lib/keys.h"

static void setup(void)
{
	scratch_enter("keys");
	cr_assert_geq(sodium_init(), 0);
}

TestSuite(unit_keys, .init = setup, .fini = scratch_leave);

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "fopen %s", path);
	cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(chmod(path, 0600), 0, "chmod %s", path); /* secret keys must be 0600 */
}

static size_t read_text(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "fopen %s", path);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return st.st_mode & 07777;
}

Test(unit_keys, generate_and_load_round_trip)
{
	char err[512] = "";
	/* A hostile umask must not decide the modes. */
	umask(0777);
	cr_assert_eq(keys_generate_signal_pair("k", err, sizeof(err)), 0, "%s", err);
	umask(022);
	cr_assert_eq(mode_of("k"), 0755, "the public key must be readable by anyone who verifies");
	cr_assert_eq(mode_of("k/" KEYS_SECRET_NAME), 0600);
	cr_assert_eq(mode_of("k/" KEYS_PUBLIC_NAME), 0644);

	char text[256];
	cr_assert_eq(read_text("k/" KEYS_SECRET_NAME, text, sizeof(text)), 129);
	cr_assert_eq(text[128], '\n');
	cr_assert_eq(read_text("k/" KEYS_PUBLIC_NAME, text, sizeof(text)), 65);

	uint8_t sk[64], pk[32];
	cr_assert_eq(keys_load_signal_secret("k/" KEYS_SECRET_NAME, sk, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(keys_load_signal_public("k/" KEYS_PUBLIC_NAME, pk, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(sk + 32, pk, 32), 0);

	const uint8_t msg[] = "checkpoint";
	uint8_t sig[crypto_sign_BYTES];
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	cr_assert_eq(crypto_sign_verify_detached(sig, msg, sizeof(msg), pk), 0);
}

Test(unit_keys, generate_into_an_existing_directory)
{
	char err[512] = "";
	cr_assert_eq(mkdir("d", 0750), 0);
	cr_assert_eq(keys_generate_signal_pair("d", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mode_of("d"), 0750, "an existing directory is left as it is");
	write_text("file", "x");
	cr_assert_eq(keys_generate_signal_pair("file", err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "file: not a directory"), "%s", err);
}

Test(unit_keys, refuses_to_overwrite)
{
	char err[512] = "";
	cr_assert_eq(keys_generate_signal_pair("k", err, sizeof(err)), 0, "%s", err);
	char before[256], after[256];
	read_text("k/" KEYS_SECRET_NAME, before, sizeof(before));
	cr_assert_eq(keys_generate_signal_pair("k", err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "k/" KEYS_SECRET_NAME " already exists"), "%s", err);
	read_text("k/" KEYS_SECRET_NAME, after, sizeof(after));
	cr_assert_str_eq(before, after);

	cr_assert_eq(unlink("k/" KEYS_SECRET_NAME), 0);
	cr_assert_eq(keys_generate_signal_pair("k", err, sizeof(err)), -1, "a lone public key is not replaced either");
	cr_assert_not_null(strstr(err, "k/" KEYS_PUBLIC_NAME " already exists"), "%s", err);

	uint8_t key[32] = { 1 };
	cr_assert_eq(keys_store_hex("k/" KEYS_PUBLIC_NAME, key, sizeof(key), 0600, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "File exists"), "%s", err);
}

Test(unit_keys, store_and_load_a_token_key)
{
	char err[512] = "";
	uint8_t key[32], back[32];
	randombytes_buf(key, sizeof(key));
	cr_assert_eq(keys_store_hex("token.key", key, sizeof(key), 0600, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mode_of("token.key"), 0600);
	cr_assert_eq(keys_load_hex("token.key", back, sizeof(back), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(key, back, sizeof(key)), 0);

	char text[128];
	char hex[65];
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	cr_assert_eq(read_text("token.key", text, sizeof(text)), 65);
	cr_assert_eq(strncmp(text, hex, 64), 0);

	/* The final newline is optional. */
	write_text("nonl.key", hex);
	memset(back, 0, sizeof(back));
	cr_assert_eq(keys_load_hex("nonl.key", back, sizeof(back), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(key, back, sizeof(key)), 0);
}

Test(unit_keys, corrupt_secret_is_refused)
{
	char err[512] = "";
	cr_assert_eq(keys_generate_signal_pair("k", err, sizeof(err)), 0, "%s", err);
	char text[256];
	read_text("k/" KEYS_SECRET_NAME, text, sizeof(text));
	/* Flip one bit of the public half (hex digit 100 of 128). */
	text[100] = text[100] == '0' ? '1' : '0';
	cr_assert_eq(unlink("k/" KEYS_SECRET_NAME), 0);
	write_text("k/" KEYS_SECRET_NAME, text);
	uint8_t sk[64];
	memset(sk, 0xaa, sizeof(sk));
	cr_assert_eq(keys_load_signal_secret("k/" KEYS_SECRET_NAME, sk, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "k/" KEYS_SECRET_NAME ":1: corrupt secret key"), "%s", err);
	uint8_t zero[64] = { 0 };
	cr_assert_eq(memcmp(sk, zero, sizeof(sk)), 0, "a refused secret key is wiped");
}

static void expect_load_error(const char *text, size_t n, const char *fragment)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/bad.key", scratch_dir);
	write_text(path, text);
	uint8_t out[64];
	char err[512] = "";
	cr_assert_eq(keys_load_hex(path, out, n, err, sizeof(err)), -1, "accepted '%s'", text);
	cr_assert_not_null(strstr(err, path), "path missing in '%s'", err);
	cr_assert_not_null(strstr(err, fragment), "expected '%s' in '%s'", fragment, err);
}

Test(unit_keys, malformed_files_name_path_and_line)
{
	char hex64[65];
	memset(hex64, 'a', 64);
	hex64[64] = '\0';
	char buf[200];

	snprintf(buf, sizeof(buf), "%.63s\n", hex64);
	expect_load_error(buf, 32, ":1: expected 64 hex digits");
	snprintf(buf, sizeof(buf), "%s0\n", hex64);
	expect_load_error(buf, 32, ":1: expected 64 hex digits");
	snprintf(buf, sizeof(buf), "%.10sg%.53s\n", hex64, hex64);
	expect_load_error(buf, 32, ":1: expected 64 hex digits (0-9 a-f), found byte 0x67 at column 11");
	snprintf(buf, sizeof(buf), "A%.63s\n", hex64);
	expect_load_error(buf, 32, ":1:");
	snprintf(buf, sizeof(buf), "%s\n\n", hex64);
	expect_load_error(buf, 32, ":2: expected end of file");
	snprintf(buf, sizeof(buf), "%s\r\n", hex64);
	expect_load_error(buf, 32, ":1:");
	snprintf(buf, sizeof(buf), " %s\n", hex64);
	expect_load_error(buf, 32, ":1:");
	expect_load_error("", 32, ":1: expected 64 hex digits");
	expect_load_error(hex64, 64, ":1: expected 128 hex digits");

	uint8_t out[32];
	char err[512] = "";
	cr_assert_eq(keys_load_hex("absent.key", out, sizeof(out), err, sizeof(err)), -1);
	cr_assert_str_eq(err, "open absent.key: No such file or directory");
}

Test(unit_keys, public_key_must_be_a_curve_point)
{
	char zeros[66];
	memset(zeros, '0', 64);
	strcpy(zeros + 64, "\n");
	write_text("zero.pub", zeros);
	uint8_t pk[32];
	char err[512] = "";
	cr_assert_eq(keys_load_signal_public("zero.pub", pk, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "zero.pub:1: not a valid Ed25519 public key");
}

/* A key path naming a FIFO (or a pipe through /proc/self/fd, as a fuzzer
 * found) must fail at once instead of blocking the provider forever. */
Test(unit_keys, a_fifo_is_refused_without_blocking, .timeout = 10)
{
	uint8_t key[32];
	char err[256];
	cr_assert_eq(mkfifo("token.key", 0600), 0);
	cr_assert_eq(keys_load_hex("token.key", key, sizeof(key), err, sizeof(err)), -1);
	cr_assert(strstr(err, "token.key") && strstr(err, "not a regular file"), "%s", err);
}
