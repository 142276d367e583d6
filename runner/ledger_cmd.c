/* SPDX-License-Identifier: Apache-2.0 */
/* `mpbs-run ledger cat|upgrade` (ledger_cmd.h). */
#define _GNU_SOURCE
#include "ledger_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "append_only.h"
#include "cli.h"
#include "ledger_cat.h"

#define LEDGER_SUB "ledger"
#define LEDGER_REFUSED 1
#define LEDGER_CANNOT 2

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mpbs-run ledger cat [--jsonl] LEDGER|SEGMENT...\n"
		"       mpbs-run ledger upgrade LEDGER\n"
		"  cat      prints every record (docs/LEDGER.md), a version 2 LEDGER with its sealed\n"
		"           segments LEDGER.NNNNNN oldest first: one line of text per record, or with\n"
		"           --jsonl one JSON object per line (for jq); a version 1 file's lines as they are\n"
		"  upgrade  renames a version 1 LEDGER to LEDGER.v1, append-only as before (root), so\n"
		"           that the next start writes a version 2 ledger at LEDGER; stop the run first\n"
		"exit status: 0 done; 1 a record that cannot be decoded, or upgrade refused; 2 something\n"
		"could not be read or changed, or a bad command line\n");
}

/* LEDGER to LEDGER.v1, the same inode: its append-only flag is cleared for
 * the rename (which the flag forbids) and set again. */
static int upgrade(const char *path)
{
	char target[PATH_MAX];
	char first = 0;
	if (snprintf(target, sizeof(target), "%s.v1", path) >= (int)sizeof(target)) {
		log_error("%s: path too long", path);
		return LEDGER_CANNOT;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || read(fd, &first, 1) < 0) {
		log_error("cannot read the ledger: %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return LEDGER_CANNOT;
	}
	size_t len = strlen(path);
	if (len > 3 && strcmp(path + len - 3, ".v1") == 0) {
		log_error("%s is an upgraded version 1 ledger already", path);
		close(fd);
		return LEDGER_REFUSED;
	}
	if (first != '{') {
		log_error("%s is not a version 1 ledger: nothing to upgrade", path);
		close(fd);
		return LEDGER_REFUSED;
	}
	struct stat st;
	if (lstat(target, &st) == 0 || errno != ENOENT) {
		log_error("%s exists already: move it away first (upgrade never replaces a file)", target);
		close(fd);
		return LEDGER_REFUSED;
	}
	bool append_only = append_only_is_set(fd);
	if (append_only && append_only_set(fd, false) < 0) {
		log_error("cannot clear the append-only flag of %s: %s (root is needed)", path, strerror(errno));
		close(fd);
		return LEDGER_CANNOT;
	}
	int rc = 0;
	if (renameat2(AT_FDCWD, path, AT_FDCWD, target, RENAME_NOREPLACE) < 0) {
		log_error("cannot rename %s to %s: %s", path, target, strerror(errno));
		rc = LEDGER_CANNOT;
	}
	if (append_only && append_only_set(fd, true) < 0) {
		log_error("cannot set the append-only flag of %s again: %s", rc ? path : target, strerror(errno));
		rc = LEDGER_CANNOT;
	}
	close(fd);
	if (rc == 0)
		printf("%s renamed to %s%s; `mpbs-run verify %s` still reads it, and the next start writes a "
		       "version 2 ledger at %s\n",
		       path, target, append_only ? " (append-only kept)" : "", target, path);
	return rc;
}

int ledger_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jsonl", no_argument, NULL, 'j' },
		CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_line line = { 0 };
	bool jsonl = false;
	int c;
	while ((c = cli_next_option(&line, argc, argv, "", opts)) != -1)
		jsonl = jsonl || c == 'j';
	if (line.help) {
		usage(stdout);
		cli_common_usage(stdout);
		return 0;
	}
	if (line.refusal[0])
		return cli_usage_error(LEDGER_SUB, "%s", line.refusal);
	if (optind >= argc)
		return cli_usage_error(LEDGER_SUB, "expected a subcommand: cat or upgrade");
	const char *sub = argv[optind];
	if (strcmp(sub, "cat") == 0) {
		if (optind + 1 >= argc)
			return cli_usage_error(LEDGER_SUB, "cat: expected a LEDGER or SEGMENT files");
		return ledger_cat(argv + optind + 1, (size_t)(argc - optind - 1), jsonl);
	}
	if (strcmp(sub, "upgrade") == 0) {
		if (jsonl)
			return cli_usage_error(LEDGER_SUB, "upgrade: --jsonl is an option of cat");
		if (argc - optind != 2)
			return cli_usage_error(LEDGER_SUB, argc - optind < 2 ? "upgrade: expected a LEDGER" :
					       "upgrade: expected one LEDGER, got '%s' too", argv[optind + 2]);
		return upgrade(argv[optind + 1]);
	}
	return cli_usage_error(LEDGER_SUB, "unknown subcommand '%s' (expected cat or upgrade)", sub);
}
