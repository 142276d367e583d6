/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../../lib/ledger2_json.h"
#include "../../lib/ledger2_walk.h"

int harness_time_scale(void)
{
	const char *s = getenv("MPBS_TIME_SCALE");
	int k = s ? atoi(s) : 1;
	return k < 1 ? 1 : k > 100 ? 100 : k;
}

const char *mpbs_binary(void)
{
	const char *b = getenv("MPBS_RUN");
	return b ? b : "build/mpbs-run";
}

/* The directory mpbs-tests started in, taken before any test changes into
 * its scratch directory: "." would then name the scratch directory. */
static char start_dir[PATH_MAX] = ".";

__attribute__((constructor)) static void remember_start_dir(void)
{
	if (getcwd(start_dir, sizeof(start_dir)) == NULL)
		snprintf(start_dir, sizeof(start_dir), ".");
}

const char *mpbs_srcdir(void)
{
	const char *s = getenv("MPBS_SRCDIR");
	return s ? s : start_dir;
}

int harness_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int write_topology(struct mpbs *m, const char *names, const char *extra)
{
	char path[PATH_MAX + 64], buf[512];
	FILE *f = fopen(m->topology, "w");
	if (!f)
		return -1;
	fprintf(f, "[runner]\nuid_base = %u\n\n[intermediary]\nlisten = 127.0.0.1:%d\npath = /nuvl\n"
		   "max_request = 65536\n\n[association]\nledger = %s\nconfirm = all\npending_timeout = 5\n\n",
		m->uid_base, m->port, m->ledger);
	char list[256];
	snprintf(list, sizeof(list), "%s", names);
	for (char *save = NULL, *n = strtok_r(list, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
		snprintf(path, sizeof(path), "%s/%s.policy", m->dir, n);
		snprintf(buf, sizeof(buf), "accept_context = CTX_ALPHA\nreceive_body = yes\n");
		if (write_text(path, buf) < 0)
			break;
		fprintf(f, "[provider %s]\npolicy = %s.policy\nkeys = keys/%s\ndemo_keys = yes\nreceive_body = yes\n\n",
			n, n, n);
	}
	if (extra)
		fputs(extra, f);
	return fclose(f);
}

/* Waits for READY=1 on the pipe, or for the child to die. */
static int wait_ready(struct mpbs *m, int rd)
{
	char buf[16];
	struct pollfd pfd = { .fd = rd, .events = POLLIN };
	int rc = poll(&pfd, 1, 10000 * harness_time_scale());
	ssize_t n = rc > 0 ? read(rd, buf, sizeof(buf)) : -1;
	close(rd);
	return n >= 7 && memcmp(buf, "READY=1", 7) == 0 ? 0 : -1;
}

int mpbs_start(struct mpbs *m, const char *names, const char *extra)
{
	return mpbs_prepare(m, names, extra) < 0 ? -1 : mpbs_launch(m);
}

/* Whether a running mpbs-run holds any uid of [base, base + stride) in
 * /run/mpbs/uids.lock (runner/instance_lock.h). */
static bool uid_range_taken(unsigned base)
{
	int fd = open("/run/mpbs/uids.lock", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = base, .l_len = HARNESS_UID_STRIDE };
	bool taken = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return taken;
}

/* A uid range of this test process's own (from its pid: criterion runs
 * each test in its own process; and a count, as a test may prepare more
 * than one instance), after `after` (0: the first), skipping ranges a
 * running instance holds. 20000 slots from uid 1000000 up. */
static unsigned pick_uid_base(unsigned after)
{
	enum { SLOTS = 20000 };
	static unsigned picks;
	unsigned slot = after ? (after - 1000000u) / HARNESS_UID_STRIDE + 7919 : (unsigned)getpid() * 7919u + picks++;
	for (int i = 0; i < 64; i++, slot += 7919) {
		unsigned base = 1000000u + (slot % SLOTS) * HARNESS_UID_STRIDE;
		if (base != after && !uid_range_taken(base))
			return base;
	}
	return 1000000u + (slot % SLOTS) * HARNESS_UID_STRIDE;
}

int mpbs_prepare(struct mpbs *m, const char *names, const char *extra)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->dir, sizeof(m->dir), "/tmp/mpbs-test-XXXXXX");
	if (!mkdtemp(m->dir) || chmod(m->dir, 0755) < 0)
		return -1;
	snprintf(m->topology, sizeof(m->topology), "%s/topology.conf", m->dir);
	snprintf(m->ledger, sizeof(m->ledger), "%s/ledger", m->dir);
	snprintf(m->log, sizeof(m->log), "%s/mpbs.log", m->dir);
	m->port = harness_free_port();
	m->uid_base = pick_uid_base(0);
	return m->port < 0 ? -1 : write_topology(m, names, extra);
}

int mpbs_stop(struct mpbs *m)
{
	int st;
	if (m->pid <= 0)
		return -1;
	kill(m->pid, SIGTERM);
	for (int i = 0; i < 300 * harness_time_scale(); i++) {
		pid_t r = waitpid(m->pid, &st, WNOHANG);
		if (r == m->pid) {
			m->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(50 * 1000);
	}
	kill(m->pid, SIGKILL);
	waitpid(m->pid, &st, 0);
	m->pid = 0;
	return -1;
}

void mpbs_cleanup(struct mpbs *m)
{
	if (m->pid > 0)
		mpbs_stop(m);
	if (!m->dir[0])
		return;
	/* MPBS_KEEP=1: the test's directory (topology, ledger, the supervisor's
	 * log) is left for a person to read after a failure. */
	if (getenv("MPBS_KEEP") && strcmp(getenv("MPBS_KEEP"), "1") == 0)
		return;
	char *chattr[] = { "chattr", "-R", "-a", m->dir, NULL }; /* every segment is append-only */
	char *rm[] = { "rm", "-rf", m->dir, NULL };
	run_cmd(chattr, NULL);
	run_cmd(rm, NULL);
}

static int tcp_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int http_connect(int port)
{
	return tcp_connect(port);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one response's head and skips its body (Content-Length only; the
 * server under test never sends chunked bodies). */
static int read_response(int fd)
{
	char buf[8192];
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end && len == sizeof(buf) - 1)
			return 0;
	}
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	const char *cl = strcasestr(buf, "\r\nContent-Length:");
	size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
	size_t have = len - (size_t)(end + 4 - buf);
	while (have < body) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	return status;
}

int http_raw(int port, const void *req, size_t len, bool *closed)
{
	int fd = tcp_connect(port);
	if (fd < 0)
		return 0;
	int status = write_all(fd, req, len) < 0 ? 0 : read_response(fd);
	if (closed) {
		char c;
		struct timeval tv = { .tv_sec = 2 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		*closed = recv(fd, &c, 1, 0) == 0;
	}
	close(fd);
	return status;
}

static int send_post(int fd, const char *path, const char *context, const char *token, const void *body,
		     size_t len)
{
	char head[8192];
	int n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %zu\r\n", path,
			 len);
	if (context)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "X-Verification-Context: %s\r\n", context);
	if (token)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "X-Provider-Token: %s\r\n", token);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	/* One write for head and body, as real clients do: two small writes
	 * meet Nagle's algorithm and the peer's delayed ACK (~40 ms each). */
	char *msg = malloc((size_t)n + len);
	if (!msg)
		return -1;
	memcpy(msg, head, (size_t)n);
	memcpy(msg + n, body, len);
	int rc = write_all(fd, msg, (size_t)n + len);
	free(msg);
	return rc;
}

int http_post(int port, const char *path, const char *context, const char *token, const void *body, size_t len)
{
	int fd = tcp_connect(port);
	if (fd < 0)
		return 0;
	int status = send_post(fd, path, context, token, body, len) < 0 ? 0 : read_response(fd);
	close(fd);
	return status;
}

int http_post_on(int fd, const char *path, const char *context, const void *body, size_t len)
{
	return send_post(fd, path, context, NULL, body, len) < 0 ? 0 : read_response(fd);
}

size_t ledger_count(const char *path, const char *type)
{
	return ledger_count_provider(path, type, NULL);
}

/* Polls count(path, what) every 10 ms until it reaches n or timeout_ms. */
static size_t wait_count(size_t (*count)(const char *, const char *), const char *path, const char *what, size_t n,
			 int timeout_ms)
{
	size_t c = 0;
	timeout_ms *= harness_time_scale();
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		c = count(path, what);
		if (c >= n)
			break;
		usleep(10 * 1000);
	}
	return c;
}

size_t ledger_wait_count(const char *path, const char *type, size_t n, int timeout_ms)
{
	return wait_count(ledger_count, path, type, n, timeout_ms);
}

char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

char *srcdir_file_between(const char *relpath, const char *begin, const char *end, const char **why)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", mpbs_srcdir(), relpath) >= (int)sizeof(path)) {
		*why = "path too long";
		return NULL;
	}
	char *text = read_file(path, NULL), *from, *to, *out = NULL;
	if (!text)
		*why = "cannot read it (set MPBS_SRCDIR to the source tree)";
	else if (!(from = strstr(text, begin)) || !(from = strchr(from, '\n')))
		*why = "no begin marker";
	else if (!(to = strstr(++from, end)))
		*why = "no end marker";
	else
		out = strndup(from, (size_t)(to - from));
	free(text);
	return out;
}

int run_cmd(char *const argv[], char **out)
{
	char tmpl[] = "/tmp/mpbs-cmd-XXXXXX";
	int ofd = mkstemp(tmpl);
	if (ofd < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(ofd, 1);
		dup2(ofd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(ofd);
	int st = 0;
	waitpid(pid, &st, 0);
	if (out)
		*out = read_file(tmpl, NULL);
	unlink(tmpl);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int mpbs_launch(struct mpbs *m)
{
	return mpbs_launch_with(m, NULL);
}

/* Whether the instance just started exited 75 over a uid range another
 * instance holds (it is left unreaped for mpbs_stop). */
static bool refused_for_uids(const struct mpbs *m)
{
	for (int i = 0; i < 100; i++) {
		siginfo_t si = { 0 };
		if (waitid(P_PID, (id_t)m->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
			return false;
		if (si.si_pid == m->pid)
			return si.si_code == CLD_EXITED && si.si_status == 75 && file_count(m->log, "host uids") > 0;
		usleep(20 * 1000);
	}
	return false;
}

static int launch_once(struct mpbs *m, int (*before_exec)(void));

int mpbs_launch_with(struct mpbs *m, int (*before_exec)(void))
{
	for (int attempt = 0;; attempt++) {
		int rc = launch_once(m, before_exec);
		if (rc == 0 || attempt == 8 || !refused_for_uids(m))
			return rc;
		waitpid(m->pid, NULL, 0);
		m->pid = 0;
		m->uid_base = pick_uid_base(m->uid_base);
	}
}

static int launch_once(struct mpbs *m, int (*before_exec)(void))
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	m->pid = fork();
	if (m->pid == 0) {
		int logfd = open(m->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		/* stdout too: an mpbs-run outliving a timed-out test must not
		 * hold the runner's output pipe open. */
		if (logfd < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 || dup2(pfd[1], 9) < 0)
			_exit(127);
		/* A test process that dies (a crash, a sanitizer's abort) takes its
		 * run with it: SIGTERM, the clean stop, instead of an orphan that
		 * keeps its port, uids and ledger. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
			_exit(127);
		char drain_ms[16], uid_base[64];
		snprintf(drain_ms, sizeof(drain_ms), "%u", (m->drain_ms ? m->drain_ms : 5000) * (unsigned)harness_time_scale());
		snprintf(uid_base, sizeof(uid_base), "runner.uid_base=%u", m->uid_base);
		if (before_exec && before_exec() < 0)
			_exit(126);
		/* options and operands in any order: the topology last, after any log options */
		char *argv[] = { (char *)mpbs_binary(), "--ready-fd", "9", "--drain-timeout", drain_ms, "--set", uid_base,
				 (char *)(m->log_opts[0] ? m->log_opts[0] : ""), (char *)(m->log_opts[1] ? m->log_opts[1] : ""),
				 m->topology, NULL };
		/* "" stands for no option: take those slots out */
		size_t n = 7;
		for (size_t i = 7; argv[i]; i++)
			if (argv[i][0] != '\0')
				argv[n++] = argv[i];
		argv[n] = NULL;
		execv(mpbs_binary(), argv);
		_exit(127);
	}
	close(pfd[1]);
	if (m->pid < 0) {
		close(pfd[0]);
		m->pid = 0;
		return -1;
	}
	return wait_ready(m, pfd[0]);
}

size_t ledger_count_provider(const char *path, const char *type, const char *provider)
{
	return l2_count_ledger(path, type, provider);
}

struct jsonl {
	char *text;
	size_t len;
	FILE *f;
};

static int jsonl_entry(void *ctx, const struct l2_entry *e)
{
	struct jsonl *j = ctx;
	return l2_entry_print_jsonl(j->f, e);
}

char *ledger_jsonl(const char *path)
{
	struct jsonl j = { 0 };
	j.f = open_memstream(&j.text, &j.len);
	if (!j.f)
		return NULL;
	char why[256];
	int rc = l2_walk_ledger(path, jsonl_entry, &j, why, sizeof(why));
	if (fclose(j.f) != 0 || rc != 0) {
		free(j.text);
		return NULL;
	}
	return j.text;
}

json_t *ledger_records(const char *path)
{
	char *text = ledger_jsonl(path);
	json_t *records = text ? json_array() : NULL;
	for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; records && line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *rec = json_loads(line, 0, NULL);
		if (!rec || json_array_append_new(records, rec) < 0) {
			json_decref(records);
			records = NULL;
		}
	}
	free(text);
	return records;
}

int write_text_file(const char *path, const char *text)
{
	return write_text(path, text);
}

static int comm_of(pid_t pid, char *comm, size_t cap)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char *ok = fgets(comm, (int)cap, f);
	fclose(f);
	if (!ok)
		return -1;
	comm[strcspn(comm, "\n")] = '\0';
	return 0;
}

int mpbs_roles(const struct mpbs *m, struct mpbs_role *out, size_t cap)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)m->pid, (int)m->pid);
	char *text = read_file(path, NULL);
	if (!text)
		return -1;
	size_t n = 0;
	for (char *save = NULL, *tok = strtok_r(text, " \n", &save); tok && n < cap;
	     tok = strtok_r(NULL, " \n", &save)) {
		out[n].pid = (pid_t)strtol(tok, NULL, 10);
		/* A child that ended between the two reads has no comm: skip it. */
		if (out[n].pid > 0 && comm_of(out[n].pid, out[n].comm, sizeof(out[n].comm)) == 0)
			n++;
	}
	free(text);
	return (int)n;
}

pid_t mpbs_role_pid(const struct mpbs *m, const char *comm)
{
	struct mpbs_role roles[64];
	int n = mpbs_roles(m, roles, sizeof(roles) / sizeof(roles[0]));
	for (int i = 0; i < n; i++)
		if (strcmp(roles[i].comm, comm) == 0)
			return roles[i].pid;
	return -1;
}

pid_t mpbs_wait_role(const struct mpbs *m, const char *comm, pid_t old, int timeout_ms)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000000L };
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		pid_t pid = mpbs_role_pid(m, comm);
		if (pid > 0 && pid != old)
			return pid;
		nanosleep(&tick, NULL);
	}
	return -1;
}

static bool roles_gone(const struct mpbs_role *roles, size_t n, pid_t *alive)
{
	for (size_t i = 0; i < n; i++)
		if (kill(roles[i].pid, 0) == 0 || errno != ESRCH) {
			*alive = roles[i].pid;
			return false;
		}
	return true;
}

int mpbs_kill_tree(struct mpbs *m)
{
	struct mpbs_role roles[MPBS_ROLES_MAX];
	int n = mpbs_roles(m, roles, MPBS_ROLES_MAX);
	int st;
	if (n <= 0 || kill(m->pid, SIGKILL) < 0) /* the supervisor first: it would restart a role killed before it */
		return -1;
	for (int i = 0; i < n; i++)
		kill(roles[i].pid, SIGKILL);
	if (waitpid(m->pid, &st, 0) != m->pid)
		return -1;
	m->pid = 0;
	pid_t alive = 0;
	for (int waited = 0; waited < 3000 * harness_time_scale(); waited += 10) {
		if (roles_gone(roles, (size_t)n, &alive))
			return 0;
		sleep_ms(10);
	}
	return -1;
}

int topology_insert(const char *path, const char *section, const char *lines)
{
	char header[128];
	size_t len = 0;
	snprintf(header, sizeof(header), "[%s]\n", section);
	char *text = read_file(path, &len);
	if (!text)
		return -1;
	char *at = strstr(text, header);
	int rc = -1;
	if (at && (at == text || at[-1] == '\n')) {
		at += strlen(header);
		FILE *f = fopen(path, "w");
		if (f) {
			fwrite(text, 1, (size_t)(at - text), f);
			fputs(lines, f);
			fputs(at, f);
			rc = fclose(f) == 0 ? 0 : -1;
		}
	}
	free(text);
	return rc;
}

size_t file_count(const char *path, const char *needle)
{
	char *text = read_file(path, NULL);
	size_t count = 0;
	for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		count++;
	free(text);
	return count;
}

size_t file_wait_count(const char *path, const char *needle, size_t n, int timeout_ms)
{
	return wait_count(file_count, path, needle, n, timeout_ms);
}

size_t ledger_count_distinct_op(const char *path, const char *type)
{
	json_t *records = ledger_records(path), *rec, *seen = json_object();
	size_t i, count = 0;
	json_array_foreach(records, i, rec) {
		const char *t = json_string_value(json_object_get(rec, "type"));
		const char *op = json_string_value(json_object_get(rec, "op"));
		if (seen && t && op && strcmp(t, type) == 0)
			json_object_set_new(seen, op, json_true());
	}
	count = json_object_size(seen);
	json_decref(seen);
	json_decref(records);
	return count;
}

int mpbs_audit(const struct mpbs *m, const char *topology, bool with_sets, const char *weaken,
	       const char *policy_dir, json_t **report, char **out)
{
	char json[PATH_MAX + 16], listen[64], ledger[PATH_MAX + 32];
	char *argv[16];
	size_t n = 0;
	snprintf(json, sizeof(json), "%s/audit.json", m->dir);
	argv[n++] = (char *)mpbs_binary();
	argv[n++] = "--audit";
	argv[n++] = "--json";
	argv[n++] = json;
	if (weaken) {
		argv[n++] = "--audit-weaken";
		argv[n++] = (char *)weaken;
	}
	if (policy_dir) {
		argv[n++] = "--audit-policy-dir";
		argv[n++] = (char *)policy_dir;
	}
	if (with_sets) {
		snprintf(listen, sizeof(listen), "intermediary.listen=127.0.0.1:%d", m->port);
		snprintf(ledger, sizeof(ledger), "association.ledger=%s", m->ledger);
		argv[n++] = "--set";
		argv[n++] = listen;
		argv[n++] = "--set";
		argv[n++] = ledger;
	}
	argv[n++] = (char *)(topology ? topology : m->topology);
	argv[n] = NULL;
	unlink(json);
	/* A shipped topology keeps its own uid_base (its key directories are
	 * chowned to those uids): while another audit of it runs (a parallel
	 * checkout's suite, `make audit`), this one is refused with 75 and
	 * waits its turn. */
	int rc = run_cmd(argv, out);
	for (int i = 0; i < 60 * harness_time_scale() && rc == 75 && out && *out && strstr(*out, "host uids"); i++) {
		free(*out);
		sleep(1);
		rc = run_cmd(argv, out);
	}
	*report = json_load_file(json, 0, NULL);
	return rc;
}

uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int file_replace(const char *path, const char *from, const char *to)
{
	size_t len = 0;
	char *text = read_file(path, &len);
	char *at = text ? strstr(text, from) : NULL;
	FILE *f = at ? fopen(path, "w") : NULL;
	int rc = -1;
	if (f) {
		fwrite(text, 1, (size_t)(at - text), f);
		fputs(to, f);
		fputs(at + strlen(from), f);
		rc = fclose(f) == 0 ? 0 : -1;
	}
	free(text);
	return rc;
}
