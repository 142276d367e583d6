#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make bench-cpu: CPU time of each role per confirmed operation.

Starts mpbs-run on contrib/topologies/reference.conf (3 providers, temporary
ledger and keys), reads the CPU time of every role process (the sum of
/proc/PID/task/*/schedstat's first field, nanoseconds on a CPU, over the
role's threads and its descendants), drives a fixed load with wrk and
contrib/bench/post.lua (keep-alive, 64 connections by default), waits until
the pipeline is quiet again, reads the CPU times again, stops the run
(SIGTERM) and divides each role's CPU time by the operations confirmed, the
association's own count (checked against the ledger). --runs fresh starts,
median reported. Output: a table on stdout and build/bench/cpu.json.

The targets per role are targets.py's CPU_TARGET_US (make bench runs this
measurement too and reports them with its other targets).
Needs root (mpbs-run does) and wrk (contrib/bench/deps.sh).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402 -- the bench's helpers: Mpbs, run_wrk, snapshot_binary
from targets import cpu_target_us  # noqa: E402

def task_ns(pid):
    """Nanoseconds on a CPU of every thread of pid (schedstat's first field)."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that just exited
    return total


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def role_cpu(mp):
    """{role name (the role's comm: mpbs-int, mpbs-assoc, mpbs-p-NAME): ns},
    each role with its threads and descendants, and the supervisor itself."""
    out = {"supervisor": task_ns(mp.proc.pid)}
    for kid in mp.children():
        name = comm(kid)
        out[name] = out.get(name, 0) + task_ns(kid) + sum(task_ns(d) for d in descendants(kid))
    return out


def wait_quiet(mp, quiet_ns, settle_s, timeout_s):
    """Waits until all roles together use less than quiet_ns of CPU in settle_s
    (the confirmations of the load have landed); returns the seconds waited."""
    t0 = time.monotonic()
    last = sum(role_cpu(mp).values())
    while time.monotonic() - t0 < timeout_s:
        time.sleep(settle_s)
        now = sum(role_cpu(mp).values())
        if now - last < quiet_ns:
            break
        last = now
    return time.monotonic() - t0


def one_run(a, tmp, i):
    d = os.path.join(tmp, f"run{i}")
    os.makedirs(d)
    os.chmod(d, 0o755)
    ledger = os.path.join(d, "ledger", "ledger")
    sets = [f"runner.uid_base={a.uid_base}", f"intermediary.listen=127.0.0.1:{a.port}", f"association.ledger={ledger}",
            f"association.keys={d}/association-keys"]
    sets += [f"provider.{p}.keys={tmp}/keys/{p}" for p in ("A", "B", "C")]
    if a.segment_size:
        sets.append(f"association.segment_size={a.segment_size}")
    logpath = os.path.join(a.out, f"mpbs-cpu-{i}.log")
    if os.path.exists(logpath):
        os.unlink(logpath)
    mp = bench.Mpbs(a.binary, a.topology, sets, logpath, ledger)
    mp.start()
    try:
        wait_quiet(mp, a.quiet_ms * 10**6, a.settle, 10)
        before = role_cpu(mp)
        r = bench.run_wrk(f"http://127.0.0.1:{a.port}/nuvl", a.conns, a.duration, "keepalive",
                          f"cpu{i}-{os.getpid()}", a.threads, rate=a.rate)
        waited = wait_quiet(mp, a.quiet_ms * 10**6, a.settle, 30)
        after = role_cpu(mp)
    except BaseException:
        mp.kill()
        raise
    rc, _stop_s = mp.stop()
    counters = mp.stop_counters()
    confirmed = counters.get("assoc_confirmed")
    if a.ledger_v1:
        # an older binary's JSON lines ledger (a baseline): its confirmations
        # counted by its own stop line, no bytes per operation
        led = {"bytes_per_confirmed": None, "segments": None}
        ledger_confirmed = confirmed
    else:
        led = bench.read_ledger(ledger)
        ledger_confirmed = led["counts"].get("confirmed", 0)
    if confirmed is None:
        confirmed = ledger_confirmed
    if rc != 0 or confirmed != ledger_confirmed or not confirmed:
        raise bench.BenchError(f"run {i}: exit {rc}, association counted {counters.get('assoc_confirmed')} "
                               f"confirmed, the ledger {ledger_confirmed}; log {logpath}")
    cpu_ns = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    bench.remove_ledger_tree(d)
    return {"run": i, "rps": r["rps"], "answered": r["answered"], "errors": r["errors"], "confirmed": confirmed,
            "quiet_after_s": waited, "cpu_ns": cpu_ns,
            "us_per_op": {k: v / 1000 / confirmed for k, v in cpu_ns.items()},
            "ledger_bytes_per_confirmed": led["bytes_per_confirmed"], "ledger_segments": led["segments"]}


def measure(a, tmp):
    """a.runs fresh starts of the reference topology under tmp (its own
    directory: the provider keys live in tmp/keys); returns the runs."""
    runs = []
    for i in range(1, a.runs + 1):
        runs.append(one_run(a, tmp, i))
        bench.log(f"cpu run {i}: {runs[-1]['confirmed']} confirmed, " + ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(runs[-1]["us_per_op"].items())) + " µs/op")
    return runs


def role_order(runs):
    return sorted(runs[0]["us_per_op"], key=lambda k: (k != "mpbs-int", k != "mpbs-assoc", k != "supervisor", k))


def median_per_role(runs):
    """{role: median over the runs of its CPU µs per confirmed operation}."""
    return {k: statistics.median(r["us_per_op"][k] for r in runs) for k in role_order(runs)}


def report(runs, a):
    roles = role_order(runs)
    med = median_per_role(runs)
    lines = [f"load: wrk -t{a.threads} -c{a.conns} -d{a.duration}s keep-alive"
             + (f" paced at {a.rate}/s" if a.rate else "") + f", {len(runs)} run(s), median",
             "", "| role | CPU µs per confirmed op | " + " | ".join(f"run {r['run']}" for r in runs) + " |",
             "|---|---|" + "---|" * len(runs)]
    for k in roles:
        lines.append(f"| {k} | {med[k]:.2f} | " + " | ".join(f"{r['us_per_op'][k]:.2f}" for r in runs) + " |")
    total = [sum(r["us_per_op"].values()) for r in runs]
    lines.append(f"| all | {statistics.median(total):.2f} | " + " | ".join(f"{t:.2f}" for t in total) + " |")
    lines.append("")
    lines.append("confirmed ops per run: " + ", ".join(f"{r['confirmed']} ({r['rps']:.0f} req/s)" for r in runs)
                 + "; ledger bytes/op: " + ", ".join("-" if r["ledger_bytes_per_confirmed"] is None
                                                     else f"{r['ledger_bytes_per_confirmed']:.0f}" for r in runs))
    for k in roles:
        target = cpu_target_us(k)
        if target is not None:
            lines.append(f"{k}: {med[k]:.2f} µs per confirmed operation (target <= {target:g}: "
                         + ("PASS" if med[k] <= target else "FAIL") + ")")
    print("\n".join(lines), flush=True)
    return med


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(bench.ROOT, "build/mpbs-run"))
    ap.add_argument("--topology", default=os.path.join(bench.ROOT, "contrib/topologies/reference.conf"),
                    help="the reference topology (an older binary needs its own tree's)")
    ap.add_argument("--ledger-v1", action="store_true",
                    help="the binary writes ledger version 1 (a baseline): confirmations from its stop line")
    ap.add_argument("--out", default=os.path.join(bench.ROOT, "build/bench"))
    ap.add_argument("--duration", type=int, default=10, help="seconds of wrk per run (default 10)")
    ap.add_argument("--conns", type=int, default=64, help="keep-alive connections (default 64)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--rate", type=int, default=0, help="req/s to pace at (default 0: as fast as it goes)")
    ap.add_argument("--runs", type=int, default=3, help="fresh starts, median reported (default 3)")
    ap.add_argument("--segment-size", default="", help="association.segment_size (default: the topology's)")
    ap.add_argument("--port", type=int, default=18483)
    ap.add_argument("--uid-base", type=int, default=250000, help="runner.uid_base of the runs (default 250000)")
    ap.add_argument("--settle", type=float, default=0.5, help="seconds per quiet check (default 0.5)")
    ap.add_argument("--quiet-ms", type=float, default=5,
                    help="all roles under this many ms of CPU per --settle: quiet (default 5)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        bench.log("mpbs-run needs root: run `sudo make bench-cpu`")
        return 2
    if not shutil.which("wrk"):
        bench.log("wrk not found: run contrib/bench/deps.sh")
        return 2
    if not bench.port_is_free(a.port):
        bench.log(f"127.0.0.1:{a.port} is in use (--port)")
        return 2
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="mpbs-cpu-")
    os.chmod(tmp, 0o755)  # provider uids must traverse to their key dirs
    a.binary = bench.snapshot_binary(a.binary, tmp)
    try:
        runs = measure(a, tmp)
    except (bench.BenchError, OSError, subprocess.SubprocessError) as e:
        bench.log(f"FAILED: {e}")
        return 1
    finally:
        bench.remove_ledger_tree(tmp)
    med = report(runs, a)
    with open(os.path.join(a.out, "cpu.json"), "w") as f:
        json.dump({"machine": bench.machine_info(), "params": vars(a), "median_us_per_op": med, "runs": runs},
                  f, indent=1)
    bench.log(f"results: {a.out}/cpu.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
