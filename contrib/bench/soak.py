#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Soak: the roles' memory over millions of operations.

The association's memory must stay flat over 10 M operations.

Starts mpbs-run on contrib/topologies/reference.conf (3 providers, confirm =
all) with a temporary ledger and temporary demo keys, drives it with wrk and
contrib/bench/post.lua (distinct bodies, keep-alive) in runs of --chunk
seconds until --ops requests were answered, and samples every role's VmRSS,
VmHWM, RssAnon and RssFile (/proc/PID/status) every --interval seconds. Then
SIGTERM (graceful drain) and the association's own count of confirmations.

Each sample's operation count is estimated from the ledger's size, all its
segment files (records per operation are constant under a steady load: N
STARTs, N COMPLETEs, one confirmation and the checkpoints), scaled so the
last sample equals the confirmations counted at the drain. Output:
build/bench/soak.csv (one row per sample and role), build/bench/soak.json,
and on stdout the first, middle and last RSS of each role and the
least-squares slope of RSS against operations (KiB per million operations),
over all samples and over the second half.

Needs root (mpbs-run does) and wrk; Python standard library only. The ledger
of 10 M operations takes at most 7 GB (700 bytes an operation): --dir picks
where it goes (default $TMPDIR or /tmp); it is append-only (FS_APPEND_FL)
and removed with `chattr -a` unless --keep.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the tree
import run as bench  # noqa: E402  (helpers shared with make bench: Mpbs, run_wrk, ...)

ROOT = bench.ROOT
log = bench.log


def read_status(pid):
    st = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    # Pss splits each shared page between the processes that map it (the
    # libraries' code, pages still shared with the supervisor since the
    # clone); private pages (USS) are what the role alone holds.
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Pss", "Private_Clean", "Private_Dirty"):
                st[k] = v.strip()
    kib = lambda k: int(st.get(k, "0 kB").split()[0])  # noqa: E731
    return {"role": st.get("Name", "?"), "rss_kib": kib("VmRSS"), "hwm_kib": kib("VmHWM"),
            "anon_kib": kib("RssAnon"), "file_kib": kib("RssFile"), "pss_kib": kib("Pss"),
            "uss_kib": kib("Private_Clean") + kib("Private_Dirty")}


class Sampler(threading.Thread):
    """Every interval: each role's memory and the ledger's size."""

    def __init__(self, mp, interval):
        super().__init__(daemon=True)
        self.mp, self.interval = mp, interval
        self.samples = []
        self.answered = 0          # wrk's answered requests of the finished runs
        self.stop_ev = threading.Event()
        self.t0 = time.monotonic()

    def sample(self):
        t = time.monotonic() - self.t0
        try:
            ledger_bytes = bench.ledger_bytes(self.mp.ledger)
        except OSError:
            ledger_bytes = 0
        roles = []
        for pid in self.mp.children():
            try:
                roles.append(dict(read_status(pid), pid=pid))
            except OSError:
                continue  # a role that just exited (or was restarted)
        self.samples.append({"t_s": round(t, 2), "ledger_bytes": ledger_bytes,
                             "answered_runs_done": self.answered, "roles": roles})

    def run(self):
        while not self.stop_ev.wait(self.interval):
            self.sample()


def smaps_breakdown(pid):
    """Resident KiB of one process by kind of mapping, each split into pages
    still shared (inherited from the supervisor by the clone, or library
    pages any process maps) and private ones: [heap], [stack], other
    anonymous mappings (large allocations, thread stacks), anonymous pages of
    file mappings (relocated data, .data, .bss of the binary and libraries)
    and file pages (code and read-only data)."""
    rows, cur = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
                name = head[5] if len(head) > 5 else ""
                kind = (name if name in ("[heap]", "[stack]") else "vdso" if name.startswith("[")
                        else "anon" if not name.startswith("/") else None)
                cur = {"name": name, "kind": kind}
                continue
            k = head[0].rstrip(":")
            if k in ("Rss", "Anonymous", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty"):
                cur[k] = int(head[1])
            if k == "VmFlags" and cur.get("Rss"):
                kind = cur["kind"] or ("file data" if cur.get("Anonymous") else "file")
                if cur["kind"] is None and cur.get("Anonymous") and cur.get("Anonymous") != cur["Rss"]:
                    kind = "file data"  # a mix: its anonymous pages count as data
                r = rows.setdefault(kind, {"rss": 0, "shared": 0, "private": 0})
                r["rss"] += cur["Rss"]
                r["shared"] += cur.get("Shared_Clean", 0) + cur.get("Shared_Dirty", 0)
                r["private"] += cur.get("Private_Clean", 0) + cur.get("Private_Dirty", 0)
    return rows


def slope(xs, ys):
    """Least-squares slope of ys against xs (None with fewer than 2 points)."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def role_series(samples, role):
    """(ops, rss, hwm, pid, pss, uss) of one role (by comm) across the samples."""
    out = []
    for s in samples:
        for r in s["roles"]:
            if r["role"] == role:
                out.append((s["ops_est"], r["rss_kib"], r["hwm_kib"], r["pid"], r["pss_kib"], r["uss_kib"]))
    return out


def last_lines_matching(path, needle, tail_bytes=1 << 20):
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - tail_bytes))
        data = f.read().decode(errors="replace")
    return [ln for ln in data.splitlines() if needle in ln]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build/mpbs-run"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build/bench"))
    ap.add_argument("--topology", default=os.path.join(ROOT, "contrib/topologies/reference.conf"),
                    help="a topology with providers A, B and C (default: the reference topology)")
    ap.add_argument("--ops", type=int, default=10_000_000, help="answered requests to reach (default 10,000,000)")
    ap.add_argument("--conns", type=int, default=64, help="wrk connections, keep-alive (default 64)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=30, help="seconds per wrk run (default 30)")
    ap.add_argument("--rate", type=int, default=0, help="pace wrk at this many req/s (default: as fast as it goes)")
    ap.add_argument("--interval", type=float, default=5.0, help="seconds between samples (default 5)")
    ap.add_argument("--port", type=int, default=18483)
    ap.add_argument("--dir", default=None, help="parent of the temporary directory (ledger, keys, log)")
    ap.add_argument("--set", action="append", default=[], dest="sets", metavar="K=V",
                    help="extra --set for mpbs-run (repeatable)")
    ap.add_argument("--stop-timeout", type=int, default=300)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (ledger, log)")
    ap.add_argument("--smaps", action="store_true",
                    help="at the end of the load, save each role's /proc/PID/smaps and print where its RSS is")
    return ap.parse_args()


def main():
    a = parse_args()
    if os.geteuid() != 0:
        log("mpbs-run needs root")
        return 2
    for tool in ("wrk", "chattr"):
        if not shutil.which(tool):
            log(f"{tool} not found: run contrib/bench/deps.sh")
            return 2
    if not os.access(a.binary, os.X_OK):
        log(f"{a.binary} missing: run `make` first")
        return 2
    if not bench.port_is_free(a.port):
        log(f"127.0.0.1:{a.port} is in use (--port)")
        return 2
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="mpbs-soak-", dir=a.dir)
    os.chmod(tmp, 0o755)  # provider uids must traverse to their key dirs
    free = shutil.disk_usage(tmp).free
    need = a.ops * 1000  # at most 700 bytes of ledger, the log line (~100 bytes), and room
    if free < need:
        log(f"{tmp}: {free >> 20} MiB free, a ledger of {a.ops} operations needs about {need >> 20} MiB (--dir)")
        bench.remove_ledger_tree(tmp)
        return 2
    # A private copy of the binary and its policies, as run.py does.
    binary = bench.snapshot_binary(a.binary, tmp)
    ledger = os.path.join(tmp, "ledger", "ledger")
    sets = [f"intermediary.listen=127.0.0.1:{a.port}", f"association.ledger={ledger}"]
    sets += [f"provider.{p}.keys={tmp}/keys/{p}" for p in ("A", "B", "C")] + a.sets
    # The log holds one line per confirmation (~100 bytes): it stays in the
    # temporary directory, next to the ledger.
    logpath = os.path.join(tmp, "mpbs-soak.log")
    mp = bench.Mpbs(binary, os.path.abspath(a.topology), sets, logpath, ledger)
    status = 0
    result = {"params": vars(a), "tmp": tmp}
    sampler = None
    runs = []
    try:
        ms = mp.start()
        log(f"mpbs-run pid {mp.proc.pid} ready in {ms:.1f} ms on 127.0.0.1:{a.port}; ledger {ledger}")
        sampler = Sampler(mp, a.interval)
        sampler.sample()  # idle, before any load
        sampler.start()
        t_load = time.monotonic()
        while sampler.answered < a.ops:
            r = bench.run_wrk(f"http://127.0.0.1:{a.port}/nuvl", a.conns, a.chunk, "keepalive",
                              f"soak{len(runs)}-{os.getpid()}", a.threads, rate=a.rate)
            runs.append({k: r[k] for k in ("requests", "answered", "rps", "errors", "latency_us")})
            sampler.answered += r["answered"]
            if mp.proc.poll() is not None:
                raise bench.BenchError(f"mpbs-run exited ({mp.proc.returncode}):\n" + mp.log_tail())
            el = time.monotonic() - t_load
            assoc = next((x for x in (sampler.samples[-1]["roles"] if sampler.samples else [])
                          if x["role"] == "mpbs-assoc"), None)
            log(f"{sampler.answered:>11,} answered ({100.0 * sampler.answered / a.ops:5.1f} %), "
                f"{r['rps']:.0f} req/s, {el:.0f} s; association "
                + (f"VmRSS {assoc['rss_kib']} KiB VmHWM {assoc['hwm_kib']} KiB" if assoc else "?"))
        sampler.sample()  # right after the load
        if a.smaps:
            for pid in mp.children():
                try:
                    st = read_status(pid)
                    shutil.copyfile(f"/proc/{pid}/smaps", os.path.join(a.out, f"smaps-{st['role']}.txt"))
                    result.setdefault("smaps", {})[st["role"]] = smaps_breakdown(pid)
                except OSError:
                    pass
        sampler.stop_ev.set()
        sampler.join()
        load_s = time.monotonic() - t_load
        rc, stop_s = mp.stop(a.stop_timeout)
    except BaseException as e:
        if sampler:
            sampler.stop_ev.set()
        mp.kill()
        if not isinstance(e, (bench.BenchError, subprocess.SubprocessError, OSError)):
            if not a.keep:  # an interrupt: still no gigabytes of ledger left behind
                bench.remove_ledger_tree(tmp)
            raise
        log(f"FAILED: {e}")
        result["failure"] = str(e)
        rc, stop_s, load_s, status = None, None, None, 1
    stopped = last_lines_matching(logpath, ": stopped:")
    confirmed = None
    for ln in stopped:
        if "association: info: stopped:" in ln:
            confirmed = int(ln.split("association: info: stopped:")[1].split()[0])
    ledger_bytes = bench.ledger_bytes(ledger)
    samples = sampler.samples if sampler else []
    # Operations per ledger byte, from the whole run; the idle sample at 0.
    per_byte = (confirmed or 0) / ledger_bytes if ledger_bytes else 0
    for s in samples:
        s["ops_est"] = int(s["ledger_bytes"] * per_byte)
    answered = sum(r["answered"] for r in runs)
    result.update(exit_status=rc, stop_seconds=stop_s, load_seconds=load_s, wrk_answered=answered,
                  confirmed=confirmed, ledger_bytes=ledger_bytes, stopped_lines=stopped, runs=runs,
                  samples=samples)
    if confirmed is not None and confirmed < answered:
        log(f"NOT every answered request was confirmed: {confirmed} < {answered}")
        status = status or 3

    with open(os.path.join(a.out, "soak.csv"), "w") as f:
        f.write("t_s,ops_est,ledger_bytes,role,pid,rss_kib,hwm_kib,anon_kib,file_kib,pss_kib,uss_kib\n")
        for s in samples:
            for r in s["roles"]:
                f.write(f"{s['t_s']},{s['ops_est']},{s['ledger_bytes']},{r['role']},{r['pid']},"
                        f"{r['rss_kib']},{r['hwm_kib']},{r['anon_kib']},{r['file_kib']},{r['pss_kib']},{r['uss_kib']}\n")
    summary = {}
    roles = sorted({r["role"] for s in samples for r in s["roles"]})
    print(f"soak: {answered:,} answered, {'?' if confirmed is None else f'{confirmed:,}'} confirmed, "
          f"{ledger_bytes / 2**30:.2f} GiB ledger, load {load_s or 0:.0f} s, exit {rc} after SIGTERM "
          f"({stop_s or 0:.1f} s)")
    print("| role | RSS KiB first / middle / last (under load) | VmHWM KiB last | PSS / USS KiB last "
          "| slope KiB/M ops, all | second half |")
    print("|---|---|---|---|---|---|")
    for role in roles:
        ser = [x for x in role_series(samples, role) if x[0] > 0]  # under load (the idle sample left out)
        if not ser:
            continue
        pids = {x[3] for x in ser}
        xs = [x[0] / 1e6 for x in ser]
        ys = [x[1] for x in ser]
        half = len(ser) // 2
        s_all, s_half = slope(xs, ys), slope(xs[half:], ys[half:])
        summary[role] = {"first": ys[0], "middle": ys[half], "last": ys[-1], "hwm_last": ser[-1][2],
                         "pss_last": ser[-1][4], "uss_last": ser[-1][5],
                         "slope_kib_per_mop": s_all, "slope_second_half": s_half, "pids": sorted(pids)}
        fs = lambda v: "-" if v is None else f"{v:+.1f}"  # noqa: E731
        print(f"| {role} | {ys[0]:,} / {ys[half]:,} / {ys[-1]:,} | {ser[-1][2]:,} | {ser[-1][4]:,} / {ser[-1][5]:,} "
              f"| {fs(s_all)} | {fs(s_half)} |"
              + ("" if len(pids) == 1 else f" (restarted: pids {sorted(pids)})"))
    result["summary"] = summary
    for role, rows in sorted(result.get("smaps", {}).items()):
        print(f"{role} RSS by mapping (KiB, shared + private): " + ", ".join(
            f"{k} {v['rss']} ({v['shared']} + {v['private']})" for k, v in sorted(rows.items())))
    with open(os.path.join(a.out, "soak.json"), "w") as f:
        json.dump(result, f, indent=1)
    log(f"samples: {a.out}/soak.csv, {a.out}/soak.json")
    if a.keep:
        log(f"kept {tmp}")
    else:
        bench.remove_ledger_tree(tmp)
    return status


if __name__ == "__main__":
    sys.exit(main())
