#define _GNU_SOURCE
/* The provider's loop: artifacts in, signals and checkpoints out.
 * Checkpoints (one Ed25519 signature over a chain head) are emitted at
 * epoch start, every checkpoint_every signals, checkpoint_ms after the first
 * uncovered signal, and at stop: signing every signal would cost ~15 µs
 * each, a chain link costs under 1 µs (DESIGN §3). */
#include "provider.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chain.h"
#include "derive.h"
#include "keys.h"
#include "log.h"
#include "provider_policy.h"
#include "role.h"
#include "wire.h"

enum refusal {
	REFUSE_MALFORMED,
	REFUSE_REPR,
	REFUSE_BINDING,
	REFUSE_CONTEXT,
	REFUSE_NO_BODY,
	REFUSE_COUNT
};

static const char *const refusal_names[REFUSE_COUNT] = {
	"malformed artifact", "request_repr mismatch", "binding mismatch", "context not accepted",
	"body required but absent",
};

struct provider {
	const struct provider_config *cfg;
	struct provider_policy policy;
	uint8_t sk[64];
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint8_t head[WIRE_DIGEST_LEN];
	uint64_t seq;
	uint64_t covered_seq;
	int timer_fd;
	bool timer_armed;
	uint8_t *frame;      /* receive buffer, one artifact */
	size_t frame_cap;
	uint64_t initiated;
	uint64_t refused[REFUSE_COUNT];
	struct wire_stats wire;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A blocking write: the association is slower than us at worst, and
 * waiting on it is the backpressure we want (nothing is dropped here). */
static int send_frame(struct provider *p, const uint8_t *buf, size_t len)
{
	ssize_t n;
	do
		n = send(p->cfg->signal_fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len) {
		log_errno("signal channel");
		return -1;
	}
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

static int evaluate(struct provider *p, const struct artifact *a)
{
	uint8_t digest[WIRE_DIGEST_LEN];

	if (a->has_body) {
		derive_request_repr(a->body, a->body_len, digest);
		if (sodium_memcmp(digest, a->request_repr, sizeof(digest)) != 0)
			return REFUSE_REPR;
	} else if (p->policy.require_body) {
		return REFUSE_NO_BODY;
	}
	derive_binding(a->request_repr, a->context, a->context_len, digest);
	if (sodium_memcmp(digest, a->binding, sizeof(digest)) != 0)
		return REFUSE_BINDING;
	if (!provider_policy_accepts_context(&p->policy, a->context, a->context_len))
		return REFUSE_CONTEXT;
	return -1;
}

/* action = none: START, then COMPLETE with status 0 folded into its value. */
static int initiate(struct provider *p, const struct artifact *a)
{
	uint8_t op[WIRE_DIGEST_LEN], start[WIRE_DIGEST_LEN], fresh[WIRE_DIGEST_LEN], complete[WIRE_DIGEST_LEN];

	derive_operation_id(a->request_repr, a->correlation, op);
	randombytes_buf(start, sizeof(start));
	if (emit_signal(p, STAGE_START, op, start) < 0)
		return -1;
	randombytes_buf(fresh, sizeof(fresh));
	derive_complete_value(fresh, 0, complete);
	if (emit_signal(p, STAGE_COMPLETE, op, complete) < 0)
		return -1;
	p->initiated++;
	return 0;
}

static int handle_frame(struct provider *p, const uint8_t *buf, size_t len)
{
	struct artifact a;
	enum wire_err e = artifact_decode(buf, len, &a);
	if (e != WIRE_OK) {
		p->wire.rejected[e]++;
		p->refused[REFUSE_MALFORMED]++;
		return 0;
	}
	int why = evaluate(p, &a);
	if (why >= 0) {
		p->refused[why]++;
		return 0;
	}
	return initiate(p, &a);
}

/* Reads every queued artifact; returns -1 on a fatal error. */
static int drain_artifacts(struct provider *p)
{
	for (;;) {
		ssize_t n = recv(p->cfg->artifact_fd, p->frame, p->frame_cap, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			log_errno("artifact channel");
			return -1;
		}
		if (n == 0)
			return 0;
		if ((size_t)n > p->frame_cap) {
			p->wire.rejected[WIRE_EOVERSIZE]++;
			p->refused[REFUSE_MALFORMED]++;
			continue;
		}
		if (handle_frame(p, p->frame, (size_t)n) < 0)
			return -1;
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
	derive_chain_origin(p->epoch, p->head);
	p->seq = 0;
	return emit_checkpoint(p);
}

static int load_private_state(struct provider *p)
{
	char err[512];
	const struct provider_config *cfg = p->cfg;

	if (provider_policy_load(&p->policy, cfg->policy_path, err, sizeof(err)) < 0) {
		log_error("policy: %s", err);
		return -1;
	}
	if (p->policy.require_body && !cfg->receive_body) {
		log_error("policy %s: receive_body = yes, but the topology does not forward the body to this provider "
			  "(set receive_body = yes in its [provider %s] section)", cfg->policy_path, cfg->name);
		return -1;
	}
	if (keys_load_signal_secret(cfg->secret_key_path, p->sk, err, sizeof(err)) < 0) {
		log_error("signal key: %s", err);
		return -1;
	}
	return 0;
}

static int loop(struct provider *p, int sfd, const struct role_seal *seal)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int fds[3] = { p->cfg->artifact_fd, sfd, p->timer_fd };
	for (int i = 0; i < 3; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
			log_errno("epoll setup");
			return -1;
		}
	}
	if (role_seal_and_report(seal, p->cfg->status_fd) < 0)
		return -1;
	for (;;) {
		struct epoll_event evs[3];
		int n = epoll_wait(ep, evs, 3, -1);
		if (n < 0 && errno != EINTR) {
			log_errno("epoll_wait");
			return -1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == sfd && role_stop_requested(sfd))
				return drain_artifacts(p);   /* whatever was queued still counts */
			if (fd == p->cfg->artifact_fd && drain_artifacts(p) < 0)
				return -1;
			if (fd == p->timer_fd && on_timer(p) < 0)
				return -1;
		}
	}
}

static void report_counters(const struct provider *p)
{
	char line[512];
	int off = snprintf(line, sizeof(line), "stopped: %" PRIu64 " initiated", p->initiated);
	for (int i = 0; i < REFUSE_COUNT && off < (int)sizeof(line); i++)
		if (p->refused[i])
			off += snprintf(line + off, sizeof(line) - (size_t)off, ", %" PRIu64 " refused (%s)",
					p->refused[i], refusal_names[i]);
	log_info("%s", line);
}

int provider_main(const struct provider_config *cfg, const struct role_seal *seal)
{
	struct provider p = { .cfg = cfg, .timer_fd = -1 };
	int status = 1;
	int sfd = role_stop_signalfd();

	p.frame_cap = ARTIFACT_HDR_LEN + WIRE_CONTEXT_MAX + WIRE_TOKEN_MAX + cfg->max_request;
	p.frame = malloc(p.frame_cap);
	p.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sfd < 0 || !p.frame || p.timer_fd < 0 || sodium_init() < 0) {
		log_errno("cannot initialise");
		goto out;
	}
	if (load_private_state(&p) < 0 || start_epoch(&p) < 0)
		goto out;
	if (loop(&p, sfd, seal) == 0 && (p.seq == p.covered_seq || emit_checkpoint(&p) == 0))
		status = 0;
	report_counters(&p);
out:
	sodium_memzero(p.sk, sizeof(p.sk));
	provider_policy_free(&p.policy);
	free(p.frame);
	return status;
}
