/* SPDX-License-Identifier: Apache-2.0 */
/* An index of fixed-length keys (operation ids, or prefixes of them):
 * open addressing over dense storage, so every key keeps the number it got
 * when inserted (0, 1, 2, ...) and callers keep what they know of it in
 * arrays of their own indexed by that number. The hash is SipHash under a
 * key drawn at init, so keys that a ledger's author chose cannot pile up in
 * one probe run. */
#ifndef MPBS_OP_INDEX_H
#define MPBS_OP_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OP_INDEX_NONE UINT32_MAX

struct op_index {
	size_t key_len;
	uint8_t *keys;     /* n × key_len, in insertion order */
	uint32_t n, keys_cap;
	uint32_t *slots;   /* number + 1; 0 empty */
	uint32_t slots_mask;
	uint8_t hash_key[16];
};

/* An empty index of key_len-byte keys (at most 64). Returns 0 or -1 (ENOMEM). */
int op_index_init(struct op_index *x, size_t key_len);
void op_index_free(struct op_index *x);
/* The number of key, or OP_INDEX_NONE. */
uint32_t op_index_find(const struct op_index *x, const uint8_t *key);
/* The number of key, inserted when new (*added tells). OP_INDEX_NONE when
 * out of memory or full (2^32 - 1 keys). */
uint32_t op_index_add(struct op_index *x, const uint8_t *key, bool *added);
static inline const uint8_t *op_index_key(const struct op_index *x, uint32_t i)
{
	return x->keys + (size_t)i * x->key_len;
}

#endif
