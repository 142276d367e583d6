/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run ledger cat`: the logical records of a version 2 ledger as
 * lib/ledger2_walk.h walks them, each in THE JSON form of a record
 * (lib/ledger2_json.h): printed as that JSON line, or as one line of text
 * "#N type key=value ..." made from it. A version 1 file's lines are
 * printed as they are. */
#define _GNU_SOURCE
#include "ledger_cat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/ledger2_json.h"
#include "../lib/ledger2_walk.h"
#include "../lib/log.h"

#define CAT_WRITE_FAILED 1 /* what print_entry stops a walk with */

static void text_value(json_t *v)
{
	size_t i;
	json_t *e;
	if (json_is_string(v))
		fputs(json_string_value(v), stdout);
	else if (json_is_array(v))
		json_array_foreach(v, i, e)
		{
			if (i)
				putchar(',');
			text_value(e);
		}
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		fputs(s ? s : "?", stdout);
		free(s);
	}
}

static bool is_table(json_t *v)
{
	return json_is_array(v) && json_array_size(v) && json_is_object(json_array_get(v, 0));
}

/* "#N type key=value ...", then each list of objects ("states", "carried")
 * on lines of their own. The segment a record is in is said once, on the
 * line of the segment record. */
static void print_text(json_t *o)
{
	const char *key, *type = json_string_value(json_object_get(o, "type"));
	bool segment = strcmp(type, "segment") == 0;
	json_t *v;
	printf("#%" PRIu64 " %s", (uint64_t)json_integer_value(json_object_get(o, "record")), type);
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "record") != 0 && strcmp(key, "type") != 0 && (segment || strcmp(key, "segment") != 0) &&
		    !is_table(v)) {
			printf(" %s=", key);
			text_value(v);
		}
	}
	json_object_foreach(o, key, v)
	{
		size_t i;
		json_t *e;
		if (!is_table(v))
			continue;
		printf("\n  %s:", key);
		json_array_foreach(v, i, e)
		{
			const char *k2;
			json_t *v2;
			printf("\n   ");
			json_object_foreach(e, k2, v2)
			{
				printf(" %s=", k2);
				text_value(v2);
			}
		}
	}
	putchar('\n');
}

static int print_entry(void *ctx, const struct l2_entry *e)
{
	const bool *jsonl = ctx;
	if (*jsonl)
		return l2_entry_print_jsonl(stdout, e) < 0 ? CAT_WRITE_FAILED : 0;
	json_t *o = l2_entry_json(e);
	if (!o)
		return CAT_WRITE_FAILED;
	print_text(o);
	json_decref(o);
	return ferror(stdout) ? CAT_WRITE_FAILED : 0;
}

/* A walk's result as cat's exit status (the failure logged). */
static int walk_status(int rc, const char *why)
{
	if (rc == 0)
		return 0;
	if (rc == CAT_WRITE_FAILED) {
		log_error("cannot write: %s", strerror(errno));
		return LEDGER_CAT_CANNOT_READ;
	}
	if (rc == L2_WALK_UNREADABLE) {
		log_error("cannot read the ledger: %s", why);
		return LEDGER_CAT_CANNOT_READ;
	}
	log_error("%s", why);
	return LEDGER_CAT_MALFORMED;
}

static int cat_v1(int fd)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -1;
	return n < 0 ? -1 : 0;
}

/* One file: version 1 as it is, else its records (a torn last block is
 * quiet when it is the last file: the live segment, being written). */
static int cat_file(const char *path, bool last, bool jsonl)
{
	char first = 0, why[PATH_MAX + 256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &first, 1, 0) < 0) {
		log_error("cannot read the ledger: %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return LEDGER_CAT_CANNOT_READ;
	}
	int rc;
	if (first == '{') {
		rc = cat_v1(fd) < 0 ? LEDGER_CAT_CANNOT_READ : 0;
		if (rc)
			log_error("cannot read the ledger: %s: %s", path, strerror(errno));
	} else {
		char inner[256];
		rc = l2_walk_fd(fd, last, print_entry, &jsonl, inner, sizeof(inner));
		snprintf(why, sizeof(why), "%s: %s", path, inner);
		rc = walk_status(rc, why);
	}
	close(fd);
	return rc;
}

static bool is_version_1(const char *path)
{
	char first = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool v1 = fd >= 0 && read(fd, &first, 1) == 1 && first == '{';
	if (fd >= 0)
		close(fd);
	return v1;
}

int ledger_cat(char **files, size_t n, bool jsonl)
{
	int rc = 0;
	if (n == 1 && !is_version_1(files[0])) {
		char why[PATH_MAX + 256];
		rc = walk_status(l2_walk_ledger(files[0], print_entry, &jsonl, why, sizeof(why)), why);
	} else {
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = cat_file(files[i], i + 1 == n, jsonl);
	}
	if (fflush(stdout) != 0 && rc == 0) {
		log_error("cannot write: %s", strerror(errno));
		rc = LEDGER_CAT_CANNOT_READ;
	}
	return rc;
}
