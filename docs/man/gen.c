/* SPDX-License-Identifier: Apache-2.0 */
/* mpbs-gen-man: the build's generator of reference text from the tables
 * that define it, so a key's doc has one home (its row).
 *
 *   mpbs-gen-man < PAGE.scd > FILLED.scd   copies an scdoc template, putting
 *                                          in place of each line {{NAME}} the
 *                                          text NAME below
 *   mpbs-gen-man --markdown provider-policy-keys  docs/PROVIDER-POLICY.md's key table
 *
 * Not installed: the Makefile's `man` target runs it (docs/man/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../roles/provider/policy_keys.h"
#include "../../runner/limits.h"
#include "../../runner/role_table.h"
#include "../../runner/seccomp.h"
#include "../../runner/topology_keys.h"

/* What --print-policy takes. */
static int role_names(FILE *f, enum doc_format fmt)
{
	doc_inline(f, fmt, role_policy_names());
	fputc('\n', f);
	return doc_flush(f);
}

/* The names a seccomp policy may use, comma-separated. */
static int seccomp_names(FILE *f, enum doc_format fmt, bool errnos)
{
	const char *name;
	for (size_t i = 0; (name = seccomp_policy_name_at(i, errnos)); i++) {
		fputs(i ? ", " : "", f);
		doc_inline(f, fmt, name);
	}
	fputc('\n', f);
	return doc_flush(f);
}

static int seccomp_constants(FILE *f, enum doc_format fmt)
{
	return seccomp_names(f, fmt, false);
}

static int seccomp_errnos(FILE *f, enum doc_format fmt)
{
	return seccomp_names(f, fmt, true);
}

static const struct {
	const char *name;
	int (*write)(FILE *f, enum doc_format fmt);
} texts[] = {
	{ "topology-keys", topo_keys_doc },
	{ "topology-rlimits", limits_table },
	{ "provider-policy-keys", policy_keys_doc },
	{ "policy-roles", role_names },
	{ "seccomp-constants", seccomp_constants },
	{ "seccomp-errnos", seccomp_errnos },
};

#define N_TEXTS (sizeof(texts) / sizeof(texts[0]))

static int write_text(const char *name, enum doc_format fmt, const char *where)
{
	for (size_t i = 0; i < N_TEXTS; i++)
		if (strcmp(texts[i].name, name) == 0)
			return texts[i].write(stdout, fmt);
	fprintf(stderr, "mpbs-gen-man: %s: no text named '%s'\n", where, name);
	return -1;
}

/* The template on stdin to stdout, a line "{{NAME}}" replaced by text NAME. */
static int fill(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int rc = 0;
	while (rc == 0 && (len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 4 && strncmp(line, "{{", 2) == 0 && strcmp(line + len - 2, "}}") == 0) {
			char where[32];
			snprintf(where, sizeof(where), "line %u", lineno);
			line[len - 2] = '\0';
			rc = write_text(line + 2, DOC_SCDOC, where);
		} else if (puts(line) < 0) {
			rc = -1;
		}
	}
	free(line);
	if (ferror(stdin)) {
		perror("mpbs-gen-man: stdin");
		return -1;
	}
	return rc == 0 ? doc_flush(stdout) : -1;
}

int main(int argc, char **argv)
{
	if (argc == 1)
		return fill() == 0 ? 0 : 1;
	if (argc == 3 && strcmp(argv[1], "--markdown") == 0)
		return write_text(argv[2], DOC_MARKDOWN, "--markdown") == 0 ? 0 : 1;
	fprintf(stderr, "usage: mpbs-gen-man < TEMPLATE.scd > PAGE.scd | mpbs-gen-man --markdown NAME\n");
	return 2;
}
