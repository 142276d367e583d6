/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mpbs-nats-permtest: proves, against running NATS servers, that the users
 * `mpbs-run nats-config` writes may do what their bridge needs and nothing
 * else (docs/MULTIHOST.md). contrib/multihost/run.py runs it after
 * `mpbs-run nats-init` and before any host part starts.
 *
 *   mpbs-nats-permtest --server URL [--server URL]... --credentials DIR CHECK...
 *
 * Each CHECK is HOST:VERB[:ARG], run in the order given, as user mpbs-HOST
 * with the password in DIR/HOST.password and the inbox prefix
 * _INBOX.mpbs-HOST (the bridge's own):
 *   publish:SUBJECT       a JetStream publish is acknowledged
 *   fetch:STREAM/DURABLE  the consumer hands over at least one message (acked)
 *   purge:STREAM          the stream is purged
 *   !publish:SUBJECT, !fetch:STREAM/DURABLE, !subscribe:SUBJECT,
 *   !create:STREAM, !delete:STREAM, !purge:STREAM
 *                         refused with a permissions violation naming the subject
 *   !password             a wrong password is refused (Authorization Violation)
 *
 * A refused publish or request reaches the caller only as a timeout; the
 * server's reason arrives through the error handler and
 * natsConnection_GetLastError (/work/shared/research/NATS-JETSTREAM.md).
 * So a refusal counts only when the error handler reported the violation
 * for the exact subject during that check, and the connection's last error
 * is a permissions violation too; a timeout alone proves nothing.
 *
 * Prints one line per check, then a summary; exit 0 when every check
 * passed, 1 when one failed, 2 on a bad command line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#define SERVERS_MAX 16
#define SESSIONS_MAX 16
#define ERRLOG_LINES 64
#define TEXT_MAX 512
#define NAME_MAX_ 64

/* How long a refused call may take: short, since a refusal only ever ends
 * in a timeout, and there are dozens of them. */
#define REFUSED_WAIT_MS 600
/* How long a granted call may take: the streams were just made and a
 * leader may still be settling. */
#define GRANTED_WAIT_MS 5000
#define GRANTED_TRIES 6
/* How long the error handler gets to report a violation after a flush. */
#define VIOLATION_WAIT_MS 2000

/* What the error handler saw, for the check under way: it runs on
 * libnats' own thread. */
struct errlog {
	pthread_mutex_t mu;
	char lines[ERRLOG_LINES][TEXT_MAX];
	size_t n;
};

struct session {
	char host[NAME_MAX_];
	char user[NAME_MAX_ + 8];
	natsConnection *nc;
	jsCtx *js;
	struct errlog log;
};

struct config {
	const char *servers[SERVERS_MAX];
	int n_servers;
	const char *credentials;
};

/* The outcome of one check: its line's reason. */
struct verdict {
	bool ok;
	char why[2 * TEXT_MAX];
};

static struct config cfg;
static struct session sessions[SESSIONS_MAX];
static size_t n_sessions;

/* ------------------------------------------------------------ utilities */

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool contains_nocase(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

static void verdict_set(struct verdict *v, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void verdict_set(struct verdict *v, bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	v->ok = ok;
}

/* libnats' text for the last failure of this thread, else the status's;
 * without the "(file.c:123): " of the library's own source it begins with. */
static const char *status_text(natsStatus s)
{
	natsStatus last = NATS_OK;
	const char *text = nats_GetLastError(&last);
	if (!text || !*text)
		return natsStatus_GetText(s);
	const char *end = text[0] == '(' ? strstr(text, "): ") : NULL;
	return end ? end + 3 : text;
}

/* ------------------------------------------------------ the error log */

static void errlog_clear(struct errlog *log)
{
	pthread_mutex_lock(&log->mu);
	log->n = 0;
	pthread_mutex_unlock(&log->mu);
}

/* Copies into out the first line that names both words, if any. */
static bool errlog_find(struct errlog *log, const char *what, const char *subject, char *out, size_t len)
{
	bool found = false;
	pthread_mutex_lock(&log->mu);
	for (size_t i = 0; i < log->n && !found; i++) {
		if (contains_nocase(log->lines[i], what) && strstr(log->lines[i], subject)) {
			snprintf(out, len, "%s", log->lines[i]);
			found = true;
		}
	}
	pthread_mutex_unlock(&log->mu);
	return found;
}

/* Any violation at all during the check: a granted call must cause none. */
static bool errlog_any_violation(struct errlog *log, char *out, size_t len)
{
	return errlog_find(log, "violation", "", out, len);
}

/* The error handler: libnats calls it for every asynchronous error, among
 * them the server's -ERR for a refused publish or subscription, whose text
 * only natsConnection_GetLastError has. */
static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
	struct errlog *log = closure;
	const char *text = NULL;
	natsStatus last = natsConnection_GetLastError(nc, &text);
	pthread_mutex_lock(&log->mu);
	if (log->n < ERRLOG_LINES) {
		snprintf(log->lines[log->n], TEXT_MAX, "%s [%s%s]", text && *text ? text : natsStatus_GetText(err),
			 natsStatus_GetText(last), sub ? ", on a subscription" : "");
		log->n++;
	}
	pthread_mutex_unlock(&log->mu);
}

/* ---------------------------------------------------------- sessions */

/* DIR/HOST.password without its newline; a password file holds one line. */
static int read_password(const char *host, char *out, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.password", cfg.credentials, host);
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "permtest: %s: %s\n", path, strerror(errno));
		return -1;
	}
	bool got = fgets(out, (int)len, f) != NULL;
	fclose(f);
	if (!got) {
		fprintf(stderr, "permtest: %s: empty\n", path);
		return -1;
	}
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

/* The options a host part's bridge connects with: its user, its own inbox
 * prefix, the error handler; no reconnect loop, so a refused login fails
 * at once instead of retrying. */
static natsStatus make_options(natsOptions **o, const char *host, const char *password, struct errlog *log)
{
	char user[NAME_MAX_ + 8], inbox[NAME_MAX_ + 16], name[NAME_MAX_ + 32];
	snprintf(user, sizeof(user), "mpbs-%s", host);
	snprintf(inbox, sizeof(inbox), "_INBOX.mpbs-%s", host);
	snprintf(name, sizeof(name), "mpbs-nats-permtest %s", host);
	natsStatus s = natsOptions_Create(o);
	if (s == NATS_OK)
		s = natsOptions_SetServers(*o, cfg.servers, cfg.n_servers);
	if (s == NATS_OK)
		s = natsOptions_SetUserInfo(*o, user, password);
	if (s == NATS_OK)
		s = natsOptions_SetCustomInboxPrefix(*o, inbox);
	if (s == NATS_OK)
		s = natsOptions_SetName(*o, name);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(*o, 3000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(*o, 0);
	if (s == NATS_OK && log)
		s = natsOptions_SetErrorHandler(*o, on_error, log);
	return s;
}

static natsStatus open_session(struct session *se)
{
	char password[256];
	natsOptions *o = NULL;
	if (read_password(se->host, password, sizeof(password)) < 0)
		return NATS_ERR;
	natsStatus s = make_options(&o, se->host, password, &se->log);
	if (s == NATS_OK)
		s = natsConnection_Connect(&se->nc, o);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&se->js, se->nc, NULL);
	natsOptions_Destroy(o);
	return s;
}

/* The session of host, connected on first use. */
static struct session *session_of(const char *host)
{
	for (size_t i = 0; i < n_sessions; i++)
		if (strcmp(sessions[i].host, host) == 0)
			return &sessions[i];
	if (n_sessions == SESSIONS_MAX)
		return NULL;
	struct session *se = &sessions[n_sessions];
	snprintf(se->host, sizeof(se->host), "%s", host);
	snprintf(se->user, sizeof(se->user), "mpbs-%s", host);
	if (pthread_mutex_init(&se->log.mu, NULL) != 0)
		return NULL;
	natsStatus s = open_session(se);
	if (s != NATS_OK) {
		fprintf(stderr, "permtest: cannot connect as %s: %s\n", se->user, status_text(s));
		jsCtx_Destroy(se->js);
		natsConnection_Destroy(se->nc);
		pthread_mutex_destroy(&se->log.mu);
		memset(se, 0, sizeof(*se));
		return NULL;
	}
	n_sessions++;
	return se;
}

static void close_sessions(void)
{
	for (size_t i = 0; i < n_sessions; i++) {
		jsCtx_Destroy(sessions[i].js);
		natsConnection_Destroy(sessions[i].nc);
		pthread_mutex_destroy(&sessions[i].log.mu);
	}
	n_sessions = 0;
}

/* --------------------------------------------------- refused actions */

static void js_wait(jsOptions *o, int64_t ms)
{
	jsOptions_Init(o);
	o->Wait = ms;
}

static natsStatus try_publish(struct session *se, const char *subject)
{
	static const char body[] = "mpbs-nats-permtest: must be refused";
	jsPubOptions po;
	jsPubAck *ack = NULL;
	jsErrCode jerr = 0;
	jsPubOptions_Init(&po);
	po.MaxWait = REFUSED_WAIT_MS;
	natsStatus s = js_Publish(&ack, se->js, subject, body, (int)sizeof(body) - 1, &po, &jerr);
	jsPubAck_Destroy(ack);
	return s;
}

/* Binds to STREAM/DURABLE as the bridge does (the consumer exists, made by
 * the admin user) and asks for up to batch messages. The caller destroys
 * *sub after the messages: acknowledging one needs its subscription. */
static natsStatus pull(struct session *se, const char *stream, const char *durable, int64_t wait, int batch,
		       natsMsgList *list, natsSubscription **sub)
{
	jsOptions jo;
	jsSubOptions so;
	jsErrCode jerr = 0;
	js_wait(&jo, wait);
	jsSubOptions_Init(&so);
	so.Stream = stream;
	so.Consumer = durable;
	natsStatus s = js_PullSubscribe(sub, se->js, NULL, durable, &jo, &so, &jerr);
	if (s == NATS_OK)
		s = natsSubscription_Fetch(list, *sub, batch, wait, &jerr);
	return s;
}

static int split_consumer(const char *arg, char *stream, size_t len, const char **durable)
{
	const char *slash = strchr(arg, '/');
	if (!slash || slash == arg || !slash[1] || (size_t)(slash - arg) >= len)
		return -1;
	memcpy(stream, arg, (size_t)(slash - arg));
	stream[slash - arg] = '\0';
	*durable = slash + 1;
	return 0;
}

static natsStatus try_fetch(struct session *se, const char *arg)
{
	char stream[NAME_MAX_];
	const char *durable;
	natsMsgList list = { 0 };
	natsSubscription *sub = NULL;
	if (split_consumer(arg, stream, sizeof(stream), &durable) < 0)
		return NATS_INVALID_ARG;
	natsStatus s = pull(se, stream, durable, REFUSED_WAIT_MS, 1, &list, &sub);
	/* A message handed over despite the refusal would be a failure: it is
	 * left unacknowledged, to be redelivered to its rightful reader. */
	if (s == NATS_OK && list.Count == 0)
		s = NATS_TIMEOUT;
	natsMsgList_Destroy(&list);
	natsSubscription_Destroy(sub);
	return s;
}

/* A subscription is refused after the fact: SUB is accepted by the
 * library, the server answers -ERR. */
static natsStatus try_subscribe(struct session *se, const char *subject)
{
	natsSubscription *sub = NULL;
	natsStatus s = natsConnection_SubscribeSync(&sub, se->nc, subject);
	if (s == NATS_OK) {
		natsMsg *msg = NULL;
		s = natsSubscription_NextMsg(&msg, sub, REFUSED_WAIT_MS);
		natsMsg_Destroy(msg);
		if (s == NATS_OK)
			s = NATS_ERR; /* something was read: only a refusal is ok */
		else if (s == NATS_TIMEOUT)
			s = NATS_OK;  /* nothing read; the verdict comes through the log */
	}
	natsSubscription_Destroy(sub);
	return s;
}

static natsStatus try_create(struct session *se, const char *stream)
{
	jsOptions jo;
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	const char *subjects[] = { "mpbs.permtest.refused" };
	js_wait(&jo, REFUSED_WAIT_MS);
	jsStreamConfig_Init(&sc);
	sc.Name = stream;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	natsStatus s = js_AddStream(&si, se->js, &sc, &jo, &jerr);
	jsStreamInfo_Destroy(si);
	return s;
}

static natsStatus try_delete(struct session *se, const char *stream)
{
	jsOptions jo;
	jsErrCode jerr = 0;
	js_wait(&jo, REFUSED_WAIT_MS);
	return js_DeleteStream(se->js, stream, &jo, &jerr);
}

static natsStatus try_purge(struct session *se, const char *stream, int64_t wait)
{
	jsOptions jo;
	jsErrCode jerr = 0;
	js_wait(&jo, wait);
	return js_PurgeStream(se->js, stream, &jo, &jerr);
}

static natsStatus try_purge_refused(struct session *se, const char *stream)
{
	return try_purge(se, stream, REFUSED_WAIT_MS);
}

/* ---------------------------------------------------- refusal checks */

/* The API subject a refused call publishes to; what the server names. */
static void api_subject(const char *verb, const char *arg, char *out, size_t len)
{
	char stream[NAME_MAX_];
	const char *durable;
	if (strcmp(verb, "fetch") == 0 && split_consumer(arg, stream, sizeof(stream), &durable) == 0)
		snprintf(out, len, "$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream, durable);
	else if (strcmp(verb, "create") == 0)
		snprintf(out, len, "$JS.API.STREAM.CREATE.%s", arg);
	else if (strcmp(verb, "delete") == 0)
		snprintf(out, len, "$JS.API.STREAM.DELETE.%s", arg);
	else if (strcmp(verb, "purge") == 0)
		snprintf(out, len, "$JS.API.STREAM.PURGE.%s", arg);
	else
		snprintf(out, len, "%s", arg);
}

/* Waits for the error handler's report of "Permissions Violation for
 * KIND to SUBJECT", KIND Publish or Subscription. */
static bool wait_violation(struct session *se, const char *kind, const char *subject, char *out, size_t len)
{
	char what[64];
	snprintf(what, sizeof(what), "Permissions Violation for %s to", kind);
	for (int waited = 0; waited <= VIOLATION_WAIT_MS; waited += 50) {
		if (errlog_find(&se->log, what, subject, out, len))
			return true;
		sleep_ms(50);
	}
	return false;
}

/* The connection's own record of the refusal, beside the handler's. */
static bool last_error_is_violation(struct session *se, char *out, size_t len)
{
	const char *text = NULL;
	natsStatus s = natsConnection_GetLastError(se->nc, &text);
	snprintf(out, len, "%s", text && *text ? text : natsStatus_GetText(s));
	return s == NATS_NOT_PERMITTED && contains_nocase(out, "Permissions Violation");
}

static natsStatus run_refused(struct session *se, const char *verb, const char *arg)
{
	if (strcmp(verb, "publish") == 0)
		return try_publish(se, arg);
	if (strcmp(verb, "fetch") == 0)
		return try_fetch(se, arg);
	if (strcmp(verb, "subscribe") == 0)
		return try_subscribe(se, arg);
	if (strcmp(verb, "create") == 0)
		return try_create(se, arg);
	if (strcmp(verb, "delete") == 0)
		return try_delete(se, arg);
	return try_purge_refused(se, arg);
}

static void check_refused(struct session *se, const char *verb, const char *arg, struct verdict *v)
{
	char subject[256], seen[TEXT_MAX], last[TEXT_MAX];
	bool is_sub = strcmp(verb, "subscribe") == 0;
	const char *kind = is_sub ? "Subscription" : "Publish";
	api_subject(verb, arg, subject, sizeof(subject));
	errlog_clear(&se->log);
	natsStatus s = run_refused(se, verb, arg);
	/* The server handles what this connection sent in order: once the
	 * flush's PONG is back, its -ERR has been read too. */
	natsStatus f = natsConnection_FlushTimeout(se->nc, VIOLATION_WAIT_MS);
	bool reported = wait_violation(se, kind, subject, seen, sizeof(seen));
	bool recorded = last_error_is_violation(se, last, sizeof(last));
	/* A refused publish or request ends in an error (a timeout); a refused
	 * subscription in none, since SUB returns before the server's verdict,
	 * and try_subscribe turns a delivered message into NATS_ERR. */
	if (!is_sub && s == NATS_OK)
		verdict_set(v, false, "the call succeeded (%s)", reported ? seen : "no violation reported");
	else if (is_sub && s != NATS_OK)
		verdict_set(v, false, "%s", s == NATS_ERR ? "a message was delivered" : status_text(s));
	else if (!reported)
		verdict_set(v, false, "no \"Permissions Violation for %s to %s\" reported (call: %s, flush: %s)", kind,
			    subject, natsStatus_GetText(s), natsStatus_GetText(f));
	else if (!recorded)
		verdict_set(v, false, "handler: %s; but natsConnection_GetLastError: %s", seen, last);
	else
		verdict_set(v, true, "%s", seen);
}

/* ---------------------------------------------------- granted checks */

/* A publish that must be acknowledged by the stream. Retried while the
 * cluster may still be electing a leader (no responders, timeout), but
 * never once a violation was reported. */
static void check_publish(struct session *se, const char *subject, struct verdict *v)
{
	static const char body[] = "mpbs-nats-permtest: granted";
	char seen[TEXT_MAX];
	natsStatus s = NATS_ERR;
	jsErrCode jerr = 0;
	errlog_clear(&se->log);
	for (int k = 0; k < GRANTED_TRIES; k++) {
		jsPubOptions po;
		jsPubAck *ack = NULL;
		jsPubOptions_Init(&po);
		po.MaxWait = GRANTED_WAIT_MS;
		s = js_Publish(&ack, se->js, subject, body, (int)sizeof(body) - 1, &po, &jerr);
		if (s == NATS_OK) {
			verdict_set(v, true, "acknowledged by %s, seq %llu", ack->Stream,
				    (unsigned long long)ack->Sequence);
			jsPubAck_Destroy(ack);
			return;
		}
		if (errlog_any_violation(&se->log, seen, sizeof(seen)))
			break;
		sleep_ms(1000);
	}
	if (errlog_any_violation(&se->log, seen, sizeof(seen)))
		verdict_set(v, false, "refused: %s", seen);
	else
		verdict_set(v, false, "%s (JetStream error %d)", status_text(s), (int)jerr);
}

static int ack_all(natsMsgList *list, char *why, size_t len)
{
	for (int i = 0; i < list->Count; i++) {
		jsErrCode jerr = 0;
		natsStatus s = natsMsg_AckSync(list->Msgs[i], NULL, &jerr);
		if (s != NATS_OK) {
			snprintf(why, len, "ack: %s (JetStream error %d)", status_text(s), (int)jerr);
			return -1;
		}
	}
	return 0;
}

/* The consumer's messages, each acknowledged, so that what the checks
 * before published never reaches the bridge that binds it later. */
static void check_fetch(struct session *se, const char *arg, struct verdict *v)
{
	char stream[NAME_MAX_], seen[TEXT_MAX], why[TEXT_MAX];
	const char *durable;
	natsMsgList list = { 0 };
	natsSubscription *sub = NULL;
	if (split_consumer(arg, stream, sizeof(stream), &durable) < 0) {
		verdict_set(v, false, "%s: not STREAM/DURABLE", arg);
		return;
	}
	errlog_clear(&se->log);
	natsStatus s = pull(se, stream, durable, GRANTED_WAIT_MS, 64, &list, &sub);
	if (errlog_any_violation(&se->log, seen, sizeof(seen)))
		verdict_set(v, false, "refused: %s", seen);
	else if (s != NATS_OK || list.Count == 0)
		verdict_set(v, false, "no message: %s", s == NATS_OK ? "empty" : status_text(s));
	else if (ack_all(&list, why, sizeof(why)) < 0)
		verdict_set(v, false, "%s", why);
	else
		verdict_set(v, true, "%d message(s) fetched and acknowledged", list.Count);
	natsMsgList_Destroy(&list);
	natsSubscription_Destroy(sub);
}

static void check_purge(struct session *se, const char *stream, struct verdict *v)
{
	char seen[TEXT_MAX];
	errlog_clear(&se->log);
	natsStatus s = try_purge(se, stream, GRANTED_WAIT_MS);
	if (errlog_any_violation(&se->log, seen, sizeof(seen)))
		verdict_set(v, false, "refused: %s", seen);
	else if (s != NATS_OK)
		verdict_set(v, false, "%s", status_text(s));
	else
		verdict_set(v, true, "purged");
}

/* A login with a wrong password, on a connection of its own: the server
 * answers -ERR 'Authorization Violation' and closes it. */
static void check_password(const char *host, struct verdict *v)
{
	natsOptions *o = NULL;
	natsConnection *nc = NULL;
	natsStatus s = make_options(&o, host, "not-the-password", NULL);
	if (s != NATS_OK) {
		verdict_set(v, false, "options: %s", status_text(s));
		natsOptions_Destroy(o);
		return;
	}
	s = natsConnection_Connect(&nc, o);
	const char *text = status_text(s);
	if (s == NATS_OK)
		verdict_set(v, false, "the connection was accepted");
	else if (!contains_nocase(text, "Authorization Violation"))
		verdict_set(v, false, "refused, but not for its password: %s", text);
	else
		verdict_set(v, true, "%s", text);
	natsConnection_Destroy(nc);
	natsOptions_Destroy(o);
}

/* ------------------------------------------------------------- checks */

struct check {
	char host[NAME_MAX_];
	bool refused;
	char verb[16];
	const char *arg;
};

static int parse_check(const char *text, struct check *c)
{
	static const char *const verbs[] = { "publish", "fetch", "purge", "subscribe", "create", "delete", "password" };
	const char *colon = strchr(text, ':');
	if (!colon || colon == text || (size_t)(colon - text) >= sizeof(c->host))
		return -1;
	memcpy(c->host, text, (size_t)(colon - text));
	c->host[colon - text] = '\0';
	const char *verb = colon + 1;
	c->refused = *verb == '!';
	verb += c->refused;
	const char *arg = strchr(verb, ':');
	size_t vlen = arg ? (size_t)(arg - verb) : strlen(verb);
	if (vlen == 0 || vlen >= sizeof(c->verb))
		return -1;
	memcpy(c->verb, verb, vlen);
	c->verb[vlen] = '\0';
	c->arg = arg ? arg + 1 : "";
	bool known = false;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		known = known || strcmp(c->verb, verbs[i]) == 0;
	bool wants_arg = strcmp(c->verb, "password") != 0;
	bool granted_ok = strcmp(c->verb, "publish") == 0 || strcmp(c->verb, "fetch") == 0 ||
			  strcmp(c->verb, "purge") == 0;
	if (!known || wants_arg != (*c->arg != '\0') || (!c->refused && !granted_ok) ||
	    (strcmp(c->verb, "password") == 0 && !c->refused))
		return -1;
	return 0;
}

/* "ab may not publish mpbs.sig.C", "front may fetch MPBS_ART_A/art-A". */
static void describe(const struct check *c, char *out, size_t len)
{
	if (strcmp(c->verb, "password") == 0)
		snprintf(out, len, "%s with a wrong password is refused", c->host);
	else if (strcmp(c->verb, "create") == 0 || strcmp(c->verb, "delete") == 0 || strcmp(c->verb, "purge") == 0)
		snprintf(out, len, "%s may%s %s stream %s", c->host, c->refused ? " not" : "", c->verb, c->arg);
	else
		snprintf(out, len, "%s may%s %s %s", c->host, c->refused ? " not" : "", c->verb, c->arg);
}

static void run_check(const struct check *c, struct verdict *v)
{
	if (strcmp(c->verb, "password") == 0) {
		check_password(c->host, v);
		return;
	}
	struct session *se = session_of(c->host);
	if (!se)
		verdict_set(v, false, "no connection as mpbs-%s", c->host);
	else if (c->refused)
		check_refused(se, c->verb, c->arg, v);
	else if (strcmp(c->verb, "publish") == 0)
		check_publish(se, c->arg, v);
	else if (strcmp(c->verb, "fetch") == 0)
		check_fetch(se, c->arg, v);
	else
		check_purge(se, c->arg, v);
}

/* ---------------------------------------------------------------- main */

static int usage(void)
{
	fprintf(stderr, "usage: mpbs-nats-permtest --server URL [--server URL]... --credentials DIR CHECK...\n"
			"CHECK: HOST:publish:SUBJECT | HOST:fetch:STREAM/DURABLE | HOST:purge:STREAM |\n"
			"       HOST:!publish:SUBJECT | HOST:!fetch:STREAM/DURABLE | HOST:!subscribe:SUBJECT |\n"
			"       HOST:!create:STREAM | HOST:!delete:STREAM | HOST:!purge:STREAM | HOST:!password\n");
	return 2;
}

/* Options first; returns the index of the first CHECK, or -1. */
static int parse_options(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (i + 1 >= argc)
			return -1;
		if (strcmp(argv[i], "--server") == 0 && cfg.n_servers < SERVERS_MAX)
			cfg.servers[cfg.n_servers++] = argv[i + 1];
		else if (strcmp(argv[i], "--credentials") == 0)
			cfg.credentials = argv[i + 1];
		else
			return -1;
	}
	return cfg.n_servers > 0 && cfg.credentials && i < argc ? i : -1;
}

int main(int argc, char **argv)
{
	int first = parse_options(argc, argv);
	if (first < 0)
		return usage();
	struct check *checks = calloc((size_t)(argc - first), sizeof(*checks));
	if (!checks) {
		perror("permtest");
		return 1;
	}
	for (int i = first; i < argc; i++)
		if (parse_check(argv[i], &checks[i - first]) < 0) {
			fprintf(stderr, "permtest: bad check: %s\n", argv[i]);
			free(checks);
			return usage();
		}
	natsStatus s = nats_Open(-1);
	if (s != NATS_OK) {
		fprintf(stderr, "permtest: nats_Open: %s\n", natsStatus_GetText(s));
		free(checks);
		return 1;
	}
	int failed = 0, total = argc - first;
	for (int i = 0; i < total; i++) {
		char line[256];
		struct verdict v = { 0 };
		describe(&checks[i], line, sizeof(line));
		run_check(&checks[i], &v);
		printf("permtest: %s: %s (%s)\n", v.ok ? "ok" : "FAIL", line, v.why);
		fflush(stdout);
		failed += !v.ok;
	}
	free(checks);
	close_sessions();
	nats_Close();
	printf("permtest: %d checks, %d failed\n", total, failed);
	return failed ? 1 : 0;
}
