/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The intermediary's connections: accepted on the listener the supervisor
 * bound, read once per turn into the loop's one buffer (http.c parses it
 * there; a connection keeps no read buffer of its own), answered with the
 * fixed answers it owes, closed by its deadlines (deadline.h).
 *
 * Only conns_write frees a connection. Everything else that ends one (an
 * error, the peer's FIN, a deadline) marks it dead and puts it on the
 * turn's write list, so no list holds a freed connection and an answer
 * already owed is still written first where it can be.
 *
 * Backpressure from a client that does not read its answers: a connection
 * owing ANSWERS_OWED_MAX answers, or as many different runs of them as it
 * can hold, is paused: the parser stops, the bytes after the request it
 * stopped at are kept (stash), and the connection is not read until its
 * answers are written. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "intermediary_internal.h"

/* Connections accepted per turn: a flood of new connections cannot starve
 * the ones already open. */
#define ACCEPT_MAX 64
/* How long accepting pauses after accept4 failed for want of resources. */
#define ACCEPT_PAUSE_MS 100
/* Answers written per send: a few pipelined runs. */
#define WRITE_MAX 4096

static void *listener_tag;

bool conns_init(struct intermediary *im, void *tag)
{
	listener_tag = tag;
	if (im->cfg->max_connections_per_ip && !peers_init(&im->peers, im->cfg->max_connections))
		return false;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };
	if (epoll_ctl(im->ep, EPOLL_CTL_ADD, im->cfg->listen_fd, &ev) < 0) {
		log_errno("epoll_ctl: add the listener");
		return false;
	}
	im->accepting = true;
	return true;
}

static void mark_dirty(struct intermediary *im, struct conn *cn)
{
	if (cn->dirty)
		return;
	cn->dirty = true;
	cn->next_dirty = im->dirty;
	im->dirty = cn;
}

static void conn_kill(struct intermediary *im, struct conn *cn)
{
	cn->dead = true;
	mark_dirty(im, cn);
}

/* What the epoll set should watch on cn, set when it changed. */
static void conn_watch(struct intermediary *im, struct conn *cn)
{
	uint32_t events = 0;
	if (cn->dead)
		return; /* closed at the end of the turn */
	if (!cn->dead && !cn->paused && !cn->peer_eof && (!cn->close_after || cn->lingering))
		events |= EPOLLIN;
	if (!cn->dead && cn->write_blocked)
		events |= EPOLLOUT;
	if (events == cn->events)
		return;
	struct epoll_event ev = { .events = events, .data.ptr = cn };
	if (epoll_ctl(im->ep, EPOLL_CTL_MOD, cn->fd, &ev) < 0) {
		log_errno("epoll_ctl: watch a connection");
		conn_kill(im, cn);
		return;
	}
	cn->events = events;
}

static void accept_again(struct intermediary *im)
{
	if (im->accepting || im->stopping)
		return;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = listener_tag };
	im->accepting = epoll_ctl(im->ep, EPOLL_CTL_ADD, im->cfg->listen_fd, &ev) == 0;
}

static void conn_free(struct intermediary *im, struct conn *cn)
{
	http_abandon(im, cn);
	deadline_disarm(&cn->read_deadline);
	deadline_disarm(&cn->idle_deadline);
	if (cn->counted)
		peers_remove(&im->peers, cn->peer);
	if (close(cn->fd) < 0)
		log_errno("close of a connection");
	*cn->pprev = cn->next;
	if (cn->next)
		cn->next->pprev = cn->pprev;
	free(cn->stash);
	free(cn);
	im->n_conns--;
	accept_again(im); /* when accept4 was failing for want of fds */
}

static bool conn_admit(struct intermediary *im, int fd, const struct sockaddr_storage *ss)
{
	if (im->n_conns >= im->cfg->max_connections) {
		im->refused++;
		return false;
	}
	struct conn *cn = calloc(1, sizeof(*cn));
	if (!cn)
		return false;
	if (im->cfg->max_connections_per_ip) {
		peer_address(ss, cn->peer);
		if (!peers_add(&im->peers, cn->peer, im->cfg->max_connections_per_ip)) {
			im->refused++;
			free(cn);
			return false;
		}
		cn->counted = true;
	}
	cn->fd = fd;
	cn->events = EPOLLIN;
	http_conn_init(cn);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = cn };
	if (epoll_ctl(im->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_errno("epoll_ctl: add a connection");
		if (cn->counted)
			peers_remove(&im->peers, cn->peer);
		free(cn);
		return false;
	}
	cn->next = im->all;
	cn->pprev = &im->all;
	if (im->all)
		im->all->pprev = &cn->next;
	im->all = cn;
	uint64_t now = clock_mono_ms();
	deadline_arm(&im->deadlines, &cn->read_deadline, DEADLINE_HEAD, now);
	deadline_arm(&im->deadlines, &cn->idle_deadline, DEADLINE_IDLE, now);
	im->n_conns++;
	return true;
}

/* Out of fds, or another error accept4 would repeat: the listener leaves
 * the epoll set, or the level-triggered listener would wake every turn
 * for nothing. It comes back when a connection closes, or after
 * ACCEPT_PAUSE_MS (conns_expire). */
static void accept_later(struct intermediary *im, int err)
{
	static bool told;
	if (!told)
		log_warn("accept: %s at %u connections; accepting again when one closes or in %d ms", strerror(err),
			 im->n_conns, ACCEPT_PAUSE_MS);
	told = true;
	if (epoll_ctl(im->ep, EPOLL_CTL_DEL, im->cfg->listen_fd, NULL) == 0) {
		im->accepting = false;
		im->accept_again_ms = clock_mono_ms() + ACCEPT_PAUSE_MS;
	}
}

void conns_accept(struct intermediary *im)
{
	for (int i = 0; i < ACCEPT_MAX && im->accepting; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(im->cfg->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == ECONNABORTED || errno == EINTR)
				continue; /* that one is gone; the next may be there */
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				accept_later(im, errno);
			return;
		}
		if (!conn_admit(im, fd, &ss) && close(fd) < 0)
			log_errno("close of a refused connection");
	}
}

void conns_stop_accepting(struct intermediary *im)
{
	im->stopping = true;
	if (im->accepting && epoll_ctl(im->ep, EPOLL_CTL_DEL, im->cfg->listen_fd, NULL) < 0)
		log_errno("epoll_ctl: remove the listener");
	im->accepting = false;
}

void conn_answer(struct intermediary *im, struct conn *cn, enum answer a)
{
	if (cn->n_runs && cn->runs[cn->n_runs - 1].answer == a) {
		cn->runs[cn->n_runs - 1].count++;
	} else if (cn->n_runs < ANSWER_RUNS_MAX) {
		cn->runs[cn->n_runs++] = (struct answer_run){ .answer = (uint8_t)a, .count = 1 };
	} else {
		conn_kill(im, cn); /* cannot happen: the parser pauses with room for two runs */
		return;
	}
	cn->owed++;
	mark_dirty(im, cn);
}

/* Parses bytes of cn; what a pause leaves is kept for later. */
static void conn_parse(struct intermediary *im, struct conn *cn, const char *data, size_t len)
{
	size_t took = http_parse(im, cn, data, len);
	if (cn->close_after) {
		conn_watch(im, cn); /* nothing more is read */
		return;
	}
	if (HTTP_PARSER_ERRNO(&cn->parser) == HPE_PAUSED)
		conn_pause(im, cn, data + took, len - took);
}

void conn_pause(struct intermediary *im, struct conn *cn, const char *rest, size_t len)
{
	if (len) {
		char *copy = malloc(len);
		if (!copy) {
			conn_kill(im, cn);
			return;
		}
		memcpy(copy, rest, len);
		cn->stash = copy;
		cn->stash_len = (uint32_t)len;
	}
	cn->paused = true;
	conn_watch(im, cn);
}

/* The peer sent its FIN, or the connection failed. */
static void conn_read_end(struct intermediary *im, struct conn *cn, ssize_t n)
{
	if (n < 0 || cn->lingering) {
		conn_kill(im, cn);
		return;
	}
	cn->peer_eof = true;
	http_abandon(im, cn); /* a request cut short is never forwarded */
	conn_watch(im, cn);
	mark_dirty(im, cn); /* closed once its answers are written */
}

void conn_read(struct intermediary *im, struct conn *cn)
{
	static char buf[READ_MAX];
	if (cn->dead || cn->paused || cn->peer_eof)
		return;
	ssize_t n = read(cn->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_read_end(im, cn, n);
		return;
	}
	deadline_arm(&im->deadlines, &cn->idle_deadline, DEADLINE_IDLE, clock_mono_ms());
	if (!cn->lingering && !cn->close_after)
		conn_parse(im, cn, buf, (size_t)n);
}

void conn_writable(struct intermediary *im, struct conn *cn)
{
	if (cn->write_blocked)
		mark_dirty(im, cn);
}

/* Takes n written bytes off the answers owed. */
static void answers_sent(struct conn *cn, size_t n)
{
	size_t i = 0;
	n += cn->first_sent;
	while (n > 0 && i < cn->n_runs) {
		size_t len;
		answer_text(cn->runs[i].answer, &len);
		if (n < len)
			break;
		n -= len;
		cn->owed--;
		if (--cn->runs[i].count == 0)
			i++;
	}
	cn->first_sent = (uint32_t)n;
	memmove(cn->runs, cn->runs + i, (cn->n_runs - i) * sizeof(cn->runs[0]));
	cn->n_runs = (uint8_t)(cn->n_runs - i);
}

/* Writes as many owed answers as the socket takes. */
/* Copies owed answers into out, in order, as many as fit whole (the first
 * from where an earlier write stopped); returns the length. */
static size_t answers_render(const struct conn *cn, char *out, size_t max)
{
	size_t len = 0, skip = cn->first_sent;
	for (size_t i = 0; i < cn->n_runs; i++) {
		size_t alen;
		const char *text = answer_text(cn->runs[i].answer, &alen);
		for (uint32_t k = 0; k < cn->runs[i].count; k++) {
			if (len + alen - skip > max)
				return len;
			memcpy(out + len, text + skip, alen - skip);
			len += alen - skip;
			skip = 0;
		}
	}
	return len;
}

/* Writes as many owed answers as the socket takes. */
static void conn_flush(struct intermediary *im, struct conn *cn)
{
	static char out[WRITE_MAX];
	while (cn->owed > 0) {
		size_t len = answers_render(cn, out, sizeof(out));
		ssize_t n = send(cn->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			cn->dead = true; /* the peer is gone: nothing owed can reach it */
			return;
		}
		if (n > 0)
			answers_sent(cn, (size_t)n);
		if (n < 0 || (size_t)n < len) {
			cn->write_blocked = true;
			conn_watch(im, cn);
			return;
		}
	}
	cn->write_blocked = false;
}

/* After its last answer: a connection whose peer has sent nothing more is
 * closed at once; otherwise its write side is shut and what the peer still
 * sends is read and dropped until it closes (or the idle deadline), so the
 * kernel does not answer unread bytes with a reset that could destroy the
 * answer on its way. */
static void conn_finish(struct intermediary *im, struct conn *cn)
{
	char byte;
	ssize_t n = cn->peer_eof ? 0 : read(cn->fd, &byte, 1);
	if (n <= 0 || shutdown(cn->fd, SHUT_WR) < 0) {
		cn->dead = true; /* nothing unread (or gone): close() sends a plain FIN */
		return;
	}
	cn->lingering = true;
	conn_watch(im, cn);
}

/* A paused connection whose answers are written parses its stash next. */
static void resume_later(struct intermediary *im, struct conn *cn)
{
	if (cn->resuming)
		return;
	cn->resuming = true;
	cn->next_resume = im->resume;
	im->resume = cn;
}

void conns_write(struct intermediary *im)
{
	struct conn *cn;
	while ((cn = im->dirty)) {
		im->dirty = cn->next_dirty;
		cn->dirty = false;
		if (!cn->dead)
			conn_flush(im, cn);
		if (!cn->dead && cn->owed == 0) {
			if (cn->close_after && !cn->lingering)
				conn_finish(im, cn);
			else if (cn->peer_eof)
				cn->dead = true, im->half_closed++;
			else if (cn->paused)
				resume_later(im, cn);
			conn_watch(im, cn);
		}
		if (cn->dead && !cn->resuming)
			conn_free(im, cn);
	}
}

void conns_resume(struct intermediary *im)
{
	struct conn *cn;
	while ((cn = im->resume)) {
		im->resume = cn->next_resume;
		cn->resuming = false;
		if (cn->dead) {
			mark_dirty(im, cn); /* freed by the next conns_write */
			continue;
		}
		char *stash = cn->stash;
		size_t len = cn->stash_len;
		cn->stash = NULL;
		cn->stash_len = 0;
		cn->paused = false;
		http_parser_pause(&cn->parser, 0);
		if (len)
			conn_parse(im, cn, stash, len);
		free(stash);
		conn_watch(im, cn);
	}
}

void conns_expire(struct intermediary *im, uint64_t now)
{
	struct deadline *dl;
	if (!im->accepting && now >= im->accept_again_ms)
		accept_again(im);
	while ((dl = deadline_pop_expired(&im->deadlines, now))) {
		struct conn *cn;
		if (dl->phase == DEADLINE_IDLE) {
			cn = (struct conn *)((char *)dl - offsetof(struct conn, idle_deadline));
		} else {
			cn = (struct conn *)((char *)dl - offsetof(struct conn, read_deadline));
			im->timed_out++;
		}
		conn_kill(im, cn);
	}
}

int conns_timeout_ms(struct intermediary *im, int max_ms)
{
	if (im->dirty || im->resume || im->n_batch)
		return 0;
	uint64_t next = deadline_next_ms(&im->deadlines), now = clock_mono_ms();
	if (!im->accepting && !im->stopping && im->accept_again_ms < next)
		next = im->accept_again_ms;
	if (next == UINT64_MAX || next - now > (uint64_t)max_ms)
		return max_ms;
	return next <= now ? 0 : (int)(next - now);
}

void conns_free(struct intermediary *im)
{
	im->stopping = true;
	while (im->all)
		conn_free(im, im->all);
	im->dirty = im->resume = NULL;
	if (im->cfg->max_connections_per_ip)
		peers_free(&im->peers);
}
