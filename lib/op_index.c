/* SPDX-License-Identifier: Apache-2.0 */
/* Open-addressing index of fixed-length keys (op_index.h): linear probing
 * in a power-of-two slot table at most half full. */
#define _GNU_SOURCE
#include "op_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define OP_INDEX_MIN_SLOTS 1024u

int op_index_init(struct op_index *x, size_t key_len)
{
	memset(x, 0, sizeof(*x));
	if (key_len == 0 || key_len > 64 || sodium_init() < 0) {
		errno = EINVAL;
		return -1;
	}
	x->key_len = key_len;
	x->slots = calloc(OP_INDEX_MIN_SLOTS, sizeof(*x->slots));
	if (!x->slots)
		return -1;
	x->slots_mask = OP_INDEX_MIN_SLOTS - 1;
	randombytes_buf(x->hash_key, sizeof(x->hash_key));
	return 0;
}

void op_index_free(struct op_index *x)
{
	free(x->keys);
	free(x->slots);
	memset(x, 0, sizeof(*x));
}

static uint32_t slot_of(const struct op_index *x, const uint8_t *key)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;
	crypto_shorthash(h, key, x->key_len, x->hash_key);
	memcpy(&v, h, sizeof(v));
	return (uint32_t)(v ^ (v >> 32)) & x->slots_mask;
}

uint32_t op_index_find(const struct op_index *x, const uint8_t *key)
{
	for (uint32_t s = slot_of(x, key);; s = (s + 1) & x->slots_mask) {
		uint32_t v = x->slots[s];
		if (v == 0)
			return OP_INDEX_NONE;
		if (memcmp(op_index_key(x, v - 1), key, x->key_len) == 0)
			return v - 1;
	}
}

static int grow_slots(struct op_index *x)
{
	uint32_t n_slots = (x->slots_mask + 1) * 2;
	if (n_slots == 0) {
		errno = ENOMEM;
		return -1;
	}
	uint32_t *slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return -1;
	free(x->slots);
	x->slots = slots;
	x->slots_mask = n_slots - 1;
	for (uint32_t i = 0; i < x->n; i++) {
		uint32_t s = slot_of(x, op_index_key(x, i));
		while (x->slots[s] != 0)
			s = (s + 1) & x->slots_mask;
		x->slots[s] = i + 1;
	}
	return 0;
}

uint32_t op_index_add(struct op_index *x, const uint8_t *key, bool *added)
{
	*added = false;
	uint32_t found = op_index_find(x, key);
	if (found != OP_INDEX_NONE)
		return found;
	if (x->n >= OP_INDEX_NONE - 1)
		return OP_INDEX_NONE;
	if ((uint64_t)(x->n + 1) * 2 > (uint64_t)x->slots_mask + 1 && grow_slots(x) < 0)
		return OP_INDEX_NONE;
	if (x->n == x->keys_cap) {
		uint32_t cap = x->keys_cap ? (x->keys_cap > UINT32_MAX / 2 ? UINT32_MAX : x->keys_cap * 2) : 1024;
		uint8_t *keys = reallocarray(x->keys, cap, x->key_len);
		if (!keys)
			return OP_INDEX_NONE;
		x->keys = keys;
		x->keys_cap = cap;
	}
	memcpy(x->keys + (size_t)x->n * x->key_len, key, x->key_len);
	uint32_t s = slot_of(x, key);
	while (x->slots[s] != 0)
		s = (s + 1) & x->slots_mask;
	x->slots[s] = x->n + 1;
	*added = true;
	return x->n++;
}
