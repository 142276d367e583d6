/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing one value of topology.conf by its key's type. */
#ifndef MPBS_TOPOLOGY_VALUES_H
#define MPBS_TOPOLOGY_VALUES_H

#include <stdbool.h>
#include <stddef.h>

#include "topology_keys.h"

/* Parses v as key k wants it and stores it in k's field of base (the
 * section's struct: see struct topo_key's offset). A path is made
 * absolute against dir and normalised. Returns 0, or -1 with msg saying what
 * was expected and what came. */
int topo_set_value(const struct topo_key *k, void *base, const char *dir, const char *v, char *msg, size_t len);

/* The range of a size key as its messages and the reference say it:
 * "64K to 1T", "1M to 1024T" (min in K below 1M, else in M; max in T). */
void topo_size_range_text(const struct topo_key *k, char *out, size_t len);
/* "0.1 to 60000": a TOPO_MS key's range in milliseconds. */
void topo_ms_range_text(const struct topo_key *k, char *out, size_t len);

/* Frees what topo_set_value allocated for key k in base (a path, an
 * address, a request path), and clears the field; other types hold no
 * memory. */
void topo_free_value(const struct topo_key *k, void *base);

/* Frees *field and stores fresh there; fresh NULL means out of memory
 * (returns -1 with msg set). */
int topo_replace_string(char **field, char *fresh, char *msg, size_t len);

/* 1 to TOPO_HOST_MAX bytes of [A-Za-z0-9_-]: a host part's name. */
bool topo_host_name_valid(const char *name);

#endif
