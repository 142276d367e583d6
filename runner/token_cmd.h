/* SPDX-License-Identifier: Apache-2.0 */
/* Provider token tools for operators and tests (docs/PROVIDER-POLICY.md):
 *   mpbs-run token --key FILE --context CTX --body FILE [--ttl SECONDS] [--nonce N]
 *   mpbs-run keygen --token FILE */
#ifndef MPBS_TOKEN_CMD_H
#define MPBS_TOKEN_CMD_H

/* argv[0] is "token". Prints one token and a newline on stdout. --body -
 * reads the body from stdin; the nonce defaults to 16 random bytes in hex,
 * the ttl to 60 seconds (1..86400). Returns 0, 1 on an error, 2 on usage. */
int token_cmd(int argc, char **argv);

/* Writes 32 random bytes as hex + "\n" to path, mode 0600, refusing to
 * overwrite an existing file. Returns 0 or 1. */
int keygen_token_cmd(const char *path);

#endif
