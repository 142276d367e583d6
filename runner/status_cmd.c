/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run status`: finds the state files of running instances in the
 * caller's runtime directory (runtime_dir.h: /run/mpbs for root,
 * $XDG_RUNTIME_DIR/mpbs for a user), skips those whose supervisor is gone,
 * keeps the one of TOPOLOGY if one is named, and shows them
 * (status_render.h). It only reads: nothing it does reaches a supervisor or
 * a role. */
#define _GNU_SOURCE
#include "status_cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/clock.h"
#include "../lib/log.h"
#include "cli.h"
#include "runtime_dir.h"
#include "status_file.h"
#include "status_render.h"

enum status_format { FORMAT_TABLE, FORMAT_JSON, FORMAT_PROMETHEUS };

static const char usage_text[] =
	"usage: mpbs-run status [--json | --prometheus] [TOPOLOGY]\n"
	"\n"
	"Shows the running instances of mpbs-run (or the one running TOPOLOGY):\n"
	"each role's pid, uptime, restarts and state, and the run's requests,\n"
	"artifacts, signals, confirmations, pending operations and ledger size.\n"
	"Read from the state files the supervisors rewrite every second in\n"
	RUNTIME_DIR_ROOT " (root) or $XDG_RUNTIME_DIR/mpbs (a user).\n"
	"\n"
	"  --json        one JSON object (TOPOLOGY) or an array of them\n"
	"  --prometheus  Prometheus text format (node_exporter's textfile collector)\n"
	"  -h, --help    this text\n"
	"\n"
	"Exit status: 0, or 1 if no instance (of TOPOLOGY) runs.\n";

/* Reads one state file; NULL (said why, unless it vanished) if unreadable. */
static json_t *load_state(int dir, const char *name)
{
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT) /* a supervisor that stopped just now removed it */
			log_warn("status: %s: %s", name, strerror(errno));
		return NULL;
	}
	json_error_t jerr;
	json_t *j = json_loadfd(fd, 0, &jerr);
	close(fd);
	if (!j || !json_is_object(j) ||
	    json_integer_value(json_object_get(j, "version")) != STATUS_FILE_VERSION) {
		log_warn("status: %s: not a state file of this version%s%s", name, j ? "" : ": ", j ? "" : jerr.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

static void add_uptime(json_t *obj, uint64_t now_ms)
{
	json_int_t started = json_integer_value(json_object_get(obj, "started_ms"));
	if (started > 0 && (uint64_t)started <= now_ms)
		json_object_set_new(obj, "uptime_s", json_integer((json_int_t)((now_ms - (uint64_t)started) / 1000)));
}

/* The live instances in the runtime directory, in name order, matching
 * topology (a real path) when it is not NULL. */
static json_t *find_instances(int dir, const char *topology)
{
	struct dirent **names;
	int n = scandirat(dir, ".", &names, NULL, alphasort);
	json_t *found = json_array();
	uint64_t now_ms = clock_ns(CLOCK_REALTIME) / 1000000u;
	if (n < 0) {
		log_errno("status: scandir");
		return found;
	}
	size_t suffix = strlen(STATUS_FILE_SUFFIX);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		json_t *j = NULL;
		if (name[0] != '.' && len > suffix && strcmp(name + len - suffix, STATUS_FILE_SUFFIX) == 0)
			j = load_state(dir, name);
		if (j && status_file_is_live(j) &&
		    (!topology || strcmp(json_string_value(json_object_get(j, "topology")) ?: "", topology) == 0)) {
			add_uptime(j, now_ms);
			size_t r;
			json_t *role;
			json_array_foreach(json_object_get(j, "roles"), r, role)
				add_uptime(role, now_ms);
			json_array_append(found, j);
		}
		json_decref(j);
		free(names[i]);
	}
	free(names);
	return found;
}

int status_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	enum status_format format = FORMAT_TABLE;
	int formats = 0, c;
	struct cli_line line = { 0 };
	while ((c = cli_next_option(&line, argc, argv, "", opts)) != -1) {
		format = c == 'j' ? FORMAT_JSON : FORMAT_PROMETHEUS;
		formats++;
	}
	if (line.help) {
		fputs(usage_text, stdout);
		cli_common_usage(stdout);
		return 0;
	}
	if (line.refusal[0])
		return cli_usage_error("status", "%s", line.refusal);
	if (formats > 1)
		return cli_usage_error("status", "--json and --prometheus exclude each other");
	if (argc - optind > 1)
		return cli_usage_error("status", "one TOPOLOGY at most (got '%s' and '%s')", argv[optind],
				       argv[optind + 1]);
	const char *operand = optind < argc ? argv[optind] : NULL;
	char topology[PATH_MAX], dir_path[PATH_MAX], err[512];
	if (operand && !realpath(operand, topology)) {
		log_error("status: %s: %s", operand, strerror(errno));
		return 1;
	}
	if (runtime_dir_path(dir_path, sizeof(dir_path), err, sizeof(err)) < 0) {
		log_error("status: %s", err);
		return 1;
	}
	int dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 && errno != ENOENT) {
		log_error("status: %s: %s", dir_path, strerror(errno));
		return 1;
	}
	json_t *found = dir >= 0 ? find_instances(dir, operand ? topology : NULL) : json_array();
	if (dir >= 0)
		close(dir);
	int rc = 0;
	if (json_array_size(found) == 0) {
		/* Prometheus' textfile collector reads an empty file as "nothing";
		 * the exit status still says so */
		if (operand)
			log_error("status: no running instance of %s (looked for state files in %s)", topology,
				  dir_path);
		else
			log_error("status: no running instance (looked for state files in %s)", dir_path);
		rc = 1;
	}
	if (format == FORMAT_JSON && (rc == 0 || !operand))
		rc = status_render_json(stdout, found, operand != NULL) < 0 ? 1 : rc;
	else if (format == FORMAT_PROMETHEUS)
		status_render_prometheus(stdout, found);
	else if (rc == 0)
		status_render_table(stdout, found);
	json_decref(found);
	if (fflush(stdout) != 0) {
		log_errno("status: stdout");
		rc = 1;
	}
	return rc;
}
