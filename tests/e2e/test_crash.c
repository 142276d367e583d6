/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* Crash consistency (docs/RELIABILITY.md), against the real binary as root on
 * loopback: SIGKILLs of the association and of every provider at random
 * instants under load, and a SIGKILL of the whole tree followed by a new
 * run on the same ledger. Every request answered 204 must end confirmed
 * exactly once; no window around a kill is excused. Each test prints one
 * "figures" line (key=value) that contrib/faults.sh sums over runs.
 * Only pids this process started (the supervisor and its children) are
 * ever signalled. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/harness.h"
#include "../common/ledger_damage.h"
#include "../common/load.h"

#define LOAD_THREADS 4
#define LOAD_PAUSE_US 1000
#define KILLS 8
#define GAP_MIN_MS 50
#define GAP_MAX_MS 400
#define BACK_TIMEOUT_MS 10000 /* a killed role must run again within this (times MPBS_TIME_SCALE) */
#define MAX_ROLES 16
/* The status and the word a second run on a ledger in use must exit with. */
#define LEDGER_BUSY_STATUS 75

/* Short restarts; a budget 8 kills of one role cannot exhaust; nothing
 * left pending long enough to be recorded incomplete during a test. */
#define RUNNER_KEYS "restart_backoff_ms = 100\nrestart_backoff_max_ms = 200\nrestart_budget = 30\n"
#define PENDING_TIMEOUT "pending_timeout = 600"

HARNESS_ROOT_FIXTURE

static const struct victim {
	const char *comm, *name;
} victims[] = {
	{ "mpbs-assoc", "association" },
	{ "mpbs-p-A", "A" },
	{ "mpbs-p-B", "B" },
	{ "mpbs-p-C", "C" },
};
enum { N_VICTIMS = sizeof(victims) / sizeof(victims[0]) };

/* splitmix64: the whole schedule follows from one printed seed. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t crash_seed(void)
{
	const char *s = getenv("MPBS_CRASH_SEED");
	if (s && *s)
		return strtoull(s, NULL, 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
}

static void prepare_three_providers(void)
{
	cr_assert_eq(mpbs_prepare(&m, "A B C", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(topology_insert(m.topology, "runner", RUNNER_KEYS), 0);
	cr_assert_eq(file_replace(m.topology, "pending_timeout = 5", PENDING_TIMEOUT), 0, "cannot replace a line of a test file");
}

static int verify_ledger(char **out)
{
	char *argv[] = { (char *)mpbs_binary(), "verify", m.ledger, "--topology", m.topology, NULL };
	return run_cmd(argv, out);
}

/* ------------------------------------------------------------- ledger */

/* One pass over the ledger's complete blocks (every segment), its records
 * as `ledger cat --jsonl` prints them. Records up to boundary (a record
 * number) are "before" (a first run's), those after it "after"; an
 * operation confirmed after the boundary is "recovered" when a signal of
 * it was already on disk before it (it was requested before the
 * boundary). */
struct scan {
	uint64_t last_record;
	size_t confirmed;     /* confirmed records */
	size_t distinct;      /* distinct ops among them */
	size_t incomplete;
	size_t confirmed_before, after_new, after_recovered; /* distinct ops */
};

static struct scan scan_ledger(const char *path, uint64_t boundary)
{
	struct scan s = { 0 };
	json_t *records = ledger_records(path), *rec;
	cr_assert_not_null(records, "cannot read the ledger %s", path);
	json_t *confirmed = json_object(), *early = json_object();
	size_t i;
	json_array_foreach(records, i, rec) {
		uint64_t number = (uint64_t)json_integer_value(json_object_get(rec, "record"));
		const char *type = json_string_value(json_object_get(rec, "type"));
		const char *op = json_string_value(json_object_get(rec, "op"));
		s.last_record = number;
		if (type && op && strcmp(type, "signal") == 0 && number <= boundary)
			json_object_set_new(early, op, json_true());
		if (type && strcmp(type, "incomplete") == 0)
			s.incomplete++;
		if (type && op && strcmp(type, "confirmed") == 0) {
			s.confirmed++;
			if (!json_object_get(confirmed, op)) {
				json_object_set_new(confirmed, op, json_true());
				if (number <= boundary)
					s.confirmed_before++;
				else if (json_object_get(early, op))
					s.after_recovered++;
				else
					s.after_new++;
			}
		}
	}
	s.distinct = json_object_size(confirmed);
	json_decref(confirmed);
	json_decref(early);
	json_decref(records);
	return s;
}

/* Waits until count() reaches target or stops growing for 2 s; returns the
 * last scan. */
static struct scan settle(uint64_t boundary, size_t (*count)(const struct scan *), size_t target)
{
	int scale = harness_time_scale();
	uint64_t deadline = mono_ms() + 20000u * (uint64_t)scale, still_since = mono_ms();
	struct scan s = scan_ledger(m.ledger, boundary);
	size_t last = count(&s);
	while (last < target && mono_ms() < deadline && mono_ms() - still_since < 2000u * (uint64_t)scale) {
		sleep_ms(250);
		s = scan_ledger(m.ledger, boundary);
		if (count(&s) != last) {
			last = count(&s);
			still_since = mono_ms();
		}
	}
	return s;
}

static size_t count_distinct(const struct scan *s)
{
	return s->distinct;
}

static size_t count_after_new(const struct scan *s)
{
	return s->after_new;
}

/* The end of the run's log, printed with the failure: the test directory
 * (and the log in it) is removed when the test ends, and a role that did
 * not come back says why only there. */
static void log_tail_of_run_log(size_t bytes)
{
	size_t len = 0;
	char *text = read_file(m.log, &len);
	if (!text)
		return;
	const char *from = len > bytes ? text + len - bytes : text;
	cr_log_error("the last %zu bytes of %s:\n%s", len > bytes ? bytes : len, m.log, from);
	free(text);
}

/* -------------------------------------------------------------- kills */

struct kill {
	int victim;
	pid_t pid;
	uint64_t at_ms;
	long back_ms; /* from the kill until a new process of the role runs; -1: not yet */
};

/* Marks every kill whose role runs again under a new pid. */
static void note_returns(struct kill *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (k[i].back_ms >= 0)
			continue;
		pid_t now = mpbs_role_pid(&m, victims[k[i].victim].comm);
		if (now > 0 && now != k[i].pid)
			k[i].back_ms = (long)(mono_ms() - k[i].at_ms);
	}
}

/* Polls returns until the time `until` (monotonic ms). */
static void watch_until(struct kill *k, size_t n, uint64_t until)
{
	do {
		note_returns(k, n);
		sleep_ms(5);
	} while (mono_ms() < until);
}

/* Waits until every kill so far is followed by a return; false on timeout. */
static bool wait_all_back(struct kill *k, size_t n)
{
	uint64_t deadline = mono_ms() + (uint64_t)BACK_TIMEOUT_MS * (uint64_t)harness_time_scale();
	for (;;) {
		note_returns(k, n);
		bool all = true;
		for (size_t i = 0; i < n; i++)
			all = all && k[i].back_ms >= 0;
		if (all)
			return true;
		if (mono_ms() >= deadline)
			return false;
		sleep_ms(5);
	}
}

/* KILLS victims: each role once, the rest drawn at random, all shuffled. */
static void draw_schedule(uint64_t *rng, int *order)
{
	for (int i = 0; i < KILLS; i++)
		order[i] = i < N_VICTIMS ? i : (int)(next_random(rng) % N_VICTIMS);
	for (int i = KILLS - 1; i > 0; i--) {
		int j = (int)(next_random(rng) % (uint64_t)(i + 1));
		int t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

/* ---------------------------------------------------- second instance */

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Starts a second mpbs-run on m's ledger while m runs: m's topology copied
 * into a directory of its own with the same policies, demo keys of its own,
 * another port and another uid range, so that the ledger is the one thing
 * the two runs share. Returns its exit status (0 if it started and was
 * stopped); *log is what it printed. */
static int second_instance(char **log)
{
	struct mpbs two = m;
	char from[64], to[64], src[PATH_MAX + 16], dst[PATH_MAX + 32];
	two.pid = 0;
	two.port = free_port();
	int len = snprintf(two.dir, sizeof(two.dir), "%s/two", m.dir);
	cr_assert(len > 0 && (size_t)len < sizeof(two.dir), "%s/two is too long", m.dir);
	cr_assert_eq(mkdir(two.dir, 0755), 0, "mkdir %s: %s", two.dir, strerror(errno));
	snprintf(two.topology, sizeof(two.topology), "%s/topology.conf", two.dir);
	snprintf(two.log, sizeof(two.log), "%s/mpbs.log", two.dir);
	for (int v = 0; v < N_VICTIMS; v++) {
		if (strcmp(victims[v].comm, "mpbs-assoc") == 0)
			continue;
		snprintf(src, sizeof(src), "%s/%s.policy", m.dir, victims[v].name);
		snprintf(dst, sizeof(dst), "%s/%s.policy", two.dir, victims[v].name);
		char *policy = read_file(src, NULL);
		cr_assert_not_null(policy, "cannot read %s", src);
		cr_assert_eq(write_text_file(dst, policy), 0);
		free(policy);
	}
	char *text = read_file(m.topology, NULL);
	cr_assert_not_null(text);
	cr_assert_eq(write_text_file(two.topology, text), 0);
	free(text);
	snprintf(from, sizeof(from), "listen = 127.0.0.1:%d", m.port);
	snprintf(to, sizeof(to), "listen = 127.0.0.1:%d", two.port);
	cr_assert_eq(file_replace(two.topology, from, to), 0, "cannot replace a line of a test file");
	/* another uid range (the launch moves on if that one is taken too) */
	two.uid_base = m.uid_base + 128;
	/* The association's keys default to the ledger's directory: its own. */
	cr_assert_eq(topology_insert(two.topology, "association", "keys = association-keys\ndemo_keys = yes\n"), 0);
	int ready = mpbs_launch(&two);
	int status = mpbs_stop(&two); /* the exit status of one that ended by itself too */
	*log = read_file(two.log, NULL);
	cr_log_info("second instance on the same ledger: %s, exit status %d", ready == 0 ? "STARTED" : "not ready",
		    status);
	return status;
}

/* --------------------------------------------------------------- test a */

Test(e2e_crash, kills_under_load, .init = need_root, .fini = finish, .timeout = 120)
{
	uint64_t seed = crash_seed(), rng = seed;
	int order[KILLS];
	struct kill kills[KILLS];
	struct load load;
	size_t n_kills = 0;
	bool every_back = true;
	cr_log_info("kills_under_load: seed %llu (MPBS_CRASH_SEED=%llu replays this schedule)",
		    (unsigned long long)seed, (unsigned long long)seed);
	draw_schedule(&rng, order);

	prepare_three_providers();
	uint64_t t0 = mono_ms();
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	cr_assert_eq(load_start(&load, m.port, LOAD_THREADS, LOAD_PAUSE_US, "kills"), 0);
	sleep_ms(500);
	uint64_t next_at = mono_ms();
	for (int i = 0; i < KILLS && every_back; i++) {
		next_at += GAP_MIN_MS + next_random(&rng) % (GAP_MAX_MS - GAP_MIN_MS + 1);
		watch_until(kills, n_kills, next_at);
		const struct victim *v = &victims[order[i]];
		/* Still restarting from an earlier kill: killed once it runs again. */
		every_back = wait_all_back(kills, n_kills);
		pid_t pid = every_back ? mpbs_role_pid(&m, v->comm) : -1;
		if (pid <= 0) {
			every_back = false;
			break;
		}
		kills[n_kills] = (struct kill){ .victim = order[i], .pid = pid, .at_ms = mono_ms(), .back_ms = -1 };
		cr_assert_eq(kill(pid, SIGKILL), 0, "kill %s (pid %d): %s", v->comm, (int)pid, strerror(errno));
		n_kills++;
	}
	every_back = every_back && wait_all_back(kills, n_kills);
	sleep_ms(300);
	load_stop(&load);
	struct load_counts c = load_counts(&load);
	struct scan s = settle(0, count_distinct, c.answered);

	/* The ledger as the kills left it, checked apart from what a second
	 * run may add to it: a figure telling the two causes apart. */
	char snapshot[PATH_MAX + 32];
	snprintf(snapshot, sizeof(snapshot), "%s/before-second", m.dir);
	cr_assert_eq(dmg_copy_ledger(m.ledger, snapshot), 0, "cannot copy the ledger %s to %s", m.ledger, snapshot);
	char *verify_snapshot[] = { (char *)mpbs_binary(), "verify", snapshot, "--topology", m.topology, NULL };
	int verified_before_second = run_cmd(verify_snapshot, NULL);

	char *second_log = NULL;
	int second = second_instance(&second_log);
	int stopped = mpbs_stop(&m);
	uint64_t total_ms = mono_ms() - t0;
	s = scan_ledger(m.ledger, 0);
	char *verify_out = NULL;
	int verified = verify_ledger(&verify_out);
	size_t budget = file_count(m.log, "restart budget exhausted");

	/* The figures, whatever the assertions below say. */
	int per_role[N_VICTIMS] = { 0 };
	long back_max = 0, back_sum = 0;
	char backs[KILLS * 24] = "";
	for (size_t i = 0; i < n_kills; i++) {
		per_role[kills[i].victim]++;
		back_max = kills[i].back_ms > back_max ? kills[i].back_ms : back_max;
		back_sum += kills[i].back_ms > 0 ? kills[i].back_ms : 0;
		snprintf(backs + strlen(backs), sizeof(backs) - strlen(backs), "%s%s:%ld", i ? "," : "",
			 victims[kills[i].victim].name, kills[i].back_ms);
	}
	size_t unconfirmed = c.answered > s.distinct ? c.answered - s.distinct : 0;
	cr_log_info("figures kills_under_load: seed=%llu kills=%zu kills_association=%d kills_A=%d kills_B=%d "
		    "kills_C=%d answered=%zu other=%zu unknown=%zu confirmed=%zu distinct=%zu unconfirmed=%zu "
		    "duplicates=%zu incomplete=%zu recovery_ms=%s recovery_max_ms=%ld recovery_mean_ms=%ld "
		    "total_ms=%llu exit=%d verify=%d verify_before_second=%d budget_exhausted=%zu second_instance=%d",
		    (unsigned long long)seed, n_kills, per_role[0], per_role[1], per_role[2], per_role[3], c.answered,
		    c.other, c.unknown, s.confirmed, s.distinct, unconfirmed, s.confirmed - s.distinct, s.incomplete,
		    backs, back_max, n_kills ? back_sum / (long)n_kills : 0, (unsigned long long)total_ms, stopped,
		    verified, verified_before_second, budget, second);

	if (verified != 0)
		cr_log_info("kills_under_load: verify said: %s", verify_out ? verify_out : "");
	if (!every_back)
		log_tail_of_run_log(4096);
	cr_assert(every_back, "a killed role did not run again within %d ms (kills %s; log: %s)",
		  BACK_TIMEOUT_MS * harness_time_scale(), backs, m.log);
	cr_assert_eq(n_kills, KILLS);
	for (int v = 0; v < N_VICTIMS; v++)
		cr_assert_gt(per_role[v], 0, "%s was never killed", victims[v].name);
	cr_assert_eq(budget, 0, "a restart budget ran out (log: %s)", m.log);
	cr_assert_eq(stopped, 0, "mpbs-run did not stop cleanly (status %d; log: %s; seed %llu)", stopped, m.log,
		     (unsigned long long)seed);
	cr_assert_gt(c.answered, 100, "too little load to judge (%zu answered)", c.answered);
	/* the seed in each message: MPBS_CRASH_SEED=SEED replays the schedule
	 * (the figures line above is shown only with --verbose) */
	cr_assert_eq(s.confirmed, s.distinct, "%zu duplicate confirmations (%zu records, %zu ops; seed %llu)",
		     s.confirmed - s.distinct, s.confirmed, s.distinct, (unsigned long long)seed);
	cr_assert_eq(unconfirmed, 0,
		     "%zu answered requests were never confirmed (%zu answered, %zu ops confirmed, %zu incomplete, "
		     "verify %d; seed %llu)",
		     unconfirmed, c.answered, s.distinct, s.incomplete, verified, (unsigned long long)seed);
	/* The intermediary is never killed here: it answers 204 every request
	 * it forwards, so only a request whose answer was lost on the way may
	 * be confirmed unseen. */
	cr_assert_leq(s.distinct, c.answered + c.unknown, "%zu ops confirmed for %zu answered (+%zu unknown)",
		      s.distinct, c.answered, c.unknown);
	cr_assert_eq(verified, 0, "verify exited %d: %s", verified, verify_out ? verify_out : "");
	cr_assert_eq(second, LEDGER_BUSY_STATUS, "a second run on the same ledger exited %d, want %d; it said:\n%s",
		     second, LEDGER_BUSY_STATUS, second_log ? second_log : "");
	cr_assert_not_null(strstr(second_log, "ledger"), "the refusal does not name the ledger:\n%s", second_log);
	free(second_log);
	free(verify_out);
}

/* --------------------------------------------------------------- test b */

/* Bytes of the live segment after its last complete block (a torn block). */
static size_t torn_tail(const char *path)
{
	struct dmg_segment seg;
	cr_assert_eq(dmg_read(path, &seg), 0, "%s is no readable version 2 segment", path);
	size_t tail = seg.len - seg.end;
	dmg_free(&seg);
	return tail;
}

static bool all_gone(const struct mpbs_role *roles, size_t n, pid_t *alive)
{
	for (size_t i = 0; i < n; i++)
		if (kill(roles[i].pid, 0) == 0 || errno != ESRCH) {
			*alive = roles[i].pid;
			return false;
		}
	return true;
}

static void kill_tree(void)
{
	struct mpbs_role roles[MAX_ROLES];
	int n = mpbs_roles(&m, roles, MAX_ROLES);
	cr_assert_gt(n, 0, "cannot list the roles of supervisor %d", (int)m.pid);
	int st;
	/* The supervisor first: it would restart a role killed before it. */
	cr_assert_eq(kill(m.pid, SIGKILL), 0);
	for (int i = 0; i < n; i++)
		kill(roles[i].pid, SIGKILL);
	cr_assert_eq(waitpid(m.pid, &st, 0), m.pid);
	m.pid = 0;
	pid_t alive = 0;
	for (int waited = 0; !all_gone(roles, (size_t)n, &alive) && waited < 3000; waited += 10)
		sleep_ms(10);
	cr_assert(all_gone(roles, (size_t)n, &alive), "role pid %d still exists after SIGKILL", (int)alive);
}

Test(e2e_crash, whole_tree_kill_then_restart, .init = need_root, .fini = finish, .timeout = 120)
{
	struct load load;
	uint64_t t0 = mono_ms();
	prepare_three_providers();
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	cr_assert_eq(load_start(&load, m.port, LOAD_THREADS, LOAD_PAUSE_US, "run1"), 0);
	sleep_ms(1500);
	kill_tree();
	load_stop(&load);
	struct load_counts one = load_counts(&load);
	cr_assert_gt(one.answered, 0, "no request was answered before the kill");

	/* What the first run left: its last complete record is the boundary.
	 * A torn block ends the live segment, the kill's or one added here. */
	struct scan left = scan_ledger(m.ledger, UINT64_MAX);
	uint64_t boundary = left.last_record;
	size_t tail = torn_tail(m.ledger);
	bool left_by_kill = tail > 0;
	if (!left_by_kill) {
		cr_assert_geq(dmg_append_torn_block(m.ledger, 300, 40), 0, "append to %s: %s", m.ledger, strerror(errno));
		tail = torn_tail(m.ledger);
	}

	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not restart on the same ledger (log: %s)", m.log);
	char expect[96];
	snprintf(expect, sizeof(expect), ": cut %zu bytes at offset", tail);
	size_t cut_logged = file_count(m.log, expect);
	cr_assert_eq(load_start(&load, m.port, LOAD_THREADS, LOAD_PAUSE_US, "run2"), 0);
	sleep_ms(1500);
	load_stop(&load);
	struct load_counts two = load_counts(&load);
	struct scan s = settle(boundary, count_after_new, two.answered);
	int stopped = mpbs_stop(&m);
	s = scan_ledger(m.ledger, boundary);
	char *verify_out = NULL;
	int verified = verify_ledger(&verify_out);
	size_t tail_after = torn_tail(m.ledger);

	size_t run1_confirmed = s.confirmed_before + s.after_recovered;
	size_t run1_unconfirmed = one.answered > run1_confirmed ? one.answered - run1_confirmed : 0;
	size_t run2_unconfirmed = two.answered > s.after_new ? two.answered - s.after_new : 0;
	cr_log_info("figures whole_tree_kill_then_restart: run1_answered=%zu run1_unknown=%zu "
		    "run1_confirmed_before_kill=%zu run1_recovered_after_restart=%zu run1_unconfirmed=%zu "
		    "torn_bytes=%zu torn_by=%s run2_answered=%zu run2_unknown=%zu run2_confirmed=%zu "
		    "run2_unconfirmed=%zu confirmed=%zu distinct=%zu duplicates=%zu incomplete=%zu total_ms=%llu "
		    "exit=%d verify=%d",
		    one.answered, one.unknown, s.confirmed_before, s.after_recovered, run1_unconfirmed, tail,
		    left_by_kill ? "kill" : "test", two.answered, two.unknown, s.after_new, run2_unconfirmed,
		    s.confirmed, s.distinct, s.confirmed - s.distinct, s.incomplete,
		    (unsigned long long)(mono_ms() - t0), stopped, verified);

	cr_assert_eq(cut_logged, 1, "the log does not say '%s' (log: %s)", expect, m.log);
	cr_assert_eq(stopped, 0, "mpbs-run did not stop cleanly (status %d; log: %s)", stopped, m.log);
	cr_assert_eq(tail_after, 0, "the ledger still ends in a torn block");
	cr_assert_eq(verified, 0, "verify exited %d: %s", verified, verify_out ? verify_out : "");
	cr_assert_eq(s.confirmed, s.distinct, "%zu duplicate confirmations in the ledger", s.confirmed - s.distinct);
	cr_assert_gt(two.answered, 100, "too little load in the second run to judge (%zu answered)", two.answered);
	cr_assert_eq(run2_unconfirmed, 0, "%zu requests answered in the second run were never confirmed (%zu answered, "
					  "%zu new ops confirmed)",
		     run2_unconfirmed, two.answered, s.after_new);
	cr_assert_leq(s.after_new, two.answered + two.unknown, "%zu new ops confirmed for %zu answered (+%zu unknown)",
		      s.after_new, two.answered, two.unknown);
	free(verify_out);
}

/* --------------------------------------------------------------- test c */

/* Posts n requests on fresh connections; every one must be answered 204. */
static void post_n(int n, const char *tag)
{
	for (int i = 0; i < n; i++) {
		char body[64];
		int len = snprintf(body, sizeof(body), "%s %d", tag, i);
		cr_assert_eq(http_post(m.port, "/nuvl", "CTX_ALPHA", NULL, body, (size_t)len), 204, "%s: request %d",
			     tag, i);
	}
}

/* A stop that comes while a provider and the association wait out their
 * restart backoff: the supervisor starts both at once so that what their
 * channels hold (artifacts A never signalled, signals nobody recorded) is
 * handled before the run ends. Without that, every request answered after
 * the kills stays unconfirmed. */
Test(e2e_crash, a_stop_during_restart_backoffs_drains_every_channel, .init = need_root, .fini = finish,
     .timeout = 90)
{
	cr_assert_eq(mpbs_prepare(&m, "A B C", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(topology_insert(m.topology, "runner", "restart_backoff_ms = 60000\nrestart_backoff_max_ms = 60000\n"),
		     0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	post_n(20, "all up");
	cr_assert_geq(ledger_wait_count(m.ledger, "confirmed", 20, 5000 * harness_time_scale()), 20, "log: %s", m.log);

	pid_t a = mpbs_role_pid(&m, "mpbs-p-A");
	cr_assert_gt(a, 0);
	cr_assert_eq(kill(a, SIGKILL), 0);
	cr_assert_geq(file_wait_count(m.log, "provider A will restart in 60000 ms", 1, 5000 * harness_time_scale()), 1,
		      "log: %s", m.log);
	post_n(20, "A down");
	pid_t as = mpbs_role_pid(&m, "mpbs-assoc");
	cr_assert_gt(as, 0);
	cr_assert_eq(kill(as, SIGKILL), 0);
	cr_assert_geq(file_wait_count(m.log, "association will restart in 60000 ms", 1, 5000 * harness_time_scale()), 1,
		      "log: %s", m.log);
	post_n(20, "A and the association down");

	int status = mpbs_stop(&m);
	cr_assert_eq(status, 0, "mpbs-run did not stop with status 0 (log: %s)", m.log);
	cr_assert_eq(ledger_count_distinct_op(m.ledger, "confirmed"), 60, "answered 60, confirmed %zu distinct (log: %s)",
		     ledger_count_distinct_op(m.ledger, "confirmed"), m.log);
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), 60, "an operation was confirmed twice");
	cr_assert_eq(file_count(m.log, "started to drain its channels before the stop"), 2, "log: %s", m.log);
	char *out = NULL;
	int rc = verify_ledger(&out);
	cr_assert_eq(rc, 0, "verify exited %d: %s", rc, out ? out : "");
	free(out);
}

/* --------------------------------------------------------------- test d */

/* Posts n requests on one keep-alive connection; every one must be 204. */
static void post_keepalive(int n, const char *tag)
{
	int fd = http_connect(m.port);
	cr_assert_geq(fd, 0, "connect: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		char body[64];
		int len = snprintf(body, sizeof(body), "%s %d", tag, i);
		cr_assert_eq(http_post_on(fd, "/nuvl", "CTX_ALPHA", body, (size_t)len), 204, "%s: request %d", tag, i);
	}
	close(fd);
}

/* A hung provider (SIGSTOP: alive, reading nothing) costs the service one
 * wait of stall_timeout, not one per loop turn: its channel is marked stuck
 * and its copies dropped until it drains, while the others go on and
 * confirm = 2 still confirms. Once it runs again, its channel drains and is
 * waited for again. Counted from the log, never timed. */
Test(e2e_crash, a_hung_provider_is_waited_for_once, .init = need_root, .fini = finish, .timeout = 120)
{
	cr_assert_eq(mpbs_prepare(&m, "A B C", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(file_replace(m.topology, "confirm = all", "confirm = 2"), 0);
	cr_assert_eq(topology_insert(m.topology, "intermediary", "stall_timeout = 300\n"), 0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	pid_t a = mpbs_role_pid(&m, "mpbs-p-A");
	cr_assert_gt(a, 0);
	cr_assert_eq(kill(a, SIGSTOP), 0);
	/* enough to fill A's artifact channel past its writable mark, and more */
	post_keepalive(6000, "A hung");
	size_t confirmed = ledger_wait_count(m.ledger, "confirmed", 6000, 10000 * harness_time_scale());
	cr_assert_eq(kill(a, SIGCONT), 0);
	cr_assert_eq(confirmed, 6000, "B and C confirm every request while A hangs: %zu of 6000 (log: %s)", confirmed,
		     m.log);
	cr_assert_eq(file_count(m.log, "artifact channel 0 full for 300 ms"), 1,
		     "the hung provider's channel must be waited for once (log: %s)", m.log);
	/* the intermediary looks at its channels when requests come */
	for (int round = 0; round < 100 * harness_time_scale() && !file_count(m.log, "artifact channel 0 drains again");
	     round++) {
		post_keepalive(20, "A back");
		sleep_ms(100);
	}
	cr_assert_eq(file_count(m.log, "artifact channel 0 drains again"), 1, "log: %s", m.log);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop with status 0 (log: %s)", m.log);
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), ledger_count_distinct_op(m.ledger, "confirmed"));
}

/* --------------------------------------------------------------- test e */

/* A stop right after the association restarted on a ledger it needs longer
 * to rebuild than the drain timeout: the providers' phase waits for the
 * rebuild before its deadline runs, so they are not killed with frames only
 * that association can record. The drain timeout here (300 ms) is shorter
 * than the rebuild of the ledger the load writes; without the wait the
 * providers are killed and the stop fails. */
Test(e2e_crash, a_stop_during_an_association_rebuild_waits_for_it, .init = need_root, .fini = finish,
     .timeout = 120)
{
	struct load load;
	prepare_three_providers();
	m.drain_ms = 300;
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	/* paced: a ledger whose rebuild outlasts the drain timeout several
	 * times, and still fits in the harness's wait for a stop under ASan */
	cr_assert_eq(load_start(&load, m.port, LOAD_THREADS, 1000, "rebuild"), 0);
	sleep_ms(2000);
	load_stop(&load);
	struct load_counts c = load_counts(&load);
	cr_assert_geq(ledger_wait_count(m.ledger, "confirmed", c.answered, 10000 * harness_time_scale()), c.answered,
		      "log: %s", m.log);
	size_t records = ledger_count(m.ledger, "signal");
	pid_t as = mpbs_role_pid(&m, "mpbs-assoc");
	cr_assert_gt(as, 0);
	cr_assert_eq(kill(as, SIGKILL), 0);
	cr_assert_geq(file_wait_count(m.log, "association restarted", 1, 5000 * harness_time_scale()), 1, "log: %s",
		      m.log);
	int status = mpbs_stop(&m);
	cr_log_info("a stop during a rebuild of %zu signals and more: status %d, %zu answered, %zu confirmed", records,
		    status, c.answered, ledger_count_distinct_op(m.ledger, "confirmed"));
	cr_assert_eq(status, 0, "mpbs-run did not stop with status 0 (log: %s)", m.log);
	cr_assert_eq(file_count(m.log, "the providers' stop waits for the association to finish its rebuild"), 1,
		     "the stop did not meet the rebuild: make the load longer (log: %s)", m.log);
	cr_assert_eq(ledger_count_distinct_op(m.ledger, "confirmed"), c.answered);
	cr_assert_eq(ledger_count(m.ledger, "confirmed"), c.answered, "an operation was confirmed twice");
}
