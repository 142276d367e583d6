#define _GNU_SOURCE
/* The provider's loop: artifacts in, signals and checkpoints out.
 * Checkpoints (one Ed25519 signature over a chain head) are emitted at
 * epoch start, every checkpoint_every signals, checkpoint_ms after the first
 * uncovered signal, and at stop: signing every signal would cost ~15 µs
 * each, a chain link costs under 1 µs (docs/ARCHITECTURE.md §3). */
#include "provider.h"

#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../../lib/chain.h"
#include "../../lib/derive.h"
#include "journal.h"
#include "../../lib/keys.h"
#include "../../lib/log.h"
#include "decide.h"
#include "exec.h"
#include "policy.h"
#include "../role.h"
#include "../../lib/wire.h"

#define KEYS_DIR_IN_SANDBOX "/keys"

/* epoll tags */
#define TAG_ARTIFACT 0
#define TAG_STOP 1
#define TAG_TIMER 2
#define TAG_CONTROL 3
#define TAG_HANDLER(i) (16 + 2 * (uint64_t)(i))     /* its pidfd */
#define TAG_HANDLER_OUT(i) (17 + 2 * (uint64_t)(i)) /* its output pipe */

#define OUT_BATCH 64
/* Artifacts peeked before their signals are journaled and they are
 * consumed: two signals each fill one send batch. */
#define PEEK_BATCH (OUT_BATCH / 2)
/* After a restart, the operations of the ring's last signals: the
 * artifacts still at the channel's head that were already signalled are
 * among them (at most one peek batch, two signals each). */
#define RECENT_OPS 256

/* A running action handler and the operation it works for. */
struct handler {
	bool used;
	struct exec_run run;
	uint8_t op[WIRE_DIGEST_LEN];
};

/* An operation the previous incarnation signalled: its stages (bit 0
 * START, bit 1 COMPLETE). */
struct recent_op {
	uint8_t op[WIRE_DIGEST_LEN];
	uint8_t stages;
};

struct provider {
	const struct provider_config *cfg;
	struct journal journal;
	struct provider_policy policy;
	struct decider decider;
	uint8_t sk[64];
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint8_t head[WIRE_DIGEST_LEN];
	uint64_t seq;
	uint64_t covered_seq;
	int ep;
	int stop_fd;         /* signalfd: SIGTERM, SIGINT */
	int timer_fd;
	bool timer_armed;
	uint8_t *frame;      /* receive buffer, one artifact */
	size_t frame_cap;
	uint64_t initiated;
	struct handler *handlers; /* policy.max_concurrent slots when action = exec */
	uint32_t running;
	struct wire_stats wire;
	/* Frames made since the last flush: sent with one sendmmsg per loop
	 * round instead of one send each. */
	uint8_t out[OUT_BATCH][CHECKPOINT_FRAME_LEN];
	unsigned out_len[OUT_BATCH];
	size_t n_out;
	size_t peeked;       /* artifacts handled but not yet consumed */
	size_t peek_len[PEEK_BATCH]; /* their lengths */
	/* Right after a restart (resume_from_journal): what the ring says the
	 * previous incarnation signalled, until the artifacts it may concern
	 * have been read. */
	struct recent_op *recent;
	size_t n_recent;
	size_t recent_budget; /* artifacts still to check against it */
	uint64_t recognised;  /* artifacts found already signalled after a restart */
	uint64_t resent;      /* frames sent again from the journal */
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sends frames, blocking: the association is slower than us at worst, and
 * waiting on it is the backpressure we want (nothing is dropped here). One
 * sendmmsg carries a whole round's signals and checkpoints. */
static int send_frames(struct provider *p, const uint8_t (*frames)[CHECKPOINT_FRAME_LEN], const unsigned *lens,
		       size_t count)
{
	struct mmsghdr msgs[OUT_BATCH];
	struct iovec iov[OUT_BATCH];
	size_t sent = 0;
	for (size_t i = 0; i < count; i++) {
		iov[i] = (struct iovec){ (void *)frames[i], lens[i] };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	while (sent < count) {
		int n = sendmmsg(p->cfg->signal_fd, msgs + sent, (unsigned)(count - sent), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_errno("signal channel");
			return -1;
		}
		sent += (size_t)n;
	}
	return 0;
}

/* Every queued frame goes to the journal, then to the channel: a frame the
 * association may have seen is always one a restart can send again. */
static int flush_frames(struct provider *p)
{
	if (p->n_out == 0)
		return 0;
	if (journal_append(&p->journal, (const uint8_t(*)[CHECKPOINT_FRAME_LEN])p->out, p->out_len, p->n_out) < 0) {
		log_errno("journal");
		return -1;
	}
	if (send_frames(p, (const uint8_t(*)[CHECKPOINT_FRAME_LEN])p->out, p->out_len, p->n_out) < 0)
		return -1;
	p->n_out = 0;
	return 0;
}

static int send_frame(struct provider *p, const uint8_t *buf, size_t len)
{
	if (p->n_out == OUT_BATCH && flush_frames(p) < 0)
		return -1;
	memcpy(p->out[p->n_out], buf, len);
	p->out_len[p->n_out++] = (unsigned)len;
	return 0;
}

static int emit_checkpoint(struct provider *p)
{
	struct checkpoint_frame c = { .seq = p->seq };
	uint8_t buf[CHECKPOINT_FRAME_LEN];

	snprintf(c.provider, sizeof(c.provider), "%s", p->cfg->name);
	memcpy(c.epoch, p->epoch, sizeof(c.epoch));
	memcpy(c.head, p->head, sizeof(c.head));
	checkpoint_sign(&c, p->sk);
	if (!checkpoint_encode(&c, buf) || send_frame(p, buf, sizeof(buf)) < 0)
		return -1;
	p->covered_seq = p->seq;
	return 0;
}

static int arm_timer(struct provider *p)
{
	struct itimerspec its = { .it_value = { .tv_sec = p->cfg->checkpoint_ms / 1000,
						.tv_nsec = (long)(p->cfg->checkpoint_ms % 1000) * 1000000L } };
	if (timerfd_settime(p->timer_fd, 0, &its, NULL) < 0) {
		log_errno("timerfd_settime");
		return -1;
	}
	p->timer_armed = true;
	return 0;
}

static int emit_signal(struct provider *p, uint8_t stage, const uint8_t op[WIRE_DIGEST_LEN],
		       const uint8_t value[WIRE_DIGEST_LEN])
{
	struct signal_frame s = { .stage = stage, .t_ns = realtime_ns(), .seq = p->seq + 1 };
	uint8_t buf[SIGNAL_FRAME_LEN];

	snprintf(s.provider, sizeof(s.provider), "%s", p->cfg->name);
	memcpy(s.op, op, WIRE_DIGEST_LEN);
	memcpy(s.value, value, WIRE_DIGEST_LEN);
	chain_extend(p->head, &s);
	p->seq = s.seq;
	if (!signal_encode(&s, buf) || send_frame(p, buf, sizeof(buf)) < 0)
		return -1;
	if (p->seq - p->covered_seq >= p->cfg->checkpoint_every)
		return emit_checkpoint(p);
	return p->timer_armed ? 0 : arm_timer(p);
}

static int emit_start(struct provider *p, const uint8_t op[WIRE_DIGEST_LEN])
{
	uint8_t start[WIRE_DIGEST_LEN];
	randombytes_buf(start, sizeof(start));
	return emit_signal(p, STAGE_START, op, start);
}

/* The action's status is folded into fresh randomness: it never shows. */
static int emit_complete(struct provider *p, const uint8_t op[WIRE_DIGEST_LEN], uint32_t status)
{
	uint8_t fresh[WIRE_DIGEST_LEN], complete[WIRE_DIGEST_LEN];
	randombytes_buf(fresh, sizeof(fresh));
	derive_complete_value(fresh, status, complete);
	return emit_signal(p, STAGE_COMPLETE, op, complete);
}

static struct handler *free_handler(struct provider *p)
{
	for (uint32_t i = 0; i < p->policy.max_concurrent; i++)
		if (!p->handlers[i].used)
			return &p->handlers[i];
	return NULL;
}

static int watch(struct provider *p, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_errno("epoll_ctl");
		return -1;
	}
	return 0;
}

static int consume_peeked(struct provider *p);
static int on_control(struct provider *p);

/* action = exec: START, then the handler runs with the body on stdin; its
 * end (handler_done) emits COMPLETE. A handler that cannot start still gets
 * its COMPLETE, with status 127 folded in. START is journaled and sent, and
 * the artifact consumed, before the handler starts: a kill before that
 * point lets the next incarnation run it (once), a kill after it leaves the
 * action run at most once and the operation without its COMPLETE
 * (docs/RELIABILITY.md). `started`: the previous incarnation sent START. */
static int start_handler(struct provider *p, const struct artifact *a, const uint8_t op[WIRE_DIGEST_LEN],
			 bool started)
{
	struct handler *h = free_handler(p);
	struct exec_env env;
	if (!h) {
		decider_count(&p->decider, REFUSE_BUSY);
		return 0;
	}
	if ((!started && emit_start(p, op) < 0) || flush_frames(p) < 0 || consume_peeked(p) < 0)
		return -1;
	exec_env_build(&env, p->cfg->name, a, op);
	if (exec_start(&h->run, p->policy.action_exec.argv, env.envp, a->has_body ? a->body : NULL,
		       a->has_body ? a->body_len : 0, p->policy.action_timeout_ms, p->policy.log_cap) < 0) {
		log_errno("handler %s", p->policy.action_exec.argv[0]);
		return emit_complete(p, op, 127);
	}
	h->used = true;
	memcpy(h->op, op, WIRE_DIGEST_LEN);
	p->running++;
	p->initiated++;
	return watch(p, h->run.pidfd, TAG_HANDLER(h - p->handlers)) < 0 ||
			       watch(p, h->run.out_fd, TAG_HANDLER_OUT(h - p->handlers)) < 0
		       ? -1
		       : 0;
}

static int handler_done(struct provider *p, struct handler *h)
{
	int status;
	exec_read_output(&h->run);
	if (!exec_reap(&h->run, &status))
		return 0;
	while (h->run.log_len && h->run.log[h->run.log_len - 1] == '\n')
		h->run.log_len--;
	if (h->run.log_len || h->run.timed_out || status != 0)
		log_info("handler exited with status %d%s; output (%zu bytes%s): %.*s", status,
			 h->run.timed_out ? " (killed at action_timeout)" : "", h->run.log_len,
			 h->run.dropped ? ", capped" : "", (int)h->run.log_len, h->run.log);
	epoll_ctl(p->ep, EPOLL_CTL_DEL, h->run.pidfd, NULL);
	if (h->run.out_fd >= 0)
		epoll_ctl(p->ep, EPOLL_CTL_DEL, h->run.out_fd, NULL);
	exec_release(&h->run);
	h->used = false;
	p->running--;
	return emit_complete(p, h->op, (uint32_t)status);
}

/* `stages`: what the previous incarnation already signalled for op (bit 0
 * START, bit 1 COMPLETE); the decision it took is not taken again. */
static int initiate(struct provider *p, const struct artifact *a, const uint8_t op[WIRE_DIGEST_LEN],
		    uint8_t stages)
{
	if (p->policy.action == POLICY_ACTION_EXEC)
		return start_handler(p, a, op, stages & 1);
	if ((!(stages & 1) && emit_start(p, op) < 0) || emit_complete(p, op, 0) < 0)
		return -1;
	p->initiated++;
	return 0;
}

/* What the ring of the previous incarnation says of op (0: nothing). */
static uint8_t signalled_before(struct provider *p, const uint8_t op[WIRE_DIGEST_LEN])
{
	if (p->recent_budget == 0)
		return 0;
	uint8_t stages = 0;
	for (size_t i = 0; i < p->n_recent; i++)
		if (memcmp(p->recent[i].op, op, WIRE_DIGEST_LEN) == 0)
			stages |= p->recent[i].stages;
	if (--p->recent_budget == 0)
		p->n_recent = 0; /* past every artifact it could concern */
	return stages;
}

static int handle_frame(struct provider *p, const uint8_t *buf, size_t len)
{
	struct artifact a;
	uint8_t op[WIRE_DIGEST_LEN];
	enum wire_err e = artifact_decode(buf, len, &a);
	if (e != WIRE_OK) {
		p->wire.rejected[e]++;
		decider_count(&p->decider, REFUSE_MALFORMED);
		return 0;
	}
	derive_operation_id(a.request_repr, a.correlation, op);
	uint8_t before = signalled_before(p, op);
	if (before)
		p->recognised++;
	if (before == 3)
		return 0;
	if (before)
		return initiate(p, &a, op, before);
	return decide(&p->decider, &a) >= 0 ? 0 : initiate(p, &a, op, 0);
}

/* Consumes the artifacts handled so far, whose signals a flush already put
 * in the journal: one recv each without a buffer (no control buffer
 * either, so an fd sent along on a kernel without SO_PASSRIGHTS is
 * destroyed, never taken). An empty message (only a hostile writer sends
 * one) is stepped over by peeking: consumed here, it is counted and not
 * taken for one of them. */
static int consume_peeked(struct provider *p)
{
	size_t next = 0;
	while (next < p->peeked) {
		ssize_t n = recv(p->cfg->artifact_fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_errno("artifact channel: consuming %zu handled artifacts", p->peeked - next);
			return -1;
		}
		if (n == 0 && p->peek_len[next] != 0)
			p->wire.rejected[WIRE_ETRUNC]++;
		else
			next++;
	}
	p->peeked = 0;
	return 0;
}

/* Peeks up to PEEK_BATCH artifacts (the channel's peek offset, set at
 * start, steps from one to the next) and handles each. Returns 1 when the
 * batch is full and more may follow, 0 when the channel had no more, -1 on
 * a fatal error; *odd is set when the next message is empty or oversized
 * and must be dropped after the batch. */
static int peek_batch(struct provider *p, bool *odd)
{
	*odd = false;
	while (p->peeked < PEEK_BATCH) {
		ssize_t n = recv(p->cfg->artifact_fd, p->frame, p->frame_cap, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			log_errno("artifact channel");
			return -1;
		}
		if (n == 0 || (size_t)n > p->frame_cap) {
			/* A peek steps over an oversized message only by part of it:
			 * it is dropped on its own once the batch is consumed. */
			*odd = true;
			return 0;
		}
		p->peek_len[p->peeked++] = (size_t)n;
		if (handle_frame(p, p->frame, (size_t)n) < 0)
			return -1;
	}
	return 1;
}

/* Drops the message at the channel's head: empty (or the end of the
 * channel) or oversized. */
static void drop_odd(struct provider *p)
{
	ssize_t n = recv(p->cfg->artifact_fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC);
	if (n > 0) {
		p->wire.rejected[WIRE_EOVERSIZE]++;
		decider_count(&p->decider, REFUSE_MALFORMED);
	}
}

/* Reads every queued artifact: peek a batch, handle it, journal and send
 * its signals, then consume it (docs/RELIABILITY.md). Returns -1 on a fatal
 * error. */
static int drain_artifacts(struct provider *p)
{
	for (;;) {
		bool odd;
		/* A request to send the journal again goes first: under steady
		 * load this loop may not return to epoll for long, and every
		 * batch made meanwhile pushes the frames a restarted association
		 * lacks further back in the ring (journal.h). */
		if (on_control(p) < 0)
			return -1;
		int more = peek_batch(p, &odd);
		if (more < 0 || flush_frames(p) < 0 || consume_peeked(p) < 0)
			return -1;
		if (odd) {
			drop_odd(p);
			return 0; /* an empty read may be the channel's end: the loop's EPOLLHUP says */
		}
		if (!more) {
			p->recent_budget = 0;
			p->n_recent = 0;
			return 0;
		}
	}
}

static int on_timer(struct provider *p)
{
	uint64_t ticks;
	if (read(p->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_errno("timerfd read");
	p->timer_armed = false;
	return p->seq != p->covered_seq ? emit_checkpoint(p) : 0;
}

static int start_epoch(struct provider *p)
{
	randombytes_buf(p->epoch, sizeof(p->epoch));
	if (journal_begin_epoch(&p->journal, p->epoch) < 0) {
		log_errno("journal");
		return -1;
	}
	derive_chain_origin(p->epoch, p->head);
	p->seq = 0;
	return emit_checkpoint(p);
}

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
	if (flush_frames(p) < 0)
		return -1;
	int rc = journal_for_each(&p->journal, resend_frame, &r);
	if (rc < 0 && errno)
		log_errno("journal");
	if (rc != 0 || (r.n && send_frames(p, (const uint8_t(*)[CHECKPOINT_FRAME_LEN])r.frames, r.lens, r.n) < 0))
		return -1;
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
		r->stages = s.stage == STAGE_START ? 1 : 2;
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
static int resume_from_journal(struct provider *p)
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
	p->recent_budget = PEEK_BATCH;
	log_info("resuming its epoch at seq %" PRIu64 " from the journal", p->seq);
	return resend_journal(p);
}

/* The supervisor restarted the association: what the dead one had read but
 * not recorded is sent again. Requests that arrive together are one. */
static int on_control(struct provider *p)
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

static int load_private_state(struct provider *p)
{
	char err[512];
	const struct provider_config *cfg = p->cfg;

	if (provider_policy_load_in(&p->policy, cfg->policy_path, KEYS_DIR_IN_SANDBOX, err, sizeof(err)) < 0) {
		log_error("policy: %s", err);
		return -1;
	}
	if (p->policy.require_body && !cfg->receive_body) {
		log_error("policy %s: receive_body = yes, but the topology does not forward the body to this provider "
			  "(set receive_body = yes in its [provider %s] section)", cfg->policy_path, cfg->name);
		return -1;
	}
	if (provider_policy_needs_exec(&p->policy) && !cfg->exec) {
		log_error("policy %s: names an evaluator or a handler, but the topology does not let this provider "
			  "run programs (set exec = yes in its [provider %s] section)", cfg->policy_path, cfg->name);
		return -1;
	}
	if (provider_policy_needs_exec(&p->policy) &&
	    exec_domain_prepare(cfg->program_rules, cfg->n_program_rules, cfg->weaken_program_landlock, err,
				sizeof(err)) < 0) {
		log_error("the programs' Landlock domain: %s", err);
		return -1;
	}
	if (keys_load_signal_secret(cfg->secret_key_path, p->sk, err, sizeof(err)) < 0) {
		log_error("signal key: %s", err);
		return -1;
	}
	if (decider_init(&p->decider, &p->policy, cfg->name) < 0) {
		log_errno("replay cache");
		return -1;
	}
	return 0;
}

/* Kills handlers past their deadline; returns how long epoll may sleep. */
static int next_wait_ms(struct provider *p)
{
	uint64_t now = exec_now_ms(), next = UINT64_MAX;
	for (uint32_t i = 0; p->running && i < p->policy.max_concurrent; i++) {
		struct handler *h = &p->handlers[i];
		if (!h->used || h->run.timed_out)
			continue;
		exec_enforce_deadline(&h->run, now);
		if (!h->run.timed_out && h->run.deadline_ms < next)
			next = h->run.deadline_ms;
	}
	return next == UINT64_MAX ? -1 : (int)(next - now + 1);
}

/* The writer shut the channel (a compromised intermediary can): reads
 * would return end-of-file at once, for ever, and a level-triggered watch
 * would spin. The channel is dead for this run; stop watching it. */
static void artifact_channel_shut(struct provider *p)
{
	if (epoll_ctl(p->ep, EPOLL_CTL_DEL, p->cfg->artifact_fd, NULL) == 0)
		log_error("the artifact channel was shut by its writer: no more artifacts reach this provider");
}

static int dispatch(struct provider *p, uint64_t tag, uint32_t events, bool *stop)
{
	if (tag == TAG_STOP) {
		int sig = role_read_signal(p->stop_fd);
		*stop = *stop || sig == SIGTERM || sig == SIGINT;
		return 0;
	}
	if (tag == TAG_CONTROL)
		return on_control(p);
	if (tag == TAG_ARTIFACT) {
		int rc = drain_artifacts(p);
		if (rc == 0 && (events & EPOLLHUP))
			artifact_channel_shut(p);
		return rc;
	}
	if (tag == TAG_TIMER)
		return on_timer(p);
	struct handler *h = &p->handlers[(tag - TAG_HANDLER(0)) / 2];
	if ((tag - TAG_HANDLER(0)) % 2 == 0)
		return handler_done(p, h);
	exec_read_output(&h->run);
	return 0;
}

static int loop_setup(struct provider *p)
{
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	if (p->ep < 0) {
		log_errno("epoll_create1");
		return -1;
	}
	if (watch(p, p->cfg->artifact_fd, TAG_ARTIFACT) < 0 || watch(p, p->stop_fd, TAG_STOP) < 0 ||
	    watch(p, p->timer_fd, TAG_TIMER) < 0 || watch(p, p->cfg->control_fd, TAG_CONTROL) < 0)
		return -1;
	return 0;
}

/* Until a stop is asked: then the queued artifacts are still handled and
 * running handlers finish (the supervisor's drain deadline bounds this). */
static int loop(struct provider *p, const struct role_seal *seal)
{
	bool stop = false;
	if (loop_setup(p) < 0 || role_seal_and_report(seal, p->cfg->status_fd) < 0)
		return -1;
	/* The loop never runs start-up's code again (role.h); a failure is
	 * logged and changes nothing else. */
	(void)role_release_startup_code();
	for (;;) {
		struct epoll_event evs[16];
		int n = epoll_wait(p->ep, evs, 16, next_wait_ms(p));
		if (n < 0 && errno != EINTR) {
			log_errno("epoll_wait");
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (dispatch(p, evs[i].data.u64, evs[i].events, &stop) < 0)
				return -1;
		if (flush_frames(p) < 0)
			return -1;
		if (stop) {
			/* a request that came with the stop: the association
			 * restarted just before, and must get what it lost */
			if (on_control(p) < 0)
				return -1;
			if (epoll_ctl(p->ep, EPOLL_CTL_DEL, p->cfg->artifact_fd, NULL) == 0 &&
			    (drain_artifacts(p) < 0 || flush_frames(p) < 0))
				return -1;
			if (p->running == 0)
				return 0;
		}
	}
}

static int provider_init(struct provider *p)
{
	/* Unseeded, jansson's first object (a token) reads /dev/urandom, which
	 * the sealed provider cannot open. */
	json_object_seed(randombytes_random());
	if (p->policy.action == POLICY_ACTION_EXEC) {
		p->handlers = calloc(p->policy.max_concurrent, sizeof(*p->handlers));
		if (!p->handlers) {
			log_errno("handler slots");
			return -1;
		}
	}
	/* Peeking steps from one artifact to the next only with a peek
	 * offset; set here, it also forgets where a killed incarnation was. */
	int zero = 0;
	if (setsockopt(p->cfg->artifact_fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0) {
		log_errno("SO_PEEK_OFF on the artifact channel");
		return -1;
	}
	int found = journal_open(&p->journal, p->cfg->journal_fd);
	if (found < 0) {
		log_errno("journal");
		return -1;
	}
	return found ? resume_from_journal(p) : start_epoch(p);
}

int provider_main(const struct provider_config *cfg, const struct role_seal *seal)
{
	struct provider p = { .cfg = cfg, .timer_fd = -1, .ep = -1 };
	int status = 1;

	p.stop_fd = role_stop_signalfd();
	p.frame_cap = ARTIFACT_FRAME_MAX(cfg->max_request);
	p.frame = malloc(p.frame_cap);
	p.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p.stop_fd < 0 || !p.frame || p.timer_fd < 0 || sodium_init() < 0) {
		log_errno("cannot initialise");
		goto out;
	}
	if (load_private_state(&p) < 0 || provider_init(&p) < 0)
		goto out;
	if (flush_frames(&p) == 0 && loop(&p, seal) == 0 && (p.seq == p.covered_seq || emit_checkpoint(&p) == 0) &&
	    flush_frames(&p) == 0)
		status = 0;
	decider_report(&p.decider, p.initiated);
	if (p.recognised || p.resent)
		log_info("after restarts: %" PRIu64 " artifacts found already signalled, %" PRIu64
			 " journal frames sent again", p.recognised, p.resent);
out:
	sodium_memzero(p.sk, sizeof(p.sk));
	decider_free(&p.decider);
	provider_policy_free(&p.policy);
	free(p.handlers);
	free(p.recent);
	free(p.frame);
	return status;
}
