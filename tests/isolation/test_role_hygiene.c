/* SPDX-License-Identifier: Apache-2.0 */
/* What a role must not inherit from the supervisor it was forked from,
 * seen from the host on a real run: supplementary groups (mpbs-run started
 * with groups 0, 6, 42), environment (a marker variable in mpbs-run's
 * environment) and stderr (mpbs-run's stderr is a regular file; a role's
 * fd 2 must be a pipe of its own), nor another role's output that passed
 * through the supervisor's memory before it was forked. And a role cannot
 * forge a line of the supervisor's log: what it writes arrives labelled,
 * newlines escaped.
 * Needs root. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/harness.h"

#define CTX "CTX_ALPHA"
#define MARKER_NAME "MPBS_SECRET_MARKER"
#define MARKER_VALUE "do-not-leak-7f3a"
#define FORGED_MSG "provider F (pid 1) exited"
#define FORGED "2026-11-30T09:15:02.123Z mpbs-run: error: " FORGED_MSG
#define FORGED_JSON "{\"ts\":\"2026-11-30T09:15:02.123Z\",\"level\":\"error\",\"who\":\"mpbs-run\",\"msg\":\"" FORGED_MSG "\"}"

HARNESS_ROOT_FIXTURE

/* In mpbs-run's process just before its exec: what a careless parent
 * (sudo, a service manager, a shell) hands it. */
static int inherit_groups_and_marker(void)
{
	static const gid_t groups[] = { 0, 6, 42 };
	if (setgroups(3, groups) < 0 || setenv(MARKER_NAME, MARKER_VALUE, 1) < 0)
		return -1;
	return 0;
}

static char *proc_file(pid_t pid, const char *name, size_t *len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	char *text = read_file(path, len);
	cr_assert_not_null(text, "cannot read %s", path);
	return text;
}

static void assert_no_groups(const struct mpbs_role *r)
{
	char *status = proc_file(r->pid, "status", NULL);
	char *g = strstr(status, "\nGroups:");
	cr_assert_not_null(g, "%s: no Groups line", r->comm);
	g += strlen("\nGroups:");
	size_t len = strcspn(g, "\n");
	cr_assert_eq(strspn(g, " \t"), len, "%s has supplementary groups:%.*s", r->comm, (int)len, g);
	free(status);
}

static void assert_empty_environ(const struct mpbs_role *r)
{
	size_t len = 0;
	char *env = proc_file(r->pid, "environ", &len);
	cr_assert_null(memmem(env, len, MARKER_VALUE, strlen(MARKER_VALUE)), "%s shows the marker's value", r->comm);
	cr_assert_null(memmem(env, len, MARKER_NAME, strlen(MARKER_NAME)), "%s shows the marker's name", r->comm);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(env[i], '\0', "%s: /proc/PID/environ holds a variable at byte %zu: %.40s", r->comm, i,
			     env + i);
	free(env);
}

/* Nothing of mpbs-run's command line (the topology's path) either. */
static void assert_empty_cmdline(const struct mpbs_role *r, const char *topology)
{
	size_t len = 0;
	char *cmd = proc_file(r->pid, "cmdline", &len);
	cr_assert_null(memmem(cmd, len, topology, strlen(topology)), "%s shows the topology path", r->comm);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(cmd[i], '\0', "%s: /proc/PID/cmdline holds an argument at byte %zu: %.40s", r->comm, i,
			     cmd + i);
	free(cmd);
}

/* fd 2 is a pipe, not the file mpbs-run's stderr goes to, and no other
 * role's pipe. */
static void assert_own_stderr(const struct mpbs_role *r, const struct stat *log, ino_t *seen, size_t n_seen)
{
	char path[64], target[128];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)r->pid);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	cr_assert_gt(n, 0, "readlink %s", path);
	target[n] = '\0';
	cr_assert_eq(strncmp(target, "pipe:[", 6), 0, "%s: fd 2 is %s, not a pipe", r->comm, target);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(!(st.st_dev == log->st_dev && st.st_ino == log->st_ino), "%s: fd 2 is mpbs-run's stderr", r->comm);
	for (size_t i = 0; i < n_seen; i++)
		cr_assert_neq(st.st_ino, seen[i], "%s shares its stderr pipe with another role", r->comm);
	seen[n_seen] = st.st_ino;
}

Test(iso_role_hygiene, roles_inherit_no_groups_no_environment_and_not_the_supervisors_stderr, .init = need_root,
     .fini = finish, .timeout = 60)
{
	struct mpbs_role roles[16];
	ino_t seen[16];
	struct stat log, sup_err;
	char path[64];
	cr_assert_eq(mpbs_prepare(&m, "A B C", NULL), 0, "cannot prepare a test directory");
	cr_assert_eq(mpbs_launch_with(&m, inherit_groups_and_marker), 0, "mpbs-run did not become ready (log: %s)",
		     m.log);
	/* the premise: mpbs-run's own stderr is the regular file m.log */
	snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)m.pid);
	cr_assert_eq(stat(m.log, &log), 0);
	cr_assert_eq(stat(path, &sup_err), 0);
	cr_assert(S_ISREG(log.st_mode) && sup_err.st_ino == log.st_ino, "mpbs-run's stderr is not %s", m.log);
	int n = mpbs_roles(&m, roles, 16);
	cr_assert_eq(n, 5, "expected 5 roles, found %d", n);
	for (int i = 0; i < n; i++) {
		assert_no_groups(&roles[i]);
		assert_empty_environ(&roles[i]);
		assert_empty_cmdline(&roles[i], m.topology);
		assert_own_stderr(&roles[i], &log, seen, (size_t)i);
	}
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
	cr_log_info("5 roles: no supplementary groups, no variable in /proc/PID/environ, no argument in /proc/PID/cmdline, fd 2 a pipe of their own");
}

/* Provider F's evaluator writes forged, a line that imitates the
 * supervisor's, to its stderr; the provider logs the evaluator's output
 * (one line of its own), which reaches the supervisor's log in the format
 * log_opt asks for, at -v (a program's output is per-operation detail).
 * Returns the log (free it). */
static char *log_of_a_forging_evaluator(const char *forged, const char *log_opt)
{
	char topo[PATH_MAX + 512], dir[PATH_MAX], file[PATH_MAX + 32], script[1024];
	/* exec_dir is relative: resolved against the topology's directory */
	snprintf(topo, sizeof(topo), "[provider F]\npolicy = F.policy\nkeys = keys/F\ndemo_keys = yes\n"
				     "receive_body = yes\nexec = yes\nnproc = 64\nexec_dir = forge\n");
	cr_assert_eq(mpbs_prepare(&m, "", topo), 0, "cannot prepare a test directory");
	m.log_opts[0] = "-v";
	m.log_opts[1] = log_opt;
	snprintf(dir, sizeof(dir), "%s/forge", m.dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(file, sizeof(file), "%s/forge.sh", dir);
	snprintf(script, sizeof(script), "#!/bin/sh\nprintf '\\n%s\\n' >&2\nexit 1\n", forged);
	cr_assert_eq(write_text_file(file, script), 0);
	cr_assert_eq(chmod(file, 0755), 0);
	snprintf(file, sizeof(file), "%s/F.policy", m.dir);
	cr_assert_eq(write_text_file(file, "accept_context = " CTX "\nreceive_body = yes\n"
					   "evaluator = /exec/forge.sh\nevaluator_timeout = 2000\n"),
		     0);
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	cr_assert_eq(http_post(m.port, "/nuvl", CTX, NULL, "x", 1), 204);
	cr_assert_geq(file_wait_count(m.log, "evaluator output", 1, 8000), 1,
		      "the evaluator's output was not logged (log: %s)", m.log);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	return log;
}

/* In the text format, on one line labelled "provider F: verbose: ", its
 * newline escaped. */
Test(iso_role_hygiene, a_role_cannot_forge_a_supervisor_log_line, .init = need_root, .fini = finish, .timeout = 60)
{
	char *log = log_of_a_forging_evaluator(FORGED, NULL);
	cr_assert_null(strstr(log, "\n" FORGED), "a role forged a supervisor line; log:\n%s", log);
	cr_assert_not_null(strstr(log, "\\n" FORGED), "the forged line is not shown escaped; log:\n%s", log);
	const char *at = strstr(log, "provider F: verbose: evaluator output");
	cr_assert_not_null(at, "log:\n%s", log);
	const char *eol = strchr(at, '\n');
	cr_assert_not_null(memmem(at, (size_t)(eol - at), FORGED, strlen(FORGED)),
			   "the forged text is not on the labelled line; log:\n%s", log);
	free(log);
}

/* In json, one object a line still, the forged object inside the "msg" of
 * an object whose "role" is provider F; no object of the supervisor's
 * ("who") says what the role wrote. */
Test(iso_role_hygiene, a_role_cannot_forge_a_supervisor_json_line, .init = need_root, .fini = finish, .timeout = 60)
{
	char *log = log_of_a_forging_evaluator("\"}\\n" FORGED_JSON, "--log-format=json");
	size_t lines = 0, carried = 0;
	for (char *line = log, *eol; *line; line = eol + 1) {
		eol = strchr(line, '\n');
		cr_assert_not_null(eol, "a last line without its newline; log:\n%s", log);
		json_error_t jerr;
		json_t *obj = json_loadb(line, (size_t)(eol - line), 0, &jerr);
		cr_assert(json_is_object(obj), "not one json object: %.*s (%s)", (int)(eol - line), line, jerr.text);
		const char *msg = json_string_value(json_object_get(obj, "msg"));
		const char *role = json_string_value(json_object_get(obj, "role"));
		cr_assert_not_null(msg, "no msg: %.*s", (int)(eol - line), line);
		cr_assert(role || json_is_string(json_object_get(obj, "who")), "neither role nor who: %.*s",
			  (int)(eol - line), line);
		cr_assert(role || !strstr(msg, FORGED_MSG), "a role forged a supervisor line: %.*s", (int)(eol - line),
			  line);
		if (role && strcmp(role, "provider F") == 0 && strstr(msg, "evaluator output") &&
		    strstr(msg, FORGED_JSON))
			carried++;
		json_decref(obj);
		lines++;
	}
	cr_assert_eq(carried, 1, "the forged object is not in provider F's msg; log:\n%s", log);
	cr_assert_gt(lines, 3);
	free(log);
}

/* Searches every readable mapping of pid for needle (as the host, through
 * /proc/PID/mem). Returns the number of places found. */
static size_t memory_holds(pid_t pid, const char *needle)
{
	char path[64], line[512];
	size_t found = 0, nlen = strlen(needle);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *maps = fopen(path, "re");
	cr_assert_not_null(maps, "%s", path);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int mem = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(mem, 0, "%s", path);
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' || strstr(line, "[vvar") ||
		    strstr(line, "[vsyscall]") || hi - lo > (256UL << 20))
			continue;
		char *buf = malloc(hi - lo);
		cr_assert_not_null(buf);
		ssize_t n = pread(mem, buf, hi - lo, (off_t)lo);
		for (char *at = buf; n > 0 && (at = memmem(at, (size_t)(buf + n - at), needle, nlen)); at++)
			found++;
		free(buf);
	}
	close(mem);
	fclose(maps);
	return found;
}

/* With -v the association logs each confirmation, and the supervisor
 * passes that line on. A provider killed and restarted afterwards is a new
 * fork of the supervisor: none of those bytes may be in its memory (they
 * were the intermediary's way to learn outcomes: it hashes the op itself). */
Test(iso_role_hygiene, a_restarted_role_inherits_no_other_roles_output, .init = need_root, .fini = finish,
     .timeout = 60)
{
	static const char body[] = "inherit-nothing";
	cr_assert_eq(mpbs_prepare(&m, "A B C", NULL), 0, "cannot prepare a test directory");
	m.log_opts[0] = "-v";
	cr_assert_eq(mpbs_launch(&m), 0, "mpbs-run did not become ready (log: %s)", m.log);
	cr_assert_eq(http_post(m.port, "/nuvl", CTX, NULL, body, sizeof(body) - 1), 204);
	cr_assert_eq(file_wait_count(m.log, "association: verbose: confirmed ", 1, 10000), 1, "no confirmation logged");
	char *log = read_file(m.log, NULL);
	cr_assert_not_null(log);
	const char *at = strstr(log, "association: verbose: confirmed ");
	char op[65];
	cr_assert(at && sscanf(at, "association: verbose: confirmed %64[0-9a-f]", op) == 1, "no op in: %s", log);
	free(log);
	pid_t old = mpbs_role_pid(&m, "mpbs-p-A");
	cr_assert_gt(old, 0);
	cr_assert_eq(kill(old, SIGKILL), 0);
	pid_t fresh = mpbs_wait_role(&m, "mpbs-p-A", old, 4000);
	cr_assert_gt(fresh, 0, "provider A was not restarted");
	cr_assert_eq(file_wait_count(m.log, "provider A restarted", 1, 5000), 1);
	usleep(200000); /* sealed and in its loop */
	cr_assert_eq(memory_holds(fresh, op), 0, "the restarted provider holds the confirmed op %s", op);
	char line[96];
	snprintf(line, sizeof(line), "confirmed %.16s", op);
	cr_assert_eq(memory_holds(fresh, line), 0, "the restarted provider holds the confirmation line");
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
}

/* Red team: a running role wrote a setup-error record to its status fd and
 * the supervisor printed "<role>: cannot start: <its text>" after READY.
 * Once a role is in its loop its status fd has nothing to say. The record
 * is written here from the host on the intermediary's own status fd
 * (fd 4 + providers), taken with pidfd_getfd. */
Test(iso_role_hygiene, a_status_record_after_ready_is_not_believed, .init = need_root, .fini = finish,
     .timeout = 60)
{
	static const char text[] = "provider A killed by seccomp: denied syscall ptrace (101)";
	unsigned char rec[3 + sizeof(text) - 1] = { 'E', (unsigned char)(sizeof(text) - 1), 0 };
	memcpy(rec + 3, text, sizeof(text) - 1);
	cr_assert_eq(mpbs_start(&m, "A B", NULL), 0, "mpbs-run did not become ready (log: %s)", m.log);
	pid_t im = mpbs_role_pid(&m, "mpbs-int");
	int pidfd = (int)syscall(SYS_pidfd_open, im, 0);
	cr_assert_geq(pidfd, 0, "pidfd_open: %s", strerror(errno));
	int status = (int)syscall(SYS_pidfd_getfd, pidfd, 4 + 2, 0);
	cr_assert_geq(status, 0, "pidfd_getfd: %s", strerror(errno));
	cr_assert_eq(write(status, rec, sizeof(rec)), (ssize_t)sizeof(rec));
	close(status);
	close(pidfd);
	cr_assert_eq(file_wait_count(m.log, "to its status fd after it was ready: ignored", 1, 3000), 1);
	cr_assert_eq(file_count(m.log, "cannot start"), 0, "the forged record was believed: %s", m.log);
	cr_assert_eq(mpbs_stop(&m), 0, "mpbs-run did not stop cleanly (log: %s)", m.log);
}
