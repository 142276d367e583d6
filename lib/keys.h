/* SPDX-License-Identifier: Apache-2.0 */
/* Key files. A provider's signal key pair lives in its key directory:
 *   signal.key  128 lowercase hex digits + "\n" (libsodium's 64-byte Ed25519
 *               secret key: seed || public key), mode 0600
 *   signal.pub  64 lowercase hex digits + "\n", mode 0644 (the directory 0755)
 * Token keys (a provider's require_token) are 64 hex digits + "\n" (32 bytes), mode 0600.
 * Loaders accept exactly one line of hex, optionally followed by a single
 * "\n"; errors name the file and line: "PATH:1: expected 64 hex digits". */
#ifndef MPBS_KEYS_H
#define MPBS_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KEYS_SECRET_NAME "signal.key"
#define KEYS_PUBLIC_NAME "signal.pub"
/* Modes of what keygen and `keys init` write: a secret is its owner's
 * alone; the public key and its directory are readable by anyone, so any
 * user can verify a ledger. */
#define KEYS_SECRET_MODE 0600
#define KEYS_PUBLIC_MODE 0644
#define KEYS_DIR_MODE 0755

/* Reads exactly n bytes stored as hex in path. Returns 0, or -1 with errbuf set. */
int keys_load_hex(const char *path, uint8_t *out, size_t n, char *errbuf, size_t errlen);

/* The same for a secret (signal.key, a token key): also refused, naming the
 * file and its mode, when any group or other permission bit is set. */
int keys_load_secret_hex(const char *path, uint8_t *out, size_t n, char *errbuf, size_t errlen);

/* Writes n bytes as hex + "\n" to path with the given mode, created
 * exclusively (an existing file is never overwritten), fsynced.
 * Returns 0, or -1 with errbuf set. */
int keys_store_hex(const char *path, const uint8_t *in, size_t n, mode_t mode, char *errbuf, size_t errlen);

/* Generates an Ed25519 pair into dir (created 0755 if missing) as
 * signal.key / signal.pub. Refuses if either file exists.
 * Returns 0, or -1 with errbuf set. */
int keys_generate_signal_pair(const char *dir, char *errbuf, size_t errlen);

/* Writes a fresh token key (32 random bytes) to path, KEYS_SECRET_MODE,
 * never over an existing file. Returns 0, or -1 with errbuf set. */
#define KEYS_TOKEN_BYTES 32
int keys_generate_token(const char *path, char *errbuf, size_t errlen);

/* Secret key must be 64 bytes whose second half is the public key of its
 * seed; a file that fails this is reported as corrupt. */
int keys_load_signal_secret(const char *path, uint8_t sk[64], char *errbuf, size_t errlen);
int keys_load_signal_public(const char *path, uint8_t pk[32], char *errbuf, size_t errlen);

#endif
