/* SPDX-License-Identifier: Apache-2.0 */
/* Provider token tools for operators and tests (docs/PROVIDER-POLICY.md):
 *   mpbs-run token --key FILE --context CTX --body FILE [--ttl SECONDS] [--nonce N] */
#ifndef MPBS_TOKEN_CMD_H
#define MPBS_TOKEN_CMD_H

/* argv[0] is "token". Prints one token and a newline on stdout. --body -
 * reads the body from stdin; the nonce defaults to 16 random bytes in hex,
 * the ttl to 60 seconds (1..86400). Returns 0 (also after --help), 1 on an error, 2 on usage. */
int token_cmd(int argc, char **argv);

#endif
