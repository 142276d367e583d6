/* SPDX-License-Identifier: Apache-2.0 */
/* End-to-end harness: starts the real build/mpbs-run as a child on a
 * temporary topology (loopback port, temporary ledger and keys), waits for
 * its readiness through --ready-fd, speaks raw HTTP to it and reads the
 * ledger it writes. */
#ifndef MPBS_TEST_HARNESS_H
#define MPBS_TEST_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mpbs {
	pid_t pid;
	int port;
	char dir[64];            /* temporary directory of this instance */
	char topology[PATH_MAX];
	char ledger[PATH_MAX];
	char log[PATH_MAX];      /* the supervisor's stderr */
	unsigned drain_ms;       /* --drain-timeout before the time scale; 0: 5000 */
	unsigned uid_base;       /* [runner] uid_base: its own per instance (tests run in
				  * parallel, and mpbs-run refuses overlapping uid ranges) */
	const char *log_opts[2]; /* up to two more options for mpbs-run ("-v", "-q", "--log-format=json"), NULL when unused */
};

/* The fixture of a suite whose tests each run one mpbs-run as root: its
 * `static struct mpbs m`, need_root (skips the test unless root, for
 * .init) and finish (stops and removes m's run, for .fini). Expanded in a
 * test file, which includes criterion and unistd.h. */
#define HARNESS_ROOT_FIXTURE                                  \
	static struct mpbs m;                                 \
	static void need_root(void)                           \
	{                                                     \
		if (geteuid() != 0)                           \
			cr_skip_test("needs root");           \
	}                                                     \
	static void finish(void)                              \
	{                                                     \
		mpbs_cleanup(&m);                             \
	}

/* Host uids a harness instance's range spans at most (2 + 64 providers,
 * rounded up): instances are this far apart. */
#define HARNESS_UID_STRIDE 128u

/* Providers NAMES (space-separated, e.g. "A B C"), each accepting CTX_ALPHA
 * and receiving the body; extra is appended to the topology file verbatim
 * (may be NULL). Returns 0 once every role is ready, -1 otherwise. */
int mpbs_start(struct mpbs *m, const char *names, const char *extra);
/* Same temporary directory, port and topology file as mpbs_start, without
 * starting anything (m->pid stays 0): for tests that build the plan
 * themselves. Returns 0, or -1. Clean up with mpbs_cleanup. */
int mpbs_prepare(struct mpbs *m, const char *names, const char *extra);
/* SIGTERM, wait; returns the exit status (or 128+signal), -1 on timeout. */
int mpbs_stop(struct mpbs *m);
/* Removes the temporary directory (clears the ledger's append-only flag). */
void mpbs_cleanup(struct mpbs *m);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int harness_free_port(void);

/* Path of the binary under test and of the source tree. */
const char *mpbs_binary(void);
/* MPBS_TIME_SCALE (1 to 100, default 1): how many times longer the harness
 * waits for readiness, stop (and the --drain-timeout it passes) and ledger
 * counts, for slow runs such as
 * `make check-valgrind`. Waits only: no test asserts a speed. */
int harness_time_scale(void);
/* MPBS_SRCDIR, else the directory mpbs-tests was started in. */
const char *mpbs_srcdir(void);

/* One HTTP exchange on a fresh connection: sends raw bytes, returns the
 * status code of the first response (0 if none), and whether the server
 * closed the connection afterwards. */
int http_raw(int port, const void *req, size_t len, bool *closed);
/* A POST of body with the given context (NULL: no header) and token (NULL). */
int http_post(int port, const char *path, const char *context, const char *token, const void *body, size_t len);

/* Keep-alive client: one connection, many requests. */
int http_connect(int port);
/* Sends one POST on fd and reads its response; returns the status or 0. */
int http_post_on(int fd, const char *path, const char *context, const void *body, size_t len);

/* The ledger at path (every segment, in order) as JSON lines, one record
 * each as `mpbs-run ledger cat --jsonl` prints them (lib/ledger2_json.h),
 * malloc'd; NULL when it cannot be read. */
char *ledger_jsonl(const char *path);
/* The same records as a JSON array of objects (json_decref it); NULL when
 * the ledger cannot be read. */
struct json_t *ledger_records(const char *path);
/* Counts ledger records of a type ("confirmed", "signal", ...) over every
 * segment. */
size_t ledger_count(const char *path, const char *type);
/* Waits until ledger_count(type) >= n or timeout_ms passes; returns the count. */
size_t ledger_wait_count(const char *path, const char *type, size_t n, int timeout_ms);
/* Reads a whole file into a NUL-terminated malloc'd buffer (NULL on error). */
char *read_file(const char *path, size_t *len);
/* The lines of the source tree's file relpath between the line holding
 * begin and the line holding end (malloc'd); NULL, with *why set, when the
 * file or a marker is missing. For generated tables kept in docs. */
char *srcdir_file_between(const char *relpath, const char *begin, const char *end, const char **why);
/* Runs argv to completion; returns its exit status (128+sig if killed),
 * its stdout+stderr in *out (malloc'd) when out is not NULL. */
int run_cmd(char *const argv[], char **out);

/* `mpbs-run --audit --json <m->dir>/audit.json` on topology (NULL: the
 * instance's own), with an optional --audit-weaken and --audit-policy-dir;
 * with_sets adds --set for the instance's port and ledger (a shipped
 * topology, which keeps its uid_base: while another instance holds those
 * uids, the audit waits for them, up to a minute). Returns the exit status; *report is the parsed JSON report
 * (NULL if none was written), *out what it printed (free both). */
struct json_t;
int mpbs_audit(const struct mpbs *m, const char *topology, bool with_sets, const char *weaken,
	       const char *policy_dir, struct json_t **report, char **out);

/* Starts build/mpbs-run on m->topology as it stands (after mpbs_prepare and
 * whatever the test wrote there), the same way mpbs_start does; returns 0
 * once every role is ready, -1 otherwise. Should another running instance
 * (a parallel test, another checkout's suite) hold an overlapping uid range
 * (exit 75), it starts again with the next free m->uid_base. */
int mpbs_launch(struct mpbs *m);
/* mpbs_launch, running before_exec in the child just before the exec (for
 * a test that changes what mpbs-run's process sees: -1 fails the start). */
int mpbs_launch_with(struct mpbs *m, int (*before_exec)(void));
/* Counts ledger records of a type whose "provider" field is provider
 * (NULL: any provider, as ledger_count). */
size_t ledger_count_provider(const char *path, const char *type, const char *provider);
/* Writes text to path (created 0644 under the usual umask, truncated). */
int write_text_file(const char *path, const char *text);

/* A role process of a running instance, as the host sees it. */
struct mpbs_role {
	pid_t pid;
	char comm[16]; /* "mpbs-int", "mpbs-assoc", "mpbs-p-A", ... */
};
/* Lists the children of the supervisor m->pid (its roles) with their comm
 * names; returns how many were stored (at most cap), -1 on error. */
int mpbs_roles(const struct mpbs *m, struct mpbs_role *out, size_t cap);
/* Host pid of the role named comm, or -1 when no such role runs. */
pid_t mpbs_role_pid(const struct mpbs *m, const char *comm);
/* Waits up to timeout_ms until a role named comm runs with a pid other
 * than old (a restart); returns that pid, or -1. */
pid_t mpbs_wait_role(const struct mpbs *m, const char *comm, pid_t old, int timeout_ms);
/* Roles an instance has at most (supervisor's children), for mpbs_roles. */
#define MPBS_ROLES_MAX 80
/* SIGKILL of the supervisor m->pid, then of every role it had; waits until
 * all are gone (m->pid becomes 0). Returns 0, or -1. */
int mpbs_kill_tree(struct mpbs *m);
/* Inserts lines (each ending in a newline) right after the "[section]"
 * header line of the topology file at path; 0, or -1 if there is none. */
int topology_insert(const char *path, const char *section, const char *lines);
/* Occurrences of needle in the file at path (0 when unreadable). */
size_t file_count(const char *path, const char *needle);
/* Waits until file_count(path, needle) >= n or timeout_ms passes; returns
 * the last count. */
size_t file_wait_count(const char *path, const char *needle, size_t n, int timeout_ms);
/* Number of distinct "op" values among the ledger records of a type. */
size_t ledger_count_distinct_op(const char *path, const char *type);

/* CLOCK_MONOTONIC in ms, and a sleep that resumes after a signal. */
uint64_t mono_ms(void);
void sleep_ms(unsigned ms);
/* Replaces the first occurrence of from by to in the file at path; 0, or
 * -1 when the file cannot be read or written or holds no from. */
int file_replace(const char *path, const char *from, const char *to);

#endif
