#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Throughput of contrib/topologies/multihost.conf on one machine, with wrk.

    python3 contrib/multihost/bench.py --binary build/mpbs-run [--duration 20]
        [--conns 64] [--threads 2] [--plain] [--json FILE] [--keep]

Run as root from the repository's top (`make bench-multihost`). It brings up
what `make test-multihost` does (contrib/multihost/run.py: the three-node
NATS cluster on loopback, nats-config, nats-init, the parts back, ab and
front), without the permission test and without any fault, then drives the
intermediary with `wrk -tT -cC -dS` and contrib/bench/post.lua (the requests
of `make bench`: keep-alive POSTs, each with its own body), waits until the
ledger holds every answered request, stops the parts in order and runs
`mpbs-run verify`. It reports:

* answered req/s: wrk's 204s over wrk's duration;
* confirmed/s: the ledger's confirmed records over the time from wrk's start
  to the last confirmation;
* confirmation latency as `make bench` measures it on one host
  (contrib/bench/run.py: the confirmed record's time minus the earliest
  START signal's time of the same operation, both from the ledger). Across
  hosts the earliest START is stamped on a provider's host after the
  artifact crossed NATS once, so this leaves out the first hop;
* 204 -> confirmed, estimated: the ledger has no time of the 204 answer (an
  operation id holds a random correlation the requester never sees), so
  wrk's Lua records, per 10 ms, how many requests it made: with keep-alive
  and no pipelining a connection's next request is made when its previous
  204 was read (contrib/multihost/post_times.lua); the k-th answer is set
  beside the k-th confirmation (FIFO order; the confirmations come in about the order of
  the answers). --plain runs post.lua alone, without this per-response hook.

The last line is `bench-multihost: answered=N req/s=R confirmed=M confirmed/s=C
verify=OK|FAIL`; exit 0 when every answered request was confirmed exactly once
and verify accepted the ledger.
"""

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load(name, path, extra_path=None):
    if extra_path:
        sys.path.insert(0, extra_path)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


mh = load("mh_run", os.path.join(HERE, "run.py"))
bench = load("bench_run", os.path.join(ROOT, "contrib", "bench", "run.py"), os.path.join(ROOT, "contrib", "bench"))
POST_LUA = os.path.join(ROOT, "contrib", "bench", "post.lua")
TIMES_LUA = os.path.join(HERE, "post_times.lua")


def log(msg):
    print(f"bench-multihost: {msg}", flush=True)


def run_wrk(url, a, tag):
    env = dict(os.environ, BENCH_MODE="keepalive", BENCH_TAG=tag, BENCH_RATE="0", BENCH_THREADS=str(a.threads),
               BENCH_POST_LUA=POST_LUA)
    cmd = ["wrk", f"-t{a.threads}", f"-c{a.conns}", f"-d{a.duration}s", "--timeout", "5s",
           "-s", POST_LUA if a.plain else TIMES_LUA, url]
    t0 = time.time_ns()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=a.duration + 60, check=False)
    t1 = time.time_ns()
    m = re.search(r"^BENCH_RESULT (\{.*\})$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise mh.Failure(f"wrk failed ({' '.join(cmd)}): rc {out.returncode}\n{out.stdout}\n{out.stderr}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["answered"] = r["requests"] - r["errors"]["status"]
    r["t_start_ns"], r["t_end_ns"] = t0, t1
    r["cmd"] = " ".join(cmd)
    times = []
    m = re.search(r"^MH_TIMES (.*)$", out.stdout, re.M)
    if m and m.group(1).strip():
        for item in m.group(1).split(","):
            b, n = item.split(":")
            # the bucket's middle, in ns
            times += [int(b) * 10**7 + 5 * 10**6] * int(n)
    # the first request of each connection answers nothing before it
    r["answered_times"] = sorted(times)[a.conns:]
    return r


def pct(vals):
    vals = sorted(vals)
    return {"n": len(vals), "p50_ms": bench.percentile(vals, 50), "p90_ms": bench.percentile(vals, 90),
            "p99_ms": bench.percentile(vals, 99), "max_ms": vals[-1] if vals else None}


def fmt(cl):
    if not cl or not cl["n"]:
        return "none"
    return (f"p50 {cl['p50_ms']:.0f} ms, p90 {cl['p90_ms']:.0f} ms, p99 {cl['p99_ms']:.0f} ms, "
            f"max {cl['max_ms']:.0f} ms (n={cl['n']})")


def ledger_bytes(ledger):
    d, base = os.path.split(ledger)
    try:
        return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.startswith(base))
    except OSError:
        return -1


def wait_settled(ledger, timeout=300, quiet_s=10.0):
    """Waits until the ledger's files stop growing for quiet_s (`ledger cat`
    of a few 100,000 operations takes 10 s or more: the counts are read
    once, after). Returns the seconds waited."""
    t0 = time.monotonic()
    last, last_change = -1, t0
    while time.monotonic() - t0 < timeout:
        n = ledger_bytes(ledger)
        if n != last:
            last, last_change = n, time.monotonic()
        elif time.monotonic() - last_change >= quiet_s:
            break
        time.sleep(0.5)
    return last_change - t0


def intermediary_requests(logpath):
    """The intermediary's own count, from its stop line (wrk does not count
    the requests in flight at its end)."""
    n = None
    for line in mh.tail(logpath, 100000):
        m = re.search(r"intermediary: info: stopped: (\d+) requests", line)
        if m:
            n = int(m.group(1))
    return n


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True, help="mpbs-run (build/mpbs-run)")
    ap.add_argument("--duration", type=int, default=20, help="seconds of wrk (default 20)")
    ap.add_argument("--conns", type=int, default=64, help="wrk connections, keep-alive (default 64)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--plain", action="store_true", help="post.lua alone: no per-response hook, no 204 times")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="passed to every mpbs-run command after the test's own (e.g. association.pending_max=262144)")
    ap.add_argument("--keep", action="store_true", help="leave build/multihost/ in place (it always is on failure)")
    a = ap.parse_args()
    a.binary = os.path.abspath(a.binary)
    a.permtest = a.binary            # mh.Test.prepare checks it is executable; not run here
    a.requests = 0
    a.connections = 0
    return a


def main():
    a = parse_args()
    if os.geteuid() != 0:
        print("bench-multihost: run as root (the host parts need it)", file=sys.stderr)
        return 2
    if not os.path.exists(mh.TOPOLOGY):
        print("bench-multihost: run from the repository's top", file=sys.stderr)
        return 2
    if not shutil.which("wrk"):
        print("bench-multihost: wrk is not installed (Debian: apt-get install wrk; contrib/bench/deps.sh)",
              file=sys.stderr)
        return 2
    test = mh.Test(a)
    for kv in a.set:
        test.sets += ["--set", kv]
    reasons, res = [], {}
    answered = confirmed = duplicates = 0
    try:
        test.prepare()
        test.start_cluster()
        test.nats_init()
        test.start_parts()
        url = f"http://{mh.LISTEN}{mh.PATH}"
        r = run_wrk(url, a, f"mh{os.getpid()}")
        answered = r["answered"]
        log(f"{r['cmd']}: {r['requests']} requests, {answered} answered 204 in {r['duration_us'] / 1e6:.1f} s: "
            f"{r['rps']:.0f} req/s; wrk latency p50 {r['latency_us']['p50'] / 1000:.1f} ms, "
            f"p99 {r['latency_us']['p99'] / 1000:.1f} ms; errors {r['errors']}")
        quiet = wait_settled(test.ledger)
        log(f"ledger: last grew {quiet:.1f} s after wrk's end")
        test.stop_parts()
        test.stop_cluster()
        im_requests = intermediary_requests(os.path.join(test.top, f"{mh.topology_hosts(mh.TOPOLOGY)[0]}.log"))
        led = bench.read_ledger(test.ledger)
        ct = sorted(led["confirmed_t"].values())
        confirmed = led["counts"].get("confirmed", 0)        # records, one per operation closed
        duplicates = confirmed - len(led["confirmed_t"])      # beyond the distinct operations
        last = ct[-1] if ct else r["t_start_ns"]
        span = (last - r["t_start_ns"]) / 1e9
        in_window = sum(1 for t in ct if t <= r["t_end_ns"])
        start_lat = bench.confirmation_latency(led)
        incomplete = led["counts"].get("incomplete", 0)
        distinct = len(led["confirmed_t"])
        lost = (im_requests - distinct) if im_requests is not None else None
        est = None
        # the k-th answer beside the k-th confirmation holds only when none
        # is missing
        if r["answered_times"] and lost == 0:
            k = min(len(r["answered_times"]), len(ct))
            est = pct([(ct[i] - r["answered_times"][i]) / 1e6 for i in range(k)])
        res = {"wrk": {x: r[x] for x in ("cmd", "requests", "answered", "rps", "duration_us", "latency_us",
                                         "errors")},
               "confirmed": confirmed, "duplicates": duplicates,
               "last_confirmation_after_wrk_s": (last - r["t_end_ns"]) / 1e9,
               "confirmed_per_s": confirmed / span if span > 0 else None,
               "confirmed_in_wrk_window": in_window,
               "confirmed_per_s_in_wrk_window": in_window / ((r["t_end_ns"] - r["t_start_ns"]) / 1e9),
               "latency_start_to_confirmed": start_lat, "latency_204_to_confirmed_est": est,
               "intermediary_requests": im_requests, "incomplete_records": incomplete, "not_confirmed": lost,
               "sets": a.set, "parts": test.results["parts"]}
        log(f"answered {answered} 204 in {r['duration_us'] / 1e6:.1f} s: {r['rps']:.0f} req/s")
        log(f"confirmed {confirmed} ({duplicates} duplicates); the last {res['last_confirmation_after_wrk_s']:.1f} s "
            f"after wrk's end: {res['confirmed_per_s']:.0f} confirmed/s over the {span:.1f} s from wrk's start "
            f"({in_window} within wrk's {(r['t_end_ns'] - r['t_start_ns']) / 1e9:.1f} s: "
            f"{res['confirmed_per_s_in_wrk_window']:.0f}/s)")
        log(f"intermediary: {im_requests} requests; ledger: {distinct} distinct confirmed, {incomplete} incomplete "
            f"records: {lost} requests not confirmed")
        log(f"confirmation latency, first START -> confirmed (as make bench): {fmt(start_lat)}")
        if est is not None:
            log(f"confirmation latency, 204 -> confirmed (k-th answer to k-th confirmation, 10 ms buckets): "
                f"{fmt(est)}")
        elif not a.plain:
            log("confirmation latency, 204 -> confirmed: not estimated (requests not confirmed)")
        v = mh.run([a.binary, "verify", test.ledger, "--topology", mh.TOPOLOGY, "--no-progress"] + test.sets,
                   "verify", check=False)
        test.results["verify"] = v.returncode == 0
        if confirmed - duplicates < max(answered, im_requests or 0):
            reasons.append(f"{confirmed - duplicates} distinct confirmed, {im_requests} requests answered "
                           f"({answered} counted by wrk), {incomplete} incomplete records")
        if duplicates:
            reasons.append(f"{duplicates} duplicate confirmations")
    except mh.Failure as e:
        reasons.append(str(e))
    except KeyboardInterrupt:
        reasons.append("interrupted")
    finally:
        test.started.stop_all()
    reasons += mh.closing_reasons(test)
    if a.json and res:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1)
    if reasons:
        for why in reasons:
            log(f"FAIL: {why}")
        for name in mh.PARTS:
            path = os.path.join(test.top, f"{name}.log")
            if os.path.exists(path):
                print(f"---- tail of {path}")
                sys.stdout.writelines(mh.tail(path, 30))
    elif not a.keep:
        mh.clear_append_only(test.top)
        shutil.rmtree(test.top, ignore_errors=True)
    rps = res.get("wrk", {}).get("rps", 0) if res else 0
    cps = (res.get("confirmed_per_s") or 0) if res else 0
    print(f"bench-multihost: answered={answered} req/s={rps:.0f} confirmed={confirmed} confirmed/s={cps:.0f} "
          f"verify={'OK' if test.results['verify'] else 'FAIL'}", flush=True)
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
