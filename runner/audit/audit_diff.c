/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The differential run (claim 2): the real first provider gets an artifact
 * it may initiate, then one it must decline; what the intermediary can
 * observe on its end of the channel must be the same for both. */
#include "audit_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/derive.h"
#include "../../lib/log.h"
#include "../../lib/wire.h"
#include "../channels.h"

/* Everything the intermediary can learn from its end of an artifact
 * channel, read on that same socket (the supervisor's duplicate of the
 * writer end): readiness, a pending error, what a read returns, and how
 * much it still has in flight. */
static void observe_writer(int fd, char *out, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP };
	int soerr = 0, outq = -1;
	socklen_t sl = sizeof(soerr);
	char byte;
	if (poll(&p, 1, 0) < 0)
		p.revents = -1;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);
	int rerr = n < 0 ? errno : 0;
	ioctl(fd, SIOCOUTQ, &outq);
	snprintf(out, len, "poll %#x, SO_ERROR %d, recv %zd/%d, outq %d", (unsigned)p.revents, soerr, n, rerr, outq);
}

/* Frames the provider wrote on its signal channel since the last call. */
static size_t drain_signals(int fd, int wait_ms)
{
	static uint8_t buf[SIGNAL_DATAGRAM_MAX + 1];
	size_t n = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (poll(&p, 1, wait_ms) > 0) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r <= 0)
			break;
		/* a datagram of frames back to back */
		for (size_t off = 0, k; (k = wire_signal_channel_frame_len(buf + off, (size_t)r - off)) > 0; off += k)
			n += wire_peek_type(buf + off, k) == WIRE_SIGNAL;
		wait_ms = 50;
	}
	return n;
}

/* One artifact as the intermediary writes it, with its binding right (the
 * provider may initiate) or wrong (it must decline); returns the
 * intermediary's observations once the provider has consumed it. */
static bool differential_step(struct audit *a, size_t pv, bool binding_ok, char *obs, size_t len, size_t *signals)
{
	uint8_t frame[ARTIFACT_HDR_LEN + 64];
	struct artifact art = { .context = "CTX_ALPHA", .context_len = 9, .has_body = true,
				.body = (const uint8_t *)"audit differential", .body_len = 18 };
	int w = a->plan.artifact[pv].writer, outq = 1;
	randombytes_buf(art.correlation, sizeof(art.correlation));
	derive_request_repr(art.body, art.body_len, art.request_repr);
	derive_binding(art.request_repr, art.context, art.context_len, art.binding);
	art.binding[0] ^= binding_ok ? 0 : 1;
	size_t flen = artifact_encode(&art, a->plan.receive_body[pv], frame, sizeof(frame));
	if (flen == 0 || send(w, frame, flen, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)flen)
		return false;
	for (int i = 0; i < 200 && outq != 0; i++) {
		if (ioctl(w, SIOCOUTQ, &outq) < 0)
			return false;
		if (outq)
			usleep(10000);
	}
	*signals = drain_signals(a->plan.signal[pv].reader, 300);
	observe_writer(w, obs, len);
	return outq == 0;
}

/* The provider runs for real (its own policy, key and seal); the row
 * holds when both runs look the same from the writer end of its artifact
 * channel (the intermediary's, or in a host part the bridge's that carries
 * it from the intermediary), and says whether the provider really decided
 * differently. r is the first provider of this run. */
static void check_differential(struct audit *a, struct role_plan *r, struct audit_row *row)
{
	size_t i = r->provider;
	struct role_proc rp = { .pidfd = -1 };
	char err[256], yes[160], no[160];
	size_t sig_yes = 0, sig_no = 0;
	siginfo_t si;
	snprintf(row->got, sizeof(row->got), "the provider could not run");
	if (plan_renew_status(r, err, sizeof(err)) < 0 || spawn_role(&r->spec, &rp, err, sizeof(err)) < 0)
		return;
	close(r->status_wr);
	r->status_wr = -1;
	struct pollfd ready = { .fd = r->status_rd, .events = POLLIN };
	bool ok = poll(&ready, 1, 5000) > 0;
	drain_signals(a->plan.signal[i].reader, 200); /* its epoch checkpoint */
	ok = ok && differential_step(a, i, true, yes, sizeof(yes), &sig_yes) &&
	     differential_step(a, i, false, no, sizeof(no), &sig_no);
	role_proc_signal(&rp, SIGTERM);
	waitid((idtype_t)P_PIDFD, (id_t)rp.pidfd, &si, WEXITED);
	close(rp.pidfd);
	audit_forward_logs(a);
	audit_restore_listener(&a->plan);
	if (!ok)
		return;
	snprintf(row->got, sizeof(row->got), "%s; signals %zu vs %zu", strcmp(yes, no) ? "observations differ"
											      : "identical", sig_yes, sig_no);
	row->ok = strcmp(yes, no) == 0 && sig_no == 0;
	if (strcmp(yes, no) != 0)
		log_error("audit: differential: %s | %s", yes, no);
}

/* The row is the intermediary's (its end is what the claim is about), or
 * in a host part without it the provider's. A host part without a
 * provider has no decision to compare: the parts that hold one run it. */
int audit_differential(struct audit *a, char *err, size_t errlen)
{
	size_t pv = plan_first_role(&a->plan, ROLE_PROVIDER), im = plan_first_role(&a->plan, ROLE_INTERMEDIARY);
	if (pv == a->plan.n_roles) {
		log_info("audit: %s: N/A in host part %s, which has no provider: the parts with one run it",
			 host_checks[HOST_DIFFERENTIAL].id, a->plan.t->this_host[0] ? a->plan.t->this_host : "-");
		return 0;
	}
	struct audit_row *row = audit_host_row(a, im < a->plan.n_roles ? im : pv, HOST_DIFFERENTIAL);
	if (!row) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	check_differential(a, &a->plan.roles[pv], row);
	return 0;
}
