#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Example evaluator for provider B (contrib/topologies/hardened.conf).
# Runs inside B's sandbox: the artifact's fields are in MPBS_* variables and
# the body is on stdin. Exit 0 to initiate, anything else to decline.
# This one declines bodies over 4 KiB and bodies that mention "deny"; any
# failure of its own (grep killed, unreadable input) declines too.
[ "${MPBS_BODY_LENGTH:-0}" -le 4096 ] || exit 1
grep -q deny
case $? in
1) exit 0 ;; # no "deny" in the body
*) exit 1 ;; # found, or grep failed
esac
