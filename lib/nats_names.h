/* SPDX-License-Identifier: Apache-2.0 */
/* The NATS names of a topology spread over hosts, shared by the bridge
 * (bridge/) and by what writes the servers' configuration and streams
 * (runner/nats_cmd.c), so that the permissions granted are exactly the
 * subjects used (docs/MULTIHOST.md):
 *   subject  mpbs.art.P / mpbs.sig.P    what provider P's channels carry
 *   stream   MPBS_ART_P / MPBS_SIG_P    one per provider and direction
 *   durable  art-P / sig-P              the one consumer of each stream
 *   user     mpbs-HOST                  a host part's bridge
 *   inbox    _INBOX.mpbs-HOST           its replies, readable by it alone
 * P and HOST are [A-Za-z0-9_-]: valid in subjects and stream names. */
#ifndef MPBS_NATS_NAMES_H
#define MPBS_NATS_NAMES_H

#define NATS_SUBJECT_FMT "mpbs.%s.%s"   /* kind word ("art", "sig"), provider */
#define NATS_STREAM_FMT "MPBS_%s_%s"    /* "ART" or "SIG", provider */
#define NATS_DURABLE_FMT "%s-%s"        /* kind word, provider */
#define NATS_USER_FMT "mpbs-%s"         /* host part */
#define NATS_INBOX_FMT "_INBOX.mpbs-%s" /* host part */
#define NATS_ADMIN_USER "mpbs-admin"    /* makes the streams (mpbs-run nats-init), nothing else */
#define NATS_ADMIN_NAME "admin"         /* its password file: admin.password */

#endif
