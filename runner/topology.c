/* SPDX-License-Identifier: Apache-2.0 */
/* topology.conf: read (inih, through lib/ini_file.h), apply --set
 * overrides, check. The keys each section takes, with their types, ranges
 * and defaults, are the rows of runner/topology_keys.c; the section names
 * are the role table's. */
#include "topology.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology_parse.h"
#include "topology_values.h"

#define TOPO_FILE_MAX (1u << 20)

/* ---- keys and sections ----------------------------------------------- */

/* Where key i's field lives: the section's struct, or its limits. */
static void *field_base(const struct section_state *s, const struct topo_key *k)
{
	return k->section == TOPO_SECTION_EVERY_ROLE ? (void *)s->limits : s->target;
}

/* The one path for every value, whether from a line of the file, a --set
 * or a row's default. */
static int apply_key(struct parse *p, struct section_state *s, const char *key, const char *value, struct origin o)
{
	int i = find_key(s, key);
	if (i < 0)
		return fail_at(p, o, s, key, "unknown key");
	uint32_t bit = 1u << i;
	if (o.line > 0 && (s->set_in_file & bit))
		return fail_at(p, o, s, key, "duplicate key (first set at line %d)", s->at[i].line);
	char msg[512];
	if (topo_set_value(s->keys[i], field_base(s, s->keys[i]), p->t->dir, value, msg, sizeof(msg)) < 0)
		return fail_at(p, o, s, key, "%s", msg);
	if (o.line > 0)
		s->set_in_file |= bit;
	s->at[i] = o;
	return 0;
}

/* A section's keys (its rows of the key table) and their defaults. */
static int init_section(struct parse *p, struct section_state *s, int section, const char *label, void *target,
			struct topo_limits *limits)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%s", label);
	s->target = target;
	s->limits = limits;
	for (size_t i = 0; i < topo_n_keys && s->n_keys < TOPO_SECTION_KEYS_MAX; i++)
		if (topo_key_in_section(&topo_keys[i], section))
			s->keys[s->n_keys++] = &topo_keys[i];
	for (size_t i = 0; i < TOPO_SECTION_KEYS_MAX; i++)
		s->at[i] = ORIGIN_NONE;
	for (size_t i = 0; i < s->n_keys; i++)
		if (s->keys[i]->dflt && apply_key(p, s, s->keys[i]->name, s->keys[i]->dflt, ORIGIN_NONE) < 0)
			return -1;
	return 0;
}

static struct section_state *find_provider(struct parse *p, const char *name)
{
	for (size_t i = 0; i < p->t->n_providers; i++)
		if (strcmp(p->t->providers[i].name, name) == 0)
			return &p->prov[i];
	return NULL;
}

/* The one-role section named name, or NULL. */
static struct section_state *find_fixed(struct parse *p, const char *name)
{
	if (strcmp(name, "runner") == 0)
		return &p->runner;
	if (strcmp(name, "nats") == 0)
		return &p->nats;
	for (enum role_kind k = 0; k < ROLE_KINDS; k++)
		if (!role_kinds[k].per_provider && strcmp(name, role_kinds[k].name) == 0)
			return &p->role[k];
	return NULL;
}

static int add_provider(struct parse *p, const char *name, const char *label)
{
	struct topology *t = p->t;
	struct origin here = line_origin(p->ini.line);
	struct section_state tmp = { .line = p->ini.line };
	snprintf(tmp.label, sizeof(tmp.label), "%.*s", (int)sizeof(tmp.label) - 1, label);
	if (!wire_provider_name_valid(name))
		return fail_at(p, here, &tmp, NULL, "invalid provider name: expected 1 to %d of A-Z a-z 0-9 _ -",
			       WIRE_PROVIDER_ID_MAX);
	const struct section_state *dup = find_provider(p, name);
	if (dup != NULL)
		return fail_at(p, here, &tmp, NULL, "duplicate provider name (first at line %d)", dup->line);
	if (t->n_providers == TOPO_PROVIDERS_MAX)
		return fail_at(p, here, &tmp, NULL, "more than %d providers", TOPO_PROVIDERS_MAX);
	struct topo_provider *pr = &t->providers[t->n_providers];
	snprintf(pr->name, sizeof(pr->name), "%s", name);
	pr->line = p->ini.line;
	struct section_state *s = &p->prov[t->n_providers];
	if (init_section(p, s, ROLE_PROVIDER, tmp.label, pr, &pr->limits) < 0)
		return -1;
	s->line = p->ini.line;
	t->n_providers++;
	p->cur = s;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* A header line: "[runner]", "[nats]", "[intermediary]", "[association]", "[bridge]" or
 * "[provider NAME]", optionally followed by a comment. */
static int begin_section(struct ini_file *f, void *ctx, const char *line)
{
	struct parse *p = ctx;
	char text[256];
	snprintf(text, sizeof(text), "%s", line + 1);
	char *close = strchr(text, ']');
	if (close == NULL)
		return 0; /* inih reports the syntax error on this same line */
	*close = '\0';
	const char *after = close + 1;
	while (isspace((unsigned char)*after))
		after++;
	struct origin here = line_origin(f->line);
	char *name = trim(text);
	struct section_state tmp = { .line = f->line };
	snprintf(tmp.label, sizeof(tmp.label), "%.*s", (int)sizeof(tmp.label) - 1, name);
	if (*after != '\0' && *after != ';' && *after != '#')
		return fail_at(p, here, &tmp, NULL, "unexpected text after ']'");
	struct section_state *s = find_fixed(p, name);
	if (s != NULL) {
		if (s->line != 0)
			return fail_at(p, here, &tmp, NULL, "duplicate section (first at line %d)", s->line);
		s->line = f->line;
		p->cur = s;
		return 0;
	}
	const char *per = role_kinds[ROLE_PROVIDER].name;
	size_t per_len = strlen(per);
	if (strncmp(name, per, per_len) == 0 && isspace((unsigned char)name[per_len]))
		return add_provider(p, trim(name + per_len + 1), name);
	return fail_at(p, here, &tmp, NULL, "unknown section");
}

/* ---- reading the file ------------------------------------------------ */

static int on_key(struct ini_file *f, void *ctx, const char *name, const char *value)
{
	struct parse *p = ctx;
	if (p->cur == NULL)
		return fail_at(p, line_origin(f->line), NULL, name, "key outside any section");
	return apply_key(p, p->cur, name, value, line_origin(f->line));
}

static const struct ini_file_ops topology_ops = {
	.header = begin_section,
	.key = on_key,
	.syntax_hint = "expected '[section]', 'key = value' or a comment",
};

/* ---- overrides ------------------------------------------------------- */

static int apply_override(struct parse *p, int idx)
{
	struct origin o = { 0, idx };
	char *copy = strdup(p->overrides[idx]);
	if (copy == NULL)
		return fail_at(p, o, NULL, NULL, "out of memory");
	int rc = -1;
	char *eq = strchr(copy, '=');
	char *dot = eq ? memchr(copy, '.', (size_t)(eq - copy)) : NULL;
	if (dot == NULL) {
		rc = fail_at(p, o, NULL, NULL, "expected section.key=value or provider.NAME.key=value");
		goto out;
	}
	*eq = '\0';
	*dot = '\0';
	char *section = trim(copy), *key = trim(dot + 1), *value = trim(eq + 1);
	struct section_state *s = NULL;
	if (strcmp(section, role_kinds[ROLE_PROVIDER].name) == 0) {
		char *dot2 = strchr(key, '.');
		if (dot2 == NULL) {
			rc = fail_at(p, o, NULL, NULL, "expected provider.NAME.key=value");
			goto out;
		}
		*dot2 = '\0';
		s = find_provider(p, key);
		if (s == NULL) {
			rc = fail_at(p, o, NULL, NULL, "no provider %s in %s", key, p->t->path);
			goto out;
		}
		key = trim(dot2 + 1);
	}
	if (s == NULL)
		s = find_fixed(p, section);
	if (s == NULL)
		rc = fail_at(p, o, NULL, NULL, "unknown section '%s'", section);
	else if (find_key(s, key) < 0)
		rc = fail_at(p, o, NULL, NULL, "unknown key '%s' in [%s]", key, s->label);
	else
		rc = apply_key(p, s, key, value, o);
out:
	free(copy);
	return rc;
}

/* ---- setup ----------------------------------------------------------- */

/* Every one-role section exists from the start, with its defaults, whether
 * or not the file has it. */
static int init_fixed_sections(struct parse *p)
{
	struct topology *t = p->t;
	if (init_section(p, &p->runner, TOPO_SECTION_RUNNER, "runner", t, NULL) < 0 ||
	    init_section(p, &p->nats, TOPO_SECTION_NATS, "nats", t, NULL) < 0)
		return -1;
	for (enum role_kind k = 0; k < ROLE_KINDS; k++)
		if (!role_kinds[k].per_provider &&
		    init_section(p, &p->role[k], (int)k, role_kinds[k].name, t, &t->limits[k]) < 0)
			return -1;
	return 0;
}

static int resolve_dir(struct parse *p)
{
	struct topology *t = p->t;
	char *copy = strdup(t->path);
	if (copy == NULL)
		return fail_at(p, ORIGIN_NONE, NULL, NULL, "out of memory");
	t->dir = realpath(dirname(copy), NULL);
	int saved = errno;
	free(copy);
	if (t->dir == NULL)
		return fail_at(p, ORIGIN_NONE, NULL, NULL, "cannot resolve its directory: %s", strerror(saved));
	return 0;
}

int topology_load(struct topology *t, const char *path, char *const *overrides, size_t n_overrides,
		  char *errbuf, size_t errlen)
{
	return topology_load_with(t, path, overrides, n_overrides, 0, errbuf, errlen);
}

int topology_load_with(struct topology *t, const char *path, char *const *overrides, size_t n_overrides,
		       unsigned flags, char *errbuf, size_t errlen)
{
	return topology_load_part(t, path, overrides, n_overrides, flags, NULL, errbuf, errlen);
}

int topology_load_part(struct topology *t, const char *path, char *const *overrides, size_t n_overrides,
		       unsigned flags, const char *host, char *errbuf, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	struct parse *p = calloc(1, sizeof(*p));
	t->path = strdup(path);
	if (p == NULL || t->path == NULL || n_overrides > INT_MAX) {
		if (errlen > 0)
			snprintf(errbuf, errlen, "%s: out of memory", path);
		free(p);
		topology_free(t);
		return -1;
	}
	p->t = t;
	p->overrides = overrides;
	p->flags = flags;
	p->host = host;
	ini_file_init(&p->ini, t->path);
	int rc = resolve_dir(p) < 0 || init_fixed_sections(p) < 0 ||
			 ini_file_parse(&p->ini, TOPO_FILE_MAX, &topology_ops, p) < 0
		 ? -1
		 : 0;
	for (size_t i = 0; rc == 0 && i < n_overrides; i++)
		rc = apply_override(p, (int)i);
	if (rc == 0)
		rc = topology_check(p);
	if (rc < 0) {
		if (errlen > 0)
			snprintf(errbuf, errlen, "%s", p->ini.err);
		topology_free(t);
	}
	free(p);
	return rc;
}

/* What the rows of one section allocated in its struct. */
static void free_section(void *base, int section)
{
	for (size_t i = 0; i < topo_n_keys; i++)
		if (topo_keys[i].section == section)
			topo_free_value(&topo_keys[i], base);
}

void topology_free(struct topology *t)
{
	free(t->path);
	free(t->dir);
	free_section(t, TOPO_SECTION_RUNNER);
	free_section(t, TOPO_SECTION_NATS);
	for (enum role_kind k = 0; k < ROLE_KINDS; k++)
		for (size_t i = 0; i < (role_kinds[k].per_provider ? TOPO_PROVIDERS_MAX : 1); i++)
			free_section(role_kinds[k].per_provider ? (void *)&t->providers[i] : (void *)t, (int)k);
	memset(t, 0, sizeof(*t));
}
