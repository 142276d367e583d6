/* SPDX-License-Identifier: Apache-2.0 */
/* What a host part's bridge receives (runner/bridge_exec.h says why it is
 * a program of its own): its fds, in this order, its sandbox (the system's
 * libraries, read-only; execute on its program and its loader alone; TCP
 * connect to the NATS servers' ports alone) and its command line, which
 * names every fd. */
#ifndef MPBS_PLAN_BRIDGE_H
#define MPBS_PLAN_BRIDGE_H

#include <stddef.h>

#include "../bridge/fd_floor.h"
#include "../roles/role.h"

struct run_plan;
struct role_plan;

enum bridge_fd {
	BRIDGE_FD_STATUS = ROLE_FD_FIRST, /* its status pipe (roles/role.h) */
	BRIDGE_FD_CONTROL,  /* the supervisor's requests to write again what it wrote ('J') */
	BRIDGE_FD_SECCOMP,  /* a sealed memfd: the compiled filter of policy/bridge.policy */
	BRIDGE_FD_SECRETS,  /* a sealed memfd: its NATS password and TLS material (bridge/secrets.h) */
	BRIDGE_FD_LANES,    /* then each lane's state memfd */
};
/* Each lane's channel end sits at BRIDGE_FD_CHANNELS + k, above a gap of
 * closed numbers (bridge/fd_floor.h says why). */
#define BRIDGE_FD_LANE(k) (BRIDGE_FD_CHANNELS + (int)(k))
#define BRIDGE_FD_LANE_STATE(k) (BRIDGE_FD_LANES + (int)(k))
/* How many fd numbers from ROLE_FD_FIRST its table spans, gap included. */
#define BRIDGE_FD_SPAN(lanes) ((size_t)BRIDGE_FD_LANE(lanes) - ROLE_FD_FIRST)

/* Its NATS user, and the prefix of the inboxes its replies come to: its
 * own, so that no other user may subscribe to them (docs/MULTIHOST.md). */
#define BRIDGE_USER_PREFIX "mpbs-"
#define BRIDGE_INBOX_PREFIX "_INBOX.mpbs-"

/* Everything the bridge needs made before any role starts: its program
 * found, its credentials read (the supervisor reads them, as root, so no
 * credential file is in the bridge's sandbox), its filter compiled, a
 * state memfd per lane and its control channel. Nothing when this host
 * part has no lane. Returns 0, or -1 with err naming the file. */
int plan_bridge_prepare(struct run_plan *p, char *err, size_t errlen);

/* Where its program is: beside mpbs-run in a build tree, else installed
 * (MPBS_LIBEXEC_DIR). Returns 0, or -1 with err when it is not there. */
int plan_bridge_program(char *out, size_t len, char *err, size_t errlen);

/* The dynamic loader program names (PT_INTERP, lib/elf_interp.h) into
 * loader ("" for a static program), for the plan's Landlock rule that lets
 * the bridge's execve open it: the only file of the system it may execute.
 * Returns 0, or -1 with err when program is no 64-bit ELF executable or
 * names a loader its sandbox does not have (outside /usr, /lib, /lib64). */
int plan_bridge_loader(const char *program, char *loader, size_t len, char *err, size_t errlen);

/* Its wiring (the role table's plan function). */
void plan_bridge(struct run_plan *p, struct role_plan *r, size_t index);

void plan_bridge_release(struct run_plan *p);

#endif
