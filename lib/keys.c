/* SPDX-License-Identifier: Apache-2.0 */
/* Key files: one line of lowercase hex (see keys.h). */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "fsutil.h"
#include "text.h"

/* Largest key any caller stores: the 64-byte Ed25519 secret key. */
#define KEYS_BYTES_MAX 64
#define KEYS_HEX_MAX (2 * KEYS_BYTES_MAX)

/* Reads at most cap bytes; *len is cap + 1 when the file holds more. A
 * secret must not be open to its group or others: whoever shares them (or
 * a role that does) could read it without any sandbox escape. */
static int read_small(const char *path, bool secret, char *buf, size_t cap, size_t *len, char *errbuf,
		      size_t errlen)
{
	struct stat st;
	int fd = fs_open_regular(path, &st, errbuf, errlen);
	if (fd < 0)
		return -1;
	if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		close(fd);
		return err_set(errbuf, errlen, "%s: a secret key with mode %04o (group or other bits set): "
			       "refused; chmod 0600 it", path, (unsigned)(st.st_mode & 07777));
	}
	int rc = fs_read_upto(fd, path, buf, cap, len, errbuf, errlen);
	close(fd);
	return rc;
}

/* Exactly 2n lowercase hex digits, then nothing or a single "\n". */
static int check_hex_line(const char *path, const char *text, size_t len, size_t n, char *errbuf, size_t errlen)
{
	size_t digits = text_lower_hex_prefix(text, len);
	bool newline = digits < len && text[digits] == '\n';
	if (digits == 2 * n && newline && digits + 1 < len)
		return err_set(errbuf, errlen, "%s:2: expected end of file after the key", path);
	if (digits == 2 * n && (digits == len || (newline && digits + 1 == len)))
		return 0;
	if (digits < len && text[digits] != '\n' && digits < 2 * n)
		return err_set(errbuf, errlen, "%s:1: expected %zu hex digits (0-9 a-f), found byte 0x%02x at column %zu",
			      path, 2 * n, (unsigned char)text[digits], digits + 1);
	return err_set(errbuf, errlen, "%s:1: expected %zu hex digits", path, 2 * n);
}

static int load_hex(const char *path, bool secret, uint8_t *out, size_t n, char *errbuf, size_t errlen)
{
	if (n == 0 || n > KEYS_BYTES_MAX)
		return err_set(errbuf, errlen, "%s: unsupported key length %zu", path, n);
	/* Room for the digits, a newline, and one byte that reveals extra data. */
	char text[KEYS_HEX_MAX + 2];
	size_t len = 0;
	int rc = read_small(path, secret, text, 2 * n + 1, &len, errbuf, errlen);
	if (rc == 0)
		rc = check_hex_line(path, text, len, n, errbuf, errlen);
	if (rc == 0 && sodium_hex2bin(out, n, text, 2 * n, NULL, NULL, NULL) != 0)
		rc = err_set(errbuf, errlen, "%s:1: expected %zu hex digits", path, 2 * n);
	sodium_memzero(text, sizeof(text));
	return rc;
}

int keys_load_hex(const char *path, uint8_t *out, size_t n, char *errbuf, size_t errlen)
{
	return load_hex(path, false, out, n, errbuf, errlen);
}

int keys_load_secret_hex(const char *path, uint8_t *out, size_t n, char *errbuf, size_t errlen)
{
	return load_hex(path, true, out, n, errbuf, errlen);
}

int keys_store_hex(const char *path, const uint8_t *in, size_t n, mode_t mode, char *errbuf, size_t errlen)
{
	if (n == 0 || n > KEYS_BYTES_MAX)
		return err_set(errbuf, errlen, "%s: unsupported key length %zu", path, n);
	char text[KEYS_HEX_MAX + 2];
	sodium_bin2hex(text, sizeof(text), in, n);
	text[2 * n] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		sodium_memzero(text, sizeof(text));
		return err_set(errbuf, errlen, "create %s: %s", path, strerror(errno));
	}
	int rc = 0;
	/* fchmod: the umask must not decide who may read a key. */
	if (fchmod(fd, mode) < 0)
		rc = err_set(errbuf, errlen, "chmod %s: %s", path, strerror(errno));
	else if (fs_write_all(fd, text, 2 * n + 1) < 0)
		rc = err_set(errbuf, errlen, "write %s: %s", path, strerror(errno));
	else if (fsync(fd) < 0)
		rc = err_set(errbuf, errlen, "fsync %s: %s", path, strerror(errno));
	sodium_memzero(text, sizeof(text));
	if (close(fd) < 0 && rc == 0)
		rc = err_set(errbuf, errlen, "close %s: %s", path, strerror(errno));
	if (rc == 0)
		rc = fs_fsync_parent(path, errbuf, errlen);
	/* A half-written key file would block the next attempt forever. */
	if (rc < 0)
		unlink(path);
	return rc;
}

/* dir/name in a fresh string, refused past PATH_MAX before anything is
 * made. NULL with errbuf set. */
static char *key_path(const char *dir, const char *name, char *errbuf, size_t errlen)
{
	char *path = fs_path_join(dir, name);
	if (path == NULL) {
		err_set(errbuf, errlen, "%s/%s: out of memory", dir, name);
	} else if (strlen(path) >= PATH_MAX) {
		err_set(errbuf, errlen, "%s: path too long", path);
		free(path);
		path = NULL;
	}
	return path;
}

/* Creates dir (one level) 0755 if it is missing; an existing one must be a
 * directory. 0755, not 0700: anyone may verify a ledger with the public key
 * beside the secret, which its own mode (0600) protects; no other role sees
 * the directory at all (its mount namespace holds only its own key dir). */
static int ensure_key_dir(const char *dir, char *errbuf, size_t errlen)
{
	if (mkdir(dir, KEYS_DIR_MODE) == 0) {
		/* As for the files: the umask must not decide the mode. */
		if (chmod(dir, KEYS_DIR_MODE) < 0)
			return err_set(errbuf, errlen, "chmod %s: %s", dir, strerror(errno));
		return fs_fsync_parent(dir, errbuf, errlen);
	}
	if (errno != EEXIST)
		return err_set(errbuf, errlen, "mkdir %s: %s", dir, strerror(errno));
	struct stat st;
	if (stat(dir, &st) < 0)
		return err_set(errbuf, errlen, "stat %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(errbuf, errlen, "%s: not a directory", dir);
	return 0;
}

static int refuse_existing(const char *path, char *errbuf, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		return err_set(errbuf, errlen, "%s already exists; refusing to overwrite a key", path);
	if (errno != ENOENT)
		return err_set(errbuf, errlen, "stat %s: %s", path, strerror(errno));
	return 0;
}

static int generate_pair(const char *dir, const char *sk_path, const char *pk_path, char *errbuf, size_t errlen)
{
	if (sodium_init() < 0)
		return err_set(errbuf, errlen, "libsodium initialisation failed");
	if (ensure_key_dir(dir, errbuf, errlen) < 0 || refuse_existing(sk_path, errbuf, errlen) < 0 ||
	    refuse_existing(pk_path, errbuf, errlen) < 0)
		return -1;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	crypto_sign_keypair(pk, sk);
	int rc = keys_store_hex(sk_path, sk, sizeof(sk), KEYS_SECRET_MODE, errbuf, errlen);
	sodium_memzero(sk, sizeof(sk));
	if (rc == 0 && keys_store_hex(pk_path, pk, sizeof(pk), KEYS_PUBLIC_MODE, errbuf, errlen) < 0) {
		/* A secret key without its public half would be refused later anyway. */
		unlink(sk_path);
		rc = -1;
	}
	return rc;
}

int keys_generate_signal_pair(const char *dir, char *errbuf, size_t errlen)
{
	char *sk_path = key_path(dir, KEYS_SECRET_NAME, errbuf, errlen);
	char *pk_path = sk_path ? key_path(dir, KEYS_PUBLIC_NAME, errbuf, errlen) : NULL;
	int rc = pk_path ? generate_pair(dir, sk_path, pk_path, errbuf, errlen) : -1;
	free(sk_path);
	free(pk_path);
	return rc;
}

int keys_generate_token(const char *path, char *errbuf, size_t errlen)
{
	if (sodium_init() < 0)
		return err_set(errbuf, errlen, "libsodium initialisation failed");
	uint8_t key[KEYS_TOKEN_BYTES];
	randombytes_buf(key, sizeof(key));
	int rc = keys_store_hex(path, key, sizeof(key), KEYS_SECRET_MODE, errbuf, errlen);
	sodium_memzero(key, sizeof(key));
	return rc;
}

int keys_load_signal_secret(const char *path, uint8_t sk[64], char *errbuf, size_t errlen)
{
	if (keys_load_secret_hex(path, sk, crypto_sign_SECRETKEYBYTES, errbuf, errlen) < 0)
		return -1;
	if (sodium_init() < 0) {
		sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
		return err_set(errbuf, errlen, "libsodium initialisation failed");
	}
	/* crypto_sign_ed25519_sk_to_pk only copies the second half, so the
	 * public key is derived again from the seed and compared with it. */
	uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	crypto_sign_seed_keypair(pk, sk2, seed);
	bool match = sodium_memcmp(pk, sk + crypto_sign_SEEDBYTES, sizeof(pk)) == 0;
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk2, sizeof(sk2));
	if (!match) {
		sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
		return err_set(errbuf, errlen, "%s:1: corrupt secret key: its second half is not the public key of its seed",
			      path);
	}
	return 0;
}

int keys_load_signal_public(const char *path, uint8_t pk[32], char *errbuf, size_t errlen)
{
	if (keys_load_hex(path, pk, crypto_sign_PUBLICKEYBYTES, errbuf, errlen) < 0)
		return -1;
	if (sodium_init() < 0)
		return err_set(errbuf, errlen, "libsodium initialisation failed");
	/* Refuses small-order and non-canonical points, which no key pair yields. */
	if (!crypto_core_ed25519_is_valid_point(pk))
		return err_set(errbuf, errlen, "%s:1: not a valid Ed25519 public key", path);
	return 0;
}
