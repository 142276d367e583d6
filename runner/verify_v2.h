/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run verify` on a version 2 ledger: its segment files found (the
 * live one and its sealed siblings LEDGER.NNNNNN) or listed, checked in
 * parallel, joined in order (lib/ledger2_verify.h), reported per segment
 * and in total, with a progress bar on a terminal. */
#ifndef MPBS_VERIFY_V2_H
#define MPBS_VERIFY_V2_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/ledger2_verify.h"

struct verify_v2_args {
	char **files;        /* the segment files, or the LEDGER whose files are found */
	size_t n_files;
	bool find_siblings;  /* files[0] is a LEDGER: its files are found (ledger2_files.h) */
	unsigned jobs;       /* 0: one per CPU */
	int progress;        /* 1 on, 0 off, -1 on a terminal for a long run */
	bool json;
	const struct l2v_opts *opts;
	bool have_key;              /* the association's public key is in opts */
	const char *key_error;      /* set by the key lookup when a key could not be read */
};

/* The lines both versions print after OK: the confirm rule checked, and
 * each head kept elsewhere found. */
void verify_print_rule(size_t n_providers, unsigned confirm_k, const struct ledger_head *expect, size_t n_expect);

/* Returns verify's exit status (0, 1 tampered, 2 cannot read). */
int verify_v2(const struct verify_v2_args *a);

#endif
