#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The crash fault matrix, run FAULT_RUNS times (root): the e2e_crash
# suite (tests/e2e/test_crash.c), each run with a fresh random seed, then a
# summary of the "figures" lines its tests print. `make faults` calls it.
#   contrib/faults.sh TESTS_BINARY [RUNS] [LOG]
# Exit status 0 only if every run of every test passed.
set -uo pipefail

tests=${1:?usage: faults.sh TESTS_BINARY [RUNS] [LOG]}
runs=${2:-5}
log=${3:-build/faults.log}
: >"$log"
failed_runs=0
for ((i = 1; i <= runs; i++)); do
	echo "== run $i of $runs"
	# Only the suite's own lines: --verbose lists every other test as skipped.
	"$tests" --jobs 1 --verbose --timeout 300 --filter 'e2e_crash/*' 2>&1 |
		grep -vE '^\[(SKIP|====\] Running)' | tee -a "$log" | grep -E '^\[(PASS|FAIL)\]|figures|verify said|second instance|Assertion|^\[----\]   [^ ]'
	rc=${PIPESTATUS[0]}
	((rc == 0)) || failed_runs=$((failed_runs + 1))
done

# Sums over the key=value pairs of the figures lines.
awk -v runs="$runs" -v failed="$failed_runs" '
function field(name,    i, kv) {
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == name)
			return kv[2]
	}
	return ""
}
/figures kills_under_load:/ {
	k++; kills += field("kills"); answered += field("answered"); unconfirmed += field("unconfirmed")
	dup += field("duplicates"); unknown += field("unknown")
	r = field("recovery_max_ms") + 0; if (r > rmax) rmax = r
	rsum += field("recovery_mean_ms") * field("kills"); n_rec += field("kills")
	if (field("exit") != 0) unclean++
	if (field("verify") != 0) verify_failed++
	if (field("verify_before_second") != 0) verify_before_failed++
	if (field("budget_exhausted") != 0) budget++
	if (field("second_instance") != 75) second_ok++
	for (i = 1; i <= NF; i++) if ($i ~ /^kills_[A-Za-z]+=/) { split($i, kv, "="); per[kv[1]] += kv[2] }
}
/figures whole_tree_kill_then_restart:/ {
	w++; a1 += field("run1_answered"); u1 += field("run1_unconfirmed"); a2 += field("run2_answered")
	u2 += field("run2_unconfirmed"); wdup += field("duplicates")
	if (field("exit") != 0) wunclean++
	if (field("verify") != 0) wverify++
}
END {
	printf "== fault matrix: %d runs, %d with a failing test\n", runs, failed
	printf "kills_under_load (%d runs): kills %d (", k, kills
	sep = ""; for (p in per) { printf "%s%s %d", sep, substr(p, 7), per[p]; sep = ", " }
	printf "), answered %d, answered but unconfirmed %d, unknown outcome %d, duplicate confirmations %d\n",
		answered, unconfirmed, unknown, dup
	printf "  recovery (kill until the role runs again): max %d ms, mean %d ms; unclean stops %d, verify failed %d " \
		"(before the second run started: %d), budget exhausted %d, second instance not refused (status != 75) %d\n",
		rmax, n_rec ? rsum / n_rec : 0, unclean, verify_failed, verify_before_failed + 0, budget, second_ok
	printf "whole_tree_kill_then_restart (%d runs): run 1 answered %d, of them unconfirmed %d (lost with the killed " \
		"tree: reported, not asserted); run 2 answered %d, of them unconfirmed %d; duplicate confirmations %d; " \
		"unclean stops %d, verify failed %d\n", w, a1, u1, a2, u2, wdup, wunclean, wverify
}' "$log" | tee "$log.summary"
((failed_runs == 0))
