/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logline.h"
#include "password.h"
#include "secrets.h"

/* Retry pause between two connect attempts at start. */
#define CONNECT_RETRY_MS 500

void conn_describe(natsConnection *nc, natsStatus s, char *out, size_t len)
{
	const char *last = NULL;
	if (nc)
		natsConnection_GetLastError(nc, &last);
	if (last && *last)
		snprintf(out, len, "%s (%s)", natsStatus_GetText(s), last);
	else
		snprintf(out, len, "%s", natsStatus_GetText(s));
}

/* A permission violation reaches the program only here and through
 * natsConnection_GetLastError: the call that caused it just times out.
 * The same text again (every fetch of a forbidden consumer) is logged
 * once, until another one comes. */
static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char last_logged[256];
	char text[256];
	conn_describe(nc, err, text, sizeof(text));
	pthread_mutex_lock(&lock);
	bool repeat = strcmp(text, last_logged) == 0;
	if (!repeat)
		snprintf(last_logged, sizeof(last_logged), "%s", text);
	pthread_mutex_unlock(&lock);
	if (!repeat)
		bridge_error("nats: %s", text);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	bridge_warning("nats: disconnected, reconnecting");
}

static atomic_uint reconnects;

unsigned conn_generation(void)
{
	return atomic_load(&reconnects);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	atomic_fetch_add(&reconnects, 1);
	char url[128] = "";
	if (natsConnection_GetConnectedUrl(nc, url, sizeof(url)) != NATS_OK)
		snprintf(url, sizeof(url), "?");
	bridge_info("nats: reconnected to %s", url);
}

/* Each option call's status, named for the error message. */
static bool opt_ok(natsStatus s, const char *what, char *err, size_t errlen)
{
	if (s == NATS_OK)
		return true;
	snprintf(err, errlen, "%s: %s", what, natsStatus_GetText(s));
	return false;
}

static bool set_tls(natsOptions *o, const struct bridge_args *a, const struct secrets *sec, char *err,
		    size_t errlen)
{
	char what[320];
	if (!opt_ok(natsOptions_SetSecure(o, true), "TLS", err, errlen))
		return false;
	if (sec)
		return (!sec->ca[0] || opt_ok(natsOptions_SetCATrustedCertificates(o, sec->ca), "the CA", err, errlen)) &&
		       (!sec->cert[0] || opt_ok(natsOptions_SetCertificatesChain(o, sec->cert, sec->key),
						"the certificate and key", err, errlen));
	if (a->tls_ca) {
		snprintf(what, sizeof(what), "--tls-ca %s", a->tls_ca);
		if (!opt_ok(natsOptions_LoadCATrustedCertificates(o, a->tls_ca), what, err, errlen))
			return false;
	}
	if (a->tls_cert) {
		snprintf(what, sizeof(what), "--tls-cert %s / --tls-key %s", a->tls_cert, a->tls_key);
		if (!opt_ok(natsOptions_LoadCertificatesChain(o, a->tls_cert, a->tls_key), what, err, errlen))
			return false;
	}
	return true;
}

/* TLS whenever a server is named tls:// (libnats alone would only
 * secure a connection the server asks to secure), or TLS material is
 * given. */
static bool wants_tls(const struct bridge_args *a, const struct secrets *sec)
{
	for (int i = 0; i < a->server_count; i++)
		if (strncmp(a->servers[i], "tls://", 6) == 0)
			return true;
	return a->tls || (sec && (sec->ca[0] || sec->cert[0]));
}

static natsOptions *build_options(const struct bridge_args *a, const char *password, const struct secrets *sec,
				  char *err, size_t errlen)
{
	natsOptions *o = NULL;
	if (!opt_ok(natsOptions_Create(&o), "nats options", err, errlen))
		return NULL;
	bool ok = opt_ok(natsOptions_SetServers(o, (const char **)a->servers, a->server_count), "--server", err, errlen) &&
		  opt_ok(natsOptions_SetUserInfo(o, a->user, password), "--user", err, errlen) &&
		  opt_ok(natsOptions_SetErrorHandler(o, on_async_error, NULL), "error handler", err, errlen) &&
		  opt_ok(natsOptions_SetDisconnectedCB(o, on_disconnected, NULL), "disconnect handler", err, errlen) &&
		  opt_ok(natsOptions_SetReconnectedCB(o, on_reconnected, NULL), "reconnect handler", err, errlen) &&
		  opt_ok(natsOptions_SetMaxReconnect(o, -1), "max reconnect", err, errlen) &&
		  opt_ok(natsOptions_SetReconnectWait(o, 100), "reconnect wait", err, errlen) &&
		  opt_ok(natsOptions_SetNoRandomize(o, false), "randomize", err, errlen) &&
		  opt_ok(natsOptions_SetTimeout(o, 2000), "timeout", err, errlen) &&
		  opt_ok(natsOptions_SetNoEcho(o, true), "no echo", err, errlen) &&
		  /* only the [nats] servers: a cluster's advertised URLs could
		   * be names (a DNS lookup the filter kills) or other addresses
		   * on the same port reached in clear, past the topology's checks */
		  opt_ok(natsOptions_SetIgnoreDiscoveredServers(o, true), "ignore discovered servers", err, errlen) &&
		  (!a->inbox_prefix ||
		   opt_ok(natsOptions_SetCustomInboxPrefix(o, a->inbox_prefix), "--inbox-prefix", err, errlen)) &&
		  (!wants_tls(a, sec) || set_tls(o, a, sec, err, errlen));
	if (!ok) {
		natsOptions_Destroy(o);
		return NULL;
	}
	return o;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Tries until the deadline: the servers may start after the bridge, or
 * be in an election. The last error is kept for the 'E' record. */
static natsConnection *connect_until_deadline(natsOptions *o, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + BRIDGE_CONNECT_DEADLINE_MS;
	char last[256] = "";
	for (;;) {
		natsConnection *nc = NULL;
		natsStatus s = natsConnection_Connect(&nc, o);
		if (s == NATS_OK)
			return nc;
		const char *text = nats_GetLastError(NULL);
		char now[256];
		snprintf(now, sizeof(now), "%s%s%s", natsStatus_GetText(s), text ? ": " : "", text ? text : "");
		if (strcmp(now, last) != 0)
			bridge_warning("nats: connect: %s; trying again", now);
		snprintf(last, sizeof(last), "%s", now);
		if (now_ms() + CONNECT_RETRY_MS >= deadline) {
			snprintf(err, errlen, "nats unreachable for %d s: %s", BRIDGE_CONNECT_DEADLINE_MS / 1000, last);
			return NULL;
		}
		usleep(CONNECT_RETRY_MS * 1000);
	}
}

natsOptions *conn_options(const struct bridge_args *a, char *err, size_t errlen)
{
	natsOptions *o = NULL;
	if (a->secrets_fd >= 0) {
		struct secrets sec;
		int rc = secrets_read(a->secrets_fd, &sec, err, errlen);
		/* read once: no later incarnation of a compromise reads it again */
		if (close(a->secrets_fd) < 0 && rc == 0) {
			snprintf(err, errlen, "--secrets-fd %d: close: %s", a->secrets_fd, strerror(errno));
			secrets_free(&sec);
			return NULL;
		}
		if (rc < 0)
			return NULL;
		o = build_options(a, sec.password, &sec, err, errlen);
		secrets_free(&sec); /* the options keep their own copy */
	} else {
		char password[PASSWORD_MAX + 2];
		if (password_read(a->password_file, password, sizeof(password), err, errlen) < 0)
			return NULL;
		o = build_options(a, password, NULL, err, errlen);
		explicit_bzero(password, sizeof(password));
	}
	return o;
}

natsConnection *conn_connect(natsOptions *o, char *err, size_t errlen)
{
	natsConnection *nc = connect_until_deadline(o, err, errlen);
	natsOptions_Destroy(o);
	return nc;
}

natsConnection *conn_open(const struct bridge_args *a, char *err, size_t errlen)
{
	natsOptions *o = conn_options(a, err, errlen);
	return o ? conn_connect(o, err, errlen) : NULL;
}

void conn_close(natsConnection *nc, int64_t timeout_ms)
{
	if (!nc)
		return;
	natsStatus s = natsConnection_FlushTimeout(nc, timeout_ms);
	if (s != NATS_OK && s != NATS_CONNECTION_CLOSED)
		bridge_warning("nats: last flush: %s", natsStatus_GetText(s));
	natsConnection_Destroy(nc);
}
