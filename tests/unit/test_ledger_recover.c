/* SPDX-License-Identifier: Apache-2.0 */
/* unit_ledger_recover: the supervisor's recovery of a torn ledger tail
 * (runner/ledger_recover.c) on ledgers written by the association's own
 * writer, with real provider keys, checkpoints, confirmations and signed
 * heads. A torn write or a power cut is a prefix of the file (or a prefix
 * with zero-filled blocks in its unsynced tail): after recovery the writer
 * must accept the file, verify must pass, and the file must be exactly the
 * longest prefix of whole records, so nothing recorded before the cut is
 * lost. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../../lib/chain.h"
#include "../../lib/derive.h"
#include "../../lib/ledger.h"
#include "../common/ledger1_write.h"
#include "../../runner/append_only.h"
#include "../../runner/ledger_file.h"
#include "../../runner/ledger_recover.h"

/* ------------------------------------------------ a ledger, really written */

struct prov {
	char name[2];
	uint8_t pk[32], sk[64];
	uint8_t epoch[WIRE_EPOCH_LEN];
	uint8_t head[WIRE_DIGEST_LEN];
	uint64_t seq;
};

static struct prov provs[2];
static uint8_t assoc_pk[32], assoc_sk[64];
static const char *const names[2] = { "A", "B" };

static bool pubkey(void *ctx, const char *provider, uint8_t pk[32])
{
	for (size_t i = 0; i < 2; i++)
		if (strcmp(provs[i].name, provider) == 0) {
			memcpy(pk, provs[i].pk, 32);
			return true;
		}
	return false;
}

static void append_built(struct ledger_writer *w, const char *type, const struct ledger_fields *f)
{
	cr_assert_eq(ledger_append_built(w, type, f), 0, "append %s: %s", type, strerror(errno));
}

static void put_checkpoint(struct ledger_writer *w, struct prov *p)
{
	struct checkpoint_frame c = { .seq = p->seq };
	snprintf(c.provider, sizeof(c.provider), "%s", p->name);
	memcpy(c.epoch, p->epoch, sizeof(c.epoch));
	memcpy(c.head, p->head, sizeof(c.head));
	checkpoint_sign(&c, p->sk);
	struct ledger_fields f = { 0 };
	ledger_fields_text(&f, "\"provider\":\"");
	ledger_fields_text(&f, c.provider);
	ledger_fields_text(&f, "\",\"epoch\":\"");
	ledger_fields_hex(&f, c.epoch, WIRE_EPOCH_LEN);
	ledger_fields_text(&f, "\",\"pseq\":");
	ledger_fields_u64(&f, c.seq);
	ledger_fields_text(&f, ",\"head\":\"");
	ledger_fields_hex(&f, c.head, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\",\"sig\":\"");
	ledger_fields_hex(&f, c.sig, WIRE_SIG_LEN);
	ledger_fields_text(&f, "\"");
	append_built(w, "checkpoint", &f);
}

static void put_signal(struct ledger_writer *w, struct prov *p, const uint8_t op[32], uint8_t stage, uint8_t value[32])
{
	struct signal_frame s = { .stage = stage, .t_ns = 1700000000000000000ull + p->seq, .seq = ++p->seq };
	snprintf(s.provider, sizeof(s.provider), "%s", p->name);
	memcpy(s.op, op, 32);
	randombytes_buf(s.value, sizeof(s.value));
	memcpy(value, s.value, 32);
	chain_extend(p->head, &s);
	struct ledger_fields f = { 0 };
	ledger_fields_text(&f, "\"op\":\"");
	ledger_fields_hex(&f, s.op, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\",\"provider\":\"");
	ledger_fields_text(&f, s.provider);
	ledger_fields_text(&f, "\",\"stage\":\"");
	ledger_fields_text(&f, wire_stage_name(s.stage));
	ledger_fields_text(&f, "\",\"value\":\"");
	ledger_fields_hex(&f, s.value, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\",\"t\":");
	ledger_fields_u64(&f, s.t_ns);
	ledger_fields_text(&f, ",\"pseq\":");
	ledger_fields_u64(&f, s.seq);
	ledger_fields_text(&f, ",\"chain\":\"");
	ledger_fields_hex(&f, s.chain, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\"");
	append_built(w, "signal", &f);
}

/* START and COMPLETE of both providers, their checkpoints, the confirmed
 * record, as the association writes them. */
static void put_operation(struct ledger_writer *w)
{
	uint8_t op[32], linkage[32];
	struct linkage_part parts[2];
	randombytes_buf(op, sizeof(op));
	for (size_t i = 0; i < 2; i++) {
		parts[i].provider = provs[i].name;
		put_signal(w, &provs[i], op, STAGE_START, parts[i].start);
	}
	for (size_t i = 0; i < 2; i++)
		put_signal(w, &provs[i], op, STAGE_COMPLETE, parts[i].complete);
	for (size_t i = 0; i < 2; i++)
		put_checkpoint(w, &provs[i]);
	derive_linkage(op, parts, 2, linkage);
	struct ledger_fields f = { 0 };
	ledger_fields_text(&f, "\"op\":\"");
	ledger_fields_hex(&f, op, WIRE_DIGEST_LEN);
	ledger_fields_text(&f, "\",\"providers\":[\"A\",\"B\"],\"linkage\":\"");
	ledger_fields_hex(&f, linkage, sizeof(linkage));
	ledger_fields_text(&f, "\",\"t\":");
	ledger_fields_u64(&f, 1700000000123456789ull);
	append_built(w, "confirmed", &f);
}

/* A ledger of ops operations, committed in groups of up to 3 with a signed
 * head closing each group, ending with a head. Returns its bytes. */
static char *write_ledger(int ops, size_t *len)
{
	char path[] = "/tmp/mpbs-recover-src-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(fcntl(fd, F_SETFL, O_APPEND), 0);
	struct ledger_writer w;
	char err[256];
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < 2; i++) {
		randombytes_buf(provs[i].epoch, sizeof(provs[i].epoch));
		derive_chain_origin(provs[i].epoch, provs[i].head);
		provs[i].seq = 0;
		put_checkpoint(&w, &provs[i]);
	}
	for (int k = 0; k < ops; k++) {
		put_operation(&w);
		if (k % 3 == 2 || k == ops - 1) {
			cr_assert_eq(ledger_append_head(&w, assoc_sk), 0, "head: %s", strerror(errno));
			cr_assert_eq(ledger_commit(&w), 0, "commit: %s", strerror(errno));
		}
	}
	ledger_writer_close(&w);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	char *buf = malloc((size_t)st.st_size);
	cr_assert_not_null(buf);
	cr_assert_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* The original's record boundaries: end[i] is the offset just past line
 * i's newline (end[0] = 0), confirmed[i] the confirmed records among the
 * first i lines. */
struct shape {
	size_t n;
	size_t *end;
	size_t *confirmed;
};

static struct shape shape_of(const char *buf, size_t len)
{
	struct shape s = { 0 };
	s.end = calloc(len + 1, sizeof(size_t));
	s.confirmed = calloc(len + 1, sizeof(size_t));
	cr_assert(s.end && s.confirmed);
	size_t start = 0;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n') {
			bool conf = memmem(buf + start, i - start, "\"type\":\"confirmed\"", 18) != NULL;
			s.n++;
			s.end[s.n] = i + 1;
			s.confirmed[s.n] = s.confirmed[s.n - 1] + conf;
			start = i + 1;
		}
	cr_assert_eq(start, len, "the writer left a partial line");
	return s;
}

/* Whole records within the first off bytes. */
static size_t records_within(const struct shape *s, size_t off)
{
	size_t k = 0;
	while (k < s->n && s->end[k + 1] <= off)
		k++;
	return k;
}

/* --------------------------------------------------------------- fixture */

static char *file_bytes(const char *p, size_t *len);

static char dir[64], path[128], log_path[128];

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	for (size_t i = 0; i < 2; i++) {
		memset(&provs[i], 0, sizeof(provs[i]));
		snprintf(provs[i].name, sizeof(provs[i].name), "%s", names[i]);
		cr_assert_eq(crypto_sign_keypair(provs[i].pk, provs[i].sk), 0);
	}
	cr_assert_eq(crypto_sign_keypair(assoc_pk, assoc_sk), 0);
	snprintf(dir, sizeof(dir), "/tmp/mpbs-recover-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/ledger.jsonl", dir);
	/* what recovery logs, kept for the tests that read it (and off the
	 * suite's output: one line per cut) */
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	int lfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(lfd, 0, "open %s: %s", log_path, strerror(errno));
	cr_assert_eq(dup2(lfd, STDERR_FILENO), STDERR_FILENO);
	close(lfd);
}

/* The log holds want once. */
static void assert_logged(const char *want)
{
	size_t len;
	char *log = file_bytes(log_path, &len);
	log[len] = '\0';
	char *at = strstr(log, want);
	cr_assert_not_null(at, "the log lacks \"%s\": %s", want, log);
	cr_assert_null(strstr(at + 1, want), "the log says \"%s\" twice", want);
	free(log);
}

static void teardown(void)
{
	char cmd[160];
	if (!dir[0])
		return;
	char err[256];
	append_only_clear(path, err, sizeof(err)); /* may not exist: nothing to clear */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

TestSuite(unit_ledger_recover, .init = setup, .fini = teardown, .timeout = 120);

/* The file at path holds data: opened as the supervisor opens the ledger. */
static int put_file(const void *data, size_t len)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	return fd;
}

static char *file_bytes(const char *p, size_t *len)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", p, strerror(errno));
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	char *buf = malloc((size_t)st.st_size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* The saved copy holds exactly want, and goes. */
static void assert_saved(const struct ledger_cut *cut, const char *want, size_t want_len)
{
	size_t len;
	char *saved = file_bytes(cut->saved, &len);
	cr_assert_eq(len, want_len, "%s holds %zu bytes, expected %zu", cut->saved, len, want_len);
	cr_assert_eq(memcmp(saved, want, len), 0, "%s does not hold the bytes cut", cut->saved);
	struct stat st;
	cr_assert_eq(stat(cut->saved, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "%s has mode %o", cut->saved, st.st_mode & 0777);
	free(saved);
	cr_assert_eq(unlink(cut->saved), 0);
}

static void verify_ok(int fd, uint64_t records, uint64_t confirmed)
{
	const struct ledger_verify_opts opts = { .pubkey = pubkey, .n_providers = 2, .providers = names,
						 .confirm_k = 2, .association_pk = assoc_pk };
	struct ledger_verify_result res;
	bool ok = ledger_verify_with(fd, &opts, &res);
	cr_assert(ok, "verify refuses the recovered ledger: line %llu: %s", (unsigned long long)res.bad_line, res.why);
	cr_assert_eq(res.records, records);
	cr_assert_eq(res.confirmed, confirmed);
}

/* The ledger torn after off bytes: recovery keeps exactly its whole
 * records, saves the rest, and the writer and verify accept the result. */
static void check_torn_at(const char *orig, const struct shape *s, size_t off)
{
	int fd = put_file(orig, off);
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "offset %zu: %s", off, err);
	size_t whole = records_within(s, off), keep = s->end[whole];
	cr_assert_eq(cut.offset, (off_t)keep, "offset %zu: kept %lld bytes, expected %zu", off, (long long)cut.offset,
		     keep);
	cr_assert_eq(cut.length, (off_t)(off - keep));
	cr_assert_eq(cut.lines, 0);
	cr_assert(!cut.nul);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, (off_t)keep, "offset %zu: the file has %lld bytes", off, (long long)st.st_size);
	if (cut.length)
		assert_saved(&cut, orig + keep, off - keep);

	struct ledger_writer w;
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), 0, "offset %zu: the writer refuses: %s", off, err);
	cr_assert_eq(w.seq, whole);
	ledger_writer_close(&w);
	verify_ok(fd, whole, s->confirmed[whole]);
	size_t len;
	char *now = file_bytes(path, &len);
	cr_assert_eq(memcmp(now, orig, len), 0, "offset %zu: the kept part is not the original's prefix", off);
	free(now);
	close(fd);
}

/* ----------------------------------------------------------------- tests */

Test(unit_ledger_recover, every_offset_of_the_last_three_records)
{
	size_t len;
	char *orig = write_ledger(5, &len);
	struct shape s = shape_of(orig, len);
	cr_assert_geq(s.n, 4);
	size_t from = s.end[s.n - 3];
	for (size_t off = from; off <= len; off++)
		check_torn_at(orig, &s, off);
	cr_log_info("cut at each of the %zu offsets %zu..%zu of a %zu-record ledger", len - from + 1, from, len, s.n);
	free(s.end);
	free(s.confirmed);
	free(orig);
}

Test(unit_ledger_recover, random_offsets_of_a_large_ledger)
{
	size_t len;
	char *orig = write_ledger(500, &len);
	struct shape s = shape_of(orig, len);
	cr_assert_geq(s.n, 3000);
	unsigned seed = getenv("MPBS_RECOVER_SEED") ? (unsigned)strtoul(getenv("MPBS_RECOVER_SEED"), NULL, 10)
						     : (unsigned)time(NULL) ^ (unsigned)getpid();
	cr_log_info("random_offsets_of_a_large_ledger: seed %u (MPBS_RECOVER_SEED=%u repeats it), %zu records, "
		    "%zu bytes", seed, seed, s.n, len);
	srand(seed);
	for (int i = 0; i < 12; i++) {
		size_t off = ((size_t)rand() * ((size_t)RAND_MAX + 1) + (size_t)rand()) % (len + 1);
		check_torn_at(orig, &s, off);
	}
	free(s.end);
	free(s.confirmed);
	free(orig);
}

/* A power cut: the last group's blocks were allocated but some never
 * written, so zeros sit inside the tail with whole lines after them. */
Test(unit_ledger_recover, zero_filled_hole_cuts_from_its_line_with_the_lines_after_it)
{
	size_t len;
	char *orig = write_ledger(4, &len);
	struct shape s = shape_of(orig, len);
	char *torn = malloc(len);
	cr_assert_not_null(torn);
	size_t line = s.n - 3; /* the hole starts inside line n-2 and ends inside line n-1 */
	size_t hole_at = s.end[line] + 17, hole_len = s.end[line + 1] - hole_at + 5;
	memcpy(torn, orig, len);
	memset(torn + hole_at, 0, hole_len);
	int fd = put_file(torn, len);
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "%s", err);
	cr_assert(cut.nul);
	cr_assert_eq(cut.offset, (off_t)s.end[line], "kept %lld bytes, expected %zu", (long long)cut.offset,
		     s.end[line]);
	cr_assert_eq(cut.length, (off_t)(len - s.end[line]));
	cr_assert_eq(cut.lines, 2, "line n-1 (its newline is past the hole) and line n: %llu",
		     (unsigned long long)cut.lines);
	assert_saved(&cut, torn + s.end[line], len - s.end[line]);
	struct ledger_writer w;
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(w.seq, line);
	ledger_writer_close(&w);
	verify_ok(fd, line, s.confirmed[line]);
	close(fd);

	/* a hole that begins exactly at a line's first byte cuts from there too */
	memcpy(torn, orig, len);
	memset(torn + s.end[line], 0, 4);
	fd = put_file(torn, len);
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cut.offset, (off_t)s.end[line]);
	cr_assert_eq(cut.lines, 3);
	cr_assert_eq(unlink(cut.saved), 0);
	verify_ok(fd, line, s.confirmed[line]);
	close(fd);
	free(torn);
	free(s.end);
	free(s.confirmed);
	free(orig);
}

Test(unit_ledger_recover, tail_of_zeros_without_newline_is_cut)
{
	size_t len;
	char *orig = write_ledger(2, &len);
	struct shape s = shape_of(orig, len);
	char zeros[8192] = { 0 };
	int fd = put_file(orig, len);
	cr_assert_eq(write(fd, zeros, sizeof(zeros)), (ssize_t)sizeof(zeros));
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "%s", err);
	cr_assert(cut.nul);
	cr_assert_eq(cut.offset, (off_t)len);
	cr_assert_eq(cut.length, (off_t)sizeof(zeros));
	cr_assert_eq(cut.lines, 0);
	assert_saved(&cut, zeros, sizeof(zeros));
	verify_ok(fd, s.n, s.confirmed[s.n]);
	close(fd);
	free(s.end);
	free(s.confirmed);
	free(orig);
}

/* A whole line that does not chain is no torn write: left for the
 * association to refuse, with only a partial line after it cut. */
Test(unit_ledger_recover, complete_corrupt_line_is_not_cut_and_the_writer_refuses_it)
{
	size_t len;
	char *orig = write_ledger(2, &len);
	struct shape s = shape_of(orig, len);
	static const char forged[] = "{\"seq\":1,\"prev\":\"00\",\"type\":\"rejected\"}\n";
	static const char partial[] = "{\"seq\":99,\"pr";
	int fd = put_file(orig, len);
	cr_assert_eq(write(fd, forged, strlen(forged)), (ssize_t)strlen(forged));
	cr_assert_eq(write(fd, partial, strlen(partial)), (ssize_t)strlen(partial));
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cut.offset, (off_t)(len + strlen(forged)), "only the partial line goes");
	cr_assert_eq(cut.length, (off_t)strlen(partial));
	assert_saved(&cut, partial, strlen(partial));

	struct ledger_cut again;
	cr_assert_eq(ledger_file_recover(fd, path, &again, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(again.length, 0, "the complete forged line is not cut");

	struct ledger_writer w;
	cr_assert_eq(ledger_writer_open(&w, fd, err, sizeof(err)), -1, "the writer accepted a broken chain");
	char want[64];
	snprintf(want, sizeof(want), "ledger line %zu: seq is 1, expected %zu", s.n + 1, s.n + 1);
	cr_assert_not_null(strstr(err, want), "\"%s\" lacks \"%s\"", err, want);
	close(fd);
	free(s.end);
	free(s.confirmed);
	free(orig);
}

/* A cut larger than the cap keeps only the cap's worth, and says so. */
Test(unit_ledger_recover, saved_copy_is_capped)
{
	size_t big = LEDGER_CUT_SAVE_MAX + 300000;
	char *data = malloc(big);
	cr_assert_not_null(data);
	memset(data, 'x', big);
	data[0] = '\0';
	for (size_t i = 99; i < big; i += 100)
		data[i] = '\n';
	int fd = put_file(data, big);
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cut.offset, 0);
	cr_assert_eq(cut.length, (off_t)big);
	cr_assert_eq(cut.lines, big / 100);
	cr_assert_eq(cut.saved_len, LEDGER_CUT_SAVE_MAX);
	char want[PATH_MAX + 512];
	snprintf(want, sizeof(want),
		 "cut %zu bytes at offset 0 (from the start of a line holding a NUL byte; %zu complete lines among them): "
		 "only the first %d bytes saved in %s (the cap of a saved cut): the rest is gone",
		 big, big / 100, LEDGER_CUT_SAVE_MAX, cut.saved);
	assert_logged(want);
	assert_saved(&cut, data, LEDGER_CUT_SAVE_MAX);
	close(fd);
	free(data);
}

/* Nothing is cut unless it was saved first. */
Test(unit_ledger_recover, nothing_is_cut_when_the_copy_cannot_be_saved)
{
	static const char text[] = "{\"seq\":1}\n{\"seq\":2,\"pr";
	int fd = put_file(text, strlen(text));
	char *long_path = malloc(PATH_MAX);
	cr_assert_not_null(long_path);
	memset(long_path, 'a', PATH_MAX - 8);
	long_path[0] = '/';
	long_path[PATH_MAX - 8] = '\0';
	struct ledger_cut cut;
	char err[3 * PATH_MAX] = "";
	cr_assert_eq(ledger_file_recover(fd, long_path, &cut, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "File name too long"), "%s", err);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, (off_t)strlen(text), "the file was cut without a saved copy");
	close(fd);
	free(long_path);
}

Test(unit_ledger_recover, append_only_flag_is_back_after_the_cut)
{
	size_t len;
	char *orig = write_ledger(1, &len);
	int fd = put_file(orig, len);
	if (append_only_set(fd, true) < 0) {
		int e = errno;
		close(fd);
		free(orig);
		cr_skip_test("cannot set FS_APPEND_FL on %s: %s (needs root and a filesystem with the flag)", path,
			     strerror(e));
	}
	cr_assert_eq(write(fd, "{\"seq\":", 7), 7, "O_APPEND writes still work");
	struct ledger_cut cut;
	char err[512];
	cr_assert_eq(ledger_file_recover(fd, path, &cut, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cut.offset, (off_t)len);
	cr_assert_eq(cut.length, 7);
	char want[PATH_MAX + 512];
	snprintf(want, sizeof(want), "ledger %s: cut 7 bytes at offset %zu (a partial last line; 0 complete lines among "
		 "them): 7 bytes saved in %s.cut-%zu\n", path, len, path, len);
	assert_logged(want);
	cr_assert_eq(unlink(cut.saved), 0);
	int flags = 0;
	cr_assert_eq(ioctl(fd, FS_IOC_GETFLAGS, &flags), 0, "%s", strerror(errno));
	cr_assert(flags & FS_APPEND_FL, "the ledger is no longer append-only after the cut");
	cr_assert_eq(ftruncate(fd, 0), -1, "the append-only ledger could be truncated");
	cr_assert_eq(errno, EPERM);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_size, (off_t)len);
	close(fd);
	free(orig);
}
