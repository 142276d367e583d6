#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make check-ledger-reader: mpbs-run verify and the independent reader agree.

Runs build/mpbs-run on the reference topology (temporary ledger and keys,
segment_size 64K so the run leaves many segments), drives it with
keep-alive POSTs from a few threads, stops it with SIGTERM, then:
  1. `mpbs-run verify LEDGER --topology ...` says OK;
  2. contrib/ledger/mpbs_ledger.py says OK with the same confirmed count,
     over more than one segment, and every answered request is confirmed;
  3. on a copy with one byte flipped in a sealed segment, both say FAIL.
Needs root (mpbs-run does) and python3-cryptography. About 20 seconds.
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
READER = os.path.join(HERE, "mpbs_ledger.py")
TOPOLOGY = os.path.join(ROOT, "contrib/topologies/reference.conf")
PROVIDERS = ("A", "B", "C")


class CheckError(Exception):
    pass


def log(msg):
    print(f"check-ledger-reader: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, sets, logpath, timeout_s=30):
    """mpbs-run with --ready-fd; returns the Popen once it wrote READY=1."""
    rfd, wfd = os.pipe()
    cmd = [binary, "--ready-fd", str(wfd)]
    for s in sets:
        cmd += ["--set", s]
    cmd.append(TOPOLOGY)
    with open(logpath, "ab") as logf:
        proc = subprocess.Popen(cmd, pass_fds=(wfd,), stdout=logf, stderr=subprocess.STDOUT)
    os.close(wfd)
    data = b""
    deadline = time.monotonic() + timeout_s
    try:
        while b"READY=1" not in data and time.monotonic() < deadline:
            chunk = os.read(rfd, 64)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(rfd)
    if b"READY=1" not in data:
        proc.kill()
        proc.wait()
        raise CheckError(f"mpbs-run never wrote READY=1 ({' '.join(cmd)}); log {logpath}")
    return proc


def load(port, threads, per_thread):
    """Keep-alive POSTs, each body distinct; returns how many were answered 204."""
    answered = [0] * threads
    errors = []

    def worker(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            for k in range(per_thread):
                conn.request("POST", "/nuvl", body=f"check-reader-{os.getpid()}-t{i}-{k:08d}",
                             headers={"X-Verification-Context": "CTX_ALPHA"})
                r = conn.getresponse()
                r.read()
                if r.status == 204:
                    answered[i] += 1
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"thread {i}: {e}")
        finally:
            conn.close()

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise CheckError("load: " + "; ".join(errors))
    return sum(answered)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return r.returncode, r.stdout + r.stderr


def confirmed_of(out, who):
    m = re.search(r"^OK: (\d+) records, (\d+) confirmed", out, re.M)
    if not m:
        raise CheckError(f"{who} printed no `OK: N records, M confirmed` line:\n{out}")
    return int(m.group(2))


def flip_copy(ledger_dir, base, into):
    """Copies the ledger's files and flips one byte in the middle of the
    second sealed segment (the first when there is one); returns the file."""
    os.makedirs(into)
    sealed = sorted(n for n in os.listdir(ledger_dir) if re.fullmatch(re.escape(base) + r"\.[0-9]{6,}", n))
    if not sealed:
        raise CheckError(f"no sealed segment in {ledger_dir}: {sorted(os.listdir(ledger_dir))}")
    for n in os.listdir(ledger_dir):
        if n == base or n in sealed:
            shutil.copyfile(os.path.join(ledger_dir, n), os.path.join(into, n))
    victim = os.path.join(into, sealed[min(1, len(sealed) - 1)])
    with open(victim, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(size // 2)
        b = f.read(1)
        f.seek(size // 2)
        f.write(bytes([b[0] ^ 0x10]))
    return victim, size // 2


def remove_tree(path):
    """mpbs-run marks its ledger files append-only: clear that first."""
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            subprocess.run(["chattr", "-a", os.path.join(dirpath, f)], stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(path, ignore_errors=True)


def check(a, tmp):
    ledger_dir = os.path.join(tmp, "ledger")
    ledger = os.path.join(ledger_dir, "ledger")
    keys = os.path.join(tmp, "keys")
    assoc_keys = os.path.join(tmp, "association-keys")
    port = free_port()
    sets = ["runner.uid_base=260000", f"intermediary.listen=127.0.0.1:{port}", f"association.ledger={ledger}",
            f"association.keys={assoc_keys}", f"association.segment_size={a.segment_size}"]
    sets += [f"provider.{p}.keys={keys}/{p}" for p in PROVIDERS]
    logpath = os.path.join(tmp, "mpbs-run.log")
    proc = start(a.binary, sets, logpath)
    try:
        t0 = time.monotonic()
        answered = load(port, a.threads, a.requests // a.threads)
        log(f"{answered} requests answered in {time.monotonic() - t0:.1f} s")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = "killed after 60 s"
    if rc != 0:
        raise CheckError(f"mpbs-run exited {rc} after SIGTERM; log {logpath}")
    segments = [n for n in os.listdir(ledger_dir) if n.startswith("ledger")]
    log(f"ledger files: {len(segments)} ({sum(os.path.getsize(os.path.join(ledger_dir, n)) for n in segments)} bytes)")

    verify = [a.binary, "verify", ledger, "--topology", TOPOLOGY, "--jobs", "2"]
    for s in sets:
        verify += ["--set", s]
    reader = [sys.executable, READER, ledger, "--keys-dir", keys,
              "--association-key", os.path.join(assoc_keys, "signal.pub"), "--confirm", "all"]
    vrc, vout = run(verify)
    prc, pout = run(reader)
    print(vout.rstrip())
    print(pout.rstrip())
    if vrc != 0:
        raise CheckError(f"mpbs-run verify exited {vrc}")
    if prc != 0:
        raise CheckError(f"mpbs_ledger.py exited {prc}")
    vconf, pconf = confirmed_of(vout, "mpbs-run verify"), confirmed_of(pout, "mpbs_ledger.py")
    if vconf != pconf:
        raise CheckError(f"verify counts {vconf} confirmed, mpbs_ledger.py {pconf}")
    sealed = len(re.findall(r", sealed$", pout, re.M))
    if sealed < 2:
        raise CheckError(f"only {sealed} sealed segment(s): segment_size {a.segment_size} did not rotate")
    if pconf < answered:
        raise CheckError(f"{answered} requests answered, {pconf} confirmed")
    log(f"both OK: {pconf} confirmed over {sealed + 1} segments")

    flipped = os.path.join(tmp, "flipped")
    victim, offset = flip_copy(ledger_dir, "ledger", flipped)
    fled = os.path.join(flipped, "ledger")
    vrc, vout = run([x if x != ledger else fled for x in verify])
    prc, pout = run([x if x != ledger else fled for x in reader])
    log(f"one byte flipped at {victim} offset {offset}:")
    print(vout.rstrip())
    print(pout.rstrip())
    if prc != 1 or not re.search(r"^FAIL: ", pout, re.M):
        raise CheckError(f"mpbs_ledger.py exited {prc} on the flipped copy, not 1 with FAIL")
    if vrc != 1:
        raise CheckError(f"mpbs-run verify exited {vrc} on the flipped copy, not 1")
    log("both FAIL on the flipped copy")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build/mpbs-run"))
    ap.add_argument("--requests", type=int, default=6000, help="POSTs in all (default 6000)")
    ap.add_argument("--threads", type=int, default=8, help="keep-alive connections (default 8)")
    ap.add_argument("--segment-size", default="64K")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    if os.geteuid() != 0:
        log("needs root (mpbs-run does)")
        return 2
    a.binary = os.path.abspath(a.binary)
    tmp = tempfile.mkdtemp(prefix="mpbs-ledger-reader-")
    os.chmod(tmp, 0o755)  # provider uids traverse it to their key directories
    try:
        check(a, tmp)
    except CheckError as e:
        log(f"FAILED: {e}")
        if not a.keep:
            log(f"(--keep leaves {tmp} for reading)")
        return 1
    finally:
        if a.keep:
            log(f"kept {tmp}")
        else:
            remove_tree(tmp)
    log("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
