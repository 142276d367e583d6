/* SPDX-License-Identifier: Apache-2.0 */
/* Key and state directories compared by inode: see topology_dirs.h. */
#define _GNU_SOURCE
#include "topology_dirs.h"

#include "host_part.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct dir_id {
	bool exists;
	dev_t dev;
	ino_t ino;
};

static struct dir_id dir_id_of(const char *path)
{
	struct stat st;
	struct dir_id d = { 0 };
	if (path && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		d = (struct dir_id){ true, st.st_dev, st.st_ino };
	return d;
}

/* Whether dir (by inode) is path or one of path's ancestors, walking up
 * through ".." as the kernel resolves it (so symlinks and bind mounts in
 * the spelling do not hide a nesting). */
static bool is_at_or_above(struct dir_id dir, const char *path)
{
	struct stat st, parent;
	char walk[PATH_MAX + 4];
	if (!dir.exists || !path || strlen(path) >= PATH_MAX - 4)
		return false;
	snprintf(walk, sizeof(walk), "%s", path);
	/* a path not made yet (demo keys are generated at the first start)
	 * will be made inside its nearest existing ancestor */
	while (stat(walk, &st) < 0) {
		char *slash = strrchr(walk, '/');
		if (!slash || slash == walk)
			return false;
		*slash = '\0';
	}
	for (size_t depth = 0; depth < PATH_MAX / 3; depth++) {
		if (st.st_dev == dir.dev && st.st_ino == dir.ino)
			return true;
		if (strlen(walk) + 4 >= sizeof(walk))
			return false;
		strcat(walk, "/..");
		if (stat(walk, &parent) < 0 || (parent.st_dev == st.st_dev && parent.st_ino == st.st_ino))
			return false; /* reached / */
		st = parent;
	}
	return false;
}

/* Whether dir (by inode) holds the file at path, at any depth. */
static bool holds_file(struct dir_id dir, const char *path)
{
	char parent[PATH_MAX];
	if (!path || snprintf(parent, sizeof(parent), "%s", path) >= (int)sizeof(parent))
		return false;
	char *slash = strrchr(parent, '/');
	if (!slash)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	return is_at_or_above(dir, parent);
}

/* A provider's exec_dir is bound executable at /exec, where its programs
 * (which read untrusted bodies) see all of it: it may hold no key, no
 * policy and no state of any provider, and lie inside none of them (a
 * state dir inside it would make files written at run time executable). */
static bool exec_dir_conflict(const struct topology *t, size_t i, char *msg, size_t len)
{
	const struct topo_provider *pr = &t->providers[i];
	struct dir_id exec = dir_id_of(pr->exec_dir);
	if (!pr->exec || !exec.exists)
		return false;
	for (size_t j = 0; j < t->n_providers; j++) {
		const struct topo_provider *q = &t->providers[j];
		if (!host_part_same(pr->host, q->host))
			continue; /* another machine's directories */
		struct dir_id qkeys = dir_id_of(q->keys), qstate = dir_id_of(q->state);
		const char *what = NULL;
		if (is_at_or_above(exec, q->keys) || is_at_or_above(qkeys, pr->exec_dir))
			what = "key directory";
		else if (q->state && (is_at_or_above(exec, q->state) || is_at_or_above(qstate, pr->exec_dir)))
			what = "state directory";
		else if (holds_file(exec, q->policy))
			what = "policy file";
		if (what) {
			snprintf(msg, len, "%s contains, is or lies inside the %s of provider %s", pr->exec_dir, what,
				 q->name);
			return true;
		}
	}
	return false;
}

bool topology_dirs_conflict(const struct topology *t, size_t i, const char **key, char *msg, size_t len)
{
	*key = "exec_dir";
	if (exec_dir_conflict(t, i, msg, len))
		return true;
	const struct topo_provider *pr = &t->providers[i];
	struct dir_id keys = dir_id_of(pr->keys), state = dir_id_of(pr->state);
	for (size_t j = 0; j < t->n_providers; j++) {
		const struct topo_provider *q = &t->providers[j];
		if (!host_part_same(pr->host, q->host))
			continue;
		struct dir_id qkeys = dir_id_of(q->keys), qstate = dir_id_of(q->state);
		*key = "state";
		if (state.exists && (is_at_or_above(qkeys, pr->state) || is_at_or_above(state, q->keys))) {
			if (j == i)
				snprintf(msg, len, "%s is, contains or lies inside its own key directory", pr->state);
			else
				snprintf(msg, len, "%s is, contains or lies inside the key directory of provider %s",
					 pr->state, q->name);
			return true;
		}
		if (j >= i)
			continue;
		if (state.exists && qstate.exists && state.dev == qstate.dev && state.ino == qstate.ino) {
			snprintf(msg, len, "same directory as provider %s", q->name);
			return true;
		}
		if (state.exists && (is_at_or_above(qstate, pr->state) || is_at_or_above(state, q->state))) {
			snprintf(msg, len, "%s contains or lies inside the state directory of provider %s", pr->state,
				 q->name);
			return true;
		}
		*key = "keys";
		if ((keys.exists && qkeys.exists && keys.dev == qkeys.dev && keys.ino == qkeys.ino) ||
		    (!keys.exists && strcmp(q->keys, pr->keys) == 0)) {
			snprintf(msg, len, "same directory as provider %s", q->name);
			return true;
		}
		if (keys.exists && (is_at_or_above(qkeys, pr->keys) || is_at_or_above(keys, q->keys))) {
			snprintf(msg, len, "%s contains or lies inside the key directory of provider %s", pr->keys,
				 q->name);
			return true;
		}
	}
	return false;
}
