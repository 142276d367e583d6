/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The provider's journal after a restart (journal.h): a restarted provider
 * resumes its epoch from the journal's last frame and recognises the
 * artifacts it had already signalled; a restarted association gets every
 * frame of the epoch again, when the supervisor asks on the control
 * channel. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../../lib/log.h"
#include "provider_internal.h"

/* The journal's frames, sent again in batches. */
struct resend {
	struct provider *p;
	uint8_t frames[OUT_BATCH][CHECKPOINT_FRAME_LEN];
	unsigned lens[OUT_BATCH];
	size_t n;
	uint64_t count;
};

static int resend_frame(void *ctx, const uint8_t *frame, size_t len)
{
	struct resend *r = ctx;
	memcpy(r->frames[r->n], frame, len);
	r->lens[r->n++] = (unsigned)len;
	r->count++;
	if (r->n < OUT_BATCH)
		return 0;
	r->n = 0;
	return send_frames(r->p, (const uint8_t(*)[CHECKPOINT_FRAME_LEN])r->frames, r->lens, OUT_BATCH);
}

/* Sends every frame of the epoch the journal holds again, then covers the
 * chain with a checkpoint: the association skips what its ledger holds by
 * pseq, and takes the rest as if it came the first time. */
static int resend_journal(struct provider *p)
{
	static struct resend r;
	r = (struct resend){ .p = p };
	if (journal_queued(p) < 0)
		return -1;
	int rc = journal_for_each(&p->journal, resend_frame, &r);
	if (rc < 0 && errno)
		log_errno("journal");
	if (rc != 0 || (r.n && send_frames(p, (const uint8_t(*)[CHECKPOINT_FRAME_LEN])r.frames, r.lens, r.n) < 0))
		return -1;
	forget_queued(p); /* the journal's frames just sent include them */
	p->resent += r.count;
	log_info("sent the journal's %" PRIu64 " frames again (epoch seq %" PRIu64 ")", r.count, p->seq);
	if (p->seq != p->covered_seq && emit_checkpoint(p) < 0)
		return -1;
	return flush_frames(p);
}

/* One frame of the previous incarnation: the chain state after it, and
 * (for a signal) its operation, for signalled_before. */
static int resume_frame(void *ctx, const uint8_t *frame, size_t len)
{
	struct provider *p = ctx;
	struct signal_frame s;
	struct checkpoint_frame c;
	if (wire_peek_type(frame, len) == WIRE_SIGNAL && signal_decode(frame, len, &s) == WIRE_OK) {
		p->seq = s.seq;
		memcpy(p->head, s.chain, WIRE_DIGEST_LEN);
		struct recent_op *r = &p->recent[p->n_recent++ % RECENT_OPS];
		memcpy(r->op, s.op, WIRE_DIGEST_LEN);
		r->stages = s.stage == STAGE_START ? STAGE_START : STAGE_COMPLETE;
		return 0;
	}
	if (wire_peek_type(frame, len) == WIRE_CHECKPOINT && checkpoint_decode(frame, len, &c) == WIRE_OK &&
	    memcmp(c.epoch, p->epoch, WIRE_EPOCH_LEN) == 0) {
		p->seq = c.seq;
		memcpy(p->head, c.head, WIRE_DIGEST_LEN);
		p->covered_seq = c.seq;
		return 0;
	}
	errno = EBADMSG;
	return -1;
}

/* A restart: the epoch goes on from the journal's last frame. Signals the
 * previous incarnation made still count once this one covers them, and the
 * artifacts it had signalled but not consumed are recognised. */
int resume_from_journal(struct provider *p)
{
	memcpy(p->epoch, p->journal.epoch, WIRE_EPOCH_LEN);
	p->recent = calloc(RECENT_OPS, sizeof(*p->recent));
	if (!p->recent) {
		log_errno("journal");
		return -1;
	}
	if (journal_for_each(&p->journal, resume_frame, p) != 0) {
		log_errno("journal: cannot resume its epoch; starting a new one");
		p->n_recent = 0;
		return start_epoch(p);
	}
	/* signalled_before ORs the stages of every match */
	if (p->n_recent > RECENT_OPS)
		p->n_recent = RECENT_OPS;
	p->recent_budget = PEEK_MSGS;
	log_info("resuming its epoch at seq %" PRIu64 " from the journal", p->seq);
	return resend_journal(p);
}

/* The supervisor restarted the association: what the dead one had read but
 * not recorded is sent again. Requests that arrive together are one. */
int resend_if_asked(struct provider *p)
{
	uint8_t buf[64];
	ssize_t n;
	bool asked = false;
	while ((n = recv(p->cfg->control_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		asked = true;
	if (n == 0 && epoll_ctl(p->ep, EPOLL_CTL_DEL, p->cfg->control_fd, NULL) == 0)
		log_error("the supervisor's control channel closed");
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		log_errno("control channel");
		return -1;
	}
	return asked ? resend_journal(p) : 0;
}
