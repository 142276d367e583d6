# SPDX-License-Identifier: Apache-2.0
"""The targets make bench checks, and their check against one run's results
(contrib/bench/run.py's results dict): the limits live here only."""

# mpbs-run req/s over nginx's in the same round: (mode, connections) -> at least
RATIO_TARGETS = {("keepalive", 64): 0.4, ("keepalive", 16): 0.4, ("close", 64): 0.6}
# CPU µs per confirmed operation, at most: the intermediary, each provider, the association
CPU_TARGET_US = {"mpbs-int": 6.0, "provider": 3.0, "mpbs-assoc": 8.0}
CONFIRM_P99_TARGET_MS = 3.0  # confirmation p99 at half the best keep-alive rate, at most
CONFIRM_P99_FRACTION = 0.5
RSS_TARGET_KIB = 4096  # peak RSS (VmHWM) of every role, at most, with any provider count


def cpu_target_us(role):
    """The CPU target of a role by its comm (mpbs-p-NAME: a provider), None for the supervisor."""
    return CPU_TARGET_US["provider"] if role.startswith("mpbs-p-") else CPU_TARGET_US.get(role)


def evaluate_targets(results):
    """[{target, value, limit, unit, verdict}] for every target above, from
    one run's figures (also stored as results["targets"]); verdict PASS,
    FAIL, or 'not measured' when the phase that gives it did not run."""
    rows = []

    def add(name, value, limit, ok, unit=""):
        verdict = "not measured" if value is None else ("PASS" if ok(value) else "FAIL")
        rows.append({"target": name, "value": value, "limit": limit, "unit": unit, "verdict": verdict})

    summary = {(s["mode"], s["conns"]): s for s in results.get("pair_summary", [])}
    for (mode, conns), limit in RATIO_TARGETS.items():
        s = summary.get((mode, conns))
        name = f"{'keep-alive' if mode == 'keepalive' else 'one connection per request'} c{conns} / nginx"
        add(name, s and s["ratio"], f">= {limit}", lambda v, lim=limit: v >= lim, "x")
    cpu_med = results.get("cpu", {}).get("median_us_per_op", {})
    for role in ("mpbs-int", "mpbs-assoc"):
        add(f"CPU per confirmed op, {role}", cpu_med.get(role), f"<= {CPU_TARGET_US[role]:g}",
            lambda v, lim=CPU_TARGET_US[role]: v <= lim, "µs")
    providers = sorted(k for k in cpu_med if k.startswith("mpbs-p-"))
    for role in providers or ["mpbs-p-*"]:
        add(f"CPU per confirmed op, {role}", cpu_med.get(role), f"<= {CPU_TARGET_US['provider']:g}",
            lambda v: v <= CPU_TARGET_US["provider"], "µs")
    half = [r for r in results.get("paced", []) if r.get("fraction") == CONFIRM_P99_FRACTION]
    add(f"confirmation p99 at {CONFIRM_P99_FRACTION} x best rate", half[0]["confirmation_latency"]["p99_ms"] if half
        else None, f"<= {CONFIRM_P99_TARGET_MS:g}", lambda v: v <= CONFIRM_P99_TARGET_MS, "ms")
    peaks = {}  # (where, role) -> KiB
    for m in results.get("reference_memory_after_paced", []):
        peaks[("reference", m["role"])] = m["hwm_kib"]
    for row in results.get("scaling", []):
        for m in row["memory"]:
            role = "mpbs-p-*" if m["role"].startswith("mpbs-p-") else m["role"]
            n = row["providers"]
            key = (f"{n} provider{'' if n == 1 else 's'}", role)
            peaks[key] = max(peaks.get(key, 0), m["hwm_kib"])
    for (where, role), kib in peaks.items():
        add(f"peak RSS, {role}, {where}", kib, f"<= {RSS_TARGET_KIB}", lambda v: v <= RSS_TARGET_KIB, "KiB")
    if not any(row["providers"] == 64 for row in results.get("scaling", [])):
        add("peak RSS, mpbs-assoc, 64 providers", None, f"<= {RSS_TARGET_KIB}", None, "KiB")
    if "drain" in results:
        dr = results["drain"]
        add("confirmed / requests, reference run", dr["confirmed"] / dr["intermediary_requests"]
            if dr["intermediary_requests"] else None, "100% (and every wrk-counted 204)",
            lambda v: v == 1 and dr["all_confirmed"], "")
    else:
        add("confirmed / requests, reference run", None, "100%", None)
    for row in results.get("scaling", []):
        req = row["intermediary_requests"]
        add(f"confirmed / requests, {row['providers']} provider{'' if row['providers'] == 1 else 's'}", row["confirmed"] / req if req else None, "100%",
            lambda v: v == 1, "")
    results["targets"] = rows
    return rows


def fmt_target_value(row):
    v, unit = row["value"], row["unit"]
    if v is None:
        return "-"
    if unit == "KiB":
        return f"{v} KiB"
    if unit == "":
        return f"{v:.2%}"
    return f"{v:.3f}" if unit == "x" else f"{v:.2f} {unit}"
