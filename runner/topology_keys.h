/* SPDX-License-Identifier: Apache-2.0 */
/* Every key of topology.conf, one row each: its section, name, type,
 * default, range and a one-line description. The parser takes the keys it
 * accepts, their types, ranges and defaults from these rows; `mpbs-run
 * --print-keys` prints them as the README's key table (a test keeps the two
 * equal), and mpbs-topology(5) lists them (docs/man/gen.c). */
#ifndef MPBS_TOPOLOGY_KEYS_H
#define MPBS_TOPOLOGY_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/doc_text.h"
#include "role_table.h"

/* What a key's value is, and so how it is parsed (runner/topology_values.c). */
enum topo_type {
	TOPO_UINT,        /* a decimal integer in [min, max] */
	TOPO_SIZE,        /* bytes, with an optional K, M, G or T suffix, in [min, max] */
	TOPO_MS,          /* milliseconds to the microsecond ("2", "1.5", "0.25"), stored in µs, in [min, max] µs */
	TOPO_BOOL,        /* yes/no (true/false, 1/0) */
	TOPO_PATH,        /* a path, relative to the topology file's directory */
	TOPO_LISTEN,      /* A.B.C.D:PORT or [IPv6]:PORT */
	TOPO_HTTP_PATH,   /* '/' and what a request path may hold */
	TOPO_CONFIRM,     /* all, or an integer in [min, max] */
	TOPO_CPU_MAX,     /* cgroup v2 cpu.max: QUOTA PERIOD or max PERIOD */
	TOPO_RESTART,     /* always, on-failure or never */
	TOPO_APPEND_ONLY, /* required or best-effort */
	TOPO_HOST,        /* a host part's name: 1 to TOPO_HOST_MAX of A-Z a-z 0-9 _ - */
	TOPO_NATS_SERVERS,/* nats://IP:PORT or tls://IP:PORT, comma-separated */
};

/* A key's section: [runner], the section of one role kind (its name in the
 * role table, "[provider NAME]" for a per-provider kind), or every role
 * section alike. */
#define TOPO_SECTION_RUNNER (-1)
#define TOPO_SECTION_NATS (-2)
#define TOPO_SECTION_EVERY_ROLE ((int)ROLE_KINDS)

struct topo_key {
	int section;          /* a role kind, TOPO_SECTION_RUNNER, TOPO_SECTION_NATS or TOPO_SECTION_EVERY_ROLE */
	const char *name;
	enum topo_type type;
	size_t offset;        /* of its field in the section's struct: struct topology for [runner] and the
			       * one-role sections, struct topo_provider for [provider NAME], struct
			       * topo_limits for every role section */
	size_t width;         /* of an integer field */
	uint64_t min, max;    /* of TOPO_UINT, TOPO_SIZE, TOPO_MS (in µs), TOPO_CONFIRM */
	const char *dflt;     /* the default, as the file would write it; set through the parser before the file is read */
	const char *dflt_doc; /* instead of dflt: a default computed from other keys, or none ("—") */
	bool required;
	const char *doc;      /* one line, for the README and the man page */
};

extern const struct topo_key topo_keys[];
extern const size_t topo_n_keys;

/* Most keys any one section takes. */
#define TOPO_SECTION_KEYS_MAX 32

/* "[runner]", "[nats]", "[intermediary]", "[provider NAME]", "every role section". */
void topo_section_title(int section, char *out, size_t len);

/* Whether a section of this role kind (or [runner], [nats]) takes key k. */
bool topo_key_in_section(const struct topo_key *k, int section);

/* Writes every key to f, in row order: as the README's table (Markdown), or
 * as mpbs-topology(5)'s key list (scdoc: a subsection per section). Returns
 * 0, or -1 on a write error. */
int topo_keys_doc(FILE *f, enum doc_format fmt);

/* What `mpbs-run --print-keys` prints and the README holds between its
 * markers: the key table, then the table of each role's default rlimits
 * (runner/limits.h). */
int topo_reference_markdown(FILE *f);

#endif
