#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make bench: mpbs-run against an nginx `return 204` ceiling, on loopback.

One run does, in order:
  1. pairs   -- nginx and mpbs-run (contrib/topologies/reference.conf, temporary
                ledger and keys) driven in turn by wrk with contrib/bench/post.lua
                at each connection count, keep-alive and one connection per
                request, for several alternations; req/s, p50/p99, ratio.
  2. paced   -- mpbs-run at fractions (default 1/2, 1/4, 1/10) of its best
                keep-alive rate, for the confirmation latency at those loads.
  3. drain   -- SIGTERM, then `confirmed` records in the ledger against the 204s
                answered; confirmation latency (confirmed.t - first START t);
                ledger bytes per confirmed operation (all segment files) and
                segments; `mpbs-run verify --jobs N` over it: records/s.
  4. scaling -- generated topologies with 1..64 providers: startup (exec to
                READY on --ready-fd, median), throughput, peak RSS of every role,
                ledger records/s, confirmations.
  5. cpu     -- contrib/bench/cpu.py's measurement (schedstat before and after a
                fixed keep-alive load): CPU µs per confirmed operation per role.
Then every target of contrib/bench/targets.py, PASS or FAIL against the
figures of this one run (exit status 4 when one fails; a target whose phase
did not run is listed as not measured).
Results: a table on stdout, build/bench/results.json, build/bench/*.csv and
docs/bench-scaling.png (gnuplot).  Needs root (mpbs-run does), wrk, nginx,
gnuplot: contrib/bench/deps.sh installs them.  Python standard library and
contrib/ledger/mpbs_ledger.py (which decodes the ledger).
"""

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "contrib", "ledger"))
import mpbs_ledger  # noqa: E402 -- the ledger reader beside the bench
from targets import evaluate_targets, fmt_target_value  # noqa: E402 -- the limits and their check


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- helpers

def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def percentile(sorted_vals, p):
    """Nearest-rank percentile of an already sorted list (None if empty)."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_port(port, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise BenchError(f"nothing listens on 127.0.0.1:{port} after {timeout_s}s")


def snapshot_binary(binary, tmp):
    """Copies a build tree's binary into tmp/bin with what makes it read
    tmp/policy: its seccomp lists, and the build-tree marker beside it
    (runner/plan.c reads EXE/../policy only where that marker is; a binary
    without it reads the installed policy directory). Returns the copy."""
    build = os.path.dirname(os.path.abspath(binary))
    os.makedirs(os.path.join(tmp, "bin"))
    snapshot = os.path.join(tmp, "bin", "mpbs-run")
    shutil.copy2(binary, snapshot)
    marker = os.path.join(build, ".mpbs-build-tree")
    if os.path.exists(marker):
        shutil.copy2(marker, os.path.join(tmp, "bin", ".mpbs-build-tree"))
    shutil.copytree(os.path.join(build, "..", "policy"), os.path.join(tmp, "policy"))
    return snapshot


def remove_ledger_tree(path):
    """mpbs-run marks its ledger append-only (FS_APPEND_FL): clear it first."""
    if not os.path.exists(path):
        return
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            fp = os.path.join(dirpath, f)
            if not os.path.islink(fp):
                subprocess.run(["chattr", "-a", fp], stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(path, ignore_errors=True)


def machine_info():
    info = {"nproc": os.cpu_count(), "kernel": platform.release()}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                info["ram_mib"] = int(line.split()[1]) // 1024
    git = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                         text=True, check=False)
    info["git"] = git.stdout.strip() or "?"
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    info["commit"] = head.stdout.strip() or "?"
    for tool, cmd in (("wrk", ["wrk", "-v"]), ("nginx", ["nginx", "-v"])):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            info[tool] = (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            info[tool] = "?"
    return info


# ---------------------------------------------------------------- wrk

def run_wrk(url, conns, seconds, mode, tag, threads, rate=0, timeout_s=None):
    env = dict(os.environ, BENCH_MODE=mode, BENCH_TAG=tag, BENCH_RATE=str(rate),
               BENCH_THREADS=str(threads))
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "5s",
           "-s", os.path.join(HERE, "post.lua"), url]
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[0]
    t0 = time.time_ns()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True,
                         timeout=timeout_s or seconds + 60, check=False)
    t1 = time.time_ns()
    m = re.search(r"^BENCH_RESULT (\{.*\})$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise BenchError(f"wrk failed ({' '.join(cmd)}): rc {out.returncode}\n{out.stdout}\n{out.stderr}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["answered"] = r["requests"] - r["errors"]["status"]
    r["t_start_ns"], r["t_end_ns"] = t0, t1
    # The 1-minute load average before the run: on a shared 2-core machine a
    # value well above what the previous run left says something else ran.
    r.update(conns=conns, mode=mode, tag=tag, rate_target=rate, loadavg_before=float(load_before))
    return r


# ---------------------------------------------------------------- nginx

class Nginx:
    def __init__(self, tmp, port):
        self.prefix = os.path.join(tmp, "nginx")
        self.port = port
        self.proc = None

    def start(self):
        os.makedirs(self.prefix, exist_ok=True)
        os.chmod(self.prefix, 0o755)
        with open(os.path.join(HERE, "nginx.conf.in")) as f:
            conf = f.read().replace("@PREFIX@", self.prefix).replace("@LISTEN@", f"127.0.0.1:{self.port}")
        path = os.path.join(self.prefix, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(["nginx", "-p", self.prefix, "-c", path],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, 10)
        log(f"nginx pid {self.proc.pid} on 127.0.0.1:{self.port}")

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        pid = self.proc.pid
        pidfile = os.path.join(self.prefix, "nginx.pid")
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                pid = int(f.read().strip() or pid)
        if pid != self.proc.pid:
            raise BenchError(f"nginx pid file says {pid}, started {self.proc.pid}")
        os.kill(pid, signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self.proc.wait()


# ---------------------------------------------------------------- mpbs-run

class Mpbs:
    """One mpbs-run supervisor, started with --ready-fd, stopped with SIGTERM."""

    def __init__(self, binary, topology, sets, logpath, ledger):
        self.binary, self.topology, self.sets = binary, topology, sets
        self.logpath, self.ledger = logpath, ledger
        self.proc = None
        self.startup_ms = None

    def start(self, timeout_s=30):
        rfd, wfd = os.pipe()
        cmd = [self.binary, "--ready-fd", str(wfd)]
        for s in self.sets:
            cmd += ["--set", s]
        cmd.append(self.topology)
        logf = open(self.logpath, "ab")
        t0 = time.monotonic_ns()
        self.proc = subprocess.Popen(cmd, pass_fds=(wfd,), stdout=logf, stderr=subprocess.STDOUT)
        os.close(wfd)
        logf.close()
        data = b""
        try:
            deadline = time.monotonic() + timeout_s
            while b"READY=1" not in data and time.monotonic() < deadline:
                chunk = os.read(rfd, 64)
                if not chunk:
                    break
                data += chunk
            t1 = time.monotonic_ns()
        finally:
            os.close(rfd)
        if b"READY=1" not in data:
            self.kill()
            raise BenchError(f"mpbs-run never wrote READY=1 ({' '.join(cmd)}); log {self.logpath}:\n"
                             + self.log_tail())
        self.startup_ms = (t1 - t0) / 1e6
        return self.startup_ms

    def children(self):
        """Host pids of the roles (children of the supervisor) with their comm."""
        pid = self.proc.pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            return []
        return kids

    def role_memory(self):
        out = []
        for kid in self.children():
            st = {}
            try:
                with open(f"/proc/{kid}/status") as f:
                    for line in f:
                        k, _, v = line.partition(":")
                        st[k] = v.strip()
            except OSError:
                continue
            kib = lambda k: int(st.get(k, "0 kB").split()[0])  # noqa: E731
            out.append({"pid": kid, "role": st.get("Name", "?"), "hwm_kib": kib("VmHWM"),
                        "rss_kib": kib("VmRSS"), "anon_kib": kib("RssAnon")})
        return out

    def stop(self, timeout_s=60):
        """SIGTERM (graceful drain); returns (exit status, seconds to exit)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise BenchError(f"mpbs-run (pid {self.proc.pid}) did not stop {timeout_s}s after SIGTERM; "
                             f"log {self.logpath}:\n" + self.log_tail())
        return rc, time.monotonic() - t0

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, n=15):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def intermediary_requests(self):
        """The intermediary's own count, from its last 'stopped:' line."""
        return self.stop_counters().get("requests")

    def stop_counters(self):
        """Counters the roles log when they stop (last run in the log wins):
        intermediary requests / artifacts written / dropped on a full channel,
        association confirmed / incomplete / rejected / pending."""
        pats = {
            "requests": r"intermediary: (?:info: )?stopped: (\d+) requests",
            "artifacts_written": r"intermediary: (?:info: )?stopped: .* (\d+) artifacts written",
            "artifacts_dropped_full": r"intermediary: (?:info: )?stopped: .* (\d+) dropped on a full channel",
            "assoc_confirmed": r"association: (?:info: )?stopped: (\d+) confirmed",
            "assoc_pending_at_stop": r"association: (?:info: )?stopped: .* (\d+) pending",
        }
        found = {}
        with open(self.logpath, errors="replace") as f:
            for line in f:
                if ": stopped:" not in line:
                    continue
                for key, pat in pats.items():
                    m = re.search(pat, line)
                    if m:
                        found[key] = int(m.group(1))
        return found


# ---------------------------------------------------------------- ledger

def ledger_files(path):
    """The ledger's segment files that exist: the live one and LEDGER.NNNNNN."""
    if not os.path.isdir(os.path.dirname(path)):
        return []
    return [f for f in mpbs_ledger.segment_files([path]) if os.path.exists(f)]


def ledger_bytes(path):
    """Bytes of all the ledger's segment files."""
    return sum(os.path.getsize(f) for f in ledger_files(path))


def read_ledger(path):
    """Counts by type (a signals record counts its signals, a confirmed record
    its entries: the ledger's record numbering), per op the earliest START t
    and the confirmed t, and the segment files with their bytes. Decodes
    with contrib/ledger/mpbs_ledger.py and checks nothing (verify does)."""
    counts, first_start, confirmed_t = {}, {}, {}
    segments, nbytes = 0, 0
    try:
        for ev in mpbs_ledger.events([path]):
            kind = ev[0]
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "signal":
                if ev[3] == mpbs_ledger.START:
                    op, t = ev[2], ev[4]
                    if op not in first_start or t < first_start[op]:
                        first_start[op] = t
            elif kind == "confirmed":
                confirmed_t[ev[1]] = ev[3]
            elif kind == "segment":
                segments += 1
                nbytes += ev[3]
    except mpbs_ledger.CannotRead as e:
        raise BenchError(f"ledger {path}: {e}") from e
    except mpbs_ledger.FileFail as e:
        raise BenchError(f"ledger {path}: {e.line()}") from e
    confirmed = counts.get("confirmed", 0)
    return {"records": sum(counts.values()), "counts": counts, "first_start": first_start,
            "confirmed_t": confirmed_t, "segments": segments, "bytes": nbytes,
            "bytes_per_confirmed": nbytes / confirmed if confirmed else None}


def verify_rate(binary, ledger, topology, sets, jobs):
    """`mpbs-run verify LEDGER --jobs N` over the whole ledger, timed from
    outside: records/s and confirmed ops/s from its OK line and the wall time."""
    cmd = [binary, "verify", ledger, "--topology", topology, "--jobs", str(jobs)]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - t0
    m = re.search(r"^OK: (\d+) records, (\d+) confirmed", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise BenchError(f"verify failed ({' '.join(cmd)}): exit {out.returncode}\n{out.stdout}{out.stderr}")
    records, confirmed = int(m.group(1)), int(m.group(2))
    return {"jobs": jobs, "seconds": wall, "records": records, "confirmed": confirmed,
            "records_per_s": records / wall, "confirmed_per_s": confirmed / wall,
            "ok_line": m.group(0)}


def confirmation_latency(ledger, window=None):
    """confirmed.t - earliest START t, in ms, optionally only for ops whose
    first START falls in window=(t0_ns, t1_ns)."""
    lat = []
    for op, tc in ledger["confirmed_t"].items():
        ts = ledger["first_start"].get(op)
        if ts is None:
            continue
        if window and not (window[0] <= ts <= window[1]):
            continue
        lat.append((tc - ts) / 1e6)
    lat.sort()
    return {"n": len(lat), "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90),
            "p99_ms": percentile(lat, 99), "max_ms": lat[-1] if lat else None}


# ---------------------------------------------------------------- phases

def phase_pairs(a, tmp, nginx, results):
    ledger_dir = os.path.join(tmp, "ref-ledger")
    keys = os.path.join(tmp, "ref-keys")
    sets = [f"runner.uid_base={a.uid_base}", f"intermediary.listen=127.0.0.1:{a.mpbs_port}",
            f"association.ledger={ledger_dir}/ledger"]
    if a.segment_size:
        sets.append(f"association.segment_size={a.segment_size}")
    sets += a.set
    if not a.system_keys:
        sets += [f"provider.{p}.keys={keys}/{p}" for p in ("A", "B", "C")]
        sets.append(f"association.keys={tmp}/ref-association-keys")
    mp = Mpbs(a.binary, os.path.join(ROOT, "contrib/topologies/reference.conf"), sets,
              os.path.join(a.out, "mpbs-reference.log"), f"{ledger_dir}/ledger")
    if os.path.exists(mp.logpath):
        os.unlink(mp.logpath)
    startup = mp.start()
    log(f"mpbs-run pid {mp.proc.pid} ready in {startup:.1f} ms on 127.0.0.1:{a.mpbs_port}")
    results["reference_startup_ms"] = startup
    runs = []
    urls = {"nginx": f"http://127.0.0.1:{a.nginx_port}/nuvl", "mpbs": f"http://127.0.0.1:{a.mpbs_port}/nuvl"}
    try:
        for rnd in range(1, a.rounds + 1):
            for mode in a.modes:
                for conns in a.conns:
                    for server in ("nginx", "mpbs"):
                        tag = f"r{rnd}-{mode}-c{conns}-{server}-{os.getpid()}"
                        r = run_wrk(urls[server], conns, a.duration, mode, tag, a.threads)
                        r.update(server=server, round=rnd)
                        runs.append(r)
                        log(f"round {rnd} {mode:9s} c{conns:<3d} {server:5s} {r['rps']:9.0f} req/s "
                            f"p50 {r['latency_us']['p50'] / 1000:.2f} ms p99 {r['latency_us']['p99'] / 1000:.2f} ms "
                            f"errors {r['errors']}")
                        if mp.proc.poll() is not None:
                            raise BenchError(f"mpbs-run exited ({mp.proc.returncode}) during {tag}:\n"
                                             + mp.log_tail())
                        time.sleep(a.pause)
        results["reference_memory"] = mp.role_memory()
        best = max((r["rps"] for r in runs if r["server"] == "mpbs" and r["mode"] == "keepalive"), default=0)
        paced = []
        targets = [(f, int(best * f)) for f in a.paced_fraction if f > 0 and best > 0]
        targets += [(None, rate) for rate in a.paced_rates]
        for frac, rate in targets:
            r = run_wrk(urls["mpbs"], a.paced_conns, a.duration, "keepalive",
                        f"paced{frac}-{os.getpid()}", a.threads, rate=rate)
            r.update(server="mpbs", round=0, best_rps=best, fraction=frac)
            paced.append(r)
            log(f"paced at {rate}/s ({frac} x {best:.0f}): achieved {r['rps']:.0f} req/s" if frac else
                f"paced at {rate}/s: achieved {r['rps']:.0f} req/s")
            time.sleep(max(a.pause, 2.0))  # let the confirmations of this rate land in its window
        results["reference_memory_after_paced"] = mp.role_memory()
    except BaseException:
        mp.kill()
        raise
    rc, stop_s = mp.stop(a.stop_timeout)
    led = read_ledger(mp.ledger)
    mp_runs = [r for r in runs if r["server"] == "mpbs"] + paced
    answered = sum(r["answered"] for r in mp_runs)
    counters = mp.stop_counters()
    im_count = counters.get("requests")
    confirmed = led["counts"].get("confirmed", 0)
    results["pairs"] = runs
    results["paced"] = paced
    results["drain"] = {
        "exit_status": rc, "stop_seconds": stop_s, "ledger_records": led["records"],
        "ledger_counts": led["counts"], "ledger_segments": led["segments"], "ledger_bytes": led["bytes"],
        "ledger_bytes_per_confirmed": led["bytes_per_confirmed"], "confirmed": confirmed, "wrk_answered_204": answered,
        "intermediary_requests": im_count, "role_counters": counters,
        "max_in_flight_uncounted": sum(r["conns"] for r in mp_runs),
        "all_confirmed": im_count is not None and confirmed == im_count and confirmed >= answered,
    }
    results["confirmation_latency_all"] = confirmation_latency(led)
    results["verify"] = verify_rate(a.binary, mp.ledger, mp.topology, mp.sets, a.verify_jobs)
    log(f"verify --jobs {a.verify_jobs}: {results['verify']['records_per_s']:.0f} records/s, "
        f"{results['verify']['confirmed_per_s']:.0f} confirmed ops/s")
    # Each mpbs run owns the operations whose first START falls between its
    # start and the start of the next mpbs run: the nginx run (or pause) in
    # between gives a lagging pipeline time to finish the run's work.
    for i, r in enumerate(mp_runs):
        end = mp_runs[i + 1]["t_start_ns"] if i + 1 < len(mp_runs) else r["t_end_ns"] + 60 * 10**9
        cl = confirmation_latency(led, (r["t_start_ns"], end))
        r["confirmed_in_window"] = cl["n"]
        r["confirmed_rps"] = cl["n"] / (r["duration_us"] / 1e6)
        r["confirmed_fraction"] = cl["n"] / r["answered"] if r["answered"] else None
        r["confirmation_latency"] = cl
    if not a.keep:
        remove_ledger_tree(ledger_dir)


def write_scale_topology(tmp, n, port, uid_base):
    d = os.path.join(tmp, f"scale-{n}")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    lines = ["; generated by contrib/bench/run.py", "[runner]", f"uid_base = {uid_base}", "",
             "[intermediary]", f"listen = 127.0.0.1:{port}", "",
             "[association]", f"ledger = {d}/ledger/ledger", "confirm = all", ""]
    for i in range(n):
        name = f"P{i:02d}"
        with open(os.path.join(d, f"{name}.policy"), "w") as f:
            f.write("[policy]\naccept_context = CTX_ALPHA\nreceive_body = yes\n")
        lines += [f"[provider {name}]", f"policy = {name}.policy", f"keys = {d}/keys/{name}",
                  "receive_body = yes", "demo_keys = yes", ""]
    topo = os.path.join(d, "topology.conf")
    with open(topo, "w") as f:
        f.write("\n".join(lines))
    return d, topo


# runner.uid_base of the scaling and cpu phases past --uid-base: each run
# takes uid_base .. uid_base + roles, and the phases run one after another,
# yet a role's uid left by a slow exit must not be the next phase's
SCALE_UID_OFFSET, CPU_UID_OFFSET = 1000, 2000


def phase_scaling(a, tmp, results):
    rows = []
    for n in a.providers:
        d, topo = write_scale_topology(tmp, n, a.scale_port, a.uid_base + SCALE_UID_OFFSET)
        logpath = os.path.join(a.out, f"mpbs-scale-{n}.log")
        if os.path.exists(logpath):
            os.unlink(logpath)
        ledger = f"{d}/ledger/ledger"
        startups = []
        for rep in range(a.startup_reps + 1):  # rep 0 generates the demo keys
            remove_ledger_tree(os.path.join(d, "ledger"))
            mp = Mpbs(a.binary, topo, [], logpath, ledger)
            ms = mp.start()
            mp.stop(a.stop_timeout)
            if rep > 0:
                startups.append(ms)
        remove_ledger_tree(os.path.join(d, "ledger"))
        mp = Mpbs(a.binary, topo, [], logpath, ledger)
        mp.start()
        try:
            r = run_wrk(f"http://127.0.0.1:{a.scale_port}/nuvl", a.scale_conns, a.scale_duration,
                        "keepalive", f"scale{n}-{os.getpid()}", a.threads)
            mem = mp.role_memory()
        except BaseException:
            mp.kill()
            raise
        rc, stop_s = mp.stop(a.stop_timeout)
        led = read_ledger(ledger)
        counters = mp.stop_counters()
        im = counters.get("requests")
        prov = [m["hwm_kib"] for m in mem if m["role"].startswith("mpbs-p-")]
        one = lambda name: next((m["hwm_kib"] for m in mem if m["role"] == name), None)  # noqa: E731
        row = {
            "providers": n, "startup_ms_median": statistics.median(startups),
            "startup_ms_all": startups, "rps": r["rps"], "p50_ms": r["latency_us"]["p50"] / 1000,
            "p99_ms": r["latency_us"]["p99"] / 1000, "errors": r["errors"],
            "answered": r["answered"], "intermediary_requests": im,
            "confirmed": led["counts"].get("confirmed", 0), "incomplete": led["counts"].get("incomplete", 0),
            "rejected": led["counts"].get("rejected", 0), "ledger_records": led["records"],
            "ledger_records_per_s": led["records"] / (r["duration_us"] / 1e6),
            "confirmed_rps": led["counts"].get("confirmed", 0) / (r["duration_us"] / 1e6),
            "counters": counters,
            "hwm_kib_intermediary": one("mpbs-int"), "hwm_kib_association": one("mpbs-assoc"),
            "hwm_kib_provider_max": max(prov) if prov else None, "roles_seen": len(mem),
            "ledger_segments": led["segments"], "ledger_bytes_per_confirmed": led["bytes_per_confirmed"],
            "memory": mem, "exit_status": rc, "stop_seconds": stop_s,
            "confirmation_latency": confirmation_latency(led),
        }
        rows.append(row)
        if rc != 0:
            log(f"scale {n}: mpbs-run exited {rc} after SIGTERM; "
                f"log {logpath}:\n" + mp.log_tail(4))
        log(f"scale {n:2d} providers: startup {row['startup_ms_median']:.1f} ms, {row['rps']:.0f} req/s, "
            f"confirmed {row['confirmed']}/{im}, {row['ledger_records_per_s']:.0f} records/s")
        if not a.keep:
            remove_ledger_tree(os.path.join(d, "ledger"))
    results["scaling"] = rows


def phase_cpu(a, tmp, results):
    """cpu.py's measurement on the reference topology, a.cpu_runs fresh starts."""
    import cpu  # noqa: E402 -- imports this module as `run` (main() registers it)
    d = os.path.join(tmp, "cpu")
    os.makedirs(d)
    os.chmod(d, 0o755)
    ca = argparse.Namespace(binary=a.binary, topology=os.path.join(ROOT, "contrib/topologies/reference.conf"),
                            ledger_v1=False, out=a.out, duration=a.cpu_duration, conns=64, threads=a.threads,
                            rate=0, runs=a.cpu_runs, segment_size=a.segment_size, port=a.cpu_port, settle=0.5,
                            quiet_ms=5, uid_base=a.uid_base + CPU_UID_OFFSET)
    runs = cpu.measure(ca, d)
    results["cpu"] = {"load": f"wrk -t{ca.threads} -c{ca.conns} -d{ca.duration}s keep-alive", "runs": runs,
                      "median_us_per_op": cpu.median_per_role(runs)}


# ---------------------------------------------------------------- output

def fmt(v, spec=".0f"):
    return "-" if v is None else format(v, spec)


def report(results, out):
    lines = []
    p = lines.append
    info = results["machine"]
    p(f"machine: {info.get('cpu')}, {info['nproc']} cpus, {info.get('ram_mib')} MiB, kernel {info['kernel']}")
    p(f"source: {info.get('commit')} ({info.get('git')}), binary sha256 {info.get('binary_sha256', '?')[:16]}; {info.get('wrk')}; "
      f"{info.get('nginx')}")
    p(f"params: {results['params']}")
    if results.get("pair_summary"):
        p("")
        p("| mode | conns | nginx req/s | mpbs req/s | ratio | mpbs confirmed ops/s | nginx p50/p99 ms | "
          "mpbs p50/p99 ms | mpbs errors |")
        p("|---|---|---|---|---|---|---|---|---|")
        for s in results["pair_summary"]:
            p(f"| {s['mode']} | {s['conns']} | {s['nginx_rps']:.0f} | {s['mpbs_rps']:.0f} | {s['ratio']:.3f} "
              f"| {s['mpbs_confirmed_rps']:.0f} | {s['nginx_p50_ms']:.2f} / {s['nginx_p99_ms']:.2f} | {s['mpbs_p50_ms']:.2f} / {s['mpbs_p99_ms']:.2f} "
              f"| {s['mpbs_errors']} |")
        p("(req/s: mean over rounds; ratio: mean of per-round mpbs/nginx; latency: median over rounds)")
    if results.get("drain"):
        dr = results["drain"]
        p("")
        p(f"drain: exit {dr['exit_status']} after {dr['stop_seconds']:.2f}s; ledger {dr['ledger_records']} records "
          f"{dr['ledger_counts']}")
        p(f"confirmed {dr['confirmed']}, intermediary requests {dr['intermediary_requests']}, "
          f"wrk-counted 204s {dr['wrk_answered_204']} (up to {dr['max_in_flight_uncounted']} in flight at wrk's "
          f"stop are answered but not counted by wrk) -> all confirmed: {dr['all_confirmed']}")
        p(f"ledger: {dr['ledger_bytes']} bytes in {dr['ledger_segments']} segment(s), "
          f"{fmt(dr['ledger_bytes_per_confirmed'], '.0f')} bytes per confirmed operation")
        v = results["verify"]
        p(f"verify --jobs {v['jobs']} over it: {v['records_per_s']:.0f} records/s, {v['confirmed_per_s']:.0f} "
          f"confirmed ops/s ({v['records']} records in {v['seconds']:.2f} s)")
        cl = results["confirmation_latency_all"]
        p(f"confirmation latency (confirmed.t - first START t), all {cl['n']} ops: p50 {fmt(cl['p50_ms'], '.2f')} "
          f"p90 {fmt(cl['p90_ms'], '.2f')} p99 {fmt(cl['p99_ms'], '.2f')} max {fmt(cl['max_ms'], '.2f')} ms")
        p(f"role counters at stop: {dr['role_counters']}")
        p("")
        p("| mpbs run | answered req/s | confirmed ops/s | confirmed / answered | confirm p50 | p90 | p99 | max (ms) |")
        p("|---|---|---|---|---|---|---|---|")
        for r in [r for r in results["pairs"] if r["server"] == "mpbs"] + results.get("paced", []):
            cl = r["confirmation_latency"]
            if r.get("fraction"):
                name = f"paced {r['fraction']} x best ({r['rate_target']}/s)"
            elif r["rate_target"]:
                name = f"paced {r['rate_target']}/s"
            else:
                name = f"r{r['round']} {r['mode']} c{r['conns']}"
            p(f"| {name} | {r['rps']:.0f} | {r['confirmed_rps']:.0f} | {fmt(r['confirmed_fraction'], '.1%')} | "
              f"{fmt(cl['p50_ms'], '.2f')} | "
              f"{fmt(cl['p90_ms'], '.2f')} | {fmt(cl['p99_ms'], '.2f')} | {fmt(cl['max_ms'], '.2f')} |")
        p("peak RSS under load (VmHWM), reference topology: " +
          ", ".join(f"{m['role']} {m['hwm_kib']} KiB" for m in results.get("reference_memory_after_paced", [])))
    if results.get("scaling"):
        p("")
        p("| providers | startup ms (median) | req/s (64 conns, keep-alive) | confirmed ops/s | "
          "confirmed / requests (artifacts dropped) | ledger records/s | ledger bytes/op (segments) | "
          "confirm p99 ms | peak RSS int / assoc / max provider KiB | exit after SIGTERM (s) |")
        p("|---|---|---|---|---|---|---|---|---|---|")
        for r in results["scaling"]:
            p(f"| {r['providers']} | {r['startup_ms_median']:.1f} | {r['rps']:.0f} | {r['confirmed_rps']:.0f} | "
              f"{r['confirmed']} / {r['intermediary_requests']} ({r['counters'].get('artifacts_dropped_full')}) | "
              f"{r['ledger_records_per_s']:.0f} | {fmt(r['ledger_bytes_per_confirmed'])} ({r['ledger_segments']}) | "
              f"{fmt(r['confirmation_latency']['p99_ms'], '.2f')} | {r['hwm_kib_intermediary']} / "
              f"{r['hwm_kib_association']} / {r['hwm_kib_provider_max']} | {r['exit_status']} "
              f"({r['stop_seconds']:.1f}) |")
    if results.get("cpu"):
        c = results["cpu"]
        p("")
        p(f"CPU µs per confirmed operation ({c['load']}, median of {len(c['runs'])} run(s)): " + ", ".join(
            f"{k} {v:.2f}" for k, v in c["median_us_per_op"].items()))
    if results.get("targets"):
        p("")
        p(f"targets (source {info.get('commit')}, {info.get('git')}):")
        p("")
        p("| target | this run | limit | verdict |")
        p("|---|---|---|---|")
        for t in results["targets"]:
            p(f"| {t['target']} | {fmt_target_value(t)} | {t['limit']} | {t['verdict']} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)


def summarize_pairs(results):
    rows = []
    runs = results.get("pairs", [])
    keys = sorted({(r["mode"], r["conns"]) for r in runs}, key=lambda k: (k[0] != "keepalive", k[1]))
    for mode, conns in keys:
        sel = lambda srv: [r for r in runs if r["server"] == srv and r["mode"] == mode and r["conns"] == conns]  # noqa
        ng, mp = sel("nginx"), sel("mpbs")
        ratios = [m["rps"] / n["rps"] for n, m in zip(ng, mp) if n["rps"] > 0]
        med = lambda rs, q: statistics.median(r["latency_us"][q] for r in rs) / 1000  # noqa: E731
        rows.append({
            "mode": mode, "conns": conns, "rounds": len(mp),
            "nginx_rps": statistics.mean(r["rps"] for r in ng), "mpbs_rps": statistics.mean(r["rps"] for r in mp),
            "ratio": statistics.mean(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "nginx_p50_ms": med(ng, "p50"), "nginx_p99_ms": med(ng, "p99"),
            "mpbs_p50_ms": med(mp, "p50"), "mpbs_p99_ms": med(mp, "p99"),
            "mpbs_errors": sum(sum(r["errors"].values()) for r in mp),
            "mpbs_confirmed_rps": statistics.mean(r["confirmed_rps"] for r in mp),
            "nginx_errors": sum(sum(r["errors"].values()) for r in ng),
        })
    results["pair_summary"] = rows


def write_csv(results, out):
    with open(os.path.join(out, "pairs.csv"), "w") as f:
        f.write("round,mode,conns,server,rps,p50_us,p99_us,requests,answered,errors_total,confirmed_rps,"
                "confirm_p50_ms,confirm_p99_ms\n")
        for r in results.get("pairs", []) + results.get("paced", []):
            cl = r.get("confirmation_latency", {})
            f.write(f"{r['round']},{r['mode']},{r['conns']},{r['server']},{r['rps']:.1f},{r['latency_us']['p50']},"
                    f"{r['latency_us']['p99']},{r['requests']},{r['answered']},{sum(r['errors'].values())},"
                    f"{fmt(r.get('confirmed_rps'), '.1f')},{fmt(cl.get('p50_ms'), '.2f')},"
                    f"{fmt(cl.get('p99_ms'), '.2f')}\n")
    with open(os.path.join(out, "scaling.csv"), "w") as f:
        f.write("providers,startup_ms,rps,confirmed_rps,confirmed,intermediary_requests,ledger_records_per_s,"
                "hwm_kib_intermediary,hwm_kib_association,hwm_kib_provider_max\n")
        for r in results.get("scaling", []):
            f.write(f"{r['providers']},{r['startup_ms_median']:.2f},{r['rps']:.1f},{r['confirmed_rps']:.1f},"
                    f"{r['confirmed']},"
                    f"{r['intermediary_requests']},{r['ledger_records_per_s']:.1f},{r['hwm_kib_intermediary']},"
                    f"{r['hwm_kib_association']},{r['hwm_kib_provider_max']}\n")


def plot(results, out, png):
    if not results.get("scaling"):
        return
    dat = os.path.join(out, "scaling.dat")
    with open(dat, "w") as f:
        f.write("# providers startup_ms rps confirmed_rps\n")
        for r in results["scaling"]:
            f.write(f"{r['providers']} {r['startup_ms_median']:.3f} {r['rps']:.1f} {r['confirmed_rps']:.1f}\n")
    if not shutil.which("gnuplot"):
        log("gnuplot not found: no plot (contrib/bench/deps.sh installs it)")
        return
    os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    subprocess.run(["gnuplot", "-e", f"datafile='{dat}'; outfile='{png}'",
                    os.path.join(HERE, "scaling.gp")], check=True)
    log(f"plot: {png}")


# ---------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build/mpbs-run"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build/bench"))
    ap.add_argument("--plot", default=os.path.join(ROOT, "docs/bench-scaling.png"))
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run in the pairs (default 10)")
    ap.add_argument("--rounds", type=int, default=3, help="alternations nginx/mpbs (default 3)")
    ap.add_argument("--conns", default="16,64", help="connection counts (default 16,64)")
    ap.add_argument("--modes", default="keepalive,close", help="keepalive and/or close")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between wrk runs")
    ap.add_argument("--paced-fraction", default="0.5,0.25,0.1",
                    help="paced runs at these fractions of mpbs's best keep-alive rate ('' to skip)")
    ap.add_argument("--paced-conns", type=int, default=64)
    ap.add_argument("--paced-rates", default="", help="extra paced runs at these absolute req/s, e.g. 4000,8000")
    ap.add_argument("--providers", default="1,3,8,16,32,64", help="scaling provider counts ('' to skip)")
    ap.add_argument("--scale-duration", type=int, default=5, help="seconds of wrk per provider count")
    ap.add_argument("--scale-conns", type=int, default=64)
    ap.add_argument("--startup-reps", type=int, default=5, help="timed starts per provider count (median)")
    ap.add_argument("--nginx-port", type=int, default=18480)
    ap.add_argument("--mpbs-port", type=int, default=18481)
    ap.add_argument("--scale-port", type=int, default=18482)
    ap.add_argument("--cpu-port", type=int, default=18483)
    ap.add_argument("--uid-base", type=int, default=200000,
                    help="runner.uid_base of the reference runs; the scaling and cpu phases take uids "
                         f"{SCALE_UID_OFFSET} and {CPU_UID_OFFSET} past it (default 200000)")
    ap.add_argument("--cpu-runs", type=int, default=3, help="fresh starts of the cpu phase, median (0 to skip)")
    ap.add_argument("--cpu-duration", type=int, default=8, help="seconds of wrk per cpu run (default 8)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a topology setting for the reference runs (repeatable), as mpbs-run --set")
    ap.add_argument("--segment-size", default="",
                    help="association.segment_size of the reference runs (default: the topology's)")
    ap.add_argument("--verify-jobs", type=int, default=os.cpu_count() or 1,
                    help="--jobs of the timed `mpbs-run verify` (default: the cpu count)")
    ap.add_argument("--stop-timeout", type=int, default=120, help="seconds mpbs-run may take to drain")
    ap.add_argument("--skip-pairs", action="store_true")
    ap.add_argument("--system-keys", action="store_true",
                    help="use reference.conf's own key dirs instead of temporary ones")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory and ledgers")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 2 s runs, 1 round, providers 1,3,8 and 64 (one timed start), "
                         "one 2 s cpu run")
    a = ap.parse_args()
    if a.quick:
        a.duration, a.rounds, a.scale_duration, a.startup_reps, a.pause = 2, 1, 2, 1, 0.3
        a.cpu_runs, a.cpu_duration = min(a.cpu_runs, 1), 2
        if a.providers == "1,3,8,16,32,64":
            a.providers = "1,3,8,64"
    a.conns = [int(x) for x in a.conns.split(",") if x]
    a.modes = [m for m in a.modes.split(",") if m]
    a.providers = [int(x) for x in a.providers.split(",") if x]
    a.paced_fraction = [float(x) for x in a.paced_fraction.split(",") if x]
    a.paced_rates = [int(x) for x in a.paced_rates.split(",") if x]
    return a


def preflight(a):
    if os.geteuid() != 0:
        raise BenchError("mpbs-run needs root: run `sudo make bench`")
    if not os.access(a.binary, os.X_OK):
        raise BenchError(f"{a.binary} missing: run `make` first")
    for tool in ("wrk", "nginx", "chattr"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found: run contrib/bench/deps.sh")
    for port in (a.nginx_port, a.mpbs_port, a.scale_port, a.cpu_port):
        if not port_is_free(port):
            raise BenchError(f"127.0.0.1:{port} is in use (choose another with --*-port)")


def main():
    sys.modules.setdefault("run", sys.modules[__name__])  # cpu.py's `import run` finds this one
    a = parse_args()
    try:
        preflight(a)
    except BenchError as e:
        log(str(e))
        return 2
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="mpbs-bench-")
    os.chmod(tmp, 0o755)  # provider uids must traverse to their key dirs
    # Bench a private copy: a rebuild of build/mpbs-run during the run
    # would otherwise mix two binaries into one set of figures.
    snapshot = snapshot_binary(a.binary, tmp)
    a.binary = snapshot
    with open(snapshot, "rb") as f:
        binary_sha = hashlib.sha256(f.read()).hexdigest()
    results = {"machine": dict(machine_info(), binary_sha256=binary_sha), "params": {
        k: getattr(a, k) for k in ("duration", "rounds", "conns", "modes", "threads", "paced_fraction", "paced_rates",
                                   "providers", "scale_duration", "scale_conns", "startup_reps", "cpu_runs",
                                   "cpu_duration")}}
    nginx = Nginx(tmp, a.nginx_port)
    status = 0
    try:
        if not a.skip_pairs:
            nginx.start()
            try:
                phase_pairs(a, tmp, nginx, results)
            finally:
                nginx.stop()
            summarize_pairs(results)
        if a.providers:
            phase_scaling(a, tmp, results)
        if a.cpu_runs:
            phase_cpu(a, tmp, results)
    except (BenchError, subprocess.SubprocessError, OSError, ValueError, KeyError) as e:
        log(f"FAILED: {e}")
        results["failure"] = str(e)
        status = 1
    finally:
        nginx.stop()
        if a.keep:
            log(f"kept {tmp}")
        else:
            remove_ledger_tree(tmp)
    failed = [t["target"] for t in evaluate_targets(results) if t["verdict"] == "FAIL"]
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    write_csv(results, a.out)
    if status == 0:
        report(results, a.out)
        plot(results, a.out, a.plot)
        if "drain" in results and not results["drain"]["all_confirmed"]:
            log("NOT every answered request was confirmed (see drain line)")
            status = 3
        elif failed:
            log(f"{len(failed)} target(s) not met: " + "; ".join(failed))
            status = 4
    log(f"results: {a.out}/results.json, pairs.csv, scaling.csv, summary.md")
    return status


if __name__ == "__main__":
    sys.exit(main())
