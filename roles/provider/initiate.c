/* SPDX-License-Identifier: Apache-2.0 */
/* What a decision to initiate does: with action = exec, START, a handler
 * run with the artifact's body and COMPLETE when it ends; otherwise START
 * and COMPLETE at once. After a restart, the stages the previous
 * incarnation already signalled are not signalled (or run) again. */
#include <string.h>
#include <sys/epoll.h>

#include <sodium.h>

#include "../../lib/derive.h"
#include "../../lib/log.h"
#include "provider_internal.h"

/* 32 fresh random bytes. libsodium's generator asks the kernel for its pid
 * on every call (to notice a fork), two system calls per operation here:
 * the provider draws from a pool it refills with one call every
 * RANDOM_POOL_VALUES values instead. A value leaves the pool as it is
 * handed out (zeroed there), so what stays in memory was never used. */
static void fresh_random(struct provider *p, uint8_t out[WIRE_DIGEST_LEN])
{
	if (p->random_used == sizeof(p->random_pool)) {
		randombytes_buf(p->random_pool, sizeof(p->random_pool));
		p->random_used = 0;
	}
	memcpy(out, p->random_pool + p->random_used, WIRE_DIGEST_LEN);
	sodium_memzero(p->random_pool + p->random_used, WIRE_DIGEST_LEN);
	p->random_used += WIRE_DIGEST_LEN;
}

static int emit_start(struct provider *p, const uint8_t op[WIRE_DIGEST_LEN])
{
	uint8_t start[WIRE_DIGEST_LEN];
	fresh_random(p, start);
	return emit_signal(p, STAGE_START, op, start);
}

/* The action's status is folded into fresh randomness: it never shows. */
static int emit_complete(struct provider *p, const uint8_t op[WIRE_DIGEST_LEN], uint32_t status)
{
	uint8_t fresh[WIRE_DIGEST_LEN], complete[WIRE_DIGEST_LEN];
	fresh_random(p, fresh);
	derive_complete_value(fresh, status, complete);
	sodium_memzero(fresh, sizeof(fresh));
	return emit_signal(p, STAGE_COMPLETE, op, complete);
}

static struct handler *free_handler(struct provider *p)
{
	for (uint32_t i = 0; i < p->policy.max_concurrent; i++)
		if (!p->handlers[i].used)
			return &p->handlers[i];
	return NULL;
}

/* action = exec: START, then the handler runs with the body on stdin; its
 * end (handler_done) emits COMPLETE. A handler that cannot start still gets
 * its COMPLETE, with status 127 folded in. START is journaled, and
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
	return provider_watch(p, h->run.pidfd, TAG_HANDLER(h - p->handlers)) < 0 ||
			       provider_watch(p, h->run.out_fd, TAG_HANDLER_OUT(h - p->handlers)) < 0
		       ? -1
		       : 0;
}

int handler_done(struct provider *p, struct handler *h)
{
	int status;
	exec_read_output(&h->run);
	if (!exec_reap(&h->run, &status))
		return 0;
	while (h->run.log_len && h->run.log[h->run.log_len - 1] == '\n')
		h->run.log_len--;
	/* A failure is a warning; the program's text, once per operation, only
	 * at -v (no line per operation at the default level). */
	if (h->run.timed_out || status != 0)
		log_warn("handler exited with status %d%s", status, h->run.timed_out ? " (killed at action_timeout)" : "");
	if (h->run.log_len)
		log_verbose("handler output (%zu bytes%s): %.*s", h->run.log_len, h->run.dropped ? ", capped" : "",
			    (int)h->run.log_len, h->run.log);
	epoll_ctl(p->ep, EPOLL_CTL_DEL, h->run.pidfd, NULL);
	if (h->run.out_fd >= 0)
		epoll_ctl(p->ep, EPOLL_CTL_DEL, h->run.out_fd, NULL);
	exec_release(&h->run);
	h->used = false;
	p->running--;
	return emit_complete(p, h->op, (uint32_t)status);
}

/* `stages`: what the previous incarnation already signalled for op (bit 0
 * STAGE_START, bit 1 STAGE_COMPLETE); the decision it took is not taken again. */
int initiate(struct provider *p, const struct artifact *a, const uint8_t op[WIRE_DIGEST_LEN], uint8_t stages)
{
	if (p->policy.action == POLICY_ACTION_EXEC)
		return start_handler(p, a, op, stages & STAGE_START);
	if ((!(stages & STAGE_START) && emit_start(p, op) < 0) || emit_complete(p, op, 0) < 0)
		return -1;
	p->initiated++;
	return 0;
}
