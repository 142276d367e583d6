/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
/* The audit's report: every row, the claim × role matrix, each role's
 * exposure score (docs/CLAIMS.md), on stdout; optionally as JSON and as
 * JUnit XML. The argument surface section adds its own (audit_surface.c). */
#include "audit_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/log.h"
#include "audit_surface.h"

/* Weights per claim, in the spirit of systemd-analyze security: what a
 * failure would expose (docs/CLAIMS.md). A row weighs its heaviest claim. */
static const unsigned claim_weight[PROBE_CLAIMS] = { 2000, 2000, 1500, 2000, 1500, 2000, 1500, 1000, 1500, 1000, 1500 };

static unsigned row_weight(const struct audit_row *r)
{
	unsigned w = 0;
	for (int c = 0; c < PROBE_CLAIMS; c++)
		if ((r->claims & CLAIM(c + 1)) && claim_weight[c] > w)
			w = claim_weight[c];
	return w ? w : 500;
}

void audit_mark_weakened(struct audit *a)
{
	for (size_t i = 0; i < a->n_rows; i++)
		if (!a->rows[i].weakened)
			a->rows[i].weakened = rootless_weakening_of(a->plan.t->weakened, 1u << a->rows[i].mech);
}

static const char *row_verdict(const struct audit_row *r)
{
	return audit_outcome_name(audit_row_outcome(r));
}

static bool row_violated(const struct audit_row *r)
{
	return audit_row_outcome(r) == AUDIT_VIOLATED;
}

/* Whether the audit has a verdict of the row (ENFORCED or VIOLATED). */
static bool row_judged(const struct audit_row *r)
{
	enum audit_outcome o = audit_row_outcome(r);
	return o == AUDIT_ENFORCED || o == AUDIT_VIOLATED;
}

/* 0.0 (nothing exposed) .. 10.0 (every check failed). A WEAKENED or
 * UNOBSERVED row counts on neither side: the audit has no verdict of it. */
static double role_score(const struct audit *a, size_t k)
{
	double all = 0, bad = 0;
	for (size_t i = 0; i < a->n_rows; i++)
		if (a->rows[i].role == k && row_judged(&a->rows[i])) {
			all += row_weight(&a->rows[i]);
			bad += a->rows[i].ok ? 0 : row_weight(&a->rows[i]);
		}
	return all > 0 ? 10.0 * bad / all : 0;
}

enum verdict { V_NA, V_ENFORCED, V_WEAKENED, V_VIOLATED }; /* the worst row wins */

static enum verdict claim_verdict(const struct audit *a, size_t k, int claim, unsigned *mechs)
{
	enum verdict v = V_NA;
	*mechs = 0;
	for (size_t i = 0; i < a->n_rows; i++) {
		const struct audit_row *r = &a->rows[i];
		/* a row the audit could not observe is evidence neither way */
		if (r->role != k || !(r->claims & CLAIM(claim)) || r->unobserved)
			continue;
		*mechs |= 1u << r->mech;
		enum verdict rv = row_violated(r) ? V_VIOLATED : r->weakened ? V_WEAKENED : V_ENFORCED;
		if (rv > v)
			v = rv;
	}
	return v;
}

static const char *verdict_name(enum verdict v)
{
	return v == V_ENFORCED ? "ENFORCED" : v == V_WEAKENED ? "WEAKENED" : v == V_VIOLATED ? "VIOLATED" : "N/A";
}

static void mech_list(unsigned mechs, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int m = 0; m < MECH_COUNT && n < len; m++)
		if (mechs & (1u << m))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", probe_mechanism_name(m));
}

static size_t count_outcome(const struct audit *a, enum audit_outcome o)
{
	size_t counts[AUDIT_OUTCOMES];
	audit_count_outcomes(a->rows, a->n_rows, counts);
	return counts[o];
}

/* What w is, if a WEAKENED row of a is marked with it. */
static void print_weakening(const struct audit *a, const struct weakening *w)
{
	size_t rows = 0;
	for (size_t i = 0; i < a->n_rows; i++)
		rows += audit_row_outcome(&a->rows[i]) == AUDIT_WEAKENED && a->rows[i].weakened == w;
	if (rows)
		printf("  %s (%zu rows): %s\n", w->name, rows, w->why);
}

/* ", 8 weakened (...), 25 unobserved (...)", or nothing in a root audit */
static void print_uncounted(size_t weakened, size_t unobserved, const char *weakened_note,
			    const char *unobserved_note)
{
	if (weakened)
		printf(", %zu %s", weakened, weakened_note);
	if (unobserved)
		printf(", %zu %s", unobserved, unobserved_note);
}

static void print_report(const struct audit *a, size_t violated)
{
	size_t weakened = count_outcome(a, AUDIT_WEAKENED), unobserved = count_outcome(a, AUDIT_UNOBSERVED);
	violated -= audit_surface_violated(a->surface);
	printf("mpbs-run audit: %zu distinct probes, %zu checks run, %zu violated", probe_count + HOST_CHECK_COUNT,
	       a->n_rows, violated);
	print_uncounted(weakened, unobserved, "weakened (--rootless: runner/rootless.c)",
			"unobserved (not visible to a normal user)");
	printf("\n\n");
	for (size_t i = 0; i < a->n_rows; i++) {
		const struct audit_row *r = &a->rows[i];
		enum audit_outcome o = audit_row_outcome(r);
		printf("%-8s %-14s %-34s expected %-8s got %-24s [%s]", row_verdict(r), a->plan.roles[r->role].label,
		       r->id, r->expected, r->got, probe_mechanism_name(r->mech));
		if (o == AUDIT_WEAKENED)
			printf(" %s", r->weakened->name);
		printf("\n");
	}
	printf("\nclaim × role\n");
	for (int c = 1; c <= PROBE_CLAIMS; c++) {
		printf("claim %-2d", c);
		for (size_t k = 0; k < a->plan.n_roles; k++) {
			unsigned mechs;
			char ml[160];
			enum verdict v = claim_verdict(a, k, c, &mechs);
			mech_list(mechs, ml, sizeof(ml));
			printf("  %s: %s%s%s%s", a->plan.roles[k].label, verdict_name(v), mechs ? " (" : "", ml,
			       mechs ? ")" : "");
		}
		printf("\n");
	}
	printf("\nexposure (0 = nothing exposed, 10 = every check failed)\n");
	for (size_t k = 0; k < a->plan.n_roles; k++)
		printf("  %-14s %.1f\n", a->plan.roles[k].label, role_score(a, k));
	if (a->surface)
		audit_surface_print(a->surface, stdout);
	else
		printf("\nargument surface: not run under --audit-weaken\n");
	/* the last line covers both sections: what a reader of the tail sees */
	if (weakened) {
		printf("\nweakened (not ENFORCED, not VIOLATED): the layer is absent\n");
		for (size_t w = 0; w < rootless_n_weakenings; w++)
			print_weakening(a, &rootless_weakenings[w]);
	}
	if (unobserved)
		printf("\nunobserved (not ENFORCED, not VIOLATED, not WEAKENED), %zu rows: %s\n", unobserved,
		       audit_unobserved_why);
	const char *outcome = violated + audit_surface_violated(a->surface) ? "FAILED"
			      : weakened + unobserved ? "nothing violated" : "every claim held";
	printf("\nmpbs-run audit: %s: %zu probe checks and %zu argument-surface rows violated", outcome, violated,
	       audit_surface_violated(a->surface));
	print_uncounted(weakened, unobserved, "checks WEAKENED", "checks UNOBSERVED");
	printf("\n");
}

static json_t *claims_json(unsigned claims)
{
	json_t *arr = json_array();
	for (int c = 1; c <= PROBE_CLAIMS; c++)
		if (claims & CLAIM(c))
			json_array_append_new(arr, json_integer(c));
	return arr;
}

static json_t *matrix_json(const struct audit *a)
{
	json_t *m = json_object();
	for (int c = 1; c <= PROBE_CLAIMS; c++) {
		json_t *row = json_object();
		char key[8], ml[160];
		for (size_t k = 0; k < a->plan.n_roles; k++) {
			unsigned mechs;
			enum verdict v = claim_verdict(a, k, c, &mechs);
			mech_list(mechs, ml, sizeof(ml));
			json_object_set_new(row, a->plan.roles[k].label,
					    json_pack("{s:s, s:s}", "verdict", verdict_name(v), "mechanisms", ml));
		}
		snprintf(key, sizeof(key), "%d", c);
		json_object_set_new(m, key, row);
	}
	return m;
}

static int write_json(const struct audit *a, const char *path, size_t violated, int status)
{
	json_t *results = json_array(), *scores = json_object();
	for (size_t i = 0; i < a->n_rows; i++) {
		const struct audit_row *r = &a->rows[i];
		json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "id", r->id, "role",
					a->plan.roles[r->role].label, "action", r->action, "mechanism",
					probe_mechanism_name(r->mech), "claims", claims_json(r->claims), "expected",
					r->expected, "got", r->got, "verdict", row_verdict(r));
		enum audit_outcome o = audit_row_outcome(r);
		if (row && o == AUDIT_WEAKENED)
			json_object_set_new(row, "weakened", json_pack("{s:s, s:s}", "layer", r->weakened->name, "why",
								       r->weakened->why));
		if (row && o == AUDIT_UNOBSERVED)
			json_object_set_new(row, "unobserved", json_pack("{s:s}", "why", audit_unobserved_why));
		json_array_append_new(results, row);
	}
	for (size_t k = 0; k < a->plan.n_roles; k++)
		json_object_set_new(scores, a->plan.roles[k].label, json_real(role_score(a, k)));
	json_t *doc = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:i}", "probes",
				(json_int_t)(probe_count + HOST_CHECK_COUNT), "checks", (json_int_t)a->n_rows, "violated",
				(json_int_t)violated, "weakened", (json_int_t)count_outcome(a, AUDIT_WEAKENED),
				"unobserved", (json_int_t)count_outcome(a, AUDIT_UNOBSERVED), "results", results,
				"matrix", matrix_json(a), "exposure", scores, "exit", status);
	if (doc && a->surface)
		json_object_set_new(doc, "surface", audit_surface_json(a->surface));
	int rc = doc ? json_dump_file(doc, path, JSON_INDENT(2)) : -1;
	json_decref(doc);
	return rc;
}

static void xml_escaped(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20)
				fputc(*s, f);
		}
}

void audit_junit_case(FILE *f, const char *classname, const char *name, bool ok, const char *action,
		      const char *expected, const char *got, const char *mechanism)
{
	fputs("<testcase classname=\"", f);
	xml_escaped(f, classname);
	fputs("\" name=\"", f);
	xml_escaped(f, name);
	fputs("\">", f);
	if (!ok) {
		fputs("<failure message=\"", f);
		xml_escaped(f, action);
		fputs(": expected ", f);
		xml_escaped(f, expected);
		fputs(", got ", f);
		xml_escaped(f, got);
		if (mechanism)
			fprintf(f, " (mechanism %s)", mechanism);
		fputs("\"/>", f);
	}
	fputs("</testcase>\n", f);
}

/* A WEAKENED or UNOBSERVED row: a skipped test case that says why. */
static void junit_skipped(FILE *f, const char *classname, const struct audit_row *r)
{
	bool weakened = audit_row_outcome(r) == AUDIT_WEAKENED;
	fputs("<testcase classname=\"", f);
	xml_escaped(f, classname);
	fputs("\" name=\"", f);
	xml_escaped(f, r->id);
	fputs("\"><skipped message=\"", f);
	xml_escaped(f, row_verdict(r));
	fputs(": ", f);
	if (weakened) {
		xml_escaped(f, r->weakened->name);
		fputs(": ", f);
	}
	xml_escaped(f, weakened ? r->weakened->why : audit_unobserved_why);
	fputs(" (got ", f);
	xml_escaped(f, r->got);
	fputs(")\"/></testcase>\n", f);
}

static int write_junit(const struct audit *a, const char *path, size_t violated)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
		   "<testsuite name=\"mpbs-audit\" tests=\"%zu\" failures=\"%zu\"", a->n_rows,
		violated - audit_surface_violated(a->surface));
	size_t skipped = count_outcome(a, AUDIT_WEAKENED) + count_outcome(a, AUDIT_UNOBSERVED);
	if (skipped)
		fprintf(f, " skipped=\"%zu\"", skipped);
	fputs(">\n", f);
	for (size_t i = 0; i < a->n_rows; i++) {
		const struct audit_row *r = &a->rows[i];
		if (!row_judged(r))
			junit_skipped(f, a->plan.roles[r->role].label, r);
		else
			audit_junit_case(f, a->plan.roles[r->role].label, r->id, r->ok, r->action, r->expected,
					 r->got, probe_mechanism_name(r->mech));
	}
	fputs("</testsuite>\n", f);
	if (a->surface)
		audit_surface_junit(a->surface, f);
	fputs("</testsuites>\n", f);
	return fclose(f);
}

int audit_report(const struct audit *a, const struct audit_options *o)
{
	size_t violated = 0;
	bool over = false;
	for (size_t i = 0; i < a->n_rows; i++)
		violated += row_violated(&a->rows[i]);
	violated += audit_surface_violated(a->surface);
	for (size_t k = 0; k < a->plan.n_roles; k++)
		over |= o->threshold >= 0 && role_score(a, k) > o->threshold;
	int status = violated || over ? 1 : 0;
	print_report(a, violated);
	if (over)
		printf("exposure over the threshold %.1f\n", o->threshold);
	if (o->json_path && write_json(a, o->json_path, violated, status) < 0) {
		log_error("audit: write %s: %s", o->json_path, strerror(errno));
		return 2;
	}
	if (o->junit_path && write_junit(a, o->junit_path, violated) < 0) {
		log_error("audit: write %s: %s", o->junit_path, strerror(errno));
		return 2;
	}
	return status;
}
