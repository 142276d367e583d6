/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run verify LEDGER (--topology FILE [--set K=V]... | --public-keys DIR)
 * [--association-key FILE] [--expect-head SEQ:HASH]...`: checks a ledger
 * offline, trusting nothing but the public keys and the heads given
 * (docs/VERIFY.md says what that proves and what it cannot). */
#ifndef MPBS_VERIFY_CMD_H
#define MPBS_VERIFY_CMD_H

/* argv[0] is "verify". Returns 0 if the ledger holds, 1 if it does not (it
 * was read and something in it is wrong), 2 if something could not be read
 * (the ledger, a public key) or on a bad command line, 78 on a bad
 * topology. */
int verify_cmd(int argc, char **argv);

#endif
