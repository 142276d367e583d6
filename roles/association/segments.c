/* SPDX-License-Identifier: Apache-2.0 */
/* The association's side of the ledger's segments (docs/LEDGER.md "Files"):
 * the first segment of a fresh ledger, and rotation. It opens no file: the
 * supervisor hands it an empty spare over the segments socket
 * (association.h), and when the live segment is full or old it seals it with
 * a signed head, makes it durable, starts the next segment in the spare with
 * everything a reader needs to check that segment alone (each provider's
 * chain state and uncovered signals, the operations still open), and tells
 * the supervisor, which renames the files and sends the next spare. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "association_internal.h"

/* Provider i's chain state as the next segment states it. */
static void peer_state(const struct peer *pr, struct l2_state *st)
{
	memset(st, 0, sizeof(*st));
	st->open = pr->chain.trusted;
	if (!st->open)
		return;
	memcpy(st->epoch, pr->chain.epoch, WIRE_EPOCH_LEN);
	memcpy(st->head, pr->chain.head, WIRE_DIGEST_LEN);
	st->pseq = pr->chain.seq;
	/* Every accepted signal since the last covering checkpoint is queued. */
	st->covered = pr->chain.seq - pr->queued;
	st->uncovered = pr->queue;
}

/* The operations the pending table holds, as the next segment carries them. */
static struct l2_carried *carried_ops(struct association *as, size_t *n)
{
	struct l2_carried *out = calloc(as->pending.used ? as->pending.used : 1, sizeof(*out));
	*n = 0;
	if (!out)
		return NULL;
	for (struct pending_op *e = pending_oldest(&as->pending); e; e = pending_next(&as->pending, e)) {
		struct l2_carried *c = &out[(*n)++];
		memcpy(c->op, e->op, WIRE_DIGEST_LEN);
		c->confirmed = e->confirmed;
		for (size_t i = 0; i < as->cfg->n_providers; i++) {
			if (e->have[i] & STAGE_START)
				c->start_mask |= UINT64_C(1) << i;
			if (e->have[i] & STAGE_COMPLETE)
				c->complete_mask |= UINT64_C(1) << i;
		}
	}
	return out;
}

/* Buffers the first block of segment `number` into fd. */
static int begin_segment(struct association *as, int fd, uint32_t number, uint64_t first_record,
			 const uint8_t prev[WIRE_DIGEST_LEN])
{
	size_t n = as->cfg->n_providers, n_carried = 0;
	const char *names[L2_PROVIDERS_MAX];
	struct l2_state states[L2_PROVIDERS_MAX];
	for (size_t i = 0; i < n; i++) {
		names[i] = as->cfg->providers[i].name;
		peer_state(&as->peers[i], &states[i]);
	}
	struct l2_carried *carried = carried_ops(as, &n_carried);
	if (!carried) {
		log_error("ledger: out of memory for segment %" PRIu32 "'s carried operations", number);
		return -1;
	}
	struct l2_segment_start start = { .segment = number, .first_record = first_record, .n_providers = n,
					  .names = names, .states = states, .n_carried = n_carried,
					  .carried = carried };
	memcpy(start.prev, prev, WIRE_DIGEST_LEN);
	int rc = l2_begin_segment(&as->ledger, fd, &start);
	if (rc < 0)
		log_errno("ledger: cannot begin segment");
	free(carried);
	return rc;
}

int segments_begin_first(struct association *as)
{
	static const uint8_t zero[WIRE_DIGEST_LEN];
	if (begin_segment(as, as->cfg->ledger_fd, 1, 1, zero) < 0 || commit_write(as) < 0)
		return -1;
	log_info("ledger: a new ledger begins (segment 1)");
	return 0;
}

/* Takes one message from the segments socket; wait: block for it (before
 * the seal only, when nothing can go on without a spare). */
static int take_message(struct association *as, bool wait)
{
	char kind = 0;
	struct iovec iov = { &kind, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n;
	do
		n = recvmsg(as->cfg->segments_fd, &msg, (wait ? 0 : MSG_DONTWAIT) | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		log_error("segments socket: %s", n == 0 ? "closed by the supervisor" : strerror(errno));
		return -1;
	}
	int fd = -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	if (kind != SEGMENTS_MSG_SPARE || fd < 0 || (msg.msg_flags & MSG_CTRUNC)) {
		log_error("segments socket: unexpected message (kind %d, fd %d)", kind, fd);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (as->spare_fd >= 0)
		close(as->spare_fd); /* at most one is held: the newer stands */
	as->spare_fd = fd;
	return 0;
}

int segments_on_message(struct association *as)
{
	if (take_message(as, false) < 0)
		return -1;
	return as->rotate_wanted ? segments_rotate_if_due(as) : 0;
}

static bool rotation_due(const struct association *as)
{
	const struct l2_writer *w = &as->ledger;
	if (w->seg_bytes >= as->cfg->segment_size)
		return true;
	uint64_t age_ns = (uint64_t)as->cfg->segment_age * 1000000000u;
	return age_ns && w->seg_t0 && ledger_now() - w->seg_t0 >= age_ns;
}

static int tell_sealed(struct association *as, uint32_t number)
{
	uint8_t msg[SEGMENTS_MSG_SEALED_LEN] = { SEGMENTS_MSG_SEALED, (uint8_t)(number >> 24),
						 (uint8_t)(number >> 16), (uint8_t)(number >> 8), (uint8_t)number };
	ssize_t n;
	do
		n = write(as->cfg->segments_fd, msg, sizeof(msg));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(msg)) {
		log_error("segments socket: cannot report segment %" PRIu32 " sealed: %s", number,
			  n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

/* The live segment is sealed and durable: the next one begins in the
 * spare, durable before the supervisor is told (it renames the files on
 * that word, and a live segment without its first block cannot be
 * continued). */
static int begin_next(struct association *as)
{
	struct l2_writer *w = &as->ledger;
	int old_fd = w->fd;
	uint32_t sealed = w->segment;
	uint64_t bytes = w->seg_bytes;
	if (begin_segment(as, as->spare_fd, sealed + 1, w->records + 1, w->chain) < 0 || commit_write(as) < 0)
		return -1;
	if (fdatasync(as->spare_fd) < 0) {
		log_errno("ledger fdatasync of a new segment");
		return -1;
	}
	if (as->sync.started)
		syncer_switch(&as->sync, as->spare_fd, w->records);
	close(old_fd);
	as->spare_fd = -1;
	as->rotate_wanted = false;
	log_verbose("ledger: segment %" PRIu32 " sealed at %" PRIu64 " bytes; segment %" PRIu32 " begins", sealed,
		    bytes, w->segment);
	return tell_sealed(as, sealed);
}

/* Seal, make durable, begin the next segment. The old segment is synced
 * here, on the loop: once per segment, and the next one begins from its
 * last chain value, which must not be lost before it. */
static int rotate(struct association *as)
{
	if (commit_head(as, true) < 0 || commit_write(as) < 0)
		return -1;
	if (fdatasync(as->ledger.fd) < 0) {
		log_errno("ledger fdatasync at the seal");
		return -1;
	}
	return begin_next(as);
}

int segments_continue_sealed(struct association *as)
{
	if (take_message(as, true) < 0 || as->spare_fd < 0)
		return -1;
	log_info("ledger: segment %" PRIu32 " was sealed before a stop; segment %" PRIu32 " begins", as->ledger.segment,
		 as->ledger.segment + 1);
	return begin_next(as);
}

int segments_rotate_if_due(struct association *as)
{
	if (as->replaying)
		return 0;
	if (!as->rotate_wanted && !rotation_due(as))
		return 0;
	as->rotate_wanted = true;
	if (as->spare_fd < 0 || as->sync_in_flight)
		return 0; /* the next spare, or the running sync, comes first */
	return rotate(as);
}
