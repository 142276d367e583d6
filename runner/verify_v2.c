/* SPDX-License-Identifier: Apache-2.0 */
/* Version 2 ledgers for `mpbs-run verify` (verify_v2.h). Workers check
 * segments alone, in parallel, taking them in order; the main thread joins
 * each to the one before as soon as both are checked (rule 8, what holds
 * across the ledger), prints its line and frees the older one, so memory
 * holds at most a few segments' operations whatever the ledger's length. */
#define _GNU_SOURCE
#include "verify_v2.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/ledger2_files.h"
#include "../lib/log.h"

#define VERIFY_TAMPERED 1
#define VERIFY_CANNOT_READ 2
#define JOBS_MAX 64
#define PROGRESS_AFTER_NS 1000000000ull /* a run this long gets a bar on a terminal */
#define PROGRESS_EVERY_NS 200000000ull

struct seg_job {
	const char *path;    /* its file's */
	int fd;              /* the live segment or the spare, open since the listing (ledger2_files.h); -1: by path */
	uint32_t named;      /* the number its sealed name says (0: none) */
	bool done;
	bool ok;
	struct l2v_segment seg;
};

struct run {
	const struct verify_v2_args *a;
	struct l2_segment_file *files; /* in order (ledger2_files.h) */
	struct seg_job *jobs;            /* one a file */
	size_t n;
	size_t next;         /* the next job a worker takes */
	size_t joined;       /* jobs the main thread is done with */
	size_t window;       /* how far workers may run ahead of it */
	bool stop;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	_Atomic uint64_t bytes_read;
	uint64_t bytes_total;
	uint64_t t0;
	uint64_t last_draw;
	bool bar_shown;
	char end_why[512];   /* a failure found after the last segment */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ workers */

static void *worker(void *arg)
{
	struct run *r = arg;
	for (;;) {
		pthread_mutex_lock(&r->lock);
		while (!r->stop && r->next < r->n && r->next >= r->joined + r->window)
			pthread_cond_wait(&r->changed, &r->lock);
		if (r->stop || r->next >= r->n) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		struct seg_job *j = &r->jobs[r->next++];
		pthread_mutex_unlock(&r->lock);

		int fd = j->fd >= 0 ? j->fd : open(j->path, O_RDONLY | O_CLOEXEC);
		bool ok;
		if (fd < 0) {
			memset(&j->seg, 0, sizeof(j->seg));
			j->seg.path = j->path;
			j->seg.failed = j->seg.unreadable = true;
			snprintf(j->seg.why, sizeof(j->seg.why), "cannot open: %s", strerror(errno));
			ok = false;
		} else {
			ok = l2v_segment_check(fd, j->path, r->a->opts, &j->seg);
			if (fd != j->fd)
				close(fd);
		}
		/* Readers order by the stated number; a name that says another
		 * is a renamed file (docs/LEDGER.md). */
		if (ok && j->named && j->named != j->seg.segment) {
			j->seg.failed = true;
			snprintf(j->seg.field, sizeof(j->seg.field), "segment");
			snprintf(j->seg.why, sizeof(j->seg.why), "the file is named segment %u but states segment %u",
				 j->named, j->seg.segment);
			ok = false;
		}
		pthread_mutex_lock(&r->lock);
		j->ok = ok;
		j->done = true;
		pthread_cond_broadcast(&r->changed);
		pthread_mutex_unlock(&r->lock);
	}
}

/* ------------------------------------------------------------ progress */

static void draw_progress(struct run *r, const struct l2v_ledger *l, bool force)
{
	const struct verify_v2_args *a = r->a;
	uint64_t t = now_ns(), elapsed = t - r->t0;
	bool on = a->progress == 1 || (a->progress < 0 && isatty(STDERR_FILENO) && elapsed >= PROGRESS_AFTER_NS);
	if (!on || (!force && t - r->last_draw < PROGRESS_EVERY_NS))
		return;
	r->last_draw = t;
	uint64_t done = atomic_load(&r->bytes_read);
	double secs = (double)elapsed / 1e9, mb = 1024.0 * 1024.0;
	/* records/s: the segments joined so far give records per byte */
	double rate = l->bytes ? (double)l->records / (double)l->bytes * (double)done / secs : 0;
	fprintf(stderr, "\rverify: %.1f / %.1f MiB (%3.0f%%), %zu of %zu segments, %.0f records/s ",
		(double)done / mb, (double)r->bytes_total / mb,
		r->bytes_total ? 100.0 * (double)done / (double)r->bytes_total : 100.0, r->joined, r->n, rate);
	r->bar_shown = true;
}

static void clear_progress(struct run *r)
{
	if (r->bar_shown)
		fprintf(stderr, "\r\033[K");
	r->bar_shown = false;
}

/* ------------------------------------------------------------ report */

static void print_failure(const struct l2v_segment *s)
{
	printf("FAIL: %s", s->path);
	if (s->bad_record || s->bad_block)
		printf(":");
	if (s->bad_record)
		printf(" record %" PRIu64, s->bad_record);
	if (s->bad_block)
		printf(" (block %" PRIu64 ", offset %" PRIu64 ")", s->bad_block, s->bad_offset);
	if (s->field[0])
		printf(": field \"%s\"", s->field);
	printf(": %s\n", s->why);
}

static void print_segment(const struct l2v_segment *s)
{
	if (s->empty) {
		printf("segment ? (%s): empty (nothing written yet)\n", s->path);
		return;
	}
	printf("segment %" PRIu32 " (%s): OK, records %" PRIu64 "-%" PRIu64 ", %" PRIu64 " confirmed, %" PRIu64
	       " blocks, %s\n",
	       s->segment, s->path, s->first_record, s->last_record, s->confirmed, s->blocks,
	       s->sealed ? "sealed" : "live (not sealed)");
}

void verify_print_rule(size_t n_providers, unsigned confirm_k, const struct ledger_head *expect, size_t n_expect)
{
	char head[LEDGER_HEAD_TEXT_MAX];
	if (n_providers)
		printf("confirm rule: %u of %zu providers (the topology's), every one covered\n", confirm_k, n_providers);
	else
		printf("confirm rule: not checked (no topology)\n");
	for (size_t i = 0; i < n_expect; i++) {
		ledger_head_format(&expect[i], head);
		printf("expected head %s: present\n", head);
	}
}

static void print_total(const struct run *r, const struct l2v_ledger *l, double secs)
{
	const struct l2v_opts *o = r->a->opts;
	char head[LEDGER_HEAD_TEXT_MAX];
	printf("OK: %" PRIu64 " records, %" PRIu64 " confirmed in %zu segments (%" PRIu64 " signals, %" PRIu64
	       " checkpoints, %" PRIu64 " incomplete, %" PRIu64 " rejected, %" PRIu64
	       " signals not covered by a checkpoint)\n",
	       l->records, l->confirmed_count, l->segments, l->signals, l->checkpoints, l->incomplete, l->rejected,
	       l->uncovered);
	if (l->segments && l->first_segment > 1)
		printf("starts at segment %" PRIu32 " (record %" PRIu64 "): the older segments are not present; what "
		       "segment %" PRIu32 " carried from them is %s\n", l->first_segment, l->first_record, l->first_segment,
		       r->a->have_key ? "the association's word, signed by a verified head"
				      : "the association's word, not checked (no association public key)");
	verify_print_rule(o->n_providers, o->confirm_k, o->expect, o->n_expect);
	if (!r->a->have_key)
		printf("heads: %" PRIu64 " not checked (no association public key: --association-key FILE)\n",
		       l->heads_unchecked);
	else if (l->last_head.seq == 0)
		printf("no signed head\n");
	else {
		ledger_head_format(&l->last_head, head);
		printf("last signed head: %s (%" PRIu64 " heads verified; in %s); unsigned tail: %" PRIu64 " records\n",
		       head, l->heads, l->last_head_path, l->last_record - l->last_head.seq - 1);
	}
	printf("rate: %.0f records/s, %.0f confirmed ops/s (%.1f MiB in %.3f s)\n", secs > 0 ? l->records / secs : 0,
	       secs > 0 ? l->confirmed_count / secs : 0, (double)l->bytes / (1024.0 * 1024.0), secs);
}

static void print_json(const struct run *r, const struct l2v_ledger *l, double secs, const struct l2v_segment *bad)
{
	char head[LEDGER_HEAD_TEXT_MAX] = "";
	if (l->last_head.seq)
		ledger_head_format(&l->last_head, head);
	json_t *o = json_pack("{s:b, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:s?}", "ok",
			      bad == NULL && !r->end_why[0], "version", 2, "segments", (json_int_t)l->segments, "first_segment",
			      (json_int_t)l->first_segment, "records", (json_int_t)l->records, "confirmed",
			      (json_int_t)l->confirmed_count, "incomplete", (json_int_t)l->incomplete, "uncovered",
			      (json_int_t)l->uncovered, "bytes", (json_int_t)l->bytes, "heads", (json_int_t)l->heads,
			      "seconds", secs, "records_per_second", secs > 0 ? l->records / secs : 0.0,
			      "confirmed_per_second", secs > 0 ? l->confirmed_count / secs : 0.0, "last_signed_head",
			      head[0] ? head : NULL);
	if (o && bad)
		json_object_set_new(o, "failure",
				    json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "file", bad->path, "record",
					      (json_int_t)bad->bad_record, "block", (json_int_t)bad->bad_block, "offset",
					      (json_int_t)bad->bad_offset, "field", bad->field, "why", bad->why));
	else if (o && r->end_why[0])
		json_object_set_new(o, "failure", json_pack("{s:s}", "why", r->end_why));
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(o);
}

/* ------------------------------------------------------------ the run */

/* The verdict on a failed segment: 2 when it could not be read (or a key
 * could not), else 1. */
static int failure_status(const struct run *r, const struct l2v_segment *s)
{
	if (r->a->key_error && r->a->key_error[0]) {
		log_error("%s (in %s): nothing can be said about the ledger", r->a->key_error, s->path);
		return VERIFY_CANNOT_READ;
	}
	if (s->unreadable) {
		log_error("cannot read the ledger: %s: %s", s->path, s->why);
		return VERIFY_CANNOT_READ;
	}
	if (!r->a->json)
		print_failure(s);
	return VERIFY_TAMPERED;
}

/* Joins the jobs in order as they finish. Returns the exit status. */
static int join_all(struct run *r, struct l2v_ledger *l, const struct l2v_segment **bad)
{
	struct seg_job *prev = NULL;
	int status = 0;
	for (size_t i = 0; i < r->n && status == 0; i++) {
		struct seg_job *j = &r->jobs[i];
		pthread_mutex_lock(&r->lock);
		while (!j->done) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += (long)PROGRESS_EVERY_NS;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&r->changed, &r->lock, &until);
			pthread_mutex_unlock(&r->lock);
			draw_progress(r, l, false);
			pthread_mutex_lock(&r->lock);
		}
		pthread_mutex_unlock(&r->lock);
		bool ok = j->ok;
		if (ok && j->seg.empty && i + 1 < r->n)
			ok = false, j->seg.failed = true,
			snprintf(j->seg.why, sizeof(j->seg.why), "an empty segment file that is not the newest");
		if (ok && !j->seg.empty)
			ok = l2v_ledger_add(l, prev ? &prev->seg : NULL, &j->seg);
		clear_progress(r);
		if (!ok) {
			*bad = prev && prev->seg.failed ? &prev->seg : &j->seg;
			status = failure_status(r, *bad);
		} else if (!r->a->json) {
			print_segment(&j->seg);
		}
		fflush(stdout);
		if (ok && !j->seg.empty) {
			if (prev)
				l2v_segment_free(&prev->seg);
			prev = j;
		}
		pthread_mutex_lock(&r->lock);
		r->joined = i + 1;
		r->stop = status != 0;
		pthread_cond_broadcast(&r->changed);
		pthread_mutex_unlock(&r->lock);
	}
	if (status == 0 && !l2v_ledger_end(l, prev ? &prev->seg : NULL, r->end_why, sizeof(r->end_why))) {
		if (!r->a->json)
			printf("FAIL: %s\n", r->end_why);
		status = VERIFY_TAMPERED;
	}
	return status;
}

static unsigned jobs_wanted(unsigned asked)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = asked ? asked : (cpus > 0 ? (unsigned)cpus : 1);
	return n > JOBS_MAX ? JOBS_MAX : n;
}

/* "NAME.000042": a name with a sealed segment's suffix (ledger2_files.h). */
static bool sealed_looking(const char *path)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	if (!dot || (slash && slash > dot))
		return false;
	size_t digits = strspn(dot + 1, "0123456789");
	return digits >= 6 && dot[1 + digits] == '\0';
}

/* The files in order, a job each. Returns 0, -1 out of memory, or
 * VERIFY_CANNOT_READ (logged). */
static int plan(struct run *r)
{
	const struct verify_v2_args *a = r->a;
	char why[PATH_MAX + 64];
	if (a->find_siblings) {
		if (l2_ledger_files(a->files[0], &r->files, &r->n, why, sizeof(why)) < 0) {
			log_error("cannot read the ledger: %s", why);
			return VERIFY_CANNOT_READ;
		}
	} else {
		r->n = a->n_files;
		if (!(r->files = calloc(r->n, sizeof(*r->files))))
			return -1;
		for (size_t i = 0; i < r->n; i++)
			r->files[i].fd = -1;
		/* A file named as a sealed one keeps its name; any other may be
		 * a live segment or a spare that a rotation renames before a
		 * worker reads it: that one is held open from here. */
		for (size_t i = 0; i < r->n; i++)
			if (l2_segment_file_read(&r->files[i], a->files[i], !sealed_looking(a->files[i])) < 0) {
				log_error("cannot read the ledger: %s: %s", a->files[i], strerror(errno));
				return VERIFY_CANNOT_READ;
			}
		l2_segment_files_sort(r->files, r->n);
	}
	if (!(r->jobs = calloc(r->n, sizeof(*r->jobs))))
		return -1;
	for (size_t i = 0; i < r->n; i++) {
		r->jobs[i].path = r->files[i].path;
		r->jobs[i].fd = r->files[i].fd;
		r->jobs[i].named = r->files[i].named;
		r->bytes_total += r->files[i].size;
	}
	return 0;
}

int verify_v2(const struct verify_v2_args *a)
{
	/* the same options, with the progress counter this run draws from */
	struct verify_v2_args args = *a;
	struct l2v_opts opts = *a->opts;
	struct run r = { .a = &args, .t0 = now_ns() };
	struct l2v_ledger l;
	opts.progress = &r.bytes_read;
	args.opts = &opts;
	int rc = plan(&r);
	if (rc == 0 && l2v_ledger_init(&l, &opts) < 0)
		rc = -1;
	if (rc != 0) {
		if (rc < 0)
			log_error("cannot verify: out of memory");
		free(r.jobs);
		l2_segment_files_free(r.files, r.n);
		return VERIFY_CANNOT_READ;
	}
	unsigned n_threads = jobs_wanted(a->jobs);
	if (n_threads > r.n)
		n_threads = (unsigned)r.n;
	r.window = 2 * (size_t)n_threads;
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.changed, NULL);
	pthread_t threads[JOBS_MAX];
	unsigned started = 0;
	for (; started < n_threads; started++)
		if (pthread_create(&threads[started], NULL, worker, &r) != 0)
			break;
	const struct l2v_segment *bad = NULL;
	int status;
	if (started == 0) {
		log_error("cannot verify: no thread could start");
		status = VERIFY_CANNOT_READ;
	} else {
		status = join_all(&r, &l, &bad);
	}
	pthread_mutex_lock(&r.lock);
	r.stop = true;
	pthread_cond_broadcast(&r.changed);
	pthread_mutex_unlock(&r.lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	double secs = (double)(now_ns() - r.t0) / 1e9;
	clear_progress(&r);
	if (a->json && status != VERIFY_CANNOT_READ)
		print_json(&r, &l, secs, bad);
	else if (status == 0)
		print_total(&r, &l, secs);
	for (size_t i = 0; i < r.n; i++)
		if (r.jobs[i].done)
			l2v_segment_free(&r.jobs[i].seg);
	free(r.jobs);
	l2_segment_files_free(r.files, r.n);
	l2v_ledger_free(&l);
	pthread_mutex_destroy(&r.lock);
	pthread_cond_destroy(&r.changed);
	return status;
}
