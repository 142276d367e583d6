/* SPDX-License-Identifier: Apache-2.0 */
/* The three ways `mpbs-run status` shows instances: see status_render.h.
 * The per-role figures are named by the role table's counter lists
 * (roles/role_counters.h), the same lists the roles fill. */
#include "status_render.h"

#include <inttypes.h>
#include <string.h>

#include "../roles/role_counters.h"
#include "role_table.h"

static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

static json_int_t num(const json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/* "3d04h", "1h02m", "4m05s", "12s"; "-" without a value. */
static void format_duration(const json_t *obj, char *out, size_t cap)
{
	const json_t *v = json_object_get(obj, "uptime_s");
	if (!json_is_integer(v)) {
		snprintf(out, cap, "-");
		return;
	}
	long long s = json_integer_value(v);
	if (s >= 86400)
		snprintf(out, cap, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, cap, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, cap, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(out, cap, "%llds", s);
}

void status_render_table(FILE *out, const json_t *instances)
{
	size_t i, r;
	const json_t *in, *role;
	json_array_foreach(instances, i, in) {
		const json_t *t = json_object_get(in, "totals");
		char up[32];
		format_duration(in, up, sizeof(up));
		fprintf(out, "%s%s: %s, supervisor pid %lld, up %s\n", i ? "\n" : "", str(in, "name"),
			str(in, "state"), (long long)num(in, "pid"), up);
		fprintf(out, "  topology  %s\n  ledger    %s (%lld bytes)\n", str(in, "topology"), str(in, "ledger"),
			(long long)num(in, "ledger_bytes"));
		fprintf(out, "  requests %lld, artifacts %lld, signals %lld, confirmations %lld, pending %lld, "
			     "incomplete %lld, rejected %lld\n",
			(long long)num(t, "requests"), (long long)num(t, "artifacts"), (long long)num(t, "signals"),
			(long long)num(t, "confirmations"), (long long)num(t, "pending"),
			(long long)num(t, "incomplete"), (long long)num(t, "rejected"));
		fprintf(out, "  %-20s %8s %9s %8s  %-10s %s\n", "ROLE", "PID", "UPTIME", "RESTARTS", "STATE",
			"COUNTERS");
		json_array_foreach(json_object_get(in, "roles"), r, role) {
			char pid[24];
			const char *key;
			const json_t *v;
			format_duration(role, up, sizeof(up));
			snprintf(pid, sizeof(pid), num(role, "pid") > 0 ? "%lld" : "-", (long long)num(role, "pid"));
			fprintf(out, "  %-20s %8s %9s %8lld  %-10s", str(role, "name"), pid, up,
				(long long)num(role, "restarts"), str(role, "state"));
			json_object_foreach((json_t *)json_object_get(role, "counters"), key, v)
				if (json_integer_value(v))
					fprintf(out, " %s=%lld", key, (long long)json_integer_value(v));
			fputc('\n', out);
		}
	}
}

int status_render_json(FILE *out, const json_t *instances, int one)
{
	const json_t *what = one ? json_array_get(instances, 0) : instances;
	if (json_dumpf(what, out, JSON_INDENT(2)) < 0)
		return -1;
	fputc('\n', out);
	return 0;
}

/* A label value in the exposition format: backslash, quote and newline
 * escaped. */
static void label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{topology="...",role="...",provider="..."} value */
static void sample(FILE *out, const char *name, const json_t *in, const json_t *role, long long value)
{
	fprintf(out, "%s{topology=\"", name);
	label_value(out, str(in, "name"));
	if (role) {
		fputs("\",role=\"", out);
		label_value(out, str(role, "kind"));
		if (json_object_get(role, "provider")) {
			fputs("\",provider=\"", out);
			label_value(out, str(role, "provider"));
		}
	}
	fprintf(out, "\"} %lld\n", value);
}

/* The run's own figures: one family each, every instance a sample. */
static const struct {
	const char *metric, *key, *type, *help;
	int in_totals;
} run_metrics[] = {
	{ "mpbs_requests_total", "requests", "counter", "POST requests the intermediary answered", 1 },
	{ "mpbs_artifacts_total", "artifacts", "counter", "artifacts the providers received", 1 },
	{ "mpbs_signals_total", "signals", "counter", "provider signals the association received", 1 },
	{ "mpbs_confirmations_total", "confirmations", "counter", "operations recorded as confirmed", 1 },
	{ "mpbs_incomplete_total", "incomplete", "counter", "operations recorded as incomplete", 1 },
	{ "mpbs_rejected_total", "rejected", "counter", "provider frames recorded as rejected", 1 },
	{ "mpbs_pending", "pending", "gauge", "operations pending now", 1 },
	{ "mpbs_ledger_bytes", "ledger_bytes", "gauge", "size of the ledger file in bytes", 0 },
	{ "mpbs_uptime_seconds", "uptime_s", "gauge", "seconds since the supervisor started", 0 },
};

static void role_families(FILE *out, const json_t *instances)
{
	size_t i, r;
	const json_t *in, *role;
	family(out, "mpbs_role_up", "gauge", "1 if the role's process runs and serves, 0 otherwise");
	json_array_foreach(instances, i, in)
		json_array_foreach(json_object_get(in, "roles"), r, role)
			sample(out, "mpbs_role_up", in, role, strcmp(str(role, "state"), "running") == 0);
	family(out, "mpbs_role_restarts_total", "counter", "times the supervisor restarted the role");
	json_array_foreach(instances, i, in)
		json_array_foreach(json_object_get(in, "roles"), r, role)
			sample(out, "mpbs_role_restarts_total", in, role, num(role, "restarts"));
	family(out, "mpbs_role_uptime_seconds", "gauge", "seconds since the role's process started");
	json_array_foreach(instances, i, in)
		json_array_foreach(json_object_get(in, "roles"), r, role)
			if (json_object_get(role, "uptime_s"))
				sample(out, "mpbs_role_uptime_seconds", in, role, num(role, "uptime_s"));
	/* each role kind's own counters, from its list */
	for (size_t k = 0; k < ROLE_KINDS; k++) {
		const struct role_counter_list *list = role_kinds[k].counters;
		for (size_t c = 0; c < list->n; c++) {
			const struct role_counter_def *d = &list->defs[c];
			char metric[128], help[256];
			int counter = d->type == ROLE_COUNTER;
			snprintf(metric, sizeof(metric), "mpbs_%s_%s%s", role_kinds[k].name, d->name, counter ? "_total" : "");
			snprintf(help, sizeof(help), "%s: %s", role_kinds[k].name, d->help);
			family(out, metric, counter ? "counter" : "gauge", help);
			json_array_foreach(instances, i, in)
				json_array_foreach(json_object_get(in, "roles"), r, role)
					if (strcmp(str(role, "kind"), role_kinds[k].name) == 0)
						sample(out, metric, in, role,
						       num(json_object_get(role, "counters"), d->name));
		}
	}
}

void status_render_prometheus(FILE *out, const json_t *instances)
{
	size_t i;
	const json_t *in;
	if (json_array_size(instances) == 0)
		return;
	family(out, "mpbs_up", "gauge", "1 while the instance's supervisor runs");
	json_array_foreach(instances, i, in)
		sample(out, "mpbs_up", in, NULL, 1);
	for (size_t m = 0; m < sizeof(run_metrics) / sizeof(run_metrics[0]); m++) {
		family(out, run_metrics[m].metric, run_metrics[m].type, run_metrics[m].help);
		json_array_foreach(instances, i, in) {
			const json_t *from = run_metrics[m].in_totals ? json_object_get(in, "totals") : in;
			sample(out, run_metrics[m].metric, in, NULL, num(from, run_metrics[m].key));
		}
	}
	role_families(out, instances);
}
