/* `mpbs-run verify LEDGER --topology FILE | --public-keys DIR`: checks a
 * ledger offline, trusting nothing but the providers' public keys. */
#ifndef MPBS_VERIFY_CMD_H
#define MPBS_VERIFY_CMD_H

/* argv[0] is "verify". Returns 0 if the ledger holds, 1 if not, 2 on usage
 * errors, 78 on a bad topology. */
int verify_cmd(int argc, char **argv);

#endif
