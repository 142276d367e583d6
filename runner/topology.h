/* SPDX-License-Identifier: Apache-2.0 */
/* topology.conf (docs/ARCHITECTURE.md §5): which roles run, where, with which keys.
 * What each key means, its range and its default: one row each in
 * runner/topology_keys.c; the fields below are where the values land.
 * Parsed with inih; relative paths resolve against the file's directory. */
#ifndef MPBS_TOPOLOGY_H
#define MPBS_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../lib/wire.h"
#include "role_table.h"

#define TOPO_PROVIDERS_MAX 64
#define EX_CONFIG_STATUS 78

/* What the supervisor does when a role dies while the run goes on. */
enum topo_restart {
	RESTART_ON_FAILURE, /* restart after a failure, which is any end while the run goes on */
	RESTART_ALWAYS,
	RESTART_NEVER,      /* stop the whole run */
};

/* Whether the ledger's inode must carry FS_APPEND_FL ([association]
 * ledger_append_only). */
enum topo_append_only {
	APPEND_ONLY_REQUIRED,    /* refuse to start without it */
	APPEND_ONLY_BEST_EFFORT, /* warn and run (a filesystem without the flag) */
};

/* Resource limits of one role; 0 means "not set" (rlimits get the role's
 * default from runner/limits.c, cgroup files are not written). The role's restart
 * policy rides along, as every role section takes it too. */
struct topo_limits {
	enum topo_restart restart;
	uint64_t nofile;
	uint64_t nproc;
	uint64_t as_bytes;
	uint64_t fsize;   /* RLIMIT_FSIZE bytes; never in [association] (the ledger grows) */
	uint64_t memory_max;
	uint64_t pids_max;
	char cpu_max[32]; /* cgroup "max 100000" form; "" when not set */
};

struct topo_provider {
	char name[WIRE_PROVIDER_ID_MAX + 1];
	char *policy;      /* absolute; read only by the provider itself */
	char *keys;        /* absolute key directory, bound read-only into that provider */
	char *public_key;  /* absolute */
	char *state;       /* absolute state directory, or NULL */
	bool receive_body;
	bool demo_keys;    /* generate a key pair into `keys` if it has none */
	bool exec;         /* may run an evaluator or handler: read-only system dirs and
			    * provider-exec.policy (execve) */
	char *exec_dir;    /* with exec: a directory of its programs, bound read-only (and
			    * executable) at /exec, or NULL */
	uint32_t checkpoint_every;
	uint32_t checkpoint_us; /* the key checkpoint_ms, in µs */
	char *host;        /* the host part it runs in, or NULL (one host) */
	struct topo_limits limits;
	int line;          /* line of the [provider NAME] header */
};

/* A host part's name ([A-Za-z0-9_-], as a provider's): NATS user names,
 * inbox prefixes and subjects are made from it. */
#define TOPO_HOST_MAX 32

/* [nats]: how the host parts of a topology spread over hosts reach each
 * other (docs/MULTIHOST.md). Unused, and never looked at, on one host. */
struct topo_nats {
	char *servers;        /* "nats://IP:PORT, tls://IP:PORT, ...": IP literals */
	char *credentials;    /* absolute directory: HOST.password per host part, admin.password */
	char *tls_ca;         /* absolute, or NULL */
	char *tls_cert;
	char *tls_key;
	uint32_t replicas;    /* of each stream */
	uint64_t stream_bytes;/* most bytes a stream holds before publishes wait */
	uint32_t batch_frames;/* most channel messages in one NATS message */
	uint64_t batch_bytes; /* most bytes of one NATS message */
	uint32_t window;      /* most unacknowledged batches per lane */
	bool allow_any_tcp_port; /* run the bridge where Landlock cannot restrict TCP connect (ABI < 4) */
};

struct topology {
	char *path;        /* as given */
	char *dir;         /* absolute directory of the file */

	/* [runner] */
	uint32_t uid_base;              /* host uids: runner/role_table.h role_host_uid */
	uint32_t restart_budget;        /* restarts per minute, of each role on its own */
	uint32_t restart_backoff_ms;    /* first delay, doubled per restart */
	uint32_t restart_backoff_max_ms;
	bool require_cgroups;
	/* What this run cannot enforce: WEAKENED_* bits of runner/rootless.h,
	 * set for --rootless (never by the file); 0 for a root run. */
	unsigned weakened;

	/* The host part this run is (`mpbs-run --host NAME`), or "" for the
	 * whole topology; set before the checks, which look only at the files
	 * of the roles of that part. */
	char this_host[TOPO_HOST_MAX + 1];
	struct topo_nats nats;

	/* [intermediary] */
	char *intermediary_host; /* the host part it runs in, or NULL (one host) */
	char *listen;      /* "ADDR:PORT" or "[V6]:PORT" */
	struct sockaddr_storage listen_addr;
	socklen_t listen_addrlen;
	char *http_path;   /* starts with '/' */
	size_t max_request;
	uint32_t max_connections;
	uint32_t max_connections_per_ip; /* 0: no per-address cap */
	uint32_t http_timeout;           /* seconds a connection may be idle */
	uint32_t header_timeout;         /* seconds to send a request head */
	uint32_t body_timeout;           /* seconds to send a body after its head */
	uint32_t stall_timeout_ms;       /* ms requests are held back behind a full artifact channel */

	/* [association] */
	char *association_host; /* the host part it runs in, or NULL (one host) */
	char *ledger;      /* absolute */
	enum topo_append_only ledger_append_only;
	char *association_keys;       /* absolute key directory (signal.key, signal.pub) for
				       * signing ledger heads */
	char *association_public_key; /* absolute */
	bool association_demo_keys;   /* generate the pair if missing */
	unsigned confirm_k;/* 0 means "all" */
	uint32_t pending_timeout; /* seconds */
	uint32_t pending_max;
	uint64_t segment_size;    /* bytes: the association rotates at this size */
	uint32_t segment_age;     /* seconds, or 0 */
	uint32_t keep_segments;   /* sealed segments kept, or 0: all */
	uint32_t keep_days;       /* days a sealed segment is kept, or 0: for ever */

	/* The limits and restart policy of each one-role kind's section, by
	 * role kind (a per-provider kind's are in its topo_provider). */
	struct topo_limits limits[ROLE_KINDS];

	size_t n_providers;
	struct topo_provider providers[TOPO_PROVIDERS_MAX];
};

/* Parses path, then applies overrides ("section.key=value" or
 * "provider.NAME.key=value"), then validates. Returns 0, or -1 with errbuf
 * set to "FILE:LINE: [section] key: message" (for an override
 * "--set section.key=value: message"). On failure t holds nothing to free. */
int topology_load(struct topology *t, const char *path, char *const *overrides, size_t n_overrides,
		  char *errbuf, size_t errlen);
/* The same with flags: TOPO_LOAD_KEYS_UNCHECKED lets key directories and
 * public keys be missing or unreadable, as with demo_keys (`keys init` is
 * about to write them; `verify` reads the public keys itself and says which
 * one it cannot read). */
#define TOPO_LOAD_KEYS_UNCHECKED 1u
/* TOPO_LOAD_FILES_UNCHECKED: no path the topology names is looked at
 * (policies, key directories, state, exec_dir): `verify` needs only the
 * names, the confirm rule and the public keys' paths, and may be run by a
 * user who can read none of the private files a run needs. */
#define TOPO_LOAD_FILES_UNCHECKED 2u
int topology_load_with(struct topology *t, const char *path, char *const *overrides, size_t n_overrides,
		       unsigned flags, char *errbuf, size_t errlen);
/* The same for one host part: host names a host part of the topology (its
 * roles' files are checked, no other's), or is NULL for the whole. */
int topology_load_part(struct topology *t, const char *path, char *const *overrides, size_t n_overrides,
		       unsigned flags, const char *host, char *errbuf, size_t errlen);
void topology_free(struct topology *t);

/* A decimal integer in [min, max], nothing before or after it; else -1 with
 * msg "expected an integer from MIN to MAX, got 'V'". Every number of the
 * topology and of the command line (runner/cli.c) is read by it. */
int topology_parse_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *msg, size_t len);

#endif
