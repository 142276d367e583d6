/* SPDX-License-Identifier: Apache-2.0 */
#include "topology_keys.h"

#include <string.h>

#include "../lib/wire.h"
#include "limits.h"
#include "topology.h"
#include "topology_values.h"

#define SIZE_64K (1ull << 16)
#define SIZE_1M (1ull << 20)
#define SIZE_1T (1ull << 40)
#define SIZE_1P (1ull << 50)

#define FIELD(type, field) offsetof(type, field), sizeof(((type *)0)->field)
#define TOPO(field) FIELD(struct topology, field)
#define PROV(field) FIELD(struct topo_provider, field)
#define LIM(field) FIELD(struct topo_limits, field)

#define RUNNER TOPO_SECTION_RUNNER
#define NATS TOPO_SECTION_NATS
#define NATSF(field) TOPO(nats.field)
#define IM ROLE_INTERMEDIARY
#define AS ROLE_ASSOCIATION
#define PV ROLE_PROVIDER
#define EVERY TOPO_SECTION_EVERY_ROLE

const struct topo_key topo_keys[] = {
	{ RUNNER, "uid_base", TOPO_UINT, TOPO(uid_base), 1, UINT32_MAX - 1000, "200000", NULL, false,
	  "the run's first host uid: each role runs as `uid_base` + its row's offset in `runner/role_table.c` "
	  "(intermediary 0, association 1, provider i 2 + i)" },
	{ RUNNER, "restart_budget", TOPO_UINT, TOPO(restart_budget), 0, 10000, "10", NULL, false,
	  "restarts of each role within a minute (a budget per role, not shared); past it the run stops, or a provider is given up on" },
	{ RUNNER, "restart_backoff_ms", TOPO_UINT, TOPO(restart_backoff_ms), 1, 600000, "100", NULL, false,
	  "ms before a role's first restart, doubled for each next one" },
	{ RUNNER, "restart_backoff_max_ms", TOPO_UINT, TOPO(restart_backoff_max_ms), 1, 3600000, "5000", NULL, false,
	  "the longest backoff before a restart, ms" },
	{ RUNNER, "require_cgroups", TOPO_BOOL, TOPO(require_cgroups), 0, 0, "no", NULL, false,
	  "fail instead of warning when cgroup v2 limits are unavailable" },

	{ NATS, "servers", TOPO_NATS_SERVERS, NATSF(servers), 0, 0, NULL, "—", false,
	  "the NATS servers every host part's bridge connects to, comma-separated `nats://IP:PORT` or `tls://IP:PORT` "
	  "(addresses, not names; all `tls://` or all `nats://`, and `nats://` off loopback is warned about: the "
	  "password crosses the network in clear); needed once any role sets `host` (`docs/MULTIHOST.md`)" },
	{ NATS, "credentials", TOPO_PATH, NATSF(credentials), 0, 0, NULL, "—", false,
	  "a directory of NATS passwords: `HOST.password` for each host part's bridge (user `mpbs-HOST`), "
	  "`admin.password` for `mpbs-run nats-init`; `mpbs-run nats-config` writes missing ones" },
	{ NATS, "tls_ca", TOPO_PATH, NATSF(tls_ca), 0, 0, NULL, "—", false,
	  "CA certificates the bridge checks the servers with (required with `tls://` servers)" },
	{ NATS, "tls_cert", TOPO_PATH, NATSF(tls_cert), 0, 0, NULL, "—", false,
	  "the bridge's client certificate, when the servers ask for one" },
	{ NATS, "tls_key", TOPO_PATH, NATSF(tls_key), 0, 0, NULL, "—", false,
	  "its private key" },
	{ NATS, "replicas", TOPO_UINT, NATSF(replicas), 1, 5, "3", NULL, false,
	  "copies of each stream in the NATS cluster (`mpbs-run nats-init`)" },
	{ NATS, "stream_bytes", TOPO_SIZE, NATSF(stream_bytes), SIZE_1M, SIZE_1T, "256M", NULL, false,
	  "most bytes one stream holds; past it publishes wait (never dropped) until the consumer catches up" },
	{ NATS, "batch_frames", TOPO_UINT, NATSF(batch_frames), 1, 4096, "256", NULL, false,
	  "most channel messages one NATS message carries" },
	{ NATS, "batch_bytes", TOPO_SIZE, NATSF(batch_bytes), 4096, SIZE_1M, "512K", NULL, false,
	  "most bytes of one NATS message" },
	{ NATS, "window", TOPO_UINT, NATSF(window), 1, 256, "8", NULL, false,
	  "most unacknowledged NATS messages per channel; a full window stops the bridge reading that channel, "
	  "which holds its writer back as on one host" },
	{ NATS, "allow_any_tcp_port", TOPO_BOOL, NATSF(allow_any_tcp_port), 0, 0, "no", NULL, false,
	  "`yes`: a part's bridge also runs where Landlock cannot restrict TCP connect (ABI < 4, Linux before 6.7); "
	  "its only network restriction is then the seccomp socket family rule, and it may connect to any TCP port. "
	  "`no`: such a part refuses to start (exit 78), and `-t --host` says so" },

	{ IM, "host", TOPO_HOST, TOPO(intermediary_host), 0, 0, NULL, "—", false,
	  "the host part it runs in (`mpbs-run --host NAME`); unset in every section: one host, no NATS" },
	{ IM, "listen", TOPO_LISTEN, TOPO(listen), 0, 0, "127.0.0.1:8080", NULL, false,
	  "`ADDR:PORT` or `[V6]:PORT`" },
	{ IM, "path", TOPO_HTTP_PATH, TOPO(http_path), 0, 0, "/nuvl", NULL, false,
	  "the only path that accepts POST" },
	{ IM, "max_request", TOPO_UINT, TOPO(max_request), 1, WIRE_BODY_MAX, "65536", NULL, false,
	  "larger bodies are dropped (still 204)" },
	{ IM, "max_connections", TOPO_UINT, TOPO(max_connections), 1, 1000000, "4096", NULL, false,
	  "open HTTP connections at most" },
	{ IM, "max_connections_per_ip", TOPO_UINT, TOPO(max_connections_per_ip), 0, 1000000, "0", NULL, false,
	  "open connections from one address at most; 0: no cap" },
	{ IM, "timeout", TOPO_UINT, TOPO(http_timeout), 1, 3600, "15", NULL, false,
	  "seconds a connection may be idle before it is closed" },
	{ IM, "header_timeout", TOPO_UINT, TOPO(header_timeout), 1, 3600, "20", NULL, false,
	  "seconds to send a request head, from the moment the connection could (it opened, or the previous response went out)" },
	{ IM, "body_timeout", TOPO_UINT, TOPO(body_timeout), 1, 3600, "30", NULL, false,
	  "seconds to send a body after its head; else the connection is closed" },
	{ IM, "stall_timeout", TOPO_UINT, TOPO(stall_timeout_ms), 1, 3600000, "300000", NULL, false,
	  "ms new requests are held back while a provider's artifact channel stays full; past it that channel is "
	  "marked stuck and its copies dropped (still 204, counted at its stop) until it drains. It must outlast a "
	  "provider's or the association's restart (`docs/RELIABILITY.md`)" },

	{ AS, "host", TOPO_HOST, TOPO(association_host), 0, 0, NULL, "—", false,
	  "the host part it runs in" },
	{ AS, "ledger", TOPO_PATH, TOPO(ledger), 0, 0, "/var/lib/mpbs/ledger", NULL, false,
	  "the ledger's live segment (created, marked append-only); sealed segments sit beside it as `LEDGER.NNNNNN`, "
	  "the spare as `LEDGER.next`, the instance lock as `LEDGER.lock` (`docs/LEDGER.md`)" },
	{ AS, "ledger_append_only", TOPO_APPEND_ONLY, TOPO(ledger_append_only), 0, 0, "required", NULL, false,
	  "`required`: refuse to start when the ledger's filesystem cannot set `FS_APPEND_FL` (e.g. ramfs); "
	  "`best-effort`: warn and run" },
	{ AS, "keys", TOPO_PATH, TOPO(association_keys), 0, 0, NULL, "LEDGER_DIR/association-keys", false,
	  "the association's own Ed25519 pair (`signal.key`, `signal.pub`, as `mpbs-run keygen DIR` writes), bound "
	  "read-only at `/keys` into its sandbox alone; it signs ledger heads (what it wrote), never an outcome" },
	{ AS, "public_key", TOPO_PATH, TOPO(association_public_key), 0, 0, NULL, "KEYS/signal.pub", false,
	  "what `verify --topology` checks heads with" },
	{ AS, "demo_keys", TOPO_BOOL, TOPO(association_demo_keys), 0, 0, "yes", NULL, false,
	  "generate the association's pair on first start (owned by its host uid); `no` for a provisioned, pinned key" },
	{ AS, "segment_size", TOPO_SIZE, TOPO(segment_size), SIZE_64K, SIZE_1T, "256M", NULL, false,
	  "the association seals the live segment and starts the next once it reaches this size" },
	{ AS, "segment_age", TOPO_UINT, TOPO(segment_age), 0, 31622400, "0", NULL, false,
	  "or once its first block is this many seconds old (checked at each group commit); 0: no age limit" },
	{ AS, "keep_segments", TOPO_UINT, TOPO(keep_segments), 0, UINT32_MAX, "0", NULL, false,
	  "sealed segments kept: the supervisor removes older ones after each rotation and at start; 0: keep all" },
	{ AS, "keep_days", TOPO_UINT, TOPO(keep_days), 0, 36600, "0", NULL, false,
	  "sealed segments sealed (last written) more than this many days ago are removed; 0: keep all. The live "
	  "segment and the spare are never removed" },
	{ AS, "confirm", TOPO_CONFIRM, TOPO(confirm_k), 1, TOPO_PROVIDERS_MAX, "all", NULL, false,
	  "`all`, or K for K-of-N" },
	{ AS, "pending_timeout", TOPO_UINT, TOPO(pending_timeout), 1, 86400, "30", NULL, false,
	  "seconds before an unconfirmed operation is recorded `incomplete`" },
	{ AS, "pending_max", TOPO_UINT, TOPO(pending_max), 16, 16777216, "65536", NULL, false,
	  "most operations awaiting confirmation; each provider may hold `pending_max / N` of them, and at its quota "
	  "evicts only its own (`docs/PROTOCOL.md`)" },

	{ PV, "host", TOPO_HOST, PROV(host), 0, 0, NULL, "—", false,
	  "the host part it runs in" },
	{ PV, "policy", TOPO_PATH, PROV(policy), 0, 0, NULL, "—", true,
	  "the provider's private policy; read only inside its sandbox" },
	{ PV, "keys", TOPO_PATH, PROV(keys), 0, 0, NULL, "—", true,
	  "its key directory (`signal.key`: owned by the provider's host uid, no group or other bit, else refused "
	  "naming the file), bound read-only into it alone; never the same as, inside or containing another "
	  "provider's (compared by inode)" },
	{ PV, "public_key", TOPO_PATH, PROV(public_key), 0, 0, NULL, "KEYS/signal.pub", false,
	  "handed to the association" },
	{ PV, "state", TOPO_PATH, PROV(state), 0, 0, NULL, "—", false,
	  "a writable state directory bound at `/state` (noexec); never the same as, inside or containing any "
	  "provider's `keys` or another provider's `state` (compared by inode)" },
	{ PV, "receive_body", TOPO_BOOL, PROV(receive_body), 0, 0, "no", NULL, false,
	  "whether its artifact carries the body" },
	{ PV, "demo_keys", TOPO_BOOL, PROV(demo_keys), 0, 0, "no", NULL, false,
	  "generate a key pair into `keys` if it has none" },
	{ PV, "exec", TOPO_BOOL, PROV(exec), 0, 0, "no", NULL, false,
	  "may run an evaluator or handler (read-only system dirs, `provider-exec.policy`); needs `nproc` in the "
	  "same section" },
	{ PV, "exec_dir", TOPO_PATH, PROV(exec_dir), 0, 0, NULL, "—", false,
	  "with `exec`: its programs' directory, bound read-only at `/exec`; it may hold no key directory, policy "
	  "file or state directory of any provider, nor lie inside one (compared by inode)" },
	{ PV, "checkpoint_every", TOPO_UINT, PROV(checkpoint_every), 1, 65536, "256", NULL, false,
	  "signals at most between two checkpoints" },
	{ PV, "checkpoint_ms", TOPO_MS, PROV(checkpoint_us), 100, 60000000, "1.5", NULL, false,
	  "ms at most before a signal is covered by a checkpoint, to the µs: checkpoints fall on multiples of it "
	  "on the host's monotonic clock, the same instants for every provider; each costs the association one "
	  "signature check (about 65 µs)" },

	{ EVERY, "restart", TOPO_RESTART, LIM(restart), 0, 0, "on-failure", NULL, false,
	  "`always`, `on-failure` or `never` (stop the run when it ends); a role never ends on its own while the "
	  "run goes on, so any end, exit 0 included, is a failure and `always` and `on-failure` behave alike" },
	{ EVERY, "nofile", TOPO_UINT, LIM(nofile), 1, INT32_MAX, NULL, "the role's (below)", false,
	  "RLIMIT_NOFILE (soft = hard)" },
	{ EVERY, "nproc", TOPO_UINT, LIM(nproc), 1, INT32_MAX, NULL, "the role's (below)", false,
	  "RLIMIT_NPROC (soft = hard)" },
	{ EVERY, "as", TOPO_SIZE, LIM(as_bytes), SIZE_1M, SIZE_1P, NULL, "the role's (below)", false,
	  "RLIMIT_AS (soft = hard)" },
	{ EVERY, "fsize", TOPO_SIZE, LIM(fsize), SIZE_1M, SIZE_1P, NULL, "the role's (below)", false,
	  "RLIMIT_FSIZE (soft = hard); not in `[association]`, whose ledger grows" },
	{ EVERY, "memory_max", TOPO_SIZE, LIM(memory_max), SIZE_1M, SIZE_1P, NULL, "—", false,
	  "cgroup v2 `memory.max`" },
	{ EVERY, "pids_max", TOPO_UINT, LIM(pids_max), 1, INT32_MAX, NULL, "—", false,
	  "cgroup v2 `pids.max`" },
	{ EVERY, "cpu_max", TOPO_CPU_MAX, LIM(cpu_max), 0, 0, NULL, "—", false,
	  "cgroup v2 `cpu.max`: `QUOTA PERIOD` or `max PERIOD` in microseconds" },
};

const size_t topo_n_keys = sizeof(topo_keys) / sizeof(topo_keys[0]);

void topo_section_title(int section, char *out, size_t len)
{
	if (section == TOPO_SECTION_RUNNER)
		snprintf(out, len, "[runner]");
	else if (section == TOPO_SECTION_NATS)
		snprintf(out, len, "[nats]");
	else if (section == TOPO_SECTION_EVERY_ROLE)
		snprintf(out, len, "every role section");
	else if (role_kinds[section].per_provider)
		snprintf(out, len, "[%s NAME]", role_kinds[section].name);
	else
		snprintf(out, len, "[%s]", role_kinds[section].name);
}

bool topo_key_in_section(const struct topo_key *k, int section)
{
	return k->section == section || (k->section == TOPO_SECTION_EVERY_ROLE && section >= 0);
}

/* What a value may be, as the table's "value" column says it. */
static void value_text(const struct topo_key *k, char *out, size_t len)
{
	switch (k->type) {
	case TOPO_UINT:
		snprintf(out, len, "%llu to %llu", (unsigned long long)k->min, (unsigned long long)k->max);
		return;
	case TOPO_SIZE: {
		char range[64];
		topo_size_range_text(k, range, sizeof(range));
		snprintf(out, len, "bytes (K, M, G, T), %s", range);
		return;
	}
	case TOPO_MS: {
		char range[80];
		topo_ms_range_text(k, range, sizeof(range));
		snprintf(out, len, "ms, %s", range);
		return;
	}
	case TOPO_CONFIRM:
		snprintf(out, len, "`all` or %llu to %llu", (unsigned long long)k->min, (unsigned long long)k->max);
		return;
	case TOPO_BOOL: snprintf(out, len, "yes or no"); return;
	case TOPO_PATH: snprintf(out, len, "path"); return;
	case TOPO_LISTEN: snprintf(out, len, "address:port"); return;
	case TOPO_HTTP_PATH: snprintf(out, len, "`/`..."); return;
	case TOPO_CPU_MAX: snprintf(out, len, "`QUOTA PERIOD`"); return;
	case TOPO_RESTART: snprintf(out, len, "`always`, `on-failure`, `never`"); return;
	case TOPO_APPEND_ONLY: snprintf(out, len, "`required`, `best-effort`"); return;
	case TOPO_HOST: snprintf(out, len, "a name"); return;
	case TOPO_NATS_SERVERS: snprintf(out, len, "URLs"); return;
	}
	snprintf(out, len, "?");
}

/* One row as the reference shows it: the walk both formats share. */
struct key_text {
	const struct topo_key *key;
	char section[64]; /* the section's title on its first row, "" on the next */
	char value[96];
	const char *dflt; /* the default, or a word on it; NULL when required */
};

static void key_text(size_t i, struct key_text *t)
{
	const struct topo_key *k = &topo_keys[i];
	t->key = k;
	t->section[0] = '\0';
	if (i == 0 || topo_keys[i - 1].section != k->section)
		topo_section_title(k->section, t->section, sizeof(t->section));
	value_text(k, t->value, sizeof(t->value));
	t->dflt = k->required ? NULL : k->dflt ? k->dflt : k->dflt_doc;
}

static void markdown_row(FILE *f, const struct key_text *t)
{
	const char *code = t->section[0] == '[' ? "`" : "";
	fprintf(f, "| %s%s%s | `%s` | %s | %s | %s |\n", code, t->section, code, t->key->name, t->value,
		t->dflt ? t->dflt : "(required)", t->key->doc);
}

/* A subsection per section, then one entry per key. */
static void scdoc_row(FILE *f, const struct key_text *t)
{
	if (t->section[0])
		fprintf(f, "## %s\n\n", t->section);
	char dflt[128] = "required";
	if (t->dflt && strcmp(t->dflt, "—") == 0)
		dflt[0] = '\0';
	else if (t->dflt)
		snprintf(dflt, sizeof(dflt), "default: %s", t->dflt);
	doc_key_entry(f, t->key->name, t->value, dflt[0] ? dflt : NULL, t->key->doc);
}

int topo_keys_doc(FILE *f, enum doc_format fmt)
{
	if (fmt == DOC_MARKDOWN)
		fprintf(f, "| section | key | value | default | meaning |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < topo_n_keys; i++) {
		struct key_text t;
		key_text(i, &t);
		if (fmt == DOC_MARKDOWN)
			markdown_row(f, &t);
		else
			scdoc_row(f, &t);
	}
	return doc_flush(f);
}

int topo_reference_markdown(FILE *f)
{
	if (topo_keys_doc(f, DOC_MARKDOWN) < 0)
		return -1;
	fprintf(f, "\nWhere a role's section sets none of `nofile`, `nproc`, `as`, `fsize`:\n\n");
	return limits_table(f, DOC_MARKDOWN);
}
