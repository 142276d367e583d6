/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge's command line (the supervisor builds it; the contract is
 * bridge-spec.md): parsed and checked whole before anything is opened. */
#ifndef MPBS_BRIDGE_ARGS_H
#define MPBS_BRIDGE_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRIDGE_SERVERS_MAX 16
#define BRIDGE_LANES_MAX 128
#define BRIDGE_STREAMS_MAX 128
#define BRIDGE_PROVIDER_MAX 32

enum lane_kind { LANE_ART, LANE_SIG };

struct lane_arg {
	bool out; /* out: channel -> NATS; else in: NATS -> channel */
	enum lane_kind kind;
	char provider[BRIDGE_PROVIDER_MAX + 1];
	int channel_fd;
	int state_fd;
};

struct stream_arg {
	enum lane_kind kind;
	char provider[BRIDGE_PROVIDER_MAX + 1];
};

struct bridge_args {
	bool init; /* --init, else --run */
	const char *host, *user, *password_file, *inbox_prefix;
	const char *servers[BRIDGE_SERVERS_MAX]; /* argv strings */
	int server_count;
	bool tls; /* a tls:// URL or --tls-ca */
	const char *tls_ca, *tls_cert, *tls_key;
	unsigned batch_frames, batch_bytes, window;
	int status_fd, control_fd, seccomp_fd;
	int secrets_fd; /* --run: the supervisor's memfd of credentials (secrets.h), instead of the file options */
	struct lane_arg lanes[BRIDGE_LANES_MAX];
	size_t lane_count;
	/* --init only */
	unsigned replicas;
	int64_t max_bytes;
	struct stream_arg streams[BRIDGE_STREAMS_MAX];
	size_t stream_count;
};

/* Parses argv (argv[1] is --run or --init). Returns 0, or -1 with err
 * naming the argument and what is wrong with it. args->status_fd is set
 * as soon as --status-fd parsed (else -1), so the caller can report. */
int args_parse(int argc, char **argv, struct bridge_args *args, char *err, size_t errlen);

/* "art" / "sig", and the names derived from a kind and provider:
 * subject mpbs.art.P, stream MPBS_ART_P, durable art-P. */
const char *lane_kind_name(enum lane_kind kind);
void lane_subject(enum lane_kind kind, const char *provider, char *out, size_t len);
void lane_stream(enum lane_kind kind, const char *provider, char *out, size_t len);
void lane_durable(enum lane_kind kind, const char *provider, char *out, size_t len);

#endif
