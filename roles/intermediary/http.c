/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* What a request means, through libhttp-parser's callbacks: a well-formed
 * POST on the path gets the constant 204 and its artifact (request.c,
 * channels.c); another path 404, another method 405; anything malformed
 * 400 and a head over HEAD_MAX 431, each then closing the connection.
 *
 * The parser frames the message (request line, headers, Content-Length or
 * chunked body) and refuses what it cannot frame, including a
 * Content-Length beside Transfer-Encoding and two different lengths. What it
 * lets through and this file refuses, as RFC 9112 asks of a server: two
 * Content-Length or two Transfer-Encoding headers (the setup of request
 * smuggling), HTTP/1.1 without Host, and a header name with a character
 * outside the token set (a space before the colon). Only the headers the
 * answer or the artifact depends on are kept (header()); the parser skips
 * the rest. */
#include <string.h>
#include <strings.h>

#include "intermediary_internal.h"

#define NAME_OVER 0xff /* a header name longer than any we look for */

/* The intermediary of the turn: the parser's callbacks get only the
 * connection (parser.data). The role has one thread. */
static struct intermediary *parsing;

static const struct {
	const char *text;
	size_t len;
} answers[ANSWERS] = {
#define A(s) { s, sizeof(s) - 1 }
	[ANSWER_CONTINUE] = A("HTTP/1.1 100 Continue\r\n\r\n"),
	[ANSWER_NO_CONTENT] = A("HTTP/1.1 204 No Content\r\n\r\n"),
	[ANSWER_NO_CONTENT_KEEP_ALIVE] = A("HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n"),
	[ANSWER_NO_CONTENT_CLOSE] = A("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"),
	[ANSWER_NOT_FOUND] = A("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
	[ANSWER_NOT_FOUND_CLOSE] = A("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
	[ANSWER_NOT_ALLOWED] = A("HTTP/1.1 405 Method Not Allowed\r\nAllow: POST\r\nContent-Length: 0\r\n\r\n"),
	[ANSWER_NOT_ALLOWED_CLOSE] =
		A("HTTP/1.1 405 Method Not Allowed\r\nAllow: POST\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
	[ANSWER_BAD_REQUEST] = A("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
	[ANSWER_HEAD_TOO_LARGE] =
		A("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
#undef A
};

const char *answer_text(enum answer a, size_t *len)
{
	*len = answers[a].len;
	return answers[a].text;
}

/* Set by a callback that fails the request: which answer it gets. */
static enum answer failure;

static int fail(enum answer a)
{
	failure = a;
	return -1; /* the parser stops with HPE_CB_* */
}

/* Counts head bytes; past HEAD_MAX the request gets 431. */
static bool head_grows(struct conn *cn, size_t n)
{
	cn->head_bytes += (uint32_t)(n > HEAD_MAX ? HEAD_MAX + 1 : n);
	return cn->head_bytes <= HEAD_MAX;
}

/* The POST being received, made on first need (a context or token header,
 * or the end of a head that is forwarded). NULL when memory ran out. */
static struct request *request_of(struct conn *cn)
{
	if (!cn->req && (cn->req = request_new(parsing)))
		parsing->in_flight++;
	return cn->req;
}

static void request_drop(struct conn *cn)
{
	if (!cn->req)
		return;
	request_free(parsing, cn->req);
	cn->req = NULL;
	parsing->in_flight--;
}

static int on_message_begin(http_parser *p)
{
	struct conn *cn = p->data;
	cn->in_head = true;
	cn->head_bytes = 0;
	cn->verdict = VERDICT_FORWARD;
	cn->header = HEADER_OTHER;
	cn->name_len = 0;
	cn->name_done = true; /* no header under way yet */
	cn->expect_len = 0;
	cn->n_content_length = cn->n_transfer_encoding = 0;
	cn->has_host = false;
	cn->url_len = 0;
	cn->url_other = cn->url_query = false;
	return 0;
}

/* The path is compared as it arrives; a query string is not part of it. */
static int on_url(http_parser *p, const char *at, size_t len)
{
	struct conn *cn = p->data;
	if (!head_grows(cn, len))
		return fail(ANSWER_HEAD_TOO_LARGE);
	if (cn->url_query || cn->url_other)
		return 0;
	const char *q = memchr(at, '?', len);
	size_t part = q ? (size_t)(q - at) : len;
	const char *path = parsing->cfg->path;
	size_t path_len = strlen(path);
	if (part > path_len - cn->url_len || memcmp(path + cn->url_len, at, part) != 0)
		cn->url_other = true;
	else
		cn->url_len += (uint16_t)part;
	cn->url_query = q != NULL;
	return 0;
}

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The header whose value just ended is complete. */
static void header_end(struct conn *cn)
{
	if ((cn->header == HEADER_CONTEXT || cn->header == HEADER_TOKEN) && cn->req)
		request_header_end(cn->req, cn->header);
	cn->header = HEADER_OTHER;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct conn *cn = p->data;
	if (!cn->in_head)
		return 0; /* a chunked body's trailer: not a header of the request */
	if (cn->name_done) { /* a new header: the previous one's value is complete */
		header_end(cn);
		cn->name_done = false;
		cn->name_len = 0;
		if (!head_grows(cn, 4)) /* ": " and CRLF */
			return fail(ANSWER_HEAD_TOO_LARGE);
	}
	if (!head_grows(cn, len))
		return fail(ANSWER_HEAD_TOO_LARGE);
	for (size_t i = 0; i < len; i++) {
		if (!is_tchar((unsigned char)at[i]))
			return fail(ANSWER_BAD_REQUEST);
		if (cn->name_len < sizeof(cn->name))
			cn->name[cn->name_len++] = (char)(at[i] | 0x20); /* ASCII lowercase for letters */
		else
			cn->name_len = NAME_OVER;
	}
	return 0;
}

static enum header header_named(const char *name, size_t len)
{
	static const struct {
		const char *name;
		enum header h;
	} known[] = {
		{ "host", HEADER_HOST },
		{ "expect", HEADER_EXPECT },
		{ "content-length", HEADER_CONTENT_LENGTH },
		{ "transfer-encoding", HEADER_TRANSFER_ENCODING },
		{ "x-verification-context", HEADER_CONTEXT },
		{ "x-provider-token", HEADER_TOKEN },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].name) == len && memcmp(known[i].name, name, len) == 0)
			return known[i].h;
	return HEADER_OTHER;
}

/* The first part of a header's value: which header it is, and what its
 * presence means. */
static int header_begin(struct conn *cn)
{
	cn->name_done = true;
	cn->header = cn->name_len == NAME_OVER ? HEADER_OTHER : header_named(cn->name, cn->name_len);
	switch (cn->header) {
	case HEADER_HOST:
		cn->has_host = true;
		break;
	case HEADER_CONTENT_LENGTH:
		cn->n_content_length++;
		break;
	case HEADER_TRANSFER_ENCODING:
		cn->n_transfer_encoding++;
		break;
	case HEADER_CONTEXT:
	case HEADER_TOKEN:
		if (!request_of(cn))
			return fail(ANSWER_BAD_REQUEST); /* out of memory: closed, nothing forwarded */
		request_header_begin(cn->req, cn->header);
		break;
	default:
		break;
	}
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct conn *cn = p->data;
	if (!cn->in_head)
		return 0;
	if (!head_grows(cn, len))
		return fail(ANSWER_HEAD_TOO_LARGE);
	if (!cn->name_done && header_begin(cn) != 0)
		return -1;
	if (cn->header == HEADER_CONTEXT || cn->header == HEADER_TOKEN) {
		request_header_append(cn->req, cn->header, at, len);
	} else if (cn->header == HEADER_EXPECT) {
		if (len > sizeof(cn->expect) - cn->expect_len)
			cn->expect_len = sizeof(cn->expect); /* longer than 100-continue: not it */
		else
			memcpy(cn->expect + cn->expect_len, at, len), cn->expect_len += (uint8_t)len;
	}
	return 0;
}

/* 404 or 405, saying Connection: close when the connection ends after it. */
static enum answer refusal(const struct conn *cn)
{
	if (cn->verdict == VERDICT_NOT_FOUND)
		return cn->close_after ? ANSWER_NOT_FOUND_CLOSE : ANSWER_NOT_FOUND;
	return cn->close_after ? ANSWER_NOT_ALLOWED_CLOSE : ANSWER_NOT_ALLOWED;
}

static bool expects_continue(const struct conn *cn)
{
	size_t len = cn->expect_len;
	while (len > 0 && (cn->expect[len - 1] == ' ' || cn->expect[len - 1] == '\t'))
		len--;
	return len == 12 && strncasecmp(cn->expect, "100-continue", 12) == 0;
}

static int on_headers_complete(http_parser *p)
{
	struct conn *cn = p->data;
	if (!cn->name_done && header_begin(cn) != 0) /* a last header with no value bytes */
		return -1;
	header_end(cn);
	cn->in_head = false;
	bool http11 = p->http_major > 1 || (p->http_major == 1 && p->http_minor >= 1);
	if (http11 && !cn->has_host)
		return fail(ANSWER_BAD_REQUEST);
	if (cn->n_content_length > 1 || cn->n_transfer_encoding > 1 ||
	    (cn->n_content_length && cn->n_transfer_encoding))
		return fail(ANSWER_BAD_REQUEST);
	deadline_arm(&parsing->deadlines, &cn->read_deadline, DEADLINE_BODY, clock_mono_ms());
	if (cn->url_other || cn->url_len != strlen(parsing->cfg->path))
		cn->verdict = VERDICT_NOT_FOUND;
	else if (p->method != HTTP_POST)
		cn->verdict = VERDICT_NOT_ALLOWED;
	if (cn->verdict != VERDICT_FORWARD) {
		request_drop(cn);
		if (expects_continue(cn)) {
			/* Answered now, without the body the client holds back;
			 * the connection then closes, as the body may follow or not. */
			cn->close_after = true;
			conn_answer(parsing, cn, refusal(cn));
			http_parser_pause(p, 1);
		}
		return 0;
	}
	if (!request_of(cn))
		return fail(ANSWER_BAD_REQUEST);
	if (http11 && expects_continue(cn))
		conn_answer(parsing, cn, ANSWER_CONTINUE);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct conn *cn = p->data;
	if (cn->req && cn->verdict == VERDICT_FORWARD)
		request_append(cn->req, at, len, parsing->cfg->max_request);
	return 0;
}

/* A complete POST on the path: its artifact joins the turn's batch (unless
 * it must be dropped) and its 204 is queued, to be written after the
 * batch. */
static enum answer forward(struct conn *cn, bool http10)
{
	struct request *r = cn->req;
	cn->req = NULL;
	parsing->in_flight--;
	parsing->requests++;
	if (r->oversize) {
		parsing->oversize++;
		request_free(parsing, r);
	} else if (r->header_over) {
		parsing->bad_header++;
		request_free(parsing, r);
	} else {
		batch_add(parsing, r);
	}
	if (cn->close_after)
		return ANSWER_NO_CONTENT_CLOSE;
	return http10 ? ANSWER_NO_CONTENT_KEEP_ALIVE : ANSWER_NO_CONTENT;
}

static int on_message_complete(http_parser *p)
{
	struct conn *cn = p->data;
	bool keep_alive = http_should_keep_alive(p);
	bool http10 = p->http_major == 1 && p->http_minor == 0;
	if (cn->close_after) /* answered at the head; nothing more is read */
		return 0;
	/* What follows an Upgrade request is not HTTP this role speaks: the
	 * connection closes after the answer, whether or not the parser
	 * stops here or pauses first (and would parse the rest on resume). */
	/* An HTTP/1.0 client keeps the connection only for a 204. A closing
	 * answer says so (Connection: close), so the client does not send its
	 * next request into a connection about to end. */
	if (p->upgrade || !keep_alive || (http10 && cn->verdict != VERDICT_FORWARD))
		cn->close_after = true;
	if (cn->verdict == VERDICT_FORWARD) {
		conn_answer(parsing, cn, forward(cn, http10));
	} else {
		request_drop(cn);
		conn_answer(parsing, cn, refusal(cn));
	}
	deadline_arm(&parsing->deadlines, &cn->read_deadline, DEADLINE_HEAD, clock_mono_ms());
	/* Room for the next request's two runs at most (100 and 204). */
	if (cn->close_after || cn->owed >= ANSWERS_OWED_MAX || cn->n_runs >= ANSWER_RUNS_MAX - 1)
		http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void http_conn_init(struct conn *cn)
{
	http_parser_init(&cn->parser, HTTP_REQUEST);
	cn->parser.data = cn;
}

size_t http_parse(struct intermediary *im, struct conn *cn, const char *data, size_t len)
{
	parsing = im;
	failure = ANSWER_BAD_REQUEST;
	size_t took = http_parser_execute(&cn->parser, &settings, data, len);
	enum http_errno e = HTTP_PARSER_ERRNO(&cn->parser);
	if (e == HPE_PAUSED)
		return took;
	if (e != HPE_OK || cn->parser.upgrade) {
		/* Malformed: the request under way is abandoned. An upgrade:
		 * the request was answered; the rest is not HTTP. */
		request_drop(cn);
		if (e != HPE_OK)
			conn_answer(im, cn, e == HPE_HEADER_OVERFLOW ? ANSWER_HEAD_TOO_LARGE : failure);
		cn->close_after = true;
		return len;
	}
	return took;
}

void http_abandon(struct intermediary *im, struct conn *cn)
{
	parsing = im;
	request_drop(cn);
}
