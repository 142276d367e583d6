#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Test evaluator (tests/e2e/test_authority.c): the body says how to answer.
#   yes → initiate (exit 0)   no → decline (exit 1)
#   crash → die by SIGKILL    slow → outlive evaluator_timeout
# Anything else declines.
body=$(cat)
case $body in
yes) exit 0 ;;
no) exit 1 ;;
crash) kill -KILL $$ ;;
slow) sleep 5; exit 0 ;;
*) exit 2 ;;
esac
