#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Example action handler for provider C (contrib/topologies/hardened.conf).
# Runs inside C's sandbox with the body on stdin and MPBS_OPERATION_ID,
# MPBS_CONTEXT, MPBS_PROVIDER set. Its exit status is folded into C's
# COMPLETE boundary value; its output goes to C's own log (capped).
set -eu
digest=$(sha256sum | cut -c1-16)
echo "operation ${MPBS_OPERATION_ID} (${MPBS_CONTEXT}): body sha256 ${digest}…"
