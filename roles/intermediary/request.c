/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* A POST on the path, from its head to its artifact: the body, the context
 * and the token, kept until the turn's artifacts are written (channels.c)
 * and then given back. Requests come from a small pool, so the steady
 * state allocates nothing per request; a body that outgrew the inline
 * buffer, or a token, is freed when the request is. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "intermediary_internal.h"

#define REQUEST_POOL_MAX 256

struct request *request_new(struct intermediary *im)
{
	struct request *r = im->free_requests;
	if (r) {
		im->free_requests = r->next;
		im->n_free_requests--;
	} else if (!(r = malloc(sizeof(*r)))) {
		return NULL;
	}
	r->next = NULL;
	r->len = 0;
	r->cap = REQ_INLINE;
	r->oversize = false;
	r->header_over = false;
	r->has_ctx = false;
	r->has_tok = false;
	r->body = r->inline_buf;
	r->ctx_len = 0;
	r->tok_len = 0;
	r->tok_cap = 0;
	r->tok = NULL;
	return r;
}

/* What a request carried is wiped before its memory is reused: the role
 * keeps nothing of a request once its answer is queued. */
void request_free(struct intermediary *im, struct request *r)
{
	if (r->body != r->inline_buf) {
		sodium_memzero(r->body, r->len);
		free(r->body);
	} else {
		sodium_memzero(r->inline_buf, r->len);
	}
	if (r->tok) {
		sodium_memzero(r->tok, r->tok_len);
		free(r->tok);
	}
	sodium_memzero(r->ctx, r->ctx_len);
	if (im->n_free_requests == REQUEST_POOL_MAX) {
		free(r);
		return;
	}
	r->next = im->free_requests;
	im->free_requests = r;
	im->n_free_requests++;
}

void request_pool_free(struct intermediary *im)
{
	while (im->free_requests) {
		struct request *r = im->free_requests;
		im->free_requests = r->next;
		free(r);
	}
	im->n_free_requests = 0;
}

void request_append(struct request *r, const char *data, size_t n, size_t max)
{
	if (r->oversize)
		return;
	if (n > max - r->len) {
		r->oversize = true;
		return;
	}
	if (r->len + n > r->cap) {
		size_t cap = r->cap;
		while (cap < r->len + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		uint8_t *nb = r->body == r->inline_buf ? malloc(cap) : realloc(r->body, cap);
		if (!nb) {
			r->oversize = true; /* dropped like an oversize body: still 204 */
			return;
		}
		if (r->body == r->inline_buf)
			memcpy(nb, r->inline_buf, r->len);
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
}

static void token_append(struct request *r, const char *data, size_t n)
{
	if (n > WIRE_TOKEN_MAX - r->tok_len) {
		r->header_over = true;
		return;
	}
	if (r->tok_len + n > r->tok_cap) {
		size_t cap = r->tok_cap ? r->tok_cap : 256;
		while (cap < r->tok_len + n)
			cap *= 2;
		if (cap > WIRE_TOKEN_MAX)
			cap = WIRE_TOKEN_MAX;
		char *nb = realloc(r->tok, cap);
		if (!nb) {
			r->header_over = true; /* dropped, still 204 */
			return;
		}
		r->tok = nb;
		r->tok_cap = cap;
	}
	memcpy(r->tok + r->tok_len, data, n);
	r->tok_len += n;
}

void request_header_append(struct request *r, enum header h, const char *data, size_t n)
{
	if (r->header_over || n == 0)
		return;
	if (h == HEADER_TOKEN) {
		token_append(r, data, n);
	} else if (n > WIRE_CONTEXT_MAX - r->ctx_len) {
		r->header_over = true;
	} else {
		memcpy(r->ctx + r->ctx_len, data, n);
		r->ctx_len += n;
	}
}

void request_header_begin(struct request *r, enum header h)
{
	bool *seen = h == HEADER_TOKEN ? &r->has_tok : &r->has_ctx;
	if (*seen)
		r->header_over = true;
	*seen = true;
}

static size_t trimmed(const char *v, size_t len)
{
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	return len;
}

void request_header_end(struct request *r, enum header h)
{
	if (h == HEADER_TOKEN)
		r->tok_len = r->tok ? trimmed(r->tok, r->tok_len) : 0;
	else
		r->ctx_len = trimmed(r->ctx, r->ctx_len);
}
