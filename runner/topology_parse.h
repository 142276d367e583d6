/* SPDX-License-Identifier: Apache-2.0 */
/* The state of one topology_load, shared by its reader (topology.c) and its
 * checks (topology_check.c); nothing outside the topology code sees it. */
#ifndef MPBS_TOPOLOGY_PARSE_H
#define MPBS_TOPOLOGY_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/ini_file.h"
#include "topology.h"
#include "topology_keys.h"

/* Where a value came from, so that a later check can point at it. */
struct origin {
	int line;     /* > 0: a line of the file */
	int override; /* >= 0: index of a --set; -1 otherwise */
};

/* No line: "FILE: ..."; bare: the message names the file itself. */
#define ORIGIN_NONE ((struct origin){ 0, -1 })
#define ORIGIN_BARE ((struct origin){ 0, -2 })

struct section_state {
	char label[sizeof("provider ") + WIRE_PROVIDER_ID_MAX];
	int line;             /* of its header; 0 while the file has none */
	uint32_t set_in_file; /* bit i: key i was set by a line (duplicates) */
	struct origin at[TOPO_SECTION_KEYS_MAX];
	void *target;               /* struct topology, or its struct topo_provider */
	struct topo_limits *limits; /* its every-role keys; NULL for [runner] */
	const struct topo_key *keys[TOPO_SECTION_KEYS_MAX];
	size_t n_keys;
};

struct parse {
	struct topology *t;
	char *const *overrides;
	unsigned flags;      /* topology_load_with's */
	const char *host;    /* topology_load_part's: the host part whose files are checked, or NULL */
	struct ini_file ini; /* the file, the line being read, and the first error of the whole load */
	struct section_state runner;
	struct section_state nats;
	struct section_state role[ROLE_KINDS]; /* the sections of one-role kinds */
	struct section_state prov[TOPO_PROVIDERS_MAX];
	struct section_state *cur;
};

/* Records the first error only (later ones are usually its consequences):
 * "FILE:LINE: [section] key: message", "--set S.K=V: message". */
int fail_at(struct parse *p, struct origin o, const struct section_state *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

struct origin line_origin(int line);

/* The key's index in the section, or -1. */
int find_key(const struct section_state *s, const char *key);

/* Where the key's value came from, else the section's header. */
struct origin origin_of(const struct section_state *s, const char *key);

/* Every check that needs the whole file (runner/topology_check.c). */
int topology_check(struct parse *p);

/* The checks of a topology spread over hosts, first among them; sets
 * t->this_host from p->host (runner/topology_hosts.c). */
int topology_check_hosts(struct parse *p);

#endif
