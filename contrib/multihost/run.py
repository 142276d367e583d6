#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The multi-host test: contrib/topologies/multihost.conf on one machine.

    python3 contrib/multihost/run.py --binary build/mpbs-run [--requests N] [--tls] [--keep]

Run as root from the repository's top. Everything lives under
build/multihost/ (wiped at start): a three-node NATS cluster with JetStream
on loopback (client ports 14222-14224, cluster 16222-16224, monitoring
18222-18224), its users from `mpbs-run nats-config`, its streams from
`mpbs-run nats-init`, then the permission test (mpbs-nats-permtest), then
the host parts back, ab and front, each with its own uid_base. N POSTs go
to the intermediary while one NATS node (the leader of MPBS_ART_A) is
SIGKILLed and restarted (at 25 % of the load), the association is SIGKILLed
on its part, back (45 %: its supervisor restarts it and asks the part's
bridge to write its replay ring again, which must be logged for every
signal lane), the bridge of part ab is SIGKILLed (60 %: its
supervisor restarts it), and so is provider A on part ab (75 %). Then
every answered request must be confirmed
exactly once in the ledger, `mpbs-run verify` and the independent reader
(contrib/ledger/mpbs_ledger.py) must accept it, and every part must stop
with exit 0.

With --tls the bridges, nats-init and the routes between the nodes use TLS
(a CA, a server and a client certificate made with openssl under
build/multihost/tls/; tls:// servers, tls_ca, tls_cert and tls_key): every
bridge's connection must show TLS in the servers' /connz. The servers ask
for no client certificate unless --tls-client-certs. The permission
test is skipped then: mpbs-nats-permtest speaks nats:// only.

The last line is `multihost: answered=N confirmed=M duplicates=D verify=OK|FAIL`;
exit 0 only when everything above held. Only processes this script started,
and their descendants, are ever signalled, each by its pid.
"""

import argparse
import fcntl
import http.client
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.request

TOPOLOGY = "contrib/topologies/multihost.conf"
WORK = "build/multihost"
CLIENT_PORTS = (14222, 14223, 14224)
CLUSTER_PORTS = (16222, 16223, 16224)
HTTP_PORTS = (18222, 18223, 18224)
LISTEN = "127.0.0.1:18580"
PATH = "/nuvl"
CONTEXT = "CTX_ALPHA"
PARTS = ("back", "ab", "front")        # start order; stop order is the reverse
UID_BASE = {"front": 210000, "ab": 220000, "back": 230000}
KILLED_BRIDGE_PART = "ab"
KILLED_STREAM = "MPBS_ART_A"
ASSOC_COMM = "mpbs-assoc"              # runner/role_table.c
# the part of the association (provider C and the association in
# multihost.conf): read from the topology by Test.prepare
ASSOC_KILL_AT = 0.45                   # of the load; the node at 0.25, the bridge at 0.60
# a provider on another host than the association's, killed at 0.75: its
# supervisor restarts it, and what it had signalled comes again from its
# journal over its part's bridge
KILLED_PROVIDER = ("ab", "A")
PROVIDER_KILL_AT = 0.75
# what the association's bridge logs per signal lane once it wrote its
# replay ring again at the supervisor's 'R' (bridge/in_write.c, lanes.c)
REPLAYED = re.compile(r"in sig:([A-Za-z0-9_-]+): replayed (\d+) channel messages")


def log(msg):
    print(f"multihost: {msg}", flush=True)


class Failure(Exception):
    """The test failed: the reason is printed, everything started is stopped."""


# ----------------------------------------------------------------- processes

class Started:
    """Every process this script started: only these (and their descendants)
    are ever signalled, each by its pid."""

    def __init__(self):
        self.procs = {}                 # name -> Popen

    def add(self, name, proc):
        self.procs[name] = proc

    def alive(self, name):
        p = self.procs.get(name)
        return p is not None and p.poll() is None

    def stop(self, name, sig=signal.SIGTERM, wait=30.0):
        """Signals name's process, waits for it; SIGKILLs it and what is left
        of its descendants if it does not end. Returns its exit status."""
        p = self.procs.get(name)
        if p is None:
            return None
        if p.poll() is None:
            kin = descendants(p.pid)
            try:
                p.send_signal(sig)
                return p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                log(f"{name} (pid {p.pid}) did not end within {wait:.0f} s: SIGKILL")
                kill_pids([p.pid] + kin)
                p.wait()
        return p.returncode

    def stop_all(self):
        for name in reversed(list(self.procs)):
            self.stop(name, wait=20.0)


def process_table():
    """pid -> (ppid, comm), from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # comm is in parentheses and may hold spaces or parentheses itself.
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        table[int(entry)] = (ppid, comm)
    return table


def descendants(pid, table=None):
    table = table if table is not None else process_table()
    children = {}
    for p, (pp, _) in table.items():
        children.setdefault(pp, []).append(p)
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run(cmd, what, timeout=120, check=True, quiet=False):
    """Runs a short command; its output is returned and, on failure, shown."""
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise Failure(f"{what}: no end after {timeout} s: {' '.join(cmd)}") from e
    if check and r.returncode != 0:
        sys.stdout.write(r.stdout)
        sys.stdout.write(r.stderr)
        raise Failure(f"{what}: exit {r.returncode}: {' '.join(cmd)}")
    if not quiet:
        for line in (r.stdout + r.stderr).splitlines():
            print(f"  {line}")
    return r


def tail(path, lines=40):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readlines()[-lines:]
    except OSError as e:
        return [f"({e})\n"]


# --------------------------------------------------------------------- files

FS_IOC_GETFLAGS, FS_IOC_SETFLAGS = 0x80086601, 0x40086602
FS_IMMUTABLE_FL, FS_APPEND_FL = 0x10, 0x20


def clear_append_only(top):
    """The ledger is append-only (FS_APPEND_FL): a previous run's must lose
    the flag before it can be removed."""
    for root, dirs, files in os.walk(top):
        for name in files + dirs:
            path = os.path.join(root, name)
            if os.path.islink(path):
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                buf = bytearray(struct.pack("i", 0))
                fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf)
                flags = struct.unpack("i", buf)[0]
                if flags & (FS_APPEND_FL | FS_IMMUTABLE_FL):
                    fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("i", flags & ~(FS_APPEND_FL | FS_IMMUTABLE_FL)))
            except OSError:
                pass
            finally:
                os.close(fd)


def wipe(top):
    if os.path.lexists(top):
        clear_append_only(top)
        shutil.rmtree(top)
    os.makedirs(top, mode=0o755)


# ---------------------------------------------------------------------- NATS

def http_json(port, path, timeout=2.0):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return json.loads(r.read().decode())


def tls_block(tls, indent, verify):
    """A nats-server tls {} block with the test's server certificate, the
    peers checked against the test's CA."""
    pad = " " * indent
    return (f"{pad}tls {{\n"
            f'{pad}  cert_file: "{tls["server_cert"]}"\n{pad}  key_file: "{tls["server_key"]}"\n'
            f'{pad}  ca_file: "{tls["ca"]}"\n'
            + (f"{pad}  verify: true\n" if verify else "")
            + f"{pad}  timeout: 2\n{pad}}}\n")


def node_config(i, store, accounts, tls=None, client_certs=False):
    routes = ", ".join(f'"nats-route://127.0.0.1:{p}"' for k, p in enumerate(CLUSTER_PORTS) if k != i)
    client_tls = route_tls = ""
    if tls:
        # clients: TLS only; with client_certs, each with a certificate the
        # CA signed (verify: `mpbs-run nats-init` does not pass tls_cert and
        # tls_key to `mpbs-bridge --init` yet, runner/nats_cmd.c).
        # Not allow_non_tls (for mpbs-nats-permtest, which speaks nats://):
        # its INFO then says tls_available, not tls_required, and Debian
        # 12's libnats 3.4.1 refuses a tls:// URL with "Secure Connection not
        # available". Routes: TLS, each node's certificate checked against
        # the CA.
        client_tls = tls_block(tls, 0, client_certs)
        route_tls = tls_block(tls, 2, False)
    return (f"# node n{i + 1} of the multi-host test's cluster (contrib/multihost/run.py)\n"
            f"server_name: n{i + 1}\n"
            f'listen: "127.0.0.1:{CLIENT_PORTS[i]}"\n'
            f'http: "127.0.0.1:{HTTP_PORTS[i]}"\n'
            + client_tls +
            f"jetstream {{\n  store_dir: \"{store}\"\n  max_file_store: 4G\n  max_memory_store: 256M\n}}\n"
            f"cluster {{\n  name: \"mpbs-multihost\"\n  listen: \"127.0.0.1:{CLUSTER_PORTS[i]}\"\n"
            f"  routes: [{routes}]\n" + route_tls + "}\n"
            f'include "{os.path.basename(accounts)}"\n')


def make_certs(d):
    """A CA, a server certificate (127.0.0.1; serverAuth for clients,
    clientAuth for the routes it opens) and a client certificate for the
    bridges, EC P-256, valid 2 days, with openssl. Returns their paths."""
    os.makedirs(d, mode=0o700, exist_ok=True)
    f = {"ca": os.path.join(d, "ca.pem"), "ca_key": os.path.join(d, "ca.key"),
         "server_cert": os.path.join(d, "server.pem"), "server_key": os.path.join(d, "server.key"),
         "client_cert": os.path.join(d, "client.pem"), "client_key": os.path.join(d, "client.key")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509"] + ec + ["-keyout", f["ca_key"], "-out", f["ca"], "-days", "2",
         "-subj", "/CN=mpbs multihost test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"], "openssl: the CA", quiet=True)
    for who, cn, usage, san in (("server", "nats-server", "serverAuth,clientAuth", "IP:127.0.0.1,DNS:localhost"),
                                ("client", "mpbs-bridge", "clientAuth", None)):
        csr, ext = os.path.join(d, f"{who}.csr"), os.path.join(d, f"{who}.ext")
        with open(ext, "w", encoding="utf-8") as e:
            e.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    f"extendedKeyUsage={usage}\n" + (f"subjectAltName={san}\n" if san else ""))
        run(["openssl", "req"] + ec + ["-keyout", f[f"{who}_key"], "-out", csr, "-subj", f"/CN={cn}"],
            f"openssl: the {who} key", quiet=True)
        run(["openssl", "x509", "-req", "-in", csr, "-CA", f["ca"], "-CAkey", f["ca_key"], "-CAcreateserial",
             "-days", "2", "-out", f[f"{who}_cert"], "-extfile", ext], f"openssl: the {who} certificate", quiet=True)
    for k in ("ca_key", "server_key", "client_key"):
        os.chmod(f[k], 0o600)
    return f


class Cluster:
    def __init__(self, started, top, accounts, tls=None, client_certs=False):
        self.started, self.top, self.accounts = started, top, accounts
        self.confs = []
        for i in range(3):
            store = os.path.join(top, f"n{i + 1}")
            os.makedirs(store, exist_ok=True)
            conf = os.path.join(top, f"n{i + 1}.conf")
            with open(conf, "w", encoding="utf-8") as f:
                f.write(node_config(i, os.path.abspath(store), accounts, tls, client_certs))
            self.confs.append(conf)

    def name(self, i):
        return f"nats-n{i + 1}"

    def start(self, i):
        logf = open(os.path.join(self.top, f"n{i + 1}.log"), "ab")
        p = subprocess.Popen(["nats-server", "-c", self.confs[i]], stdin=subprocess.DEVNULL,
                             stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.started.add(self.name(i), p)

    def healthy(self, i):
        try:
            h = http_json(HTTP_PORTS[i], "/healthz")
            j = http_json(HTTP_PORTS[i], "/jsz")
        except (OSError, ValueError):
            return False
        return h.get("status") == "ok" and bool((j.get("meta_cluster") or {}).get("leader"))

    def wait_healthy(self, nodes, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in nodes:
                if not self.started.alive(self.name(i)):
                    raise Failure(f"NATS node n{i + 1} exited: see {self.top}/n{i + 1}.log")
            if all(self.healthy(i) for i in nodes):
                return
            time.sleep(0.2)
        raise Failure(f"the NATS cluster is not healthy (/healthz, a JetStream meta leader) after {timeout} s")

    def streams(self, i):
        """stream name -> its detail, as node i sees it."""
        j = http_json(HTTP_PORTS[i], "/jsz?accounts=true&streams=true", timeout=1.0)
        out = {}
        for acc in j.get("account_details") or []:
            for s in acc.get("stream_detail") or []:
                out[s.get("name")] = s
        return out

    def stream_leader(self, stream, alive):
        """The index of the node leading stream, as the first node that
        answers says; None when none knows."""
        for i in alive:
            try:
                s = self.streams(i).get(stream)
            except (OSError, ValueError):
                continue
            leader = ((s or {}).get("cluster") or {}).get("leader")
            if leader and re.fullmatch(r"n[123]", leader):
                return int(leader[1]) - 1
        return None

    def stream_last_seq(self, stream, nodes):
        best = None
        for i in nodes:
            try:
                s = self.streams(i).get(stream)
            except (OSError, ValueError):
                continue
            if s:
                seq = (s.get("state") or {}).get("last_seq", 0)
                best = seq if best is None else max(best, seq)
        return best

    def connections(self):
        """Every client connection of the cluster, as its nodes report them."""
        out = []
        for i in range(3):
            try:
                c = http_json(HTTP_PORTS[i], "/connz?auth=true&limit=1024", timeout=1.0)
            except (OSError, ValueError):
                continue
            out += c.get("connections") or []
        return out

    def user_connections(self, user):
        return sum(1 for conn in self.connections() if conn.get("authorized_user") == user)


# ----------------------------------------------------------------- topology

def topology_hosts(path):
    """The intermediary's, the association's and each provider's host part,
    read as mpbs-run reads the file (INI, ';' comments)."""
    import configparser
    cp = configparser.ConfigParser(comment_prefixes=(";", "#"), inline_comment_prefixes=(" ;",),
                                   interpolation=None)
    with open(path, encoding="utf-8") as f:
        cp.read_file(f)
    providers = [(s.split(None, 1)[1], cp[s]["host"]) for s in cp.sections() if s.startswith("provider ")]
    return cp["intermediary"]["host"], cp["association"]["host"], providers


def expected_grants(int_host, assoc_host, providers):
    """What each host part's user must be granted, and all data subjects:
    an artifact stream per provider away from the intermediary, a signal
    stream per provider away from the association (runner/nats_cmd.c)."""
    hosts = sorted({int_host, assoc_host} | {h for _, h in providers})
    pub = {h: [] for h in hosts}
    cons = {h: [] for h in hosts}
    subjects = []
    for name, host in providers:
        subjects += [f"mpbs.art.{name}", f"mpbs.sig.{name}"]
        if host != int_host:
            pub[int_host].append(f"mpbs.art.{name}")
            cons[host].append(f"MPBS_ART_{name}/art-{name}")
        if host != assoc_host:
            pub[host].append(f"mpbs.sig.{name}")
            cons[assoc_host].append(f"MPBS_SIG_{name}/sig-{name}")
    return hosts, pub, cons, subjects


def accounts_grants(path):
    """user -> (publish allow list, subscribe allow list), from the file
    `mpbs-run nats-config -o` wrote."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = {}
    for chunk in text.split("{ user: ")[1:]:
        user = re.match(r'"([^"]+)"', chunk).group(1)
        lists = re.findall(r"allow: \[([^\]]*)\]", chunk)
        pub = re.findall(r'"([^"]+)"', lists[0]) if lists else []
        sub = re.findall(r'"([^"]+)"', lists[1]) if len(lists) > 1 else []
        out[user] = (pub, sub)
    return out


def compare_grants(grants, hosts, pub, cons):
    """The accounts file must grant exactly the expected data subjects and
    consumers (the permission test then proves the server enforces them)."""
    problems = []
    for h in hosts:
        user = f"mpbs-{h}"
        if user not in grants:
            problems.append(f"no user {user}")
            continue
        p, s = grants[user]
        data = sorted(x for x in p if x.startswith("mpbs."))
        nexts = sorted(x[len("$JS.API.CONSUMER.MSG.NEXT."):].replace(".", "/", 1)
                       for x in p if x.startswith("$JS.API.CONSUMER.MSG.NEXT."))
        if data != sorted(pub[h]):
            problems.append(f"{user} may publish {data}, expected {sorted(pub[h])}")
        if nexts != sorted(cons[h]):
            problems.append(f"{user} may fetch {nexts}, expected {sorted(cons[h])}")
        if s != [f"_INBOX.{user}.>"]:
            problems.append(f"{user} may subscribe {s}, expected only its own inbox")
    return problems


def permtest_checks(hosts, pub, cons, subjects):
    """The granted checks, in an order that leaves every stream empty (what
    one user publishes, the consumer's user fetches and acks, the streams are
    purged), and per host the refusals."""
    granted = [f"{h}:publish:{s}" for h in hosts for s in pub[h]]
    granted += [f"{h}:fetch:{c}" for h in hosts for c in cons[h]]
    granted += [f"{h}:purge:{c.split('/')[0]}" for h in hosts for c in cons[h]]
    streams = sorted(c.split("/")[0] for h in hosts for c in cons[h])
    refused = {}
    for k, h in enumerate(hosts):
        own_streams = [c.split("/")[0] for c in cons[h]]
        other = hosts[(k + 1) % len(hosts)]
        checks = [f"{h}:!publish:{s}" for s in subjects if s not in pub[h]]
        checks += [f"{h}:!fetch:{c}" for g in hosts if g != h for c in cons[g]]
        checks += [f"{h}:!subscribe:_INBOX.mpbs-{other}.>", f"{h}:!subscribe:_INBOX.>"]
        checks += [f"{h}:!create:MPBS_PERMTEST", f"{h}:!delete:{(own_streams or streams)[0]}"]
        checks += [f"{h}:!purge:{s}" for s in streams if s not in own_streams][:2]
        checks += [f"{h}:!password"]
        refused[h] = checks
    return granted, refused


# --------------------------------------------------------------------- parts

def start_part(started, binary, host, sets, top, timeout=90):
    """Starts one host part and waits for its READY=1 on --ready-fd."""
    r, w = os.pipe()
    logf = open(os.path.join(top, f"{host}.log"), "ab")
    cmd = [binary, "--host", host, "--ready-fd", str(w)] + sets + ["--set", f"runner.uid_base={UID_BASE[host]}",
                                                                   TOPOLOGY]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, pass_fds=(w,))
    logf.close()
    os.close(w)
    started.add(host, p)
    got, t0 = b"", time.monotonic()
    try:
        while b"READY=1" not in got:
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                raise Failure(f"part {host}: no READY=1 within {timeout} s")
            ready, _, _ = select.select([r], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(r, 256)
                if not chunk:
                    raise Failure(f"part {host} exited (status {p.wait()}) before it was ready")
                got += chunk
    finally:
        os.close(r)
    log(f"part {host} ready in {time.monotonic() - t0:.1f} s (pid {p.pid})")


def role_pids(started, part, comm):
    """The processes named comm (a role's comm, runner/role_table.c) under
    the part's supervisor; the topmost (one whose parent has another name)."""
    proc = started.procs.get(part)
    if proc is None:
        return []
    table = process_table()
    kin = descendants(proc.pid, table)
    return [p for p in kin if table[p][1] == comm and table.get(table[p][0], (0, ""))[1] != comm]


def bridge_pids(started, part):
    return role_pids(started, part, "mpbs-bridge")


# ---------------------------------------------------------------------- load

class Load:
    """N POSTs over a few keep-alive connections, each with a distinct body."""

    def __init__(self, n, threads, token):
        self.n, self.threads, self.token = n, threads, token
        self.lock = threading.Lock()
        self.next = 0
        self.answered = 0
        self.failed = 0
        self.errors = []
        self.first_fail = None

    def take(self):
        with self.lock:
            if self.next >= self.n:
                return None
            self.next += 1
            return self.next - 1

    def worker(self):
        host, port = LISTEN.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        headers = {"X-Verification-Context": CONTEXT, "Content-Type": "application/octet-stream"}
        while (i := self.take()) is not None:
            body = f"multihost {self.token} request {i}".encode()
            try:
                conn.request("POST", PATH, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok, why = resp.status == 204, f"status {resp.status}"
            except (OSError, http.client.HTTPException) as e:
                ok, why = False, f"{type(e).__name__}: {e}"
                conn.close()
            with self.lock:
                if ok:
                    self.answered += 1
                else:
                    self.failed += 1
                    if len(self.errors) < 5:
                        self.errors.append(f"request {i}: {why}")
        conn.close()

    def run(self):
        workers = [threading.Thread(target=self.worker, daemon=True) for _ in range(self.threads)]
        for t in workers:
            t.start()
        return workers


class Faults:
    """Kills, during the load, the leader of KILLED_STREAM (restarted 5 s
    later), the association on its part (its supervisor restarts it and asks
    that part's bridge to write its replay ring again) and the bridge of
    KILLED_BRIDGE_PART, and measures how long each took to heal from what
    the monitoring endpoints, /proc and the part's log show."""

    def __init__(self, cluster, started, load, top, assoc_part, remote_providers):
        self.cluster, self.started, self.load = cluster, started, load
        self.top, self.assoc_part, self.remote_providers = top, assoc_part, remote_providers
        self.figures = []
        self.errors = []
        self.nats_kill_wall = None
        self.bridge_kill_wall = None
        self.assoc_kill_wall = None
        self.t0 = time.monotonic()          # the load's start, near enough
        self.thread = threading.Thread(target=self.main, daemon=True)

    def wait_answered(self, fraction, timeout=600):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.load.lock:
                if self.load.answered + self.load.failed >= self.load.n * fraction:
                    return
            time.sleep(0.05)

    def kill_nats(self):
        alive = [i for i in range(3) if self.started.alive(self.cluster.name(i))]
        leader = self.cluster.stream_leader(KILLED_STREAM, alive)
        victim = leader if leader is not None else 0
        why = f"leader of {KILLED_STREAM}" if leader is not None else "no leader found: node 1"
        others = [i for i in range(3) if i != victim]
        seq0 = self.cluster.stream_last_seq(KILLED_STREAM, others) or 0
        proc = self.started.procs[self.cluster.name(victim)]
        t0 = time.monotonic()
        self.nats_kill_wall = time.time_ns()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        log(f"SIGKILL NATS node n{victim + 1} (pid {proc.pid}, {why}) at {self.answered()}")
        return victim, others, seq0, t0

    def answered(self):
        """For the kill messages: answered so far, and when."""
        with self.load.lock:
            n = self.load.answered
        return f"{n} answered, {time.monotonic() - self.t0:.2f} s into the load"

    def watch_publishes(self, others, seq0, t0, restart_at, victim):
        """Polls the stream's last sequence on the surviving nodes until it
        grows past what it was at the kill; restarts the victim on time."""
        resumed = None
        restarted = False
        while time.monotonic() - t0 < 90:
            now = time.monotonic()
            if not restarted and now >= restart_at:
                self.cluster.start(victim)
                restarted = True
                log(f"restarted NATS node n{victim + 1} {now - t0:.1f} s after the kill")
            seq = self.cluster.stream_last_seq(KILLED_STREAM, others)
            if resumed is None and seq is not None and seq > seq0:
                resumed = now - t0
            if resumed is not None and restarted:
                break
            if resumed is None and self.load_done():
                break
            time.sleep(0.1)
        if not restarted:
            self.cluster.start(victim)
            log(f"restarted NATS node n{victim + 1} {time.monotonic() - t0:.1f} s after the kill")
        return resumed

    def load_done(self):
        with self.load.lock:
            return self.load.answered + self.load.failed >= self.load.n

    def kill_bridge(self):
        pids = bridge_pids(self.started, KILLED_BRIDGE_PART)
        if not pids:
            raise Failure(f"no mpbs-bridge process under part {KILLED_BRIDGE_PART}")
        user = f"mpbs-{KILLED_BRIDGE_PART}"
        conns0 = self.cluster.user_connections(user)
        t0 = time.monotonic()
        self.bridge_kill_wall = time.time_ns()
        kill_pids(pids)
        log(f"SIGKILL the bridge of part {KILLED_BRIDGE_PART} (pid {pids[0]}) at {self.answered()}")
        new_pid_at = connected_at = None
        while time.monotonic() - t0 < 60 and (new_pid_at is None or connected_at is None):
            now = time.monotonic()
            fresh = [p for p in bridge_pids(self.started, KILLED_BRIDGE_PART) if p not in pids]
            if new_pid_at is None and fresh:
                new_pid_at = now - t0
            if new_pid_at is not None and connected_at is None and self.cluster.user_connections(user) >= max(conns0, 1):
                connected_at = now - t0
            time.sleep(0.05)
        return new_pid_at, connected_at

    def bridge_fault(self):
        self.wait_answered(0.6)
        new_pid, connected = self.kill_bridge()

        self.figures.append("bridge restart: " + (f"new mpbs-bridge {new_pid:.2f} s after the SIGKILL"
                                                  if new_pid is not None else "no new mpbs-bridge within 60 s")
                            + (f", connected to NATS at {connected:.2f} s" if connected is not None else ""))
        if new_pid is None:
            self.errors.append("the bridge of part ab was not restarted within 60 s")

    def kill_association(self):
        """SIGKILLs the association of assoc_part; returns when a new one
        runs and the part's bridge logged the replay of every signal lane
        (or after 60 s): (old pid, new pid or None, seconds to the new pid,
        {provider: (messages replayed, seconds after the kill)})."""
        part = self.assoc_part
        pids = role_pids(self.started, part, ASSOC_COMM)
        if not pids:
            raise Failure(f"no {ASSOC_COMM} process under part {part}")
        logpath = os.path.join(self.top, f"{part}.log")
        with open(logpath, "rb") as logf:
            logf.seek(0, os.SEEK_END)           # only what is logged after the kill
            t0 = time.monotonic()
            self.assoc_kill_wall = time.time_ns()
            kill_pids(pids)
            log(f"SIGKILL the association of part {part} (pid {pids[0]}) at {self.answered()}")
            new_pid = new_pid_at = None
            replayed, text = {}, b""
            while time.monotonic() - t0 < 60:
                now = time.monotonic()
                if new_pid is None:
                    fresh = [p for p in role_pids(self.started, part, ASSOC_COMM) if p not in pids]
                    if fresh:
                        new_pid, new_pid_at = fresh[0], now - t0
                text += logf.read()
                for m in REPLAYED.finditer(text.decode("utf-8", "replace")):
                    replayed.setdefault(m.group(1), (int(m.group(2)), now - t0))
                if new_pid is not None and all(p in replayed for p in self.remote_providers):
                    break
                time.sleep(0.05)
        return pids[0], new_pid, new_pid_at, replayed

    def provider_fault(self):
        part, name = KILLED_PROVIDER
        comm = f"mpbs-p-{name}"                 # runner/role_table.c
        self.wait_answered(PROVIDER_KILL_AT)
        pids = role_pids(self.started, part, comm)
        if not pids:
            self.errors.append(f"provider kill: no {comm} process under part {part}")
            return
        t0 = time.monotonic()
        kill_pids(pids)
        log(f"SIGKILL provider {name} of part {part} (pid {pids[0]}) at {self.answered()}")
        new_at = None
        while time.monotonic() - t0 < 60 and new_at is None:
            if [p for p in role_pids(self.started, part, comm) if p not in pids]:
                new_at = time.monotonic() - t0
            time.sleep(0.05)
        if new_at is None:
            self.errors.append(f"provider {name} of part {part} was not restarted within 60 s")
            return
        self.figures.append(f"provider restart: new {comm} on part {part} {new_at:.2f} s after the SIGKILL")

    def association_fault(self):
        self.wait_answered(ASSOC_KILL_AT)
        try:
            old, new, new_at, replayed = self.kill_association()
        except (Failure, OSError) as e:
            self.errors.append(f"association kill: {e}")
            return
        what = (f"association restart: new {ASSOC_COMM} (pid {new}) {new_at:.2f} s after the SIGKILL of pid {old}"
                if new is not None else f"association restart: no new {ASSOC_COMM} within 60 s")
        lanes = ", ".join(f"sig:{p} {replayed[p][0]} messages at {replayed[p][1]:.2f} s"
                          for p in self.remote_providers if p in replayed)
        self.figures.append(what + (f"; bridge replayed {lanes}" if lanes else "; no replay logged by the bridge"))
        if new is None:
            self.errors.append(f"the association of part {self.assoc_part} was not restarted within 60 s")
        missing = [p for p in self.remote_providers if p not in replayed]
        if missing:
            self.errors.append(f"the bridge of part {self.assoc_part} logged no replay of sig:"
                               + ", sig:".join(missing) + " within 60 s of the association's kill")

    def main(self):
        try:
            # the association's and the bridge's kills on their own threads
            # (45 % and 60 % of the load), whatever the node kill's recovery
            # is still waiting for
            assoc_fault = threading.Thread(target=self.association_fault, daemon=True)
            assoc_fault.start()
            bridge_fault = threading.Thread(target=self.bridge_fault, daemon=True)
            bridge_fault.start()
            provider_fault = threading.Thread(target=self.provider_fault, daemon=True)
            provider_fault.start()
            self.wait_answered(0.25)
            victim, others, seq0, t0 = self.kill_nats()
            resumed = self.watch_publishes(others, seq0, t0, t0 + 5.0, victim)
            self.figures.append(f"NATS node kill: publishes to {KILLED_STREAM} resumed "
                                + (f"{resumed:.2f} s after the SIGKILL" if resumed is not None
                                   else "never seen (no traffic left after the kill)"))
            self.cluster.wait_healthy(range(3), 60)
            assoc_fault.join()
            bridge_fault.join()
            provider_fault.join()
        except (Failure, OSError, ValueError) as e:
            self.errors.append(f"fault injection: {e}")


# -------------------------------------------------------------------- ledger

def ledger_confirmed(binary, ledger):
    """The confirmed records: [(op, t)]."""
    r = subprocess.run([binary, "ledger", "cat", "--jsonl", ledger], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Failure(f"ledger cat: exit {r.returncode}: {r.stderr.strip()}")
    out = []
    for line in r.stdout.splitlines():
        rec = json.loads(line)
        if rec.get("type") == "confirmed":
            out.append((rec.get("op"), rec.get("t", 0)))
    return out


def wait_confirmed(binary, ledger, target, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        recs = ledger_confirmed(binary, ledger)
        distinct = len({op for op, _ in recs})
        if distinct >= target or time.monotonic() >= deadline:
            return recs
        time.sleep(1.0)


def longest_pause(recs, since_ns, window_ns=120 * 10**9):
    """The longest gap between consecutive confirmations from since_ns on,
    the kill's instant counting as the first (the ledger's t is wall-clock ns)."""
    ts = sorted(t for _, t in recs if since_ns <= t <= since_ns + window_ns)
    if not ts:
        return None, None
    gaps = [b - a for a, b in zip([since_ns] + ts, ts)]
    return max(gaps) / 1e9, (ts[0] - since_ns) / 1e9


# ---------------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True, help="mpbs-run (build/mpbs-run)")
    ap.add_argument("--permtest", help="mpbs-nats-permtest (default: beside --binary)")
    ap.add_argument("--requests", type=int, default=6000)
    ap.add_argument("--connections", type=int, default=4, help="keep-alive connections of the load")
    ap.add_argument("--keep", action="store_true", help="leave build/multihost/ in place (it always is on failure)")
    ap.add_argument("--tls", action="store_true",
                    help="TLS between the bridges and the cluster and between its nodes: a CA and certificates "
                    "made with openssl under build/multihost/tls/, tls:// servers, tls_ca, tls_cert, tls_key")
    ap.add_argument("--tls-client-certs", action="store_true",
                    help="with --tls: the servers also require a client certificate (verify: true)")
    a = ap.parse_args()
    a.tls = a.tls or a.tls_client_certs
    a.binary = os.path.abspath(a.binary)
    a.permtest = os.path.abspath(a.permtest or os.path.join(os.path.dirname(a.binary), "mpbs-nats-permtest"))
    return a


class Test:
    def __init__(self, args):
        self.a = args
        self.top = os.path.abspath(WORK)
        self.started = Started()
        self.creds = os.path.join(self.top, "credentials")
        self.ledger = os.path.join(self.top, "ledger", "ledger")
        self.keys = os.path.join(self.top, "keys")
        self.tls = None
        scheme = "tls" if getattr(args, "tls", False) else "nats"
        servers = ",".join(f"{scheme}://127.0.0.1:{p}" for p in CLIENT_PORTS)
        self.sets = []
        if scheme == "tls":
            d = os.path.join(self.top, "tls")
            for kv in (f"nats.tls_ca={d}/ca.pem", f"nats.tls_cert={d}/client.pem", f"nats.tls_key={d}/client.key"):
                self.sets += ["--set", kv]
        for kv in (f"nats.servers={servers}", f"nats.credentials={self.creds}", "nats.replicas=3",
                   f"association.ledger={self.ledger}", f"association.keys={self.top}/association-keys",
                   f"intermediary.listen={LISTEN}",
                   f"provider.A.keys={self.keys}/A", f"provider.B.keys={self.keys}/B",
                   f"provider.C.keys={self.keys}/C"):
            self.sets += ["--set", kv]
        self.results = {"permtest": False, "parts": {}, "verify": False, "reader": None}

    # -- preparation
    def prepare(self):
        for path in (self.a.binary, self.a.permtest):
            if not os.access(path, os.X_OK):
                raise Failure(f"{path}: not built (make {os.path.relpath(path)})")
        if not shutil.which("nats-server"):
            raise Failure("nats-server is not installed (Debian: apt-get install nats-server)")
        wipe(self.top)
        for d in ("nats", "ledger", "keys"):
            os.makedirs(os.path.join(self.top, d), mode=0o755, exist_ok=True)
        os.makedirs(self.creds, mode=0o700, exist_ok=True)
        if getattr(self.a, "tls", False):
            if not shutil.which("openssl"):
                raise Failure("--tls needs openssl")
            self.tls = make_certs(os.path.join(self.top, "tls"))
            log(f"TLS: a CA, a server and a client certificate in {os.path.join(self.top, 'tls')}")
        _, assoc_host, providers = topology_hosts(TOPOLOGY)
        # A provider away from the association (A, B) needs a provisioned
        # pair: its signal.key owned by its host uid on its part, its
        # signal.pub read by the association's part at the same path. C,
        # beside the association, has demo_keys = yes.
        for index, (name, host) in enumerate(providers):
            if host == assoc_host:
                continue
            kdir = os.path.join(self.keys, name)
            run([self.a.binary, "keygen", kdir], f"keygen {name}")
            os.chown(os.path.join(kdir, "signal.key"), UID_BASE[host] + 2 + index, UID_BASE[host] + 2 + index)

    def start_cluster(self):
        accounts = os.path.join(self.top, "nats", "accounts.conf")
        run([self.a.binary, "nats-config"] + self.sets + ["-o", accounts, TOPOLOGY], "nats-config")
        self.accounts = accounts
        self.cluster = Cluster(self.started, os.path.join(self.top, "nats"), accounts, self.tls,
                               getattr(self.a, "tls_client_certs", False))
        t0 = time.monotonic()
        for i in range(3):
            self.cluster.start(i)
        self.cluster.wait_healthy(range(3), 60)
        log(f"NATS cluster healthy in {time.monotonic() - t0:.1f} s (client ports {CLIENT_PORTS})")

    def nats_init(self):
        deadline = time.monotonic() + 30
        while True:
            r = run([self.a.binary, "nats-init"] + self.sets + [TOPOLOGY], "nats-init", check=False, quiet=True)
            if r.returncode == 0:
                for line in (r.stdout + r.stderr).splitlines():
                    print(f"  {line}")
                log("nats-init: streams and consumers made")
                return
            if time.monotonic() >= deadline:
                sys.stdout.write(r.stdout + r.stderr)
                raise Failure(f"nats-init: exit {r.returncode} for 30 s")
            time.sleep(2)

    def check_parts(self):
        for host in PARTS:
            run([self.a.binary, "-t", "--host", host] + self.sets
                + ["--set", f"runner.uid_base={UID_BASE[host]}", TOPOLOGY], f"-t --host {host}")

    # -- the permission test
    def permtest(self):
        if self.tls:
            log("permission test: skipped under --tls (mpbs-nats-permtest speaks nats:// only)")
            self.results["permtest"] = None
            return
        int_host, assoc_host, providers = topology_hosts(TOPOLOGY)
        hosts, pub, cons, subjects = expected_grants(int_host, assoc_host, providers)
        problems = compare_grants(accounts_grants(self.accounts), hosts, pub, cons)
        for p in problems:
            log(f"accounts file: {p}")
        granted, refused = permtest_checks(hosts, pub, cons, subjects)
        base = [self.a.permtest, "--credentials", self.creds]
        for p in CLIENT_PORTS:
            base += ["--server", f"nats://127.0.0.1:{p}"]
        ok = self.permtest_run([base + granted])
        # The refusals of each user do not depend on the others': in
        # parallel, since each waits out the timeout a refusal ends in.
        ok = self.permtest_run([base + refused[h] for h in hosts]) and ok
        self.results["permtest"] = ok and not problems
        log(f"permission test: {'passed' if self.results['permtest'] else 'FAILED'}")

    def permtest_run(self, cmds):
        procs = [subprocess.Popen(c, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) for c in cmds]
        ok = True
        for p in procs:
            try:
                out, _ = p.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
                out += "permtest: FAIL: no end within 300 s\n"
            sys.stdout.write(out)
            ok = ok and p.returncode == 0
        return ok

    # -- the run
    def start_parts(self):
        for host in PARTS:
            start_part(self.started, self.a.binary, host, self.sets, self.top)
        if self.tls:
            self.check_tls()

    def check_tls(self):
        """Under --tls: every bridge's connection is TLS (the servers also
        take plain connections, for the permission test)."""
        hosts, deadline = set(PARTS), time.monotonic() + 30
        while True:
            conns = [c for c in self.cluster.connections() if (c.get("authorized_user") or "").startswith("mpbs-")
                     and c.get("authorized_user") != "mpbs-admin"]
            users = {c["authorized_user"][len("mpbs-"):] for c in conns}
            if users >= hosts or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        plain = [f"{c.get('authorized_user')} ({c.get('ip')}:{c.get('port')})" for c in conns if not c.get("tls_version")]
        if hosts - users:
            raise Failure(f"--tls: no connection of the bridge of {', '.join(sorted(hosts - users))} within 30 s")
        if plain:
            raise Failure(f"--tls: connections without TLS: {', '.join(plain)}")
        versions = sorted({f"{c.get('tls_version')} {c.get('tls_cipher_suite', '')}".strip() for c in conns})
        log(f"TLS: {len(conns)} bridge connections, all TLS ({'; '.join(versions)})")

    def load(self):
        token = os.urandom(6).hex()
        load = Load(self.a.requests, self.a.connections, token)
        _, assoc_host, providers = topology_hosts(TOPOLOGY)
        remote = [name for name, host in providers if host != assoc_host]
        faults = Faults(self.cluster, self.started, load, self.top, assoc_host, remote)
        t0 = time.monotonic()
        workers = load.run()
        faults.thread.start()
        for t in workers:
            t.join()
        elapsed = time.monotonic() - t0
        log(f"load: {load.answered} answered, {load.failed} failed in {elapsed:.1f} s: "
            f"{load.answered / elapsed:.0f} req/s over {self.a.connections} connections")
        for e in load.errors:
            log(f"load: {e}")
        faults.thread.join(timeout=180)
        return load, faults

    def stop_parts(self):
        for host in reversed(PARTS):
            t0 = time.monotonic()
            rc = self.started.stop(host, wait=90.0)
            self.results["parts"][host] = rc
            log(f"part {host} stopped: exit {rc} in {time.monotonic() - t0:.1f} s")

    def stop_cluster(self):
        for i in range(3):
            self.started.stop(self.cluster.name(i), wait=20.0)

    def verify(self):
        r = run([self.a.binary, "verify", self.ledger, "--topology", TOPOLOGY, "--no-progress"] + self.sets,
                "verify", check=False)
        self.results["verify"] = r.returncode == 0
        reader = os.path.join("contrib", "ledger", "mpbs_ledger.py")
        try:
            import cryptography  # noqa: F401  (the reader checks signatures with it)
        except ImportError:
            log("independent reader skipped: python3-cryptography is not installed")
            return
        r = run([sys.executable, reader, "--topology", TOPOLOGY] + self.sets + [self.ledger], "mpbs_ledger.py",
                check=False)
        self.results["reader"] = r.returncode == 0


def closing_reasons(test):
    """What the parts' exits and verify say, once everything stopped
    (run.py's test and bench.py's share it)."""
    reasons = [f"part {host} exited {rc}" for host, rc in test.results["parts"].items() if rc != 0]
    if not test.results["verify"]:
        reasons.append("verify failed (or did not run)")
    return reasons


def main():
    args = parse_args()
    if os.geteuid() != 0:
        print("multihost: run as root (the host parts need it)", file=sys.stderr)
        return 2
    if not os.path.exists(TOPOLOGY):
        print("multihost: run from the repository's top", file=sys.stderr)
        return 2
    test = Test(args)
    answered = confirmed = duplicates = 0
    reasons = []
    try:
        test.prepare()
        test.start_cluster()
        test.nats_init()
        test.check_parts()
        test.permtest()
        test.start_parts()
        load, faults = test.load()
        answered = load.answered
        reasons += faults.errors
        wall0 = time.time_ns()
        recs = wait_confirmed(args.binary, test.ledger, answered)
        log(f"ledger: {len({op for op, _ in recs})} distinct confirmed "
            f"{(time.time_ns() - wall0) / 1e9:.1f} s after the load")
        test.stop_parts()
        recs = ledger_confirmed(args.binary, test.ledger)
        confirmed = len(recs)
        duplicates = confirmed - len({op for op, _ in recs})
        # each kill's figures up to the next kill (the last: 120 s)
        kills = sorted((since, what) for what, since in (
            ("NATS node kill", faults.nats_kill_wall), ("association kill", faults.assoc_kill_wall),
            ("bridge kill", faults.bridge_kill_wall)) if since is not None)
        for k, (since, what) in enumerate(kills):
            until = kills[k + 1][0] if k + 1 < len(kills) else since + 120 * 10**9
            pause, first = longest_pause(recs, since, until - since)
            inside = sum(1 for _, t in recs if since < t <= until)
            log(f"{what}: {inside} confirmations in the {(until - since) / 1e9:.2f} s to "
                + (f"the {kills[k + 1][1]}" if k + 1 < len(kills) else "the end")
                + (f", the first {first:.2f} s after it, longest pause between confirmations {pause:.2f} s"
                   if pause is not None else ""))
        if faults.assoc_kill_wall is not None and not any(t > faults.assoc_kill_wall for _, t in recs):
            reasons.append("no confirmation recorded after the association's kill")
        for f in faults.figures:
            log(f)
        # what the restarted association says of its rebuild and of the
        # frames that came again (the bridge's replay, provider C's journal)
        for line in tail(os.path.join(test.top, f"{faults.assoc_part}.log"), 100000):
            m = re.search(r"association: info: (rebuilt from .*|provider \S+: \d+ frames it sent again .*)", line)
            if m:
                log(f"association: {m.group(1).strip()}")
        test.stop_cluster()
        test.verify()
        if load.answered != args.requests:
            reasons.append(f"{args.requests - load.answered} of {args.requests} requests not answered 204")
        if confirmed != answered:
            reasons.append(f"{confirmed} confirmed records ({confirmed - duplicates} distinct operations), "
                           f"{answered} requests answered")
        if duplicates:
            reasons.append(f"{duplicates} duplicate confirmations")
    except Failure as e:
        reasons.append(str(e))
    except KeyboardInterrupt:
        reasons.append("interrupted")
    finally:
        test.started.stop_all()
    reasons += closing_reasons(test)
    if test.results["permtest"] is False:
        reasons.append("the permission test failed (or did not run)")
    if test.results["reader"] is False:
        reasons.append("the independent ledger reader failed")
    if reasons:
        for r in reasons:
            log(f"FAIL: {r}")
        for name, lines in [(p, 40) for p in PARTS] + [(f"nats/n{i}", 15) for i in (1, 2, 3)]:
            path = os.path.join(test.top, f"{name}.log")
            if os.path.exists(path):
                print(f"---- tail of {path}")
                sys.stdout.writelines(tail(path, lines))
    elif not args.keep:
        clear_append_only(test.top)
        shutil.rmtree(test.top, ignore_errors=True)
    # M: confirmed records; D: those beyond the distinct operations.
    print(f"multihost: answered={answered} confirmed={confirmed} duplicates={duplicates} "
          f"verify={'OK' if test.results['verify'] else 'FAIL'}", flush=True)
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
