/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run keygen DIR | keygen --token FILE`: a provider's signal key pair
 * or token key, written by hand (a run writes missing demo keys itself). */
#ifndef MPBS_KEYGEN_CMD_H
#define MPBS_KEYGEN_CMD_H

/* argv[0] is "keygen". Refuses to overwrite a key. Returns 0, 1 when the
 * key cannot be written, 2 on a bad command line. */
int keygen_cmd(int argc, char **argv);

#endif
