#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Reads the logs of a `make check-valgrind` run (one per supervisor, with its
# roles' reports) and fails on any memory error or definite/indirect leak.
# Prints how many process exits valgrind checked, roles counted apart (they
# are pid 1 in their own pid namespace, hence "==1==").
set -eu
dir=${1:?usage: check-logs.sh DIR}
logs=$(find "$dir" -name 'vg.*.log' | sort)
[ -n "$logs" ] || { echo "check-valgrind: no valgrind log in $dir" >&2; exit 1; }
# shellcheck disable=SC2086
exits=$(cat $logs | grep -c 'ERROR SUMMARY:' || true)
# shellcheck disable=SC2086
roles=$(cat $logs | grep -c '^==1== ERROR SUMMARY:' || true)
bad=0
for f in $logs; do
	if grep 'ERROR SUMMARY:' "$f" | grep -qv 'ERROR SUMMARY: 0 errors'; then
		bad=$((bad + 1))
		echo "== $f" >&2
		grep -v -e '^==[0-9]*== *$' "$f" | grep -A 24 -E 'Invalid|uninitialised|definitely lost in|indirectly lost in|Syscall param|Mismatched|overlap' >&2 || true
	fi
done
echo "check-valgrind: $(echo "$logs" | wc -l) supervisor runs, $exits process exits checked ($roles of them roles), $bad runs with errors or leaks"
[ "$exits" -gt 0 ] && [ "$roles" -gt 0 ] && [ "$bad" -eq 0 ]
